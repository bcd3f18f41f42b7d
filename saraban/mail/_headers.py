"""Header fields: MIME parameters (RFC 2045 + RFC 2231 continuations and charsets, RFC 2047
inside quoted values as Outlook and Gmail write them, raw 8-bit), addresses, message ids
and dates. Written here, not taken from :mod:`email`, because the standard library decodes
RFC 2231 values only in charsets Python knows (not ``x-windows-874``), and drops what it
cannot decode."""

from __future__ import annotations

import contextlib
import email.utils
import re
import unicodedata
import urllib.parse
from datetime import UTC, datetime, timedelta, timezone

from ._charset import codec_for, collapse, decode_header, decode_text, guess_8bit
from ._model import Address

_FOLD = re.compile(rb"\r\n[ \t]|\r[ \t]|\n[ \t]|\r\n|\r|\n")
_CONT = re.compile(r"^([^*]+)\*(?:(\d{1,4})\*?|)$")
_ID = re.compile(r"<\s*([^<>\s]{1,998})\s*>")
_ADDR = re.compile(r"[^\s<>\"',;:()\[\]]+@[^\s<>\"',;:()\[\]]+")
#: Characters of a header value read for addresses (a longer To: is cut, with a defect).
MAX_ADDRESS_HEADER = 64 * 1024


def unfold(raw: bytes) -> bytes:
    """Line folds removed (a fold's whitespace kept as one space)."""
    return _FOLD.sub(lambda m: b" " if m.group(0)[-1:] in b" \t" else b"", raw)


def _split(value: str) -> list[str]:
    """Split on ``;`` outside quoted strings."""
    parts: list[str] = []
    buf: list[str] = []
    quoted = escaped = False
    for ch in value:
        if escaped:
            buf.append(ch)
            escaped = False
        elif ch == "\\" and quoted:
            buf.append(ch)
            escaped = True
        elif ch == '"':
            buf.append(ch)
            quoted = not quoted
        elif ch == ";" and not quoted:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return parts


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == '"':
        end = value.rfind('"')
        inner = value[1:end] if end > 0 else value[1:]
        return re.sub(r"\\(.)", r"\1", inner)
    if value.startswith('"'):
        return value[1:]
    return value


def parse_params(raw: bytes) -> tuple[str, dict[str, str]]:
    """``Content-Type``/``Content-Disposition`` as (lowercased main value, {param: text}).

    >>> parse_params(b"attachment; filename*0*=utf-8''%E0%B8%81; filename*1*=.pdf")
    ('attachment', {'filename': 'ก.pdf'})
    """
    text = unfold(raw).decode("latin-1")
    if len(text) > 64 * 1024:
        text = text[: 64 * 1024]
    pieces = _split(text)
    main = pieces[0].strip().strip('"').lower()
    plain: dict[str, str] = {}
    ext: dict[str, list[tuple[int, bool, str]]] = {}
    for piece in pieces[1:]:
        if "=" not in piece:
            continue
        key, _, value = piece.partition("=")
        key = key.strip().lower()
        if not key:
            continue
        m = _CONT.match(key)
        if m:
            name, num = m.group(1), m.group(2)
            encoded = key.endswith("*")
            segs = ext.setdefault(name, [])
            if len(segs) < 1000:
                segs.append((int(num) if num is not None else -1, encoded, _unquote(value)))
        elif key not in plain:
            plain[key] = _unquote(value)
    out = {k: decode_header(v.encode("latin-1")) for k, v in plain.items()}
    for name, segs in ext.items():
        decoded = _rfc2231(sorted(segs, key=lambda s: s[0]))
        if decoded:
            out[name] = decoded
    return main, out


def _rfc2231(segs: list[tuple[int, bool, str]]) -> str:
    charset = ""
    data = bytearray()
    for i, (_, encoded, value) in enumerate(segs):
        if i == 0 and encoded and value.count("'") >= 2:
            charset, _lang, value = value.split("'", 2)
        if encoded:
            data.extend(urllib.parse.unquote_to_bytes(value))
        else:
            data.extend(value.encode("latin-1"))
    raw = bytes(data)
    if "=?" in raw.decode("latin-1"):
        return decode_header(raw)  # RFC 2047 inside an RFC 2231 value (seen from webmail)
    if codec_for(charset):
        text, _ = decode_text(raw, charset)
    else:
        text = guess_8bit(raw)
    return unicodedata.normalize("NFC", text)


def normalize_address(addr: str) -> str:
    """Local part as sent, domain lowercased and IDNA-decoded."""
    addr = addr.strip().strip("<>").strip()
    local, at, domain = addr.rpartition("@")
    if not at:
        return addr
    domain = domain.strip().rstrip(".").lower()
    if "xn--" in domain:
        with contextlib.suppress(UnicodeError, ValueError):
            domain = domain.encode("ascii").decode("idna")
    return unicodedata.normalize("NFC", f"{local}@{domain}")[:320]


def parse_addresses(raw: bytes, defects: list[str]) -> tuple[Address, ...]:
    """Every address of an address header (names decoded after splitting, so an encoded
    word's comma cannot split a name)."""
    data = unfold(raw)
    if len(data) > MAX_ADDRESS_HEADER:
        data = data[:MAX_ADDRESS_HEADER]
        defects.append("address_header_cut")
    try:
        value = data.decode("ascii")
    except UnicodeDecodeError:
        value = guess_8bit(data)
    out: list[Address] = []
    try:
        pairs = email.utils.getaddresses([value])
    except Exception:  # the stdlib parser on hostile text
        pairs = []
    for name, addr in pairs:
        if "@" not in addr:
            continue
        out.append(Address(normalize_address(addr), collapse(decode_header(name))))
    if not out:
        found = _ADDR.findall(value)
        if found:
            defects.append("address_malformed")
        out = [Address(normalize_address(a), "") for a in found[:1000]]
    return tuple(out)


def message_ids(value: str) -> tuple[str, ...]:
    """The ids of In-Reply-To/References (without ``<>``); bare ids accepted."""
    ids = _ID.findall(value)
    if not ids:
        ids = [t.strip("<>") for t in value.split() if "@" in t]
    return tuple(i for i in ids[:200] if i)


def message_id(value: str) -> str:
    """A Message-ID without ``<>`` and whitespace ("" when absent)."""
    m = _ID.search(value)
    if m:
        return m.group(1)
    return "".join(value.split()).strip("<>")[:998]


def parse_date(value: str, defects: list[str]) -> datetime | None:
    """An aware date; ``-0000``/no zone read as UTC, Buddhist-era years (2567) converted."""
    value = collapse(value)
    if not value:
        return None
    try:
        parts = email.utils.parsedate_tz(value)
    except Exception:  # the stdlib parser on hostile text
        parts = None
    if not parts:
        defects.append("date_unreadable")
        return None
    year = parts[0]
    if 2400 < year < 2700:
        year -= 543
        defects.append("date_buddhist_era")
    offset = parts[9] or 0
    if abs(offset) >= 24 * 3600:
        offset = 0
        defects.append("date_bad_zone")
    try:
        return datetime(
            year, parts[1], parts[2], parts[3], parts[4], min(parts[5], 59),
            tzinfo=timezone(timedelta(seconds=offset)) if offset else UTC,
        )
    except (ValueError, OverflowError):
        defects.append("date_unreadable")
        return None
