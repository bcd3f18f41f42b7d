"""The one function that issues register numbers, and how numbers are written.

Numbers run per (series, Buddhist year) and restart at 1 on 1 January, Asia/Bangkok. The
counter row is locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite runs writers one at a
time with ``BEGIN IMMEDIATE``), incremented and written in the caller's transaction, so a
number is never issued twice and, since a rolled-back transaction rolls back the counter too,
never skipped.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from saraban.core.thai import be_year

from .models import Series, SeriesKind, SeriesYear


def issue_number(*, series: Series, at: dt.datetime) -> tuple[int, int]:
    """Take the next number of ``series`` for the Buddhist year of ``at``: ``(year_be, n)``.

    Must be called inside the transaction that writes the register entry.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("issue_number must run inside the registering transaction")
    year = be_year(at)
    SeriesYear.objects.get_or_create(series=series, year_be=year)
    counter = SeriesYear.objects.select_for_update().get(series=series, year_be=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return year, counter.last_number


def format_number(*, kind: str, prefix: str, number: int, year_be: int) -> str:
    """The number as written after "ที่".

    >>> format_number(kind="circular", prefix="มท 0210.3", number=1795, year_be=2569)
    'มท 0210.3/ว 1795'
    >>> format_number(kind="order", prefix="มท 0210.3", number=12, year_be=2569)
    '12/2569'
    >>> format_number(kind="incoming", prefix="", number=7, year_be=2569)
    '7'
    """
    if kind in {SeriesKind.ORDER, SeriesKind.ANNOUNCEMENT}:
        return f"{number}/{year_be}"
    if kind in {SeriesKind.INCOMING, SeriesKind.SECRET_INCOMING}:
        return str(number)
    if kind == SeriesKind.CIRCULAR:
        return f"{prefix}/ว {number}" if prefix else f"ว {number}"
    return f"{prefix}/{number}" if prefix else str(number)


def display_number(*, kind: str, formatted: str) -> str:
    """The number with its label, as printed: "ที่ มท 0210.3/ว 1795", "คำสั่ง ที่ 12/2569"."""
    if kind == SeriesKind.ORDER:
        return f"คำสั่ง ที่ {formatted}"
    if kind == SeriesKind.ANNOUNCEMENT:
        return f"ประกาศ ที่ {formatted}"
    if kind in {SeriesKind.INCOMING, SeriesKind.SECRET_INCOMING}:
        return f"เลขรับ {formatted}"
    return f"ที่ {formatted}"


@transaction.atomic
def series_set_start(*, series: Series, year_be: int, next_number: int) -> SeriesYear:
    """Continue a paper register: the next number issued in ``year_be`` will be ``next_number``.

    Only allowed before anything was issued in that year from this system (onboarding).
    """
    from saraban.core.errors import Conflict, ValidationFailed

    if next_number < 1:
        raise ValidationFailed("เลขเริ่มต้นต้องไม่น้อยกว่า 1", code="bad_start_number")
    counter, _ = SeriesYear.objects.get_or_create(series=series, year_be=year_be)
    counter = SeriesYear.objects.select_for_update().get(pk=counter.pk)
    if series.entries.filter(year_be=year_be).exists():
        raise Conflict(
            "ออกเลขในปีนี้จากระบบไปแล้ว ไม่สามารถกำหนดเลขเริ่มต้นใหม่ได้", code="series_in_use"
        )
    counter.last_number = next_number - 1
    counter.save(update_fields=["last_number"])
    return counter
