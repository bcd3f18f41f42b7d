"""``GET /search``: the letters the person may see that match a query and filters.

The engine (``saraban.search.query.search``) applies the access rule, so a letter the person
may not see is neither returned nor counted. Here the filters are checked against what the
person may choose (their registries, their agency's units, the known kinds …); a value outside
them is refused with ``bad_filter`` naming the field, before anything is searched.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, Q, prefetch_related_objects
from django.http import HttpRequest
from django.urls import reverse
from ninja import Query, Router, Schema
from pydantic import Field

from saraban.agencies.models import Agency, Person
from saraban.api.auth import current_person
from saraban.api.schemas import ErrorOut, Id, IsoDate, PageNumber
from saraban.core.errors import ValidationFailed
from saraban.letters.access import registries_for, viewable_registries
from saraban.letters.models import Direction, Letter, LetterKind, RegisterEntry, Registry, Urgency
from saraban.search.models import LetterStatus
from saraban.search.query import Filters, Hit, Order, search

router = Router(tags=["search"])

MAX_PAGE_SIZE = 100


class SearchQuery(Schema):
    q: str = Field("", description="Words and letter numbers, typed any way (Thai or Arabic "
                                    "digits); empty lists the newest letters")
    year: int | None = Field(None, description="Buddhist year (พ.ศ.) of the letter")
    registry: Id | None = Field(None, description="A registry id (see GET /registries)")
    kind: str = Field("", description="Letter kind: " + ", ".join(LetterKind.values))
    urgency: int | None = Field(None, description="0 ปกติ, 1 ด่วน, 2 ด่วนมาก, 3 ด่วนที่สุด")
    unit: Id | None = Field(None, description="A unit of the person's agency")
    status: str = Field("", description="Status: " + ", ".join(LetterStatus.values))
    direction: str = Field("", description="incoming or outgoing")
    date_from: IsoDate | None = Field(None, description="Letter date from (inclusive)")
    date_to: IsoDate | None = Field(None, description="Letter date to (inclusive)")
    order: str = Field("newest", description="newest or relevance")
    page: PageNumber = 1
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)


class SearchHitOut(Schema):
    id: int
    number: str
    subject: str
    subject_html: str = Field(description="The subject, HTML-escaped, matches in <mark>")
    snippet_html: str = Field(description="A part of the text around the first match")
    kind: str
    urgency: int
    secrecy: int
    direction: str
    sender: str
    recipient: str
    letter_date: dt.date | None
    registered_at: dt.datetime | None = Field(description="When first registered")
    url: str = Field(description="The letter in this API")
    web_url: str = Field(description="The letter's page in the web UI")


class SearchOut(Schema):
    total: int = Field(description="Letters found: exact unless ``more``; counted up to 100, "
                             "or as far as the page asked for")
    more: bool = Field(description="More than ``total`` letters were found")
    page: int
    pages: int = Field(description="Pages of results; with ``more``, every page open (the "
                                   "newest 1000 letters)")
    results: list[SearchHitOut]


def _bad_filter(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, code="bad_filter", field=field)


def _filters(person: Person, q: SearchQuery) -> Filters:
    """The engine's filters, each value checked against what this person may choose."""
    if q.year is not None and not 2400 <= q.year <= 2700:
        raise _bad_filter("year", "ปี พ.ศ. ไม่ถูกต้อง")
    if q.kind and q.kind not in LetterKind.values:
        raise _bad_filter("kind", "ชนิดหนังสือไม่ถูกต้อง")
    if q.urgency is not None and q.urgency not in Urgency.values:
        raise _bad_filter("urgency", "ชั้นความเร็วไม่ถูกต้อง")
    if q.status and q.status not in LetterStatus.values:
        raise _bad_filter("status", "สถานะไม่ถูกต้อง")
    if q.direction and q.direction not in Direction.values:
        raise _bad_filter("direction", "ต้องเป็นหนังสือรับ (incoming) หรือหนังสือส่ง (outgoing)")
    if q.date_from and q.date_to and q.date_from > q.date_to:
        raise _bad_filter("date_to", "วันที่สิ้นสุดต้องไม่ก่อนวันที่เริ่มต้น")
    if q.registry is not None and not Registry.objects.filter(
        Q(pk__in=viewable_registries(person).values("pk"))
        | Q(pk__in=registries_for(person).values("pk")),
        pk=q.registry,
    ).exists():
        raise _bad_filter("registry", "ไม่พบทะเบียนที่ระบุ หรือท่านไม่มีสิทธิ์เข้าถึง")
    if q.unit is not None and not Agency.objects.filter(
        pk=q.unit, tenant_id=person.agency_id
    ).exists():
        raise _bad_filter("unit", "ไม่พบหน่วยงานที่ระบุในส่วนราชการของท่าน")
    return Filters(
        year_be=q.year, registry_id=q.registry, kind=q.kind, urgency=q.urgency,
        unit_id=q.unit, status=q.status, direction=q.direction,
        date_from=q.date_from, date_to=q.date_to,
    )


def _hit_out(hit: Hit) -> SearchHitOut:
    letter: Letter = hit.letter
    entries = list(letter.entries.all())
    return SearchHitOut(
        id=letter.pk,
        number=letter.number,
        subject=letter.subject,
        subject_html=str(hit.subject),
        snippet_html=str(hit.snippet),
        kind=letter.kind,
        urgency=letter.urgency,
        secrecy=letter.secrecy,
        direction=letter.direction,
        sender=letter.sender_display,
        recipient=letter.recipient_display,
        letter_date=letter.letter_date,
        registered_at=entries[0].registered_at if entries else None,
        url=reverse("api:letter", kwargs={"letter_id": letter.pk}),
        web_url=reverse("web:letter_detail", args=[letter.pk]),
    )


@router.get(
    "",
    response={200: SearchOut, 400: ErrorOut, 401: ErrorOut, 422: ErrorOut},
    url_name="search",
    summary="Search letters",
)
def search_letters(request: HttpRequest, q: Query[SearchQuery]) -> SearchOut:
    """Letters the person may see matching ``q`` and the filters, one page, newest first or
    by relevance. Errors: ``query_too_long``, ``bad_order``, ``bad_filter`` (400, with
    ``field``); a value of the wrong type is ``invalid_request`` (422)."""
    person = current_person(request)
    filters = _filters(person, q)
    if q.order not in ("newest", "relevance"):
        raise ValidationFailed("ลำดับผลการค้นหาต้องเป็น newest หรือ relevance",
                               code="bad_order", field="order")
    order: Order = "relevance" if q.order == "relevance" else "newest"
    results = search(person, q.q, filters, order=order, page=q.page, page_size=q.page_size)
    prefetch_related_objects(
        [hit.letter for hit in results.hits],
        "sender_agency",
        "recipient_agency",
        Prefetch("entries", queryset=RegisterEntry.objects.order_by("registered_at", "pk")),
    )
    return SearchOut(
        total=results.total, more=results.more, page=results.page, pages=results.pages,
        results=[_hit_out(hit) for hit in results.hits],
    )
