"""Synthetic scans of Thai official letters, for the tests and the accuracy report.

``make_scan`` typesets a letter in an official form (``saraban.documents.render``), turns the
page by a few degrees, rasterises it in grey at 300 dpi (poppler's pdftoppm) and adds what a
scanner adds: a greyish paper tone, dark specks and salt-and-pepper noise. The result is a
PNG, as a clerk's scanner would give it. ``sample_letters`` makes a varied set of letters
(forms, numbers, Thai or Arabic digits, dates, subjects, senders, urgencies) with the values
printed on each, so what OCR proposes can be scored field by field.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import struct
import subprocess
import tempfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from saraban.documents.render import FormData, render_form
from saraban.documents.samples import sample_form_data

from .digits import Gray

__all__ = ["SENDERS", "SampleLetter", "make_scan", "sample_letters"]

#: Agencies that send the sample letters: Thai name, letter code and office code, address.
SENDERS: Final = (
    ("กรมการปกครอง", "มท", "0307", "ถนนอัษฎางค์ แขวงวังบูรพาภิรมย์ เขตพระนคร กรุงเทพฯ 10200"),
    ("กรมส่งเสริมการปกครองท้องถิ่น", "มท", "0810.4", "ถนนนครราชสีมา เขตดุสิต กรุงเทพฯ 10300"),
    ("สำนักงานปลัดกระทรวงศึกษาธิการ", "ศธ", "0210", "ถนนราชดำเนินนอก เขตดุสิต กรุงเทพฯ 10300"),
    ("กรมควบคุมโรค", "สธ", "0410.2", "ถนนติวานนท์ อำเภอเมือง จังหวัดนนทบุรี 11000"),
    ("กรมส่งเสริมการเกษตร", "กษ", "1001", "ถนนพหลโยธิน เขตจตุจักร กรุงเทพฯ 10900"),
    ("ศาลากลางจังหวัดเชียงใหม่", "ชม", "0017.3", "ถนนโชตนา อำเภอเมือง จังหวัดเชียงใหม่ 50300"),
    ("สำนักงานสถิติแห่งชาติ", "ดศ", "0604", "ถนนแจ้งวัฒนะ เขตหลักสี่ กรุงเทพฯ 10210"),
    ("กรมบัญชีกลาง", "กค", "0402.5", "ถนนพระรามที่ 6 เขตพญาไท กรุงเทพฯ 10400"),
)
_SUBJECTS: Final = (
    "ขอเชิญประชุมคณะกรรมการพัฒนาระบบสารบรรณอิเล็กทรอนิกส์",
    "การจัดทำแผนปฏิบัติราชการประจำปีงบประมาณ",
    "ขอความร่วมมือตอบแบบสำรวจความพึงพอใจของประชาชน",
    "การเบิกจ่ายเงินงบประมาณรายจ่ายประจำปี",
    "ขอเชิญเข้าร่วมโครงการอบรมเชิงปฏิบัติการด้านดิจิทัล",
    "การเฝ้าระวังและป้องกันโรคไข้เลือดออก",
    "ขอส่งรายงานผลการดำเนินงานประจำไตรมาส",
    "การตรวจติดตามการใช้จ่ายงบประมาณของหน่วยงาน",
    "ขออนุญาตใช้สถานที่จัดกิจกรรมวันเด็กแห่งชาติ",
    "การรับสมัครบุคคลเพื่อเลือกสรรเป็นพนักงานราชการ",
    "ขอรับการสนับสนุนวิทยากรบรรยายเรื่องการป้องกันการทุจริต",
    "การจัดงานวันท้องถิ่นไทย",
)
_SALUTATIONS: Final = (
    "ปลัดกระทรวงมหาดไทย",
    "ผู้ว่าราชการจังหวัดเชียงใหม่",
    "อธิบดีกรมการปกครอง",
    "นายกเทศมนตรีนครเชียงใหม่",
    "ผู้อำนวยการศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร",
    "นายกองค์การบริหารส่วนจังหวัดเชียงใหม่",
)
_URGENCIES: Final = (("ปกติ", 0), ("ด่วน", 1), ("ด่วนมาก", 2), ("ด่วนที่สุด", 3))
_FORMS: Final = ("external", "external", "memo", "stamped")


@dataclass(frozen=True, slots=True)
class SampleLetter:
    """A letter to scan, and what is printed on it (the answers OCR should give)."""

    form: str
    data: FormData
    number: str
    date: dt.date
    subject: str  # "" on a หนังสือประทับตรา (it has none)
    salutation: str  # เรียน …, or ถึง … on a หนังสือประทับตรา
    sender: str
    urgency: int
    thai_digits: bool
    angle: float
    noise: float


def sample_letters(count: int, *, seed: int = 2569, today: dt.date) -> list[SampleLetter]:
    """``count`` varied letters dated within a year before ``today`` (deterministic)."""
    rng = random.Random(seed)  # noqa: S311  (test data, not secrets)
    letters = []
    for i in range(count):
        form = _FORMS[i % len(_FORMS)]
        sender, code, office, address = SENDERS[rng.randrange(len(SENDERS))]
        circular = rng.random() < 0.25
        number = f"{code} {office}/{'ว ' if circular else ''}{rng.randint(1, 9999)}"
        date = today - dt.timedelta(days=rng.randint(0, 365))
        subject = _SUBJECTS[rng.randrange(len(_SUBJECTS))]
        salutation = _SALUTATIONS[rng.randrange(len(_SALUTATIONS))]
        urgency_text, urgency = _URGENCIES[rng.randrange(len(_URGENCIES))]
        thai = i % 2 == 1
        base = sample_form_data(form)
        data = replace(
            base, number=number, date=date, thai_digits=thai, agency_name=sender,
            agency_address=address if form != "memo" else "", urgency=urgency_text,
            subject="" if form == "stamped" else subject,
            salutation="" if form == "stamped" else salutation,
            addressee=salutation if form == "stamped" else "",
        )
        letters.append(SampleLetter(
            form=form, data=data, number=number, date=date,
            subject=data.subject, salutation=salutation, sender=sender, urgency=urgency,
            thai_digits=thai, angle=round(rng.uniform(-3.0, 3.0), 2),
            noise=round(rng.uniform(0.002, 0.01), 4),
        ))
    return letters


def make_scan(
    form: str, data: FormData, *, angle: float = 1.5, noise: float = 0.005, seed: int = 1,
    dpi: int = 300,
) -> bytes:
    """The first page of ``data`` in ``form`` as a noisy, slightly turned grey PNG scan."""
    from pypdf import PageObject, PdfReader, PdfWriter, Transformation

    page = PdfReader(io.BytesIO(render_form(form, data))).pages[0]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    turned = PageObject.create_blank_page(width=width, height=height)
    turned.merge_transformed_page(
        page,
        Transformation().translate(-width / 2, -height / 2).rotate(angle)
        .translate(width / 2, height / 2),
    )
    writer = PdfWriter()
    writer.add_page(turned)
    with tempfile.TemporaryDirectory(prefix="saraban-scan-") as tmp:
        pdf = Path(tmp) / "page.pdf"
        with pdf.open("wb") as fh:
            writer.write(fh)
        subprocess.run(  # noqa: S603
            ["pdftoppm", "-r", str(dpi), "-gray", "-singlefile", str(pdf),  # noqa: S607
             str(Path(tmp) / "page")],
            check=True, capture_output=True, timeout=120,
        )
        w, h, pixels = _read_pgm((Path(tmp) / "page.pgm").read_bytes())
    pixels = _scanner_noise(pixels, w, h, noise=noise, rng=random.Random(seed))  # noqa: S311
    return _png_gray(pixels, w, h, dpi=dpi)


def _read_pgm(data: bytes) -> tuple[int, int, bytearray]:
    """A binary (P5) 8-bit PGM: width, height and the pixels."""
    gray = Gray.from_pgm(data)
    return gray.width, gray.height, bytearray(gray.pixels)


def _scanner_noise(
    pixels: bytearray, width: int, height: int, *, noise: float, rng: random.Random
) -> bytearray:
    # Paper tone and a little less contrast: white becomes light grey, black dark grey.
    tone = bytes(min(255, int(24 + v * 0.86)) for v in range(256))
    pixels = bytearray(pixels.translate(tone))
    size = width * height
    for _ in range(int(size * noise)):
        pixels[rng.randrange(size)] = 0 if rng.random() < 0.5 else 255
    for _ in range(int(300 * noise / 0.005)):  # dust: small dark specks
        x, y = rng.randrange(width - 4), rng.randrange(height - 4)
        r = rng.randint(1, 3)
        for dy in range(r):
            row = (y + dy) * width + x
            pixels[row:row + r] = bytes(r)
    return pixels


def _png_gray(pixels: bytearray, width: int, height: int, *, dpi: int) -> bytes:
    """An 8-bit greyscale PNG that says its resolution (pHYs)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + bytes(pixels[y * width:(y + 1) * width]) for y in range(height))
    per_metre = round(dpi / 0.0254)
    return b"".join((
        b"\x89PNG\r\n\x1a\n",
        chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)),
        chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
        chunk(b"IDAT", zlib.compress(rows, 6)),
        chunk(b"IEND", b""),
    ))
