"""Template context shared by every page: demo flag and who is acting (for the top bar)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from saraban.agencies.actors import Actor, resolve_actor
from saraban.agencies.models import Person, Role, RoleGrant


def _actor(person: Person) -> Actor:
    return resolve_actor(person)


def saraban(request: HttpRequest) -> dict[str, Any]:
    """``web_actor`` (the person, position and acting-for kind), ``web_is_agency_admin`` and
    ``web_oversees`` (may see the indicators: executive, registry clerk or agency admin).

    All are lazy, so a page that does not show the top bar (the login page) costs no query;
    the two flags share one query of the person's roles.
    """
    context: dict[str, Any] = {"SARABAN_DEMO": settings.DEMO}
    user = getattr(request, "user", None)
    if isinstance(user, Person) and user.is_authenticated:
        context["web_actor"] = SimpleLazyObject(lambda: _actor(user))
        roles: Any = SimpleLazyObject(
            lambda: frozenset(RoleGrant.objects.filter(person=user)
                              .values_list("role", flat=True).distinct()))
        context["web_is_agency_admin"] = SimpleLazyObject(lambda: Role.AGENCY_ADMIN in roles)
        context["web_oversees"] = SimpleLazyObject(
            lambda: any(r in roles for r in (Role.EXECUTIVE, Role.REGISTRY_CLERK,
                                             Role.AGENCY_ADMIN)))
    return context
