"""Overdue detection and reminders with a frozen clock, across the change of year."""

from __future__ import annotations

import datetime as dt
import io

import time_machine
from django.core.management import call_command

from saraban.agencies.actors import resolve_actor
from saraban.core.thai import BANGKOK
from saraban.letters.services import LetterDetails, letter_register_incoming
from saraban.routing.models import Notification, NotificationKind
from saraban.routing.reminders import overdue, send_reminders
from saraban.routing.services import Target, routing_acknowledge, routing_assign


def bkk(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=BANGKOK)


def reminders_for(person) -> int:
    return Notification.objects.filter(person=person, kind=NotificationKind.OVERDUE).count()


def assign_most_urgent(org):
    letter = letter_register_incoming(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject="ขอข้อมูลด่วนที่สุด", urgency=3,
                              sender_text="กรมการปกครอง"),
    ).letter
    [assignment] = routing_assign(actor=resolve_actor(org.director), letter=letter,
                                  targets=[Target(person=org.officer)])
    return assignment


def remind_command() -> str:
    out = io.StringIO()
    call_command("routing", "remind", stdout=out)
    return out.getvalue()


def test_most_urgent_on_new_years_eve_is_overdue_after_1630_and_reminded_daily(org):
    with time_machine.travel(bkk(2026, 12, 31, 9, 0), tick=False):
        assignment = assign_most_urgent(org)
        assert assignment.due_at == bkk(2026, 12, 31, 16, 30)
    with time_machine.travel(bkk(2026, 12, 31, 16, 29), tick=False):
        assert list(overdue()) == []
        assert send_reminders() == 0
    with time_machine.travel(bkk(2026, 12, 31, 16, 31), tick=False):
        assert list(overdue()) == [assignment]
        assert send_reminders() == 1
        assert send_reminders() == 0  # not twice
        assert remind_command() == "OK 0 reminders sent\n"
    assert reminders_for(org.officer) == 1
    with time_machine.travel(bkk(2027, 1, 1, 9, 0), tick=False):  # พ.ศ. 2570 now
        assert list(overdue()) == [assignment]
        assert send_reminders() == 0  # less than a day since the last one
    with time_machine.travel(bkk(2027, 1, 1, 16, 32), tick=False):
        assert remind_command() == "OK 1 reminders sent\n"
        assert send_reminders() == 0
    assert reminders_for(org.officer) == 2
    with time_machine.travel(bkk(2027, 1, 5, 10, 0), tick=False):
        assert list(overdue()) == [assignment]
        routing_acknowledge(actor=resolve_actor(org.officer), assignment=assignment)
        assert list(overdue()) == [assignment]  # acknowledged is still open, still late
        assert send_reminders() == 1
    assert reminders_for(org.officer) == 3
    # The director who assigned it heard once, with the first reminder.
    [told] = Notification.objects.filter(person=org.director, kind=NotificationKind.OVERDUE)
    assert told.created_at == bkk(2026, 12, 31, 16, 31)
    assert org.officer.display_name() in told.text


def test_the_reminder_links_the_letter_and_shows_on_the_bell(client, org):
    with time_machine.travel(bkk(2026, 12, 31, 9, 0), tick=False):
        assignment = assign_most_urgent(org)
    with time_machine.travel(bkk(2027, 1, 1, 8, 0), tick=False):
        assert send_reminders() == 1
    reminder = Notification.objects.get(person=org.officer, kind=NotificationKind.OVERDUE)
    assert reminder.letter_id == assignment.letter_id
    assert reminder.text.startswith("เกินกำหนด")
    client.force_login(org.officer)
    html = client.get("/notifications/").content.decode()
    assert "เกินกำหนด: ขอข้อมูลด่วนที่สุด" in html


def test_the_worker_loop_stops_when_told(org):
    import threading

    from saraban.core.management.commands.worker import run_reminders

    stop = threading.Event()
    stop.set()
    thread = threading.Thread(target=run_reminders, args=(stop,), kwargs={"interval": 0.01})
    thread.start()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert reminders_for(org.officer) == 0
