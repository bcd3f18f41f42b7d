"""One gate for text that no database can hold: NUL characters and lone surrogates.

``UnstorableTextMiddleware`` looks at every text a request carries (its path, query, form
fields, uploaded file names and JSON body) before any view does. A request with such text is
answered 400 and changes nothing: the API and the exchange endpoint answer JSON with the
stable code ``invalid_character``; the web interface a page with a Thai message. Without it
PostgreSQL answered such text with a server error (found by fuzzing, even at the login).

File contents are not text and are not looked at; the exchange endpoint's body is decoded
by its own strict parser (:func:`saraban.exchange.envelope.decode`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render

from .text import first_unstorable, storable

CODE = "invalid_character"
MESSAGE_TH = "ข้อมูลที่ส่งมามีอักขระที่ระบบรับไม่ได้ (เช่น อักขระ NUL) กรุณาตรวจสอบแล้วส่งใหม่"

# JSON escapes that decode to NUL or to a surrogate; only bodies that have one are parsed.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_JSON_PATHS = ("/api/", "/exchange/")
_API = "/api/"
_API_PUBLIC = "/api/v1/auth/"
_EXCHANGE_MESSAGES = "/exchange/v1/messages"


def _form_texts(request: HttpRequest) -> Iterator[tuple[str, str]]:
    for key, values in request.GET.lists():
        yield key, key
        for value in values:
            yield key, value
    if request.method not in {"POST", "PUT", "PATCH"} or request.path == _EXCHANGE_MESSAGES:
        return
    content_type = request.content_type or ""
    if content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        for key, values in request.POST.lists():
            yield key, key
            for value in values:
                yield key, value
        for key, files in request.FILES.lists():
            for upload in files:
                yield key, upload.name or ""


def _json_unstorable(raw: bytes) -> bool:
    """Whether JSON text decodes to unstorable text (a raw NUL byte counts, JSON or not)."""
    if b"\x00" in raw:
        return True
    if not _SUSPECT_ESCAPE.search(raw):
        return False
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return False  # not JSON: whoever parses it refuses it
    return first_unstorable(data) is not None


def _json_body_unstorable(request: HttpRequest) -> bool:
    if request.method not in {"POST", "PUT", "PATCH"} or request.path == _EXCHANGE_MESSAGES:
        return False
    content_type = request.content_type or ""
    if not (content_type == "application/json" or content_type.endswith("+json")):
        return False
    return _json_unstorable(request.body)


def _answered_401_first(request: HttpRequest) -> bool:
    """An API request without credentials, outside the public ``/api/v1/auth/``: the API
    answers it 401 before it reads any of its data, and a client missing its token should
    learn that first."""
    return (
        request.path.startswith(_API)
        and not request.path.startswith(_API_PUBLIC)
        and "authorization" not in request.headers
    )


def unstorable_field(request: HttpRequest) -> str | None:
    """The name of the first part of the request holding unstorable text, or None."""
    if _answered_401_first(request):
        return None
    if not storable(request.path):
        return "path"
    for name, text in _form_texts(request):
        # A form field may carry JSON (the API's multipart ``data``): its escapes count too.
        if not storable(text) or ("\\u" in text and _json_unstorable(text.encode())):
            return name
    if _json_body_unstorable(request):
        return "body"
    return None


def refusal(request: HttpRequest, field: str) -> HttpResponse:
    if request.path.startswith(_JSON_PATHS):
        body = {"code": CODE, "message": MESSAGE_TH, "field": field}
        if request.path == _EXCHANGE_MESSAGES:
            body["code"] = "malformed_envelope"
        return JsonResponse(body, status=400)
    return render(request, "400.html", {"message": MESSAGE_TH, "code": CODE}, status=400)


class UnstorableTextMiddleware:
    """Refuse requests with NUL characters or lone surrogates in their text (see module)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # A cookie is not the person's input: one that cannot be stored (a forged session
        # key) is dropped, as if the browser had not sent it.
        for name in [n for n, v in request.COOKIES.items() if not storable(n + v)]:
            del request.COOKIES[name]
        try:
            field = unstorable_field(request)
        except RequestDataTooBig:
            field = None  # the view's own parsing refuses it with its usual answer
        except (MultiPartParserError, TooManyFieldsSent, TooManyFilesSent):
            if not request.path.startswith(_JSON_PATHS):
                raise  # Django answers 400
            return JsonResponse({"code": "malformed_request",
                                 "message": "รูปแบบข้อมูลที่ส่งมาไม่ถูกต้อง"}, status=400)
        if field is not None:
            return refusal(request, field)
        return self.get_response(request)
