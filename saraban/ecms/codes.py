"""e-CMS code lists (ecms.md §4): secrecy and speed codes, MIME types, department ids, dates.

The canonical lists come from the node (``GetSecretCodes``, ``GetSpeedCodes``,
``GetMimeCodes``); these are the values both public clients use, and what Saraban's own
node answers.
"""

from __future__ import annotations

import datetime as dt
import re

from ._errors import EcmsRefused
from ._model import Code

#: Wire code ↔ Saraban ``Secrecy`` (0 ปกติ … 3 ลับที่สุด).
SECRET: dict[str, int] = {"001": 0, "002": 1, "003": 2, "004": 3}
SECRET_LABELS: dict[str, str] = {
    "001": "ปกติ",
    "002": "ลับ",
    "003": "ลับมาก",
    "004": "ลับที่สุด",
}
#: Wire code ↔ Saraban ``Urgency`` (0 ปกติ … 3 ด่วนที่สุด).
SPEED: dict[str, int] = {"001": 0, "002": 1, "003": 2, "004": 3}
SPEED_LABELS: dict[str, str] = {
    "001": "ปกติ",
    "002": "ด่วน",
    "003": "ด่วนมาก",
    "004": "ด่วนที่สุด",
}

SECRET_CODES: tuple[Code, ...] = tuple(Code(k, v) for k, v in SECRET_LABELS.items())
SPEED_CODES: tuple[Code, ...] = tuple(Code(k, v) for k, v in SPEED_LABELS.items())

_SECRET_BY_LEVEL = {v: k for k, v in SECRET.items()}
_SPEED_BY_LEVEL = {v: k for k, v in SPEED.items()}

_MISSING = object()


def _lookup(table: dict[str, int], what: str, code: str, default: object) -> int:
    value = table.get(code.strip())
    if value is not None:
        return value
    if default is _MISSING:
        raise EcmsRefused("bad_value", f"unknown {what} code {code!r}")
    assert isinstance(default, int)
    return default


def secrecy_of(code: str, default: object = _MISSING) -> int:
    """Saraban secrecy level (0..3) of a ``SecretCode``; unknown → ``bad_value`` unless a
    ``default`` is given."""
    return _lookup(SECRET, "SecretCode", code, default)


def urgency_of(code: str, default: object = _MISSING) -> int:
    """Saraban urgency level (0..3) of a ``SpeedCode``; unknown → ``bad_value`` unless a
    ``default`` is given."""
    return _lookup(SPEED, "SpeedCode", code, default)


def secret_code(level: int) -> str:
    """The wire ``SecretCode`` of a Saraban secrecy level (0..3)."""
    try:
        return _SECRET_BY_LEVEL[int(level)]
    except KeyError:
        raise EcmsRefused("bad_value", f"no SecretCode for secrecy {level!r}") from None


def speed_code(level: int) -> str:
    """The wire ``SpeedCode`` of a Saraban urgency level (0..3)."""
    try:
        return _SPEED_BY_LEVEL[int(level)]
    except KeyError:
        raise EcmsRefused("bad_value", f"no SpeedCode for urgency {level!r}") from None


#: File extension (no dot) ↔ MIME type, mil-doc's table (ecms.md §4).
MIME_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "rtf": "application/rtf",
    "zip": "application/zip",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "bmp": "image/bmp",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "txt": "text/plain",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
#: MIME type → the extension used for a file name (first one listed wins: jpg, tif).
EXTENSIONS: dict[str, str] = {}
for _ext, _mime in MIME_TYPES.items():
    EXTENSIONS.setdefault(_mime, _ext)
#: The ``GetMimeCodes`` answer of Saraban's node (value = extension, description = type).
MIME_CODES: tuple[Code, ...] = tuple(
    Code(ext, mime) for ext, mime in MIME_TYPES.items() if ext not in {"jpeg", "tiff"}
)

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"{\\rtf", "application/rtf"),
)


def mime_for(filename: str, data: bytes = b"") -> str:
    """The ``mimeCode`` for a file: by its extension, else by its first bytes, else
    ``application/octet-stream``."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext in MIME_TYPES:
        return MIME_TYPES[ext]
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    return "application/octet-stream"


mime_for_filename = mime_for


def filename_for(mime: str, index: int = 0, main: bool = False) -> str:
    """A file name for a received object, as mil-doc names them: ``เอกสารหลัก.pdf`` for the
    main letter, ``เอกสารแนบ1.png`` … for attachments (``index`` counts from 1)."""
    ext = EXTENSIONS.get(mime.strip().lower(), "bin")
    if main:
        return f"เอกสารหลัก.{ext}"
    return f"เอกสารแนบ{index}.{ext}"


_DEPARTMENT = re.compile(r"[0-9]{10}")


def ministry_of(department_id: str) -> str:
    """The 2-digit ministry id of a 10-digit department id (its first two digits)."""
    dept = department_id.strip()
    if not _DEPARTMENT.fullmatch(dept):
        raise EcmsRefused("bad_value", f"department id {department_id!r} is not 10 digits")
    return dept[:2]


def ce_date(date: dt.date) -> str:
    """A date as the wire writes it: ``yyyy-MM-dd``, Gregorian (CE) year."""
    return f"{date.year:04d}-{date.month:02d}-{date.day:02d}"


def parse_ce_date(text: str) -> dt.date:
    """The date of a wire ``yyyy-MM-dd`` (CE); anything else → ``bad_value``."""
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise EcmsRefused("bad_value", f"{text!r} is not a yyyy-MM-dd date") from None
