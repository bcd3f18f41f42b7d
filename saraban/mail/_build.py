"""Writing an outgoing mail: RFC 5322 + MIME, UTF-8, the way Outlook and webmail read it.

Subject and display names are RFC 2047 encoded words (base64, folded, never splitting a
character); attachment names are written twice, as Thunderbird does: RFC 2231
(``filename*0*=utf-8''…``) in Content-Disposition for standard readers, and an RFC 2047
``name="=?utf-8?B?…?="`` in Content-Type for Outlook. Bodies are base64 (Thai UTF-8 is three
bytes a character, which quoted-printable would triple again). Lines end in CRLF. The output
is deterministic for the same input (the boundary derives from the content).
"""

from __future__ import annotations

import base64
import hashlib
import re
import urllib.parse
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime

from ._model import Address

CRLF = b"\r\n"
_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]*$")
_NAME_MAX = 75


def _clean(value: str) -> str:
    """No line breaks (header injection) and no control characters."""
    return re.sub(r"[\x00-\x08\x0a-\x1f\x7f]", " ", value).strip()


def encoded_words(text: str, first_room: int = _NAME_MAX) -> list[str]:
    """``text`` as RFC 2047 base64 words of at most 75 characters, split on characters."""
    words: list[str] = []
    chunk = ""
    prefix, suffix = "=?utf-8?B?", "?="
    room = first_room
    for ch in text:
        trial = chunk + ch
        if len(prefix) + len(base64.b64encode(trial.encode()).decode()) + len(suffix) > room \
                and chunk:
            words.append(prefix + base64.b64encode(chunk.encode()).decode() + suffix)
            chunk = ch
            room = _NAME_MAX
        else:
            chunk = trial
    if chunk or not words:
        words.append(prefix + base64.b64encode(chunk.encode()).decode() + suffix)
    return words


def _header_text(name: str, value: str) -> bytes:
    """An unstructured header: ASCII folded as is, anything else as encoded words."""
    value = _clean(value)
    if value.isascii() and "=?" not in value:
        return _fold_ascii(f"{name}: {value}")
    words = encoded_words(value, 75 - len(name) - 2)
    return f"{name}: {(chr(13) + chr(10) + ' ').join(words)}".encode("ascii")


def _fold_ascii(line: str) -> bytes:
    if len(line) <= 78:
        return line.encode("ascii")
    out: list[str] = []
    current = ""
    for word in line.split(" "):
        if current and len(current) + 1 + len(word) > 78:
            out.append(current)
            current = " " + word
        else:
            current = f"{current} {word}" if current else word
    out.append(current)
    return "\r\n".join(out).encode("ascii")


def _domain(domain: str) -> str:
    domain = domain.strip().lower()
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


def format_address(addr: Address) -> str:
    """``Name <local@domain>`` with the name quoted or encoded as needed."""
    local, _, domain = _clean(addr.address).rpartition("@")
    spec = f"{local}@{_domain(domain)}" if local else _clean(addr.address)
    name = _clean(addr.name)
    if not name:
        return spec
    if name.isascii():
        if _ATOM.match(name):
            return f"{name} <{spec}>"
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{spec}>'
    return "\r\n ".join(encoded_words(name, 60)) + f"\r\n <{spec}>"


def _address_header(name: str, addrs: Sequence[Address]) -> bytes:
    items = [format_address(a) for a in addrs]
    line = f"{name}: " + ",\r\n ".join(items)
    return line.encode("ascii", "replace")


def _b64_body(data: bytes) -> bytes:
    encoded = base64.b64encode(data)
    return CRLF.join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def _rfc2231(param: str, value: str) -> str:
    """``param*0*=utf-8''…; param*1*=…`` lines (each under 78 characters)."""
    quoted = urllib.parse.quote(value, safe="!#$&+-.^_`|~")
    if value.isascii() and quoted == value and len(value) < 60:
        return f'{param}="{value}"'
    pieces: list[str] = []
    rest = "utf-8''" + quoted
    while rest:
        cut = min(len(rest), 60)
        # never cut inside a %XX escape
        while cut < len(rest) and "%" in rest[cut - 2 : cut]:
            cut -= 1
        pieces.append(rest[:cut])
        rest = rest[cut:]
    if len(pieces) == 1:
        return f"{param}*={pieces[0]}"
    return ";\r\n ".join(f"{param}*{i}*={p}" for i, p in enumerate(pieces))


def _name_param(filename: str) -> str:
    if filename.isascii():
        return '"' + filename.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return '"' + "\r\n ".join(encoded_words(filename, 60)) + '"'


def _safe_filename(name: str) -> str:
    """No path separators (a Thai letter number's slash becomes "_", as readers would)."""
    return re.sub(r"[/\\]", "_", _clean(name)) or "attachment"


def build_mail(
    *,
    sender: Address,
    to: Sequence[Address],
    subject: str,
    text: str,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    message_id: str,
    in_reply_to: str = "",
    references: Sequence[str] = (),
    extra_headers: Sequence[tuple[str, str]] = (),
    date: datetime | None = None,
    cc: Sequence[Address] = (),
) -> bytes:
    """A complete mail (bytes, CRLF) ready for SMTP.

    ``attachments`` are ``(filename, content_type, data)``; ``message_id``, ``in_reply_to``
    and ``references`` are ids without ``<>``. ``extra_headers`` are written after the
    standard ones (non-ASCII values encoded).
    """
    when = date or datetime.now(UTC)
    lines: list[bytes] = [
        _address_header("From", [sender]),
        _address_header("To", to),
    ]
    if cc:
        lines.append(_address_header("Cc", cc))
    lines += [
        _header_text("Subject", subject),
        f"Date: {format_datetime(when)}".encode("ascii"),
        f"Message-ID: <{_clean(message_id).strip('<>')}>".encode("ascii", "replace"),
    ]
    if in_reply_to:
        lines.append(f"In-Reply-To: <{_clean(in_reply_to).strip('<>')}>".encode(
            "ascii", "replace"))
    if references:
        refs = " ".join(f"<{_clean(r).strip('<>')}>" for r in references if r.strip())
        lines.append(_fold_ascii(f"References: {refs}"))
    for name, value in extra_headers:
        hname = re.sub(r"[^\x21-\x39\x3b-\x7e]", "", name)
        if hname:
            lines.append(_header_text(hname, value))
    lines.append(b"MIME-Version: 1.0")
    body_text = re.sub(r"\r\n|\r|\n", "\r\n", text)
    if not body_text.endswith("\r\n"):
        body_text += "\r\n"
    text_part = [
        b"Content-Type: text/plain; charset=utf-8",
        b"Content-Transfer-Encoding: base64",
        b"",
        _b64_body(body_text.encode("utf-8")),
    ]
    if not attachments:
        return CRLF.join(lines + text_part) + CRLF
    seed = hashlib.sha256(message_id.encode("utf-8") + body_text.encode("utf-8"))
    for filename, ctype, data in attachments:
        seed.update(filename.encode("utf-8") + ctype.encode("utf-8"))
        seed.update(hashlib.sha256(data).digest())
    boundary = "=_saraban_" + seed.hexdigest()[:32]
    out = [
        *lines,
        f'Content-Type: multipart/mixed;\r\n boundary="{boundary}"'.encode("ascii"),
        b"",
        b"This is a multi-part message in MIME format.",
        f"--{boundary}".encode("ascii"),
        *text_part,
    ]
    for filename, ctype, data in attachments:
        name = _safe_filename(filename)
        ctype = re.sub(r"[^A-Za-z0-9!#$&^_.+\-/]", "", ctype.lower()) or "application/octet-stream"
        if "/" not in ctype:
            ctype = "application/octet-stream"
        out += [
            f"--{boundary}".encode("ascii"),
            f"Content-Type: {ctype};\r\n name={_name_param(name)}".encode("ascii"),
            b"Content-Transfer-Encoding: base64",
            f"Content-Disposition: attachment;\r\n {_rfc2231('filename', name)}".encode("ascii"),
            b"",
            _b64_body(data),
        ]
    out.append(f"--{boundary}--".encode("ascii"))
    return CRLF.join(out) + CRLF
