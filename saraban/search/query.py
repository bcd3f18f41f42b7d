"""Searching letters: one query string plus filters, through the access rule.

A query is split into numbers (``numbers.split_query``) and words (``text.words``). Every
word must match (AND); a word matches itself, its skeleton (what OCR leaves of it) or its
parts written apart (``text.query_alternatives``). The match runs in the database's full-text
index; the letters found are then limited by ``saraban.letters.access.visible_letters``, so
a letter the person may not see is neither listed nor counted.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.utils.safestring import SafeString, mark_safe

from saraban.agencies.models import Agency, Person
from saraban.core.errors import ValidationFailed
from saraban.letters.access import visibility
from saraban.letters.models import Letter, RegisterEntry

from .models import SearchEntry
from .numbers import split_query
from .text import code, normalise, query_alternatives, skeleton, subwords, words

__all__ = ["COUNT_LIMIT", "Filters", "Hit", "Order", "Results", "highlight", "search"]

PAGE_SIZE: Final = 20
COUNT_LIMIT: Final = 1000  # counts above this are shown as "more than 1,000"
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


def _expression(query: Query, *, vendor: str) -> str:
    """The query in the backend's full-text syntax, over the terms' codes."""
    and_, or_ = (" & ", " | ") if vendor == "postgresql" else (" AND ", " OR ")
    groups = []
    for group in query.groups:
        options = []
        for alternative in group:
            codes = [code(term) for term in alternative]
            options.append(codes[0] if len(codes) == 1 else "(" + and_.join(codes) + ")")
        groups.append("(" + or_.join(dict.fromkeys(options)) + ")")
    return and_.join(groups)


def _matching(query: Query) -> QuerySet[SearchEntry]:
    vendor = connection.vendor
    expression = _expression(query, vendor=vendor)
    if vendor == "postgresql":
        return SearchEntry.objects.extra(
            where=["search_searchentry.tsv @@ to_tsquery('simple', %s)"],
            params=[expression],
        )
    return SearchEntry.objects.filter(
        letter_id__in=RawSQL("SELECT rowid FROM search_fts WHERE search_fts MATCH %s",
                             (expression,))
    )


def _rank(query: Query) -> RawSQL:
    expression = _expression(query, vendor=connection.vendor)
    if connection.vendor == "postgresql":
        return RawSQL(
            "ts_rank(search_searchentry.tsv, to_tsquery('simple', %s))",
            (expression,),
        )
    # FTS5's bm25 is lower for better matches; negate it so both sort descending.
    return RawSQL(
        "(SELECT -bm25(search_fts) FROM search_fts WHERE search_fts MATCH %s"
        " AND search_fts.rowid = search_searchentry.letter_id)",
        (expression,),
    )


@dataclass
class Hit:
    letter: Letter
    subject: SafeString
    snippet: SafeString


@dataclass
class Results:
    hits: list[Hit] = field(default_factory=list)
    total: int = 0
    more: bool = False  # more than COUNT_LIMIT results (``total`` is then COUNT_LIMIT)
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
    if query.empty:
        entries = SearchEntry.objects.all()
        if order == "relevance":
            order = "newest"
    else:
        entries = _matching(query)
    entries = _filtered(entries, person, filters)
    with transaction.atomic():
        _plan_for_search()
        return _page(entries, query, order=order, page=page, page_size=page_size)


def _plan_for_search() -> None:
    """PostgreSQL, for this transaction: read matches through the GIN index rather than
    scanning rows (each row's tsvector is large), and no parallel workers (starting them
    costs more than these LIMITed queries take)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")


def _page(entries: QuerySet[SearchEntry], query: Query, *, order: Order, page: int,
          page_size: int) -> Results:
    counted = list(entries.values_list("letter_id", flat=True)[: COUNT_LIMIT + 1])
    more = len(counted) > COUNT_LIMIT
    total = min(len(counted), COUNT_LIMIT)
    if not more and not query.empty:
        # Every match is in hand: order just those. (Left to itself, the planner may walk
        # the whole table in date order looking for a rare word's few matches.)
        entries = SearchEntry.objects.filter(letter_id__in=counted)
    if order == "relevance":
        entries = entries.annotate(rank=_rank(query)).order_by("-rank", "-sort_at", "-letter_id")
    else:
        entries = entries.order_by("-sort_at", "-letter_id")
    start = (page - 1) * page_size
    ids = list(entries.values_list("letter_id", flat=True)[start:start + page_size])
    letters = Letter.objects.in_bulk(ids)
    hits = [
        Hit(letter=letters[i], subject=highlight(letters[i].subject, query.words),
            snippet=snippet(letters[i].body, query.words))
        for i in ids if i in letters
    ]
    return Results(hits=hits, total=total, more=more, page=page,
                   pages=(total + page_size - 1) // page_size, words=query.words)


# --- highlighting ---------------------------------------------------------------------------


def _matches(word: str, wanted: Sequence[str]) -> str | None:
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
        part = _matches(token, wanted) if token.strip() else None
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
    for target in wanted:
        position = normalise(clean).find(target)
        if position >= 0:
            break
    start = max(0, position - width // 3) if position >= 0 else 0
    piece = clean[start:start + width]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(clean) else ""
    return mark_safe(prefix + highlight(piece, wanted) + suffix)  # noqa: S308
