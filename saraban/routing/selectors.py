"""Reads of the routing area that the web UI and the API share.

Every list of assignments names letters, so every list is cut by the one access rule
(``saraban.letters.access.visibility``): a row is listed only when the person may read its
letter. Counts are different: an executive may know how many letters are pending in each
unit of the agency (secret ones included), but not what they are.

``pending_in_agency`` is "ค้างในส่วนราชการ": per-unit counts for the executive's agencies and
the rows they may read. ``desk_rows``, ``unit_rows`` and ``sent_rows`` are the other tracking
lists.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import BigIntegerField, Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from saraban.agencies.models import Agency, Person, Position, Role, RoleGrant
from saraban.letters.access import scope_unit_ids, visible_letters

from .models import OPEN_STATES, Assignment
from .reminders import overdue_q
from .services import desk

__all__ = [
    "PendingInAgency",
    "UnitCount",
    "desk_rows",
    "executive_tenants",
    "pending_in_agency",
    "readable",
    "sent_rows",
    "unit_rows",
]

NO_UNIT = "ไม่ระบุหน่วยงาน"


def readable(person: Person, assignments: QuerySet[Assignment]) -> QuerySet[Assignment]:
    """Only the assignments whose letter this person may read (the letters' access rule)."""
    return assignments.filter(letter__in=visible_letters(person).values("pk"))


def executive_tenants(person: Person) -> list[int]:
    """Agencies where this person is an executive (by grant) or holds a head position."""
    if not person.is_authenticated or not person.is_active:
        return []
    granted = RoleGrant.objects.filter(person=person, role=Role.EXECUTIVE).values_list(
        "unit__tenant_id", "unit_id")
    heads = Position.objects.filter(holder=person, is_head=True).values_list(
        "unit__tenant_id", "unit_id")
    return sorted({t or u for t, u in [*granted, *heads]})


@dataclass(frozen=True, slots=True)
class UnitCount:
    """Open assignments of one unit (secret letters counted, never named)."""

    name: str
    count: int
    late: int


@dataclass(frozen=True, slots=True)
class PendingInAgency:
    """"ค้างในส่วนราชการ": counts per unit, and the rows this person may read."""

    units: list[UnitCount]
    rows: QuerySet[Assignment]

    @property
    def late_total(self) -> int:
        return sum(u.late for u in self.units)


def pending_in_agency(person: Person) -> PendingInAgency | None:
    """Open assignments in the agencies where the person is an executive or a head.

    ``None`` when they are neither (the caller answers "forbidden"). The per-unit counts cover
    every open assignment of those agencies; ``rows`` (most urgent, soonest due first) holds
    only those whose letter the person may read, so a secret letter's subject never reaches a
    head who is not named on it.
    """
    tenants = executive_tenants(person)
    if not tenants:
        return None
    every = Assignment.objects.filter(tenant_id__in=tenants, state__in=OPEN_STATES)
    person_unit = Subquery(Position.objects.filter(holder=OuterRef("to_person"))
                           .order_by("pk").values("unit_id")[:1])
    groups = list(
        every.order_by()
        .annotate(group=Coalesce("to_unit_id", "to_position__unit_id", person_unit,
                                 output_field=BigIntegerField()))
        .values("group").annotate(n=Count("pk"), late=Count("pk", filter=overdue_q()))
        .order_by("-n", "group")
    )
    ids = [g["group"] for g in groups if g["group"]]
    names: dict[int, str] = dict(Agency.objects.filter(pk__in=ids).values_list("pk", "name_th"))
    units = [UnitCount(name=names.get(g["group"] or 0, NO_UNIT), count=g["n"], late=g["late"])
             for g in groups]
    rows = readable(person, every).order_by("-letter__urgency", "due_at", "created_at", "pk")
    return PendingInAgency(units=units, rows=rows)


def desk_rows(person: Person) -> QuerySet[Assignment]:
    """"My desk": the open assignments the person holds whose letter they may read."""
    return readable(person, desk(person))


def unit_rows(person: Person) -> QuerySet[Assignment]:
    """"My unit": open assignments to units in the person's scope, most urgent first."""
    qs = Assignment.objects.filter(to_unit__in=scope_unit_ids(person), state__in=OPEN_STATES)
    return readable(person, qs).order_by("-letter__urgency", "due_at", "created_at")


def sent_rows(person: Person) -> QuerySet[Assignment]:
    """"What I sent": assignments the person made, newest first (letters they may read)."""
    qs = Assignment.objects.filter(from_person=person)
    return readable(person, qs).order_by("-created_at", "-pk")
