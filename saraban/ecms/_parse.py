"""Reading any e-CMS request or response (ecms.md §5) into a :class:`Message`.

Tolerance (ecms.md §9): both WS-Addressing namespaces, ``To``/``to``, empty or missing
headers, with or without XML declaration (``standalone="no"`` too, and a UTF-8 BOM),
``processID``/``ProcessID``, any prefixes as long as the namespaces are right (``ram``,
``rsm`` and ``ds`` elements are matched by namespace URI and local name; the operation
elements and their children are unqualified), empty placeholder references and attachments
(mil-doc) dropped, BOI's 10-digit department id in ``MinistryOrganization/ID`` read as the
ministry (its first two digits, recorded as ``"ministry_from_department"``), and the two
repair of :mod:`._xml` (bare ``&``; BOI's undeclared ``SOAP-ENV`` prefix is refused).

**mil-doc's order.** mil-doc writes references and attachments in the reverse of the user's
order. Nothing in a letter says which client wrote it, so the parser guesses from the
envelope: the WS-Addressing namespace with ``www.``, the element ``wsa:To`` (capital T),
``SOAP-ENV:Body ID="Body"`` and **no** XML declaration is mil-doc's letter (Saraban writes
the same envelope *with* a declaration; BOI writes ``wsa:to`` without ``www.``). Only then
are the two lists reversed back. ``Message.dialect`` says what was detected. A letter
relayed by a node (inside an inbound response) carries no client header, so its order is
taken as written.

Text that is echoed back (LetterID, CorrespondenceDate, Subject, codes) is kept exactly as
on the wire: never stripped or normalised.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

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
    Limits,
    Message,
    Notifier,
    NotifierKind,
    Operation,
    Organization,
    OutboundStatus,
    Party,
    Reference,
    SignatureVerdict,
    Signer,
)
from ._xml import (
    DS,
    RAM,
    RSM,
    SOAP,
    WSA,
    WSA_BOI,
    children,
    local_name,
    namespace,
    parse_tree,
    prepare,
    qn,
    standalone,
)

#: base64 characters decoded at a time (a multiple of 4).
B64_CHUNK = 64 * 1024
_WS = re.compile(r"\s+")
_TEN_DIGITS = re.compile(r"[0-9]{10}")
_NOTIFIERS = {k.value.lower(): k for k in NotifierKind}


@dataclass
class _Ctx:
    limits: Limits
    trust: Sequence[str]
    root: etree._Element
    mildoc_order: bool
    verify: bool = True
    repaired: list[str] = field(default_factory=list)


# --- small readers ---------------------------------------------------------------------


def _plain(el: etree._Element, *names: str) -> etree._Element | None:
    """First unqualified child whose local name is one of ``names``."""
    for c in children(el):
        if namespace(c) is None and local_name(c) in names:
            return c
    return None


def _text(el: etree._Element | None) -> str:
    """The text of a value element; an element inside a value is ``bad_value``."""
    if el is None:
        return ""
    if next(children(el), None) is not None:
        raise EcmsRefused("bad_value", f"{local_name(el)} holds elements where text belongs")
    return el.text or ""


def _ptext(el: etree._Element, *names: str) -> str:
    return _text(_plain(el, *names))


def _preq(el: etree._Element, name: str) -> str:
    c = _plain(el, name)
    if c is None:
        raise EcmsRefused("missing_element", f"{local_name(el)} has no {name}")
    return _text(c)


def _ram(el: etree._Element | None, name: str) -> etree._Element | None:
    if el is None:
        return None
    return el.find(qn(RAM, name))


def _rtext(el: etree._Element | None, name: str) -> str:
    return _text(_ram(el, name))


def _rreq(el: etree._Element, name: str) -> str:
    c = _ram(el, name)
    if c is None:
        raise EcmsRefused("missing_element", f"ram:{local_name(el)} has no ram:{name}")
    return _text(c)


def _code_of(el: etree._Element | None, name: str) -> str:
    """``<name><Code>…</Code></name>``."""
    if el is None:
        return ""
    holder = _plain(el, name)
    return _ptext(holder, "Code") if holder is not None else ""


def decode_base64(text: str, limits: Limits, what: str) -> bytes:
    """Decode base64 ``text`` chunk by chunk (whitespace ignored), refusing as soon as the
    decoded size passes ``limits.max_file_bytes``."""
    out = bytearray()
    carry = ""
    n = len(text)
    pos = 0
    padded = False
    while pos < n or carry:
        piece = text[pos : pos + B64_CHUNK]
        pos += B64_CHUNK
        if piece:
            carry += _WS.sub("", piece)
        last = pos >= n
        usable = len(carry) if last else len(carry) - len(carry) % 4
        if usable == 0 and not last:
            continue
        chunk, carry = carry[:usable], carry[usable:]
        if padded and chunk:
            raise EcmsRefused("bad_base64", f"{what}: data after base64 padding")
        if not chunk:
            break
        if len(chunk) % 4:
            raise EcmsRefused("bad_base64", f"{what}: base64 length is not a multiple of 4")
        if len(out) + len(chunk) // 4 * 3 - 2 > limits.max_file_bytes:
            raise EcmsRefused(
                "file_too_large", f"{what} is larger than {limits.max_file_bytes} bytes"
            )
        try:
            out += binascii.a2b_base64(chunk, strict_mode=True)
        except binascii.Error as exc:
            raise EcmsRefused("bad_base64", f"{what}: {exc}") from None
        if len(out) > limits.max_file_bytes:
            raise EcmsRefused(
                "file_too_large", f"{what} is larger than {limits.max_file_bytes} bytes"
            )
        padded = chunk.endswith("=")
        if last:
            break
    return bytes(out)


# --- header -------------------------------------------------------------------------------


def _header(header_el: etree._Element | None, declaration: bool) -> tuple[Header, Dialect | None]:
    if header_el is None:
        return Header(), None
    mid: etree._Element | None = None
    to: etree._Element | None = None
    for c in children(header_el):
        name = local_name(c)
        if name == "MessageID" and mid is None:
            mid = c
        elif name in ("To", "to") and to is None:
            to = c
    if mid is None and to is None:
        return Header(), None
    wsa = namespace(mid if mid is not None else to) or ""
    header = Header(message_id=_text(mid), to=_text(to), wsa_namespace=wsa)
    lower_to = to is not None and local_name(to) == "to"
    if wsa == WSA_BOI or lower_to:
        return header, Dialect.BOI
    if wsa == WSA:
        return header, Dialect.SARABAN if declaration else Dialect.MILDOC
    return header, None


# --- letter -------------------------------------------------------------------------------


def _party(ctx: _Ctx, el: etree._Element | None, name: str) -> Party:
    """A sender/receiver party: the element and its ``DepartmentOrganization/ID`` must be
    there (both clients always write all five children; the node routes by the id)."""
    if el is None:
        raise EcmsRefused("missing_element", f"the letter has no ram:{name}")
    if _ram(_ram(el, "DepartmentOrganization"), "ID") is None:
        raise EcmsRefused("missing_element", f"ram:{name} has no DepartmentOrganization/ID")
    ministry = _rtext(_ram(el, "MinistryOrganization"), "ID")
    department = _rtext(_ram(el, "DepartmentOrganization"), "ID")
    if _TEN_DIGITS.fullmatch(ministry) and ministry == department:
        ministry = department[:2]
        if "ministry_from_department" not in ctx.repaired:
            ctx.repaired.append("ministry_from_department")
    return Party(
        given_name=_rtext(el, "GivenName"),
        family_name=_rtext(el, "FamilyName"),
        job_title=_rtext(el, "JobTitle"),
        ministry_id=ministry,
        department_id=department,
    )


def _signer(gov_sig: etree._Element | None) -> Signer | None:
    if gov_sig is None:
        return None
    party = _ram(gov_sig, "SignerParty")
    ministry = _rtext(party, "MinistryCode") or _rtext(_ram(party, "MinistryOrganization"), "ID")
    department = _rtext(party, "DepartmentCode") or _rtext(
        _ram(party, "DepartmentOrganization"), "ID"
    )
    return Signer(
        type_code=_rtext(gov_sig, "TypeCode"),
        given_name=_rtext(party, "GivenName"),
        family_name=_rtext(party, "FamilyName"),
        title=_rtext(party, "Title") or _rtext(party, "JobTitle"),
        ministry_code=ministry,
        department_code=department,
    )


def _letter(ctx: _Ctx, doc: etree._Element) -> dict[str, Any]:
    el = doc.find(qn(RAM, "CorrespondenceLetter"))
    if el is None:
        raise EcmsRefused("missing_element", "the GovernmentDocument has no CorrespondenceLetter")
    refs: list[Reference] = []
    for r in el.iterchildren(qn(RAM, "ReferenceCorrespondence")):
        ref = Reference(_rtext(r, "ID"), _rtext(r, "CorrespondenceDate"), _rtext(r, "Subject"))
        if ref.letter_id.strip() or ref.date_text.strip() or ref.subject.strip():
            refs.append(ref)
    main_el = el.find(qn(RAM, "MainLetterBinaryObject"))
    att_els = [
        a
        for a in el.iterchildren(qn(RAM, "AttachmentBinaryObject"))
        if a.get("mimeCode", "").strip() or (a.text or "").strip()
    ]
    main_present = main_el is not None and bool(
        main_el.get("mimeCode", "").strip() or (main_el.text or "").strip()
    )
    if len(att_els) + int(main_present) > ctx.limits.max_files:
        raise EcmsRefused(
            "too_many_files", f"more than {ctx.limits.max_files} files in one letter"
        )
    main: Binary | None = None
    if main_present and main_el is not None:
        main = Binary(
            main_el.get("mimeCode", ""),
            decode_base64(_text(main_el), ctx.limits, "MainLetterBinaryObject"),
        )
    attachments = [
        Binary(
            a.get("mimeCode", ""),
            decode_base64(_text(a), ctx.limits, f"AttachmentBinaryObject {i + 1}"),
        )
        for i, a in enumerate(att_els)
    ]
    if ctx.mildoc_order:
        refs.reverse()
        attachments.reverse()
    letter = Letter(
        letter_id=_rreq(el, "ID"),
        date_text=_rreq(el, "CorrespondenceDate"),
        subject=_rreq(el, "Subject"),
        secret_code=_rtext(el, "SecretCode"),
        speed_code=_rtext(el, "SpeedCode"),
        sender=_party(ctx, _ram(el, "SenderParty"), "SenderParty"),
        receiver=_party(ctx, _ram(el, "ReceiverParty"), "ReceiverParty"),
        references=tuple(refs),
        attachment_text=_rtext(el, "Attachment"),
        send_date=_rtext(el, "SendDate"),
        description=_rtext(el, "Description"),
        main=main,
        attachments=tuple(attachments),
    )
    gov_sig = doc.find(qn(RAM, "GovernmentSignature"))
    out: dict[str, Any] = {"letter": letter, "signer": _signer(gov_sig)}
    document_xml = standalone(doc)
    out["document_xml"] = document_xml
    if ctx.verify and next(doc.iter(qn(DS, "Signature")), None) is not None:
        try:
            alone = etree.fromstring(
                document_xml, etree.XMLParser(resolve_entities=False, huge_tree=True)
            )
            verdict, cert_pem, detail = _dsig.verify_document(alone, ctx.trust, in_place=ctx.root)
        except Exception as exc:
            verdict, cert_pem, detail = SignatureVerdict.INVALID, "", f"{type(exc).__name__}: {exc}"
        out.update(signature=verdict, signer_certificate_pem=cert_pem, signature_detail=detail)
    return out


def _government_document(el: etree._Element) -> etree._Element | None:
    return el.find(qn(RSM, "GovernmentDocument"))


# --- notifiers and other parts --------------------------------------------------------------


def _notifier_kind(el: etree._Element) -> NotifierKind | None:
    if namespace(el) is not None:
        return None
    return _NOTIFIERS.get(local_name(el).lower())


def _notifier(el: etree._Element) -> Notifier:
    kind = _notifier_kind(el)
    assert kind is not None
    return Notifier(
        kind=kind,
        letter_id=_preq(el, "LetterID"),
        date_text=_ptext(el, "CorrespondenceDate"),
        subject=_ptext(el, "Subject"),
        accept_id=_ptext(el, "AcceptID"),
        accept_date=_ptext(el, "AcceptDate"),
        accept_department=_code_of(el, "AcceptDepartment"),
    )


def _find_notifier(el: etree._Element) -> etree._Element | None:
    for c in children(el):
        if _notifier_kind(c) is not None:
            return c
    return None


def _process(el: etree._Element) -> dict[str, Any]:
    return {
        "process_id": _ptext(el, "ProcessID", "processID", "ProcessId"),
        "process_time": _ptext(el, "ProcessTime", "processTime"),
    }


def _key(el: etree._Element) -> DocumentKey:
    return DocumentKey(
        letter_id=_preq(el, "LetterID"),
        date_text=_ptext(el, "CorrespondenceDate"),
        sender_department=_code_of(el, "SenderDepartment"),
        accept_department=_code_of(el, "AcceptDepartment"),
    )


def _item(ctx: _Ctx, el: etree._Element, *, require: bool) -> dict[str, Any]:
    """A letter (``rsm:GovernmentDocument``) or a notifier inside ``el``."""
    doc = _government_document(el)
    if doc is not None:
        return _letter(ctx, doc)
    n = _find_notifier(el)
    if n is not None:
        return {"notifier": _notifier(n)}
    if require:
        raise EcmsRefused(
            "missing_element", f"{local_name(el)} holds neither a GovernmentDocument nor a notifier"
        )
    return {}


def _outbound(ctx: _Ctx, el: etree._Element) -> dict[str, Any]:
    out = _item(ctx, el, require=True)
    if _plain(el, "ProcessID", "processID") is not None:
        out.update(_process(el))
    return out


def _outbound_response(ctx: _Ctx, el: etree._Element) -> dict[str, Any]:
    return {**_process(el), **_item(ctx, el, require=False)}


def _inbound_response(ctx: _Ctx, el: etree._Element) -> dict[str, Any]:
    if next(children(el), None) is None:
        return {}
    return {**_process(el), **_item(ctx, el, require=False)}


def _nothing(ctx: _Ctx, el: etree._Element) -> dict[str, Any]:
    return {}


def _delete(ctx: _Ctx, el: etree._Element) -> dict[str, Any]:
    return {"process_id": _preq(el, "ProcessID")}


def _delete_document(ctx: _Ctx, el: etree._Element) -> dict[str, Any]:
    return {"document_key": _key(el)}


def _delete_document_response(ctx: _Ctx, el: etree._Element) -> dict[str, Any]:
    out = _process(el)
    letter_id = _ptext(el, "LetterID")
    if letter_id:
        out["document_key"] = DocumentKey(letter_id, "", "", "")
    return out


def _special(ctx: _Ctx, el: etree._Element) -> dict[str, Any]:
    kid = next(children(el), None)
    if kid is None:
        raise EcmsRefused("missing_element", "the special request names no item")
    name = local_name(kid)
    kind = _notifier_kind(kid)
    if kind is not None:
        special = kind.value
    elif name == "GovernmentDocument":
        special = "GovernmentDocument"
    else:
        raise EcmsRefused("bad_value", f"{name} is not a special-request kind")
    return {"special_kind": special, "document_key": _key(kid)}


def _pairs(el: etree._Element, first: str, second: str) -> list[tuple[str, str]]:
    """``first``/``second`` pairs from every element holding ``first`` children, in
    document order (wrapped items or a flat list)."""
    out: list[tuple[str, str]] = []
    for holder in el.iter():
        if not isinstance(holder.tag, str):
            continue
        firsts = [c for c in children(holder) if local_name(c) == first]
        if not firsts:
            continue
        seconds = [c for c in children(holder) if local_name(c) == second]
        for i, f in enumerate(firsts):
            out.append((_text(f), _text(seconds[i]) if i < len(seconds) else ""))
    return out


def _ministries(ctx: _Ctx, el: etree._Element) -> dict[str, Any]:
    return {
        "ministries": tuple(
            Organization(organization_id=mid, th_name=name)
            for mid, name in _pairs(el, "MinistryID", "Th-Name")
        )
    }


def _organizations(ctx: _Ctx, el: etree._Element) -> dict[str, Any]:
    orgs = [
        Organization(
            organization_id=_ptext(info, "OrganizationID"),
            th_name=_ptext(info, "Th-Name"),
            en_name=_ptext(info, "En-Name"),
            ecms_url=_ptext(info, "ECMS-URL"),
        )
        for info in el.iter("OrganizationInfo")
    ]
    return {"organizations": tuple(orgs)}


def _codes(ctx: _Ctx, el: etree._Element) -> dict[str, Any]:
    return {
        "codes": tuple(
            Code(_ptext(c, "Value"), _ptext(c, "Description")) for c in el.iter("Code")
        )
    }


def _mime_codes(ctx: _Ctx, el: etree._Element) -> dict[str, Any]:
    return {
        "mime_codes": tuple(
            Code(_ptext(c, "File-Extension"), _ptext(c, "Content-type", "Content-Type"))
            for c in el.iter("Code")
        )
    }


def _outbound_status(ctx: _Ctx, el: etree._Element) -> dict[str, Any]:
    return {
        "outbound": tuple(
            OutboundStatus(
                _ptext(o, "ProcessID"), _ptext(o, "LetterID"), _ptext(o, "ProcessStatus")
            )
            for o in el.iter("Outbound")
        )
    }


def _time_check(ctx: _Ctx, el: etree._Element) -> dict[str, Any]:
    found = next(el.iter("ECMSTime"), None)
    return {"ecms_time": _text(found)}


_Handler = Callable[[_Ctx, etree._Element], dict[str, Any]]
_HANDLERS: dict[str, _Handler] = {
    Operation.OUTBOUND: _outbound,
    Operation.OUTBOUND_RESPONSE: _outbound_response,
    Operation.INBOUND: _nothing,
    Operation.INBOUND_RESPONSE: _inbound_response,
    Operation.DELETE: _delete,
    Operation.DELETE_RESPONSE: lambda c, e: _process(e),
    Operation.DELETE_DOCUMENT: _delete_document,
    Operation.DELETE_DOCUMENT_RESPONSE: _delete_document_response,
    Operation.SPECIAL: _special,
    Operation.SPECIAL_RESPONSE: lambda c, e: _process(e),
    Operation.MINISTRIES: _nothing,
    Operation.ORGANIZATIONS: _nothing,
    Operation.SECRET_CODES: _nothing,
    Operation.SPEED_CODES: _nothing,
    Operation.MIME_CODES: _nothing,
    Operation.OUTBOUND_STATUS: _nothing,
    Operation.TIME_CHECK: _nothing,
    Operation.MINISTRIES_RESPONSE: _ministries,
    "MinistryOrganizationList": _ministries,
    "MinistryOrganizationListResponse": _ministries,
    Operation.ORGANIZATIONS_RESPONSE: _organizations,
    "GetOrganizationListResponse": _organizations,
    Operation.SECRET_CODES_RESPONSE: _codes,
    Operation.SPEED_CODES_RESPONSE: _codes,
    Operation.MIME_CODES_RESPONSE: _mime_codes,
    Operation.OUTBOUND_STATUS_RESPONSE: _outbound_status,
    Operation.TIME_CHECK_RESPONSE: _time_check,
    Operation.ERROR: _nothing,
    "ErrorDetail": _nothing,
}


def _sniff(el: etree._Element) -> _Handler | None:
    """Handler for an answer whose wrapper name is not known, by what it holds."""
    if next(el.iter("ErrorDetail"), None) is not None:
        return _nothing
    if next(el.iter("ECMSTime"), None) is not None:
        return _time_check
    if next(el.iter("MinistryID"), None) is not None:
        return _ministries
    if next(el.iter("OrganizationInfo"), None) is not None:
        return _organizations
    return None


def _errors(body: etree._Element) -> tuple[ErrorDetail, ...]:
    out = []
    for detail in body.iter("ErrorDetail"):
        kids = list(children(detail))
        code = _ptext(detail, "ErrorCode") or (_text(kids[0]) if kids else "")
        desc = _ptext(detail, "ErrorDescription") or (_text(kids[1]) if len(kids) > 1 else "")
        out.append(ErrorDetail(code, desc))
    return tuple(out)


# --- entry point --------------------------------------------------------------------------


def parse_message(
    data: bytes,
    *,
    trust: Sequence[str] = (),
    limits: Limits | None = None,
    verify_signature: bool = True,
) -> Message:
    """Read one SOAP message, request or response, of either client dialect.

    Raises :class:`EcmsRefused` (``code`` stable) for anything it will not read; a bad
    signature is not a refusal but ``Message.signature`` = INVALID. With
    ``verify_signature=False`` (a relay that only stores and forwards) the signature is not
    checked and ``Message.signature`` stays ABSENT.
    """
    limits = limits or Limits()
    if isinstance(trust, str | bytes):
        trust = [trust]
    prepared, repaired, declaration = prepare(data, limits)
    root = parse_tree(prepared, limits)
    if root.tag != qn(SOAP, "Envelope"):
        raise EcmsRefused("not_soap", "the root element is not a SOAP 1.1 Envelope")
    header_el: etree._Element | None = None
    body: etree._Element | None = None
    for c in children(root):
        if c.tag == qn(SOAP, "Header") and header_el is None and body is None:
            header_el = c
        elif c.tag == qn(SOAP, "Body") and body is None:
            body = c
    if body is None:
        raise EcmsRefused("not_soap", "the SOAP Envelope has no Body")
    op_el = next(children(body), None)
    if op_el is None:
        raise EcmsRefused("missing_element", "the SOAP Body is empty")
    header, dialect = _header(header_el, declaration)
    operation = local_name(op_el)
    handler = _HANDLERS.get(operation) or _sniff(op_el)
    if handler is None:
        raise EcmsRefused("unknown_operation", f"unknown operation {operation!r}")
    ctx = _Ctx(
        limits=limits,
        trust=trust,
        root=root,
        mildoc_order=dialect is Dialect.MILDOC and body.get("ID") == "Body",
        repaired=list(repaired),
        verify=verify_signature,
    )
    fields = handler(ctx, op_el)
    return Message(
        operation=operation,
        header=header,
        errors=_errors(body),
        repaired=tuple(ctx.repaired),
        dialect=dialect,
        xml_declaration=declaration,
        **fields,
    )
