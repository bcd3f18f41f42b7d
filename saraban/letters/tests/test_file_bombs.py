"""Bombs and malformed files through the web registration form: refused with a Thai message,
nothing kept (no file, no row), the parser's memory bounded and the web process untouched.

The bombs are built by ``bombs.py`` as the tests run; none is committed.
"""

from __future__ import annotations

import resource

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from saraban.agencies.actors import resolve_actor
from saraban.core import sandbox
from saraban.core.errors import FileRejected, ValidationFailed
from saraban.letters import files
from saraban.letters.models import Blob, Letter, RegisterEntry
from saraban.letters.services import LetterDetails, Upload, letter_register_incoming
from saraban.letters.stamp import stamp_pdf
from saraban.web.tests.test_register_forms import incoming_data

from . import bombs
from .test_refused_files import assert_nothing_stored, stored_files

GiB = 1024 * 1024 * 1024


@pytest.fixture
def clerk_client(client, org):
    client.force_login(org.clerk)
    return client


def assert_bounded() -> None:
    """The sandbox child stayed under 1 GiB, and so did this (the web) process."""
    stats = sandbox.last_run()
    assert stats is not None and stats.peak_rss < GiB, stats
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 < GiB


def post(client, org, **uploads):
    return client.post(reverse("web:register_incoming"), {**incoming_data(org), **uploads})


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (bombs.pdf_flate_bomb, "ขยายตัวเกินกำหนด"),
        (bombs.pdf_huge_image, "200,000 x 200,000 จุด"),
        (bombs.pdf_deeply_nested, "ซ้อนกันลึกเกินกำหนด"),
    ],
    ids=["flate-2GiB", "image-200000x200000", "nested-100000"],
)
def test_a_pdf_bomb_as_the_main_file_is_refused_and_nothing_is_kept(
    clerk_client, org, build, message
):
    response = post(clerk_client, org, main_file=SimpleUploadedFile("scan.pdf", build()))
    assert response.status_code == 200
    assert message in response.context["form"].errors["main_file"][0]
    assert_nothing_stored()
    assert_bounded()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (bombs.docx_zip_bomb, "zip bomb"),
        (bombs.docx_with_traversal, "../"),
        (bombs.docx_with_entities, "ไม่ถูกต้องตามรูปแบบ"),
        (bombs.zip_with_content_types_only, "ไม่ถูกต้องตามรูปแบบ"),
    ],
    ids=["zip-bomb-2GiB", "traversal", "entities", "content-types-only"],
)
def test_a_bad_office_attachment_is_refused_and_nothing_is_kept(
    clerk_client, org, build, message
):
    response = post(clerk_client, org,
                    main_file=SimpleUploadedFile("scan.pdf", bombs.plain_pdf()),
                    attachments=[SimpleUploadedFile("table.docx", build())])
    assert response.status_code == 200
    error = response.context["form"].errors["attachments"][0]
    assert error.startswith("table.docx:")
    assert message in error
    assert_nothing_stored()
    assert_bounded()


def test_real_office_and_opendocument_attachments_are_kept(clerk_client, org):
    response = post(clerk_client, org,
                    main_file=SimpleUploadedFile("scan.pdf", bombs.plain_pdf()),
                    attachments=[SimpleUploadedFile("a.docx", bombs.docx()),
                                 SimpleUploadedFile("b.odt", bombs.odt())])
    assert response.status_code == 302, response.context["form"].errors
    types = set(Blob.objects.values_list("content_type", flat=True))
    assert types == {files.PDF, files.ZIP_OFFICE, files.ODF}


@pytest.mark.parametrize(
    ("build", "code"),
    [  # (the 2 GiB Flate bomb's code: test_bombs.py at the OCR intake)
        (bombs.pdf_huge_image, "file_bomb"),
        (bombs.pdf_deeply_nested, "file_too_complex"),
        (bombs.png_bomb, "file_bomb"),
        (bombs.tiff_bomb, "file_bomb"),
    ],
    ids=["image", "nested", "png", "tiff"],
)
def test_each_bomb_has_its_stable_code(org, build, code):
    with pytest.raises(FileRejected) as caught:
        letter_register_incoming(
            actor=resolve_actor(org.clerk), registry=org.central,
            details=LetterDetails(kind="external", subject="ขอเชิญประชุม",
                                  sender_text="กรมการปกครอง"),
            main_file=Upload("scan", build()),
        )
    assert caught.value.code == code
    assert caught.value.field == "main_file"
    assert stored_files() == set()
    assert Letter.objects.count() == RegisterEntry.objects.count() == 0
    assert_bounded()


def test_limits_are_settings(org, settings):
    settings.SARABAN_FILE_LIMITS = {"max_pages": 0}
    with pytest.raises(FileRejected) as caught:
        files.store_file(bombs.plain_pdf())
    assert caught.value.code == "file_too_complex"
    assert "เกิน 0 หน้า" in caught.value.message


def test_a_pdf_pypdf_cannot_stamp_gives_a_clear_error_not_a_crash(org):
    data = bombs.pdf_unreadable_for_stamp()
    files.store_file(data)  # it opens, so it is kept; laying a stamp on it fails
    with pytest.raises(ValidationFailed) as caught:
        stamp_pdf(data, registry_name="สำนักงานปลัดกระทรวง", number="1",
                  date_text="1 ธ.ค. 2569", time_text="10:00 น.")
    assert caught.value.code == "pdf_unreadable"
    assert "อ่านไฟล์ PDF ไม่ได้" in caught.value.message


def test_a_stamp_that_goes_over_the_limits_is_refused_with_a_code(settings):
    settings.SARABAN_PARSE_MEMORY_BYTES = 64 * 1024 * 1024
    with pytest.raises(FileRejected) as caught:
        stamp_pdf(bombs.plain_pdf(), registry_name="ทะเบียนกลาง", number="1",
                  date_text="1 ธ.ค. 2569", time_text="10:00 น.")
    assert caught.value.code == "file_bomb"


def test_bytes_already_kept_are_not_read_again(org):
    blob = files.store_file(bombs.plain_pdf())
    before = sandbox.last_run()
    assert files.store_file(bombs.plain_pdf()) == blob
    assert sandbox.last_run() is before  # no second parse


def test_an_unsigned_file_is_parsed_once_for_every_agency(org):
    from saraban.signatures.pades import verify_pdf

    data = bombs.plain_pdf() + b"%% unique to this test\n"
    assert verify_pdf(data, tenant=org.ministry).status == "unsigned"
    before = sandbox.last_run()
    assert before is not None
    assert verify_pdf(data, tenant=org.province).status == "unsigned"
    assert sandbox.last_run() is before


def test_zips_inside_an_office_file_are_read_one_level_deep(org):
    chart = files.store_file(bombs.docx_with_nested_zips(1), allowed=files.ATTACHMENT_TYPES)
    assert chart.content_type == files.ZIP_OFFICE  # like an xlsx chart inside a docx
    with pytest.raises(FileRejected) as caught:
        files.store_file(bombs.docx_with_nested_zips(3), allowed=files.ATTACHMENT_TYPES)
    assert caught.value.code == "file_too_complex"
