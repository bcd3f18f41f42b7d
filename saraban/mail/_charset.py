"""Text in arriving mail: charsets (with the Thai aliases Python lacks), RFC 2047 encoded
words, raw 8-bit header bytes and HTML bodies.

Thai mail comes labelled ``tis-620``, ``windows-874``, ``x-windows-874``, ``iso-8859-11``,
``cp874``, ``ms874``, ``x-tis620``… All of them are read with ``cp874``, the superset (TIS-620
plus the Windows punctuation in 0x80–0x9F). Labels are often wrong: old Thai systems send
TIS-620 text labelled ``iso-8859-1`` or ``us-ascii``, or no charset at all, and some clients
send UTF-8 labelled as Latin-1. :func:`decode_text` checks the bytes against the label and
says when it read them otherwise.
"""

from __future__ import annotations

import binascii
import codecs
import html
import re
import unicodedata
from html.parser import HTMLParser

_THAI = "cp874"
_THAI_LABELS = {
    "tis-620", "tis620", "tis_620", "x-tis-620", "x-tis620", "tis-620-2533", "iso-8859-11",
    "iso8859-11", "iso_8859-11", "iso-ir-166", "windows-874", "x-windows-874", "cp874",
    "ms874", "ms-874", "x-cp874", "ibm874", "thai", "x-thai", "th",
}
_LATIN_LABELS = {
    "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "windows-1252", "cp1252",
    "x-cp1252", "us-ascii", "ascii", "ansi_x3.4-1968", "x-unknown", "unknown-8bit",
    "x-user-defined", "default", "",
}
_UTF8_LABELS = {"utf-8", "utf8", "x-utf-8", "unicode-1-1-utf-8", "utf-8-sig"}
_WS = re.compile(r"\s+")
_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def codec_for(label: str) -> str | None:
    """The Python codec for a MIME charset label, ``None`` when it is unknown or unusable."""
    name = label.strip().strip("\"'").lower()
    if name in _THAI_LABELS:
        return _THAI
    if name in _UTF8_LABELS:
        return "utf-8"
    if not name or len(name) > 40:
        return None
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    # Only text encodings; never the "codecs" that are transforms (base64, zlib, rot13…).
    if not getattr(info, "_is_text_encoding", True):
        return None
    if info.name in {"cp874", "tis-620", "iso8859_11"}:
        return _THAI
    return info.name


def _thai_looking(data: bytes) -> bool:
    """Bytes that read as Thai in TIS-620: most non-space characters are high bytes in the
    Thai range (Western Latin-1 text has a few accented letters between ASCII ones)."""
    high = sum(1 for b in data if b >= 0x80)
    if not high:
        return False
    thai = sum(1 for b in data if 0xA1 <= b <= 0xFB)
    letters = sum(1 for b in data if b > 0x20 and b != 0x7F)
    return thai >= 0.9 * high and high >= 0.4 * max(letters, 1)


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def guess_8bit(data: bytes) -> str:
    """Raw bytes with no usable label: UTF-8 when they are valid UTF-8, else Thai (cp874)."""
    text = _utf8(data)
    if text is not None:
        return text
    return data.decode(_THAI, "replace")


def decode_text(data: bytes, label: str | None) -> tuple[str, str]:
    """``data`` as text, given the declared charset ``label``.

    Returns the text and a defect name ("" when the label was used as is).
    """
    if not any(b >= 0x80 for b in data):
        # 7-bit text: whatever the label says (unless it is a 7-bit encoding like UTF-7 or
        # ISO-2022-JP, which we must decode).
        codec = codec_for(label or "")
        if codec and codec not in {"ascii", "utf-8", _THAI, "latin-1", "cp1252"} and not \
                codec.startswith("iso8859"):
            try:
                return data.decode(codec), ""
            except (UnicodeDecodeError, LookupError, ValueError):
                return data.decode("ascii", "replace"), "charset_mislabelled"
        return data.decode("ascii"), ""
    lab = (label or "").strip().strip("\"'").lower()
    codec = codec_for(lab)
    if codec == "utf-8":
        text = _utf8(data.removeprefix(b"\xef\xbb\xbf"))
        if text is not None:
            return text, ""
        if _thai_looking(data):
            return data.decode(_THAI, "replace"), "charset_mislabelled"
        return data.decode("utf-8", "replace"), "charset_invalid_bytes"
    if codec == _THAI:
        if _utf8(data) is not None and _looks_utf8_thai(data):
            return data.decode("utf-8"), "charset_mislabelled"
        return data.decode(_THAI, "replace"), ""
    if codec is None or lab in _LATIN_LABELS:
        defect = "charset_missing" if lab in {"", "default"} else "charset_mislabelled"
        text = _utf8(data)
        if text is not None:
            return text, defect
        if _thai_looking(data):
            return data.decode(_THAI, "replace"), defect
        if codec is None or codec == "ascii":
            # Unlabelled or unusable label, neither UTF-8 nor clearly Thai: Thai is still
            # the likeliest here (Windows-874 mail with stray symbols).
            return data.decode(_THAI, "replace"), defect if codec else "charset_unknown"
        return data.decode(codec, "replace"), ""
    try:
        return data.decode(codec, "replace"), ""
    except (LookupError, ValueError, UnicodeError):
        return guess_8bit(data), "charset_unknown"


def _looks_utf8_thai(data: bytes) -> bool:
    """UTF-8 Thai (E0 B8 xx / E0 B9 xx) labelled as TIS-620: valid UTF-8 with Thai
    sequences. Real TIS-620 text is almost never valid UTF-8."""
    return b"\xe0\xb8" in data or b"\xe0\xb9" in data


# --- headers -----------------------------------------------------------------------------

_EW = re.compile(
    rb"=\?([^?\s\"]{1,60})\?([bBqQ])\?([^?\s]*)\?=",
)
_FOLD = re.compile(rb"\r\n|\r|\n")


def _ew_bytes(enc: bytes, payload: bytes) -> bytes:
    if enc in (b"b", b"B"):
        clean = re.sub(rb"[^A-Za-z0-9+/]", b"", payload)
        clean += b"=" * (-len(clean) % 4)
        try:
            return binascii.a2b_base64(clean)
        except (binascii.Error, ValueError):
            if len(clean) % 4 == 1:
                clean = clean[:-1]
            try:
                return binascii.a2b_base64(clean[: len(clean) // 4 * 4])
            except (binascii.Error, ValueError):
                return b""
    payload = payload.replace(b"_", b" ")
    return re.sub(
        rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), payload
    )


def decode_header(raw: bytes | str) -> str:
    """A header value as text: unfolded, RFC 2047 encoded words decoded (adjacent words of
    one charset joined before decoding, so a Thai character split across two words
    survives), raw 8-bit runs read as UTF-8 or else Thai, NFC, control characters dropped.
    Whitespace is kept as is (except line folds); callers collapse it where they want."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    raw = _FOLD.sub(b"", raw)
    out: list[str] = []
    pos = 0
    pending: list[tuple[str, bytes]] = []  # (codec, bytes) of adjacent encoded words

    def flush() -> None:
        if not pending:
            return
        groups: list[tuple[str, bytearray]] = []
        for codec, data in pending:
            if groups and groups[-1][0] == codec:
                groups[-1][1].extend(data)
            else:
                groups.append((codec, bytearray(data)))
        for codec, chunk in groups:
            if codec == "?":
                out.append(guess_8bit(bytes(chunk)))
            else:
                text, _ = decode_text(bytes(chunk), codec)
                out.append(text)
        pending.clear()

    for m in _EW.finditer(raw):
        between = raw[pos : m.start()]
        if pending and not between.strip(b" \t"):
            pass  # whitespace between adjacent encoded words is dropped (RFC 2047 §6.2)
        else:
            flush()
            out.append(_plain(between))
        label = m.group(1).split(b"*", 1)[0].decode("ascii", "replace")  # RFC 2231 §5 lang
        codec = codec_for(label) or "?"
        pending.append((codec, _ew_bytes(m.group(2), m.group(3))))
        pos = m.end()
    flush()
    out.append(_plain(raw[pos:]))
    text = "".join(out)
    return unicodedata.normalize("NFC", _CTRL.sub("", text.replace("\x00", "")))


def _plain(data: bytes) -> str:
    if not data:
        return ""
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        return guess_8bit(data)


def collapse(text: str) -> str:
    """Whitespace runs made one space, ends stripped."""
    return _WS.sub(" ", text).strip()


# --- HTML --------------------------------------------------------------------------------

_BLOCK = {
    "p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
    "blockquote", "pre", "hr", "section", "article", "header", "footer", "dd", "dt", "dl",
    "center", "address",
}
_SKIP = {"script", "style", "head", "title", "template", "noscript", "xml", "o:p"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n")
        elif tag in {"td", "th"}:
            self.parts.append("\t")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """The readable text of an HTML body: scripts, styles and the head dropped, blocks on
    their own lines, entities decoded, blank lines dropped."""
    parser = _Text()
    try:
        parser.feed(markup)
        parser.close()
    except (AssertionError, ValueError, RecursionError):  # pragma: no cover - defensive
        return html.unescape(re.sub(r"<[^>]*>", " ", markup))
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)
