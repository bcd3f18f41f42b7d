"""The node-to-node endpoint: other Saraban nodes POST signed messages here."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from .envelope import decode
from .errors import ExchangeRefused
from .receive import receive_message
from .renewal import renewal_receive

RENEWAL_MAX_BYTES = 256 * 1024  # an announcement is a few kilobytes


def _refused(code: str, message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


@csrf_exempt  # authenticated by the envelope's signature, not by a session
@require_POST
def messages(request: HttpRequest) -> JsonResponse:
    limit = int(getattr(settings, "SARABAN_EXCHANGE_MAX_BYTES", 64 * 1024 * 1024))
    declared = (request.headers.get("Content-Length") or "0").strip()
    if not declared.isdigit():
        return _refused("malformed_envelope", "ความยาวของคำขอ (Content-Length) ไม่ถูกต้อง")
    if int(declared) > limit:
        return _refused("envelope_too_large", "ซองหนังสือมีขนาดเกินกำหนด", 413)
    body = request.read(limit + 1)
    if len(body) > limit:
        return _refused("envelope_too_large", "ซองหนังสือมีขนาดเกินกำหนด", 413)
    try:
        status, receipt = receive_message(decode(body))
    except ExchangeRefused as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    # Keys sorted: the stored receipt comes back byte-identical even from PostgreSQL's jsonb,
    # which does not keep key order.
    return JsonResponse(receipt, status=status, json_dumps_params={"sort_keys": True})


@csrf_exempt  # authenticated by the old key's signature, not by a session
@require_POST
def renewal(request: HttpRequest) -> JsonResponse:
    """Another node announces its agency's renewed certificate (``renewal.renewal_receive``)."""
    declared = (request.headers.get("Content-Length") or "0").strip()
    if not declared.isdigit():
        return _refused("malformed_envelope", "ความยาวของคำขอ (Content-Length) ไม่ถูกต้อง")
    if int(declared) > RENEWAL_MAX_BYTES:
        return _refused("envelope_too_large", "ประกาศมีขนาดเกินกำหนด", 413)
    try:
        status, answer = renewal_receive(decode(request.read(RENEWAL_MAX_BYTES)))
    except ExchangeRefused as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    return JsonResponse(answer, status=status)


@require_GET
def directory(request: HttpRequest) -> JsonResponse:
    """This node's own part of the directory, for other nodes to load."""
    from .directory import export_entries

    base = request.build_absolute_uri("/").rstrip("/")
    return JsonResponse({"entries": export_entries(local_only=True, node_url=base)})
