"""One real OCR run: a generated letter, scanned turned and noisy, read by ocrmypdf.

Needs Debian's ocrmypdf and tesseract-ocr-tha (``make ocr-deps``): skipped without them,
unless ``CI`` is set, where it must run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import subprocess

import pytest

from saraban.agencies.actors import resolve_actor
from saraban.documents.samples import sample_form_data
from saraban.intake.models import IntakeState
from saraban.intake.ocr import missing_tools
from saraban.intake.scans import make_scan
from saraban.intake.services import intake_upload
from saraban.letters import files
from saraban.letters.services import Upload

from .test_services import run_queued_reads

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(missing_tools()) and not os.environ.get("CI"),
        reason="ocrmypdf/tesseract not installed (make ocr-deps); required when CI is set",
    ),
]


def test_a_turned_noisy_scan_is_read_into_a_searchable_pdf_and_proposed_fields(org, settings):
    # Thai digits, as the regulation prefers: Tesseract misreads them; they are read again
    # by their shape (saraban.intake.digits).
    data = dataclasses.replace(
        sample_form_data("external"), number="มท 0307/4821", date=dt.date(2026, 10, 14),
        thai_digits=True, subject="ขอเชิญประชุมคณะกรรมการพัฒนาระบบสารบรรณ",
        salutation="ปลัดกระทรวงมหาดไทย", agency_name="จังหวัดเชียงใหม่", urgency="ด่วนที่สุด",
    )
    png = make_scan("external", data, angle=-2.0, noise=0.006, seed=8)
    intake = intake_upload(actor=resolve_actor(org.clerk), registry=org.central,
                           upload=Upload(filename="scan.png", content=png))
    run_queued_reads()
    intake.refresh_from_db()

    assert intake.state == IntakeState.DONE, intake.message
    assert intake.pages == 1
    assert intake.duration is not None
    proposed = intake.proposed
    assert proposed["number"] == "มท ๐๓๐๗/๔๘๒๑"
    assert proposed["letter_date"] == "2026-10-14"
    assert proposed["subject"] == "ขอเชิญประชุมคณะกรรมการพัฒนาระบบสารบรรณ"
    assert proposed["urgency"] == 3
    assert proposed["sender_agency_id"] == org.province.pk  # "จังหวัดเชียงใหม่"
    # Thai, not a character at a time (the languages reach Tesseract Thai first).
    assert "ปลัดกระทรวงมหาดไทย" in intake.ocr_text

    # The searchable PDF has the text layer; the original is kept as it came.
    assert intake.searchable is not None
    assert intake.searchable.content_type == files.PDF
    assert files.read_blob(intake.original) == png
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(files.blob_path(intake.searchable.sha256)), "-"],
        capture_output=True, check=True,
    ).stdout.decode()
    # (poppler writes the invisible Thai text with spaces between characters)
    assert "ปลัดกระทรวงมหาดไทย" in re.sub(r"\s+", "", text)


def test_an_electronic_pdf_is_not_read_again_and_keeps_its_own_text():
    from saraban.documents.render import render_form
    from saraban.intake.ocr import run_ocr

    result = run_ocr(render_form("external", sample_form_data("external")),
                     content_type=files.PDF)
    assert result.pages == 1
    assert "[OCR skipped" not in result.text
    assert "พฤศจิกายน" in result.text


def test_a_broken_pdf_fails_with_a_thai_message():
    from saraban.intake.ocr import OcrFailed, run_ocr

    # Refused by the check before OCR (saraban.letters.filecheck), before ocrmypdf runs.
    with pytest.raises(OcrFailed, match="ไฟล์ PDF เสียหายหรืออ่านไม่ได้"):
        run_ocr(b"%PDF-1.4 not really", content_type=files.PDF)
