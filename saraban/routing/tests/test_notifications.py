"""Notifications by e-mail (Django's locmem backend) and in the app, as each person chooses."""

from __future__ import annotations

import pytest
from django.core import mail
from django_tasks_db.models import DBTaskResult

from saraban.agencies.actors import resolve_actor
from saraban.letters.services import LetterDetails, letter_register_incoming
from saraban.routing.models import Notification, NotificationKind, NotificationPreference
from saraban.routing.services import Target, routing_assign

LOCMEM = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


@pytest.fixture
def mailbox(settings, org):
    settings.MAILERS = LOCMEM
    for person, address in ((org.officer, "officer@example.go.th"),
                            (org.director, "director@example.go.th")):
        person.email = address
        person.save(update_fields=["email"])
    mail.outbox = []
    return mail.outbox


def assign(org, urgency=1, subject="ขอความร่วมมือตอบแบบสำรวจ"):
    letter = letter_register_incoming(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject=subject, urgency=urgency,
                              sender_text="กรมการปกครอง"),
    ).letter
    routing_assign(actor=resolve_actor(org.director), letter=letter,
                   targets=[Target(person=org.officer)])
    return letter


def run_worker():
    """What the worker does with the queued e-mail jobs (in this test's connection)."""
    for job in DBTaskResult.objects.filter(task_path__endswith="send_notification_email",
                                           status="READY").order_by("pk"):
        job.task.func(*job.args_kwargs["args"], **job.args_kwargs["kwargs"])
        job.status = "SUCCESSFUL"
        job.save(update_fields=["status"])


def test_an_assignment_goes_to_the_bell_and_by_e_mail_by_default(mailbox, org):
    letter = assign(org)
    assert Notification.objects.filter(person=org.officer, letter=letter,
                                       kind=NotificationKind.ASSIGNED).count() == 1
    assert mailbox == []  # sent by the worker, after the action
    run_worker()
    [message] = mailbox
    assert message.to == ["officer@example.go.th"]
    assert "ขอความร่วมมือตอบแบบสำรวจ" in message.subject
    assert f"/letters/{letter.pk}/" in message.body


def test_e_mail_off_sends_no_mail_but_keeps_the_bell(mailbox, org):
    NotificationPreference.objects.create(person=org.officer, kind=NotificationKind.ASSIGNED,
                                          in_app=True, email=False)
    letter = assign(org)
    run_worker()
    assert mailbox == []
    assert Notification.objects.filter(person=org.officer, letter=letter).count() == 1


def test_in_app_off_writes_no_bell_row_but_still_mails(mailbox, org):
    NotificationPreference.objects.create(person=org.officer, kind=NotificationKind.ASSIGNED,
                                          in_app=False, email=True)
    letter = assign(org)
    run_worker()
    assert len(mailbox) == 1
    assert not Notification.objects.filter(person=org.officer, letter=letter).exists()


def test_preferences_are_per_kind(mailbox, org):
    NotificationPreference.objects.create(person=org.officer, kind=NotificationKind.ASSIGNED,
                                          in_app=False, email=False)
    urgent = assign(org, urgency=3, subject="ด่วนที่สุด ขอข้อมูล")  # an urgent kind: still on
    run_worker()
    assert len(mailbox) == 1
    assert Notification.objects.filter(person=org.officer, letter=urgent,
                                       kind=NotificationKind.URGENT).count() == 1


def test_no_address_no_mail(mailbox, org):
    org.officer.email = ""
    org.officer.save(update_fields=["email"])
    assign(org)
    run_worker()
    assert mailbox == []
