"""Reading Thai digits again, by their shape, in the upper part of a scanned letter.

Tesseract's Thai model reads the Thai digits of the official fonts badly: ๔ ๕ ๘ and ๙ all
come out as ๕, ๗ as ๑ or ฒ, ๖ as ๐ or ๒. A letter's number and date are printed in them, so
``header_text`` reads the upper half of the searchable page again with Tesseract (for the
lines and the boxes of the words) and writes every word Tesseract read as Thai digits anew:
each dark shape in the word's box is compared with the digits (and ว / . ,) of the Sarabun
font, rendered once with Typst, and the closest one is taken. A word with a shape that is no
digit (touching characters, a letter) is left as Tesseract read it.

The result is only used to propose the registration fields; the stored OCR text stays as
Tesseract wrote it.
"""

from __future__ import annotations

import functools
import io
import logging
import math
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from django.conf import settings

from saraban.core.sandbox import limit_command

__all__ = ["header_text", "read_shapes"]

log = logging.getLogger(__name__)

DPI: Final = 300
_GLYPHS: Final = "๐๑๒๓๔๕๖๗๘๙ว/.,"
_DIGIT_LIKE: Final = frozenset("๐๑๒๓๔๕๖๗๘๙\u0e12ว/.,-")
_GRID_W, _GRID_H = 10, 14
# A shape farther than this from every glyph is not one of them (mean difference per cell).
_MAX_DISTANCE: Final = 0.30


@dataclass(frozen=True, slots=True)
class Gray:
    """An 8-bit grey image."""

    width: int
    height: int
    pixels: bytes

    @classmethod
    def from_pgm(cls, data: bytes) -> Gray:
        fields: list[bytes] = []
        pos = 0
        while len(fields) < 4:
            while data[pos:pos + 1].isspace():
                pos += 1
            if data[pos:pos + 1] == b"#":
                pos = data.index(b"\n", pos) + 1
                continue
            end = pos
            while not data[end:end + 1].isspace():
                end += 1
            fields.append(data[pos:end])
            pos = end
        if fields[0] != b"P5" or fields[3] != b"255":
            raise ValueError("not an 8-bit binary PGM")
        width, height = int(fields[1]), int(fields[2])
        return cls(width, height, bytes(data[pos + 1: pos + 1 + width * height]))


@dataclass(frozen=True, slots=True)
class _Shape:
    x0: int
    y0: int
    x1: int  # exclusive
    y1: int
    cells: tuple[float, ...]
    area: int

    @property
    def w(self) -> int:
        return self.x1 - self.x0

    @property
    def h(self) -> int:
        return self.y1 - self.y0


def _otsu(values: bytes) -> int:
    histogram = [0] * 256
    for v in values:
        histogram[v] += 1
    total = len(values)
    sum_all = sum(i * n for i, n in enumerate(histogram))
    best, threshold, weight, sum_b = -1.0, 128, 0, 0
    for t in range(256):
        weight += histogram[t]
        if weight == 0 or weight == total:
            continue
        sum_b += t * histogram[t]
        mean_b = sum_b / weight
        mean_f = (sum_all - sum_b) / (total - weight)
        between = weight * (total - weight) * (mean_b - mean_f) ** 2
        if between > best:
            best, threshold = between, t
    return threshold


def _shapes(image: Gray, box: tuple[int, int, int, int]) -> list[_Shape]:
    """The dark connected shapes inside ``box`` (x0, y0, x1, y1), left to right."""
    x0, y0 = max(box[0], 0), max(box[1], 0)
    x1, y1 = min(box[2], image.width), min(box[3], image.height)
    w, h = x1 - x0, y1 - y0
    if w <= 0 or h <= 0:
        return []
    rows = [image.pixels[(y0 + y) * image.width + x0:(y0 + y) * image.width + x1]
            for y in range(h)]
    values = b"".join(rows)
    # Otsu's threshold, moved halfway to the paper: thin strokes (the head of ๗) stay ink.
    paper = sorted(values)[len(values) // 2]
    threshold = (_otsu(values) + paper) // 2
    ink = [[v <= threshold for v in row] for row in rows]
    seen = [[False] * w for _ in range(h)]
    shapes = []
    for sy in range(h):
        for sx in range(w):
            if not ink[sy][sx] or seen[sy][sx]:
                continue
            stack, points = [(sx, sy)], []
            seen[sy][sx] = True
            while stack:
                x, y = stack.pop()
                points.append((x, y))
                for nx in (x - 1, x, x + 1):
                    for ny in (y - 1, y, y + 1):
                        if 0 <= nx < w and 0 <= ny < h and ink[ny][nx] and not seen[ny][nx]:
                            seen[ny][nx] = True
                            stack.append((nx, ny))
            if len(points) >= 12:  # specks are not glyphs
                shapes.append(points)
    return [_shape(points, x0, y0) for points in _regroup(shapes)]


Points = list[tuple[int, int]]


def _regroup(groups: list[Points]) -> list[Points]:
    """Pieces of one glyph (a thin stroke lost) joined, touching glyphs cut apart.

    Thai digits have no parts stacked above each other, so shapes that overlap a lot from
    left to right are one glyph; a shape much wider than a digit is two, cut at the column
    with the least ink near its middle.
    """
    def span(points: Points) -> tuple[int, int]:
        xs = [x for x, _ in points]
        return min(xs), max(xs) + 1

    if not groups:
        return []
    biggest = max(len(g) for g in groups)
    groups = [g for g in groups if len(g) >= biggest * 0.03]
    joined: list[Points] = []
    for points in sorted(groups, key=lambda g: span(g)[0]):
        if joined:
            (a0, a1), (b0, b1) = span(joined[-1]), span(points)
            overlap = min(a1, b1) - max(a0, b0)
            if (overlap >= 0.5 * min(a1 - a0, b1 - b0)
                    and min(len(points), len(joined[-1])) >= biggest * 0.03):
                joined[-1] = joined[-1] + points
                continue
        joined.append(points)
    out: list[Points] = []
    while joined:
        points = joined.pop(0)
        left, right = span(points)
        ys = [y for _, y in points]
        height = max(ys) - min(ys) + 1
        if right - left <= 1.45 * max(height, 30) or len(points) < 40:
            out.append(points)
            continue
        ink: dict[int, int] = {}
        for x, _ in points:
            ink[x] = ink.get(x, 0) + 1
        width = right - left
        cut = min(range(left + width * 3 // 10, left + width * 7 // 10 + 1),
                  key=lambda x: ink.get(x, 0))
        joined[:0] = [[p for p in points if p[0] < cut], [p for p in points if p[0] >= cut]]
    return out


def _shape(points: list[tuple[int, int]], ox: int, oy: int) -> _Shape:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    left, top = min(xs), min(ys)
    width, height = max(xs) - left + 1, max(ys) - top + 1
    counts = [0] * (_GRID_W * _GRID_H)
    for x, y in points:
        cx = min((x - left) * _GRID_W // width, _GRID_W - 1)
        cy = min((y - top) * _GRID_H // height, _GRID_H - 1)
        counts[cy * _GRID_W + cx] += 1
    per_cell = max(width * height / (_GRID_W * _GRID_H), 1e-9)
    cells = tuple(min(c / per_cell, 1.0) for c in counts)
    return _Shape(ox + left, oy + top, ox + left + width, oy + top + height, cells,
                  len(points))


@functools.cache
def _templates() -> tuple[tuple[str, _Shape, float], ...]:
    """Each glyph of ``_GLYPHS`` in Sarabun at 16 pt: its shape and height (in digit heights)."""
    import typst

    from saraban.letters.stamp import FONT_DIR

    source = ("#set page(width: auto, height: auto, margin: 20pt)\n"
              '#set text(font: "Sarabun", size: 16pt)\n' + " ".join(_GLYPHS))
    fonts = typst.Fonts(include_system_fonts=False, font_paths=[FONT_DIR])
    pdf = typst.compile(source.encode(), format="pdf", font_paths=fonts)
    image = _rasterise(pdf)
    shapes = [s for s in _shapes(image, (0, 0, image.width, image.height)) if s.area > 3]
    if len(shapes) != len(_GLYPHS):
        raise RuntimeError(f"expected {len(_GLYPHS)} glyph shapes, found {len(shapes)}")
    tall = shapes[2].h  # ๒
    return tuple((g, s, s.h / tall) for g, s in zip(_GLYPHS, shapes, strict=True))


def _limited(command: list[str]) -> list[str]:
    """Poppler and Tesseract on a scan's pages, under the memory and CPU limits of OCR."""
    memory = int(getattr(settings, "SARABAN_OCR_MEMORY_BYTES", 1024 * 1024 * 1024))
    return limit_command(command, memory=memory, cpu=300)


def _rasterise(pdf: bytes, *, crop: tuple[int, int] | None = None) -> Gray:
    with tempfile.TemporaryDirectory(prefix="saraban-digits-") as tmp:
        source = Path(tmp) / "in.pdf"
        source.write_bytes(pdf)
        command = ["pdftoppm", "-r", str(DPI), "-gray", "-f", "1", "-l", "1", "-singlefile"]
        if crop is not None:
            command += ["-x", "0", "-y", "0", "-W", str(crop[0]), "-H", str(crop[1])]
        subprocess.run(  # noqa: S603
            _limited([*command, str(source), str(Path(tmp) / "out")]),
            check=True, capture_output=True, timeout=120,
        )
        return Gray.from_pgm((Path(tmp) / "out.pgm").read_bytes())


def _distance(shape: _Shape, template: _Shape, relative_h: float, template_h: float) -> float:
    cells = sum(abs(a - b) for a, b in zip(shape.cells, template.cells, strict=True))
    aspect = abs(math.log((shape.w / shape.h) / (template.w / template.h)))
    height = abs(relative_h - template_h)
    return cells / len(shape.cells) + 0.15 * aspect + 0.3 * height


def read_shapes(image: Gray, box: tuple[int, int, int, int]) -> str | None:
    """The digits (and ว / . ,) printed in ``box``, or None if a shape is none of them.

    Sizes are compared in absolute terms: the page is at 300 dpi and official letters are
    printed at 16 pt, as the templates are.
    """
    tall = _templates()[2][1].h  # ๒: a digit of full height
    # Look a little wider than the word's box (Tesseract's boxes cut the first and last
    # glyphs) and keep the shapes whose middle is inside it.
    margin = tall // 2
    wide = (box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin)
    shapes = [s for s in _shapes(image, wide)
              if box[0] <= (s.x0 + s.x1) / 2 <= box[2] and box[1] <= (s.y0 + s.y1) / 2 <= box[3]
              and s.area >= 12 and max(s.w, s.h) >= tall * 0.12]
    if not shapes:
        return None
    out = []
    for shape in shapes:
        relative = shape.h / tall
        if relative < 0.35:
            # A full stop or a comma, by its place on the line; a speck above it is noise.
            if shape.y0 >= box[1] + (box[3] - box[1]) * 0.55:
                out.append("," if shape.h > shape.w * 1.6 else ".")
            continue
        distance, glyph = min(
            (_distance(shape, t, relative, th), g) for g, t, th in _templates() if th >= 0.35
        )
        if distance > _MAX_DISTANCE:
            return None
        out.append(glyph)
    return "".join(out).strip(".,") or None


@dataclass(frozen=True, slots=True)
class _Word:
    line: tuple[int, int, int]
    box: tuple[int, int, int, int]
    text: str


def _tsv_words(image_path: Path, languages: str) -> Iterator[_Word]:
    done = subprocess.run(  # noqa: S603
        _limited(["tesseract", str(image_path), "stdout", "-l", languages, "tsv"]),
        capture_output=True, timeout=300, check=False,
    )
    if done.returncode != 0:
        return
    for row in done.stdout.decode("utf-8", "replace").splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5" or not cols[11].strip():
            continue
        left, top, width, height = (int(c) for c in cols[6:10])
        yield _Word(line=(int(cols[2]), int(cols[3]), int(cols[4])),
                    box=(left, top, left + width, top + height), text=cols[11].strip())


def _digit_word(text: str) -> bool:
    return any("\u0e50" <= c <= "\u0e59" or c == "\u0e12" for c in text) and all(
        c in _DIGIT_LIKE for c in text)


def header_text(pdf: bytes, *, languages: str = "tha+eng", share: float = 0.5) -> str | None:
    """The upper ``share`` of the first page read again, Thai digits read by their shape.

    None when poppler or Tesseract is missing or the page cannot be read.
    """
    if shutil.which("pdftoppm") is None or shutil.which("tesseract") is None:
        return None
    from pypdf import PdfReader

    try:
        box = PdfReader(io.BytesIO(pdf)).pages[0].mediabox
        size = (math.ceil(float(box.width) / 72 * DPI),
                math.ceil(float(box.height) / 72 * DPI * share))
        image = _rasterise(pdf, crop=size)
    except Exception:  # a page we cannot rasterise has nothing to add
        log.info("could not rasterise the page for Thai digits", exc_info=True)
        return None
    with tempfile.TemporaryDirectory(prefix="saraban-digits-") as tmp:
        path = Path(tmp) / "header.pgm"
        path.write_bytes(b"P5\n%d %d\n255\n" % (image.width, image.height) + image.pixels)
        words = list(_tsv_words(path, languages))
    lines: dict[tuple[int, int, int], list[_Word]] = {}
    for word in words:
        lines.setdefault(word.line, []).append(word)
    out, last_block = [], None
    for (block, _par, _line), line_words in lines.items():
        if last_block is not None and block != last_block:
            out.append("")
        out.append(_line_text(image, _digit_runs(line_words)))
        last_block = block
    return "\n".join(out)


def _gap_limit(words: list[_Word]) -> float:
    heights = sorted(w.box[3] - w.box[1] for w in words)
    return heights[len(heights) // 2] * 0.3


def _digit_runs(words: list[_Word]) -> list[_Word]:
    """Neighbouring words of Thai digits merged into one (Tesseract splits them)."""
    merged: list[_Word] = []
    limit = _gap_limit(words) * 2
    for word in words:
        last = merged[-1] if merged else None
        if (last is not None and _digit_word(last.text) and _digit_word(word.text)
                and word.box[0] - last.box[2] <= limit):
            box = (min(last.box[0], word.box[0]), min(last.box[1], word.box[1]),
                   max(last.box[2], word.box[2]), max(last.box[3], word.box[3]))
            merged[-1] = _Word(line=last.line, box=box, text=last.text + word.text)
        else:
            merged.append(word)
    return merged


def _thai_again(image: Gray, box: tuple[int, int, int, int]) -> str | None:
    """One word read again with the Thai model alone, as a single word."""
    margin = 15
    x0, y0 = max(box[0] - margin, 0), max(box[1] - margin, 0)
    x1, y1 = min(box[2] + margin, image.width), min(box[3] + margin, image.height)
    rows = b"".join(image.pixels[y * image.width + x0:y * image.width + x1]
                    for y in range(y0, y1))
    with tempfile.TemporaryDirectory(prefix="saraban-digits-") as tmp:
        path = Path(tmp) / "word.pgm"
        path.write_bytes(b"P5\n%d %d\n255\n" % (x1 - x0, y1 - y0) + rows)
        done = subprocess.run(  # noqa: S603
            _limited(["tesseract", str(path), "stdout", "-l", "tha", "--psm", "8"]),
            capture_output=True, timeout=60, check=False,
        )
    text = done.stdout.decode("utf-8", "replace").strip()
    return text if done.returncode == 0 and any("\u0e01" <= c <= "\u0e59" for c in text) \
        else None


def _line_text(image: Gray, words: list[_Word]) -> str:
    """A line's words, digits read again, joined as printed (no space inside a Thai word).

    On a line with Thai digits, Tesseract (Thai and English) often reads the label and the
    letter code before them (ที่ มท), or a day (๑๓), as Latin letters; such a short word is
    read again in Thai.
    """
    text, previous = "", None
    limit = _gap_limit(words)
    digits_at = next((i for i, w in enumerate(words) if _digit_word(w.text)), -1)
    for word in words:
        value = word.text
        if digits_at >= 0 and value.isascii() and value.isalpha() and len(value) <= 5:
            value = _thai_again(image, word.box) or value
        if _digit_word(value):
            pad = max(2, (word.box[3] - word.box[1]) // 8)
            box = (word.box[0] - pad, word.box[1] - pad, word.box[2] + pad, word.box[3] + pad)
            value = read_shapes(image, box) or value
        if previous is not None:
            text += " " if word.box[0] - previous.box[2] > limit else ""
        text += value
        previous = word
    return text
