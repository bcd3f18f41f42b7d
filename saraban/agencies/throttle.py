"""Login throttling for every way in: the web form, ``POST /api/v1/auth/token`` and the admin.

One mechanism, django-axes, counts the failures of every ``authenticate`` call (it listens to
Django's ``user_login_failed`` signal, so the web, the API and the admin share the counts),
and refuses an attempt (even with the right password) while its counts stand over a limit:

- ``SARABAN_LOGIN_MAX_FAILURES`` failures for one username from one address lock that pair;
  the rest of an office behind the same address signs in as usual;
- ``SARABAN_LOGIN_USER_MAX_FAILURES`` failures for one username from any addresses lock the
  username (a spread-out guess at one account);
- ``SARABAN_LOGIN_ADDRESS_MAX_FAILURES`` failures from one address lock that address for the
  usernames that have never signed in from it (a spray over many accounts), while the people
  who already work from there still get in.

A lock lasts ``SARABAN_LOGIN_WINDOW_SECONDS`` after the last failure. Failures are counted for
any username typed, whether the account exists or not, and a locked attempt is answered the
same way for both, so the answers do not reveal which accounts exist. A successful sign-in
clears the failures of that username from that address.

django-axes keeps one limit for its lockout parameters; ``ThrottleHandler`` adds the
username-wide and address-wide counts with their own limits on top of its username+address
count (the axes ``AccessAttempt`` rows hold all three).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

LOCKED_MESSAGE = (
    "เข้าสู่ระบบไม่สำเร็จหลายครั้งเกินกำหนด ระบบงดรับการเข้าสู่ระบบชั่วคราว "
    "กรุณาลองใหม่ในอีกประมาณ {minutes} นาที"
)
LOCKED_CODE = "login_locked"


def failure_limit(request: HttpRequest | None = None, credentials: Any = None) -> int:
    """Failures of one username from one address that lock the pair (``AXES_FAILURE_LIMIT``)."""
    return int(settings.SARABAN_LOGIN_MAX_FAILURES)


def cool_off(request: HttpRequest | None = None) -> dt.timedelta:
    """How long a lock lasts after the last failure (``AXES_COOLOFF_TIME``)."""
    return dt.timedelta(seconds=int(settings.SARABAN_LOGIN_WINDOW_SECONDS))


def attempted_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The username an attempt names, as counted: NUL bytes dropped, at most 150 characters.

    >>> attempted_username(HttpRequest(), {"username": "clerk\\x00"})
    'clerk'
    """
    raw = (credentials or {}).get("username")
    if raw is None:
        raw = request.POST.get("username", "") if request is not None else ""
    return str(raw).replace("\x00", "")[:150]


def locked_message() -> str:
    minutes = max(1, (int(settings.SARABAN_LOGIN_WINDOW_SECONDS) + 59) // 60)
    return LOCKED_MESSAGE.format(minutes=minutes)


def _failures(attempts: QuerySet[AccessAttempt]) -> int:
    return int(attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0)


class ThrottleHandler(AxesDatabaseHandler):  # type: ignore[misc]
    """The axes database handler with the username-wide and address-wide limits added."""

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        pair = int(super().get_failures(request, credentials))
        limit = failure_limit()
        if pair >= limit:
            return pair
        username = get_client_username(request, credentials)
        address = getattr(request, "axes_ip_address", None)
        recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))
        if username and _failures(recent.filter(username=username)) >= int(
            settings.SARABAN_LOGIN_USER_MAX_FAILURES
        ):
            return limit
        if (
            address
            and _failures(recent.filter(ip_address=address))
            >= int(settings.SARABAN_LOGIN_ADDRESS_MAX_FAILURES)
            and not AccessLog.objects.filter(username=username, ip_address=address).exists()
        ):
            return limit
        return pair


class ThrottleBackend(AxesStandaloneBackend):  # type: ignore[misc]
    """Refuses a locked attempt before any password is checked.

    Without a request there is no address to count (a management command or a shell calling
    ``authenticate``); such calls are not throttled. Every sign-in path of the node (web form,
    API token, admin) passes its request.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)  # type: ignore[no-any-return]


def is_locked_out(request: HttpRequest) -> bool:
    """Whether the last ``authenticate`` on this request was refused (or ended) by a lock."""
    return bool(getattr(request, "axes_locked_out", False))


def lockout_response(
    request: HttpRequest, original_response: object = None, credentials: Any = None
) -> HttpResponseBase:
    """The answer to a locked attempt (``AXES_LOCKOUT_CALLABLE``), 429 in every interface.

    The web form and the API answer a lock themselves (a Thai message on the form, code
    ``login_locked``); their answer is kept. The admin login gets the web login page with the
    message. Under ASGI (``saraban serve``) django-axes' middleware passes the credentials
    where the view's answer would be, and no answer: the lock is then answered here.
    """
    if not isinstance(original_response, HttpResponseBase):
        original_response = None
    if original_response is not None and original_response.status_code == 429:
        return original_response
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": LOCKED_CODE, "message": locked_message(),
             "details": {"retry_after_seconds": int(settings.SARABAN_LOGIN_WINDOW_SECONDS)}},
            status=429,
        )
    return render(
        request, "web/login.html", {"locked_message": locked_message(), "form": None}, status=429
    )
