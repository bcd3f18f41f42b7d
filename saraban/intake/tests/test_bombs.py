"""Bombs at the OCR intake, with the real ocrmypdf: refused at upload with a code and nothing
kept; a bomb already in the store is refused before ocrmypdf opens it; ocrmypdf itself runs
under memory and CPU limits.

Needs Debian's ocrmypdf (``make ocr-deps``) for the tests that run it; skipped without it
unless ``CI`` is set.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from saraban.core import sandbox
from saraban.intake.models import IntakeState, ScanIntake
from saraban.intake.ocr import OcrFailed, missing_tools, run_ocr
from saraban.intake.services import intake_process
from saraban.letters import files
from saraban.letters.models import Blob
from saraban.letters.tests import bombs
from saraban.letters.tests.test_refused_files import stored_files

GiB = 1024 * 1024 * 1024
needs_ocr = pytest.mark.skipif(
    bool(missing_tools()) and not os.environ.get("CI"),
    reason="ocrmypdf/tesseract not installed (make ocr-deps); required when CI is set",
)


@pytest.fixture
def clerk(client, org):
    client.force_login(org.clerk)
    return client


@pytest.mark.parametrize(
    ("name", "build", "message"),
    [
        ("scan.pdf", bombs.pdf_flate_bomb, "ขยายตัวเกินกำหนด"),
        ("scan.png", bombs.png_bomb, "ภาพมีขนาดเกินกำหนด"),
        ("scan.tif", bombs.tiff_bomb, "ภาพมีขนาดเกินกำหนด"),
    ],
    ids=["pdf-flate-2GiB", "png-60000x60000", "tiff-100000x100000"],
)
def test_a_bomb_uploaded_for_ocr_is_refused_and_nothing_is_kept(clerk, org, name, build,
                                                                  message):
    response = clerk.post(reverse("web:intake"), {
        "registry": org.central.pk, "scan": SimpleUploadedFile(name, build()),
    })
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ScanIntake.objects.exists()
    assert not Blob.objects.exists()
    assert stored_files() == set()
    stats = sandbox.last_run()
    assert stats is not None and stats.outcome == "file_bomb"
    assert stats.peak_rss < GiB
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 < GiB


def _kept_without_checks(data: bytes) -> Blob:
    """A file put in the store as an older Saraban did, before files were checked."""
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    path = files.blob_path(sha)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return Blob.objects.create(sha256=sha, size=len(data), content_type=files.PDF)


@needs_ocr
def test_a_bomb_already_in_the_store_is_refused_before_ocrmypdf_opens_it(org):
    original = _kept_without_checks(bombs.pdf_flate_bomb())
    intake = ScanIntake.objects.create(
        tenant_id=org.central.tenant_id, registry=org.central, original=original,
        filename="old.pdf", created_by=org.clerk, created_at=timezone.now(),
    )
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = intake_process(intake.pk)
    assert done.state == IntakeState.FAILED
    assert "ขยายตัวเกินกำหนด" in done.message
    assert done.searchable is None
    assert sandbox.last_run().peak_rss < GiB  # type: ignore[union-attr]
    # ocrmypdf never started: no child of this process grew past what it was.
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 < max(
        children * 1024, GiB)


@needs_ocr
def test_a_page_too_large_to_rasterise_is_refused_before_ocr():
    data = bombs._pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] /Contents 4 0 R >>",
        bombs._stream(b"", b"q Q"),
    ])  # 200 x 200 inches: 3.7 gigapixels at 300 dpi
    with pytest.raises(OcrFailed, match="ใหญ่เกินกว่าจะอ่านข้อความ"):
        run_ocr(data, content_type=files.PDF)


@needs_ocr
def test_ocrmypdf_over_its_memory_limit_fails_cleanly(settings, tmp_path: Path):
    settings.SARABAN_OCR_MEMORY_BYTES = 48 * 1024 * 1024  # too little even to start
    with pytest.raises(OcrFailed):
        run_ocr(bombs.plain_pdf(), content_type=files.PDF)
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 < GiB
