"""The official forms render, and their geometry on the PDF matches the regulation's measures.

Everything is measured on the rendered PDF with pypdf: text positions and sizes from the text
operators, text widths from the embedded fonts' glyph widths, the emblem from the matrix in
force when its image is drawn.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from pypdf import PageObject, PdfReader

from saraban.core.errors import ValidationFailed
from saraban.documents.render import (
    FORMS,
    FormData,
    placeholder_emblem,
    render_form,
    signature_box,
)
from saraban.documents.samples import sample_form_data

CM = 72 / 2.54
A4 = (595.28, 841.89)
LEFT, RIGHT = 3 * CM, 2 * CM
TOL = 2.0


@dataclass
class Run:
    x0: float
    x1: float
    y: float
    size: float


@dataclass
class Layout:
    page: PageObject
    runs: list[Run] = field(default_factory=list)
    images: list[tuple[float, float, float, float]] = field(default_factory=list)  # x,y,w,h
    fonts: list[str] = field(default_factory=list)


def _mul(m: Sequence[float], n: Sequence[float]) -> list[float]:
    """m then n, in PDF's row-vector convention."""
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return [
        a * p + b * r,
        a * q + b * s,
        c * p + d * r,
        c * q + d * s,
        e * p + f * r + t,
        e * q + f * s + u,
    ]


def _widths(font: Any) -> dict[int, float]:
    """CID → glyph width (1/1000 em) from a Type0 font's /W array."""
    descendant = font["/DescendantFonts"][0].get_object()
    w = [item.get_object() for item in descendant.get("/W", [])]
    widths: dict[int, float] = {}
    i = 0
    while i < len(w):
        first = int(w[i])
        if isinstance(w[i + 1], list):
            for k, value in enumerate(w[i + 1]):
                widths[first + k] = float(value)
            i += 2
        else:
            for cid in range(first, int(w[i + 1]) + 1):
                widths[cid] = float(w[i + 2])
            i += 3
    return widths


def _spaces(font: Any) -> set[int]:
    """CIDs the font's /ToUnicode maps to whitespace (Typst may end a line with a space)."""
    cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
    return {
        int(cid, 16)
        for cid, uni in re.findall(r"<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]+)>", cmap)
        if bytes.fromhex(uni).decode("utf-16-be", "replace").isspace()
    }


def _layout(pdf: bytes) -> Layout:
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    resources: Any = page["/Resources"]
    fonts = resources["/Font"]
    widths = {name: _widths(font.get_object()) for name, font in fonts.items()}
    spaces = {name: _spaces(font.get_object()) for name, font in fonts.items()}
    layout = Layout(page, fonts=[str(f.get_object()["/BaseFont"]) for f in fonts.values()])
    state: dict[str, Any] = {"font": None, "size": 0.0}

    def before(op: bytes, args: list[Any], cm: list[float], tm: list[float]) -> None:
        if op == b"Tf":
            state["font"], state["size"] = str(args[0]), float(args[1])
        elif op in (b"TJ", b"Tj"):
            items = args[0] if op == b"TJ" else [args[0]]
            table = widths[state["font"]]
            blank = spaces[state["font"]]
            advance = ink_end = 0.0  # in text space units; ink_end leaves out trailing spaces
            for item in items:
                if isinstance(item, (bytes, str)):
                    raw = item if isinstance(item, bytes) else item.encode("latin-1")
                    for k in range(0, len(raw) - 1, 2):
                        cid = int.from_bytes(raw[k : k + 2], "big")
                        advance += table.get(cid, 0.0)
                        if cid not in blank:
                            ink_end = advance
                else:
                    advance -= float(item)
            if ink_end == 0.0:
                return  # only spaces
            m = _mul(tm, cm)
            scale = (m[0] ** 2 + m[1] ** 2) ** 0.5
            x0 = m[4]
            x1 = x0 + ink_end / 1000 * state["size"] * m[0]
            layout.runs.append(Run(x0, x1, m[5], state["size"] * scale))
        elif op == b"Do":
            xs = [cm[4], cm[4] + cm[0], cm[4] + cm[2], cm[4] + cm[0] + cm[2]]
            ys = [cm[5], cm[5] + cm[1], cm[5] + cm[3], cm[5] + cm[1] + cm[3]]
            layout.images.append((min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)))

    page.extract_text(visitor_operand_before=before)
    return layout


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    return {form: render_form(form, sample_form_data(form)) for form in FORMS}


@pytest.mark.parametrize("form", list(FORMS))
def test_each_form_renders_one_a4_page_or_more(rendered: dict[str, bytes], form: str) -> None:
    reader = PdfReader(io.BytesIO(rendered[form]))
    assert len(reader.pages) >= 1
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(A4[0], abs=0.5)
    assert float(box.height) == pytest.approx(A4[1], abs=0.5)


@pytest.mark.parametrize("form", list(FORMS))
def test_text_keeps_the_margins_left_3_cm_and_right_2_cm(
    rendered: dict[str, bytes], form: str
) -> None:
    layout = _layout(rendered[form])
    assert layout.runs
    assert min(run.x0 for run in layout.runs) == pytest.approx(LEFT, abs=TOL)
    assert max(run.x1 for run in layout.runs) <= A4[0] - RIGHT + TOL


def test_justified_body_lines_reach_the_right_margin(rendered: dict[str, bytes]) -> None:
    # The measure of text ends is meaningful only if a full justified line ends at the margin.
    layout = _layout(rendered["external"])
    assert max(run.x1 for run in layout.runs) == pytest.approx(A4[0] - RIGHT, abs=TOL)


@pytest.mark.parametrize("form", list(FORMS))
def test_text_is_set_in_sarabun_at_16_pt(rendered: dict[str, bytes], form: str) -> None:
    layout = _layout(rendered[form])
    assert layout.fonts
    assert all("Sarabun" in name for name in layout.fonts)
    sizes = Counter(round(run.size, 1) for run in layout.runs)
    assert sizes.most_common(1)[0][0] == 16.0
    # pypdf's own reading of the text agrees on the body size.
    seen: Counter[float] = Counter()

    def visit(text: str, cm: Any, tm: Any, font: Any, size: float) -> None:
        if text.strip():
            m = _mul(tm, cm)
            seen[round(size * (m[0] ** 2 + m[1] ** 2) ** 0.5, 1)] += len(text)

    layout.page.extract_text(visitor_text=visit)
    assert seen.most_common(1)[0][0] == 16.0


@pytest.mark.parametrize("form", ["external", "stamped", "order", "announcement", "certificate"])
def test_emblem_is_3_cm_high_centred_1_5_cm_from_the_top(
    rendered: dict[str, bytes], form: str
) -> None:
    (x, y, width, height), *_ = _layout(rendered[form]).images
    assert height == pytest.approx(3 * CM, abs=0.5)
    text_centre = LEFT + (A4[0] - LEFT - RIGHT) / 2
    assert x + width / 2 == pytest.approx(text_centre, abs=TOL)
    assert A4[1] - (y + height) == pytest.approx(1.5 * CM, abs=TOL)


def test_memo_emblem_is_1_5_cm_high_at_the_top_left(rendered: dict[str, bytes]) -> None:
    layout = _layout(rendered["memo"])
    (x, y, _width, height), *_ = layout.images
    assert height == pytest.approx(1.5 * CM, abs=0.5)
    assert x == pytest.approx(LEFT, abs=TOL)
    assert A4[1] - (y + height) == pytest.approx(1.5 * CM, abs=TOL)
    # The heading "บันทึกข้อความ" is about 29 pt.
    assert any(run.size == pytest.approx(29, abs=0.5) for run in layout.runs)


def _text(pdf: bytes) -> str:
    """The page's text as pypdf extracts it, without the control characters it leaves where
    Typst's glyph clusters (vowel and tone marks) map to several characters."""
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    return "".join(ch for ch in text if ch == "\n" or ch >= " ")


def test_date_is_in_the_buddhist_era_with_thai_month_and_chosen_digits() -> None:
    data = FormData(number="ตย 0017/12", date=dt.date(2009, 6, 5), subject="ทดสอบ")
    thai = _text(render_form("memo", data))
    assert "๕ มิถุนายน ๒๕๕๒" in thai
    assert "๐๐๑๗/๑๒" in thai
    arabic_data = FormData(date=dt.date(2009, 6, 5), thai_digits=False)
    arabic = _text(render_form("memo", arabic_data))
    assert "5 มิถุนายน 2552" in arabic


def test_user_text_is_printed_not_interpreted_as_typst() -> None:
    tricky = '#panic("x") ] ) } $ * _ <x> @ref // /* "'
    pdf = render_form("external", FormData(subject=tricky, body=(tricky,)))
    assert "panic" in _text(pdf)


def test_urgency_is_printed_in_red_unless_normal() -> None:
    red = re.compile(rb"0\.75\d* 0 0 (?:rg|scn?)\b")  # rgb("#c00000")
    urgent = render_form("external", FormData(urgency="ด่วนมาก"))
    content = PdfReader(io.BytesIO(urgent)).pages[0].get_contents()
    assert content is not None
    assert red.search(content.get_data())
    assert "ด่วนมาก" in _text(urgent)
    normal = render_form("external", FormData(urgency="ปกติ"))
    content = PdfReader(io.BytesIO(normal)).pages[0].get_contents()
    assert content is not None
    assert not red.search(content.get_data())
    assert "ปกติ" not in _text(normal)


def test_agency_emblem_image_is_used_instead_of_the_placeholder() -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="20"><rect/></svg>'
    own = PdfReader(io.BytesIO(render_form("external", FormData(emblem=svg)))).pages[0]
    assert len(own.images) == 0  # drawn as vectors, not the placeholder's raster image
    assert placeholder_emblem()[:8] == b"\x89PNG\r\n\x1a\n"
    default = PdfReader(io.BytesIO(render_form("external", FormData()))).pages[0]
    assert len(default.images) == 1


def test_unknown_form_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        render_form("invoice", FormData())
    assert caught.value.code == "form_unknown"


@pytest.mark.parametrize("form", [f for f in FORMS if f != "stamped"])
def test_signature_box_is_the_space_above_the_signers_name(
    rendered: dict[str, bytes], form: str
) -> None:
    """The visible signature goes in the right half, between the text and the signer's name."""
    spot = signature_box(form, sample_form_data(form))
    x1, y1, x2, y2 = spot.box
    assert spot.page == 0
    assert A4[0] / 2 < x1 < x2 <= A4[0] - RIGHT + TOL
    assert y2 - y1 >= 1.5 * CM  # room for three lines of the signature block
    runs = _layout(rendered[form]).runs
    # Nothing is printed inside the box: it is the empty space left for the signature.
    inside = [r for r in runs if y1 < r.y < y2 - 4 and r.x1 > x1 and r.x0 < x2]
    assert inside == []
    # The signer's name is the first line under the box, in the box's columns.
    below = sorted((r for r in runs if r.y < y1 and r.x1 > x1), key=lambda r: -r.y)
    assert below and y1 - below[0].y < 1.2 * CM


def test_stamped_form_puts_the_seal_in_its_circle() -> None:
    spot = signature_box("stamped", sample_form_data("stamped"))
    x1, y1, x2, y2 = spot.box
    assert x2 - x1 == pytest.approx(3.2 * CM, abs=0.5)
    assert y2 - y1 == pytest.approx(3.2 * CM, abs=0.5)
    # The circle's caption (12 pt) is inside the box.
    pdf = render_form("stamped", sample_form_data("stamped"))
    caption = [r for r in _layout(pdf).runs if r.size == pytest.approx(12)]
    assert caption and all(x1 < r.x0 < r.x1 < x2 and y1 < r.y < y2 for r in caption)


def test_archival_rendering_declares_pdf_a() -> None:
    pdf = render_form("external", sample_form_data("external"), archival=True)
    metadata = PdfReader(io.BytesIO(pdf)).xmp_metadata
    assert metadata is not None
    assert metadata.get_element("", "http://www.aiim.org/pdfa/ns/id/", "part")
