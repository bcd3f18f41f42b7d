"""Registries and their registers: which a person may browse, and the lines of one register."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from saraban.api.auth import current_person
from saraban.api.render import ENTRY_RELATED, entry_out, letter_summary_out, registry_out
from saraban.api.schemas import (
    ErrorOut,
    PageNumber,
    RegisterLineOut,
    RegisterPageOut,
    RegistriesOut,
)
from saraban.core.errors import NotFound, ValidationFailed
from saraban.core.thai import be_year
from saraban.letters.access import registries_for, viewable_registries, visible_letters
from saraban.letters.models import RegisterEntry, Registry, SeriesKind

router = Router(tags=["registries"])


class RegisterQuery(Schema):
    year: int | None = Field(None, ge=2400, le=3000, description="Buddhist year; this year")
    page: PageNumber = 1
    page_size: int = Field(50, ge=1, le=200)


@router.get(
    "", response={200: RegistriesOut, 401: ErrorOut}, url_name="registries",
    summary="Registries",
)
def registries_list(request: HttpRequest) -> RegistriesOut:
    """Registries the person may browse, each saying whether they may register in it."""
    person = current_person(request)
    can_register = set(registries_for(person).values_list("pk", flat=True))
    registries = (
        Registry.objects.filter(
            Q(pk__in=viewable_registries(person).values("pk")) | Q(pk__in=can_register)
        )
        .select_related("unit")
        .prefetch_related("series")
        .order_by("unit__path")
    )
    return RegistriesOut(
        items=[registry_out(r, can_register=r.pk in can_register) for r in registries]
    )


@router.get(
    "/{registry_id}/series/{kind}/entries",
    response={200: RegisterPageOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    url_name="register_entries",
    summary="Lines of a register",
)
def register_entries(
    request: HttpRequest, registry_id: int, kind: str, q: Query[RegisterQuery]
) -> RegisterPageOut:
    """One register for one Buddhist year, newest first, only the lines the person may see."""
    person = current_person(request)
    registry = viewable_registries(person).filter(pk=registry_id).first()
    if registry is None:
        raise NotFound("ไม่พบทะเบียน หรือท่านไม่มีสิทธิ์เข้าถึง", code="registry_not_found")
    if kind not in SeriesKind.values:
        raise ValidationFailed("ชุดทะเบียนไม่ถูกต้อง", code="bad_series", field="kind")
    year = q.year or be_year(timezone.now())
    lines = (
        RegisterEntry.objects.filter(
            series__registry=registry,
            series__kind=kind,
            year_be=year,
            letter__in=visible_letters(person),
        )
        .select_related(*ENTRY_RELATED, "letter__sender_agency", "letter__recipient_agency")
        .order_by("-number")
    )
    total = lines.count()
    start = (q.page - 1) * q.page_size
    page = lines[start : start + q.page_size]
    return RegisterPageOut(
        registry_id=registry.pk,
        series=kind,
        year=year,
        page=q.page,
        page_size=q.page_size,
        total=total,
        items=[
            RegisterLineOut(entry=entry_out(e), letter=letter_summary_out(e.letter)) for e in page
        ],
    )
