"""Cleaning up what Tesseract writes for Thai, and the loose forms used to match labels.

``normalise_ocr`` is what is stored: NFC, the decomposed sara am (U+0E4D U+0E32) as one ำ,
two sara e as sara ae, zero-width characters removed, and lines that came out with a space
after every character ("ส ่ ว น ร า ช ก า ร") joined back. Digits stay as printed.

``loose`` is only for comparing: tone marks and other upper marks dropped (OCR loses them),
the upper vowels ิ ี ึ ื taken as one (OCR confuses them), spaces removed.

>>> normalise_ocr("ส ่ ว น ร า ช ก า ร ศา ล า ก ล า ง")
'ส่วนราชการศาลากลาง'
>>> loose("เรือง") == loose("เรื่อง")
True
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["is_thai", "loose", "normalise_ocr"]

_ZERO_WIDTH: Final = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
# ไม้ไต่คู้, the four tone marks, ทัณฑฆาต, นิคหิต (as left over) and ยามักการ.
_UPPER_MARKS: Final = dict.fromkeys([*range(0x0E47, 0x0E4E), 0x0E4E])
_UPPER_VOWELS: Final = str.maketrans("\u0e35\u0e36\u0e37", "\u0e34\u0e34\u0e34")
_THAI: Final = re.compile(r"[\u0e01-\u0e5b]")
_SPACED_PAIR: Final = re.compile(r"(?<=[\u0e01-\u0e59]) (?=[\u0e01-\u0e59])")
_TRAILING_SPACE: Final = re.compile(r"[ \t]+$", re.MULTILINE)


def is_thai(char: str) -> bool:
    return bool(_THAI.match(char))


def _spaced_out(line: str) -> bool:
    """A line read with a space after nearly every Thai character."""
    tokens = [t for t in line.split(" ") if t and any(is_thai(c) for c in t)]
    if len(tokens) < 6:
        return False
    short = sum(1 for t in tokens if len(t) <= 2)
    return short >= 0.6 * len(tokens)


def _join_spaced(line: str) -> str:
    # Wide gaps (columns) stay; single spaces between Thai characters go.
    parts = re.split(r"( {2,})", line)
    return "".join(p if p.startswith("  ") else _SPACED_PAIR.sub("", p) for p in parts)


def normalise_ocr(text: str) -> str:
    """The text of a scan as it is stored and indexed (see the module docstring)."""
    text = unicodedata.normalize("NFC", text).translate(_ZERO_WIDTH)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_join_spaced(line) if _spaced_out(line) else line for line in text.split("\n")]
    text = _TRAILING_SPACE.sub("", "\n".join(lines))
    text = text.replace("\u0e4d\u0e32", "\u0e33").replace("\u0e40\u0e40", "\u0e41")
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def loose(text: str) -> str:
    """``text`` for tolerant comparison: no upper marks, one upper vowel, no spaces."""
    text = unicodedata.normalize("NFC", text).replace("\u0e4d\u0e32", "\u0e33")
    text = text.translate(_UPPER_MARKS).translate(_UPPER_VOWELS)
    return re.sub(r"\s+", "", text)
