"""Builders: every request (three dialects) and every response of ecms.md, as bytes.

Dialects (ecms.md §2, §9):

* ``Dialect.SARABAN``: what Saraban sends. mil-doc's correct form (WS-Addressing
  ``http://www.w3.org/2005/08/addressing``, ``wsa:To``, ``SOAP-ENV:Body ID="Body"`` on the
  letter and the special request, correct escaping), plus ``<?xml version="1.0"
  encoding="UTF-8"?>``; no placeholders, references and attachments in the user's order, and
  the letter optionally signed (``ram:GovernmentSignature`` with ``ds:Signature``). Built with
  lxml; the letter's ``rsm:GovernmentDocument`` is built (and signed) as a standalone
  document first and its bytes are spliced into the envelope unchanged, so the bytes a
  parser extracts as ``Message.document_xml`` are the ones that were signed.
* ``Dialect.MILDOC``: mil-doc 2020 byte for byte (LINQ to XML ``ToString()`` with its line
  breaks and indentation removed): no XML declaration, ``<X />`` for empty elements,
  references and attachments in reverse order, an empty ``ram:ReferenceCorrespondence`` and
  an empty ``<ram:AttachmentBinaryObject mimeCode="" />`` when there are none,
  ``ram:Attachment`` = ``-``, new lines removed from text.
* ``Dialect.BOI``: BOI-DMS (eCMS 2) byte for byte: string concatenation **without any
  escaping** (a ``&`` or ``<`` in a value gives malformed XML, as BOI's does), the namespace
  ``http://w3.org/2005/08/addressing``, ``wsa:to``, its three XML-declaration variants, the
  letter's empty MessageID followed by a space, ``ram:GovernmentSignature`` with TypeCode and
  SignerParty but no ``ds:Signature``, and the receiver's department id written as its
  ministry id. The code look-ups (``GetSecretCodes``, ``GetSpeedCodes``, ``GetMimeCodes``)
  as BOI's commented-out test page writes them (indentation spaces inside the string
  literals); calls BOI has no code for (special request, time check) in the style of its
  other calls.

Responses are written the way the specification transcripts show them: XML declaration,
``SOAP-ENV`` and ``env`` both bound to SOAP 1.1, no Header, prefixes ``ram``/``rsm``/``ds``
inside the GovernmentDocument, ``processID`` in the notifier form of
``CorrespondenceLetterOutboundResponse`` and ``ProcessID`` everywhere else.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from xml.sax.saxutils import escape as _sax_escape

from lxml import etree  # type: ignore[import-untyped]

from . import _dsig
from ._errors import EcmsRefused
from ._model import (
    Binary,
    Code,
    Dialect,
    DocumentKey,
    ErrorDetail,
    Header,
    Letter,
    Notifier,
    NotifierKind,
    Operation,
    Organization,
    OutboundStatus,
    Party,
    Signer,
)
from ._xml import RAM, RSM, SOAP, WSA, WSA_BOI, qn, to_bytes

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'
_BOI_STANDALONE = '<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
_BOI_PLAIN = '<?xml version="1.0" encoding="UTF-8"?>'
_MARKER = "@@saraban-ecms-government-document@@"

#: Operations that :func:`simple_request` writes (an empty element in the Body).
SIMPLE_OPERATIONS = frozenset(
    {
        Operation.INBOUND,
        Operation.MINISTRIES,
        Operation.ORGANIZATIONS,
        Operation.SECRET_CODES,
        Operation.SPEED_CODES,
        Operation.MIME_CODES,
        Operation.OUTBOUND_STATUS,
        Operation.TIME_CHECK,
    }
)
SPECIAL_KINDS = frozenset({"GovernmentDocument", *(k.value for k in NotifierKind)})
_WITH_ACCEPT_ID = frozenset({NotifierKind.ACCEPT, NotifierKind.INVALID_ACCEPT_ID})


def _dialect(dialect: Dialect | str) -> Dialect:
    try:
        return Dialect(dialect)
    except ValueError:
        raise EcmsRefused("bad_value", f"unknown dialect {dialect!r}") from None


def strip_declaration(xml: bytes) -> bytes:
    """``xml`` without a leading BOM / XML declaration (and the whitespace after it)."""
    data = xml[3:] if xml.startswith(b"\xef\xbb\xbf") else xml
    stripped = data.lstrip()
    if stripped.startswith(b"<?xml"):
        end = stripped.find(b"?>")
        if end >= 0:
            return stripped[end + 2 :].lstrip()
    return data


# --- lxml (SARABAN and responses) -------------------------------------------------------


def _set_text(el: etree._Element, text: str) -> None:
    try:
        el.text = text or None
    except (ValueError, TypeError) as exc:  # control characters, NUL, not a string
        name = etree.QName(el).localname
        raise EcmsRefused("bad_value", f"{name} cannot be written: {exc}") from None


def _sub(parent: etree._Element, tag: str, text: str = "", **attrs: str) -> etree._Element:
    try:
        el = etree.SubElement(parent, tag, attrs) if attrs else etree.SubElement(parent, tag)
    except (ValueError, TypeError) as exc:
        raise EcmsRefused("bad_value", f"{tag} cannot be written: {exc}") from None
    _set_text(el, text)
    return el


def _party(parent: etree._Element, tag: str, party: Party) -> None:
    el = etree.SubElement(parent, qn(RAM, tag))
    _sub(el, qn(RAM, "GivenName"), party.given_name)
    _sub(el, qn(RAM, "FamilyName"), party.family_name)
    _sub(el, qn(RAM, "JobTitle"), party.job_title)
    _sub(etree.SubElement(el, qn(RAM, "MinistryOrganization")), qn(RAM, "ID"), party.ministry_id)
    _sub(
        etree.SubElement(el, qn(RAM, "DepartmentOrganization")), qn(RAM, "ID"), party.department_id
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _signer_element(parent: etree._Element, signer: Signer) -> None:
    gov = etree.SubElement(parent, qn(RAM, "GovernmentSignature"))
    _sub(gov, qn(RAM, "TypeCode"), signer.type_code)
    party = etree.SubElement(gov, qn(RAM, "SignerParty"))
    _sub(party, qn(RAM, "GivenName"), signer.given_name)
    _sub(party, qn(RAM, "FamilyName"), signer.family_name)
    _sub(party, qn(RAM, "Title"), signer.title)
    _sub(party, qn(RAM, "MinistryCode"), signer.ministry_code)
    _sub(party, qn(RAM, "DepartmentCode"), signer.department_code)


def government_document_tree(letter: Letter, signer: Signer | None = None) -> etree._Element:
    """The ``rsm:GovernmentDocument`` of a letter (Saraban's form, unsigned)."""
    doc = etree.Element(qn(RSM, "GovernmentDocument"), nsmap={"ram": RAM, "rsm": RSM})
    el = etree.SubElement(doc, qn(RAM, "CorrespondenceLetter"), {"ID": _dsig.LETTER_ID})
    _sub(el, qn(RAM, "ID"), letter.letter_id)
    _sub(el, qn(RAM, "CorrespondenceDate"), letter.date_text)
    _sub(el, qn(RAM, "Subject"), letter.subject)
    _sub(el, qn(RAM, "SecretCode"), letter.secret_code)
    _sub(el, qn(RAM, "SpeedCode"), letter.speed_code)
    _party(el, "SenderParty", letter.sender)
    _party(el, "ReceiverParty", letter.receiver)
    for ref in letter.references:
        r = etree.SubElement(el, qn(RAM, "ReferenceCorrespondence"))
        _sub(r, qn(RAM, "ID"), ref.letter_id)
        _sub(r, qn(RAM, "CorrespondenceDate"), ref.date_text)
        _sub(r, qn(RAM, "Subject"), ref.subject)
    _sub(el, qn(RAM, "Attachment"), letter.attachment_text)
    _sub(el, qn(RAM, "SendDate"), letter.send_date)
    _sub(el, qn(RAM, "Description"), letter.description)
    main = letter.main or Binary("", b"")
    _sub(el, qn(RAM, "MainLetterBinaryObject"), _b64(main.data), mimeCode=main.mime_code)
    for att in letter.attachments:
        _sub(el, qn(RAM, "AttachmentBinaryObject"), _b64(att.data), mimeCode=att.mime_code)
    if signer is not None:
        _signer_element(doc, signer)
    return doc


def government_document(
    letter: Letter,
    *,
    signer: Signer | None = None,
    sign_key_pem: bytes | str | None = None,
    sign_cert_pem: bytes | str | None = None,
) -> bytes:
    """The letter's ``rsm:GovernmentDocument`` as a standalone document (no XML
    declaration), signed when a key and certificate are given: exactly the bytes
    :func:`letter_request` puts into the Body and ``Message.document_xml`` returns."""
    if (sign_key_pem is None) != (sign_cert_pem is None):
        raise EcmsRefused("bad_value", "signing needs both the key and the certificate")
    if sign_key_pem is not None and signer is None:
        signer = Signer(type_code="DSIG")
    doc = government_document_tree(letter, signer)
    if sign_key_pem is not None and sign_cert_pem is not None:
        doc = _dsig.sign_document(doc, sign_key_pem, sign_cert_pem)
    return to_bytes(doc)


def _saraban_envelope(header: Header, body_id: bool, operation: etree._Element) -> bytes:
    env = etree.Element(qn(SOAP, "Envelope"), nsmap={"SOAP-ENV": SOAP})
    head = etree.SubElement(env, qn(SOAP, "Header"))
    # Always the correct WS-Addressing namespace (Header.wsa_namespace is what a parsed
    # message carried; informational).
    for name, value in (("MessageID", header.message_id), ("To", header.to)):
        _set_text(etree.SubElement(head, qn(WSA, name), nsmap={"wsa": WSA}), value)
    body = etree.SubElement(env, qn(SOAP, "Body"), {"ID": "Body"} if body_id else {})
    body.append(operation)
    return XML_DECLARATION + to_bytes(env)


def _op(tag: str, *kids: etree._Element, text: str = "") -> etree._Element:
    el = etree.Element(tag)
    _set_text(el, text)
    for kid in kids:
        el.append(kid)
    return el


def _splice(envelope: bytes, operation: str, document: bytes) -> bytes:
    placeholder = f"<{operation}>{_MARKER}</{operation}>".encode()
    if envelope.count(placeholder) != 1:
        raise AssertionError("the document placeholder is not unique")
    head, tail = envelope.split(placeholder)
    return head + f"<{operation}>".encode() + document + f"</{operation}>".encode() + tail


def _notifier_tree(notifier: Notifier, *, response: bool) -> etree._Element:
    kind = NotifierKind(notifier.kind)
    el = etree.Element(kind.value)
    _sub(el, "LetterID", notifier.letter_id)
    if kind in _WITH_ACCEPT_ID:
        _sub(el, "AcceptID", notifier.accept_id)
    _sub(el, "CorrespondenceDate", notifier.date_text)
    _sub(el, "Subject", notifier.subject)
    if response:
        _sub(el, "AcceptDate", notifier.accept_date)
        _sub(etree.SubElement(el, "AcceptDepartment"), "Code", notifier.accept_department)
    return el


def _key_tree(tag: str, key: DocumentKey) -> etree._Element:
    el = etree.Element(tag)
    _sub(el, "LetterID", key.letter_id)
    _sub(el, "CorrespondenceDate", key.date_text)
    _sub(etree.SubElement(el, "SenderDepartment"), "Code", key.sender_department)
    _sub(etree.SubElement(el, "AcceptDepartment"), "Code", key.accept_department)
    return el


# --- mil-doc (LINQ to XML) -------------------------------------------------------------


def _linq_text(text: str) -> str:
    # XmlWriter (NewLineHandling.Replace) writes every line break as \r\n, which
    # ConvertXmlFormat then deletes.
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _linq_attr(value: str) -> str:
    return _sax_escape(value, {'"': "&quot;", "\n": "&#xA;", "\r": "&#xD;", "\t": "&#x9;"})


def _el(
    tag: str,
    content: str | Iterable[str] | None = None,
    attrs: Sequence[tuple[str, str]] = (),
) -> str:
    """One element as LINQ to XML writes it: ``None`` → ``<x />``, a string → text."""
    a = "".join(f' {k}="{_linq_attr(v)}"' for k, v in attrs)
    if content is None:
        return f"<{tag}{a} />"
    if isinstance(content, str):
        return f"<{tag}{a}>{_linq_text(content)}</{tag}>"
    return f"<{tag}{a}>{''.join(content)}</{tag}>"


def _convert_xml_format(text: str) -> bytes:
    """mil-doc's ``Util.ConvertXmlFormat``: delete \\r\\n, collapse ``>   <``."""
    text = text.replace("\r\n", "")
    for i in range(1, 51):
        text = text.replace(">" + " " * i + "<", "><")
    return text.encode("utf-8")


def _mildoc(header: Header, body: str, *, body_id: bool = False) -> bytes:
    x = [("xmlns:wsa", WSA)]
    head = _el("wsa:MessageID", header.message_id, x) + _el("wsa:To", header.to, x)
    return _convert_xml_format(
        _el(
            "SOAP-ENV:Envelope",
            [
                _el("SOAP-ENV:Header", [head]),
                _el("SOAP-ENV:Body", [body], [("ID", "Body")] if body_id else []),
            ],
            [("xmlns:SOAP-ENV", SOAP)],
        )
    )


def _mildoc_party(tag: str, p: Party) -> str:
    return _el(
        f"ram:{tag}",
        [
            _el("ram:GivenName", p.given_name),
            _el("ram:FamilyName", p.family_name),
            _el("ram:JobTitle", p.job_title),
            _el("ram:MinistryOrganization", [_el("ram:ID", p.ministry_id)]),
            _el("ram:DepartmentOrganization", [_el("ram:ID", p.department_id)]),
        ],
    )


def _mildoc_letter(letter: Letter) -> str:
    refs = [
        _el(
            "ram:ReferenceCorrespondence",
            [_el("ram:ID", r.letter_id), _el("ram:CorrespondenceDate", r.date_text),
             _el("ram:Subject", r.subject)],
        )
        for r in reversed(letter.references)
    ] or [
        _el(
            "ram:ReferenceCorrespondence",
            [_el("ram:ID", ""), _el("ram:CorrespondenceDate", ""), _el("ram:Subject", "")],
        )
    ]
    atts = [
        _el("ram:AttachmentBinaryObject", _b64(a.data), [("mimeCode", a.mime_code)])
        for a in reversed(letter.attachments)
    ] or [_el("ram:AttachmentBinaryObject", None, [("mimeCode", "")])]
    m = letter.main
    main = (
        _el("ram:MainLetterBinaryObject", _b64(m.data), [("mimeCode", m.mime_code)])
        if m is not None
        else _el("ram:MainLetterBinaryObject", None, [("mimeCode", "")])
    )
    parts = [
        _el("ram:ID", letter.letter_id),
        _el("ram:CorrespondenceDate", letter.date_text),
        _el("ram:Subject", letter.subject),
        _el("ram:SecretCode", letter.secret_code),
        _el("ram:SpeedCode", letter.speed_code),
        _mildoc_party("SenderParty", letter.sender),
        _mildoc_party("ReceiverParty", letter.receiver),
        *refs,
        _el("ram:Attachment", "-"),
        _el("ram:SendDate", letter.send_date),
        _el("ram:Description", letter.description),
        main,
        *atts,
    ]
    return _el(
        "CorrespondenceLetterOutboundRequest",
        [
            _el(
                "rsm:GovernmentDocument",
                [_el("ram:CorrespondenceLetter", parts, [("ID", "Letter")])],
                [("xmlns:ram", RAM), ("xmlns:rsm", RSM)],
            )
        ],
    )


# --- BOI (string concatenation, no escaping) -------------------------------------------


def _boi(
    header: Header,
    body: str,
    *,
    declaration: str = _BOI_STANDALONE,
    message_id_space: bool = False,
) -> bytes:
    ns = f'xmlns:wsa="{WSA_BOI}"'
    return (
        declaration
        + f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP}">'
        + "<SOAP-ENV:Header>"
        + f"<wsa:MessageID {ns}>{header.message_id}</wsa:MessageID>"
        + (" " if message_id_space else "")
        + f"<wsa:to {ns}>{header.to}</wsa:to>"
        + "</SOAP-ENV:Header>"
        + "<SOAP-ENV:Body>"
        + body
        + "</SOAP-ENV:Body>"
        + "</SOAP-ENV:Envelope>"
    ).encode("utf-8")


def _boi_party(tag: str, p: Party, *, ministry: str) -> str:
    return (
        f"<ram:{tag}>"
        f"<ram:GivenName>{p.given_name}</ram:GivenName>"
        f"<ram:FamilyName>{p.family_name}</ram:FamilyName>"
        f"<ram:JobTitle>{p.job_title}</ram:JobTitle>"
        f"<ram:MinistryOrganization><ram:ID>{ministry}</ram:ID></ram:MinistryOrganization>"
        f"<ram:DepartmentOrganization><ram:ID>{p.department_id}</ram:ID>"
        "</ram:DepartmentOrganization>"
        f"</ram:{tag}>"
    )


def _boi_letter(letter: Letter, signer: Signer) -> str:
    main = letter.main or Binary("", b"")
    s = (
        "<CorrespondenceLetterOutboundRequest>"
        f'<rsm:GovernmentDocument xmlns:ram="{RAM}" xmlns:rsm="{RSM}">'
        '<ram:CorrespondenceLetter ID="Letter">'
        f"<ram:ID>{letter.letter_id}</ram:ID>"
        f"<ram:CorrespondenceDate>{letter.date_text}</ram:CorrespondenceDate>"
        f"<ram:Subject>{letter.subject}</ram:Subject>"
        f"<ram:SecretCode>{letter.secret_code}</ram:SecretCode>"
        f"<ram:SpeedCode>{letter.speed_code}</ram:SpeedCode>"
        + _boi_party("SenderParty", letter.sender, ministry=letter.sender.ministry_id)
        # BOI writes the receiver's department id as its ministry id (ecms.md §5.1).
        + _boi_party("ReceiverParty", letter.receiver, ministry=letter.receiver.department_id)
    )
    for r in letter.references:
        s += (
            "<ram:ReferenceCorrespondence>"
            f"<ram:ID>{r.letter_id}</ram:ID>"
            f"<ram:CorrespondenceDate>{r.date_text}</ram:CorrespondenceDate>"
            f"<ram:Subject>{r.subject}</ram:Subject>"
            "</ram:ReferenceCorrespondence>"
        )
    s += (
        f"<ram:Attachment>{letter.attachment_text}</ram:Attachment>"
        f"<ram:SendDate>{letter.send_date}</ram:SendDate>"
        f"<ram:Description>{letter.description}</ram:Description>"
        f'<ram:MainLetterBinaryObject mimeCode="{main.mime_code}">{_b64(main.data)}'
        "</ram:MainLetterBinaryObject>"
    )
    for a in letter.attachments:
        s += (
            f'<ram:AttachmentBinaryObject mimeCode="{a.mime_code}">{_b64(a.data)}'
            "</ram:AttachmentBinaryObject>"
        )
    s += (
        "</ram:CorrespondenceLetter>"
        "<ram:GovernmentSignature>"
        f"<ram:TypeCode>{signer.type_code}</ram:TypeCode>"
        "<ram:SignerParty>"
        f"<ram:GivenName>{signer.given_name}</ram:GivenName>"
        f"<ram:FamilyName>{signer.family_name}</ram:FamilyName>"
        f"<ram:Title>{signer.title}</ram:Title>"
        f"<ram:MinistryCode>{signer.ministry_code}</ram:MinistryCode>"
        f"<ram:DepartmentCode>{signer.department_code}</ram:DepartmentCode>"
        "</ram:SignerParty>"
        "</ram:GovernmentSignature>"
        "</rsm:GovernmentDocument>"
        "</CorrespondenceLetterOutboundRequest>"
    )
    return s


# --- requests ------------------------------------------------------------------------------


def letter_request(
    letter: Letter,
    *,
    signer: Signer | None = None,
    sign_key_pem: bytes | str | None = None,
    sign_cert_pem: bytes | str | None = None,
    header: Header = Header(),  # noqa: B008 (frozen value)
    dialect: Dialect | str = Dialect.SARABAN,
) -> bytes:
    """``CorrespondenceLetterOutboundRequest`` carrying a letter (ecms.md §5.1)."""
    d = _dialect(dialect)
    if d is not Dialect.SARABAN and (sign_key_pem is not None or sign_cert_pem is not None):
        raise EcmsRefused("bad_value", f"the {d.value} dialect does not sign letters")
    if d is Dialect.MILDOC:
        return _mildoc(header, _mildoc_letter(letter), body_id=True)
    if d is Dialect.BOI:
        return _boi(
            Header(message_id="", to=header.to),
            _boi_letter(letter, signer or Signer()),
            declaration=_BOI_PLAIN,
            message_id_space=True,
        )
    document = government_document(
        letter, signer=signer, sign_key_pem=sign_key_pem, sign_cert_pem=sign_cert_pem
    )
    op = Operation.OUTBOUND.value
    return _splice(_saraban_envelope(header, True, _op(op, text=_MARKER)), op, document)


def notifier_request(
    notifier: Notifier,
    *,
    header: Header = Header(),  # noqa: B008
    dialect: Dialect | str = Dialect.SARABAN,
) -> bytes:
    """One of the five notifiers in a ``CorrespondenceLetterOutboundRequest`` (§5.4-5.8)."""
    d = _dialect(dialect)
    kind = NotifierKind(notifier.kind)
    op = Operation.OUTBOUND.value
    if d is Dialect.SARABAN:
        return _saraban_envelope(header, False, _op(op, _notifier_tree(notifier, response=False)))
    if d is Dialect.MILDOC:
        kids = [_el("LetterID", notifier.letter_id)]
        if kind in _WITH_ACCEPT_ID:
            kids.append(_el("AcceptID", notifier.accept_id))
        kids += [_el("CorrespondenceDate", notifier.date_text), _el("Subject", notifier.subject)]
        return _mildoc(header, _el(op, [_el(kind.value, kids)]))
    body = f"<{op}><{kind.value}><LetterID>{notifier.letter_id}</LetterID>"
    if kind in _WITH_ACCEPT_ID:
        body += f"<AcceptID>{notifier.accept_id}</AcceptID>"
    body += (
        f"<CorrespondenceDate>{notifier.date_text}</CorrespondenceDate>"
        f"<Subject>{notifier.subject}</Subject></{kind.value}></{op}>"
    )
    declaration = {
        NotifierKind.INVALID: "",
        NotifierKind.INVALID_ACCEPT_ID: _BOI_PLAIN,
    }.get(kind, _BOI_STANDALONE)
    return _boi(header, body, declaration=declaration)


def simple_request(
    operation: Operation | str,
    *,
    header: Header = Header(),  # noqa: B008
    dialect: Dialect | str = Dialect.SARABAN,
) -> bytes:
    """A request whose Body holds one empty element: the inbound poll, the look-ups,
    outbound status, time check."""
    d = _dialect(dialect)
    try:
        op = Operation(operation)
    except ValueError:
        raise EcmsRefused("unknown_operation", f"{operation!r} is not an operation") from None
    if op not in SIMPLE_OPERATIONS:
        raise EcmsRefused("bad_value", f"{op.value} is not an empty-element request")
    if d is Dialect.SARABAN:
        return _saraban_envelope(header, False, _op(op.value))
    if d is Dialect.MILDOC:
        return _mildoc(header, _el(op.value))
    if op is Operation.OUTBOUND_STATUS:
        # Not namespace-well-formed, exactly as BOI writes it (ecms.md §5.14).
        ns = f'xmlns:wsa="{WSA_BOI}"'
        return (
            _BOI_PLAIN
            + f'<env:Envelope xmlns:env="{SOAP}">'
            + "<SOAP-ENV:Header>"
            + f"<wsa:MessageID {ns}>{header.message_id}</wsa:MessageID>"
            + f"<wsa:to {ns}>{header.to}</wsa:to>"
            + "</SOAP-ENV:Header>"
            + '<env:Body ID="Body">'
            + "<OutboundStatusRequest />"
            + "</env:Body>"
            + "</env:Envelope>"
        ).encode("utf-8")
    if op is Operation.INBOUND:
        return _boi(header, "<CorrespondenceLetterInboundRequest />")
    if op in (Operation.SECRET_CODES, Operation.SPEED_CODES, Operation.MIME_CODES):
        # Only in BOI's commented-out test page, whose string literals carry indentation.
        ns = f'xmlns:wsa="{WSA_BOI}"'
        return (
            _BOI_PLAIN
            + f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP}">'
            + "  <SOAP-ENV:Header>"
            + f"    <wsa:MessageID {ns}>{header.message_id}</wsa:MessageID>"
            + f"    <wsa:to {ns}>{header.to}</wsa:to>"
            + "  </SOAP-ENV:Header>"
            + "  <SOAP-ENV:Body>"
            + f"    <{op.value}/>"
            + "  </SOAP-ENV:Body>"
            + "</SOAP-ENV:Envelope>"
        ).encode("utf-8")
    return _boi(header, f"<{op.value}/>", declaration=_BOI_PLAIN)


def delete_request(
    process_id: str,
    *,
    header: Header = Header(),  # noqa: B008
    dialect: Dialect | str = Dialect.SARABAN,
) -> bytes:
    """``CorrespondenceLetterDeleteRequest``: remove a queue item (§5.3)."""
    d = _dialect(dialect)
    op = Operation.DELETE.value
    if d is Dialect.SARABAN:
        return _saraban_envelope(header, False, _op(op, _op("ProcessID", text=process_id)))
    if d is Dialect.MILDOC:
        return _mildoc(header, _el(op, [_el("ProcessID", process_id)]))
    return _boi(header, f"<{op}><ProcessID>{process_id}</ProcessID></{op}>")


def delete_document_request(
    key: DocumentKey,
    *,
    header: Header = Header(),  # noqa: B008
    dialect: Dialect | str = Dialect.SARABAN,
) -> bytes:
    """``CorrespondenceDeleteGovernmentDocumentRequest`` (§5.9)."""
    d = _dialect(dialect)
    op = Operation.DELETE_DOCUMENT.value
    if d is Dialect.SARABAN:
        return _saraban_envelope(header, False, _key_tree(op, key))
    if d is Dialect.MILDOC:
        return _mildoc(header, _mildoc_key(op, key))
    return _boi(header, _boi_key(op, key))


def _mildoc_key(tag: str, key: DocumentKey) -> str:
    return _el(
        tag,
        [
            _el("LetterID", key.letter_id),
            _el("CorrespondenceDate", key.date_text),
            _el("SenderDepartment", [_el("Code", key.sender_department)]),
            _el("AcceptDepartment", [_el("Code", key.accept_department)]),
        ],
    )


def _boi_key(tag: str, key: DocumentKey) -> str:
    return (
        f"<{tag}>"
        f"<LetterID>{key.letter_id}</LetterID>"
        f"<CorrespondenceDate>{key.date_text}</CorrespondenceDate>"
        f"<SenderDepartment><Code>{key.sender_department}</Code></SenderDepartment>"
        f"<AcceptDepartment><Code>{key.accept_department}</Code></AcceptDepartment>"
        f"</{tag}>"
    )


def special_request(
    kind: str,
    key: DocumentKey,
    *,
    header: Header = Header(),  # noqa: B008
    dialect: Dialect | str = Dialect.SARABAN,
) -> bytes:
    """``CorrespondenceLetterInboundSpecialRequest``: ask for an item again (§5.10);
    ``kind`` is ``GovernmentDocument`` (unqualified) or a notifier name."""
    d = _dialect(dialect)
    kind = str(kind)
    if kind not in SPECIAL_KINDS:
        raise EcmsRefused("bad_value", f"{kind!r} is not a special-request kind")
    op = Operation.SPECIAL.value
    if d is Dialect.SARABAN:
        return _saraban_envelope(header, True, _op(op, _key_tree(kind, key)))
    if d is Dialect.MILDOC:
        return _mildoc(header, _el(op, [_mildoc_key(kind, key)]), body_id=True)
    return _boi(header, f"<{op}>{_boi_key(kind, key)}</{op}>")


# --- responses (the node's side) -----------------------------------------------------------

_RESPONSE_HEAD = (
    XML_DECLARATION
    + f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP}" xmlns:env="{SOAP}"><SOAP-ENV:Body>'.encode()
)
_RESPONSE_TAIL = b"</SOAP-ENV:Body></SOAP-ENV:Envelope>"


def _response(el: etree._Element, document_xml: bytes = b"") -> bytes:
    body = to_bytes(el)
    if document_xml:
        placeholder = f"<GovernmentDocument>{_MARKER}</GovernmentDocument>".encode()
        body = body.replace(placeholder, strip_declaration(document_xml), 1)
    return _RESPONSE_HEAD + body + _RESPONSE_TAIL


def _document_slot(parent: etree._Element) -> None:
    etree.SubElement(parent, "GovernmentDocument").text = _MARKER


def outbound_response(
    *,
    process_id: str,
    process_time: str,
    document_xml: bytes = b"",
    notifier: Notifier | None = None,
) -> bytes:
    """``CorrespondenceLetterOutboundResponse``: for a letter ``ProcessID``, ``ProcessTime``
    and the echoed GovernmentDocument; for a notifier ``processID``, ``ProcessTime`` and the
    notifier with ``AcceptDate`` and ``AcceptDepartment/Code``."""
    el = etree.Element(Operation.OUTBOUND_RESPONSE.value)
    _sub(el, "processID" if notifier is not None else "ProcessID", process_id)
    _sub(el, "ProcessTime", process_time)
    if notifier is not None:
        el.append(_notifier_tree(notifier, response=True))
    elif document_xml:
        _document_slot(el)
    return _response(el, document_xml if notifier is None else b"")


def inbound_response(
    *,
    process_id: str = "",
    process_time: str = "",
    document_xml: bytes = b"",
    notifier: Notifier | None = None,
) -> bytes:
    """``CorrespondenceLetterInboundResponse``: one queue item (a letter's document or a
    notifier), or nothing (an empty element) when ``process_id`` is empty."""
    el = etree.Element(Operation.INBOUND_RESPONSE.value)
    if not process_id:
        return _response(el)
    _sub(el, "ProcessID", process_id)
    _sub(el, "ProcessTime", process_time)
    if notifier is not None:
        el.append(_notifier_tree(notifier, response=True))
    elif document_xml:
        _document_slot(el)
    return _response(el, document_xml if notifier is None else b"")


def delete_response(*, process_id: str, process_time: str) -> bytes:
    el = etree.Element(Operation.DELETE_RESPONSE.value)
    _sub(el, "ProcessID", process_id)
    _sub(el, "ProcessTime", process_time)
    return _response(el)


def delete_document_response(*, process_id: str, letter_id: str, process_time: str) -> bytes:
    el = etree.Element(Operation.DELETE_DOCUMENT_RESPONSE.value)
    _sub(el, "ProcessID", process_id)
    _sub(el, "LetterID", letter_id)
    _sub(el, "ProcessTime", process_time)
    return _response(el)


def special_response(*, process_id: str, process_time: str) -> bytes:
    """Answer to the special re-request (its form is not documented anywhere; ours)."""
    el = etree.Element(Operation.SPECIAL_RESPONSE.value)
    _sub(el, "ProcessID", process_id)
    _sub(el, "ProcessTime", process_time)
    return _response(el)


def ministries_response(orgs: Sequence[Organization]) -> bytes:
    """Items ``MinistryOrganizationList`` (``MinistryID``, ``Th-Name``), as BOI reads them."""
    el = etree.Element(Operation.MINISTRIES_RESPONSE.value)
    for org in orgs:
        item = etree.SubElement(el, "MinistryOrganizationList")
        _sub(item, "MinistryID", org.organization_id)
        _sub(item, "Th-Name", org.th_name)
    return _response(el)


def organizations_response(orgs: Sequence[Organization]) -> bytes:
    el = etree.Element(Operation.ORGANIZATIONS_RESPONSE.value)
    for org in orgs:
        item = etree.SubElement(el, "OrganizationInfo")
        _sub(item, "En-Name", org.en_name)
        _sub(item, "Th-Name", org.th_name)
        _sub(item, "ECMS-URL", org.ecms_url)
        _sub(item, "OrganizationID", org.organization_id)
    return _response(el)


def codes_response(kind: str, codes: Sequence[Code]) -> bytes:
    """``SecretCodes`` or ``SpeedCodes`` with ``Code/Value`` + ``Code/Description``."""
    if kind not in (Operation.SECRET_CODES_RESPONSE, Operation.SPEED_CODES_RESPONSE):
        raise EcmsRefused("bad_value", f"{kind!r} is not SecretCodes or SpeedCodes")
    el = etree.Element(str(kind))
    for code in codes:
        item = etree.SubElement(el, "Code")
        _sub(item, "Value", code.value)
        _sub(item, "Description", code.description)
    return _response(el)


def mime_codes_response(codes: Sequence[Code]) -> bytes:
    """``MimeCodes`` with ``Code/File-Extension`` (value) + ``Code/Content-type``."""
    el = etree.Element(Operation.MIME_CODES_RESPONSE.value)
    for code in codes:
        item = etree.SubElement(el, "Code")
        _sub(item, "File-Extension", code.value)
        _sub(item, "Content-type", code.description)
    return _response(el)


def outbound_status_response(items: Sequence[OutboundStatus]) -> bytes:
    el = etree.Element(Operation.OUTBOUND_STATUS_RESPONSE.value)
    for item in items:
        out = etree.SubElement(el, "Outbound")
        _sub(out, "ProcessID", item.process_id)
        _sub(out, "LetterID", item.letter_id)
        _sub(out, "ProcessStatus", item.status)
    return _response(el)


def time_check_response(ecms_time: str) -> bytes:
    el = etree.Element(Operation.TIME_CHECK_RESPONSE.value)
    _sub(el, "ECMSTime", ecms_time)
    return _response(el)


def error_response(errors: Sequence[ErrorDetail]) -> bytes:
    """``ErrorDetail`` elements (``ErrorCode`` then ``ErrorDescription``), the form mil-doc
    looks for in every answer; wrapped in ``ErrorResponse``."""
    el = etree.Element(Operation.ERROR.value)
    for err in errors:
        detail = etree.SubElement(el, "ErrorDetail")
        _sub(detail, "ErrorCode", err.code)
        _sub(detail, "ErrorDescription", err.description)
    return _response(el)
