"""A search reads the index span by span, newest days first (``query.spans``): whatever
the spans, the results must be every match newest first, counted up to COUNT_LIMIT, on both
backends. Letters are dated across every span boundary, and COUNT_LIMIT is made small so
the last span read is cut short."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from saraban.agencies.actors import resolve_actor
from saraban.letters.access import visible_letters
from saraban.letters.models import Letter, Secrecy
from saraban.letters.services import LetterDetails, letter_register_incoming
from saraban.search import query as search_query
from saraban.search.index import reindex
from saraban.search.query import SPAN_WEEKS, Filters, search, spans
from saraban.search.text import period_terms

#: Days before today of the matching letters: both sides of every span's edge, beyond the
#: last span, and one dated tomorrow (a clock ahead); 0 twice (same time: newest id first).
AGES = (-1, 0, 0, 1, 6, 7, 8, 30, 31, 32, 91, 92, 150, 273, 274, 639, 640, 1000, 1370, 1371,
        1372, 2500)


def test_period_terms_use_whole_months_and_the_days_at_the_ends() -> None:
    assert period_terms(dt.date(2024, 1, 30), dt.date(2024, 3, 2)) == [
        "@d20240130", "@d20240131", "@m202402", "@d20240301", "@d20240302"]
    assert period_terms(dt.date(2023, 12, 1), dt.date(2024, 1, 31)) == ["@m202312", "@m202401"]
    assert period_terms(dt.date(2024, 2, 29), dt.date(2024, 2, 29)) == ["@d20240229"]
    assert period_terms(dt.date(2024, 3, 2), dt.date(2024, 3, 1)) == []
    # Whole weeks (by their Monday), but not one that would break up a whole month.
    assert period_terms(dt.date(2026, 11, 16), dt.date(2026, 11, 29)) == [
        "@w20261116", "@w20261123"]
    assert period_terms(dt.date(2026, 9, 28), dt.date(2026, 10, 31)) == [
        "@d20260928", "@d20260929", "@d20260930", "@m202610"]
    assert period_terms(dt.date(2026, 11, 23), dt.date(2026, 12, 8)) == [
        "@w20261123", "@w20261130", "@d20261207", "@d20261208"]


def _days(terms: tuple[str, ...]) -> set[dt.date]:
    days = set()
    for term in terms:
        first = dt.datetime.strptime(term[2:].ljust(8, "1"), "%Y%m%d").date()
        if term.startswith("@d"):
            days.add(first)
        elif term.startswith("@w"):
            days |= {first + dt.timedelta(days=i) for i in range(7)}
        else:
            day = first.replace(day=1)
            while day.month == first.month:
                days.add(day)
                day += dt.timedelta(days=1)
    return days


@pytest.mark.parametrize("newest", [dt.date(2026, 12, 4), dt.date(2026, 3, 1),
                                    dt.date(2024, 2, 29)])
def test_spans_cover_each_day_once(newest) -> None:
    today = dt.date(2026, 12, 4)
    found = spans(newest, today)
    assert len(found) == len(SPAN_WEEKS) + 2
    covered: set[dt.date] = set()
    for span in found[:-1]:
        days = _days(span.terms)
        assert days == {span.first + dt.timedelta(days=i)
                        for i in range((span.last - span.first).days + 1)}
        assert not days & covered
        covered |= days
    rest = found[-1]
    assert not rest.terms
    assert min(covered) == rest.first and max(covered) == rest.last == max(newest, today)


@pytest.fixture
def dated(org):
    """Matching letters of every age in AGES, secret ones, letters that do not match; the
    letters the clerk may see that match, newest first."""
    clerk = resolve_actor(org.clerk)
    now = timezone.now()

    def letter(subject: str, age: int, **extra) -> Letter:
        made = letter_register_incoming(
            actor=clerk, registry=org.central,
            details=LetterDetails(kind="external", subject=subject, body="",
                                  sender_text="กรมการปกครอง", **extra),
        ).letter
        Letter.objects.filter(pk=made.pk).update(created_at=now - dt.timedelta(days=age))
        return made

    matching = [letter(f"ขอเชิญประชุมคณะทำงาน ครั้งที่ {i}", age) for i, age in enumerate(AGES)]
    same_time = Letter.objects.filter(pk__in=[m.pk for m in matching[1:3]])
    same_time.update(created_at=now)
    for age in (0, 40, 400):
        letter("ขอเชิญประชุมลับ", age, secrecy=Secrecy.SECRET, secret_readers=[org.director])
        letter("แจ้งผลการจัดซื้อ", age)
    reindex()
    # What the clerk may see, by the access rule itself: not the secret ones.
    ordered = visible_letters(org.clerk).filter(subject__contains="ประชุม").order_by(
        "-created_at", "-pk")
    return list(ordered.values_list("pk", flat=True))


@pytest.mark.parametrize(("counted", "limit"), [(200, 1000), (9, 1000), (4, 12)])
def test_every_match_newest_first_whatever_the_spans(org, dated, counted, limit,
                                                     monkeypatch) -> None:
    monkeypatch.setattr(search_query, "COUNTED", counted)
    monkeypatch.setattr(search_query, "COUNT_LIMIT", limit)
    for page in range(1, 11):
        results = search(org.clerk, "ประชุม", page=page, page_size=3)
        start = (page - 1) * 3
        assert [hit.letter.pk for hit in results.hits] == dated[:limit][start:start + 3]
        # Counted up to COUNTED, or as far as the page: then "more than" that many.
        need = max(counted, min(start + 3, limit))
        assert results.more == (len(dated) > need)
        assert results.total == min(len(dated), need)
        assert results.pages == (limit // 3 if results.more else (len(dated) + 2) // 3)


@pytest.mark.parametrize("limit", [1000, 9])
def test_relevance_ranks_every_match_or_the_newest(org, dated, limit, monkeypatch) -> None:
    monkeypatch.setattr(search_query, "COUNTED", 4)
    monkeypatch.setattr(search_query, "COUNT_LIMIT", limit)
    found = []
    for page in range(1, 12):
        found += [h.letter.pk for h in search(org.clerk, "ประชุม", order="relevance",
                                              page=page, page_size=3).hits]
    assert sorted(found) == sorted(dated[:limit])


def test_filters_apply_in_every_span(org, dated) -> None:
    old = Letter.objects.filter(pk__in=dated, created_at__lt=timezone.now()
                                - dt.timedelta(days=500)).values_list("pk", flat=True)
    assert set(old)
    day = (timezone.now() - dt.timedelta(days=500)).date()
    Letter.objects.filter(pk__in=old).update(letter_date=day - dt.timedelta(days=1))
    reindex()
    results = search(org.clerk, "ประชุม", Filters(date_to=day), page_size=50)
    assert [h.letter.pk for h in results.hits] == [pk for pk in dated if pk in set(old)]
