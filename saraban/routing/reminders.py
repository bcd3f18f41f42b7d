"""Overdue detection and reminders (run by the worker's periodic pass or a command)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import OPEN_STATES, Assignment, NotificationKind
from .notify import notify


def overdue(now: dt.datetime | None = None) -> QuerySet[Assignment]:
    """Open assignments for action whose deadline has passed."""
    moment = now or timezone.now()
    return Assignment.objects.filter(state__in=OPEN_STATES, due_at__lt=moment)


def overdue_q(now: dt.datetime | None = None) -> Q:
    return Q(state__in=OPEN_STATES, due_at__lt=now or timezone.now())


def send_reminders(now: dt.datetime | None = None) -> int:
    """Remind the holders of each overdue assignment once (again a day after the last); the
    assigner is told once, with the first reminder."""
    from .services import holders_of

    moment = now or timezone.now()
    due = overdue(moment).filter(
        Q(reminded_at__isnull=True) | Q(reminded_at__lt=moment - dt.timedelta(days=1))
    ).select_related("letter", "from_person", "to_person", "to_position__holder", "to_unit")
    sent = 0
    for assignment in due:
        with transaction.atomic():
            updated = Assignment.objects.filter(pk=assignment.pk).filter(
                Q(reminded_at__isnull=True) | Q(reminded_at__lt=moment - dt.timedelta(days=1))
            ).update(reminded_at=moment)
            if not updated:
                continue
            holders = holders_of(assignment)
            notify(people=holders, kind=NotificationKind.OVERDUE,
                   letter=assignment.letter,
                   text=f"เกินกำหนด: {assignment.letter.subject}")
            if assignment.reminded_at is None and assignment.from_person not in holders:
                # The assigner hears once, at the first reminder, that it is late.
                notify(people=[assignment.from_person], kind=NotificationKind.OVERDUE,
                       letter=assignment.letter,
                       text=(f"เกินกำหนด (ที่ท่านมอบหมายให้ {assignment.target_display}): "
                             f"{assignment.letter.subject}"))
            sent += 1
    return sent
