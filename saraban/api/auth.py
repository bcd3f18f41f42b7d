"""Token authentication: issuing tokens for a username and password, and checking them.

``api_token_issue`` is the action behind ``POST /api/v1/auth/token``. Failed attempts are
counted per username; after ``SARABAN_LOGIN_MAX_FAILURES`` failures within
``SARABAN_LOGIN_WINDOW_SECONDS`` further attempts are refused until the window has passed,
the same idea as the web login's throttling. Only the SHA-256 of a token is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from saraban.agencies.actors import Actor
from saraban.agencies.models import Person
from saraban.core.audit import audit_record
from saraban.core.errors import SarabanError

from .models import ApiToken, LoginFailure

TOKEN_PREFIX = "srb_"  # noqa: S105 (a marker, not a secret)
# Write ``last_used_at`` at most this often, so reads do not each cost a write.
_TOUCH_EVERY = dt.timedelta(minutes=1)


class InvalidCredentials(SarabanError):
    status = 401
    default_code = "invalid_credentials"


class LoginLocked(SarabanError):
    status = 429
    default_code = "login_locked"


def hash_token(raw: str) -> str:
    """The stored form of a token.

    >>> len(hash_token("srb_x"))
    64
    """
    return hashlib.sha256(raw.encode()).hexdigest()


def _recent_failures(username: str, now: dt.datetime) -> int:
    since = now - dt.timedelta(seconds=int(settings.SARABAN_LOGIN_WINDOW_SECONDS))
    return LoginFailure.objects.filter(username=username, failed_at__gte=since).count()


def api_token_issue(
    *,
    username: str,
    password: str,
    request: HttpRequest | None = None,
    lifetime: dt.timedelta | None = None,
) -> tuple[ApiToken, str]:
    """Check a username and password and issue a new token: ``(row, raw token)``.

    Raises ``LoginLocked`` while too many recent failures stand against the username and
    ``InvalidCredentials`` for a wrong password, an unknown or an inactive person (all
    answered alike, so the answer does not reveal which).
    """
    username = username.strip()[:150]
    now = timezone.now()
    if _recent_failures(username, now) >= int(settings.SARABAN_LOGIN_MAX_FAILURES):
        raise LoginLocked(
            "เข้าสู่ระบบผิดพลาดหลายครั้งเกินไป กรุณารอสักครู่แล้วลองใหม่",
            details={"retry_after_seconds": int(settings.SARABAN_LOGIN_WINDOW_SECONDS)},
        )
    user = authenticate(request, username=username, password=password)
    if not isinstance(user, Person) or not user.is_active:
        LoginFailure.objects.create(username=username, failed_at=now)
        raise InvalidCredentials("ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        LoginFailure.objects.filter(username=username).delete()
        token = ApiToken.objects.create(
            person=user,
            token_hash=hash_token(raw),
            created_at=now,
            expires_at=now + lifetime if lifetime is not None else None,
        )
        if user.agency_id is not None:
            audit_record(
                agency_id=user.agency_id,
                action="api_token_issue",
                actor=Actor(person=user),
                target_type="api_token",
                target_id=token.pk,
                details={"expires_at": token.expires_at},
            )
    return token, raw


def person_for_token(raw: str) -> Person | None:
    """The active person a live token belongs to, or ``None``."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("person")
        .filter(token_hash=hash_token(raw))
        .first()
    )
    if token is None or not token.person.is_active:
        return None
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at >= _TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.person


class BearerAuth(HttpBearer):
    """``Authorization: Bearer <token>``; the person becomes ``request.auth``."""

    def authenticate(self, request: HttpRequest, token: str) -> Person | None:
        person = person_for_token(token)
        if person is not None:
            request.user = person
        return person


def current_person(request: HttpRequest) -> Person:
    """The person an authenticated API request acts for."""
    person = getattr(request, "auth", None)
    if not isinstance(person, Person):  # only reachable if an endpoint forgot auth
        raise InvalidCredentials("กรุณาเข้าสู่ระบบ", code="unauthenticated")
    return person
