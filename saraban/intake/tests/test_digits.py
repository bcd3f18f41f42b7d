"""Reading Thai digits by their shape (what Tesseract's Thai model confuses)."""

from __future__ import annotations

import os
import random
import shutil

import pytest

from saraban.intake import digits
from saraban.intake.scans import _scanner_noise

pytestmark = pytest.mark.skipif(
    shutil.which("pdftoppm") is None and not os.environ.get("CI"),
    reason="needs poppler's pdftoppm (make ocr-deps); required when CI is set",
)


def printed(text: str, *, noise: float = 0.0) -> digits.Gray:
    """``text`` in Sarabun 16 pt at 300 dpi, as a scanner would give it."""
    import typst

    from saraban.letters.stamp import FONT_DIR

    source = ("#set page(width: auto, height: auto, margin: 12pt)\n"
              '#set text(font: "Sarabun", size: 16pt)\n' + text)
    fonts = typst.Fonts(include_system_fonts=False, font_paths=[FONT_DIR])
    image = digits._rasterise(typst.compile(source.encode(), format="pdf", font_paths=fonts))
    if noise:
        noisy = _scanner_noise(bytearray(image.pixels), image.width, image.height, noise=noise,
                               rng=random.Random(3))
        image = digits.Gray(image.width, image.height, bytes(noisy))
    return image


def whole(image: digits.Gray) -> tuple[int, int, int, int]:
    return (0, 0, image.width, image.height)


@pytest.mark.parametrize("text", ["๐๑๒๓๔๕๖๗๘๙", "๔๕๘๙", "๐๖๐๔/ว", "๒๕๖๙", "๑๗", "๐๐๑๗.๑"])
def test_the_digits_tesseract_confuses_are_told_apart(text):
    image = printed(text)
    assert digits.read_shapes(image, whole(image)) == text


def test_digits_are_read_through_scanner_noise():
    image = printed("๙๘๗๖๕๔๓๒๑๐", noise=0.004)
    assert digits.read_shapes(image, whole(image)) == "๙๘๗๖๕๔๓๒๑๐"


def test_a_word_that_is_not_digits_is_left_alone():
    image = printed("กรม")
    assert digits.read_shapes(image, whole(image)) is None
