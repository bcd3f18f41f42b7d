"""``GET /reports/…``: the indicators of an agency the person oversees (counts only).

Definitions: ``docs/indicators.md``. The period is ``from``/``to`` (Bangkok days, both
included), or ``fiscal_year`` (พ.ศ., with ``quarter``), or ``year`` (พ.ศ., with ``month``);
by default the fiscal year to date.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import ConfigDict, Field

from saraban.api.auth import current_person
from saraban.api.schemas import ErrorOut, IsoDate
from saraban.core.errors import ValidationFailed
from saraban.reports.access import access_scope
from saraban.reports.connections import connections
from saraban.reports.indicators import (
    BY,
    By,
    Figures,
    Scope,
    electronic_share,
    received_share,
    signed_share,
)
from saraban.reports.periods import Period, parse_period
from saraban.reports.service import service_document

router = Router(tags=["reports"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class ReportQuery(Schema):
    model_config = ConfigDict(populate_by_name=True)

    date_from: IsoDate | None = Field(None, alias="from", description="First day (YYYY-MM-DD)")
    date_to: IsoDate | None = Field(None, alias="to", description="Last day, included")
    fiscal_year: int | None = Field(None, description="ปีงบประมาณ (พ.ศ.): 1 Oct – 30 Sep")
    quarter: int | None = Field(None, description="Quarter 1–4 of ``fiscal_year``")
    year: int | None = Field(None, description="Calendar year (พ.ศ.)")
    month: int | None = Field(None, description="Month 1–12 of ``year``")
    agency: str | None = Field(None, description="Exchange code (or id) of an agency or unit "
                                                 "the person oversees; default their own")
    by: str = Field("channel", description="Rows by: " + ", ".join(BY))
    hosted: bool = Field(False, description="Also the agencies below that are their own "
                                            "(a province's LAOs): the overseer's view")


class ReportRowOut(Schema):
    key: str = Field(description="'total', a unit or agency id, or the month's first day")
    label: str
    total: int
    part: int = Field(description="Electronic (sent, received) or signed")
    share: float | None = Field(description="part / total, 0–1; null when total is 0")
    letters: int = Field(description="Letters (register lines) behind the row")
    by_channel: dict[str, int]


class ReportAgencyOut(Schema):
    id: int
    code: str | None
    name: str
    hosted: bool = Field(description="The figures include the agencies hosted below it")


class ShareOut(Schema):
    indicator: str
    agency: ReportAgencyOut
    period_from: IsoDate = Field(serialization_alias="from")
    period_to: IsoDate = Field(serialization_alias="to")
    period_label: str
    by: str
    rows: list[ReportRowOut]


class ElectronicShareOut(ShareOut):
    sent_total: int = Field(description="Copies sent (one per recipient)")
    sent_electronic: int = Field(description="Copies sent by Saraban, e-CMS or e-mail")
    share: float | None
    by_channel: dict[str, int]


class ReceivedShareOut(ShareOut):
    received_total: int
    received_electronic: int
    share: float | None
    by_channel: dict[str, int]


class SignedShareOut(ShareOut):
    sent_letters: int
    signed: int = Field(description="Letters whose main file carries a valid CA signature")
    share: float | None
    by_channel: dict[str, int] = Field(description="'signed' and 'unsigned'")


Indicator = Callable[..., tuple[Figures, list[Figures]]]


def _run(request: HttpRequest, q: ReportQuery, indicator: Indicator
         ) -> tuple[Scope, Period, Figures, list[ReportRowOut]]:
    person = current_person(request)
    if q.by not in BY:
        raise ValidationFailed("ค่า by ต้องเป็น " + ", ".join(BY), code="bad_filter", field="by")
    period = parse_period(start=q.date_from, end=q.date_to, fiscal=q.fiscal_year,
                          quarter=q.quarter, year=q.year, month_number=q.month,
                          today=timezone.localdate())
    scope = access_scope(person, agency=q.agency, hosted=q.hosted)
    by: By = q.by  # type: ignore[assignment]  # checked against BY above
    total, rows = indicator(scope, period, by=by)
    return scope, period, total, [ReportRowOut(**r.as_dict(("total", "part"))) for r in rows]


def _common(name: str, scope: Scope, period: Period, by: str, rows: list[ReportRowOut]
            ) -> dict[str, Any]:
    a = scope.agency
    return {"indicator": name, "agency": ReportAgencyOut(id=a.pk, code=a.exchange_code,
                                                   name=a.name_th, hosted=scope.hosted),
            "period_from": period.start, "period_to": period.end,
            "period_label": period.label, "by": by, "rows": rows}


@router.get("/electronic-share", response={200: ElectronicShareOut, **ERRORS},
            url_name="report_electronic_share", summary="Share of letters sent electronically",
            by_alias=True)
def report_electronic_share(request: HttpRequest, q: Query[ReportQuery]) -> ElectronicShareOut:
    """Copies of outgoing letters sent in the period, and those sent by Saraban, e-CMS or
    e-mail; ``by_channel`` counts every channel (``unrecorded``: no channel was recorded)."""
    scope, period, total, rows = _run(request, q, electronic_share)
    return ElectronicShareOut(
        **_common("electronic_share", scope, period, q.by, rows),
        sent_total=total.total, sent_electronic=total.part, share=total.share,
        by_channel=total.by_channel,
    )


@router.get("/received-share", response={200: ReceivedShareOut, **ERRORS},
            url_name="report_received_share", summary="Share of letters received electronically",
            by_alias=True)
def report_received_share(request: HttpRequest, q: Query[ReportQuery]) -> ReceivedShareOut:
    """Letters registered as received in the period, by the channel they arrived by
    (``paper``: registered at the desk)."""
    scope, period, total, rows = _run(request, q, received_share)
    return ReceivedShareOut(
        **_common("received_share", scope, period, q.by, rows),
        received_total=total.total, received_electronic=total.part, share=total.share,
        by_channel=total.by_channel,
    )


@router.get("/signed-share", response={200: SignedShareOut, **ERRORS},
            url_name="report_signed_share", summary="Share of letters signed with a CA certificate",
            by_alias=True)
def report_signed_share(request: HttpRequest, q: Query[ReportQuery]) -> SignedShareOut:
    """Outgoing letters of the period whose main file carries a signature verified as valid
    (chaining to a trusted CA)."""
    scope, period, total, rows = _run(request, q, signed_share)
    return SignedShareOut(
        **_common("signed_share", scope, period, q.by, rows),
        sent_letters=total.total, signed=total.part, share=total.share,
        by_channel=total.by_channel,
    )


class ConnectionOut(Schema):
    id: int
    code: str | None = Field(description="Exchange code")
    name: str
    kind: str
    saraban: bool = Field(description="Enrolled in the Saraban exchange")
    ecms: bool = Field(description="Has an e-CMS account (its own e-CMS node)")
    email: bool = Field(description="Its central mailbox (saraban@…) is enabled")
    connected: bool = Field(description="Reachable by at least one of the three")


class ConnectionsQuery(Schema):
    agency: str | None = Field(None, description="Exchange code (or id); default their own")
    hosted: bool = Field(False, description="Every agency hosted below it (a province's LAOs)")


class ConnectionsOut(Schema):
    indicator: str
    agency: ReportAgencyOut
    total: int = Field(description="Agencies in the view")
    connected: int = Field(description="Agencies reachable electronically")
    share: float | None
    rows: list[ConnectionOut]


@router.get("/connections", response={200: ConnectionsOut, **ERRORS},
            url_name="report_connections", summary="Agencies reachable electronically")
def report_connections(request: HttpRequest, q: Query[ConnectionsQuery]) -> ConnectionsOut:
    """Which agencies of the view are reachable by the Saraban exchange, e-CMS or e-mail."""
    scope = access_scope(current_person(request), agency=q.agency, hosted=q.hosted)
    rows = connections(scope)
    linked = sum(1 for r in rows if r.connected)
    a = scope.agency
    return ConnectionsOut(
        indicator="connections",
        agency=ReportAgencyOut(id=a.pk, code=a.exchange_code, name=a.name_th, hosted=scope.hosted),
        total=len(rows), connected=linked,
        share=round(linked / len(rows), 4) if rows else None,
        rows=[ConnectionOut(id=r.agency_id, code=r.code, name=r.name, kind=r.kind,
                            saraban=r.saraban, ecms=r.ecms, email=r.email,
                            connected=r.connected) for r in rows],
    )


class ReportTimingOut(Schema):
    title: str
    total: int = Field(description="Letters measured")
    done: int = Field(description="Of them, those that reached the end")
    within: dict[str, int] = Field(description="Reached it within 1h, 1d, 3d, 7d (cumulative)")


class ReportPendingOut(Schema):
    total: int
    overdue: int
    by_urgency: dict[str, int]
    overdue_by_urgency: dict[str, int]


class ReportReceiptsOut(Schema):
    circulars: int
    recipients: int
    acknowledged: int
    share: float | None


class ServiceOut(Schema):
    indicator: str
    agency: ReportAgencyOut
    period_from: IsoDate = Field(serialization_alias="from")
    period_to: IsoDate = Field(serialization_alias="to")
    period_label: str
    time_to_register: ReportTimingOut
    time_to_first_action: ReportTimingOut
    time_to_close: ReportTimingOut
    pending: ReportPendingOut = Field(description="Letters with an open assignment now")
    circular_receipts: ReportReceiptsOut


@router.get("/service", response={200: ServiceOut, **ERRORS}, url_name="report_service",
            summary="How quickly letters are handled", by_alias=True)
def report_service(request: HttpRequest, q: Query[ReportQuery]) -> ServiceOut:
    """Time to register electronic arrivals, to the first assignment and to closing (counts
    within 1 hour, 1, 3 and 7 days), letters pending and overdue by urgency, circular read
    receipts."""
    person = current_person(request)
    period = parse_period(start=q.date_from, end=q.date_to, fiscal=q.fiscal_year,
                          quarter=q.quarter, year=q.year, month_number=q.month,
                          today=timezone.localdate())
    scope = access_scope(person, agency=q.agency, hosted=q.hosted)
    a = scope.agency
    return ServiceOut(
        indicator="service",
        agency=ReportAgencyOut(id=a.pk, code=a.exchange_code, name=a.name_th, hosted=scope.hosted),
        period_from=period.start, period_to=period.end, period_label=period.label,
        **service_document(scope, period),
    )
