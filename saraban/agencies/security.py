"""Account security: password changes, TOTP two-factor sign-in, and signed-in sessions.

Actions (keyword-only, one transaction, one audit event each in the person's agency chain):
``password_change``, ``password_reset_by_admin``, ``totp_enrol_start`` / ``totp_enrol_confirm``,
``totp_remove``, ``session_revoke``. Selectors: ``two_factor_required``, ``has_two_factor``,
``sessions_of``. The web and the API call these; neither holds the rules.

Errors (``saraban.core.errors``): ``ValidationFailed`` with code ``wrong_password``,
``password_invalid``, ``password_unchanged``, ``invalid_otp``; ``PermissionDenied`` with code
``two_factor_required`` (removing the authenticator an agency requires); ``NotFound``.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from saraban.core.audit import audit_record
from saraban.core.errors import NotFound, PermissionDenied, ValidationFailed

from .actors import Actor
from .models import Person, Role, RoleGrant, SignInSession

__all__ = [
    "SecurityAction",
    "has_two_factor",
    "password_change",
    "password_reset_by_admin",
    "session_forget",
    "session_record",
    "session_revoke",
    "session_signed_in",
    "sessions_of",
    "totp_enrol_confirm",
    "totp_enrol_start",
    "totp_remove",
    "totp_verify",
    "two_factor_required",
]

# Roles whose holders an agency may require to sign in with a second factor: those who sign
# and approve letters, and those who administer the agency.
TWO_FACTOR_ROLES = (Role.EXECUTIVE, Role.AGENCY_ADMIN)
# Write a session's last use at most this often.
_TOUCH_EVERY = dt.timedelta(minutes=5)


class SecurityAction(StrEnum):
    """Audit action names of account security."""

    PASSWORD_CHANGE = "password_change"  # noqa: S105 (an action name)
    PASSWORD_RESET_BY_ADMIN = "password_reset_by_admin"  # noqa: S105
    TWO_FACTOR_ENROL = "two_factor_enrol"
    TWO_FACTOR_REMOVE = "two_factor_remove"
    SESSION_REVOKE = "session_revoke"


_VALIDATOR_MESSAGES = {
    "password_too_short": "รหัสผ่านสั้นเกินไป ต้องมีอย่างน้อย {min_length} ตัวอักษร",
    "password_too_common": "รหัสผ่านนี้ใช้กันทั่วไปและคาดเดาได้ง่าย กรุณาเลือกรหัสผ่านอื่น",
    "password_entirely_numeric": "รหัสผ่านต้องไม่เป็นตัวเลขทั้งหมด",
    "password_too_similar": "รหัสผ่านคล้ายกับชื่อผู้ใช้หรือข้อมูลส่วนตัวมากเกินไป",
}


def _thai_messages(error: ValidationError) -> list[str]:
    messages = []
    for item in error.error_list:
        template = _VALIDATOR_MESSAGES.get(item.code or "")
        if template is None:
            messages.extend(item.messages)
        else:
            messages.append(template.format(**(item.params or {})))
    return messages


def _audit(person: Person, action: SecurityAction, *, actor: Actor | None = None,
           target_type: str = "person", target_id: int | None = None,
           details: dict[str, Any] | None = None) -> None:
    if person.agency_id is None:  # a node operator outside every agency keeps no chain
        return
    audit_record(
        agency_id=person.agency_id, action=action, actor=actor or Actor(person=person),
        target_type=target_type, target_id=target_id if target_id is not None else person.pk,
        details=details,
    )


def _check_new_password(person: Person, new_password: str) -> None:
    try:
        validate_password(new_password, user=person)
    except ValidationError as exc:
        messages = _thai_messages(exc)
        raise ValidationFailed(
            " ".join(messages), code="password_invalid", field="new_password",
            details={"errors": messages},
        ) from exc


def password_change(
    *, person: Person, current_password: str, new_password: str, keep_session_key: str = ""
) -> None:
    """Change a person's own password after checking the current one.

    Clears a pending forced change. Every other signed-in session of the person ends (the
    one in ``keep_session_key`` stays, for the web page that asked).
    """
    if not person.check_password(current_password):
        raise ValidationFailed("รหัสผ่านปัจจุบันไม่ถูกต้อง", code="wrong_password",
                               field="current_password")
    if new_password == current_password:
        raise ValidationFailed("รหัสผ่านใหม่ต้องไม่ซ้ำกับรหัสผ่านเดิม", code="password_unchanged",
                               field="new_password")
    _check_new_password(person, new_password)
    with transaction.atomic():
        person.set_password(new_password)
        forced = person.must_change_password
        person.must_change_password = False
        person.password_changed_at = timezone.now()
        person.save(update_fields=["password", "must_change_password", "password_changed_at"])
        ended = _end_sessions(
            SignInSession.objects.filter(person=person).exclude(session_key=keep_session_key)
        )
        _audit(person, SecurityAction.PASSWORD_CHANGE,
               details={"forced": forced, "sessions_ended": ended})


def password_reset_by_admin(*, actor: Actor, person: Person) -> None:
    """After an administrator set someone's password (the admin's password form): they must
    change it at their next sign-in, and their signed-in sessions end."""
    with transaction.atomic():
        someone_else = actor.person.pk != person.pk
        person.must_change_password = someone_else
        person.password_changed_at = timezone.now()
        person.save(update_fields=["must_change_password", "password_changed_at"])
        ended = _end_sessions(SignInSession.objects.filter(person=person)) if someone_else else 0
        _audit(person, SecurityAction.PASSWORD_RESET_BY_ADMIN, actor=actor,
               details={"must_change": person.must_change_password, "sessions_ended": ended})


# --- two-factor (TOTP) ------------------------------------------------------------------------


def two_factor_required(person: Person) -> bool:
    """Whether the person's agency requires a second factor of them (signers and admins)."""
    if person.agency_id is None or person.agency is None or not person.agency.require_two_factor:
        return False
    return RoleGrant.objects.filter(person=person, role__in=TWO_FACTOR_ROLES).exists()


def has_two_factor(person: Person) -> bool:
    return bool(TOTPDevice.objects.filter(user=person, confirmed=True).exists())


def totp_enrol_start(*, person: Person) -> TOTPDevice:
    """A new, not yet confirmed authenticator key for the person (replacing an unconfirmed one).

    Nothing changes for signing in until ``totp_enrol_confirm`` sees a code from it.
    """
    with transaction.atomic():
        TOTPDevice.objects.filter(user=person, confirmed=False).delete()
        return TOTPDevice.objects.create(user=person, name="authenticator", confirmed=False)


def _code(raw: str) -> str:
    return "".join(ch for ch in raw if ch.isdigit())[:10]


def totp_enrol_confirm(*, person: Person, device_id: int, code: str) -> TOTPDevice:
    """Confirm a new authenticator with a code it shows; it replaces any earlier one."""
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(pk=device_id, user=person, confirmed=False)
            .first()
        )
        if device is None:
            raise NotFound("ไม่พบการลงทะเบียนแอปยืนยันตัวตนนี้ กรุณาเริ่มใหม่",
                           code="enrolment_not_found")
        if not device.verify_token(_code(code)):
            raise ValidationFailed("รหัสยืนยันไม่ถูกต้องหรือหมดเวลาแล้ว", code="invalid_otp",
                                   field="otp")
        TOTPDevice.objects.filter(user=person, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        _audit(person, SecurityAction.TWO_FACTOR_ENROL, target_type="totp_device",
               target_id=device.pk)
    return device


def totp_verify(person: Person, code: str) -> TOTPDevice | None:
    """The person's confirmed authenticator if ``code`` is its current code, else ``None``.

    django-otp refuses a code used before and slows down repeated wrong codes.
    """
    code = _code(code)
    for device in TOTPDevice.objects.filter(user=person, confirmed=True):
        if device.verify_token(code):
            return device
    return None


def totp_remove(*, person: Person, code: str) -> None:
    """Remove the person's authenticator (with a current code), unless their agency requires it."""
    if two_factor_required(person):
        raise PermissionDenied(
            "ส่วนราชการกำหนดให้ผู้บริหารและผู้ดูแลระบบต้องยืนยันตัวตนสองขั้นตอน จึงยกเลิกไม่ได้",
            code="two_factor_required",
        )
    with transaction.atomic():
        if totp_verify(person, code) is None:
            raise ValidationFailed("รหัสยืนยันไม่ถูกต้องหรือหมดเวลาแล้ว", code="invalid_otp",
                                   field="otp")
        TOTPDevice.objects.filter(user=person).delete()
        _audit(person, SecurityAction.TWO_FACTOR_REMOVE)


# --- signed-in sessions ---------------------------------------------------------------------


def _session_store(session_key: str) -> SessionBase:
    engine = import_module(settings.SESSION_ENGINE)
    store: SessionBase = engine.SessionStore(session_key=session_key)
    return store


def _end_sessions(rows: QuerySet[SignInSession]) -> int:
    keys = list(rows.values_list("session_key", flat=True))
    for key in keys:
        _session_store(key).delete()
    rows.delete()
    return len(keys)


def session_record(
    *, person: Person, session_key: str, ip: str | None, user_agent: str,
    now: dt.datetime | None = None,
) -> SignInSession:
    """Note that a signed-in session is in use (created on first sight, last use at most
    every few minutes)."""
    now = now or timezone.now()
    row = SignInSession.objects.filter(session_key=session_key).first()
    if row is not None and row.person_id != person.pk:
        row.delete()
        row = None
    if row is None:
        row, _ = SignInSession.objects.get_or_create(
            session_key=session_key,
            defaults={"person": person, "created_at": now, "last_seen_at": now, "ip": ip,
                      "user_agent": user_agent[:255]},
        )
    elif now - row.last_seen_at >= _TOUCH_EVERY:
        row.last_seen_at = now
        row.ip = ip
        row.save(update_fields=["last_seen_at", "ip"])
    return row


def session_signed_in(sender: object, request: HttpRequest | None, user: object,
                      **kwargs: object) -> None:
    """Record the session a sign-in has just opened (``user_logged_in`` receiver); a token
    issue has no session and records nothing."""
    session = getattr(request, "session", None) if request is not None else None
    key = getattr(session, "session_key", None)
    if request is None or not key or not isinstance(user, Person):
        return
    session_record(person=user, session_key=key, ip=request.META.get("REMOTE_ADDR") or None,
                   user_agent=str(request.META.get("HTTP_USER_AGENT", "")))


def session_forget(*, session_key: str) -> None:
    """Forget a session that ended by signing out."""
    SignInSession.objects.filter(session_key=session_key).delete()


def sessions_of(person: Person) -> list[SignInSession]:
    """The person's sessions that are still signed in, most recently used first."""
    rows = list(SignInSession.objects.filter(person=person))
    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        return rows
    live = set(
        Session.objects.filter(
            session_key__in=[r.session_key for r in rows], expire_date__gt=timezone.now()
        ).values_list("session_key", flat=True)
    )
    return [r for r in rows if r.session_key in live]


def session_revoke(*, person: Person, session_id: int) -> SignInSession:
    """End one of the person's sessions: the browser holding it is signed out at once."""
    with transaction.atomic():
        row = SignInSession.objects.filter(pk=session_id, person=person).first()
        if row is None:
            raise NotFound("ไม่พบการเข้าสู่ระบบนี้", code="session_not_found")
        _session_store(row.session_key).delete()
        details = {"ip": row.ip, "user_agent": row.user_agent,
                   "created_at": row.created_at}
        row.delete()
        _audit(person, SecurityAction.SESSION_REVOKE, target_type="session",
               target_id=session_id, details=details)
    return row
