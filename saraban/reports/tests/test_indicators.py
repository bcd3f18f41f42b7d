"""The indicators against a count made independently from the registers, dispatches,
hand-overs and signature checks of a generated organisation (``generated.py``): every scope,
every kind of period, every breakdown, on both databases."""

from __future__ import annotations

import datetime as dt

import pytest

from saraban.letters.models import Dispatch
from saraban.reports import periods
from saraban.reports.indicators import (
    Scope,
    electronic_share,
    lines_behind,
    received_share,
    signed_share,
)
from saraban.reports.periods import Period

from .generated import as_counts, build, count_received, count_sent, count_signed

PERIODS = [
    periods.fiscal_year(2568), periods.fiscal_year(2569), periods.fiscal_year(2570),
    *(periods.fiscal_quarter(2569, q) for q in (1, 2, 3, 4)),
    periods.calendar_year(2568), periods.calendar_year(2569),
    periods.month(2568, 9), periods.month(2568, 10), periods.month(2568, 12),
    periods.month(2569, 1),
    Period(dt.date(2025, 9, 30), dt.date(2025, 9, 30)),
    Period(dt.date(2025, 10, 1), dt.date(2025, 10, 1)),
    Period(dt.date(2026, 9, 30), dt.date(2026, 10, 1)),
    Period(dt.date(2025, 8, 1), dt.date(2026, 12, 31)),
]

#: The periods also checked by unit and by month (every period is checked in total).
BROKEN_DOWN = (periods.fiscal_year(2569), periods.calendar_year(2569), PERIODS[-1],
               periods.fiscal_quarter(2569, 1))


@pytest.fixture
def gen(org, pki, stranger_pki):
    return build(org, pki, stranger_pki)


def _check(indicator, oracle, scope, period, by, queries, hosted=False):
    with queries(3):  # a fixed number of aggregate queries, whatever the registers hold
        total, rows = indicator(Scope(scope, hosted=hosted), period, by=by)
    expected = {k: v for k, v in oracle(scope, period, by, hosted).items() if sum(v.values())}
    assert as_counts(rows) == expected, (scope.name_th, period, by)
    everything = sum(sum(c.values()) for c in expected.values())
    assert total.total == everything
    return total


def test_every_indicator_equals_the_count_from_the_registers(gen, django_assert_max_num_queries):
    org = gen.org
    made = gen.made
    assert made["out"] > 40 and made["in"] > 30 and made["cancelled"] and made["handed_over"]
    scopes = [org.ministry, org.ops, org.ict, org.province, *gen.laos]
    seen = {"sent": 0, "received": 0, "signed": 0, "electronic": 0, "part_signed": 0}
    for scope in scopes:
        for period in PERIODS:
            breakdowns = ("channel", "unit", "month") if period in BROKEN_DOWN else ("channel",)
            for by in breakdowns:
                queries = django_assert_max_num_queries
                sent = _check(electronic_share, count_sent, scope, period, by, queries)
                received = _check(received_share, count_received, scope, period, by, queries)
                signed = _check(signed_share, count_signed, scope, period, by, queries)
            seen["sent"] += sent.total
            seen["electronic"] += sent.part
            seen["received"] += received.total
            seen["signed"] += signed.total
            seen["part_signed"] += signed.part
    # the comparison met real figures of every kind, not zeros
    assert all(seen.values()), seen


def test_an_overseer_sees_the_agencies_hosted_below_and_each_one_alone(
        gen, django_assert_max_num_queries):
    """A province's view with its LAOs: the total is the province's and every LAO's together,
    and by agency each row is that agency's own figure."""
    org = gen.org
    queries = django_assert_max_num_queries
    for period in BROKEN_DOWN:
        for by in ("channel", "agency", "unit", "month"):
            for indicator, oracle in ((electronic_share, count_sent),
                                      (received_share, count_received),
                                      (signed_share, count_signed)):
                _check(indicator, oracle, org.province, period, by, queries, hosted=True)
        total, rows = electronic_share(Scope(org.province, hosted=True), period, by="agency")
        hosted = sorted((org.province, org.lao, *gen.laos), key=lambda a: a.path)
        assert [r.key for r in rows] == [str(a.pk) for a in hosted]
        for row, agency in zip(rows, hosted, strict=True):
            alone, _ = electronic_share(Scope(agency), period)
            assert (row.total, row.part, row.by_channel) == (alone.total, alone.part,
                                                             alone.by_channel)
        assert total.total == sum(r.total for r in rows)


def test_the_share_is_the_electronic_part_of_what_was_sent(gen):
    total, _rows = electronic_share(Scope(gen.org.ministry), Period(dt.date(2025, 8, 1),
                                                                    dt.date(2026, 12, 31)))
    electronic = sum(total.by_channel[c] for c in ("saraban", "ecms", "email"))
    assert total.part == electronic
    assert total.total == sum(total.by_channel.values())
    assert total.share == round(electronic / total.total, 4)
    assert set(total.by_channel) == {"saraban", "email", "post", "hand", "ecms", "fax",
                                     "unrecorded"}


def test_a_period_with_nothing_has_no_share(org):
    total, rows = electronic_share(Scope(org.ministry), periods.fiscal_year(2560))
    assert (total.total, total.share) == (0, None)
    assert [r.key for r in rows] == ["total"]


def test_the_lines_behind_each_figure_are_the_letters_it_counts(gen):
    """The drill-down lists the register lines behind a figure: one line per letter, so for a
    channel the letters with at least one copy by it, and for arrivals exactly the count."""
    org = gen.org
    period = PERIODS[-1]
    for scope in (Scope(org.ministry), Scope(org.province, hosted=True)):
        sent, units = electronic_share(scope, period, by="unit")
        assert lines_behind(scope, period, indicator="sent").count() == sent.letters
        for channel, copies in sent.by_channel.items():
            lines = lines_behind(scope, period, indicator="sent", channel=channel)
            letters = set(lines.values_list("letter_id", flat=True))
            if channel == "unrecorded":
                assert len(letters) == copies
            else:
                by_it = set(Dispatch.objects.filter(letter_id__in=letters, channel=channel)
                            .values_list("letter_id", flat=True))
                assert by_it == letters
                assert Dispatch.objects.filter(letter_id__in=letters,
                                               channel=channel).count() == copies
        for row in units:
            assert lines_behind(scope, period, indicator="sent",
                                unit=int(row.key)).count() == row.letters
        received, _ = received_share(scope, period)
        for channel, count in received.by_channel.items():
            assert lines_behind(scope, period, indicator="received",
                                channel=channel).count() == count
    _total, agencies = electronic_share(Scope(org.province, hosted=True), period, by="agency")
    for row in agencies:
        assert lines_behind(Scope(org.province, hosted=True), period, indicator="sent",
                            agency=int(row.key)).count() == row.letters
