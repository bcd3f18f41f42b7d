"""Browsing: the dashboard, the registers (screen and print) and the letter page.

Every letter shown comes through ``saraban.letters.access`` (``visible_letters`` for lists,
``access_letter`` for one letter); a letter the person may not see answers 404, in Thai,
exactly like one that does not exist.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from saraban.agencies.models import Person
from saraban.core.audit import history
from saraban.core.errors import NotFound
from saraban.core.thai import BANGKOK, bangkok, today_bangkok
from saraban.letters import files as letter_files
from saraban.letters.access import (
    access_letter,
    registries_for,
    viewable_registries,
    visible_letters,
)
from saraban.letters.models import (
    INCOMING_SERIES,
    Handover,
    Letter,
    RegisterEntry,
    Series,
    SeriesKind,
    SeriesYear,
    Urgency,
)
from saraban.signatures.expiry import expiring_for

from ..forms_browse import RegisterFilterForm

PAGE_SIZE = 50

ACTION_LABELS = {
    "letter_register_incoming": "ลงทะเบียนรับ",
    "letter_register_outgoing": "ลงทะเบียนส่ง",
    "register_entry_cancel": "ยกเลิกเลขทะเบียน",
    "letter_hand_over": "ส่งต่อหน่วยงาน",
    "letter_register_in_unit": "หน่วยงานลงทะเบียนรับ",
    "letter_correct": "แก้ไขหนังสือ",
    "routing_endorse": "เกษียนหนังสือ",
    "routing_assign": "มอบหมาย",
    "routing_acknowledge": "รับทราบ",
    "routing_close": "เรื่องเสร็จ",
    "routing_return": "ส่งคืน",
    "routing_forward": "ส่งต่อ",
    "circular_distribute": "เวียนหนังสือ",
    "circular_acknowledge": "รับทราบหนังสือเวียน",
}
ACTING_LABELS = {"acting": "รักษาราชการแทน", "delegated": "ปฏิบัติราชการแทน"}


def person_of(request: HttpRequest) -> Person:
    """The signed-in person (views are behind ``login_required``)."""
    user = request.user
    if not isinstance(user, Person):
        raise PermissionDenied
    return user


def not_found(request: HttpRequest, message: str = "") -> HttpResponse:
    """The Thai 404 page; says nothing about whether the thing exists."""
    return render(
        request,
        "web/letters/not_found.html",
        {"message": message or "ไม่พบหนังสือ หรือท่านไม่มีสิทธิ์เข้าถึง"},
        status=404,
    )


def _today_bounds() -> tuple[dt.datetime, dt.datetime]:
    day = today_bangkok()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=BANGKOK)
    return start, start + dt.timedelta(days=1)


# ---- dashboard ---------------------------------------------------------------------------


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    person = person_of(request)
    start, end = _today_bounds()
    today_ids = RegisterEntry.objects.filter(
        registered_at__gte=start, registered_at__lt=end, letter__in=visible_letters(person)
    ).values("letter_id")
    today = Letter.objects.filter(pk__in=today_ids)
    counts = dict(
        today.order_by().values_list("urgency").annotate(n=Count("pk")).values_list("urgency", "n")
    )
    by_urgency = [
        {"value": value, "label": label, "count": counts.get(value, 0)}
        for value, label in reversed(Urgency.choices)
    ]
    letters = list(
        today.select_related("sender_agency", "recipient_agency").order_by(
            "-urgency", "-created_at"
        )[:100]
    )
    registries = list(viewable_registries(person).prefetch_related("series").order_by("unit__path"))
    clerk_registries = registries_for(person)
    waiting = Handover.objects.filter(
        to_registry__in=clerk_registries, entry__isnull=True
    ).count()
    return render(
        request,
        "web/dashboard.html",
        {
            "today": today_bangkok(),
            "by_urgency": by_urgency,
            "today_total": sum(counts.values()),
            "letters": letters,
            "registries": registries,
            "waiting_handovers": waiting,
            "certificate_warnings": expiring_for(person),
        },
    )


# ---- registers ---------------------------------------------------------------------------


@login_required
def registers(request: HttpRequest) -> HttpResponse:
    person = person_of(request)
    registries = list(viewable_registries(person).prefetch_related("series").order_by("unit__path"))
    return render(request, "web/registers/index.html", {"registries": registries})


def series_for(person: Person, registry_id: int, kind: str) -> Series:
    """The series ``kind`` of a registry whose registers ``person`` may browse, its registry
    attached; ``Http404`` for anything else (an unknown kind, another agency's registry)."""
    if kind not in SeriesKind.values:
        raise Http404
    registry = viewable_registries(person).filter(pk=registry_id).first()
    if registry is None:
        raise Http404
    series = Series.objects.filter(registry=registry, kind=kind).first()
    if series is None:
        raise Http404
    series.registry = registry
    return series


def register_entries(person: Person, series: Series) -> QuerySet[RegisterEntry]:
    """The entries of one series this person may see: the access rule, then the series."""
    return RegisterEntry.objects.filter(
        series=series, letter__in=visible_letters(person)
    ).select_related("letter__sender_agency", "letter__recipient_agency")


def _filtered(
    entries: QuerySet[RegisterEntry], form: RegisterFilterForm
) -> tuple[QuerySet[RegisterEntry], int]:
    data = form.cleaned_data if form.is_valid() else {}
    year: int = data.get("year") or today_bangkok().year + 543
    entries = entries.filter(year_be=year)
    urgency = data.get("urgency")
    if urgency is not None:
        entries = entries.filter(letter__urgency=urgency)
    text = (data.get("q") or "").strip()
    if text:
        entries = entries.filter(
            Q(letter__subject__icontains=text)
            | Q(letter__number__icontains=text)
            | Q(formatted__icontains=text)
            | Q(letter__sender_text__icontains=text)
            | Q(letter__sender_agency__name_th__icontains=text)
        )
    return entries, year


def _years(series: Series, current: int) -> list[int]:
    years = set(SeriesYear.objects.filter(series=series).values_list("year_be", flat=True))
    years.add(today_bangkok().year + 543)
    years.add(current)
    return sorted(years, reverse=True)


def _is_incoming(series: Series) -> bool:
    return series.kind in INCOMING_SERIES


@login_required
def register_list(request: HttpRequest, registry_id: int, kind: str) -> HttpResponse:
    person = person_of(request)
    series = series_for(person, registry_id, kind)
    form = RegisterFilterForm(request.GET or None)
    entries, year = _filtered(register_entries(person, series), form)
    page = Paginator(entries.order_by("-number"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context: dict[str, Any] = {
        "series": series,
        "registry": series.registry,
        "form": form,
        "year": year,
        "years": _years(series, year),
        "page": page,
        "query": query.urlencode(),
        "incoming": _is_incoming(series),
        "print_url": reverse("web:register_print", args=[series.registry.pk, series.kind])
        + f"?year={year}",
    }
    template = "web/registers/list.html"
    if getattr(request, "htmx", False):
        template = "web/registers/_table.html"
    return render(request, template, context)


@dataclass(frozen=True, slots=True)
class PrintDay:
    day: dt.date
    entries: list[RegisterEntry]


def _by_day(entries: Iterable[RegisterEntry]) -> list[PrintDay]:
    return [
        PrintDay(day=day, entries=list(group))
        for day, group in itertools.groupby(entries, key=lambda e: bangkok(e.registered_at).date())
    ]


@login_required
def register_print(request: HttpRequest, registry_id: int, kind: str) -> HttpResponse:
    """แบบที่ 12 (incoming series) or แบบที่ 14 (the others), one block per registration day."""
    person = person_of(request)
    series = series_for(person, registry_id, kind)
    form = RegisterFilterForm(request.GET or None)
    entries, year = _filtered(register_entries(person, series), form)
    incoming = _is_incoming(series)
    return render(
        request,
        "web/registers/print.html",
        {
            "series": series,
            "registry": series.registry,
            "year": year,
            "incoming": incoming,
            "heading": "ทะเบียนหนังสือรับ" if incoming else "ทะเบียนหนังสือส่ง",
            "form_name": "แบบที่ 12" if incoming else "แบบที่ 14",
            "days": _by_day(entries.order_by("number")),
        },
    )


# ---- the letter page ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryLine:
    at: dt.datetime
    who: str
    position: str
    acting: str
    what: str
    details: dict[str, Any]


def _history(letter: Letter) -> list[HistoryLine]:
    return [
        HistoryLine(
            at=event.created_at,
            who=event.actor_name,
            position=event.position_title,
            acting=ACTING_LABELS.get(event.acting_kind, ""),
            what=ACTION_LABELS.get(event.action, event.action),
            details=event.details,
        )
        for event in history("letter", letter.pk)
    ]


@login_required
def letter_detail(request: HttpRequest, letter_id: int) -> HttpResponse:
    person = person_of(request)
    try:
        letter = access_letter(person, letter_id)
    except NotFound as exc:
        return not_found(request, exc.message)
    letter = Letter.objects.select_related("sender_agency", "recipient_agency", "unit").get(
        pk=letter.pk
    )
    references = list(letter.references.select_related("referenced"))
    linked = [r.referenced_id for r in references if r.referenced_id]
    visible_refs = (
        set(visible_letters(person).filter(pk__in=linked).values_list("pk", flat=True))
        if linked
        else set()
    )
    entries = list(
        letter.entries.select_related("series__registry").order_by("registered_at", "pk")
    )
    all_files = list(letter.files.select_related("blob"))
    files = [f for f in all_files if f.replaced_at is None]
    replaced = sorted((f for f in all_files if f.replaced_at is not None),
                      key=lambda f: (f.replaced_at, f.role, f.pk))
    has_pdf = any(
        f.role == "main" and f.blob.content_type == letter_files.PDF for f in files
    )
    return render(
        request,
        "web/letters/detail.html",
        {
            "letter": letter,
            "references": [
                {"ref": r, "visible": r.referenced_id in visible_refs} for r in references
            ],
            "enclosures": list(letter.enclosures.all()),
            "entries": [
                {"entry": e, "incoming": e.series.kind in INCOMING_SERIES} for e in entries
            ],
            "dispatches": list(letter.dispatches.select_related("recipient_agency")),
            "files": files,
            "replaced_files": replaced,
            "has_pdf": has_pdf,
            "history": _history(letter),
        },
    )

