"""Register numbers: 1..n per (series, Buddhist year), no gaps, no duplicates, ever.

The property test drives the real actions through random sequences of registrations in two
series, cancellations, registrations that roll back, and clock moves across New Year's Eve in
Bangkok, and checks every register against a simple model.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saraban.agencies.actors import resolve_actor
from saraban.core.errors import Conflict, ValidationFailed
from saraban.core.thai import be_year
from saraban.letters.models import RegisterEntry, Series, SeriesKind
from saraban.letters.numbering import display_number, format_number, series_set_start
from saraban.letters.services import (
    LetterDetails,
    Recipient,
    entry_cancel,
    letter_register_incoming,
    letter_register_outgoing,
)

BANGKOK = ZoneInfo("Asia/Bangkok")


class RolledBack(Exception):
    """Raised on purpose after a registration, to roll its transaction back."""


def register(org, actor, which: str) -> RegisterEntry:
    """Series A is the central incoming register, series B the central outgoing one."""
    if which == "A":
        return letter_register_incoming(
            actor=actor, registry=org.central,
            details=LetterDetails(kind="external", subject="ขอเชิญประชุม",
                                  sender_text="กรมการปกครอง"),
        )
    return letter_register_outgoing(
        actor=actor, registry=org.central,
        details=LetterDetails(kind="external", subject="แจ้งผลการประชุม"),
        recipients=[Recipient(channel="post", text="จังหวัดเชียงใหม่")],
    )


def register_then_roll_back(org, actor, which: str) -> None:
    """The action succeeds, then the outer transaction fails: nothing of it may remain."""
    try:
        with transaction.atomic():
            register(org, actor, which)
            raise RolledBack
    except RolledBack:
        return

operations = st.lists(
    st.one_of(
        st.tuples(st.just("register"), st.sampled_from("AB")),
        st.tuples(st.just("rollback"), st.sampled_from("AB")),
        st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=50)),
        st.tuples(st.just("wait"), st.integers(min_value=1, max_value=40)),  # minutes
    ),
    min_size=1,
    max_size=30,
)
# Start within the last hour of 2569 (Bangkok), so most sequences cross into 2570.
starts = st.integers(min_value=0, max_value=90).map(
    lambda m: dt.datetime(2026, 12, 31, 23, 0, tzinfo=BANGKOK) + dt.timedelta(minutes=m - 30)
)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations, start=starts)
def test_numbers_run_1_to_n_per_series_and_year_under_any_sequence(org, ops, start):
    actor = resolve_actor(org.clerk)
    with transaction.atomic(), time_machine.travel(start, tick=False) as clock:
        expected_year: dict[int, int] = {}  # entry id -> Buddhist year at registration
        cancelled: dict[int, int] = {}  # entry id -> its number when cancelled
        live: list[RegisterEntry] = []
        for op, arg in ops:
            if op == "register":
                entry = register(org, actor, arg)
                expected_year[entry.pk] = be_year(dt.datetime.now(tz=BANGKOK))
                live.append(entry)
            elif op == "rollback":
                register_then_roll_back(org, actor, arg)
            elif op == "cancel" and live:
                entry = live.pop(arg % len(live))
                entry_cancel(actor=actor, entry=entry, reason="ลงทะเบียนซ้ำ")
                cancelled[entry.pk] = entry.number
            elif op == "wait":
                clock.shift(dt.timedelta(minutes=arg))

        registers: dict[tuple[str, int], list[int]] = defaultdict(list)
        for entry in RegisterEntry.objects.filter(series__registry=org.central):
            assert entry.year_be == expected_year[entry.pk]
            registers[(entry.series.kind, entry.year_be)].append(entry.number)
            if entry.pk in cancelled:
                assert entry.cancelled_at is not None
                assert entry.number == cancelled[entry.pk]
            else:
                assert entry.cancelled_at is None
        assert len(expected_year) == sum(len(v) for v in registers.values())
        for numbers in registers.values():
            assert sorted(numbers) == list(range(1, len(numbers) + 1))
        transaction.set_rollback(True)


def test_number_restarts_on_first_of_january_bangkok_time(org):
    actor = resolve_actor(org.clerk)
    last_evening = dt.datetime(2026, 12, 31, 23, 59, tzinfo=BANGKOK)
    with time_machine.travel(last_evening, tick=False) as clock:
        first = register(org, actor, "A")
        second = register(org, actor, "A")
        clock.move_to(dt.datetime(2027, 1, 1, 0, 0, tzinfo=BANGKOK))
        assert dt.datetime.now(tz=dt.UTC).date() == dt.date(2026, 12, 31)  # still 31 Dec in UTC
        new_year = register(org, actor, "A")
    assert [(e.year_be, e.number) for e in (first, second, new_year)] == [
        (2569, 1), (2569, 2), (2570, 1),
    ]


def test_cancelled_entry_keeps_its_number_and_the_next_one_continues(org):
    actor = resolve_actor(org.clerk)
    first = register(org, actor, "B")
    cancelled = entry_cancel(actor=actor, entry=first, reason="พิมพ์ผิด")
    after = register(org, actor, "B")
    cancelled.refresh_from_db()
    assert (cancelled.number, cancelled.is_cancelled, cancelled.cancel_reason) == (
        1, True, "พิมพ์ผิด",
    )
    assert after.number == 2


@pytest.mark.parametrize(
    ("kind", "prefix", "number", "year", "formatted", "displayed"),
    [
        ("circular", "มท 0210.3", 1795, 2569, "มท 0210.3/ว 1795", "ที่ มท 0210.3/ว 1795"),
        ("order", "มท 0210.3", 12, 2569, "12/2569", "คำสั่ง ที่ 12/2569"),
        ("announcement", "มท 0210.3", 3, 2570, "3/2570", "ประกาศ ที่ 3/2570"),
        ("outgoing", "มท 0210.3", 4567, 2569, "มท 0210.3/4567", "ที่ มท 0210.3/4567"),
        ("secret_outgoing", "ชม 0017", 8, 2569, "ชม 0017/8", "ที่ ชม 0017/8"),
        ("incoming", "มท 0210.3", 7, 2569, "7", "เลขรับ 7"),
        ("secret_incoming", "", 2, 2569, "2", "เลขรับ 2"),
        ("circular", "", 5, 2569, "ว 5", "ที่ ว 5"),
        ("outgoing", "", 9, 2569, "9", "ที่ 9"),
    ],
)
def test_numbers_are_written_as_the_rules_say(kind, prefix, number, year, formatted, displayed):
    assert format_number(kind=kind, prefix=prefix, number=number, year_be=year) == formatted
    assert display_number(kind=kind, formatted=formatted) == displayed


def mid_2569():
    return time_machine.travel(dt.datetime(2026, 6, 15, 10, 0, tzinfo=BANGKOK), tick=False)


def test_set_start_continues_a_paper_register(org):
    org.central.number_prefix = "มท 0210.3"
    org.central.save(update_fields=["number_prefix"])
    actor = resolve_actor(org.clerk)
    circular = Series.objects.get(registry=org.central, kind=SeriesKind.CIRCULAR)
    order = Series.objects.get(registry=org.central, kind=SeriesKind.ORDER)
    series_set_start(series=circular, year_be=2569, next_number=1795)
    series_set_start(series=order, year_be=2569, next_number=12)
    with mid_2569():
        entry = letter_register_outgoing(
            actor=actor, registry=org.central, series_kind=SeriesKind.CIRCULAR,
            details=LetterDetails(kind="external", subject="แจ้งเวียน"),
            recipients=[Recipient(channel="post", text="ทุกจังหวัด")],
        )
        command = letter_register_outgoing(
            actor=actor, registry=org.central, series_kind=SeriesKind.ORDER,
            details=LetterDetails(kind="directive", subkind="order", subject="แต่งตั้งคณะทำงาน"),
            recipients=[Recipient(channel="hand", text="ผู้เกี่ยวข้อง")],
        )
    assert (entry.number, entry.formatted) == (1795, "มท 0210.3/ว 1795")
    assert display_number(kind=command.series.kind, formatted=command.formatted) == (
        "คำสั่ง ที่ 12/2569"
    )


def test_set_start_may_be_changed_until_the_system_issues_a_number(org):
    actor = resolve_actor(org.clerk)
    incoming = Series.objects.get(registry=org.central, kind=SeriesKind.INCOMING)
    series_set_start(series=incoming, year_be=2569, next_number=500)
    series_set_start(series=incoming, year_be=2569, next_number=480)  # corrected: fine
    with mid_2569():
        assert register(org, actor, "A").number == 480
    with pytest.raises(Conflict) as exc:
        series_set_start(series=incoming, year_be=2569, next_number=1)
    assert exc.value.code == "series_in_use"
    # Another year of the same series is still free to set.
    assert series_set_start(series=incoming, year_be=2570, next_number=9).last_number == 8
    with mid_2569():
        assert register(org, actor, "A").number == 481


@pytest.mark.parametrize("bad", [0, -5])
def test_set_start_refuses_numbers_below_one(org, bad):
    incoming = Series.objects.get(registry=org.central, kind=SeriesKind.INCOMING)
    with pytest.raises(ValidationFailed) as exc:
        series_set_start(series=incoming, year_be=2569, next_number=bad)
    assert exc.value.code == "bad_start_number"
