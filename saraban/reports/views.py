"""The operators' metrics endpoint: ``GET /metrics`` for Prometheus, behind a bearer token.

It uses no session: a scraper sends ``Authorization: Bearer <SARABAN_METRICS_TOKEN>``, compared
in constant time. Without a configured token the endpoint does not exist (404).
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from .metrics import render_metrics

UNAUTHORIZED_CODE = "metrics_unauthorized"


def _bearer(request: HttpRequest) -> str:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """The metrics in the Prometheus text format (``saraban.reports.metrics``)."""
    token = str(getattr(settings, "SARABAN_METRICS_TOKEN", "") or "")
    if not token:
        raise Http404("metrics are disabled")
    if not hmac.compare_digest(_bearer(request).encode(), token.encode()):
        response = JsonResponse(
            {"code": UNAUTHORIZED_CODE,
             "message": "ต้องส่งโทเคนของตัวชี้วัด (Authorization: Bearer …) ที่ถูกต้อง"},
            status=401,
        )
        response["WWW-Authenticate"] = 'Bearer realm="saraban-metrics"'
        return response
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)
