"""The indicators' figures counted ahead, and kept exact (models: ``DayTally``, ``MonthTally``).

- ``count`` counts register lines by registry and Bangkok day into the columns of a tally:
  the one definition of what each indicator counts (``docs/indicators.md``).
- Every change that can move a figure (a line registered or cancelled, a letter handed over, a
  recipient or a file added, a signature checked, an assignment made or closed, a circular
  read) marks its letter in the same transaction (``signals.py`` -> ``mark``).
- The worker (``fold_dirty``) counts the registration days of the marked letters again, rewrites
  their day rows and the month rows around them, and takes the marks, in one transaction.
- A reader (``read``) adds up month rows for the whole months of the period and day rows for
  the days around them; for the days that hold a marked letter it takes off their rows and
  counts those days from the registers instead, in one snapshot of the database. So a figure
  is exact at every moment, whether the worker has caught up or not.

``rebuild`` counts everything again (after a bulk load, or to repair).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import reduce
from operator import or_
from typing import Any, Final, cast

from django.db import connection, transaction
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from saraban.core.thai import BANGKOK
from saraban.letters.models import (
    ELECTRONIC_CHANNELS,
    INCOMING_SERIES,
    Direction,
    FileRole,
    LetterFile,
    RegisterEntry,
    Registry,
    Series,
)
from saraban.routing.models import Assignment, CircularRecipient
from saraban.signatures.models import CheckStatus, SignatureCheck

from .models import DayTally, MonthTally, TallyDirty, _Tally
from .periods import add_months, whole_months
from .scope import Scope

__all__ = ["COLUMNS", "TIMING_STEPS", "count", "fold_dirty", "mark", "once", "read",
           "rebuild", "shared"]

#: The counted columns of a tally row, in the models' order.
COLUMNS: Final[tuple[str, ...]] = tuple(
    f.name for f in DayTally._meta.concrete_fields if f.name not in {"id", "registry", "day"})
#: The duration buckets of the service timings (cumulative: "within one day" includes
#: "within an hour"); ``service.WITHIN``.
TIMING_STEPS: Final = (("1h", dt.timedelta(hours=1)), ("1d", dt.timedelta(days=1)),
                       ("3d", dt.timedelta(days=3)), ("7d", dt.timedelta(days=7)))
_LOCK: Final = 0x5A_52_54_41_4C  # PostgreSQL advisory lock of the writers of tallies
_SHARED: ContextVar[dict[Any, Any] | None] = ContextVar(
    "tallies_shared", default=None)
_CHUNK: Final = 100  # (registry, day) pairs per OR-ed condition (SQLite's expression depth)
_LINES: Final = 5000  # register lines per counting query of marked days (bound parameters)

Pair = tuple[int, dt.date]
Counts = dict[Pair, dict[str, int]]


def _zero() -> dict[str, int]:
    return dict.fromkeys(COLUMNS, 0)


def _rows(rows: QuerySet[Any, Any]) -> Iterator[dict[str, Any]]:
    """Grouped rows without the model's ordering (which would split the groups)."""
    return (dict(r) for r in rows.order_by())


def _day(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=BANGKOK)


# ---- counting from the registers -----------------------------------------------------------


def _timing(prefix: str, start: str, end: str, base: Q, done: Q) -> dict[str, Any]:
    """The aggregates of one service timing over the lines matching ``base``: lines, those
    done, done within each step."""
    spans = {f"{prefix}_{key}": Count("pk", filter=base & done & Q(**{f"{end}__lte": F(start)
                                                                         + step}))
             for key, step in TIMING_STEPS}
    return {f"{prefix}_total": Count("pk", filter=base),
            f"{prefix}_done": Count("pk", filter=base & done), **spans}


def count(entries: QuerySet[RegisterEntry], columns: Iterable[str] = COLUMNS) -> Counts:
    """Count the lines of ``entries`` (cancelled ones are left out here) by registry and
    Bangkok day of registration: a fixed number of grouped queries, only those that give
    ``columns`` (a row may hold other columns too)."""
    wanted = {c.split("_")[0] for c in columns}
    live = entries.filter(cancelled_at__isnull=True).annotate(
        reg=F("series__registry_id"), d=TruncDate("registered_at", tzinfo=BANGKOK))
    out: Counts = defaultdict(_zero)

    def add(row: dict[str, Any], column: str, n: int) -> None:
        if n:
            out[(row["reg"], _day(row["d"]))][column] += n

    sent = live.filter(letter__direction=Direction.OUTGOING)
    if "sent" in wanted:
        # Every recipient is one copy, by its channel; a letter without any, one copy.
        for r in _rows(sent.values("reg", "d", ch=F("letter__dispatches__channel"))
                       .annotate(copies=Count("letter__dispatches"),
                                 lines=Count("pk", distinct=True))):
            add(r, f"sent_{r['ch']}" if r["ch"] else "sent_unrecorded",
                r["copies"] if r["ch"] else r["lines"])
    if wanted & {"letters", "signed"}:
        valid = SignatureCheck.objects.filter(
            tenant_id=OuterRef(OuterRef("series__registry__tenant_id")),
            status=CheckStatus.VALID, blob_id=OuterRef("blob_id"))
        signed_main = LetterFile.objects.filter(letter_id=OuterRef("letter_id"),
                                                role=FileRole.MAIN).filter(Exists(valid))
        for r in _rows(sent.annotate(signed=Exists(signed_main)).values("reg", "d")
                       .annotate(n=Count("pk"), s=Count("pk", filter=Q(signed=True)))):
            add(r, "letters", r["n"])
            add(r, "signed", r["s"])
    # Arrivals: one per letter (not the unit's second registration of a hand-over).
    received = live.filter(series__kind__in=INCOMING_SERIES, letter__direction=Direction.INCOMING,
                           handover__isnull=True)
    if wanted & {"recv", "ttr", "tfa", "ttc"}:
        rows, aggregates = _received(received, wanted)
        for r in _rows(rows.values("reg", "d").annotate(**aggregates)):
            for column in aggregates:
                add(r, column, r[column])
    if "circ" in wanted:
        # Circulars and their read receipts, with the letter's first registration.
        circulars = live.filter(handover__isnull=True).filter(
            Exists(CircularRecipient.objects.filter(letter_id=OuterRef("letter_id"))))
        for r in _rows(circulars.values("reg", "d").annotate(
                c=Count("letter_id", distinct=True), n=Count("letter__circular_to"),
                a=Count("letter__circular_to",
                        filter=Q(letter__circular_to__acknowledged_at__isnull=False)))):
            add(r, "circ_letters", r["c"])
            add(r, "circ_recipients", r["n"])
            add(r, "circ_ack", r["a"])
    return dict(out)


def _received(received: QuerySet[Any, Any], wanted: set[str]
              ) -> tuple[QuerySet[Any, Any], dict[str, Any]]:
    """The arrivals with what their figures need, and the aggregates of the ``wanted`` ones:
    by channel, and the service timings (one query)."""
    aggregates: dict[str, Any] = {}
    if "recv" in wanted:
        via = "letter__received_via"
        for channel in sorted(ELECTRONIC_CHANNELS):
            aggregates[f"recv_{channel}"] = Count("pk", filter=Q(**{via: channel}))
        aggregates["recv_paper"] = Count(
            "pk", filter=~Q(**{f"{via}__in": sorted(ELECTRONIC_CHANNELS)}))
    rows = received
    if "ttr" in wanted:  # from the electronic inbox to the receipt number
        rows = rows.annotate(arrived=F("inbox__received_at"))
        aggregates |= _timing("ttr", "arrived", "registered_at", Q(inbox__isnull=False), Q())
    if "tfa" in wanted:  # from the receipt number to the first assignment
        rows = rows.annotate(acted=Subquery(
            Assignment.objects.filter(letter_id=OuterRef("letter_id")).order_by()
            .values("letter_id").annotate(at=Min("created_at")).values("at")))
        aggregates |= _timing("tfa", "registered_at", "acted", Q(), Q(acted__isnull=False))
    if "ttc" in wanted:  # ... to the last closing, once no assignment is open
        rows = rows.annotate(
            closed=Subquery(Assignment.objects.filter(letter_id=OuterRef("letter_id"))
                            .order_by().values("letter_id").annotate(at=Max("closed_at"))
                            .values("at")),
            open=Exists(Assignment.objects.filter(letter_id=OuterRef("letter_id"),
                                                  closed_at__isnull=True)))
        aggregates |= _timing("ttc", "registered_at", "closed", Q(),
                              Q(open=False, closed__isnull=False))
    return rows, aggregates


# ---- marks and the worker ------------------------------------------------------------------


def mark(letter_ids: Iterable[int | None]) -> None:
    """Ask for these letters' registration days to be counted again (in the caller's
    transaction: the mark commits or rolls back with the change)."""
    ids = {int(i) for i in letter_ids if i is not None}
    if not ids:
        return
    now = timezone.now()
    TallyDirty.objects.bulk_create(
        [TallyDirty(letter_id=i, marked_at=now) for i in sorted(ids)],
        update_conflicts=True, unique_fields=["letter_id"], update_fields=["marked_at"])


def _lock() -> None:
    """One writer of tallies at a time (SQLite's writers are serialised already)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])


def _any(conditions: Iterable[Q]) -> Q:
    return reduce(or_, conditions, Q(pk__in=[]))


def _by_registry(pairs: Iterable[Pair]) -> dict[int, set[dt.date]]:
    days: dict[int, set[dt.date]] = defaultdict(set)
    for reg, day in pairs:
        days[reg].add(day)
    return days


def _chunks(days: dict[int, set[dt.date]]) -> Iterator[dict[int, set[dt.date]]]:
    """``days`` in parts of at most ``_CHUNK`` (registry, day) pairs."""
    part: dict[int, set[dt.date]] = defaultdict(set)
    size = 0
    for reg, day in sorted((r, d) for r, ds in days.items() for d in ds):
        if size == _CHUNK:
            yield dict(part)
            part, size = defaultdict(set), 0
        part[reg].add(day)
        size += 1
    if size:
        yield dict(part)


def _count_days(days: dict[int, set[dt.date]], columns: Iterable[str] = COLUMNS) -> Counts:
    """``count`` of exactly these registries' days (each a range of ``registered_at``, which
    the index ``registerentry_day`` serves)."""
    series: dict[int, list[int]] = defaultdict(list)
    for pk, reg in Series.objects.filter(registry_id__in=days).values_list("pk", "registry_id"):
        series[reg].append(pk)
    where = _any(Q(series_id__in=series[reg], registered_at__gte=_start(day),
                   registered_at__lt=_start(day + dt.timedelta(days=1)))
                 for reg, ds in days.items() for day in sorted(ds) if series[reg])
    # The lines first (one pass over the index), then the counts of those lines by their
    # keys: the counting queries join letters and recipients for these lines only.
    ids = sorted(RegisterEntry.objects.filter(where).values_list("pk", flat=True))
    counts: Counts = defaultdict(_zero)
    for part in itertools.batched(ids, _LINES):
        for pair, cols in count(RegisterEntry.objects.filter(pk__in=part), columns).items():
            row = counts[pair]
            for c, n in cols.items():
                row[c] += n
    return dict(counts)


def _month_sums(days: dict[int, set[dt.date]]) -> dict[Pair, dict[str, int]]:
    """The day rows summed for every month that holds one of these days."""
    firsts = {reg: {d.replace(day=1) for d in ds} for reg, ds in days.items()}
    where = _any(Q(registry_id=reg, day__gte=min(fs), day__lt=add_months(max(fs), 1))
                 for reg, fs in firsts.items())
    sums: dict[Pair, dict[str, int]] = {}
    for r in _rows(DayTally.objects.filter(where).values("registry_id", m=TruncMonth("day"))
                   .annotate(**{c: Sum(c) for c in COLUMNS})):
        first = _day(r["m"])
        if first in firsts[r["registry_id"]]:
            sums[(r["registry_id"], first)] = {c: r[c] or 0 for c in COLUMNS}
    return {(reg, f): sums.get((reg, f), _zero()) for reg, fs in firsts.items() for f in fs}


def _write(model: type[_Tally], days: dict[int, set[dt.date]],
           counts: dict[Pair, dict[str, int]]) -> None:
    objects = model._default_manager
    objects.filter(_any(Q(registry_id=reg, day__in=sorted(ds))
                        for reg, ds in days.items())).delete()
    objects.bulk_create(
        [model(registry_id=reg, day=day, **cols) for (reg, day), cols in sorted(counts.items())
         if any(cols.values())], batch_size=1000)


def _recount(pairs: set[Pair]) -> None:
    """Count these (registry, day) pairs again, and the months that hold them."""
    for days in _chunks(_by_registry(pairs)):
        _write(DayTally, days, _count_days(days))
        months = {reg: {d.replace(day=1) for d in ds} for reg, ds in days.items()}
        _write(MonthTally, months, _month_sums(days))


def _pairs_of(entries: QuerySet[RegisterEntry]) -> set[Pair]:
    rows = (entries.annotate(d=TruncDate("registered_at", tzinfo=BANGKOK))
            .values_list("series__registry_id", "d").order_by().distinct())
    return {(reg, _day(day)) for reg, day in rows}


def fold_dirty(*, batch: int = 200) -> int:
    """Count again the days of the marked letters, ``batch`` letters a transaction; returns
    how many marks were taken."""
    done = 0
    while True:
        marks = list(TallyDirty.objects.order_by("marked_at")
                     .values_list("letter_id", "marked_at")[:batch])
        if not marks:
            return done
        with transaction.atomic():
            _lock()
            _recount(_pairs_of(RegisterEntry.objects.filter(
                letter_id__in=[letter for letter, _ in marks])))
            # A letter marked again meanwhile keeps its newer mark.
            for part in itertools.batched(marks, _CHUNK):
                TallyDirty.objects.filter(_any(Q(letter_id=letter, marked_at=at)
                                               for letter, at in part)).delete()
        done += len(marks)


def rebuild(*, registries: Sequence[int] | None = None, chunk: int = 20,
            progress: Callable[[int, int], None] | None = None) -> int:
    """Count every line again, ``chunk`` registries a transaction; the marks stay (the worker
    takes them). Returns the number of day rows written."""
    ids = (list(registries) if registries is not None
           else list(Registry.objects.order_by("pk").values_list("pk", flat=True)))
    written = 0
    for i in range(0, len(ids), chunk):
        part = ids[i:i + chunk]
        with transaction.atomic():
            _lock()
            DayTally.objects.filter(registry_id__in=part).delete()
            MonthTally.objects.filter(registry_id__in=part).delete()
            counts = count(RegisterEntry.objects.filter(series__registry_id__in=part))
            months: dict[Pair, dict[str, int]] = defaultdict(_zero)
            for (reg, day), cols in counts.items():
                month = months[(reg, day.replace(day=1))]
                for c, n in cols.items():
                    month[c] += n
            DayTally.objects.bulk_create(
                [DayTally(registry_id=r, day=d, **cols) for (r, d), cols in counts.items()],
                batch_size=2000)
            MonthTally.objects.bulk_create(
                [MonthTally(registry_id=r, day=d, **cols) for (r, d), cols in months.items()],
                batch_size=2000)
            written += len(counts)
        if progress is not None:
            progress(min(i + chunk, len(ids)), len(ids))
    return written


# ---- reading -------------------------------------------------------------------------------


@contextmanager
def _snapshot() -> Iterator[None]:
    """Run the reads of one figure against one state of the database (PostgreSQL; SQLite's
    transactions would take its one writer's lock, and its writers are rare)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _split(start: dt.date, end: dt.date) -> tuple[list[dt.date], list[tuple[dt.date, dt.date]]]:
    """The whole months in [start, end] (their first days) and the day ranges around them."""
    months = whole_months(start, end)
    if not months:
        return [], [(start, end)]
    ranges = []
    if start < months[0]:
        ranges.append((start, months[0] - dt.timedelta(days=1)))
    after = add_months(months[-1], 1)
    if after <= end:
        ranges.append((after, end))
    return months, ranges


def _key(by: str | None, value: Any) -> str:
    if by == "month":
        return _day(value).replace(day=1).isoformat()
    return "total" if by is None else str(value)


def read(scope: Scope, start: dt.date, end: dt.date, *, by: str | None = None,
         columns: Sequence[str] = COLUMNS) -> dict[str, dict[str, int]]:
    """The sums of ``columns`` over the lines of ``scope`` registered from ``start`` to
    ``end`` (Bangkok days, inclusive), by ``by`` ("unit", "agency", "month"; ``None``: one
    row "total"), keyed as the indicators' rows are. Exact at the moment it is read.

    Within ``shared()`` the months are read once for every column, and the total is their
    sum (a page asks for the total of many columns: shares, timings, circulars); another
    breakdown is read once for the columns asked."""
    cache = _SHARED.get()
    if cache is None:
        return _read(scope, start, end, by, columns)
    if by is None:
        total = dict.fromkeys(columns, 0)
        for row in read(scope, start, end, by="month", columns=columns).values():
            for c in columns:
                total[c] += row[c]
        return {"total": total}
    wanted = COLUMNS if by == "month" else tuple(columns)
    key = ("read", scope.agency.pk, scope.hosted, start, end, by, wanted)
    if key not in cache:
        cache[key] = _read(scope, start, end, by, wanted)
    return {k: {c: row[c] for c in columns} for k, row in cache[key].items()}


#: The grouping of a breakdown, in the rows counted ahead.
_GROUPS: Final = {"unit": "registry__unit_id", "agency": "registry__tenant_id"}


def _read(scope: Scope, start: dt.date, end: dt.date, by: str | None,
          columns: Sequence[str]) -> dict[str, dict[str, int]]:
    where = Q(registry__unit__path__startswith=scope.agency.path)
    if not scope.hosted:
        where &= Q(registry__tenant_id=scope.tenant_id)
    months, ranges = _split(start, end)
    parts: list[QuerySet[Any, Any]] = []
    if months:
        parts.append(MonthTally.objects.filter(where, day__in=months)
                     .annotate(month=F("day")))
    if ranges:
        parts.append(DayTally.objects.filter(where, _any(Q(day__range=r) for r in ranges))
                     .annotate(month=TruncMonth("day")))
    sums: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(columns, 0))
    aggregates = {c: Sum(c) for c in columns}
    with _snapshot():
        lo, hi = _start(start), _start(end + dt.timedelta(days=1))
        dirty = once(("dirty", scope.agency.pk, scope.hosted, start, end),
                     lambda: _pairs_of(scope.entries().filter(
                         letter_id__in=TallyDirty.objects.values("letter_id"),
                         registered_at__gte=lo, registered_at__lt=hi)))
        for rows in parts:
            if by is None:
                total = rows.aggregate(**aggregates)
                for c in columns:
                    sums["total"][c] += total[c] or 0
                continue
            group = F("month") if by == "month" else F(_GROUPS[by])
            for r in _rows(rows.values(g=group).annotate(**aggregates)):
                row = sums[_key(by, r["g"])]
                for c in columns:
                    row[c] += r[c] or 0
        if dirty:
            _correct(sums, dirty, by, columns)
    return dict(sums)


@contextmanager
def shared() -> Iterator[None]:
    """Within this block the reads of one scope and period share their work: a page showing
    several figures reads the counted-ahead rows once for each breakdown and counts the days
    that hold a marked letter once, all in one snapshot of the database (PostgreSQL: a
    read-only transaction, so the block only reads)."""
    token = _SHARED.set({})
    try:
        with _snapshot():  # what is shared was read from one state of the database
            yield
    finally:
        _SHARED.reset(token)


def once[T](key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """``compute()``, computed once per ``key`` within ``shared()`` (every time outside it)."""
    cache = _SHARED.get()
    if cache is None:
        return compute()
    if ("once", key) not in cache:
        cache[("once", key)] = compute()
    return cast(T, cache[("once", key)])


def _correct(sums: dict[str, dict[str, int]], dirty: set[Pair], by: str | None,
             columns: Sequence[str]) -> None:
    """Replace the counted-ahead rows of the ``dirty`` days by a count from the registers."""
    # Within ``shared()`` the days are counted once, for every column the page may ask.
    wanted = COLUMNS if _SHARED.get() is not None else tuple(columns)

    def counted() -> tuple[dict[int, tuple[int, int]], list[dict[str, Any]], Counts]:
        owners = {pk: (unit, tenant) for pk, unit, tenant in Registry.objects.filter(
            pk__in={reg for reg, _ in dirty}).values_list("pk", "unit_id", "tenant_id")}
        stale: list[dict[str, Any]] = []
        live: Counts = {}
        for days in _chunks(_by_registry(dirty)):
            stale += DayTally.objects.filter(_any(Q(registry_id=reg, day__in=sorted(ds))
                                                  for reg, ds in days.items())
                                             ).values("registry_id", "day", *wanted)
            live.update(_count_days(days, wanted))
        return owners, stale, live

    owners, stale, live = once(("correct", frozenset(dirty)), counted)

    def key(reg: int, day: dt.date) -> str:
        if by == "unit":
            return str(owners[reg][0])
        if by == "agency":
            return str(owners[reg][1])
        return _key(by, day)

    for r in stale:
        row = sums[key(r["registry_id"], r["day"])]
        for c in columns:
            row[c] -= r[c]
    for (reg, day), cols in live.items():
        row = sums[key(reg, day)]
        for c in columns:
            row[c] += cols[c]
