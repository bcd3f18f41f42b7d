"""Bombs through the API: each refused with its stable code and nothing kept."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from saraban.core import sandbox
from saraban.letters.models import Blob, Letter
from saraban.letters.tests import bombs
from saraban.letters.tests.test_refused_files import stored_files

from .test_letters import incoming_data

GiB = 1024 * 1024 * 1024


@pytest.mark.parametrize(
    ("field", "name", "build", "code"),
    [
        ("file", "scan.pdf", bombs.pdf_huge_image, "file_bomb"),
        ("file", "scan.pdf", bombs.pdf_deeply_nested, "file_too_complex"),
        ("file", "scan.png", bombs.png_bomb, "file_bomb"),
        ("attachments", "report.docx", bombs.docx_zip_bomb, "file_bomb"),
        ("attachments", "report.docx", bombs.docx_with_traversal, "zip_unsafe_name"),
        ("attachments", "report.docx", bombs.docx_with_entities, "office_invalid"),
    ],
    ids=["pdf-image", "pdf-nested", "png", "docx-zip-bomb", "docx-traversal", "docx-entities"],
)
def test_a_bomb_is_refused_with_its_code_and_nothing_is_kept(api, org, field, name, build, code):
    uploads = {field: SimpleUploadedFile(name, build())}
    if field == "attachments":
        uploads["file"] = SimpleUploadedFile("scan.pdf", bombs.plain_pdf())
    response = api.register("incoming", incoming_data(org), api.as_user("clerk"), **uploads)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code
    assert body["message"]
    assert Letter.objects.count() == Blob.objects.count() == 0
    assert stored_files() == set()
    stats = sandbox.last_run()
    assert stats is not None and stats.peak_rss < GiB
