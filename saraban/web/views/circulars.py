"""Circulars (หนังสือเวียน) on the letter page: distribute, read receipts, "รับทราบแล้ว".

The letter is always reached through ``access_letter``; the actions are
``circular_distribute`` and ``circular_acknowledge`` (they check who may do what). The
receipt table is a partial the letter page polls with htmx, so receipts appear as they come.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from saraban.agencies.actors import positions_for, resolve_actor
from saraban.agencies.models import Agency, Person, RoleGrant
from saraban.core.errors import NotFound, SarabanError
from saraban.letters.access import access_letter, registries_for, scope_unit_ids
from saraban.letters.models import Letter, Secrecy
from saraban.routing.models import CircularRecipient
from saraban.routing.services import circular_acknowledge, circular_distribute

from .browse import not_found, person_of


def receipts_poll() -> str:
    """The htmx trigger of the receipt table (``SARABAN_RECEIPTS_POLL_SECONDS``, 10)."""
    return f"every {getattr(settings, 'SARABAN_RECEIPTS_POLL_SECONDS', 10)}s"


@dataclass(frozen=True, slots=True)
class Receipts:
    """The read-receipt table of one circular, as seen by one person."""

    letter: Letter
    rows: list[CircularRecipient]
    pending: list[CircularRecipient]
    mine: frozenset[int]

    @property
    def acknowledged(self) -> int:
        return len(self.rows) - len(self.pending)

    def as_context(self) -> dict[str, Any]:
        return {"letter": self.letter, "rows": self.rows, "pending": self.pending,
                "acknowledged": self.acknowledged, "mine": self.mine,
                "poll": receipts_poll() if self.pending else ""}


def receipts(person: Person, letter: Letter) -> Receipts:
    """Every addressee with its receipt (one query), and which this person may acknowledge."""
    rows = list(
        CircularRecipient.objects.filter(letter=letter)
        .select_related("unit", "person", "acknowledged_by")
        .order_by("pk")
    )
    pending = [r for r in rows if r.acknowledged_at is None]
    scope = scope_unit_ids(person) if pending else frozenset()
    mine = frozenset(r.pk for r in pending
                     if r.person_id == person.pk or (r.unit_id is not None and r.unit_id in scope))
    return Receipts(letter=letter, rows=rows, pending=pending, mine=mine)


def may_distribute(person: Person, letter: Letter) -> bool:
    """A registry clerk of the letter's agency, for a registered letter that is not secret."""
    return (
        letter.secrecy == Secrecy.NORMAL
        and letter.entries.filter(cancelled_at__isnull=True).exists()
        and registries_for(person).filter(tenant_id=letter.tenant_id).exists()
    )


def distribution_choices(letter: Letter, taken: list[CircularRecipient]) -> dict[str, Any]:
    """Units and people of the letter's agency not yet addressed."""
    taken_units = {r.unit_id for r in taken if r.unit_id}
    taken_people = {r.person_id for r in taken if r.person_id}
    units = (Agency.objects.filter(tenant_id=letter.tenant_id, is_active=True)
             .exclude(pk__in=taken_units).order_by("path"))
    people = (Person.objects.filter(agency_id=letter.tenant_id, is_active=True)
              .exclude(pk__in=taken_people).order_by("full_name_th", "pk"))
    return {"units": list(units), "people": list(people)}


def letter_panel(person: Person, letter: Letter) -> dict[str, Any]:
    """The circular card of the letter page (after ``access_letter``): empty when not shown."""
    state = receipts(person, letter)
    can_distribute = may_distribute(person, letter)
    if not state.rows and not can_distribute:
        return {"shown": False}
    context = {"shown": True, "can_distribute": can_distribute, **state.as_context()}
    if can_distribute:
        context.update(distribution_choices(letter, state.rows))
    return context


def _letter_or_404(request: HttpRequest, letter_id: int) -> Letter | HttpResponse:
    try:
        return access_letter(person_of(request), letter_id)
    except NotFound as exc:
        return not_found(request, exc.message)


def _detail(letter_id: int) -> str:
    return reverse("web:letter_detail", args=[letter_id]) + "#circular"


@login_required
@require_GET
def circular_receipts(request: HttpRequest, letter_id: int) -> HttpResponse:
    """The receipt table partial (polled)."""
    letter = _letter_or_404(request, letter_id)
    if isinstance(letter, HttpResponse):
        return letter
    state = receipts(person_of(request), letter)
    return render(request, "web/circulars/_receipts.html", state.as_context())


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit()]


@login_required
@require_POST
def circular_send(request: HttpRequest, letter_id: int) -> HttpResponse:
    """"เวียนหนังสือ": the chosen units and people of the agency each get a read receipt."""
    person = person_of(request)
    letter = _letter_or_404(request, letter_id)
    if isinstance(letter, HttpResponse):
        return letter
    unit_ids = _ids(request.POST.getlist("units"))
    person_ids = _ids(request.POST.getlist("people"))
    units = list(Agency.objects.filter(pk__in=unit_ids))
    people = list(Person.objects.filter(pk__in=person_ids))
    if len(units) != len(set(unit_ids)) or len(people) != len(set(person_ids)):
        messages.error(request, "ไม่พบผู้รับบางราย")
        return redirect(_detail(letter.pk))
    try:
        made = circular_distribute(actor=resolve_actor(person), letter=letter, units=units,
                                   people=people)
    except SarabanError as exc:
        messages.error(request, exc.message)
    except IntegrityError:  # a recipient already addressed (unique constraint)
        messages.error(request, "มีผู้รับบางรายได้รับหนังสือเวียนนี้แล้ว")
    else:
        messages.success(request, f"เวียนหนังสือแล้ว {len(made)} ราย")
    return redirect(_detail(letter.pk))


@login_required
@require_POST
def circular_ack(request: HttpRequest, recipient_id: int) -> HttpResponse:
    """"รับทราบแล้ว"; from htmx answers the refreshed receipt table, else back to the letter.

    The person's bell notifications of this circular are read once it is acknowledged (by the
    action, ``circular_acknowledge``).
    """
    person = person_of(request)
    recipient = CircularRecipient.objects.filter(pk=recipient_id).first()
    if recipient is None:
        return not_found(request)
    letter = _letter_or_404(request, recipient.letter_id)
    if isinstance(letter, HttpResponse):
        return letter
    try:
        circular_acknowledge(actor=resolve_actor(person), recipient=recipient)
    except SarabanError as exc:
        if request.headers.get("HX-Request"):
            return HttpResponse(exc.message, status=exc.status)
        messages.error(request, exc.message)
        return redirect(_detail(letter.pk))
    if request.headers.get("HX-Request"):
        state = receipts(person, letter)
        return render(request, "web/circulars/_receipts.html", state.as_context())
    messages.success(request, "รับทราบหนังสือเวียนแล้ว")
    next_url = request.POST.get("next", "")
    if next_url == "mine":
        return redirect("web:my_circulars")
    return redirect(_detail(letter.pk))


def my_units(person: Person) -> set[int]:
    """Units this person answers for: where they hold (or act in) a post or have a role."""
    units = {position.unit_id for position, _kind in positions_for(person)}
    units |= set(RoleGrant.objects.filter(person=person).values_list("unit_id", flat=True))
    return units


def my_pending(person: Person) -> QuerySet[CircularRecipient]:
    return (
        CircularRecipient.objects.filter(
            Q(person=person) | Q(unit_id__in=my_units(person)), acknowledged_at__isnull=True)
        .select_related("letter", "unit", "person")
        .order_by("-created_at", "-pk")
    )


@login_required
@require_GET
def my_circulars(request: HttpRequest) -> HttpResponse:
    """Circulars addressed to me or my units that nobody has acknowledged yet."""
    person = person_of(request)
    return render(request, "web/circulars/mine.html", {"rows": list(my_pending(person)[:200])})
