"""Keeps a signed-in person on the step they must take first, and notes each session's use.

A person whose account needs something before they work (the authenticator code of this
sign-in, a forced password change, or the two-factor enrolment their agency requires) is sent
to that page from every other page, the admin's included. Each signed-in session is recorded
(address, browser, last use) for the account security page, where it can be ended.
The API (bearer tokens) applies the same rules itself (``saraban.api.auth``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from saraban.agencies.models import Person
from saraban.agencies.security import session_record

from .views.auth import pending_step

# Pages a person may open while a step is pending, besides that step's own page. (Only the
# pending step: a session still owing its authenticator code must not reach the password
# change or the two-factor set-up, which would let a stolen password replace the device.)
_ALWAYS_OPEN = frozenset({"web:login", "web:logout"})
# Paths that do not use the signed-in session: static files, the API (bearer tokens), the
# node-to-node exchange, the public verification page and the operators' metrics (a scraper).
_NOT_SESSION = ("/static/", "/api/", "/exchange/v1/", "/metrics")


class AccountSecurityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        person = getattr(request, "user", None)
        if not isinstance(person, Person) or request.path.startswith(_NOT_SESSION):
            return None
        key = request.session.session_key
        if key:
            session_record(
                person=person, session_key=key, ip=request.META.get("REMOTE_ADDR") or None,
                user_agent=str(request.META.get("HTTP_USER_AGENT", "")),
            )
        step = pending_step(request, person)
        match = request.resolver_match
        if step is None or (match is not None and match.view_name in {step, *_ALWAYS_OPEN}):
            return None
        url = reverse(step)
        if request.method == "GET":
            url += "?" + urlencode({"next": request.get_full_path()})
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return HttpResponseRedirect(url)
