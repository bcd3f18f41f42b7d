"""The indicators on the web: ``/reports/`` for the people who oversee an agency.

The share of letters sent electronically (and received electronically, and signed with a CA
certificate) of one agency or unit, or of an agency with the agencies hosted below it (a
province with its LAOs); a trend by month and a ranking by agency or unit, drawn as SVG on the
server; each ranked row opens the same page for that agency (drill-down). ``/reports/export/``
gives the same figures as an XLSX workbook or CSV. Counts only: the letters behind them are
reached through the letters' own access rule. ``/reports/lpa/`` gives an overseer the LPA
evidence pack of one LAO for a fiscal year (a ZIP). GETs only read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET

from saraban.agencies.models import LAO_KINDS, Agency
from saraban.core.errors import SarabanError, ValidationFailed
from saraban.letters.access import visible_letters
from saraban.letters.models import ELECTRONIC_CHANNELS, SeriesKind
from saraban.reports.access import access_scope, overseen_agencies
from saraban.reports.charts import ranking_chart, trend_chart
from saraban.reports.connections import connections
from saraban.reports.export import LABELS, kpi_document, to_csv, to_xlsx
from saraban.reports.indicators import (
    By,
    Scope,
    electronic_share,
    lines_behind,
    received_share,
    signed_share,
)
from saraban.reports.lpa import lpa_pack
from saraban.reports.periods import Period, fiscal_year_of, parse_period
from saraban.reports.registers import (
    delivery_lines,
    delivery_pdf,
    register_lines,
    register_pdf,
)
from saraban.reports.remote import REMOTE_PREFIX
from saraban.reports.service import TIMINGS, service_document
from saraban.reports.summary import summary_pdf
from saraban.reports.tallies import shared

from .browse import person_of, series_for

FORBIDDEN = "ท่านไม่มีสิทธิ์ดูรายงานตัวชี้วัด หรือไม่พบหน่วยงานที่ระบุ"


def _int(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((text or "").strip()) if text else None
    except ValueError:
        return None


def _request(request: HttpRequest) -> tuple[Scope, Period, dict[str, Any]]:
    """The scope and period asked for; raises ``SarabanError`` (shown in Thai)."""
    person = person_of(request)
    q = request.GET
    today = timezone.localdate()
    start, end = _date(q.get("from")), _date(q.get("to"))
    if (q.get("from") and start is None) or (q.get("to") and end is None):
        raise ValidationFailed("วันที่ต้องอยู่ในรูปแบบ ปปปป-ดด-วว", code="bad_date", field="from")
    fiscal = _int(q.get("fiscal_year"))
    if start is None and end is None and fiscal is None:
        fiscal = fiscal_year_of(today)
    period = parse_period(start=start, end=end, fiscal=fiscal, quarter=_int(q.get("quarter")),
                          today=today)
    hosted = q.get("hosted") == "1"
    scope = access_scope(person, agency=q.get("agency") or None, hosted=hosted)
    params = {"agency": scope.agency.pk, "hosted": "1" if hosted else "",
              "fiscal_year": fiscal or "", "quarter": q.get("quarter", ""),
              "from": q.get("from", ""), "to": q.get("to", "")}
    return scope, period, params


def _refused(request: HttpRequest, exc: SarabanError) -> HttpResponse:
    """The page with the reason in Thai (a refused scope says no more than that)."""
    message = FORBIDDEN if exc.code == "report_forbidden" else exc.message
    return render(request, "web/reports/dashboard.html", {"error": message}, status=exc.status)


def _query(params: dict[str, Any], **changes: Any) -> str:
    merged = {**params, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in ("", None)})


def _options(agencies: list[Agency], selected: int) -> SafeString:
    """The ``<option>``s of an agency picker (hundreds of them: formatted here, not looped
    over in the template)."""
    return format_html_join("", '<option value="{}"{}>{}</option>', (
        (a.pk, mark_safe(" selected") if a.pk == selected else "", a.name_th)
        for a in agencies))


#: Of the best and of the worst ranked, shown on the page when the view ranks many.
SHOWN = 20


@login_required
@require_GET
def reports_dashboard(request: HttpRequest) -> HttpResponse:
    try:
        scope, period, params = _request(request)
    except SarabanError as exc:
        return _refused(request, exc)
    by: By = "agency" if scope.hosted else "unit"
    with shared():  # the figures of one page count the days of changed letters once
        sent, months = electronic_share(scope, period, by="month")
        received, _ = received_share(scope, period)
        signed, _ = signed_share(scope, period)
        _total, ranked = electronic_share(scope, period, by=by)
        service = service_document(scope, period)
    person = person_of(request)
    behind = "tenant" if by == "agency" else "unit"
    # An agency hosted elsewhere counts by the report it sent: no page, no letters here.
    ordered = sorted(ranked, key=lambda r: (r.share is None, -(r.share or 0)))
    # A province with a thousand LAOs: the best and the worst here, every one in the export.
    shown = ordered if len(ordered) <= 2 * SHOWN else ordered[:SHOWN] + ordered[-SHOWN:]
    ranking = [{"figures": r, "remote": r.key.startswith(REMOTE_PREFIX),
                "query": _query(params, agency=r.key, hosted=""),
                "letters": _query(params, indicator="sent", **{behind: r.key})}
               for r in shown]
    linked = connections(scope)
    # ... and of the agencies, those not connected yet.
    listed = linked if len(linked) <= 2 * SHOWN else [
        c for c in linked if not c.connected][:2 * SHOWN]
    overseen = list(overseen_agencies(person).only("pk", "name_th", "kind")[:200])
    lpa_agencies = [a for a in overseen if a.kind in LAO_KINDS]
    timings = [{"name": name, **service[name]} for name in TIMINGS]
    channels = [{"name": c, "label": LABELS.get(c, c), "count": n,
                 "electronic": c in ELECTRONIC_CHANNELS,
                 "letters": _query(params, indicator="sent", channel=c)}
                for c, n in sent.by_channel.items()]
    return render(request, "web/reports/dashboard.html", {
        "scope": scope, "period": period, "params": params, "sent": sent,
        "received": received, "signed": signed, "channels": channels, "ranking": ranking,
        "by": by, "connections": listed,
        "connections_total": len(linked), "ranked_total": len(ordered),
        "lpa_agencies": lpa_agencies,
        "agency_options": _options(overseen, scope.agency.pk),
        "lpa_options": _options(lpa_agencies, scope.agency.pk),
        "connected": sum(1 for c in linked if c.connected), "timings": timings,
        "pending": service["pending"], "receipts": service["circular_receipts"],
        "trend_svg": mark_safe(trend_chart(months)),  # noqa: S308 (escaped in charts.py)
        "ranking_svg": mark_safe(ranking_chart(shown, title="ร้อยละที่ส่งทางอิเล็กทรอนิกส์")),  # noqa: S308
        "export_query": _query(params),
        "hosted_query": _query(params, hosted="" if scope.hosted else "1"),
        "fiscal_years": list(range(fiscal_year_of(timezone.localdate()), 2559, -1)),
    })


PAGE_SIZE = 50


@login_required
@require_GET
def reports_letters(request: HttpRequest) -> HttpResponse:
    """The register lines behind a figure (``indicator`` sent or received, optionally one
    ``unit``, ``tenant`` or ``channel``): how many there are, and the letters among them the
    person may read (the letters' own access rule), newest first."""
    try:
        scope, period, params = _request(request)
    except SarabanError as exc:
        return _refused(request, exc)
    q = request.GET
    indicator = "received" if q.get("indicator") == "received" else "sent"
    channel = q.get("channel") or None
    lines = lines_behind(scope, period, indicator=indicator, unit=_int(q.get("unit")),
                         agency=_int(q.get("tenant")), channel=channel)
    visible = (lines.filter(letter__in=visible_letters(person_of(request)))
               .select_related("letter", "series__registry"))
    page = Paginator(visible, PAGE_SIZE).get_page(q.get("page"))
    more = _query(params, indicator=indicator, unit=q.get("unit", ""),
                  tenant=q.get("tenant", ""), channel=channel or "")
    return render(request, "web/reports/letters.html", {
        "scope": scope, "period": period, "indicator": indicator, "page": page,
        "total": lines.count(), "shown": page.paginator.count, "query": more,
        "channel_label": LABELS.get(channel or "", channel or ""),
        "back": _query(params),
    })


#: The register kind of the delivery book in ``/registers/<id>/<kind>/print.pdf``.
DELIVERY = "delivery"


@login_required
@require_GET
def register_pdf_view(request: HttpRequest, registry_id: int, kind: str) -> HttpResponse:
    """A register (แบบที่ 12 or 14), or with ``kind`` "delivery" the registry's delivery book
    (สมุดส่งหนังสือ), for ``from``–``to`` (Bangkok days; default today) as PDF: the lines of
    the letters the person may see, at most a year."""
    person = person_of(request)
    series = series_for(person, registry_id, SeriesKind.OUTGOING if kind == DELIVERY else kind)
    today = timezone.localdate()
    start, end = _date(request.GET.get("from")), _date(request.GET.get("to"))
    try:
        if (request.GET.get("from") and start is None) or (request.GET.get("to") and end is None):
            raise ValidationFailed("วันที่ต้องอยู่ในรูปแบบ ปปปป-ดด-วว", code="bad_date",
                                   field="from")
        period = Period(start or end or today, end or start or today)
        if (period.end - period.start).days > 366:
            raise ValidationFailed("พิมพ์ทะเบียนได้ครั้งละไม่เกินหนึ่งปี", code="period_too_long",
                                   field="to")
        thai = series.registry.tenant.thai_digits
        if kind == DELIVERY:
            lines = delivery_lines(series.registry, period, reader=person)
            pdf = delivery_pdf(series.registry, lines, period, thai_digits=thai)
            name = f"delivery-book-{period.start}-{period.end}.pdf"
        else:
            pdf = register_pdf(series, register_lines(person, series, period), period,
                               thai_digits=thai)
            name = f"register-{series.kind}-{period.start}-{period.end}.pdf"
    except SarabanError as exc:
        return _refused(request, exc)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@login_required
@require_GET
def reports_export(request: HttpRequest) -> HttpResponse:
    """The indicators as XLSX (``format=xlsx``, the default), CSV, or the sealed PDF summary
    (``format=pdf``)."""
    try:
        scope, period, _params = _request(request)
    except SarabanError as exc:
        return _refused(request, exc)
    by = request.GET.get("by", "month")
    if by not in ("channel", "unit", "month", "agency"):
        by = "month"
    doc = kpi_document(scope, period, by=by)  # type: ignore[arg-type]
    name = f"kpi-{scope.agency.exchange_code or scope.agency.pk}-{period.start}-{period.end}"
    if request.GET.get("format") == "pdf":
        tenant = scope.agency.tenant or scope.agency
        pdf, _sealed = summary_pdf(doc, tenant, today=timezone.localdate())
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
        return response
    if request.GET.get("format") == "csv":
        response = HttpResponse(to_csv(doc), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    response = HttpResponse(
        to_xlsx(doc),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


@login_required
@require_GET
def reports_lpa(request: HttpRequest) -> HttpResponse:
    """The LPA evidence pack (a ZIP) of the LAO ``agency`` for ``fiscal_year`` (default: the
    current one), for a person who oversees it; others get the refusal in Thai (403)."""
    person = person_of(request)
    q = request.GET
    today = timezone.localdate()
    try:
        text = (q.get("fiscal_year") or "").strip()
        fiscal = _int(text) if text else fiscal_year_of(today)
        if fiscal is None:
            raise ValidationFailed("ปีงบประมาณไม่ถูกต้อง", code="bad_year", field="fiscal_year")
        if not (q.get("agency") or "").strip():
            raise ValidationFailed("กรุณาเลือกองค์กรปกครองส่วนท้องถิ่น", code="agency_required",
                                   field="agency")
        scope = access_scope(person, agency=q.get("agency"))
        pack = lpa_pack(scope.agency, fiscal, today=today)
    except SarabanError as exc:
        return _refused(request, exc)
    response = HttpResponse(pack.data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{pack.filename}"'
    return response
