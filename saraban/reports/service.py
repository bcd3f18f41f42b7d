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
(cumulative), which add up exactly and aggregate exactly, unlike averages: they are counted
ahead by day with the shares (``tallies``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from saraban.letters.models import INCOMING_SERIES, Direction, RegisterEntry, Urgency
from saraban.routing.models import OPEN_STATES, Assignment

from . import tallies
from .indicators import Scope
from .periods import Period

__all__ = ["WITHIN", "Pending", "Receipts", "Timing", "circular_receipts", "pending",
           "service_document", "time_to_close", "time_to_first_action", "time_to_register"]

#: The steps of the duration buckets (cumulative: "within one day" includes "within an hour").
WITHIN: Final = tallies.TIMING_STEPS


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


def _received(scope: Scope) -> QuerySet[RegisterEntry]:
    """Arrivals: incoming lines, not cancelled, not the second registration of a hand-over."""
    return scope.entries().filter(cancelled_at__isnull=True, series__kind__in=INCOMING_SERIES,
                                  letter__direction=Direction.INCOMING, handover__isnull=True)


def _timings(scope: Scope, period: Period, prefixes: tuple[str, ...]) -> dict[str, Timing]:
    """The timings named by their tally ``prefixes`` (``tallies.count`` counts them)."""
    columns = tuple(c for c in tallies.COLUMNS if c.split("_")[0] in prefixes)
    sums = tallies.read(scope, period.start, period.end, columns=columns).get("total", {})
    return {p: Timing(total=sums.get(f"{p}_total", 0), done=sums.get(f"{p}_done", 0),
                      within={key: sums.get(f"{p}_{key}", 0) for key, _ in WITHIN})
            for p in prefixes}


def time_to_register(scope: Scope, period: Period) -> Timing:
    """Electronic arrivals registered in ``period``: from the inbox to the receipt number."""
    return _timings(scope, period, ("ttr",))["ttr"]


def time_to_first_action(scope: Scope, period: Period) -> Timing:
    """Arrivals registered in ``period``: from the receipt number to the first assignment."""
    return _timings(scope, period, ("tfa",))["tfa"]


def time_to_close(scope: Scope, period: Period) -> Timing:
    """Arrivals registered in ``period``: from the receipt number to the last assignment
    closed, for the letters sent on whose every assignment is closed."""
    return _timings(scope, period, ("ttc",))["ttc"]


def pending(scope: Scope, *, now: dt.datetime | None = None) -> Pending:
    """Letters registered in the scope with an open assignment now, by urgency; overdue when
    an open assignment is past its due date. Starts from the open assignments (few, whatever
    the size of the registers)."""
    now = now or timezone.now()
    open_now = Assignment.objects.filter(state__in=OPEN_STATES)
    rows = (_received(scope).filter(letter_id__in=open_now.values("letter_id"))
            .values("letter__urgency")
            .annotate(n=Count("letter_id", distinct=True),
                      overdue=Count("letter_id", distinct=True, filter=Q(letter_id__in=open_now
                                    .filter(due_at__lt=now).values("letter_id"))))
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
    """The inside recipients of the circulars numbered in ``period`` and their read receipts
    (each circular counted with its first registration)."""
    sums = tallies.read(scope, period.start, period.end,
                        columns=("circ_letters", "circ_recipients", "circ_ack")).get("total", {})
    return Receipts(circulars=sums.get("circ_letters", 0),
                    recipients=sums.get("circ_recipients", 0),
                    acknowledged=sums.get("circ_ack", 0))


#: name -> Thai title, for the service timings.
TIMINGS: Final = {
    "time_to_register": "ระยะเวลาลงรับหนังสือที่มาทางอิเล็กทรอนิกส์",
    "time_to_first_action": "ระยะเวลาจากลงรับถึงการสั่งการครั้งแรก",
    "time_to_close": "ระยะเวลาจากลงรับถึงเรื่องเสร็จ",
}


def service_document(scope: Scope, period: Period) -> dict[str, Any]:
    """Every service indicator of ``scope`` over ``period`` (pending: now)."""
    found = _timings(scope, period, ("ttr", "tfa", "ttc"))
    timings = {"time_to_register": found["ttr"], "time_to_first_action": found["tfa"],
               "time_to_close": found["ttc"]}
    return {
        **{name: {"title": TIMINGS[name], **t.as_dict()} for name, t in timings.items()},
        "pending": pending(scope).as_dict(),
        "circular_receipts": circular_receipts(scope, period).as_dict(),
    }
