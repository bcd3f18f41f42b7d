"""The visible signature block, typeset in Thai by Typst and used as the widget's appearance.

pyHanko's own text stamp does not shape Thai (vowels and tone marks land in the wrong
place), so the block is typeset by Typst with the Sarabun font into a one-page PDF exactly the
size of the signature box, and that page is imported as the appearance's background.
The text reaches Typst only through ``sys.inputs``, never through the source.
"""

from __future__ import annotations

import binascii
import functools
import io
import json
import logging
import uuid
from collections.abc import Sequence
from typing import Final

import typst
from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.content import PdfContent
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.stamp import StaticStampStyle

from saraban.letters.stamp import FONT_DIR

logger = logging.getLogger(__name__)

_BLOCK_SOURCE: Final = b"""\
#let inp = sys.inputs
#let w = float(inp.width) * 1pt
#let h = float(inp.height) * 1pt
#let lines = json(bytes(inp.lines))
#let ink = rgb("#1f3c96")
#let pad = calc.min(2mm, h / 10, w / 20)
#let n = calc.max(lines.len(), 1)
#let size = calc.min(14pt, (h - 2 * pad) / (n * 1.3))
#set page(width: w, height: h, margin: 0pt, fill: none)
#set text(font: "Sarabun", size: size, fill: ink, lang: "th", hyphenate: false,
  top-edge: "ascender", bottom-edge: "descender")
#let fitted(body, weight) = context {
  let natural = measure(text(weight: weight, body)).width
  let room = w - 2 * pad
  let s = if natural > room { text.size * (room / natural) } else { text.size }
  box(text(size: s, weight: weight, body))
}
#box(width: w, height: h, stroke: 0.8pt + ink, radius: 1mm, inset: pad,
  align(center + horizon, stack(dir: ttb, spacing: size * 0.25,
    ..lines.enumerate().map(((i, line)) => fitted(line, if i == 0 { "bold" } else { "regular" })))))
"""


def render_block(lines: Sequence[str], width: float, height: float) -> bytes:
    """A one-page PDF of ``width`` x ``height`` points with ``lines`` centred in a frame.

    The first line is bold; each line shrinks, rather than wraps, when too long for the box.
    """
    inputs = {
        "lines": json.dumps([" ".join(str(line).split()) for line in lines], ensure_ascii=False),
        "width": f"{width:.4f}",
        "height": f"{height:.4f}",
    }
    pdf, warnings = typst.compile_with_warnings(
        _BLOCK_SOURCE, font_paths=_fonts(), sys_inputs=inputs, pdf_tags=False
    )
    for warning in warnings:
        logger.warning("Typst warned while rendering a signature block: %s", warning.message)
    assert isinstance(pdf, bytes)
    return pdf


@functools.cache
def _fonts() -> typst.Fonts:
    return typst.Fonts(include_system_fonts=False, font_paths=[FONT_DIR])


class _ImportedPdfBytes(PdfContent):
    """The first page of an in-memory PDF as a form XObject (pyHanko imports from files only)."""

    def __init__(self, pdf: bytes) -> None:
        self.pdf = pdf
        super().__init__()

    def render(self) -> bytes:
        writer = self._ensure_writer
        reader = PdfFileReader(io.BytesIO(self.pdf))
        xobj = writer.import_page_as_xobject(reader, page_ix=0)
        name = "/Block" + binascii.hexlify(uuid.uuid4().bytes).decode()
        self.resources.xobject[name] = xobj
        x1, y1, x2, y2 = xobj.get_object()["/BBox"]
        self.box = layout.BoxConstraints(width=abs(x1 - x2), height=abs(y1 - y2))
        return name.encode() + b" Do"


def stamp_style(lines: Sequence[str], width: float, height: float) -> StaticStampStyle:
    """A pyHanko stamp style whose whole appearance is the Typst-rendered block."""
    return StaticStampStyle(
        background=_ImportedPdfBytes(render_block(lines, width, height)),
        background_opacity=1.0,
        border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(0),  # type: ignore[no-untyped-call]
        ),
    )
