"""An agency's monthly report to its overseer: its own figures for one month, sent as a
signed ``report`` message over the exchange (``docs/indicators.md``, "Remote figures").

The overseer is named once per agency (``saraban reports overseer --agency CODE --set
OVERSEER``, kept on the agency's directory entry as ``reports_to``); ``--to`` names another
one for a single send. Sending the same month again sends a newer report, which replaces
the older one at the overseer. The counting half, on the overseer's node, is ``remote``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from saraban.agencies.models import Agency
from saraban.core.audit import audit_record
from saraban.core.errors import ValidationFailed
from saraban.core.thai import BANGKOK, BE_OFFSET
from saraban.exchange.models import DirectoryEntry, OutboxMessage
from saraban.exchange.outbox import enqueue_report

from .indicators import Figures, electronic_share, received_share, signed_share
from .periods import month as month_period
from .scope import Scope

__all__ = ["monthly_report", "overseer_of", "previous_month", "send_monthly"]


def previous_month(today: dt.date) -> dt.date:
    """The first day of the month before ``today``'s: what a send early in a month reports.

    >>> previous_month(dt.date(2026, 1, 3))
    datetime.date(2025, 12, 1)
    """
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def overseer_of(agency: Agency) -> str:
    """The exchange code the agency sends its monthly report to by default."""
    code = (DirectoryEntry.objects.filter(agency=agency)
            .values_list("reports_to", flat=True).first())
    if not code:
        raise ValidationFailed(
            "ยังไม่ได้กำหนดหน่วยงานที่ส่งรายงานตัวชี้วัดรายเดือนถึง "
            "(saraban reports overseer --agency … --set …) หรือระบุ --to",
            code="no_overseer", field="to",
        )
    return str(code)


def _channels(row: Figures) -> dict[str, int]:
    return {channel: n for channel, n in row.by_channel.items() if n}


def monthly_report(agency: Agency, first: dt.date, *, now: dt.datetime) -> dict[str, Any]:
    """``envelope.report``: the agency's own figures (``Scope(agency)``, not the agencies it
    oversees) for the month starting on ``first``."""
    period = month_period(first.year + BE_OFFSET, first.month)
    scope = Scope(agency)
    sent, _ = electronic_share(scope, period)
    received, _ = received_share(scope, period)
    signed, _ = signed_share(scope, period)
    return {
        "month": period.start.isoformat(),
        "generated_at": now.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "sent": {"total": sent.total, "electronic": sent.part, "letters": sent.letters,
                 "by_channel": _channels(sent)},
        "received": {"total": received.total, "electronic": received.part,
                     "by_channel": _channels(received)},
        "signed": {"total": signed.total, "signed": signed.part},
    }


def send_monthly(*, agency: Agency, month: dt.date, to_code: str | None = None,
                 now: dt.datetime | None = None) -> OutboxMessage:
    """Queue the agency's monthly report for the month of ``month`` to ``to_code`` (by
    default its overseer, ``overseer_of``); the worker delivers it like a letter.

    Refused: an agency that is not enrolled for the exchange, a month that has not begun,
    a recipient not in the directory or reached only by e-CMS.
    """
    moment = now or timezone.now()
    if not agency.is_tenant:
        raise ValidationFailed("ส่งรายงานได้เฉพาะส่วนราชการ", code="not_an_agency",
                               field="agency")
    first = month.replace(day=1)
    if first > moment.astimezone(BANGKOK).date().replace(day=1):
        raise ValidationFailed("เดือนนี้ยังไม่เริ่ม", code="bad_month", field="month")
    code = (to_code or "").strip() or overseer_of(agency)
    report = monthly_report(agency, first, now=moment)
    with transaction.atomic():
        out = enqueue_report(sender=agency, to_code=code, report=report)
        audit_record(
            agency_id=agency.pk, action="report_send_monthly", actor=None,
            target_type="outbox", target_id=out.pk,
            details={"to": code, "month": report["month"], "id": str(out.message_id)},
        )
    return out
