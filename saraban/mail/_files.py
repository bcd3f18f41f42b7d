"""Attachment file names, content types and the dangerous-file check."""

from __future__ import annotations

import re
import unicodedata

#: Extensions Windows (or a Mac, or Java) runs or mounts when a clerk opens the file.
DANGEROUS_EXTENSIONS = frozenset(
    {
        "exe", "scr", "com", "pif", "bat", "cmd", "js", "jse", "vbs", "vbe", "wsf", "wsh",
        "ws", "wsc", "hta", "msi", "msp", "mst", "ps1", "ps1xml", "ps2", "psc1", "psm1",
        "jar", "lnk", "iso", "img", "vhd", "vhdx", "cpl", "dll", "reg", "scf", "inf", "msc",
        "application", "gadget", "appref-ms", "chm", "hlp", "url", "sct", "shb", "shs",
        "xbap", "appx", "appxbundle", "msix", "msixbundle", "apk", "app", "sh", "command",
        "xll", "settingcontent-ms", "library-ms", "diagcab", "one", "xnk", "ade", "adp",
    }
)
_DANGEROUS_TYPES = frozenset(
    {
        "application/x-msdownload", "application/x-msdos-program", "application/x-ms-installer",
        "application/x-msi", "application/x-dosexec", "application/x-executable",
        "application/x-ms-shortcut", "application/hta", "application/x-elf",
        "application/vnd.microsoft.portable-executable",
    }
)

_EXT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "webp": "image/webp",
    "heic": "image/heic",
    "txt": "text/plain",
    "csv": "text/csv",
    "html": "text/html",
    "htm": "text/html",
    "xml": "application/xml",
    "ics": "text/calendar",
    "eml": "message/rfc822",
    "zip": "application/zip",
    "rar": "application/vnd.rar",
    "7z": "application/x-7z-compressed",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "rtf": "application/rtf",
    "p7s": "application/pkcs7-signature",
    "p7m": "application/pkcs7-mime",
    "mp3": "audio/mpeg",
    "mp4": "video/mp4",
    "wav": "audio/wav",
}
_TYPE_EXTS = {v: k for k, v in reversed(_EXT_TYPES.items())}
_TYPE_EXTS.update(
    {
        "image/jpeg": "jpg",
        "text/plain": "txt",
        "text/html": "html",
        "text/rfc822-headers": "txt",
        "message/delivery-status": "txt",
        "message/disposition-notification": "txt",
        "application/pkcs7-mime": "p7m",
        "application/x-pkcs7-mime": "p7m",
        "application/x-pkcs7-signature": "p7s",
        "application/octet-stream": "bin",
        "application/ms-tnef": "dat",
        "application/vnd.ms-tnef": "dat",
        "message/global": "eml",
    }
)
_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f/\\:*?\"<>|]")
_WS = re.compile(r"\s+")
MAX_NAME = 200


def extension(filename: str) -> str:
    """The last extension, lowercased, ignoring the trailing dots and spaces Windows ignores."""
    name = filename.rstrip(". \t").lower()
    return name.rpartition(".")[2] if "." in name else ""


def ext_for(content_type: str) -> str:
    """A file extension for a content type ("bin" when unknown)."""
    if content_type in _TYPE_EXTS:
        return _TYPE_EXTS[content_type]
    if content_type.startswith("text/"):
        return "txt"
    return "bin"


def safe_filename(name: str, index: int, content_type: str) -> str:
    """A file name safe to show and store: NFC, no path separators or control characters,
    at most 200 characters (the extension kept), never empty."""
    name = unicodedata.normalize("NFC", name)
    # A path sent as the name (C:\\Users\\…\\a.pdf, /tmp/a.pdf, ../a.pdf): its last segment.
    # Any other slash is part of the name (Thai letter numbers: "ที่ มท 0808.2/ว 123.pdf").
    if re.match(r"^(?:[A-Za-z]:[\\/]|[\\/]|\.\.?[\\/]|~/)", name):
        name = re.split(r"[/\\]", name)[-1]
    name = _WS.sub(" ", _BAD.sub("_", name)).strip().lstrip(".").strip()
    # Unicode direction overrides hide a real extension ("gpj.exe" shown as "exe.jpg").
    name = re.sub(r"[\u200e\u200f\u202a-\u202e\u2066-\u2069]", "", name)
    if not name.strip("._ "):
        return f"attachment-{index}.{ext_for(content_type)}"
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = stem[: MAX_NAME - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:MAX_NAME].rstrip()
    return name


def sniff(data: bytes, filename: str) -> str:
    """A content type from the bytes (and the name's extension for containers), for parts
    declared ``application/octet-stream``; "application/octet-stream" when unsure."""
    head = data[:16]
    ext = extension(filename)
    if head.startswith(b"%PDF-") or (b"%PDF-" in data[:1024] and ext == "pdf"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head.startswith(b"PK\x03\x04"):
        if ext in {"docx", "xlsx", "pptx", "odt", "ods", "odp"}:
            return _EXT_TYPES[ext]
        return "application/zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _EXT_TYPES.get(ext, "application/x-ole-storage") if ext in {
            "doc", "xls", "ppt"} else "application/x-ole-storage"
    if head.startswith(b"{\\rtf"):
        return "application/rtf"
    if head.startswith(b"\x78\x9f\x3e\x22"):
        return "application/ms-tnef"
    if ext in _EXT_TYPES and ext not in {"pdf", "png", "jpg", "jpeg", "gif"}:
        return _EXT_TYPES[ext]
    return "application/octet-stream"


def is_executable(data: bytes) -> bool:
    """A Windows (MZ) or ELF executable, or a Mach-O binary."""
    if data[:2] == b"MZ" and len(data) >= 64:
        return True
    return data[:4] in {
        b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
    }


def dangerous(filename: str, content_type: str, data: bytes) -> str:
    """Why this file must not reach a clerk ("" when it may)."""
    ext = extension(filename)
    if ext in DANGEROUS_EXTENSIONS:
        return f".{ext}"
    if content_type in _DANGEROUS_TYPES:
        return content_type
    if is_executable(data):
        return "executable"
    return ""
