"""Running ocrmypdf (Tesseract ``tha+eng``) on one scan: a searchable PDF and its text.

ocrmypdf and Tesseract are Debian packages (``make ocr-deps``), optional at run time: without
them ``run_ocr`` raises ``OcrUnavailable`` and the scan is registered without text. Pages that
already carry text (an electronic PDF) are kept as they are (``--skip-text``) and their text
is taken with pdftotext.

A scan is untrusted: before OCR it is checked again in the sandbox (``files.inspect``: pages,
declared image pixels, inflated size), and the pages of a PDF must fit ``max_pixels`` at the
OCR resolution. ocrmypdf then runs with one job, ``--max-image-mpixels``, and under
``RLIMIT_AS``/``RLIMIT_CPU`` (``sandbox.limit_command``) that its Ghostscript and Tesseract
inherit, each bounded on its own.

Settings (all optional): ``SARABAN_OCR_COMMAND`` (``ocrmypdf``), ``SARABAN_OCR_LANGUAGES``
(``tha+eng``), ``SARABAN_OCR_TIMEOUT`` (seconds, 600), ``SARABAN_OCR_IMAGE_DPI`` (300, for
images that do not say their resolution), ``SARABAN_OCR_MEMORY_BYTES`` (1 GiB for each
process of ocrmypdf).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from django.conf import settings

from saraban.core import sandbox
from saraban.core.errors import FileRejected
from saraban.letters import files

__all__ = ["OcrFailed", "OcrResult", "OcrUnavailable", "missing_tools", "run_ocr"]

log = logging.getLogger(__name__)

PLUGIN: Final = Path(__file__).with_name("_ocrmypdf_plugin.py")
NO_OCR_MESSAGE: Final = (
    "ไม่มีโปรแกรมอ่านข้อความจากภาพ (OCR) ในเครื่องนี้ ลงทะเบียนได้โดยกรอกข้อมูลเอง"
)
_SUFFIX: Final = {files.PDF: ".pdf", files.PNG: ".png", files.JPEG: ".jpg", files.TIFF: ".tif"}
_SKIPPED: Final = re.compile(r"^\s*\[OCR skipped on page(?:\(s\))? [\d, -]+\]\s*$")
# ocrmypdf's exit codes and what the clerk is told.
_EXIT_MESSAGES: Final = {
    2: "อ่านไฟล์ภาพหรือ PDF นี้ไม่ได้ (ไฟล์อาจเสียหาย หรือภาพมีพื้นโปร่งใส)",
    8: "ไฟล์ PDF นี้ถูกเข้ารหัสไว้ จึงอ่านข้อความไม่ได้",
}


class OcrUnavailable(Exception):
    """ocrmypdf or Tesseract (with Thai) is not installed on this machine."""


class OcrFailed(Exception):
    """OCR ran and failed; the message is for the clerk (Thai)."""


@dataclass(frozen=True, slots=True)
class OcrResult:
    pdf: bytes  # the searchable PDF (deskewed, turned upright, with a text layer)
    text: str  # as Tesseract wrote it, pages separated by form feeds
    pages: int


def _command() -> str:
    return str(getattr(settings, "SARABAN_OCR_COMMAND", "ocrmypdf"))


def _languages() -> str:
    return str(getattr(settings, "SARABAN_OCR_LANGUAGES", "tha+eng"))


def _memory() -> int:
    return int(getattr(settings, "SARABAN_OCR_MEMORY_BYTES", 1024 * 1024 * 1024))


def _dpi() -> int:
    return int(getattr(settings, "SARABAN_OCR_IMAGE_DPI", 300))


def precheck(path: Path, *, content_type: str) -> None:
    """Refuse a scan that OCR must not open: a bomb, or pages too large to rasterise.

    Raises ``OcrFailed`` with the Thai reason (``files.inspect`` gives the code).
    """
    try:
        facts = files.inspect(path, content_type)
    except FileRejected as exc:
        log.warning("OCR refused a scan (%s): %s", exc.code, exc.details)
        raise OcrFailed(exc.message) from exc
    area = float(facts.get("largest_page_area", 0))  # square points
    max_pixels = int(files.file_limits()["max_pixels"])
    if area * (_dpi() / 72) ** 2 > max_pixels:
        raise OcrFailed("หน้าเอกสารมีขนาดใหญ่เกินกว่าจะอ่านข้อความจากภาพได้")


def missing_tools() -> list[str]:
    """The programs OCR needs that are not on PATH (an empty list: OCR can run)."""
    return [name for name in (_command(), "tesseract") if shutil.which(name) is None]


def run_ocr(data: bytes, *, content_type: str) -> OcrResult:
    """OCR one scan (PDF, PNG, JPEG or TIFF bytes).

    Raises ``OcrUnavailable`` when the programs are missing, ``OcrFailed`` (with a Thai
    message) when the file cannot be read or OCR takes too long.
    """
    if missing_tools():
        raise OcrUnavailable(NO_OCR_MESSAGE)
    timeout = float(getattr(settings, "SARABAN_OCR_TIMEOUT", 600))
    with tempfile.TemporaryDirectory(prefix="saraban-ocr-") as tmp:
        source = Path(tmp) / f"scan{_SUFFIX.get(content_type, '.bin')}"
        source.write_bytes(data)
        precheck(source, content_type=content_type)
        output = Path(tmp) / "searchable.pdf"
        sidecar = Path(tmp) / "text.txt"
        max_mpixels = files.file_limits()["max_pixels"] / 1_000_000
        command = [
            _command(), "--plugin", str(PLUGIN), "-l", _languages(),
            "--rotate-pages", "--deskew", "--output-type", "pdf",
            "--sidecar", str(sidecar), "--quiet", "--jobs", "1",
            "--max-image-mpixels", f"{max_mpixels:g}",
        ]
        if content_type == files.PDF:
            command.append("--skip-text")
        else:
            command += ["--image-dpi", str(_dpi())]
        # Only what ocrmypdf needs: no secret of the node reaches it.
        env = {key: value for key, value in os.environ.items()
               if key in ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "TESSDATA_PREFIX")}
        env["SARABAN_OCR_LANGUAGES"] = _languages()
        env["OMP_THREAD_LIMIT"] = "1"
        limited = sandbox.limit_command([*command, str(source), str(output)],
                                        memory=_memory(), cpu=int(timeout))
        try:
            done = subprocess.run(  # noqa: S603  (our own command line, no shell)
                limited, capture_output=True, timeout=timeout, check=False, env=env,
            )
        except subprocess.TimeoutExpired as exc:
            raise OcrFailed(
                f"อ่านข้อความจากภาพนานเกิน {int(timeout)} วินาที จึงหยุดไว้"
            ) from exc
        except OSError as exc:
            raise OcrUnavailable(NO_OCR_MESSAGE) from exc
        if done.returncode == 3:  # a missing dependency (e.g. Thai language data)
            log.warning("ocrmypdf is missing a dependency: %s", done.stderr[-2000:])
            raise OcrUnavailable(NO_OCR_MESSAGE)
        if done.returncode != 0 or not output.exists():
            log.warning("ocrmypdf failed (exit %s): %s", done.returncode,
                        done.stderr.decode("utf-8", "replace")[-2000:])
            raise OcrFailed(_EXIT_MESSAGES.get(
                done.returncode, "อ่านข้อความจากภาพไม่สำเร็จ กรุณากรอกข้อมูลเอง"
            ))
        try:  # ocrmypdf's output is read like any file: in the sandbox
            pages = int(files.inspect(output, files.PDF)["pages"])
        except FileRejected as exc:
            raise OcrFailed("อ่านข้อความจากภาพไม่สำเร็จ กรุณากรอกข้อมูลเอง") from exc
        pdf = output.read_bytes()
        text = sidecar.read_text("utf-8", "replace") if sidecar.exists() else ""
        text = _fill_skipped_pages(text, output)
        return OcrResult(pdf=pdf, text=text, pages=pages)


def _fill_skipped_pages(text: str, pdf: Path) -> str:
    """Pages ocrmypdf left alone because they have text: their text, from pdftotext."""
    pages = text.split("\f")
    for number, page in enumerate(pages, start=1):
        if _SKIPPED.match(page):
            pages[number - 1] = _pdftotext(pdf, number)
    return "\f".join(pages)


def _pdftotext(pdf: Path, page: int) -> str:
    if shutil.which("pdftotext") is None:
        return ""
    command = ["pdftotext", "-enc", "UTF-8", "-f", str(page), "-l", str(page), str(pdf), "-"]
    done = subprocess.run(  # noqa: S603
        sandbox.limit_command(command, memory=_memory(), cpu=60),
        capture_output=True, timeout=60, check=False,
    )
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else ""
