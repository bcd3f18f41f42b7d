"""Uploading a scan, the worker's job, registering it, and the text for the search index.

OCR itself is not run here (see test_pipeline.py): these tests take the path of a machine
without ocrmypdf (``SARABAN_OCR_COMMAND`` names a program that does not exist), or set the
intake's outcome as the worker would have left it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django_tasks_db.models import DBTaskResult

from saraban.agencies.actors import resolve_actor
from saraban.core.errors import (
    Conflict,
    FileRejected,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from saraban.core.models import AuditEvent
from saraban.intake.models import IntakeState, ScanIntake
from saraban.intake.ocr import NO_OCR_MESSAGE, missing_tools
from saraban.intake.services import (
    access_intake,
    intake_process,
    intake_register,
    intake_upload,
    intakes_pending,
    ocr_text_for_letter,
)
from saraban.letters import files
from saraban.letters.models import DerivedFile, FileRole
from saraban.letters.services import LetterDetails, Upload

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00"
       b"\x00:~\x9bU\x00\x00\x00\nIDATx\x9cc\xf8\x0f\x00\x01\x01\x01\x00\x18\xdd\x8d\xb0\x00"
       b"\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def no_ocr(settings):
    settings.SARABAN_OCR_COMMAND = "saraban-test-no-such-ocrmypdf"
    assert missing_tools()


def upload(org, content=PNG, registry=None):
    return intake_upload(actor=resolve_actor(org.clerk), registry=registry or org.central,
                         upload=Upload(filename="scan.png", content=content))


def run_queued_reads():
    """What the worker does with the queued OCR jobs (in this test's connection)."""
    for job in DBTaskResult.objects.filter(task_path__endswith="read_scan", status="READY"):
        job.task.func(*job.args_kwargs["args"], **job.args_kwargs["kwargs"])
        job.status = "SUCCESSFUL"
        job.save(update_fields=["status"])


def read_as_done(intake, text="เรื่อง ทดสอบ", pdf=None, proposed=None):
    """Leave the intake as the worker leaves a scan it read."""
    intake.state = IntakeState.DONE
    intake.ocr_text = text
    intake.searchable = files.store_file(pdf, allowed={files.PDF}) if pdf else None
    intake.proposed = proposed or {}
    intake.save()
    return intake


def details(**extra: Any) -> LetterDetails:
    values: dict[str, Any] = {"kind": "external", "subject": "ขอเชิญประชุม",
                              "sender_text": "กรมการปกครอง"}
    values.update(extra)
    return LetterDetails(**values)


def test_an_upload_is_kept_queued_and_audited(org):
    intake = upload(org)
    assert intake.state == IntakeState.QUEUED
    assert intake.original.content_type == files.PNG
    assert DBTaskResult.objects.filter(task_path__endswith="read_scan",
                                       status="READY").count() == 1
    assert AuditEvent.objects.filter(action="intake_upload", target_id=intake.pk).exists()
    assert list(intakes_pending(org.clerk)) == [intake]


def test_a_file_that_is_not_a_scan_is_refused_and_nothing_is_kept(org):
    with pytest.raises(FileRejected) as caught:
        upload(org, content=b"PK\x03\x04 a zip, not a scan")
    assert caught.value.field == "scan"
    assert not ScanIntake.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_only_a_clerk_of_the_registry_may_upload(org):
    with pytest.raises(PermissionDenied):
        intake_upload(actor=resolve_actor(org.officer), registry=org.central,
                      upload=Upload(filename="scan.png", content=PNG))
    assert not ScanIntake.objects.exists()


def test_without_ocr_the_scan_has_no_text_and_a_clear_message(org, no_ocr):
    intake = upload(org)
    run_queued_reads()
    intake.refresh_from_db()
    assert intake.state == IntakeState.NO_TEXT
    assert intake.message == NO_OCR_MESSAGE
    assert intake.ocr_text == ""
    assert intake.proposed == {}
    assert intake.searchable is None
    assert AuditEvent.objects.filter(action="intake_read", target_id=intake.pk).exists()


def test_without_ocr_the_scan_is_still_registered_with_its_original(org, no_ocr):
    intake = upload(org)
    intake_process(intake.pk)
    entry = intake_register(actor=resolve_actor(org.clerk), intake=intake,
                            details=details(number="มท 0307/1"))
    letter = entry.letter
    main = letter.files.get(role=FileRole.MAIN)
    assert main.blob_id == intake.original_id
    assert main.filename == "scan.png"
    assert letter.is_paper is False
    intake.refresh_from_db()
    assert intake.letter_id == letter.pk
    assert not DerivedFile.objects.filter(entry=entry, purpose="ocr").exists()
    assert ocr_text_for_letter(letter) == ""
    assert list(intakes_pending(org.clerk)) == []


def test_a_finished_job_is_not_run_again(org, no_ocr):
    intake = upload(org)
    intake_process(intake.pk)
    read_as_done(intake, text="ข้อความ")
    assert intake_process(intake.pk).state == IntakeState.DONE
    intake.refresh_from_db()
    assert intake.ocr_text == "ข้อความ"


def test_registering_keeps_the_searchable_pdf_beside_the_original(org, sample_pdf):
    intake = read_as_done(upload(org), text="เรื่อง ขอเชิญประชุม\nมท 0307/1", pdf=sample_pdf,
                          proposed={"number": "มท 0307/1", "subject": "ขอเชิญประชุม"})
    entry = intake_register(actor=resolve_actor(org.clerk), intake=intake,
                            details=details(number="มท 0307/1", subject="ขอเชิญประชุมด่วน"))
    derived = DerivedFile.objects.get(entry=entry, purpose="ocr")
    assert derived.source_id == intake.original_id
    assert derived.blob_id == intake.searchable_id
    assert ocr_text_for_letter(entry.letter) == "เรื่อง ขอเชิญประชุม\nมท 0307/1"
    event = AuditEvent.objects.get(action="intake_register", target_id=intake.pk)
    assert event.details["letter"] == entry.letter_id
    assert event.details["corrected"] == ["subject"]  # the number was taken as read


def test_a_scan_is_registered_once(org):
    intake = read_as_done(upload(org))
    intake_register(actor=resolve_actor(org.clerk), intake=intake, details=details())
    with pytest.raises(Conflict):
        intake_register(actor=resolve_actor(org.clerk), intake=intake, details=details())


def test_bad_details_register_nothing(org):
    intake = read_as_done(upload(org))
    with pytest.raises(ValidationFailed) as caught:
        intake_register(actor=resolve_actor(org.clerk), intake=intake,
                        details=details(subject=" "))
    assert caught.value.code == "subject_required"
    intake.refresh_from_db()
    assert intake.letter_id is None


def test_a_scan_read_after_it_was_registered_still_gets_its_searchable_pdf(org, sample_pdf):
    intake = upload(org)
    entry = intake_register(actor=resolve_actor(org.clerk), intake=intake, details=details())
    from saraban.intake.services import _finish

    _finish(intake, state=IntakeState.DONE, message="", text="ข้อความ", pdf=sample_pdf,
            pages=1, proposed={}, seconds=1.0)
    assert DerivedFile.objects.filter(entry=entry, purpose="ocr").exists()
    assert ocr_text_for_letter(entry.letter) == "ข้อความ"


def test_other_peoples_scans_are_not_found(org):
    intake = upload(org)
    assert access_intake(org.clerk, intake.pk) == intake
    with pytest.raises(NotFound):
        access_intake(org.officer, intake.pk)
    assert list(intakes_pending(org.officer)) == []


def test_an_abandoned_run_is_claimed_again(org, no_ocr):
    from django.utils import timezone

    intake = upload(org)
    ScanIntake.objects.filter(pk=intake.pk).update(
        state=IntakeState.RUNNING, started_at=timezone.now() - dt.timedelta(hours=2))
    assert intake_process(intake.pk).state == IntakeState.NO_TEXT


@pytest.fixture
def sample_pdf():
    from saraban.documents.render import render_form
    from saraban.documents.samples import sample_form_data

    return render_form("external", sample_form_data("external"))
