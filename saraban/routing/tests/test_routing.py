"""The routing path of the issue: register, endorse, assign, acknowledge, close."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import ActingAssignment
from saraban.core.audit import history
from saraban.core.errors import PermissionDenied
from saraban.letters.access import can_see
from saraban.letters.services import LetterDetails, letter_register_incoming
from saraban.routing.models import AssignmentState, Notification, Purpose
from saraban.routing.reminders import overdue, send_reminders
from saraban.routing.services import (
    Target,
    desk,
    routing_acknowledge,
    routing_assign,
    routing_close,
    routing_endorse,
)


def register(org, urgency=3):
    return letter_register_incoming(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject="ขอข้อมูลด่วนที่สุด", urgency=urgency,
                              sender_text="กรมการปกครอง"),
    ).letter


def test_director_endorses_and_assigns_and_the_officer_closes(org):
    letter = register(org)
    director = resolve_actor(org.director)
    endorsement = routing_endorse(actor=director, letter=letter, text="มอบ ศสป. ดำเนินการ")
    [assignment] = routing_assign(actor=director, letter=letter, endorsement=endorsement,
                                  targets=[Target(person=org.officer)])
    assert assignment.due_at is not None  # ด่วนที่สุด: the same day
    officer = resolve_actor(org.officer)
    assert list(desk(org.officer)) == [assignment]
    assert can_see(org.officer, letter)
    assert Notification.objects.filter(person=org.officer, letter=letter).exists()
    routing_acknowledge(actor=officer, assignment=assignment)
    closed = routing_close(actor=officer, assignment=assignment, outcome="ส่งข้อมูลแล้ว")
    assert closed.state == AssignmentState.CLOSED
    assert list(desk(org.officer)) == []
    actions = [e.action for e in history("letter", letter.pk)]
    assert actions == ["letter_register_incoming", "routing_endorse", "routing_assign",
                       "routing_acknowledge", "routing_close"]


def test_endorsement_while_acting_records_both(org):
    letter = register(org)
    ActingAssignment.objects.create(position=org.director_post, person=org.officer,
                                    kind="acting", starts_on=dt.date(2020, 1, 1))
    actor = resolve_actor(org.officer, org.director_post)
    endorsement = routing_endorse(actor=actor, letter=letter, text="ทราบ")
    assert endorsement.person == org.officer
    assert endorsement.position == org.director_post
    assert endorsement.acting_kind == "acting"
    [event] = [e for e in history("letter", letter.pk) if e.action == "routing_endorse"]
    assert (event.actor, event.position, event.acting_kind) == (
        org.officer, org.director_post, "acting")


def test_an_officer_may_not_endorse(org):
    letter = register(org)
    routing_assign(actor=resolve_actor(org.director), letter=letter,
                   targets=[Target(person=org.officer, purpose=Purpose.INFORMATION)])
    with pytest.raises(PermissionDenied):
        routing_endorse(actor=resolve_actor(org.officer), letter=letter, text="ทราบ")


def test_overdue_across_the_new_year_and_one_reminder(org):
    with time_machine.travel(dt.datetime(2026, 12, 31, 9, 0, tzinfo=dt.UTC), tick=False):
        letter = register(org, urgency=3)
        [assignment] = routing_assign(actor=resolve_actor(org.director), letter=letter,
                                      targets=[Target(person=org.officer)])
        assert list(overdue()) == []
    with time_machine.travel(dt.datetime(2027, 1, 1, 2, 0, tzinfo=dt.UTC), tick=False):
        assert list(overdue()) == [assignment]
        assert send_reminders() == 1
        assert send_reminders() == 0
    assert Notification.objects.filter(person=org.officer, kind="overdue").count() == 1
