"""Login throttling: too many failures for a username or from an address lock sign-in.

After ``SARABAN_LOGIN_MAX_FAILURES`` failures for one username, or from one address, within
``SARABAN_LOGIN_WINDOW_SECONDS``, every attempt (even with the right password) is refused
until the oldest counted failure leaves the window. A successful sign-in clears the failures
of that username and that address.
"""

from __future__ import annotations

import datetime as dt
import math

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .models import LoginFailure


def _window() -> dt.timedelta:
    return dt.timedelta(seconds=int(settings.SARABAN_LOGIN_WINDOW_SECONDS))


def _key(username: str) -> str:
    return username.strip().lower()[:150]


def login_locked_for(username: str, ip: str | None) -> int:
    """Seconds until sign-in is allowed again for this username/address; 0 when not locked."""
    now = timezone.now()
    since = now - _window()
    limit = int(settings.SARABAN_LOGIN_MAX_FAILURES)
    recent = LoginFailure.objects.filter(at__gt=since)
    waits = [0.0]
    for match in (Q(username=_key(username)), Q(ip=ip) if ip else None):
        if match is None:
            continue
        rows = recent.filter(match)
        if rows.count() >= limit:
            # Locked until enough failures have aged out of the window.
            nth = rows.order_by("-at").values_list("at", flat=True)[limit - 1]
            waits.append((nth + _window() - now).total_seconds())
    return max(0, math.ceil(max(waits)))


def login_failure_record(username: str, ip: str | None) -> None:
    """Note a failed sign-in, and forget failures too old to count."""
    now = timezone.now()
    LoginFailure.objects.filter(at__lte=now - _window()).delete()
    LoginFailure.objects.create(username=_key(username), ip=ip or None, at=now)


def login_failures_clear(username: str, ip: str | None) -> None:
    """Forget the failures of a username and address after a successful sign-in."""
    match = Q(username=_key(username))
    if ip:
        match |= Q(ip=ip)
    LoginFailure.objects.filter(match).delete()

