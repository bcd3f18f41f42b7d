"""The receipt stamp (ตรารับหนังสือ) put on the first page of a received letter's PDF.

The stamp is typeset by Typst (which shapes Thai correctly, with the Sarabun font shipped by
``fontpkg-sarabun``) as a transparent one-page PDF the size of the target page, and pypdf lays
it over the first page. The original bytes are only read: a new PDF is returned.

User text reaches Typst only through ``sys.inputs``, never through the source, so nothing a
caller passes can be interpreted as Typst markup or code.

The PDF came from outside, so pypdf reads and rewrites it in the sandbox
(``saraban.core.sandbox``): a file pypdf cannot read, or one that would take too much memory
or time, gives a ``ValidationFailed`` with a Thai message ("cannot stamp this PDF"), never a
crash of the process that asked.
"""

from __future__ import annotations

import functools
import io
import logging
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Final

import fontpkg_sarabun
import typst
from pypdf import PageObject, PdfReader, PdfWriter, Transformation
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from saraban.core import sandbox
from saraban.core.errors import FileRejected, ValidationFailed

__all__ = ["FONT_DIR", "stamp_pdf"]

logger = logging.getLogger(__name__)

FONT_DIR: Final = Path(fontpkg_sarabun.__file__).parent / "files"

_UNREADABLE: Final = "อ่านไฟล์ PDF ไม่ได้ ไฟล์อาจเสียหายหรือไม่ใช่ไฟล์ PDF"
_ENCRYPTED: Final = "ไฟล์ PDF นี้ตั้งรหัสผ่านไว้ จึงประทับตรารับไม่ได้"
_NO_PAGES: Final = "ไฟล์ PDF นี้ไม่มีหน้าเอกสาร"

# The overlay page. Its size is the displayed size of the target page (after /Rotate); the
# stamp sits 1 cm from the top and right edges. On a page too small for it, the stamp and its
# margins shrink together so it stays on the page. Each line shrinks, rather than wraps, if too
# long for the box.
_OVERLAY_SOURCE: Final = """\
#let inp = sys.inputs
#let page-w = float(inp.width) * 1pt
#let page-h = float(inp.height) * 1pt
#let ink = rgb("#1f3c96")
#let box-w = 5cm
#let box-h = 2.6cm
#let inset-x = 2.5mm
#set page(width: page-w, height: page-h, margin: 0pt, fill: none)
#set text(
  font: "Sarabun", size: 11pt, fill: ink, lang: "th", hyphenate: false,
  top-edge: "ascender", bottom-edge: "descender",
)
#let fitted(body, weight: "regular") = context {
  let natural = measure(text(weight: weight, body)).width
  let room = box-w - 2 * inset-x
  let size = if natural > room { text.size * (room / natural) } else { text.size }
  box(text(size: size, weight: weight, body))
}
#let stamp = box(
  width: box-w, height: box-h, stroke: 1.2pt + ink, radius: 1.5mm,
  inset: (x: inset-x, y: 1mm),
  align(center + horizon, stack(
    dir: ttb, spacing: 0.4mm,
    fitted(inp.name, weight: "bold"),
    fitted("เลขรับ " + inp.number, weight: "bold"),
    fitted("วันที่ " + inp.date),
    fitted("เวลา " + inp.time),
  )),
)
#let k = calc.min(1.0, page-w / (box-w + 2cm), page-h / (box-h + 2cm))
#place(top + right, dx: -1cm * k, dy: 1cm * k,
  scale(k * 100%, origin: top + right, reflow: true, stamp))
""".encode()


def stamp_pdf(
    original: bytes, *, registry_name: str, number: str, date_text: str, time_text: str
) -> bytes:
    """Return a copy of ``original`` with the receipt stamp on its first page.

    ``date_text`` and ``time_text`` come formatted (e.g. "23 พ.ย. 2569", "14:05 น.").
    Raises ``ValidationFailed`` (code ``pdf_unreadable``) when pypdf cannot read the file,
    and ``FileRejected`` (a ``ValidationFailed``: ``file_bomb``, ``parser_timeout`` …) when
    reading it goes over the sandbox's limits.
    """
    texts = {"name": registry_name, "number": number, "date": date_text, "time": time_text}
    limits = sandbox.limits_from_settings()
    # The answer is a file: room for the stamped copy (the original, the overlay and fonts).
    limits = sandbox.Limits(memory=limits.memory, cpu=limits.cpu, wall=limits.wall,
                            output=max(limits.output, 2 * len(original) + 16 * 1024 * 1024))
    with tempfile.TemporaryDirectory(prefix="saraban-stamp-") as tmp:
        source, target = Path(tmp) / "in.pdf", Path(tmp) / "out.pdf"
        source.write_bytes(original)
        try:
            warnings = sandbox.run("saraban.letters.stamp:stamp_file", str(source),
                                   str(target), texts, limits=limits)
            for warning in warnings:
                logger.warning("Typst warned while rendering the receipt stamp: %s", warning)
        except FileRejected as exc:
            if exc.code in ("file_unreadable", "file_rejected"):
                raise ValidationFailed(_UNREADABLE, code="pdf_unreadable") from exc
            raise
        return target.read_bytes()


def stamp_file(source: str, target: str, texts: dict[str, str]) -> list[str]:
    """The sandbox's side of ``stamp_pdf``: stamp the PDF at ``source`` into ``target``.

    Returns Typst's warnings, for the caller to log (the child has no log of its own).
    """
    warnings: list[str] = []
    data = _stamp(Path(source).read_bytes(), texts, warnings)
    Path(target).write_bytes(data)
    return warnings


def _stamp(original: bytes, texts: dict[str, str], warnings: list[str]) -> bytes:
    try:
        reader = PdfReader(io.BytesIO(original))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ValidationFailed(_ENCRYPTED, code="pdf_unreadable")
        if len(reader.pages) == 0:
            raise ValidationFailed(_NO_PAGES, code="pdf_unreadable")
        writer = PdfWriter(clone_from=reader)
        page = writer.pages[0]
        left, bottom, width, height = _visible_box(page)
        rotation = page.rotation % 360 if page.rotation % 90 == 0 else 0
    except ValidationFailed:
        raise
    except Exception as exc:  # pypdf fails on bad input with many exception types
        raise ValidationFailed(_UNREADABLE, code="pdf_unreadable") from exc
    if width <= 0 or height <= 0:
        raise ValidationFailed(_UNREADABLE, code="pdf_unreadable")

    shown_w, shown_h = (height, width) if rotation in (90, 270) else (width, height)
    overlay = _render_overlay(shown_w, shown_h, texts, warnings)
    ctm = _overlay_to_page(rotation, left, bottom, width, height)

    try:
        _make_private(page, writer.pages[1:])
        page.merge_transformed_page(overlay, Transformation(ctm), over=True, expand=False)
        page.compress_content_streams()  # pypdf writes the merged stream uncompressed
        out = io.BytesIO()
        writer.write(out)
    except Exception as exc:  # a content stream or object pypdf cannot handle
        raise ValidationFailed(_UNREADABLE, code="pdf_unreadable") from exc
    return out.getvalue()


def _render_overlay(
    width: float, height: float, texts: dict[str, str], warned: list[str]
) -> PageObject:
    """Typeset the stamp on a transparent page of ``width`` x ``height`` points."""
    inputs = {key: " ".join(value.split()) for key, value in texts.items()}
    inputs["width"] = f"{width:.4f}"
    inputs["height"] = f"{height:.4f}"
    # typst.compile() drops Typst's warnings silently; a missing Sarabun shows up only as one.
    pdf, warnings = typst.compile_with_warnings(
        _OVERLAY_SOURCE,
        font_paths=_fonts(),
        sys_inputs=inputs,
        pdf_tags=False,  # the overlay's structure tree would not travel with it
    )
    warned.extend(str(warning.message) for warning in warnings)
    return PdfReader(io.BytesIO(pdf)).pages[0]


@functools.cache
def _fonts() -> typst.Fonts:
    """Sarabun and Typst's own fonts, found once per process; the system's are left out."""
    return typst.Fonts(include_system_fonts=False, font_paths=[FONT_DIR])


def _visible_box(page: PageObject) -> tuple[float, float, float, float]:
    """Return (left, bottom, width, height) of the page's crop box, normalised."""
    box = page.cropbox
    x0, y0, x1, y1 = (float(v) for v in (box[0], box[1], box[2], box[3]))
    return min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0)


def _overlay_to_page(
    rotation: int, left: float, bottom: float, width: float, height: float
) -> tuple[float, float, float, float, float, float]:
    """Matrix taking overlay coordinates (upright, as displayed) to the page's user space.

    A viewer shows the page turned clockwise by /Rotate; the overlay is drawn upright, so it
    is turned the other way to land on the displayed top-right corner.
    """
    if rotation == 90:
        return (0, 1, -1, 0, left + width, bottom)
    if rotation == 180:
        return (-1, 0, 0, -1, left + width, bottom + height)
    if rotation == 270:
        return (0, -1, 1, 0, left, bottom + height)
    return (1, 0, 0, 1, left, bottom)


def _make_private(page: PageObject, others: Iterable[PageObject]) -> None:
    """Give the page its own /Resources, and its own /Contents if other pages share them.

    pypdf merges in place, and a resource dictionary or content stream may be shared with
    other pages (or inherited from the page tree): those pages must stay unchanged.
    """
    resources = _inherited(page, "/Resources")
    own = DictionaryObject()
    if isinstance(resources, DictionaryObject):
        for key, value in resources.items():
            resolved = value.get_object()
            if isinstance(resolved, DictionaryObject):
                own[NameObject(key)] = DictionaryObject(resolved)
            elif isinstance(resolved, ArrayObject):
                own[NameObject(key)] = ArrayObject(resolved)
            else:
                own[NameObject(key)] = value
    page[NameObject("/Resources")] = own

    mine = _content_ids(page)
    if mine and any(mine & _content_ids(other) for other in others):
        contents = page.get_contents()  # a fresh ContentStream, not the stored object
        del page["/Contents"]
        if contents is not None:
            page.replace_contents(contents)  # stored as a new object of the writer


def _content_ids(page: PageObject) -> set[int]:
    """Object numbers of the page's content stream(s), and of the array listing them."""
    contents = page.raw_get("/Contents") if "/Contents" in page else None
    ids: set[int] = set()
    if isinstance(contents, IndirectObject):
        ids.add(contents.idnum)
        contents = contents.get_object()
    if isinstance(contents, ArrayObject):
        ids.update(item.idnum for item in contents if isinstance(item, IndirectObject))
    return ids


def _inherited(page: PageObject, key: str) -> object:
    """The page's ``key``, or the nearest ancestor's in the page tree."""
    node: object = page
    for _ in range(64):  # the page tree is shallow; this guards against a cycle
        if not isinstance(node, DictionaryObject):
            return None
        if key in node:
            return node[key].get_object()
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
    return None
