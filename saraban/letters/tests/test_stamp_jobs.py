"""The stamped copy is made by the worker after the action that needs it, never by a page."""

from __future__ import annotations

import io

from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from saraban.agencies.actors import resolve_actor
from saraban.letters.models import DerivedFile
from saraban.letters.services import LetterDetails, Upload, letter_register_incoming
from saraban.letters.stamping import StampState, stamped_copy_state
from saraban.letters.tests.jobs import run_queued_jobs
from saraban.letters.tests.test_register import tiny_pdf
from saraban.routing.services import (
    Target,
    routing_assign,
    routing_endorse,
    routing_register_in_unit,
)
from saraban.signatures.models import SignatureCheck


def _register(org, **kw):
    return letter_register_incoming(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject="ขอเชิญประชุม", sender_text="กรมการปกครอง"),
        **kw,
    )


def _stamp_jobs() -> int:
    return DBTaskResult.objects.filter(task_path__endswith="make_receipt_stamp",
                                       status="READY").count()


def test_the_page_waits_for_the_worker_and_writes_nothing(org):
    entry = _register(org, main_file=Upload("scan.pdf", tiny_pdf()))
    assert _stamp_jobs() == 1
    client = Client()
    client.force_login(org.clerk)
    url = reverse("web:letter_stamped", args=[entry.letter_id, entry.pk])
    for _ in range(2):
        page = client.get(url)
        assert page.status_code == 202
        assert "กำลังจัดทำสำเนาประทับตรา" in page.content.decode()
    assert _stamp_jobs() == 1 and not DerivedFile.objects.exists()
    run_queued_jobs()
    assert stamped_copy_state(entry).state == StampState.READY
    response = client.get(url)
    assert response.status_code == 200
    assert response.getvalue().startswith(b"%PDF-")  # read to the end: the file is closed


def test_an_endorsement_queues_the_copy_that_carries_it(org):
    entry = _register(org, main_file=Upload("scan.pdf", tiny_pdf()))
    run_queued_jobs()
    routing_endorse(actor=resolve_actor(org.director), letter=entry.letter, text="ทราบ")
    assert stamped_copy_state(entry).state == StampState.PENDING
    assert _stamp_jobs() == 1
    run_queued_jobs()
    assert stamped_copy_state(entry).state == StampState.READY
    assert DerivedFile.objects.filter(entry=entry).count() == 2


def test_registration_in_a_unit_queues_its_own_copy(org):
    entry = _register(org, main_file=Upload("scan.pdf", tiny_pdf()))
    run_queued_jobs()
    [task] = routing_assign(actor=resolve_actor(org.director), letter=entry.letter,
                            targets=[Target(unit=org.ict)])
    unit_entry = routing_register_in_unit(actor=resolve_actor(org.clerk), assignment=task)
    assert stamped_copy_state(unit_entry).state == StampState.PENDING
    run_queued_jobs()
    assert stamped_copy_state(unit_entry).state == StampState.READY


def test_a_paper_letter_has_no_copy_and_queues_nothing(org):
    entry = _register(org)
    assert _stamp_jobs() == 0
    assert stamped_copy_state(entry).state == StampState.NONE


def test_backfill_queues_what_older_letters_miss(org):
    entry = _register(org, main_file=Upload("scan.pdf", tiny_pdf()))
    run_queued_jobs()
    DerivedFile.objects.all().delete()
    SignatureCheck.objects.all().delete()
    out = io.StringIO()
    call_command("backfill", "--dry-run", stdout=out)
    assert "stamped copies to queue: 1; letters to verify to queue: 1" in out.getvalue()
    assert not DBTaskResult.objects.filter(status="READY").exists()
    call_command("backfill", stdout=io.StringIO())
    assert run_queued_jobs() == 2
    assert stamped_copy_state(entry).state == StampState.READY
    assert SignatureCheck.objects.filter(blob_id=entry.letter.files.get().blob_id).exists()
    out = io.StringIO()
    call_command("backfill", stdout=out)
    assert "queued: 0; letters to verify queued: 0" in out.getvalue()


def test_a_pdf_that_cannot_carry_a_stamp_says_so_instead_of_waiting(org):
    from saraban.core.audit import audit_verify
    from saraban.letters.tests import bombs

    entry = _register(org, main_file=Upload("odd.pdf", bombs.pdf_unreadable_for_stamp()))
    run_queued_jobs()  # the job records the failure; it does not crash the worker
    copy = stamped_copy_state(entry)
    assert (copy.state, copy.code) == (StampState.FAILED, "pdf_unreadable")
    client = Client()
    client.force_login(org.clerk)
    page = client.get(reverse("web:letter_stamped", args=[entry.letter_id, entry.pk]))
    assert page.status_code == 422
    assert "ประทับตรารับบนไฟล์ PDF นี้ไม่ได้" in page.content.decode()
    assert not DerivedFile.objects.exists()
    assert all(problem is None for _a, _n, problem in audit_verify())
