"""An independent validator (poppler's pdfsig) agrees, and the signature block is visible."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from saraban.signatures.fixtures import need_tool
from saraban.signatures.pades import Appearance, add_overlay, sign_pdf
from saraban.signatures.testing import (
    TEST_PASSPHRASE,
    append_unsigned_update,
    flip_signed_byte,
)

from .test_pades import letter_pdf

pytestmark = pytest.mark.django_db


def run_pdfsig(pdfsig: str, tmp_path: Path, pdf: bytes, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    # -nocert: the test CA is not in poppler's NSS database; the cryptographic check and
    # the coverage check below do not depend on it (pyHanko checks the chain).
    result = subprocess.run([pdfsig, "-nocert", str(path)], capture_output=True, text=True,
                            timeout=60, check=False)
    return result.stdout + result.stderr


def test_pdfsig_validates_the_signed_file_and_sees_tampering(pdfsig, director_identity, tsa,
                                                             tmp_path):
    signed = sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE)
    good = run_pdfsig(pdfsig, tmp_path, signed, "good")
    assert "Signer Certificate Common Name: นายสมชาย ใจดี" in good
    assert "Signature Validation: Signature is Valid." in good
    assert "Total document signed" in good and "Not total document signed" not in good

    changed = run_pdfsig(pdfsig, tmp_path, flip_signed_byte(signed), "byte")
    assert "Signature Validation: Digest Mismatch." in changed

    added = run_pdfsig(pdfsig, tmp_path, append_unsigned_update(signed, what="page"), "added")
    assert "Not total document signed" in added

    # A Saraban stamp overlay: still a valid signature, reported as not covering everything.
    from saraban.signatures._appearance import render_block

    stamped = add_overlay(signed, render_block(["เลขรับ 1234"], 150, 40), page=0,
                          box=(420, 760, 570, 800))
    overlay = run_pdfsig(pdfsig, tmp_path, stamped, "overlay")
    assert "Signature Validation: Signature is Valid." in overlay
    assert "Not total document signed" in overlay


def test_pdfsig_reads_a_b_lta_file(pdfsig, director_identity, tsa, tmp_path):
    signed = sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE, level="B-LTA")
    out = run_pdfsig(pdfsig, tmp_path, signed, "lta")
    assert out.count("Signature Validation: Signature is Valid.") >= 1
    assert "Signature Type: ETSI.CAdES.detached" in out
    assert "Time-Stamping Authority" in out  # the document timestamp is listed too


def _gray_pixels(pgm: bytes) -> tuple[int, int, bytes]:
    """Width, height and pixel bytes of a binary PGM (P5) image."""
    parts = pgm.split(maxsplit=4)
    assert parts[0] == b"P5"
    width, height = int(parts[1]), int(parts[2])
    return width, height, parts[4][: width * height]


def test_the_thai_signature_block_is_drawn_where_asked(director_identity, no_tsa, tmp_path):
    need_tool(shutil.which("pdftoppm") is not None, "poppler's pdftoppm (poppler-utils)")
    box = (330.0, 90.0, 550.0, 160.0)
    signed = sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE, appearance=(
        Appearance(page=-1, box=box, lines=("ลงนามโดย นายสมชาย ใจดี", "ผู้อำนวยการ"))))
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    # 72 dpi: one pixel per point, so the box's coordinates are pixel coordinates.
    subprocess.run(["pdftoppm", "-gray", "-r", "72", "-f", "1", "-l", "1", str(path),
                    str(tmp_path / "page")], check=True, timeout=60)
    (image,) = tmp_path.glob("page*.pgm")
    width, height, pixels = _gray_pixels(image.read_bytes())

    def dark_share(x1: float, y1: float, x2: float, y2: float) -> float:
        # PDF y grows upwards from the bottom; image rows grow downwards from the top.
        rows = range(height - int(y2), height - int(y1))
        cols = range(int(x1) + 3, int(x2) - 3)
        dark = sum(1 for r in rows for c in cols if pixels[r * width + c] < 160)
        return dark / (len(rows) * len(cols))

    inside = dark_share(box[0], box[1] + 3, box[2], box[3] - 3)
    beside = dark_share(box[0], box[1] - 80, box[2], box[1] - 10)
    assert inside > 0.03, "the signature block's text is not drawn"
    assert beside < 0.005
