"""Notification and circular pieces shown on pages of other parts of the UI.

``{% notification_bell %}``: the bell in the top bar (one count query; htmx polls it).
``{% letter_circular letter %}``: the circular card of the letter page (only the letter page
calls it, after ``access_letter``).
"""

from __future__ import annotations

from typing import Any

from django import template

from saraban.agencies.models import Person
from saraban.letters.models import Letter

from ..views.circulars import letter_panel
from ..views.notifications import bell_poll, unread_count

register = template.Library()


@register.inclusion_tag("web/notifications/_bell.html", takes_context=True)
def notification_bell(context: template.Context) -> dict[str, Any]:
    user = context.get("user")
    if not isinstance(user, Person) or not user.is_authenticated:
        return {"unread": 0, "poll": ""}
    return {"unread": unread_count(user), "poll": bell_poll()}


@register.inclusion_tag("web/circulars/_panel.html", takes_context=True)
def letter_circular(context: template.Context, letter: Letter) -> dict[str, Any]:
    user = context.get("user")
    if not isinstance(user, Person) or not user.is_authenticated:
        return {"shown": False}
    return {**letter_panel(user, letter), "csrf_token": context.get("csrf_token")}
