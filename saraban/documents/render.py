"""Render the official forms of the correspondence regulation to PDF with Typst.

Each form (หนังสือภายนอก, บันทึกข้อความ, หนังสือประทับตรา, คำสั่ง, ประกาศ, หนังสือรับรอง)
is a Typst source in ``templates/``; they share the page layout of the regulation in
``templates/common.typ``: A4, margins left 3 cm / right 2 cm, Sarabun 16 pt, Thai
justification, the emblem 3 cm high centred at the top (1.5 cm at top-left on the memo).

The letter's text reaches Typst only through ``sys.inputs`` (one JSON document), never through
the source, so nothing a caller writes can be read as Typst markup or code. Dates are written
in the Buddhist Era with Thai month names here, in Python, with Thai or Arabic digits.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import math
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import typst

from saraban.core.errors import ValidationFailed
from saraban.core.thai import Digits, thai_date, with_digits
from saraban.letters.stamp import FONT_DIR

__all__ = [
    "FORMS",
    "FormData",
    "FormName",
    "SignatureBox",
    "placeholder_emblem",
    "render_form",
    "signature_box",
]

logger = logging.getLogger(__name__)

FormName = Literal[
    "external", "memo", "stamped", "order", "announcement", "certificate", "licence"
]

#: The forms and their Thai names.
FORMS: Final[dict[str, str]] = {
    "external": "หนังสือภายนอก",
    "memo": "บันทึกข้อความ",
    "stamped": "หนังสือประทับตรา",
    "order": "คำสั่ง",
    "announcement": "ประกาศ",
    "certificate": "หนังสือรับรอง",
    "licence": "ใบอนุญาต",
}

TEMPLATE_DIR: Final = Path(__file__).parent / "templates"

_UNKNOWN_FORM: Final = "ไม่รู้จักแบบหนังสือนี้"


@dataclass(frozen=True, kw_only=True)
class FormData:
    """The fields of an official letter (the rules reference, "The six kinds").

    Every field is optional: a form prints only the fields it has, and leaves the rest out.
    ``thai_digits`` writes the number and the date with Thai digits (๑๒๓) instead of Arabic.
    ``urgency`` other than "ปกติ" is printed in red at the top. ``emblem`` is the agency's
    Garuda or emblem image (PNG or SVG bytes); without it a plain drawn placeholder is used.
    ``qr`` (PNG or SVG bytes) and ``footer_note`` are printed at the foot of the last page of
    the issued evidence forms (หนังสือรับรอง, ใบอนุญาต): the code and the address of the public
    page that verifies the document.
    """

    number: str = ""
    date: dt.date | None = None
    thai_digits: bool = True
    agency_name: str = ""
    agency_address: str = ""
    subject: str = ""
    salutation: str = ""
    addressee: str = ""
    references: Sequence[str] = ()
    enclosures: Sequence[str] = ()
    body: Sequence[str] = ()
    closing: str = ""
    signer_name: str = ""
    signer_position: str = ""
    owning_unit: str = ""
    phone: str = ""
    email: str = ""
    copies_to: Sequence[str] = ()
    urgency: str = "ปกติ"
    emblem: bytes | None = None
    qr: bytes | None = None
    footer_note: str = ""


def render_form(form: str, data: FormData, *, archival: bool = False) -> bytes:
    """Typeset ``data`` in the official ``form`` and return the PDF bytes.

    ``archival`` makes a PDF/A-2b file (fonts embedded, colours defined, no external content),
    the copy that is signed and kept.
    """
    pages = _compile(form, data, fmt="pdf", archival=archival)
    return pages[0]


A4_HEIGHT: Final = 841.89
_CM: Final = 72 / 2.54
_TEXT_LEFT, _TEXT_RIGHT = 3 * _CM, 595.28 - 2 * _CM


@dataclass(frozen=True, slots=True)
class SignatureBox:
    """Where the form puts the signature: a page (0-based) and a box in PDF points.

    The box's corners are (x1, y1, x2, y2) with the origin at the bottom-left of the page, as
    PDF annotations want them.
    """

    page: int
    box: tuple[float, float, float, float]


def signature_box(form: str, data: FormData) -> SignatureBox:
    """The place of the signature on ``form`` filled with ``data``.

    The templates label the top of the signature space (``<signature-space>``); the box is
    the right half of the text area from there, where the regulation centres the signature
    above the signer's name. On the หนังสือประทับตรา it is the seal's circle.
    """
    found = typst.query(
        str(_template(form)),
        "<signature-space>",
        field="value",
        root=str(TEMPLATE_DIR),
        font_paths=[str(FONT_DIR)],
        ignore_system_fonts=True,
        sys_inputs={"data": json.dumps(_inputs(data), ensure_ascii=False)},
    )
    places = json.loads(found)
    if not places:
        raise ValidationFailed("แบบหนังสือนี้ไม่มีที่สำหรับลงนาม", code="form_unsigned")
    place = places[-1]
    top = A4_HEIGHT - float(str(place["y"]).removesuffix("pt"))
    middle = (_TEXT_LEFT + _TEXT_RIGHT) / 2
    if form == "stamped":
        size = 3.2 * _CM
        centre = (middle + _TEXT_RIGHT) / 2
        box = (centre - size / 2, top - size, centre + size / 2, top)
    else:
        height = 3.4 * 16  # signature-space-height in common.typ: 3.4em at 16 pt
        box = (middle + 6, top - height, _TEXT_RIGHT - 6, top)
    return SignatureBox(page=int(place["page"]) - 1, box=box)


def render_form_png(form: str, data: FormData, *, ppi: float = 96) -> list[bytes]:
    """Typeset ``data`` in ``form`` as one PNG image per page, for people to look at."""
    return _compile(form, data, fmt="png", ppi=ppi)


def _compile(
    form: str,
    data: FormData,
    *,
    fmt: Literal["pdf", "png"],
    ppi: float | None = None,
    archival: bool = False,
) -> list[bytes]:
    """Run Typst on the form's template; the PDF as one item, or one PNG per page."""
    result, warnings = typst.compile_with_warnings(
        str(_template(form)),
        root=str(TEMPLATE_DIR),
        font_paths=_fonts(),
        sys_inputs={"data": json.dumps(_inputs(data), ensure_ascii=False)},
        format=fmt,
        ppi=ppi,
        pdf_tags=False,
        pdf_standards="a-2b" if archival else None,
    )
    # A missing Sarabun shows up only as a warning: make it visible.
    for warning in warnings:
        logger.warning("Typst warned while rendering the %s form: %s", form, warning.message)
    return [result] if isinstance(result, bytes) else list(result)


def _template(form: str) -> Path:
    if form not in FORMS:
        raise ValidationFailed(_UNKNOWN_FORM, code="form_unknown")
    return TEMPLATE_DIR / f"{form}.typ"


def _inputs(data: FormData) -> dict[str, object]:
    """The JSON document the templates read: text ready to print, the emblem as byte values."""
    digits: Digits = "thai" if data.thai_digits else "arabic"
    emblem = data.emblem if data.emblem is not None else placeholder_emblem()
    return {
        "number": with_digits(data.number, digits),
        "date": thai_date(data.date, digits=digits) if data.date else "",
        "agency_name": data.agency_name,
        "agency_address": data.agency_address,
        "subject": data.subject,
        "salutation": data.salutation,
        "addressee": data.addressee,
        "references": list(data.references),
        "enclosures": list(data.enclosures),
        "body": list(data.body),
        "closing": data.closing,
        "signer_name": data.signer_name,
        "signer_position": data.signer_position,
        "owning_unit": data.owning_unit,
        "phone": data.phone,
        "email": data.email,
        "copies_to": list(data.copies_to),
        "urgency": "" if data.urgency.strip() in ("", "ปกติ") else data.urgency.strip(),
        # sys.inputs carries strings only; Typst's bytes() takes an array of byte values.
        "emblem": list(emblem),
        "qr": list(data.qr) if data.qr else [],
        "footer_note": data.footer_note,
    }


@functools.cache
def _fonts() -> typst.Fonts:
    """Sarabun and Typst's own fonts, found once per process; the system's are left out."""
    return typst.Fonts(include_system_fonts=False, font_paths=[FONT_DIR])


@functools.cache
def placeholder_emblem(size: int = 240) -> bytes:
    """A plain PNG emblem (two concentric rings and a dot) for agencies without their own.

    Drawn here, not copied from any real Garuda artwork, so it is clearly a stand-in.
    """
    centre = (size - 1) / 2
    rings = ((0.47, 0.035), (0.36, 0.02))  # (radius, half thickness) as fractions of size
    rows = []
    for y in range(size):
        row = bytearray([0])  # filter type: none
        for x in range(size):
            r = math.hypot(x - centre, y - centre) / size
            on = r < 0.08 or any(abs(r - radius) < half for radius, half in rings)
            row += bytes((0x7A, 0x1F, 0x1F, 255 if on else 0))
        rows.append(bytes(row))

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )
