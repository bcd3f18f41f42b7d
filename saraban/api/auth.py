"""Token authentication: issuing tokens for a username and password, checking and revoking them.

``api_token_issue`` is the action behind ``POST /api/v1/auth/token``. Failed attempts are
counted and locked by the one login throttle of the node (``saraban.agencies.throttle``,
shared with the web form and the admin); a locked attempt is answered ``login_locked`` (429).
A person with a TOTP authenticator gives its current code as ``otp``. Tokens expire after
``SARABAN_API_TOKEN_DAYS``; only the SHA-256 of a token is stored.

Codes: ``invalid_credentials`` (401, also for unknown or inactive people), ``login_locked``
(429), ``otp_required`` / ``invalid_otp`` (401), ``two_factor_enrolment_required`` (403, the
agency requires a second factor the person has not set up), ``token_expired`` (401),
``password_change_required`` (403: every endpoint but the password change refuses the token).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from enum import StrEnum

from django.conf import settings
from django.contrib.auth import authenticate, user_logged_in
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from saraban.agencies.actors import Actor
from saraban.agencies.models import Person
from saraban.agencies.security import has_two_factor, totp_verify, two_factor_required
from saraban.agencies.throttle import LOCKED_CODE, is_locked_out, locked_message
from saraban.core.audit import audit_record
from saraban.core.errors import NotFound, PermissionDenied, SarabanError

from .models import ApiToken

TOKEN_PREFIX = "srb_"  # noqa: S105 (a marker, not a secret)
# Write ``last_used_at`` at most this often, so reads do not each cost a write.
_TOUCH_EVERY = dt.timedelta(minutes=1)


class TokenAction(StrEnum):
    """Audit action names of API tokens."""

    ISSUE = "api_token_issue"
    REVOKE = "api_token_revoke"


class InvalidCredentials(SarabanError):
    status = 401
    default_code = "invalid_credentials"


class LoginLocked(SarabanError):
    status = 429
    default_code = LOCKED_CODE


class PasswordChangeRequired(SarabanError):
    status = 403
    default_code = "password_change_required"


def hash_token(raw: str) -> str:
    """The stored form of a token.

    >>> len(hash_token("srb_x"))
    64
    """
    return hashlib.sha256(raw.encode()).hexdigest()


def default_token_lifetime() -> dt.timedelta | None:
    days = int(settings.SARABAN_API_TOKEN_DAYS)
    return dt.timedelta(days=days) if days > 0 else None


def _locked() -> LoginLocked:
    return LoginLocked(
        locked_message(),
        details={"retry_after_seconds": int(settings.SARABAN_LOGIN_WINDOW_SECONDS)},
    )


def api_token_issue(
    *,
    username: str,
    password: str,
    request: HttpRequest,
    otp: str = "",
    name: str = "",
    lifetime: dt.timedelta | None = None,
) -> tuple[ApiToken, str]:
    """Check a username, password (and TOTP code) and issue a new token: ``(row, raw token)``.

    Raises ``LoginLocked`` while the login throttle holds the username or address, and
    ``InvalidCredentials`` for a wrong password, an unknown or an inactive person (all
    answered alike, so the answer does not reveal which). The token lives ``lifetime`` or
    ``SARABAN_API_TOKEN_DAYS``.
    """
    username = username.replace("\x00", "").strip()[:150]
    password = password.replace("\x00", "")
    now = timezone.now()
    user = authenticate(request, username=username, password=password)
    if is_locked_out(request):
        raise _locked()
    if not isinstance(user, Person) or not user.is_active:
        raise InvalidCredentials("ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง")
    if has_two_factor(user):
        if not otp.strip():
            raise InvalidCredentials("กรุณาระบุรหัสจากแอปยืนยันตัวตน (otp)", code="otp_required",
                                     field="otp")
        if totp_verify(user, otp) is None:
            raise InvalidCredentials("รหัสยืนยันไม่ถูกต้องหรือหมดเวลาแล้ว", code="invalid_otp",
                                     field="otp")
    elif two_factor_required(user):
        raise PermissionDenied(
            "ส่วนราชการกำหนดให้ต้องยืนยันตัวตนสองขั้นตอน กรุณาตั้งค่าแอปยืนยันตัวตนในหน้าเว็บก่อน",
            code="two_factor_enrolment_required",
        )
    lifetime = lifetime if lifetime is not None else default_token_lifetime()
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            person=user,
            token_hash=hash_token(raw),
            name=name.replace("\x00", "").strip()[:100],
            created_at=now,
            expires_at=now + lifetime if lifetime is not None else None,
        )
        if user.agency_id is not None:
            audit_record(
                agency_id=user.agency_id,
                action=TokenAction.ISSUE,
                actor=Actor(person=user),
                target_type="api_token",
                target_id=token.pk,
                details={"name": token.name, "expires_at": token.expires_at},
            )
    # A token is a sign-in: last_login, the throttle's record of where the person signs in
    # from, and the reset of their failures from this address.
    user_logged_in.send(sender=user.__class__, request=request, user=user)
    return token, raw


def api_tokens_of(person: Person) -> list[ApiToken]:
    """The person's tokens, newest first (expired ones included, marked by ``expires_at``)."""
    return list(ApiToken.objects.filter(person=person).order_by("-created_at", "-pk"))


def api_token_revoke(*, person: Person, token_id: int) -> None:
    """Revoke one of the person's own tokens; it stops working at once."""
    with transaction.atomic():
        token = ApiToken.objects.filter(pk=token_id, person=person).first()
        if token is None:
            raise NotFound("ไม่พบโทเค็นนี้", code="token_not_found")
        details = {"name": token.name, "created_at": token.created_at}
        token.delete()
        if person.agency_id is not None:
            audit_record(
                agency_id=person.agency_id,
                action=TokenAction.REVOKE,
                actor=Actor(person=person),
                target_type="api_token",
                target_id=token_id,
                details=details,
            )


class TokenExpired(SarabanError):
    status = 401
    default_code = "token_expired"


def person_for_token(raw: str) -> Person | None:
    """The active person a live token belongs to, or ``None``; raises ``TokenExpired``."""
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
        raise TokenExpired("โทเค็นหมดอายุแล้ว กรุณาขอโทเค็นใหม่")
    if token.last_used_at is None or now - token.last_used_at >= _TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.person


# The one operation a token of a person who must change their password may call.
PASSWORD_CHANGE_URL_NAME = "auth_password_change"  # noqa: S105 (a URL name)


class BearerAuth(HttpBearer):
    """``Authorization: Bearer <token>``; the person becomes ``request.auth``."""

    def authenticate(self, request: HttpRequest, token: str) -> Person | None:
        person = person_for_token(token)
        if person is None:
            return None
        if person.must_change_password:
            match = getattr(request, "resolver_match", None)
            if match is None or match.url_name != PASSWORD_CHANGE_URL_NAME:
                raise PasswordChangeRequired(
                    "ต้องเปลี่ยนรหัสผ่านก่อนใช้งาน (POST /api/v1/auth/password)"
                )
        request.user = person
        return person


def current_person(request: HttpRequest) -> Person:
    """The person an authenticated API request acts for."""
    person = getattr(request, "auth", None)
    if not isinstance(person, Person):  # only reachable if an endpoint forgot auth
        raise InvalidCredentials("กรุณาเข้าสู่ระบบ", code="unauthenticated")
    return person
