"""Who may see an agency's indicators: the people who oversee it.

A person oversees every unit at or below one where they hold the executive, registry-clerk
or agency-admin role (an officer does not). Indicators are counts only; the letters behind a
count are shown through the letters' own access rule, never through this one.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from saraban.agencies.models import Agency, Person, Role
from saraban.core.errors import NotFound, PermissionDenied

from .indicators import Scope

__all__ = ["OVERSIGHT_ROLES", "access_scope", "agency_by_code", "overseen_agencies"]

OVERSIGHT_ROLES = (Role.EXECUTIVE, Role.REGISTRY_CLERK, Role.AGENCY_ADMIN)


def overseen_agencies(person: Person) -> QuerySet[Agency]:
    """Every agency and unit ``person`` oversees, top first."""
    paths = list(person.grants.filter(role__in=OVERSIGHT_ROLES)
                 .values_list("unit__path", flat=True).distinct())
    if not person.is_active or not paths:
        return Agency.objects.none()
    where = Q()
    for path in paths:
        where |= Q(path__startswith=path)
    return Agency.objects.filter(where).order_by("path")


def agency_by_code(text: str) -> Agency:
    """An agency (or unit) by its exchange code or its id, for the commands and the screens;
    ``NotFound`` (``agency_not_found``) when there is none."""
    text = text.strip()
    by_id = text.isdigit() and len(text) < 19  # an id within bigint, else only a code
    found = Agency.objects.filter(Q(exchange_code=text) | Q(pk=int(text)) if by_id
                                  else Q(exchange_code=text)).first()
    if found is None:
        raise NotFound("ไม่พบหน่วยงานนี้", code="agency_not_found", field="agency")
    return found


def access_scope(person: Person, *, agency: str | None = None, hosted: bool = False) -> Scope:
    """The scope of a report ``person`` asked for: ``agency`` by its exchange code or id, or
    by default the highest unit they oversee; with ``hosted``, with the agencies hosted below
    it (which they oversee too, being below). Raises ``PermissionDenied`` (``report_forbidden``)
    for an agency they do not oversee and ``NotFound`` for one that does not exist."""
    overseen = overseen_agencies(person)
    if agency is None or not agency.strip():
        top = overseen.first()
        if top is None:
            raise PermissionDenied("ท่านไม่มีสิทธิ์ดูรายงานตัวชี้วัด", code="report_forbidden")
        return Scope(top, hosted=hosted)
    found = agency_by_code(agency)
    if not overseen.filter(pk=found.pk).exists():
        raise PermissionDenied("ท่านไม่มีสิทธิ์ดูรายงานตัวชี้วัดของหน่วยงานนี้",
                               code="report_forbidden", field="agency")
    return Scope(found, hosted=hosted)
