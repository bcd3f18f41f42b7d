"""Deadlines: from the letter's urgency (configurable) or an explicit "ภายใน" date.

``SARABAN_DEADLINE_DAYS`` maps urgency (0 ปกติ … 3 ด่วนที่สุด) to calendar days: 0 means the
same day. The deadline falls at ``SARABAN_OFFICE_CLOSE`` (16:30) Bangkok time on that day.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from saraban.core.thai import BANGKOK, bangkok

DEFAULT_DAYS: dict[int, int | None] = {3: 0, 2: 1, 1: 3, 0: None}


def _days_for(urgency: int) -> int | None:
    table: dict[int, int | None] = getattr(settings, "SARABAN_DEADLINE_DAYS", DEFAULT_DAYS)
    return table.get(urgency, DEFAULT_DAYS.get(urgency))


def office_close() -> dt.time:
    hours, minutes = str(getattr(settings, "SARABAN_OFFICE_CLOSE", "16:30")).split(":")
    return dt.time(int(hours), int(minutes))


def end_of_day(day: dt.date) -> dt.datetime:
    """The deadline moment of a Bangkok calendar day (office closing time)."""
    return dt.datetime.combine(day, office_close(), tzinfo=BANGKOK)


def due_for(
    *, urgency: int, start: dt.datetime, within: dt.date | None = None
) -> dt.datetime | None:
    """An explicit "ภายใน" date wins; otherwise the urgency's number of days from ``start``.

    >>> import datetime as dt
    >>> due_for(urgency=3, start=dt.datetime(2026, 12, 31, 9, tzinfo=BANGKOK)).isoformat()
    '2026-12-31T16:30:00+07:00'
    """
    if within is not None:
        return end_of_day(within)
    days = _days_for(urgency)
    if days is None:
        return None
    return end_of_day(bangkok(start).date() + dt.timedelta(days=days))
