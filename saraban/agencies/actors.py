"""Who is acting: the person, the position they act in, and whom they act for.

Every action takes an ``Actor``. When the person holds the position themselves,
``acting_kind`` is empty; when they act for it (รักษาราชการแทน / ปฏิบัติราชการแทน), the
audit event records both the person and the position acted for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from saraban.core.errors import PermissionDenied
from saraban.core.thai import today_bangkok

from .models import ActingAssignment, Agency, Person, Position


@dataclass(frozen=True, slots=True)
class Actor:
    person: Person
    position: Position | None = None
    acting_kind: str = ""  # "", "acting" or "delegated"

    @property
    def tenant_id(self) -> int | None:
        if self.position is not None:
            return self.position.unit.tenant_id
        return self.person.agency_id

    @property
    def is_acting(self) -> bool:
        return bool(self.acting_kind)

    def signature_line(self) -> str:
        """``นายสมชาย ใจดี (รักษาราชการแทน ผู้อำนวยการ…)``."""
        name = self.person.display_name()
        if self.position is None:
            return name
        if self.acting_kind:
            label = dict(ActingAssignment._meta.get_field("kind").flatchoices)[self.acting_kind]
            return f"{name} ({label} {self.position.title_th})"
        return f"{name} ({self.position.title_th})"


def active_acting(person: Person, *, on: dt.date | None = None) -> list[ActingAssignment]:
    day = on or today_bangkok()
    return list(
        ActingAssignment.objects.filter(person=person, starts_on__lte=day)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=day))
        .select_related("position__unit")
    )


def positions_for(person: Person, *, on: dt.date | None = None) -> list[tuple[Position, str]]:
    """The positions a person may act in today: held ones, then acted-for ones."""
    held = [(p, "") for p in person.positions.select_related("unit").all()]
    acted = [(a.position, a.kind) for a in active_acting(person, on=on)]
    return held + acted


def resolve_actor(
    person: Person, position: Position | int | None = None, *, on: dt.date | None = None
) -> Actor:
    """The ``Actor`` for a person, in a given position or their first held one.

    Raises ``PermissionDenied`` if the person neither holds nor acts for that position.
    """
    choices = positions_for(person, on=on)
    if position is None:
        if not choices:
            return Actor(person=person)
        pos, kind = choices[0]
        return Actor(person=person, position=pos, acting_kind=kind)
    wanted = position if isinstance(position, int) else position.pk
    for pos, kind in choices:
        if pos.pk == wanted:
            return Actor(person=person, position=pos, acting_kind=kind)
    raise PermissionDenied(
        "ท่านไม่ได้ดำรงตำแหน่งหรือรักษาราชการแทนในตำแหน่งนี้", code="position_not_held"
    )


def agency_tenant(agency: Agency) -> Agency:
    """The tenant of a node (the node itself for a tenant)."""
    if agency.is_tenant:
        return agency
    if agency.tenant_id is None:
        raise PermissionDenied("หน่วยงานนี้ไม่ได้สังกัดส่วนราชการใด", code="no_tenant")
    return Agency.objects.get(pk=agency.tenant_id)
