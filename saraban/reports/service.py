"""How quickly letters are handled: the service indicators (definitions: ``docs/indicators.md``).

All start, like the shares, from the register lines of the scope that are not cancelled:

- **time to register** an electronic arrival: from its arrival in the electronic inbox to its
  receipt number;
- **time to first action**: from the receipt number to the first time the letter was sent on
  (an assignment to a unit, a position or a person);
- **time to close**: from the receipt number to the moment its last assignment was closed
  (เรื่องเสร็จ), for letters whose every assignment is closed;
- **pending**: letters with an open assignment now, by urgency, and those past their due date;
- **circular read receipts**: the recipients of the circulars numbered in the period and those
  who acknowledged (รับทราบแล้ว).

Durations are reported as counts within one hour, one day, three days and seven days
(cumulative), which add up exactly and aggregate exactly, unlike averages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final

from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from saraban.letters.models import INCOMING_SERIES, Direction, RegisterEntry, Urgency
from saraban.routing.models import OPEN_STATES, Assignment, CircularRecipient

from .indicators import Scope
from .periods import Period

__all__ = ["WITHIN", "Pending", "Receipts", "Timing", "circular_receipts", "pending",
           "service_document", "time_to_close", "time_to_first_action", "time_to_register"]

#: The steps of the duration buckets (cumulative: "within one day" includes "within an hour").
WITHIN: Final = (("1h", dt.timedelta(hours=1)), ("1d", dt.timedelta(days=1)),
                 ("3d", dt.timedelta(days=3)), ("7d", dt.timedelta(days=7)))


@dataclass(slots=True)
class Timing:
    """``total`` letters; ``done`` of them reached the end; ``within[k]`` did so within k."""

    total: int = 0
    done: int = 0
    within: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "done": self.done, "within": self.within}


@dataclass(slots=True)
class Pending:
    total: int = 0
    overdue: int = 0
    by_urgency: dict[str, int] = field(default_factory=dict)
    overdue_by_urgency: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "overdue": self.overdue, "by_urgency": self.by_urgency,
                "overdue_by_urgency": self.overdue_by_urgency}


@dataclass(slots=True)
class Receipts:
    circulars: int = 0
    recipients: int = 0
    acknowledged: int = 0

    @property
    def share(self) -> float | None:
        return round(self.acknowledged / self.recipients, 4) if self.recipients else None

    def as_dict(self) -> dict[str, Any]:
        return {"circulars": self.circulars, "recipients": self.recipients,
                "acknowledged": self.acknowledged, "share": self.share}


def _received(scope: Scope, period: Period | None) -> QuerySet[RegisterEntry]:
    """Arrivals: incoming lines, not cancelled, not the second registration of a hand-over."""
    entries = scope.entries().filter(cancelled_at__isnull=True, series__kind__in=INCOMING_SERIES,
                                     letter__direction=Direction.INCOMING,
                                     handover__isnull=True)
    if period is not None:
        lo, hi = period.bounds
        entries = entries.filter(registered_at__gte=lo, registered_at__lt=hi)
    return entries


def _timing(entries: QuerySet[RegisterEntry], start: str, end: str, done: Q) -> Timing:
    """Count ``entries``, those ``done``, and those whose ``end`` came within each step after
    ``start`` (two annotations of the same rows; one query)."""
    spans = {f"w{key}": Count("pk", filter=done & Q(**{f"{end}__lte": F(start) + step}))
             for key, step in WITHIN}
    row = entries.aggregate(total=Count("pk"), done=Count("pk", filter=done), **spans)
    return Timing(total=row["total"], done=row["done"],
                  within={key: row[f"w{key}"] for key, _ in WITHIN})


def time_to_register(scope: Scope, period: Period) -> Timing:
    """Electronic arrivals registered in ``period``: from the inbox to the receipt number."""
    entries = _received(scope, period).filter(inbox__isnull=False).annotate(
        arrived=F("inbox__received_at"))
    return _timing(entries, "arrived", "registered_at", Q())


def time_to_first_action(scope: Scope, period: Period) -> Timing:
    """Arrivals registered in ``period``: from the receipt number to the first assignment."""
    first = (Assignment.objects.filter(letter_id=OuterRef("letter_id"))
             .order_by().values("letter_id").annotate(at=Min("created_at")).values("at"))
    entries = _received(scope, period).annotate(acted=Subquery(first))
    return _timing(entries, "registered_at", "acted", Q(acted__isnull=False))


def time_to_close(scope: Scope, period: Period) -> Timing:
    """Arrivals registered in ``period``: from the receipt number to the last assignment
    closed, for the letters sent on whose every assignment is closed."""
    last = (Assignment.objects.filter(letter_id=OuterRef("letter_id"))
            .order_by().values("letter_id").annotate(at=Max("closed_at")).values("at"))
    still_open = Assignment.objects.filter(letter_id=OuterRef("letter_id"),
                                           closed_at__isnull=True)
    # A last closing moment means at least one assignment; none still open means all closed.
    entries = _received(scope, period).annotate(closed=Subquery(last), open=Exists(still_open))
    done = Q(open=False, closed__isnull=False)
    return _timing(entries, "registered_at", "closed", done)


def pending(scope: Scope, *, now: dt.datetime | None = None) -> Pending:
    """Letters registered in the scope with an open assignment now, by urgency; overdue when
    an open assignment is past its due date."""
    now = now or timezone.now()
    open_now = Assignment.objects.filter(letter_id=OuterRef("letter_id"), state__in=OPEN_STATES)
    late = open_now.filter(due_at__lt=now)
    rows = (_received(scope, None).filter(Exists(open_now)).values("letter__urgency")
            .annotate(n=Count("letter_id", distinct=True),
                      overdue=Count("letter_id", distinct=True, filter=Q(Exists(late))))
            .order_by())
    result = Pending(by_urgency={str(u.label): 0 for u in Urgency},
                     overdue_by_urgency={str(u.label): 0 for u in Urgency})
    for r in rows:
        label = str(Urgency(r["letter__urgency"]).label)
        result.by_urgency[label] += r["n"]
        result.overdue_by_urgency[label] += r["overdue"]
        result.total += r["n"]
        result.overdue += r["overdue"]
    return result


def circular_receipts(scope: Scope, period: Period) -> Receipts:
    """The inside recipients of the circulars numbered in ``period`` and their read receipts."""
    lo, hi = period.bounds
    letters = (scope.entries().filter(cancelled_at__isnull=True, registered_at__gte=lo,
                                      registered_at__lt=hi)
               .values("letter_id"))
    row = CircularRecipient.objects.filter(letter_id__in=letters).aggregate(
        circulars=Count("letter_id", distinct=True), recipients=Count("pk"),
        acknowledged=Count("pk", filter=Q(acknowledged_at__isnull=False)))
    return Receipts(circulars=row["circulars"], recipients=row["recipients"],
                    acknowledged=row["acknowledged"])


#: name -> Thai title, for the service timings.
TIMINGS: Final = {
    "time_to_register": "ระยะเวลาลงรับหนังสือที่มาทางอิเล็กทรอนิกส์",
    "time_to_first_action": "ระยะเวลาจากลงรับถึงการสั่งการครั้งแรก",
    "time_to_close": "ระยะเวลาจากลงรับถึงเรื่องเสร็จ",
}


def service_document(scope: Scope, period: Period) -> dict[str, Any]:
    """Every service indicator of ``scope`` over ``period`` (pending: now)."""
    timings = {"time_to_register": time_to_register(scope, period),
               "time_to_first_action": time_to_first_action(scope, period),
               "time_to_close": time_to_close(scope, period)}
    return {
        **{name: {"title": TIMINGS[name], **t.as_dict()} for name, t in timings.items()},
        "pending": pending(scope).as_dict(),
        "circular_receipts": circular_receipts(scope, period).as_dict(),
    }
