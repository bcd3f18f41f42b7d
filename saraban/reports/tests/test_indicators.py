"""The indicators against a count made independently from the registers, dispatches,
hand-overs and signature checks of a generated organisation (``generated.py``): every scope,
every kind of period, every breakdown, on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import reset_queries

from saraban.agencies.actors import resolve_actor
from saraban.letters.models import Dispatch
from saraban.letters.services import LetterDetails, letter_register_incoming
from saraban.reports import periods, tallies
from saraban.reports.indicators import (
    Scope,
    electronic_share,
    lines_behind,
    received_share,
    signed_share,
)
from saraban.reports.models import DayTally, MonthTally, TallyDirty
from saraban.reports.periods import Period

from .generated import (
    as_counts,
    build,
    change_after_counting,
    count_received,
    count_sent,
    count_signed,
)

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


def _check(indicator, oracle, scope, period, by, queries, hosted=False, most=4, known=None):
    reset_queries()  # the log of captured queries is bounded
    with queries(most):  # a fixed number of queries, whatever the registers hold
        total, rows = indicator(Scope(scope, hosted=hosted), period, by=by)
    known = {} if known is None else known  # the oracle's answers while the data stay as they are
    ask = (oracle.__name__, scope.pk, period, by, hosted)
    if ask not in known:
        known[ask] = {k: v for k, v in oracle(scope, period, by, hosted).items()
                      if sum(v.values())}
    expected = known[ask]
    assert as_counts(rows) == expected, (scope.name_th, period, by)
    everything = sum(sum(c.values()) for c in expected.values())
    assert total.total == everything
    return total


def _check_all(gen, queries, most, known, periods=PERIODS):
    org = gen.org
    scopes = [org.ministry, org.ops, org.ict, org.province, *gen.laos]
    seen = {"sent": 0, "received": 0, "signed": 0, "electronic": 0, "part_signed": 0}
    for scope in scopes:
        for period in periods:
            breakdowns = ("channel", "unit", "month") if period in BROKEN_DOWN else ("channel",)
            for by in breakdowns:
                sent, received, signed = (
                    _check(indicator, oracle, scope, period, by, queries, most=most, known=known)
                    for indicator, oracle in ((electronic_share, count_sent),
                                              (received_share, count_received),
                                              (signed_share, count_signed)))
            seen["sent"] += sent.total
            seen["electronic"] += sent.part
            seen["received"] += received.total
            seen["signed"] += signed.total
            seen["part_signed"] += signed.part
    # the comparison met real figures of every kind, not zeros
    assert all(seen.values()), seen


def test_every_indicator_equals_the_count_from_the_registers(gen, django_assert_max_num_queries):
    """Exact in every state of the figures counted ahead: before the worker has counted
    anything (every letter marked), after it has, after changes reaching back into days it
    had counted (marked again), after it has caught up, and after a full recount."""
    made = gen.made
    assert made["out"] > 40 and made["in"] > 30 and made["cancelled"] and made["handed_over"]
    queries = django_assert_max_num_queries
    assert TallyDirty.objects.exists() and not DayTally.objects.exists()
    before: dict[object, object] = {}
    _check_all(gen, queries, 25, before)
    assert tallies.fold_dirty() > 0
    assert not TallyDirty.objects.exists() and MonthTally.objects.exists()
    _check_all(gen, queries, 4, before)  # from the tallies alone
    touched = change_after_counting(gen)
    assert set(TallyDirty.objects.values_list("letter_id", flat=True)) == touched
    after: dict[object, object] = {}
    _check_all(gen, queries, 25, after)
    assert after != before
    tallies.fold_dirty()
    _check_all(gen, queries, 4, after, BROKEN_DOWN)
    DayTally.objects.all().delete()
    MonthTally.objects.all().delete()
    assert tallies.rebuild() > 0
    _check_all(gen, queries, 4, after, BROKEN_DOWN)


def test_a_page_sharing_its_reads_gets_the_figures_of_each_read_alone(gen):
    """Within ``shared()`` (the total summed from the months read for every column, the
    breakdowns read once) every figure is the one a read of its own gives, with letters
    marked and after the worker."""
    org = gen.org
    bys = (None, "month", "agency", "unit")
    scopes = [Scope(org.province, hosted=True), Scope(org.ministry, hosted=True),
              Scope(org.ops), Scope(gen.laos[0])]
    counted = 0
    for _state in ("marked", "counted ahead"):
        for scope in scopes:
            for period in (*BROKEN_DOWN, periods.month(2568, 10)):
                alone = {by: tallies.read(scope, period.start, period.end, by=by) for by in bys}
                with tallies.shared():
                    shared = {by: tallies.read(scope, period.start, period.end, by=by)
                              for by in bys}
                    narrow = tallies.read(scope, period.start, period.end, by="month",
                                          columns=("sent_post", "recv_paper"))
                    total = tallies.read(scope, period.start, period.end,
                                         columns=("circ_ack", "ttc_3d"))
                assert shared == alone, (scope, period)
                assert narrow == {k: {"sent_post": v["sent_post"], "recv_paper": v["recv_paper"]}
                                  for k, v in alone["month"].items()}
                assert total == {"total": {"circ_ack": alone[None]["total"]["circ_ack"],
                                           "ttc_3d": alone[None]["total"]["ttc_3d"]}}
                counted += sum(alone[None]["total"].values())
        assert counted
        tallies.fold_dirty()


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
                _check(indicator, oracle, org.province, period, by, queries, hosted=True,
                       most=25)
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


@pytest.mark.django_db(transaction=True)  # the worker closes its connections
def test_the_worker_counts_the_marked_letters_ahead(org):
    """``saraban worker`` takes the marks: the day and month rows then hold the figures."""
    entry = letter_register_incoming(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject="หนังสือทางอีเมล", sender_text="อำเภอ",
                              received_via="email"))
    assert TallyDirty.objects.filter(letter_id=entry.letter_id).exists()
    call_command("worker", "--batch", verbosity=0)
    assert not TallyDirty.objects.exists()
    day = DayTally.objects.get(registry=org.central)
    month = MonthTally.objects.get(registry=org.central)
    assert (day.recv_email, day.recv_paper, month.recv_email) == (1, 0, 1)
    assert month.day == day.day.replace(day=1)
