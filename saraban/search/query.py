"""Searching letters: one query string plus filters, through the access rule.

A query is split into numbers (``numbers.split_query``) and words (``text.words``). Every
word must match (AND); a word matches itself, its skeleton (what OCR leaves of it) or its
parts written apart (``text.query_alternatives``). The match runs in the database's full-text
index; the letters found are then limited by ``saraban.letters.access.visible_letters``, so
a letter the person may not see is neither listed nor counted.

A word found in most letters must not make the index read all of its matches to show the
newest 20. Every letter carries terms for its day, week and month (``text.day_terms``), so
the search asks the index for the matches of the newest two weeks first, then of longer spans
further back (``SPAN_WEEKS``), each the index's intersection of the words with the span's
few terms, and stops once it has enough: to count up to ``COUNTED`` (above that the count
is "more than"), or to fill the page asked for (up to ``COUNT_LIMIT``), or the newest
``COUNT_LIMIT`` to rank by relevance.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from saraban.agencies.models import Agency, Person
from saraban.core.errors import ValidationFailed
from saraban.letters.access import visibility
from saraban.letters.models import Letter, RegisterEntry

from .models import SearchEntry
from .numbers import split_query
from .text import code, normalise, period_terms, query_alternatives, skeleton, subwords, words

__all__ = ["COUNTED", "COUNT_LIMIT", "Filters", "Hit", "Order", "Results", "highlight", "search"]

PAGE_SIZE: Final = 20
COUNTED: Final = 100  # matches are counted up to this; above it "more than 100"
COUNT_LIMIT: Final = 1000  # the newest matches that can be paged through or ranked
MAX_WORDS: Final = 12

Order = Literal["newest", "relevance"]


@dataclass(frozen=True, kw_only=True)
class Filters:
    year_be: int | None = None
    registry_id: int | None = None
    kind: str = ""
    urgency: int | None = None
    unit_id: int | None = None
    status: str = ""
    direction: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@dataclass(frozen=True)
class Query:
    """A parsed query: groups that must all match, each a list of alternatives, each a list
    of terms that must all be present."""

    groups: tuple[tuple[tuple[str, ...], ...], ...]
    words: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.groups


def parse(text: str) -> Query:
    numbers, rest = split_query(text)
    groups: list[tuple[tuple[str, ...], ...]] = [((term,),) for term in numbers]
    found = words(rest)[:MAX_WORDS]
    for word in found:
        groups.append(tuple(tuple(alt) for alt in query_alternatives(word)))
    return Query(groups=tuple(groups), words=tuple(found))


def _expression(query: Query, *, vendor: str, span: Sequence[str] = ()) -> str:
    """The query in the backend's full-text syntax, over the terms' codes; with ``span``,
    only letters carrying one of those (day, week or month) terms."""
    and_, or_ = (" & ", " | ") if vendor == "postgresql" else (" AND ", " OR ")
    groups = []
    for group in query.groups:
        options = []
        for alternative in group:
            codes = [code(term) for term in alternative]
            options.append(codes[0] if len(codes) == 1 else "(" + and_.join(codes) + ")")
        groups.append("(" + or_.join(dict.fromkeys(options)) + ")")
    if span:
        groups.append("(" + or_.join(code(term) for term in span) + ")")
    return and_.join(groups)


def _matching(entries: QuerySet[SearchEntry], query: Query,
              span: Sequence[str] = ()) -> QuerySet[SearchEntry]:
    vendor = connection.vendor
    expression = _expression(query, vendor=vendor, span=span)
    if vendor == "postgresql":
        return entries.extra(
            where=["search_searchentry.terms @@ %s::tsquery"], params=[expression],
        )
    return entries.filter(
        letter_id__in=RawSQL("SELECT rowid FROM search_fts WHERE search_fts MATCH %s",
                             (expression,))
    )


def _ranked(query: Query, found: list[tuple[Any, int]]) -> list[int]:
    """The letters of ``found`` (``sort_at``, ``letter_id``, newest first), best match first:
    PostgreSQL's ``ts_rank``, or FTS5's ``bm25`` read once over the span of letter ids (the
    FTS5 table seeks to it), newest first among equals."""
    if not found:
        return []
    expression = _expression(query, vendor=connection.vendor)
    ids = [letter_id for _, letter_id in found]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT letter_id, ts_rank(terms, %s::tsquery) FROM search_searchentry"
                " WHERE letter_id = ANY(%s)", [expression, ids])
        else:
            cursor.execute(
                "SELECT rowid, -bm25(search_fts) FROM search_fts WHERE search_fts MATCH %s"
                " AND rowid BETWEEN %s AND %s", [expression, min(ids), max(ids)])
        score = dict(cursor.fetchall())
    order = sorted(found, key=lambda row: (score.get(row[1], 0.0), row[0], row[1]), reverse=True)
    return [letter_id for _, letter_id in order]


#: The spans a search reads in turn, newest first: the newest letter's week and the week
#: before it, then spans of this many weeks each, further back. Letters older than the last
#: span are one last span, matched without day terms.
SPAN_WEEKS: Final = (2, 4, 8, 16, 32, 64, 128)


@dataclass(frozen=True)
class Span:
    """Letters of the days ``first`` to ``last`` (``terms`` select them in the index), or
    with ``terms`` empty, every letter outside the spans before it."""

    terms: tuple[str, ...]
    first: dt.date
    last: dt.date

    def entries(self, matching: QuerySet[SearchEntry], query: Query) -> QuerySet[SearchEntry]:
        if self.terms:
            return _matching(matching, query, self.terms)
        return _matching(matching, query).filter(
            Q(sort_at__lt=_midnight(self.first))
            | Q(sort_at__gte=_midnight(self.last + dt.timedelta(days=1)))
        )


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@functools.lru_cache(maxsize=64)
def spans(newest: dt.date, today: dt.date) -> tuple[Span, ...]:
    """The spans to search in turn when the newest letter is of ``newest`` (the same for
    every search of an agency on a day, so kept)."""
    end = max(newest, today)
    first = newest - dt.timedelta(days=newest.weekday() + 7)  # the Monday a week before
    result = [Span(tuple(period_terms(first, end)), first, end)]
    for weeks in SPAN_WEEKS:
        last = first - dt.timedelta(days=1)
        first = last - dt.timedelta(weeks=weeks, days=-1)
        result.append(Span(tuple(period_terms(first, last)), first, last))
    # The rest: before the oldest span's first day, or after the end.
    result.append(Span((), first, end))
    return tuple(result)


@dataclass
class Hit:
    letter: Letter
    subject: SafeString
    snippet: SafeString


@dataclass
class Results:
    hits: list[Hit] = field(default_factory=list)
    total: int = 0
    more: bool = False  # more than ``total`` results (then ``pages`` is every page open)
    page: int = 1
    pages: int = 0
    words: tuple[str, ...] = ()


def _filtered(entries: QuerySet[SearchEntry], person: Person,
              filters: Filters) -> QuerySet[SearchEntry]:
    entries = entries.filter(visibility(person, id_field="letter_id"))
    if filters.year_be is not None:
        entries = entries.filter(year_be=filters.year_be)
    if filters.registry_id is not None:
        entries = entries.filter(letter_id__in=RegisterEntry.objects.filter(
            series__registry_id=filters.registry_id).values("letter_id"))
    if filters.kind:
        entries = entries.filter(kind=filters.kind)
    if filters.urgency is not None:
        entries = entries.filter(urgency=filters.urgency)
    if filters.unit_id is not None:  # the unit and the units under it
        unit = Agency.objects.filter(pk=filters.unit_id).values_list("path", flat=True).first()
        entries = entries.filter(unit_id__in=Agency.objects.filter(
            path__startswith=unit or "-", tenant_id=person.agency_id).values("pk"))
    if filters.status:
        entries = entries.filter(status=filters.status)
    if filters.direction:
        entries = entries.filter(direction=filters.direction)
    if filters.date_from is not None:
        entries = entries.filter(letter_date__gte=filters.date_from)
    if filters.date_to is not None:
        entries = entries.filter(letter_date__lte=filters.date_to)
    return entries


def search(
    person: Person,
    text: str,
    filters: Filters | None = None,
    *,
    order: Order = "newest",
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> Results:
    """The letters ``person`` may see that match ``text`` and ``filters``, one page of them."""
    filters = filters or Filters()
    if len(text) > 500:
        raise ValidationFailed("คำค้นยาวเกินไป", code="query_too_long", field="q")
    if order not in ("newest", "relevance"):
        raise ValidationFailed("ลำดับผลการค้นหาไม่ถูกต้อง", code="bad_order", field="order")
    page = max(1, page)
    query = parse(text)
    if query.empty and order == "relevance":
        order = "newest"
    entries = _filtered(SearchEntry.objects.all(), person, filters)
    newest = _newest(person) if not query.empty else timezone.localdate()
    # PostgreSQL: a transaction for the SET LOCALs. (SQLite's transactions here take the
    # write lock at once, which a search must not.)
    postgres = connection.vendor == "postgresql"
    with transaction.atomic() if postgres else contextlib.nullcontext():
        _plan_for_search(matching=not query.empty)
        return _page(entries, query, newest=newest, order=order, page=page,
                     page_size=page_size)


def _plan_for_search(*, matching: bool) -> None:
    """PostgreSQL, for this transaction: no parallel workers (starting them costs more than
    these LIMITed queries take) and no scans of the whole table. When ``matching``, matches
    are read through the GIN index, never by walking the agency's letters in an index and
    testing each one's terms: the planner cannot tell how few letters a span's terms select.
    (The newest letter's date is read before, through an index.)"""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('enable_seqscan', 'off', true),"
                           " set_config('max_parallel_workers_per_gather', '0', true),"
                           " set_config('enable_indexscan', %s, true)",
                           ["off" if matching else "on"])


def _page(entries: QuerySet[SearchEntry], query: Query, *, newest: dt.date, order: Order,
          page: int, page_size: int) -> Results:
    start = (page - 1) * page_size
    count = max(0, min(page_size, COUNT_LIMIT - start))  # the pages show COUNT_LIMIT at most
    # Matches to find: enough to count up to COUNTED, or to fill this page; the newest
    # COUNT_LIMIT when ranked. One more tells whether there are more.
    reach = min(start, COUNT_LIMIT) + count
    need = 1 + (COUNT_LIMIT if order == "relevance" else max(COUNTED, reach))
    if query.empty:
        ids = list(entries.order_by("-sort_at", "-letter_id")
                   .values_list("letter_id", flat=True)[:need])
        return _results(ids[start:start + count], query, found=len(ids), need=need, page=page,
                        page_size=page_size)
    # The matches span by span, newest first, until there are enough.
    found: list[tuple[Any, int]] = []
    windows = spans(newest, timezone.localdate())
    read = _SpanReader(entries, query)
    for span in windows:
        found += read(span, need - len(found))
        if len(found) >= need:
            break
    found.sort(reverse=True)  # newest first, as ORDER BY sort_at DESC, letter_id DESC
    if order == "relevance":
        # Ranked among all matches, or when there are too many, among the newest of them.
        ids = _ranked(query, found[:COUNT_LIMIT])[start:start + count]
    else:
        ids = [letter_id for _, letter_id in found[start:start + count]]
    return _results(ids, query, found=len(found), need=need, page=page, page_size=page_size)


class _SpanReader:
    """Reads a span's newest matches (``sort_at``, ``letter_id``) with SQL compiled once per
    search: only the full-text expression differs from one span to the next."""

    _MARK: Final = ("@span",)

    def __init__(self, entries: QuerySet[SearchEntry], query: Query) -> None:
        self.entries, self.query = entries, query
        self.vendor = connection.vendor
        self.sql, self.params, self.at = self._compile(_matching(entries, query, self._MARK))

    def _compile(self, matching: QuerySet[SearchEntry]) -> tuple[str, list[Any], int]:
        rows = matching.order_by("-sort_at", "-letter_id").values_list("sort_at", "letter_id")
        sql, params = rows.query.sql_with_params()
        marked = _expression(self.query, vendor=self.vendor, span=self._MARK)
        return sql, list(params), list(params).index(marked) if marked in params else -1

    def __call__(self, span: Span, limit: int) -> list[tuple[Any, int]]:
        if span.terms:
            sql, params = self.sql, list(self.params)
            params[self.at] = _expression(self.query, vendor=self.vendor, span=span.terms)
        else:
            sql, params, _ = self._compile(span.entries(self.entries, self.query))
        with connection.cursor() as cursor:
            cursor.execute(f"{sql} LIMIT %s", [*params, limit])
            return [(at, letter_id) for at, letter_id in cursor.fetchall()]


def _newest(person: Person) -> dt.date:
    """The day of the newest letter in the person's agency (today if it has none)."""
    at = (SearchEntry.objects.filter(tenant_id=person.agency_id).order_by("-sort_at")
          .values_list("sort_at", flat=True).first())
    return timezone.localdate(at) if at is not None else timezone.localdate()


def _results(ids: list[int], query: Query, *, found: int, need: int, page: int,
             page_size: int) -> Results:
    """One page of hits; ``found`` matches were read looking for ``need``: when all of them
    were found there are more than ``need - 1``, and every page up to COUNT_LIMIT is open."""
    more = found >= need
    total = need - 1 if more else found
    letters = Letter.objects.in_bulk(ids)
    hits = [
        Hit(letter=letters[i], subject=highlight(letters[i].subject, query.words),
            snippet=snippet(letters[i].body, query.words))
        for i in ids if i in letters
    ]
    pages = (COUNT_LIMIT if more else total + page_size - 1) // page_size
    return Results(hits=hits, total=total, more=more, page=page, pages=pages,
                   words=query.words)


# --- highlighting ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=50_000)
def _matches(word: str, wanted: tuple[str, ...]) -> str | None:
    """The part of ``word`` to highlight for the query words ``wanted``, if any."""
    clean = normalise(word)
    for target in wanted:
        if clean == target or skeleton(clean) == skeleton(target):
            return word
        if target in subwords(clean) or (len(target) >= 3 and target in clean):
            return target
    return None


def highlight(text: str, wanted: Sequence[str]) -> SafeString:
    """``text`` HTML-escaped, with the words that match the query in ``<mark>``."""
    if not wanted or not text:
        return mark_safe(html.escape(text))  # noqa: S308  (escaped here)
    import nlpo3

    from .text import _loaded

    out = []
    for token in nlpo3.segment(text, _loaded("th")):
        part = _matches(token, tuple(wanted)) if token.strip() else None
        if part is None:
            out.append(html.escape(token))
        elif part == token or part not in token:
            out.append(f"<mark>{html.escape(token)}</mark>")
        else:
            before, _, after = token.partition(part)
            out.append(f"{html.escape(before)}<mark>{html.escape(part)}</mark>"
                       f"{html.escape(after)}")
    return mark_safe("".join(out))  # noqa: S308  (every piece is escaped above)


def snippet(text: str, wanted: Sequence[str], *, width: int = 160) -> SafeString:
    """A window of ``text`` around its first matching word, highlighted."""
    if not text:
        return mark_safe("")
    clean = text.replace("\n", " ")
    position = -1
    normal = normalise(clean)
    for target in wanted:
        position = normal.find(target)
        if position >= 0:
            break
    start = max(0, position - width // 3) if position >= 0 else 0
    piece = clean[start:start + width]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(clean) else ""
    return mark_safe(prefix + highlight(piece, wanted) + suffix)  # noqa: S308
