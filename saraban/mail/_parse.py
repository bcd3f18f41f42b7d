"""Reading an arriving mail (RFC 5322, MIME RFC 2045–2049) into a :class:`ParsedMail`.

The MIME structure comes from :mod:`email`'s feed parser (``compat32``, the tolerant
one); everything the registry reads from it — header text, parameters, charsets, transfer
encodings, file names — is decoded here, so that what Outlook, Gmail, Thunderbird, Apple
Mail, Zimbra, Roundcube and old Thai systems really send is read, and what was repaired is
listed in ``defects``. :mod:`._scan` has checked the structure's size before the parser
runs; the walk checks the limits again on what the parser built.
"""

from __future__ import annotations

import binascii
import dataclasses
import email.parser
import hashlib
import json
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import Message
from email.policy import compat32

from . import _smime
from ._charset import collapse, decode_header, decode_text, guess_8bit, html_to_text
from ._dsn import find_bounce
from ._errors import MailRefused
from ._files import dangerous, safe_filename, sniff
from ._headers import (
    message_id,
    message_ids,
    parse_addresses,
    parse_date,
    parse_params,
)
from ._model import (
    Address,
    Attachment,
    MailLimits,
    Origin,
    ParsedMail,
    SmimeInfo,
)
from ._scan import prescan

log = logging.getLogger(__name__)

_OCTET = {
    "application/octet-stream", "application/x-download", "application/force-download",
    "binary/octet-stream", "application/unknown", "application/x-unknown",
    "application/download", "application/binary", "application/save", "",
}
_TNEF_TYPES = {"application/ms-tnef", "application/vnd.ms-tnef", "application/x-tnef"}
_PKCS7_MIME = {"application/pkcs7-mime", "application/x-pkcs7-mime"}
_PKCS7_SIG = {"application/pkcs7-signature", "application/x-pkcs7-signature"}
_STATUS_TYPES = {"message/delivery-status", "message/global-delivery-status"}
_NL = re.compile(rb"\r\n|\r|\n")
_TNEF_MAX_OBJECTS = 20_000
#: Characters of an HTML body turned into text (a letter's covering text is far shorter; the
#: HTML parser costs about a second a megabyte of tags).
MAX_HTML = 2 * 1024 * 1024


@dataclass
class _Ctx:
    limits: MailLimits
    trust: Sequence[str]
    defects: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    parts: int = 0
    smime: SmimeInfo | None = None
    report_type: str = ""
    status_text: str | None = None
    returned: list[tuple[str, str]] | None = None
    enclosed: list[tuple[str, str]] | None = None
    tnef_text: str = ""

    def defect(self, name: str) -> None:
        if name and name not in self.defects and len(self.defects) < 100:
            self.defects.append(name)


# --- raw access to the parser's result -----------------------------------------------------


def _b(value: object) -> bytes:
    """A header value or payload back to the bytes on the wire."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    return str(value).encode("utf-8", "surrogateescape")


def _raw_headers(part: Message) -> list[tuple[str, bytes]]:
    return [(str(k).strip().lower(), _b(v)) for k, v in part.raw_items()]


def _hget(part: Message, name: str) -> bytes | None:
    for k, v in part.raw_items():
        if str(k).strip().lower() == name:
            return _b(v)
    return None


def _payload_bytes(part: Message) -> bytes:
    """The payload as on the wire (``get_payload()`` would decode 8-bit bytes as ASCII)."""
    payload = getattr(part, "_payload", None)
    if isinstance(payload, list) or payload is None:
        return b""
    return _b(payload)


def _as_bytes(msg: Message) -> bytes:
    """A parsed message written back from its wire pieces (header fields as received, parts
    between their boundaries; line ends CRLF), for a forwarded ``.eml``. Not the stdlib
    generator: it re-folds and re-encodes headers, and refuses some that arrive."""
    return _NL.sub(b"\r\n", _serialize(msg))


def _serialize(msg: Message) -> bytes:
    out = bytearray()
    for name, value in msg.raw_items():
        out += _b(name) + b": " + _b(value) + b"\n"
    out += b"\n"
    payload = getattr(msg, "_payload", None)
    if not isinstance(payload, list):
        out += _payload_bytes(msg)
        return bytes(out)
    kids = [k for k in payload if isinstance(k, Message)]
    ct = _hget(msg, "content-type")
    boundary = parse_params(ct)[1].get("boundary", "") if ct else ""
    if not boundary or not decode_header(ct or b"").lower().lstrip().startswith("multipart/"):
        for kid in kids:
            out += _serialize(kid)
        return bytes(out)
    delimiter = b"--" + boundary.encode("utf-8", "surrogateescape")
    if msg.preamble:
        out += _b(msg.preamble) + b"\n"
    for kid in kids:
        out += delimiter + b"\n" + _serialize(kid) + b"\n"
    out += delimiter + b"--\n"
    if msg.epilogue:
        out += _b(msg.epilogue)
    return bytes(out)


# --- transfer encodings ------------------------------------------------------------------------


def _b64(data: bytes, ctx: _Ctx) -> bytes:
    compact = re.sub(rb"[ \t\r\n]", b"", data)
    clean = re.sub(rb"[^A-Za-z0-9+/=]", b"", compact)
    if len(clean) != len(compact):
        if re.search(rb"[-_]", compact) and not re.search(rb"[+/]", compact):
            clean = re.sub(rb"[^A-Za-z0-9+/=]", b"", compact.translate(
                bytes.maketrans(b"-_", b"+/")))
        ctx.defect("base64_invalid_characters")
    out = bytearray()
    segments = re.findall(rb"[A-Za-z0-9+/]+=*", clean)
    if len(segments) > 1:
        ctx.defect("base64_padding_inside")
    for seg in segments:
        body = seg.rstrip(b"=")
        if len(body) % 4 == 1:
            body = body[:-1]
            ctx.defect("base64_truncated")
        body += b"=" * (-len(body) % 4)
        try:
            out += binascii.a2b_base64(body)
        except (binascii.Error, ValueError):
            ctx.defect("base64_undecodable")
    return bytes(out)


def _qp(data: bytes, ctx: _Ctx) -> bytes:
    if re.search(rb"=(?![0-9A-Fa-f]{2}|\r?\n|\r|[ \t]*$)", data, re.MULTILINE):
        ctx.defect("quoted_printable_invalid")
    # Lone CR as a line end would hide a soft break from binascii.
    data = _NL.sub(b"\n", data)
    return binascii.a2b_qp(data)


def _uu(data: bytes, ctx: _Ctx) -> bytes:
    out = bytearray()
    started = False
    for line in _NL.split(data):
        if not started:
            started = line.startswith(b"begin ")
            continue
        if line.strip() in (b"end", b"`", b""):
            if line.strip() == b"end":
                break
            continue
        try:
            out += binascii.a2b_uu(line)
        except binascii.Error:
            try:
                nbytes = (((line[0] - 32) & 63) * 4 + 5) // 3
                out += binascii.a2b_uu(line[:nbytes])
            except (binascii.Error, IndexError):
                ctx.defect("uuencode_invalid")
    return bytes(out)


def _decoded(part: Message, ctx: _Ctx) -> bytes:
    data = _payload_bytes(part)
    cte_raw = _hget(part, "content-transfer-encoding")
    cte = decode_header(cte_raw).strip().lower().split(";")[0].strip() if cte_raw else ""
    cte = cte.strip("\"' ")
    if cte == "base64":
        return _b64(data, ctx)
    if cte == "quoted-printable":
        return _qp(data, ctx)
    if cte in {"x-uuencode", "uuencode", "x-uue", "uue"}:
        return _uu(data, ctx)
    if cte == "binary":
        return data
    if cte not in {"", "7bit", "8bit", "7-bit", "8-bit"}:
        ctx.defect("transfer_encoding_unknown")
        if data.lstrip()[:6] == b"begin ":
            return _uu(data, ctx)
    # Line-oriented encodings: canonical CRLF (so a mail read over IMAP and through a pipe
    # that turned CRLF into LF gives the same bytes).
    return _NL.sub(b"\r\n", data)


# --- the walk ---------------------------------------------------------------------------------


@dataclass
class _Part:
    ctype: str
    params: dict[str, str]
    disposition: str
    dparams: dict[str, str]

    @property
    def filename(self) -> str:
        for value in (self.dparams.get("filename"), self.params.get("name"),
                      self.params.get("filename"), self.dparams.get("name")):
            if value and value.strip():
                return value.strip()
        return ""


def _describe(part: Message, ctx: _Ctx, default: str = "text/plain") -> _Part:
    ct_raw = _hget(part, "content-type")
    ctype, params = parse_params(ct_raw) if ct_raw else ("", {})
    if "/" not in ctype or " " in ctype:
        if ct_raw is not None:
            ctx.defect("content_type_invalid")
        ctype = default
    cd_raw = _hget(part, "content-disposition")
    disposition, dparams = parse_params(cd_raw) if cd_raw else ("", {})
    return _Part(ctype, params, disposition, dparams)


def _location_name(part: Message) -> str:
    loc = _hget(part, "content-location")
    if not loc:
        return ""
    value = decode_header(loc).strip().strip("\"'")
    value = value.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    name = re.split(r"[/\\]", value)[-1]
    if "%" in name:
        import urllib.parse

        name = urllib.parse.unquote(name)
    return name if "." in name else ""


class _Walker:
    def __init__(self, ctx: _Ctx) -> None:
        self.ctx = ctx

    def check(self, part: Message, depth: int) -> None:
        ctx = self.ctx
        ctx.parts += 1
        if ctx.parts > ctx.limits.max_parts:
            raise MailRefused(
                "mail_too_many_parts", f"จดหมายมีส่วนประกอบเกิน {ctx.limits.max_parts} ส่วน"
            )
        if depth > ctx.limits.max_depth:
            raise MailRefused(
                "mail_too_deep", f"ส่วนของจดหมายซ้อนกันเกิน {ctx.limits.max_depth} ชั้น"
            )
        if len(part._headers) > ctx.limits.max_headers:  # type: ignore[attr-defined]
            raise MailRefused(
                "mail_too_many_headers", f"จดหมายมีส่วนหัวเกิน {ctx.limits.max_headers} รายการ"
            )

    def add(self, name: str, ctype: str, data: bytes, *, inline: bool, origin: Origin) -> None:
        ctx = self.ctx
        if len(data) > ctx.limits.max_attachment_bytes:
            raise MailRefused(
                "mail_attachment_too_large",
                f"ไฟล์แนบ {name or ''} มีขนาด {len(data):,} ไบต์ เกินกำหนด "
                f"{ctx.limits.max_attachment_bytes:,} ไบต์",
            )
        if ctype in _OCTET:
            ctype = sniff(data, name)
        filename = safe_filename(name, len(ctx.attachments) + 1, ctype)
        why = dangerous(filename, ctype, data) or (dangerous(name, ctype, b"") if name else "")
        if why:
            raise MailRefused(
                "mail_dangerous_attachment",
                f"ไฟล์แนบ “{filename}” เป็นไฟล์ที่เรียกใช้งานได้ ({why}) จึงไม่รับจดหมายนี้",
            )
        ctx.attachments.append(Attachment(filename, ctype, data, inline, origin))

    def walk(self, part: Message, depth: int, origin: Origin, body: bool, source: bytes,
             default: str = "text/plain") -> list[str]:
        """Walk one entity; return its body text segments (in order)."""
        self.check(part, depth)
        ctx = self.ctx
        d = _describe(part, ctx, default)
        payload = getattr(part, "_payload", None)
        main = d.ctype.split("/", 1)[0]
        if isinstance(payload, list):
            kids: list[Message] = [p for p in payload if isinstance(p, Message)]
            if d.ctype in _STATUS_TYPES:
                if ctx.status_text is None:
                    ctx.status_text = "\n\n".join(_block_text(k) for k in kids)
                return []
            if main == "message" or (main != "multipart" and len(kids) == 1):
                return self.message(part, d, kids, depth, origin, body, source)
            return self.multipart(part, d, kids, depth, origin, body, source)
        if main == "multipart":
            ctx.defect("multipart_without_parts")
            d = _Part("text/plain", d.params, d.disposition, d.dparams)
        if d.ctype in _PKCS7_MIME or (d.ctype in _OCTET and d.filename.lower().endswith(".p7m")):
            return self.pkcs7(part, d, depth, origin, body)
        data = _decoded(part, ctx)
        name = d.filename or _location_name(part)
        attach = d.disposition == "attachment" or bool(name)
        inline = d.disposition == "inline" or (
            not d.disposition and _hget(part, "content-id") is not None)
        if d.ctype == "text/rfc822-headers":
            if ctx.returned is None:
                ctx.returned = _header_fields(data)
            return []
        if d.ctype in _STATUS_TYPES:
            if ctx.status_text is None:
                ctx.status_text, _ = decode_text(data, d.params.get("charset", "utf-8"))
            return []
        if d.ctype in {"text/plain", "text/html"} and not attach:
            if not body:
                return []
            text, defect = decode_text(data, d.params.get("charset"))
            ctx.defect(defect)
            text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
            if d.ctype == "text/html":
                if len(text) > MAX_HTML:
                    text = text[:MAX_HTML]
                    ctx.defect("html_cut")
                text = html_to_text(text)
            return [text]
        if d.ctype in _TNEF_TYPES or name.lower() == "winmail.dat":
            if self.tnef(data, origin, body):
                return []
            ctx.defect("tnef_unreadable")
            name = name or "winmail.dat"
        self.add(name, d.ctype, data, inline=inline, origin=origin)
        return []

    def multipart(self, part: Message, d: _Part, children: list[Message], depth: int,
                  origin: Origin, body: bool, source: bytes) -> list[str]:
        ctx = self.ctx
        sub = d.ctype.split("/", 1)[1]
        default = "message/rfc822" if sub == "digest" else "text/plain"
        kids = [k for k in children if isinstance(k, Message)]
        if sub == "signed" and kids:
            segments = self.walk(kids[0], depth + 1, origin, body, source)
            if len(kids) > 1 and origin == "part" and ctx.smime is None:
                self.verify_detached(part, d, kids, source)
            return segments
        if sub == "report":
            ctx.report_type = ctx.report_type or d.params.get("report-type", "").lower()
        if sub == "alternative":
            options = [self.walk(k, depth + 1, origin, body, source, default) for k in kids]
            kinds = [_describe(k, ctx).ctype for k in kids]
            chosen = next((o for o, k in zip(options, kinds, strict=True)
                           if k == "text/plain" and any(s.strip() for s in o)), None)
            if chosen is None:
                chosen = next((o for o in reversed(options) if any(s.strip() for s in o)), [])
            return chosen
        out: list[str] = []
        for kid in kids:
            out.extend(self.walk(kid, depth + 1, origin, body, source, default))
        return out

    def message(self, part: Message, d: _Part, payload: list[Message], depth: int,
                origin: Origin, body: bool, source: bytes) -> list[str]:
        """A message/rfc822 part: a forwarded message, or a bounce's returned one."""
        ctx = self.ctx
        inner = payload[0] if payload and isinstance(payload[0], Message) else None
        if inner is None:
            return []
        cte = (decode_header(_hget(part, "content-transfer-encoding") or b"").strip().lower())
        inner_source = source
        if cte in {"base64", "quoted-printable"}:
            # Some clients encode the enclosed message; the parser read the encoding as headers.
            ctx.defect("message_part_encoded")
            encoded = _as_bytes(inner)
            data = _b64(encoded, ctx) if cte == "base64" else _qp(encoded, ctx)
            inner = self.parse_nested(data, depth)
            inner_source = data
        data = _as_bytes(inner)
        subject = collapse(decode_header(_hget(inner, "subject") or b""))
        if d.ctype in {"message/rfc822", "message/global"} and ctx.enclosed is None:
            ctx.enclosed = [(k, collapse(decode_header(v))) for k, v in _raw_headers(inner)]
            if ctx.report_type and ctx.returned is None:
                ctx.returned = ctx.enclosed
        if d.ctype == "message/disposition-notification":
            ctx.report_type = ctx.report_type or "disposition-notification"
            return []
        name = d.filename
        if not name:
            name = f"{subject[:190]}.eml" if subject else ""
        elif not name.lower().endswith((".eml", ".msg")):
            name += ".eml"
        self.add(name or f"attachment-{len(ctx.attachments) + 1}.eml", "message/rfc822", data,
                 inline=False, origin=origin)
        self.walk(inner, depth + 1, "forwarded", False, inner_source)
        return []

    def parse_nested(self, data: bytes, depth: int) -> Message:
        """Parse bytes that were encoded inside the mail (an encoded message/rfc822, opaque
        S/MIME content), after the same pre-scan, with what is left of the limits."""
        limits = self.ctx.limits
        if depth + 1 > limits.max_depth:
            raise MailRefused("mail_too_deep", f"ส่วนของจดหมายซ้อนกันเกิน {limits.max_depth} ชั้น")
        prescan(data, dataclasses.replace(
            limits,
            max_depth=limits.max_depth - depth - 1,
            max_parts=max(1, limits.max_parts - self.ctx.parts),
        ))
        return _bytes_parser().parsebytes(data)

    def pkcs7(self, part: Message, d: _Part, depth: int, origin: Origin, body: bool) -> list[str]:
        ctx = self.ctx
        data = _decoded(part, ctx)
        info = _smime.load_cms(data)
        kind = _smime.content_kind(info) if info is not None else ""
        if info is not None and kind == "signed_data":
            inner = _smime.encapsulated(info)
            if inner is not None:
                if origin == "part" and ctx.smime is None:
                    verdict, defect = _smime.verify(info, None, ctx.trust)
                    ctx.smime = verdict
                    ctx.defect(defect)
                msg = self.parse_nested(inner, depth)
                return self.walk(msg, depth + 1, origin, body, inner)
        if kind in {"enveloped_data", "authenticated_enveloped_data", "encrypted_data"}:
            ctx.defect("smime_encrypted")
        else:
            ctx.defect("smime_unreadable")
        self.add(d.filename or "smime.p7m", "application/pkcs7-mime", data, inline=False,
                 origin=origin)
        return []

    def verify_detached(self, part: Message, d: _Part, kids: list[Message],
                        source: bytes) -> None:
        ctx = self.ctx
        sig_part = next((k for k in kids[1:] if _describe(k, ctx).ctype in _PKCS7_SIG), kids[1])
        info = _smime.load_cms(_decoded(sig_part, ctx))
        if info is None:
            ctx.smime = _smime.INVALID
            ctx.defect("smime_unreadable")
            return
        candidates = _signed_candidates(source, d.params.get("boundary", ""))
        if not candidates:
            candidates = [_as_bytes(kids[0])]
        verdict, defect = _smime.verify(info, candidates, ctx.trust)
        ctx.smime = verdict
        ctx.defect(defect)

    def tnef(self, data: bytes, origin: Origin, body: bool) -> bool:
        """winmail.dat: its files (origin "tnef") instead of it; False when unreadable."""
        if not _tnef_plausible(data):
            return False
        try:
            import tnefparse  # type: ignore[import-untyped]

            tnef = tnefparse.TNEF(data, do_checksum=False)
            if not tnef.objects:
                return False
            files: list[tuple[str, bytes]] = []
            for att in tnef.attachments:
                content = att.data if isinstance(att.data, bytes) else b""
                files.append((_tnef_name(att), content))
            text = ""
            if body:
                for candidate in (tnef.body, tnef.htmlbody):
                    if not candidate:
                        continue
                    if isinstance(candidate, bytes):
                        candidate, _ = decode_text(candidate.rstrip(b"\x00"), None)
                    text = str(candidate)
                    if candidate is tnef.htmlbody or "<html" in text[:500].lower():
                        text = html_to_text(text)
                    break
        except MailRefused:
            raise
        except Exception:  # tnefparse on hostile bytes
            log.debug("winmail.dat unreadable", exc_info=True)
            return False
        for name, content in files:
            self.add(name, "application/octet-stream", content, inline=False,
                     origin="tnef" if origin == "part" else origin)
        if text and not self.ctx.tnef_text:
            self.ctx.tnef_text = text.replace("\r\n", "\n")
        return True


def _tnef_name(att: object) -> str:
    """An attachment's long file name (MAPI), else its title (8-bit in the OEM code page,
    which tnefparse would decode as UTF-8 and fail)."""
    for attr in getattr(att, "mapi_attrs", []):
        if getattr(attr, "name", None) == 0x3707:  # PR_ATTACH_LONG_FILENAME
            value = attr.data
            if isinstance(value, list) and value:
                value = value[0]
            if isinstance(value, bytes):
                value = guess_8bit(value.rstrip(b"\x00"))
            if isinstance(value, str) and value.strip("\x00 "):
                return value.strip("\x00")
    raw = getattr(att, "_name", b"")
    if isinstance(raw, bytes):
        return guess_8bit(raw.split(b"\x00", 1)[0])
    return str(raw).strip("\x00")


def _tnef_plausible(data: bytes) -> bool:
    """A TNEF stream of a sane number of objects (tnefparse copies the rest of the stream
    for every object, so millions of tiny objects would cost hours)."""
    if data[:4] != b"\x78\x9f\x3e\x22":
        return False
    offset, count = 6, 0
    while offset + 12 < len(data):
        length = int.from_bytes(data[offset + 5 : offset + 9], "little")
        offset += min(len(data) - offset, length + 11)
        count += 1
        if count > _TNEF_MAX_OBJECTS:
            return False
    return True


def _signed_candidates(source: bytes, boundary: str) -> list[bytes]:
    """The first part of a multipart/signed as on the wire, and canonicalised to CRLF."""
    if not boundary:
        return []
    b = re.escape(boundary.encode("utf-8", "surrogateescape"))
    start = re.search(rb"(?:\A|\r\n|\n|\r)--" + b + rb"[ \t]*(?:\r\n|\n|\r)", source)
    if start is None:
        return []
    end = re.compile(rb"(?:\r\n|\n|\r)--" + b).search(source, start.end())
    if end is None:
        return []
    content = source[start.end() : end.start()]
    out = [content]
    canonical = _NL.sub(b"\r\n", content)
    if canonical != content:
        out.append(canonical)
    return out


def _block_text(block: Message) -> str:
    """A delivery-status field block (the parser made it a header-only message) as text;
    a global one (RFC 6533) may hold raw UTF-8."""
    lines = [f"{k}: {decode_header(_b(v))}" for k, v in block.raw_items()]
    rest = _payload_bytes(block)
    if rest.strip():
        lines.append("")
        lines.append(decode_text(rest, "utf-8")[0])
    return "\n".join(lines)


def _header_fields(data: bytes) -> list[tuple[str, str]]:
    msg = _bytes_parser().parsebytes(data, headersonly=True)
    return [(k, collapse(decode_header(v))) for k, v in _raw_headers(msg)]


def _bytes_parser() -> email.parser.BytesParser:
    return email.parser.BytesParser(policy=compat32)


# --- the whole mail ---------------------------------------------------------------------------


def _first_address(raw: bytes | None, defects: list[str]) -> Address | None:
    if raw is None:
        return None
    found = parse_addresses(raw, defects)
    return found[0] if found else None


def content_digest(sender: Address | None, date: object, subject: str, text: str,
                   attachments: Sequence[Attachment]) -> str:
    """sha256 (hex) of what the mail says — not of how it travelled (no transport headers,
    line ends and trailing spaces normalised), so one mail read over IMAP and handed over by
    the MTA has one digest."""
    norm_text = "\n".join(line.rstrip() for line in text.split("\n")).strip()
    canon = {
        "from": sender.address.lower() if sender else "",
        "date": date.isoformat() if hasattr(date, "isoformat") else "",
        "subject": subject,
        "text": norm_text,
        "files": [hashlib.sha256(a.data).hexdigest() for a in attachments],
    }
    blob = json.dumps(canon, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _parse(raw: bytes, limits: MailLimits, trust: Sequence[str]) -> ParsedMail:
    ctx = _Ctx(limits=limits, trust=trust)
    start = len(raw) - len(raw.lstrip(b"\r\n \t"))
    body_raw = raw[start:] if start else raw
    if start:
        ctx.defect("leading_blank_lines")
    msg = _bytes_parser().parsebytes(body_raw)
    top = _raw_headers(msg)
    if not top:
        raise MailRefused("mail_malformed", "ไม่พบส่วนหัวของจดหมาย (ไม่ใช่จดหมายอิเล็กทรอนิกส์)")
    if not any(name in {"from", "sender", "to", "subject", "date", "message-id",
                        "content-type", "received", "return-path", "mime-version"}
               for name, _ in top):
        raise MailRefused("mail_malformed", "ไม่พบส่วนหัวมาตรฐานของจดหมาย (From, To, Subject…)")
    for defect in getattr(msg, "defects", []):
        ctx.defect(_defect_name(defect))
    segments = _Walker(ctx).walk(msg, 0, "part", True, body_raw)
    text = "\n".join(s.strip("\n") for s in segments if s.strip())
    if not text.strip() and ctx.tnef_text:
        text = ctx.tnef_text
    text = unicodedata.normalize("NFC", text).strip()

    def first(name: str) -> bytes | None:
        return next((v for k, v in top if k == name), None)

    defects = ctx.defects
    sender = _first_address(first("from"), defects) or _first_address(first("sender"), defects)
    reply_to = _first_address(first("reply-to"), defects)
    to = tuple(a for k, v in top if k == "to" for a in parse_addresses(v, defects))
    cc = tuple(a for k, v in top if k == "cc" for a in parse_addresses(v, defects))
    subject = collapse(decode_header(first("subject") or b""))
    date = parse_date(decode_header(first("date") or b""), defects)
    headers = tuple((k, collapse(decode_header(v))) for k, v in top)
    mid = message_id(decode_header(first("message-id") or b""))
    in_reply_to = message_ids(decode_header(first("in-reply-to") or b""))
    references = message_ids(" ".join(decode_header(v) for k, v in top if k == "references"))
    bounce = find_bounce(
        headers=headers,
        sender=sender,
        subject=subject,
        text=text,
        report_type=ctx.report_type,
        status_text=ctx.status_text,
        returned=ctx.returned or ctx.enclosed,
    )
    attachments = tuple(ctx.attachments)
    return ParsedMail(
        message_id=mid,
        sender=sender,
        reply_to=reply_to,
        to=to,
        cc=cc,
        date=date,
        subject=subject,
        text=text,
        attachments=attachments,
        in_reply_to=in_reply_to,
        references=references,
        headers=headers,
        bounce=bounce,
        smime=ctx.smime,
        defects=tuple(dict.fromkeys(defects)),
        size=len(raw),
        digest=content_digest(sender, date, subject, text, attachments),
    )


def _defect_name(defect: object) -> str:
    name = type(defect).__name__
    name = re.sub(r"Defect$", "", name)
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


DEFAULT_LIMITS = MailLimits()


def parse_mail(raw: bytes, *, limits: MailLimits = DEFAULT_LIMITS,
               trust: Sequence[str] = ()) -> ParsedMail:
    """Read one arriving mail.

    Raises :class:`MailRefused` (and nothing else, whatever ``raw`` holds) when the mail
    exceeds ``limits``, carries a dangerous attachment, or is not a mail at all. ``trust``:
    PEM certificates an S/MIME signer may chain to ("valid"; else "unverified").
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise MailRefused("mail_malformed", "จดหมายต้องเป็นไบต์")
    raw = bytes(raw)
    if not raw.strip():
        raise MailRefused("mail_malformed", "จดหมายว่างเปล่า")
    prescan(raw, limits)
    try:
        return _parse(raw, limits, trust)
    except MailRefused:
        raise
    except RecursionError as exc:
        raise MailRefused("mail_too_deep", "โครงสร้างจดหมายซ้อนกันลึกเกินไป") from exc
    except Exception as exc:  # the last guard: a mail never stops a mailbox
        log.warning("mail unreadable", exc_info=True)
        raise MailRefused("mail_malformed", f"อ่านจดหมายไม่ได้ ({type(exc).__name__})") from exc
