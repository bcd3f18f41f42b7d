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
    """``web_actor`` (the person, position and acting-for kind) and ``web_is_agency_admin``.

    Both are lazy, so a page that does not show the top bar (the login page) costs no query.
    """
    context: dict[str, Any] = {"SARABAN_DEMO": settings.DEMO}
    user = getattr(request, "user", None)
    if isinstance(user, Person) and user.is_authenticated:
        context["web_actor"] = SimpleLazyObject(lambda: _actor(user))
        context["web_is_agency_admin"] = SimpleLazyObject(
            lambda: RoleGrant.objects.filter(person=user, role=Role.AGENCY_ADMIN).exists()
        )
    return context
