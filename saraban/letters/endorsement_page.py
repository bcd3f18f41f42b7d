"""The endorsements (เกษียนหนังสือ) printed on the stamped copy: a page added after the letter.

Each endorsement shows its text, the signature line (name, position, acting label) and the
date in the Buddhist Era. The page is typeset by Typst like the receipt stamp; text reaches
Typst only as data (``sys.inputs``), never as markup.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Final

import typst
from pypdf import PdfReader, PdfWriter

from saraban.core.errors import ValidationFailed

from .stamp import _fonts

_SOURCE: Final = """\
#let inp = sys.inputs
#let items = json(bytes(inp.items))
#let ink = rgb("#1f3c96")
#set page(paper: "a4", margin: (left: 3cm, right: 2cm, top: 2.5cm, bottom: 2cm))
#set text(font: "Sarabun", size: 16pt, lang: "th", fill: ink)
#align(center, text(weight: "bold", size: 18pt)[การเกษียนหนังสือ])
#align(center)[#inp.heading]
#v(6mm)
#for item in items [
  #block(breakable: false, width: 100%, inset: (y: 2mm))[
    #item.text
    #v(2mm)
    #align(right)[#item.signature \\ #item.date]
  ]
  #line(length: 100%, stroke: 0.4pt + ink)
]
""".encode()


@dataclass(frozen=True, slots=True)
class EndorsementLine:
    text: str
    signature: str
    date: str


def with_endorsements(pdf: bytes, *, heading: str, items: Sequence[EndorsementLine]) -> bytes:
    """A copy of ``pdf`` with the endorsement page appended (unchanged when there are none)."""
    if not items:
        return pdf
    page, warnings = typst.compile_with_warnings(
        _SOURCE,
        font_paths=_fonts(),
        sys_inputs={"heading": heading,
                    "items": json.dumps([asdict(i) for i in items], ensure_ascii=False)},
        pdf_tags=False,
    )
    del warnings
    try:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
        for extra in PdfReader(io.BytesIO(page)).pages:
            writer.add_page(extra)
        out = io.BytesIO()
        writer.write(out)
    except Exception as exc:  # pypdf fails on bad input with many exception types
        raise ValidationFailed("อ่านไฟล์ PDF ไม่ได้", code="pdf_unreadable") from exc
    return out.getvalue()
