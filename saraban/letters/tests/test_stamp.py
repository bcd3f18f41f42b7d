"""Tests of the receipt stamp put on a received PDF (saraban.letters.stamp)."""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass

import pytest
import typst
from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, RectangleObject

from saraban.core.errors import ValidationFailed
from saraban.letters.stamp import FONT_DIR, stamp_pdf

CM = 72 / 2.54

STAMP = {
    "registry_name": "สำนักงานปลัดกระทรวงมหาดไทย",
    "number": "1234/2569",
    "date_text": "23 พ.ย. 2569",
    "time_text": "14:05 น.",
}

# pypdf's text extraction of Typst's Thai misplaces the marks above and below the line and
# adds control characters (poppler gets it right): compare text without them.
_THAI_MARKS = re.compile("[\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\x00-\x1f]")


def _norm(text: str) -> str:
    return _THAI_MARKS.sub("", text)


def _typst_pdf(*pages: str, paper: str = "a4", centred: bool = False) -> bytes:
    """A PDF with one page of Thai text per argument, made the way real letters are.

    The text starts at the top left, as in a letter, or is ``centred`` on the page.
    """
    inputs = {f"p{i}": text for i, text in enumerate(pages)}
    text = "#place(center + horizon, sys.inputs.p{})" if centred else "#sys.inputs.p{}"
    body = "\n#pagebreak()\n".join(text.format(i) for i in range(len(pages)))
    source = f'#set page(paper: "{paper}")\n#set text(font: "Sarabun", lang: "th")\n{body}\n'
    fonts = typst.Fonts(include_system_fonts=False, font_paths=[FONT_DIR])
    return typst.compile(source.encode(), font_paths=fonts, sys_inputs=inputs)


def _rewrite(pdf: bytes, *, rotate: int = 0, cropbox: tuple[float, ...] | None = None) -> bytes:
    """The same PDF with its first page turned by ``rotate`` and/or cropped."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    if rotate:
        writer.pages[0].rotate(rotate)
    if cropbox:
        writer.pages[0].cropbox = RectangleObject(cropbox)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _raw_pdf(*objects: bytes) -> bytes:
    """A PDF written by hand from numbered objects (1 is the catalog), with a correct xref."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@dataclass(frozen=True)
class Fragment:
    text: str
    x: float  # where the text starts, in displayed coordinates from the crop box's corner
    y: float
    upright: bool  # its baseline runs left to right as displayed


def _fragments(pdf: bytes, index: int = 0) -> tuple[list[Fragment], float, float]:
    """The text pieces of a page as a viewer shows it, and the shown width and height.

    The page's /Rotate is first turned into its content by pypdf, so positions are those a
    reader sees, whatever the page's rotation.
    """
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.pages[index].transfer_rotation_to_content()
    upright_pdf = io.BytesIO()
    writer.write(upright_pdf)
    page = PdfReader(upright_pdf).pages[index]
    box = page.cropbox
    left, bottom = float(box.left), float(box.bottom)
    found: list[Fragment] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        if not text.strip():
            return
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        run_x = tm[0] * cm[0] + tm[1] * cm[2]
        run_y = tm[0] * cm[1] + tm[1] * cm[3]
        upright = run_x > 0 and abs(run_y) < 1e-6 * abs(run_x)
        found.append(Fragment(text, x - left, y - bottom, upright))

    page.extract_text(visitor_text=visit)
    return found, float(box.width), float(box.height)


def _stamp_text(pdf: bytes, index: int = 0) -> str:
    """The text shown within the stamp's place: 1 cm in from the top-right corner, 5 x 2.6 cm.

    Every piece found there must be upright.
    """
    fragments, width, height = _fragments(pdf, index)
    inside = [
        f
        for f in fragments
        if width - 6 * CM - 1 <= f.x <= width - 1 * CM and height - 3.6 * CM <= f.y <= height - CM
    ]
    assert all(f.upright for f in inside), inside
    return "".join(f.text for f in inside)


def _content(page: PageObject) -> bytes:
    contents = page.get_contents()
    assert contents is not None
    return contents.get_data()


def _font_names(page: PageObject) -> list[str]:
    resources = page["/Resources"].get_object()
    assert isinstance(resources, DictionaryObject)
    fonts = resources["/Font"].get_object()
    assert isinstance(fonts, DictionaryObject)
    return sorted(fonts.keys())


def _stamped(pdf: bytes, **changes: str) -> bytes:
    return stamp_pdf(pdf, **(STAMP | changes))


def _assert_stamp_shows(text: str) -> None:
    for expected in (
        "เลขรับ 1234/2569",
        "วันที่ 23 พ.ย. 2569",
        "เวลา 14:05 น.",
        "ดกระทรวงมหาดไทย",
    ):
        assert _norm(expected) in _norm(text), (expected, text)


def test_stamp_keeps_the_original_and_the_pages() -> None:
    original = _typst_pdf("หนังสือราชการ หน้าแรก เรื่อง ขอเชิญประชุม", "หน้าที่สอง ภาคผนวก")
    before = hashlib.sha256(original).hexdigest()
    copy = bytes(original)

    result = _stamped(original)

    assert result != original
    assert original == copy
    assert hashlib.sha256(original).hexdigest() == before
    source, stamped = PdfReader(io.BytesIO(original)), PdfReader(io.BytesIO(result))
    assert len(stamped.pages) == len(source.pages) == 2
    for old, new in zip(source.pages, stamped.pages, strict=True):
        assert list(new.mediabox) == list(old.mediabox)
        assert list(new.cropbox) == list(old.cropbox)
        assert new.rotation == old.rotation
    # The first page keeps its own text, drawn before (under) the stamp.
    first = _content(stamped.pages[0])
    assert _content(source.pages[0]) in first
    # The second page is untouched: the same content stream and the same fonts.
    assert _content(stamped.pages[1]) == _content(source.pages[1])
    assert _font_names(stamped.pages[1]) == _font_names(source.pages[1])


def test_stamp_shows_in_the_top_right_corner_of_the_first_page() -> None:
    original = _typst_pdf("หนังสือราชการ หน้าแรก", "หน้าที่สอง")

    result = _stamped(original)

    _assert_stamp_shows(_stamp_text(result))
    everything = "".join(f.text for f in _fragments(result)[0])
    assert everything.count("1234/2569") == 1
    assert "1234/2569" not in "".join(f.text for f in _fragments(result, 1)[0])
    assert "1234/2569" not in "".join(f.text for f in _fragments(original)[0])


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_stamp_follows_the_page_rotation_and_crop_box(rotate: int) -> None:
    # The page's own text is centred, away from where the stamp goes whatever the rotation.
    original = _rewrite(
        _typst_pdf("หน้าที่หมุน", centred=True), rotate=rotate, cropbox=(30, 40, 500, 800)
    )

    result = _stamped(original)

    _assert_stamp_shows(_stamp_text(result))
    page = PdfReader(io.BytesIO(result)).pages[0]
    assert page.rotation == rotate
    assert list(page.cropbox) == [30, 40, 500, 800]


def test_stamp_on_a_landscape_page() -> None:
    result = _stamped(_typst_pdf("แนวนอน", paper="a3"))
    _assert_stamp_shows(_stamp_text(result))
    landscape = _rewrite(_typst_pdf("แนวนอน"), cropbox=(0, 0, 842, 595))
    _assert_stamp_shows(_stamp_text(_stamped(landscape)))


def test_stamp_shrinks_to_fit_a_small_page() -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=150, height=100)
    small = io.BytesIO()
    writer.write(small)

    fragments, width, height = _fragments(_stamped(small.getvalue()))

    assert fragments
    assert all(0 <= f.x <= width and 0 <= f.y <= height for f in fragments), fragments
    assert "1234/2569" in "".join(f.text for f in fragments)


def test_stamp_takes_user_text_literally() -> None:
    hostile = '#panic("boom") ]*_`$\\ <x> @y #{1+1} /* c'

    result = _stamped(_typst_pdf("หน้าแรก"), registry_name=hostile, number="#[9]")

    text = _stamp_text(result)
    assert '#panic("boom")' in text
    assert "#{1+1}" in text
    assert "#[9]" in text


def test_stamp_leaves_pages_that_share_the_first_pages_objects() -> None:
    # Both pages use one content stream and one resource dictionary, inherited from the page
    # tree along with /Rotate: stamping the first page must not reach the second.
    content = b"BT /F1 24 Tf 300 400 Td (Shared) Tj ET"
    original = _raw_pdf(
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 /MediaBox [0 0 595 842] /Rotate 90"
        b" /Resources 5 0 R >>",
        b"<< /Type /Page /Parent 2 0 R /Contents 6 0 R >>",
        b"<< /Type /Page /Parent 2 0 R /Contents 6 0 R >>",
        b"<< /Font << /F1 7 0 R >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    )

    result = PdfReader(io.BytesIO(_stamped(original)))

    _assert_stamp_shows(_stamp_text(_stamped(original)))
    first, second = result.pages
    assert "Shared" in first.extract_text()
    assert content in _content(first)
    assert _content(second) == content
    assert _font_names(second) == ["/F1"]
    assert second.rotation == 90


def test_stamp_opens_a_pdf_encrypted_without_a_user_password() -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_typst_pdf("ลับ"))))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    locked = io.BytesIO()
    writer.write(locked)

    _assert_stamp_shows(_stamp_text(_stamped(locked.getvalue())))


def test_stamp_refuses_a_pdf_that_needs_a_password() -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_typst_pdf("ลับ"))))
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    locked = io.BytesIO()
    writer.write(locked)

    with pytest.raises(ValidationFailed) as caught:
        _stamped(locked.getvalue())
    assert caught.value.code == "pdf_unreadable"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a pdf at all",
        b"%PDF-1.7\n\x00\x01garbage",
        b"PK\x03\x04 a zip file",
    ],
)
def test_stamp_refuses_what_is_not_a_pdf(data: bytes) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _stamped(data)
    assert caught.value.code == "pdf_unreadable"
    assert caught.value.message


def test_stamp_renders_without_typst_warnings(caplog: pytest.LogCaptureFixture) -> None:
    # A missing Sarabun font would only show as a Typst warning (and boxes for Thai).
    with caplog.at_level(logging.WARNING, logger="saraban.letters.stamp"):
        _stamped(_typst_pdf("หน้าแรก"))
    assert not caplog.records
