"""The service indicators on letters whose every moment is known: arrivals by e-mail and on
paper, sent on, acknowledged, closed or left open, a circular read by one of two people."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from saraban.agencies.actors import resolve_actor
from saraban.core.thai import BANGKOK
from saraban.exchange.inbox import exchange_inbox_register
from saraban.exchange.mail.intake import ingest
from saraban.exchange.mail.mailboxes import mailbox_add
from saraban.exchange.models import InboxMessage
from saraban.exchange.tests.test_mail_intake import ADDRESS, letter_mail
from saraban.letters.services import LetterDetails, letter_register_incoming
from saraban.reports import tallies
from saraban.reports.indicators import Scope
from saraban.reports.models import TallyDirty
from saraban.reports.periods import Period, month
from saraban.reports.service import (
    circular_receipts,
    pending,
    time_to_close,
    time_to_first_action,
    time_to_register,
)
from saraban.routing.models import CircularRecipient
from saraban.routing.services import (
    Target,
    circular_acknowledge,
    circular_distribute,
    routing_acknowledge,
    routing_assign,
    routing_close,
)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 1, day, hour, minute, tzinfo=BANGKOK)


@pytest.fixture(params=["live", "counted", "midway", "midway_counted"])
def letters(org, request):
    """The letters below; their figures counted ahead by the worker never, at the end, half
    way (before they were sent on and read: those changes are counted live), or both."""
    clerk = resolve_actor(org.clerk)
    director = resolve_actor(org.director)
    box = mailbox_add(agency=org.ministry, address=ADDRESS)

    def by_mail(arrived: dt.datetime, registered: dt.datetime, subject: str):
        with time_machine.travel(arrived, tick=False):
            result = ingest(box, letter_mail(subject=subject))
        assert result.inbox_id is not None, result
        with time_machine.travel(registered, tick=False):
            return exchange_inbox_register(
                actor=clerk, message=InboxMessage.objects.get(pk=result.inbox_id)).letter

    def on_paper(registered: dt.datetime, urgency: int):
        with time_machine.travel(registered, tick=False):
            return letter_register_incoming(
                actor=clerk, registry=org.central,
                details=LetterDetails(kind="external", subject="หนังสือกระดาษ",
                                      sender_text="อำเภอ", urgency=urgency)).letter

    def assign(letter, when: dt.datetime, due: dt.date):
        with time_machine.travel(when, tick=False):
            return routing_assign(actor=clerk, letter=letter, targets=[Target(unit=org.ict)],
                                  within=due)[0]

    a = by_mail(at(10, 8, 30), at(10, 9), "หนังสือ ก")            # registered within an hour
    b = by_mail(at(8, 9), at(10, 9), "หนังสือ ข")                 # two days in the inbox
    c = on_paper(at(10, 9), urgency=1)                              # never sent on
    d = on_paper(at(10, 9), urgency=3)
    if request.param.startswith("midway"):
        assert tallies.fold_dirty() == 4
    first = assign(a, at(10, 10), dt.date(2026, 1, 20))             # sent on within an hour
    with time_machine.travel(at(11, 9), tick=False):
        routing_acknowledge(actor=director, assignment=first)
    with time_machine.travel(at(12, 10), tick=False):
        routing_close(actor=director, assignment=first, outcome="ดำเนินการแล้ว")
    assign(b, at(13, 9), dt.date(2026, 1, 15))                      # three days; overdue
    assign(d, at(20, 9), dt.date(2027, 12, 31))                     # ten days; not yet due
    with time_machine.travel(at(10, 11), tick=False):
        circular_distribute(actor=clerk, letter=c, people=[org.officer, org.director])
    with time_machine.travel(at(11, 8), tick=False):
        circular_acknowledge(actor=resolve_actor(org.officer),
                             recipient=CircularRecipient.objects.get(person=org.officer))
    if request.param.endswith("counted"):
        assert tallies.fold_dirty() > 0
        assert not TallyDirty.objects.exists()
    elif request.param == "midway":
        assert set(TallyDirty.objects.values_list("letter_id", flat=True)) == {
            a.pk, b.pk, c.pk, d.pk}
    return a, b, c, d


def test_each_duration_is_counted_within_its_steps(org, letters):
    scope, january = Scope(org.ministry), month(2569, 1)
    register = time_to_register(scope, january)
    assert (register.total, register.done) == (2, 2)
    assert register.within == {"1h": 1, "1d": 1, "3d": 2, "7d": 2}
    acted = time_to_first_action(scope, january)
    assert (acted.total, acted.done) == (4, 3)
    assert acted.within == {"1h": 1, "1d": 1, "3d": 2, "7d": 2}
    closed = time_to_close(scope, january)
    assert (closed.total, closed.done) == (4, 1)
    assert closed.within == {"1h": 0, "1d": 0, "3d": 1, "7d": 1}
    december = Period(dt.date(2025, 12, 1), dt.date(2025, 12, 31))
    assert time_to_register(scope, december).total == 0


def test_pending_letters_by_urgency_and_the_overdue_ones(org, letters):
    now = pending(Scope(org.ministry), now=at(25, 9))
    assert (now.total, now.overdue) == (2, 1)
    assert now.by_urgency == {"ปกติ": 1, "ด่วน": 0, "ด่วนมาก": 0, "ด่วนที่สุด": 1}
    assert now.overdue_by_urgency["ปกติ"] == 1 and now.overdue_by_urgency["ด่วนที่สุด"] == 0
    before = pending(Scope(org.ministry), now=at(14, 9))  # the day before b was due
    assert (before.total, before.overdue) == (2, 0)
    assert pending(Scope(org.province)).total == 0


def test_circular_read_receipts(org, letters):
    receipts = circular_receipts(Scope(org.ministry), month(2569, 1))
    assert (receipts.circulars, receipts.recipients, receipts.acknowledged) == (1, 2, 1)
    assert receipts.share == 0.5
