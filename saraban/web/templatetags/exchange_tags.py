"""Exchange pieces shown on pages of other parts of the UI.

``{% exchange_nav %}``: the nav links (the inbox with its waiting count for central registry
clerks; the directory for admins). ``{% letter_deliveries letter %}``: the tracking table on
the letter page (only the letter page calls it, after ``access_letter``).
``{% delivery_summaries entries as d %}`` and ``d|delivery_for:letter.pk``: one query for a
whole page of a register, "ลงรับแล้ว 2/3" per line.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django import template
from django.db.models import BooleanField, Case, Count, Exists, OuterRef, Q, Value, When
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from saraban.agencies.models import Person
from saraban.exchange.models import DirectoryEntry, MessageType, OutboxMessage, OutState
from saraban.exchange.outbox import overdue_filter
from saraban.letters.access import registries_for
from saraban.letters.models import Letter, RegisterEntry

from ..views.exchange import waiting_count

register = template.Library()

PROBLEM_STATES = (OutState.REJECTED, OutState.RETURNED, OutState.FAILED)


@register.inclusion_tag("web/exchange/_nav_link.html", takes_context=True)
def exchange_nav(context: template.Context) -> dict[str, Any]:
    user = context.get("user")
    if not isinstance(user, Person) or not user.is_authenticated:
        return {"shown": False, "directory": False}
    waiting = waiting_count(user)
    return {
        "shown": waiting is not None,
        "waiting": waiting or 0,
        "directory": user.is_superuser or bool(context.get("web_is_agency_admin")),
    }


def _overdue() -> Case:
    return Case(When(overdue_filter(), then=Value(True)), default=Value(False),
                output_field=BooleanField())


def _wire_time(text: str) -> dt.datetime | None:
    """A date-time as an e-CMS notifier writes it (ISO, naive = Bangkok time)."""
    when = parse_datetime(text.strip()) if text.strip() else None
    if when is not None and timezone.is_naive(when):
        when = timezone.make_aware(when)
    return when


def _ecms(out: OutboxMessage) -> dict[str, Any] | None:
    """e-CMS deliveries: the ProcessID from the own node, whether the recipient's node
    reported the letter arrived (``ReceiveLetterNotifier``), and a pending dispute."""
    receipt = out.transport_receipt if isinstance(out.transport_receipt, dict) else {}
    wire = out.payload.get("ecms") if isinstance(out.payload, dict) else None
    if receipt.get("channel") != "ecms" and not isinstance(wire, dict):
        return None
    arrived = receipt.get("arrived")
    arrived = arrived if isinstance(arrived, dict) else None
    text = str((arrived or {}).get("accept_date") or "")
    try:
        arrived_at = _wire_time(text)
    except ValueError:
        arrived_at = None
    return {
        "process_id": str(receipt.get("process_id") or ""),
        "arrived": arrived is not None,
        "arrived_at": arrived_at,
        "arrived_text": "" if arrived_at else text,
        "disputed": "disputed" in out.payload,
        "registered": out.state == OutState.REGISTERED and isinstance(wire, dict),
    }


@register.inclusion_tag("web/exchange/_deliveries.html", takes_context=True)
def letter_deliveries(context: template.Context, letter: Letter) -> dict[str, Any]:
    rows = list(
        OutboxMessage.objects.filter(letter=letter, type=MessageType.LETTER)
        .select_related("dispatch__recipient_agency")
        .annotate(overdue=_overdue(),
                  replaced=Exists(OutboxMessage.objects.filter(replaces=OuterRef("pk"))))
        .order_by("pk")
    )
    if not rows:
        return {"rows": []}
    names = dict(
        DirectoryEntry.objects.filter(code__in={o.recipient_code for o in rows})
        .values_list("code", "name_th")
    )
    user = context.get("user")
    can_act = isinstance(user, Person) and registries_for(user).filter(
        tenant_id=letter.tenant_id
    ).exists()
    return {
        "rows": [
            {
                "out": o,
                "recipient": names.get(o.recipient_code)
                or (o.dispatch.recipient_display if o.dispatch else o.recipient_code),
                "channel": o.dispatch.get_channel_display() if o.dispatch else "Saraban",
                "replaced": getattr(o, "replaced", False),
                "ecms": _ecms(o),
            }
            for o in rows
        ],
        "can_act": can_act,
        "csrf_token": context.get("csrf_token"),
    }


@dataclass(slots=True)
class DeliverySummary:
    total: int = 0
    registered: int = 0
    problems: int = 0
    overdue: int = 0
    states: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.total > 0 and self.registered == self.total


@register.simple_tag
def delivery_summaries(entries: Iterable[RegisterEntry]) -> dict[int, DeliverySummary]:
    """Per letter on the page: current deliveries (not the withdrawn-and-resent ones)."""
    ids = {e.letter_id for e in entries}
    if not ids:
        return {}
    rows = (
        OutboxMessage.objects.filter(letter_id__in=ids, type=MessageType.LETTER)
        .exclude(Exists(OutboxMessage.objects.filter(replaces=OuterRef("pk"))))
        .order_by()
        .values("letter_id", "state")
        .annotate(n=Count("pk"), late=Count("pk", filter=Q(overdue_filter())))
    )
    summaries: dict[int, DeliverySummary] = defaultdict(DeliverySummary)
    for row in rows:
        s = summaries[row["letter_id"]]
        s.total += row["n"]
        s.overdue += row["late"]
        s.states[row["state"]] = row["n"]
        if row["state"] == OutState.REGISTERED:
            s.registered += row["n"]
        elif row["state"] in PROBLEM_STATES:
            s.problems += row["n"]
    return dict(summaries)


@register.filter
def delivery_for(summaries: dict[int, DeliverySummary], letter_id: int) -> DeliverySummary | None:
    return summaries.get(letter_id)
