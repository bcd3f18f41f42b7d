"""Every API error has one shape: ``{"code", "message", "field"?, "details"?}``.

Domain errors (``SarabanError``) carry their own status and code; the handlers below give
ninja's own errors (bad request data, missing or bad token, unknown objects) the same shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from saraban.core.errors import SarabanError


class InvalidRequest(SarabanError):
    """The request data does not fit the schema (wrong type, missing or extra field)."""

    status = 422
    default_code = "invalid_request"


INVALID_REQUEST_TH = "ข้อมูลที่ส่งมาไม่ถูกต้องตามรูปแบบ"


def invalid_request(exc: pydantic.ValidationError, *, loc: str) -> InvalidRequest:
    """A pydantic error in a JSON form field, as an ``invalid_request`` error."""
    errors = [
        {"loc": [loc, *err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
    return InvalidRequest(INVALID_REQUEST_TH, field=loc, details={"errors": errors})


def _body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **{k: v for k, v in extra.items() if v}}


def _on[E: Exception](
    api: NinjaAPI, cls: type[E], handler: Callable[[HttpRequest, E], HttpResponse]
) -> None:
    # ninja types a handler's argument as "E | type[E]"; it always passes the instance.
    def handle(request: HttpRequest, exc: E | type[E]) -> HttpResponse:
        assert isinstance(exc, cls)
        return handler(request, exc)

    api.add_exception_handler(cls, handle)


def install_error_handlers(api: NinjaAPI) -> None:
    """Register the handlers that give every error the common shape."""

    def saraban_error(request: HttpRequest, exc: SarabanError) -> HttpResponse:
        response = api.create_response(request, exc.as_dict(), status=exc.status)
        if exc.status == 401:
            response["WWW-Authenticate"] = "Bearer"
        return response

    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        first = exc.errors[0] if exc.errors else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in {"body", "query", "path", "form"}]
        body = _body(
            "invalid_request", INVALID_REQUEST_TH,
            field=".".join(loc) or None, details={"errors": exc.errors},
        )
        return api.create_response(request, body, status=422)

    def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        body = _body("unauthenticated", "กรุณาเข้าสู่ระบบ (ต้องใช้โทเค็นที่ยังใช้ได้)")
        response = api.create_response(request, body, status=401)
        response["WWW-Authenticate"] = "Bearer"
        return response

    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        codes = {400: "bad_request", 403: "forbidden", 405: "method_not_allowed",
                 429: "throttled"}
        body = _body(
            codes.get(exc.status_code, "http_error"), "คำขอไม่ถูกต้อง",
            details={"detail": str(exc)},
        )
        return api.create_response(request, body, status=exc.status_code)

    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return api.create_response(request, _body("not_found", "ไม่พบสิ่งที่ขอ"), status=404)

    _on(api, SarabanError, saraban_error)
    _on(api, ValidationError, validation_error)
    _on(api, AuthenticationError, authentication_error)
    _on(api, HttpError, http_error)
    _on(api, Http404, not_found)
