"""``{% letter_actions letter %}``: the registry buttons on the letter page.

Cancel (per live entry) and hand over are shown only to a clerk of the entry's registry, the
same test the actions make (``registries_for``); a pending hand-over to the person's registry
shows a button to register it there.
"""

from __future__ import annotations

from typing import Any

from django import template

from saraban.agencies.models import Person
from saraban.letters.access import registries_for
from saraban.letters.models import INCOMING_SERIES, Letter
from saraban.letters.numbering import display_number

register = template.Library()


@register.inclusion_tag("web/register/_letter_actions.html", takes_context=True)
def letter_actions(context: template.Context, letter: Letter) -> dict[str, Any]:
    user = context.get("user")
    if not isinstance(user, Person) or not user.is_authenticated:
        return {"letter": letter, "cancellable": [], "can_hand_over": False, "pending": []}
    mine = set(registries_for(user).values_list("pk", flat=True))
    entries = [
        e for e in letter.entries.select_related("series__registry")
        if e.series.registry_id in mine and e.cancelled_at is None
    ]
    cancellable = [
        {"entry": e, "shown": display_number(kind=e.series.kind, formatted=e.formatted),
         "registry": e.series.registry.name_th}
        for e in entries
    ]
    can_hand_over = any(e.series.kind in INCOMING_SERIES for e in entries)
    pending = list(
        letter.handovers.filter(to_registry_id__in=mine, entry__isnull=True).select_related(
            "to_registry"
        )
    )
    return {
        "letter": letter, "cancellable": cancellable, "can_hand_over": can_hand_over,
        "pending": pending, "csrf_token": context.get("csrf_token"),
    }
