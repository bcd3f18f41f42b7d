"""``{% routing_letter letter %}``: the routing part of the letter page (endorsements, forms,
assignments and who holds the letter now). Only the letter page calls it, after
``access_letter``; bound forms with errors come from ``request.routing_forms``.
"""

from __future__ import annotations

from typing import Any

from django import template

from saraban.letters.models import Letter

from ..views.browse import ACTING_LABELS
from ..views.routing import letter_panel

register = template.Library()


@register.inclusion_tag("web/routing/_panel.html", takes_context=True)
def routing_letter(context: template.Context, letter: Letter) -> dict[str, Any]:
    request = context["request"]
    return {**letter_panel(request, letter), "acting_labels": ACTING_LABELS,
            "csrf_token": context.get("csrf_token"), "request": request}


@register.filter
def acting_label(kind: str) -> str:
    return ACTING_LABELS.get(kind, "")


@register.filter
def routing_to(value: object) -> str:
    """An audit event's ``to``: a name, or the list ``[{"to": …, "purpose": …}]`` of an
    assignment, as ``กองคลัง (เพื่อดำเนินการ), นายวิชัย (เพื่อทราบ)``."""
    from saraban.routing.models import Purpose

    if isinstance(value, list):
        labels = dict(Purpose.choices)
        return ", ".join(
            f"{item.get('to', '')} ({labels.get(item.get('purpose', ''), '')})"
            if isinstance(item, dict) else str(item)
            for item in value
        )
    return str(value)


@register.inclusion_tag("web/routing/_dashboard.html", takes_context=True)
def routing_dashboard(context: template.Context) -> dict[str, Any]:
    """Cards for the dashboard: what I hold, how much of it is overdue, and overdue in my
    units (one query)."""
    from django.db.models import Count, Q

    from saraban.agencies.models import Person
    from saraban.letters.access import scope_unit_ids
    from saraban.routing.models import OPEN_STATES, Assignment
    from saraban.routing.reminders import overdue_q
    from saraban.routing.services import held_filter

    user = context.get("user")
    if not isinstance(user, Person) or not user.is_authenticated:
        return {"shown": False}
    mine = held_filter(user)
    units = Q(to_unit__in=scope_unit_ids(user))
    counts = Assignment.objects.filter(state__in=OPEN_STATES).filter(mine | units).aggregate(
        held=Count("pk", filter=mine), late=Count("pk", filter=mine & overdue_q()),
        unit_late=Count("pk", filter=units & overdue_q()),
    )
    return {"shown": True, **counts}
