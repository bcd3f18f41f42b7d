"""``{% drafts_nav %}``: the menu link to the drafts, with how many await the person."""

from __future__ import annotations

from typing import Any

from django import template

from saraban.agencies.models import Person
from saraban.documents.services import awaiting

register = template.Library()


@register.inclusion_tag("drafts/_nav_link.html", takes_context=True)
def drafts_nav(context: template.Context) -> dict[str, Any]:
    user = context.get("user")
    if not isinstance(user, Person) or not user.is_authenticated:
        return {"shown": False}
    return {"shown": True, "waiting": awaiting(user).count()}
