"""Safe XML reading for e-CMS messages, and the names of the wire.

Reading happens in this order, each step refusing with a stable code:

1. size (``xml_too_large``) and encoding: UTF-8 only (an optional UTF-8 BOM is dropped; a
   NUL byte, i.e. UTF-16/32, is ``xml_malformed``);
2. **no DTD at all**: the raw bytes are scanned, case-insensitively and anywhere (also after
   the XML declaration), for ``<!DOCTYPE`` and ``<!ENTITY`` before any parser sees them
   (``xml_dtd_refused``). This shuts out XXE and entity expansion (billion laughs) whatever
   the parser's settings;
3. **bare ``&`` repair** (decided for BOI-DMS, which builds its XML by string concatenation
   and never escapes; a subject such as ``R&D`` would otherwise make the whole letter
   unreadable): every ``&`` that does not start one of the five predefined entity references
   or a character reference becomes ``&amp;``, and ``"bare_ampersand"`` is recorded in
   ``Message.repaired``. With no DTD there are no other entities, so nothing is lost: the
   text reads as the sender typed it (CDATA sections and comments are left alone: ``&`` is
   literal there). A bare ``<`` cannot be repaired safely (it may be a tag) and stays
   ``xml_malformed``;
4. **BOI's OutboundStatusRequest** writes ``<env:Envelope xmlns:env=…>`` with a
   ``<SOAP-ENV:Header>`` whose prefix is never declared: not namespace-well-formed.
   Decision: **refused** as ``xml_malformed``, like any undeclared prefix, as a
   namespace-aware e-CMS node must (ecms.md §5.14): the only repair made to malformed input
   is the bare ``&`` above, which loses nothing; guessing bindings for prefixes is not done.
   BOI reads the ErrorDetail answer as an empty status list;
5. lxml parse (``iterparse``: ``resolve_entities=False``, ``no_network=True``,
   ``load_dtd=False``), stopping as soon as the nesting exceeds ``max_depth``
   (``xml_too_deep``; libxml2's own depth limit, hit inside one read chunk, is reported the
   same) or the element count exceeds ``max_elements`` (``xml_too_large``: millions of tiny
   elements would cost a tree of hundreds of MB); malformed → ``xml_malformed``.
   ``huge_tree=True`` is needed because a base64 object of a file larger than ~7.5 MB is one
   text node over libxml2's 10 MB default; the protections ``huge_tree`` would lift (entity
   expansion, depth) are already enforced by steps 2 and 5, and the size by step 1.

Elements are matched by namespace URI and local name, never by prefix.
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Iterator

from lxml import etree  # type: ignore[import-untyped]

from ._errors import EcmsRefused
from ._model import Limits

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
WSA = "http://www.w3.org/2005/08/addressing"
WSA_BOI = "http://w3.org/2005/08/addressing"
WSA_NAMESPACES = (WSA, WSA_BOI)
RSM = "urn:th:gov:egif:data:standard:GovernmentDocument:1.0"
RAM = "urn:th:gov:egif:data:standard:ReusableAggregateBusinessInformationEntity:1"
DS = "http://www.w3.org/2000/09/xmldsig#"

BOM = b"\xef\xbb\xbf"
_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_BARE_AMP = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)")
_REPAIR_CHUNK = 64 * 1024


def qn(ns: str | None, local: str) -> str:
    """Clark notation ``{ns}local`` (plain ``local`` for unqualified names)."""
    return f"{{{ns}}}{local}" if ns else local


def local_name(el: etree._Element) -> str:
    return str(etree.QName(el).localname)


def namespace(el: etree._Element) -> str | None:
    ns = etree.QName(el).namespace
    return str(ns) if ns else None


def to_bytes(el: etree._Element) -> bytes:
    """``el`` serialised as UTF-8 without XML declaration."""
    return bytes(etree.tostring(el, encoding="UTF-8"))


def children(el: etree._Element) -> Iterator[etree._Element]:
    """Element children (comments and processing instructions skipped)."""
    for c in el:
        if isinstance(c.tag, str):
            yield c


def prepare(data: bytes, limits: Limits) -> tuple[bytes, tuple[str, ...], bool]:
    """Steps 1-4: the bytes to parse, what was repaired, whether an XML declaration led."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise EcmsRefused("xml_malformed", "the message is not bytes")
    data = bytes(data)
    if len(data) > limits.max_bytes:
        raise EcmsRefused(
            "xml_too_large", f"the message has {len(data)} bytes, more than {limits.max_bytes}"
        )
    if data.startswith(BOM):
        data = data[len(BOM) :]
    if b"\x00" in data:
        raise EcmsRefused("xml_malformed", "the message is not UTF-8 (it has NUL bytes)")
    if _DTD.search(data):
        raise EcmsRefused("xml_dtd_refused", "a DOCTYPE or ENTITY declaration is not allowed")
    declaration = data.lstrip().startswith(b"<?xml")
    repaired: list[str] = []
    if b"&" in data:
        fixed = _repair_ampersands(data)
        if fixed != data:
            data = fixed
            repaired.append("bare_ampersand")
    return data, tuple(repaired), declaration


def _repair_span(out: io.BytesIO, data: bytes, start: int, end: int) -> None:
    """Repair ``data[start:end]`` into ``out`` piece by piece: each piece ends just before an
    ``&`` (so no reference is cut) and holds at most ``_REPAIR_CHUNK`` bytes of ampersands,
    so a message of millions of ``&`` never builds millions of pieces at once."""
    pos = start
    while pos < end:
        stop = min(pos + _REPAIR_CHUNK, end)
        if stop < end:
            amp = data.find(b"&", stop, end)
            stop = end if amp < 0 else amp
        out.write(_BARE_AMP.sub(b"&amp;", data[pos:stop]))
        pos = stop


def _repair_ampersands(data: bytes) -> bytes:
    """Bare ``&`` → ``&amp;``, outside CDATA sections and comments (literal there). Linear:
    an unterminated section leaves the rest as it is (the parser refuses it anyway)."""
    out = io.BytesIO()
    pos = 0
    scan = data.find(b"<!")
    while scan >= 0:
        if data.startswith(b"<![CDATA[", scan):
            close, width = data.find(b"]]>", scan + 9), 3
        elif data.startswith(b"<!--", scan):
            close, width = data.find(b"-->", scan + 4), 3
        else:
            scan = data.find(b"<!", scan + 2)
            continue
        _repair_span(out, data, pos, scan)
        if close < 0:
            out.write(data[scan:])
            return out.getvalue()
        out.write(data[scan : close + width])
        pos = close + width
        scan = data.find(b"<!", pos)
    _repair_span(out, data, pos, len(data))
    return out.getvalue()


def parse_tree(data: bytes, limits: Limits) -> etree._Element:
    """Step 5: parse prepared bytes into a tree, refusing deep nesting as it goes."""
    depth = 0
    count = 0
    root: etree._Element | None = None
    try:
        events = etree.iterparse(
            io.BytesIO(data),
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=True,
            remove_comments=True,
            remove_pis=True,
        )
        for event, el in events:
            if event == "start":
                depth += 1
                count += 1
                if count > limits.max_elements:
                    raise EcmsRefused(
                        "xml_too_large", f"the message has more than {limits.max_elements} elements"
                    )
                if depth > limits.max_depth:
                    raise EcmsRefused(
                        "xml_too_deep", f"elements nest deeper than {limits.max_depth}"
                    )
                if root is None:
                    root = el
            else:
                depth -= 1
    except etree.XMLSyntaxError as exc:
        if "depth" in str(exc).lower():  # libxml2's own nesting limit, hit inside one chunk
            raise EcmsRefused(
                "xml_too_deep", f"elements nest deeper than {limits.max_depth}"
            ) from None
        raise EcmsRefused("xml_malformed", f"not well-formed XML: {exc}") from None
    if root is None:
        raise EcmsRefused("xml_malformed", "no root element")
    if root.getroottree().docinfo.doctype:
        raise EcmsRefused("xml_dtd_refused", "a DOCTYPE is not allowed")
    return root


def standalone(el: etree._Element) -> bytes:
    """``el`` serialised as a document of its own (without XML declaration): a deep copy
    carries only the namespace declarations it uses or declares itself."""
    dup = copy.deepcopy(el)
    dup.tail = None
    return to_bytes(dup)
