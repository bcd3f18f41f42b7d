"""The periods the indicators are reported over: a day range, a month, a fiscal quarter, a
fiscal year (ปีงบประมาณ, 1 October to 30 September, named by the Buddhist year it ends in) and
a calendar year (พ.ศ.). Days are Bangkok days; a period is closed at both ends.

>>> fiscal_year(2569)
Period(start=datetime.date(2025, 10, 1), end=datetime.date(2026, 9, 30))
>>> fiscal_quarter(2569, 1).label
'ไตรมาส 1 ปีงบประมาณ 2569'
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from saraban.core.errors import ValidationFailed
from saraban.core.thai import BANGKOK, BE_OFFSET, MONTHS, MONTHS_SHORT, thai_date

__all__ = ["Period", "add_months", "calendar_year", "fiscal_quarter", "fiscal_year",
           "fiscal_year_of", "month", "months_in", "parse_period", "whole_months"]

#: The widest range one report may cover (ten years: a fiscal-year trend, not a dump).
MAX_DAYS = 3660
#: The days a report may name at all (พ.ศ. 2400 to 2700).
FIRST_DAY = dt.date(2400 - BE_OFFSET, 1, 1)
LAST_DAY = dt.date(2700 - BE_OFFSET, 12, 31)


@dataclass(frozen=True, slots=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    def __post_init__(self) -> None:
        for day, name in ((self.start, "from"), (self.end, "to")):
            if not FIRST_DAY <= day <= LAST_DAY:
                raise ValidationFailed("วันที่อยู่นอกช่วงที่รายงานได้", code="bad_date",
                                       field=name)
        if self.end < self.start:
            raise ValidationFailed("วันที่สิ้นสุดต้องไม่ก่อนวันที่เริ่มต้น", code="bad_period",
                                   field="to")
        if (self.end - self.start).days > MAX_DAYS:
            raise ValidationFailed("ช่วงเวลายาวเกินสิบปี", code="period_too_long", field="to")

    @property
    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """The aware instants [first moment, moment after the last day) in Bangkok."""
        lo = dt.datetime.combine(self.start, dt.time.min, tzinfo=BANGKOK)
        hi = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=BANGKOK)
        return lo, hi

    @property
    def label(self) -> str:
        fy = fiscal_year_of(self.start)
        if self == fiscal_year(fy):
            return f"ปีงบประมาณ {fy}"
        for q in (1, 2, 3, 4):
            if self == fiscal_quarter(fy, q):
                return f"ไตรมาส {q} ปีงบประมาณ {fy}"
        be = self.start.year + BE_OFFSET
        if self == calendar_year(be):
            return f"พ.ศ. {be}"
        if self == month(be, self.start.month):
            return f"{MONTHS[self.start.month - 1]} {be}"
        if self.start == self.end:
            return thai_date(self.start)
        return f"{thai_date(self.start, style='short')} – {thai_date(self.end, style='short')}"


def _ce(year_be: int) -> int:
    if not 2400 <= year_be <= 2700:
        raise ValidationFailed("ปี พ.ศ. ไม่ถูกต้อง", code="bad_year", field="year")
    return year_be - BE_OFFSET


def fiscal_year(year_be: int) -> Period:
    """ปีงบประมาณ ``year_be``: 1 October of the year before to 30 September."""
    ce = _ce(year_be)
    return Period(dt.date(ce - 1, 10, 1), dt.date(ce, 9, 30))


def fiscal_year_of(day: dt.date) -> int:
    """The fiscal year (Buddhist) a day falls in."""
    return day.year + BE_OFFSET + (1 if day.month >= 10 else 0)


def fiscal_quarter(year_be: int, quarter: int) -> Period:
    """Quarter 1 is October to December of the year before."""
    if quarter not in (1, 2, 3, 4):
        raise ValidationFailed("ไตรมาสต้องเป็น 1 ถึง 4", code="bad_quarter", field="quarter")
    start = fiscal_year(year_be).start
    first = add_months(start, 3 * (quarter - 1))
    return Period(first, add_months(first, 3) - dt.timedelta(days=1))


def calendar_year(year_be: int) -> Period:
    ce = _ce(year_be)
    return Period(dt.date(ce, 1, 1), dt.date(ce, 12, 31))


def month(year_be: int, number: int) -> Period:
    if not 1 <= number <= 12:
        raise ValidationFailed("เดือนต้องเป็น 1 ถึง 12", code="bad_month", field="month")
    first = dt.date(_ce(year_be), number, 1)
    return Period(first, add_months(first, 1) - dt.timedelta(days=1))


def months_in(period: Period) -> list[tuple[dt.date, str]]:
    """The first day and short Thai label ("ต.ค. 68") of every month the period touches."""
    out = []
    first = period.start.replace(day=1)
    while first <= period.end:
        label = f"{MONTHS_SHORT[first.month - 1]} {str(first.year + BE_OFFSET)[-2:]}"
        out.append((first, label))
        first = add_months(first, 1)
    return out


def add_months(day: dt.date, n: int) -> dt.date:
    """The first day of the month ``n`` months after ``day``'s (``n`` may be negative).

    >>> add_months(dt.date(2025, 12, 31), 2)
    datetime.date(2026, 2, 1)
    """
    index = day.year * 12 + day.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def whole_months(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first days of the months lying entirely within [start, end].

    >>> whole_months(dt.date(2025, 10, 15), dt.date(2026, 1, 31))
    [datetime.date(2025, 11, 1), datetime.date(2025, 12, 1), datetime.date(2026, 1, 1)]
    """
    first = start if start.day == 1 else add_months(start, 1)
    months = []
    while add_months(first, 1) - dt.timedelta(days=1) <= end:
        months.append(first)
        first = add_months(first, 1)
    return months


def parse_period(*, start: dt.date | None = None, end: dt.date | None = None,
                 fiscal: int | None = None, quarter: int | None = None,
                 year: int | None = None, month_number: int | None = None,
                 today: dt.date) -> Period:
    """One period from what a request or a command gives: ``from``/``to`` dates, or a fiscal
    year (with a quarter), or a Buddhist year (with a month). The default is the fiscal year
    to date."""
    if start is not None or end is not None:
        return Period(start or end or today, end or today)
    if fiscal is not None:
        return fiscal_quarter(fiscal, quarter) if quarter is not None else fiscal_year(fiscal)
    if quarter is not None:
        raise ValidationFailed("ระบุไตรมาสพร้อมปีงบประมาณ", code="bad_quarter", field="quarter")
    if year is not None:
        return month(year, month_number) if month_number is not None else calendar_year(year)
    if month_number is not None:
        raise ValidationFailed("ระบุเดือนพร้อมปี พ.ศ.", code="bad_month", field="month")
    return Period(fiscal_year(fiscal_year_of(today)).start, today)
