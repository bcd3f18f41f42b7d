"""Whose registers an indicator counts."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from saraban.agencies.models import Agency
from saraban.letters.models import RegisterEntry

__all__ = ["Scope"]


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose registers: ``agency`` and every unit below it, within ``agency``'s tenant; with
    ``hosted``, also the agencies below it that are their own tenants (a province's LAOs, a
    ministry's departments that run their own registries): the overseer's view."""

    agency: Agency
    hosted: bool = False

    @property
    def tenant_id(self) -> int:
        return int(self.agency.tenant_id or self.agency.pk)

    def entries(self) -> QuerySet[RegisterEntry]:
        below = RegisterEntry.objects.filter(
            series__registry__unit__path__startswith=self.agency.path)
        return below if self.hosted else below.filter(series__registry__tenant_id=self.tenant_id)

    def registries(self) -> Q:
        """The registries of the scope, as a filter on ``Registry``."""
        where = Q(unit__path__startswith=self.agency.path)
        return where if self.hosted else where & Q(tenant_id=self.tenant_id)
