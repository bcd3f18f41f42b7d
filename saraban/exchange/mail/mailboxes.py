"""The agency's central mailbox: add it, change it, find it, list it.

``mailbox_add`` and ``mailbox_set`` are the named actions (one transaction, audited as
``exchange_mailbox_add`` / ``exchange_mailbox_set``); the CLI, the web pages and the API call
them. Passwords and the S/MIME key are given in plain and stored sealed, bound to the agency
(``saraban.core.keys``); the audit event says a secret changed, never what it is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from saraban.agencies.actors import Actor
from saraban.agencies.models import Agency
from saraban.core import keys
from saraban.core.audit import audit_record
from saraban.core.errors import NotFound, ValidationFailed

from ..models import (
    MAIL_IMAP_PURPOSE,
    MAIL_SMIME_PURPOSE,
    MAIL_SMTP_PURPOSE,
    Mailbox,
    MailSecurity,
    MailSeen,
    mail_purpose,
)
from .rules import check_rules

__all__ = ["SETTINGS", "find_mailbox", "mailbox_add", "mailbox_set", "mailbox_status",
           "normalise_address"]

#: What ``mailbox_add``/``mailbox_set`` take besides the address: plain fields, and the
#: secrets (``imap_password``, ``smtp_password``, ``smime_key_pem``) that are stored sealed.
PLAIN = ("display_name", "accept_senders", "acknowledge", "enabled", "imap_host", "imap_port",
         "imap_security", "imap_user", "imap_folder", "imap_done_folder", "imap_kept_folder",
         "smtp_host", "smtp_port", "smtp_security", "smtp_user", "smime_certificate_pem")
SECRETS = {"imap_password": ("imap_password_sealed", MAIL_IMAP_PURPOSE),
           "smtp_password": ("smtp_password_sealed", MAIL_SMTP_PURPOSE),
           "smime_key_pem": ("smime_key_sealed", MAIL_SMIME_PURPOSE)}
SETTINGS = (*PLAIN, *SECRETS)


def normalise_address(address: str) -> str:
    """A mailbox address lowercased and checked (``ValidationFailed`` otherwise)."""
    address = address.strip().lower()
    try:
        validate_email(address)
    except ValidationError as exc:
        raise ValidationFailed("ที่อยู่ไปรษณีย์อิเล็กทรอนิกส์ไม่ถูกต้อง", code="bad_mail_address",
                               field="address") from exc
    if len(address) > 254:
        raise ValidationFailed("ที่อยู่ไปรษณีย์อิเล็กทรอนิกส์ยาวเกินไป", code="bad_mail_address",
                               field="address")
    return address


def _text(value: Any, field: str, *, limit: int = 255, required: bool = False) -> str:
    text = str(value if value is not None else "").strip()
    if any(c in text for c in "\r\n\0"):
        raise ValidationFailed(f"{field} มีอักขระที่ใช้ไม่ได้", code="bad_mailbox_setting",
                               field=field)
    if len(text) > limit or (required and not text):
        raise ValidationFailed(f"{field} ไม่ถูกต้อง", code="bad_mailbox_setting", field=field)
    return text


def _port(value: Any, field: str) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = 0
    if not 0 < port < 65536:
        raise ValidationFailed("หมายเลขพอร์ตไม่ถูกต้อง", code="bad_mailbox_setting", field=field)
    return port


def _security(value: Any, field: str) -> str:
    text = str(value).strip().lower()
    if text not in MailSecurity.values:
        raise ValidationFailed("การเข้ารหัสต้องเป็น ssl, starttls หรือ none",
                               code="bad_mailbox_setting", field=field)
    return text


def _clean(field: str, value: Any) -> Any:
    if field in {"acknowledge", "enabled"}:
        return bool(value)
    if field in {"imap_port", "smtp_port"}:
        return _port(value, field)
    if field in {"imap_security", "smtp_security"}:
        return _security(value, field)
    if field == "accept_senders":
        return check_rules(str(value or ""))
    if field == "smime_certificate_pem":
        return str(value or "").strip()
    if field in {"imap_folder", "imap_done_folder", "imap_kept_folder"}:
        return _text(value, field, required=True)
    return _text(value, field)


def _check_smime(certificate_pem: str, key_pem: str) -> None:
    """The certificate must load, and the key (when given) must be its key."""
    if not certificate_pem and not key_pem:
        return
    if not certificate_pem or not key_pem:
        raise ValidationFailed("การลงนาม S/MIME ต้องมีทั้งใบรับรองและกุญแจ",
                               code="smime_incomplete", field="smime_certificate_pem")
    try:
        cert = x509.load_pem_x509_certificate(certificate_pem.encode())
    except ValueError as exc:
        raise ValidationFailed("อ่านใบรับรอง S/MIME ไม่ได้", code="bad_certificate",
                               field="smime_certificate_pem") from exc
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed("อ่านกุญแจ S/MIME ไม่ได้ (ต้องเป็น PEM ไม่มีรหัสผ่าน)",
                               code="bad_smime_key", field="smime_key_pem") from exc
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*raw) != cert.public_key().public_bytes(*raw):
        raise ValidationFailed("กุญแจ S/MIME ไม่ตรงกับใบรับรอง", code="smime_key_mismatch",
                               field="smime_key_pem")


def _apply(mailbox: Mailbox, changes: dict[str, Any]) -> list[str]:
    """Set the given settings on ``mailbox`` (unsaved); the names of what changed."""
    unknown = set(changes) - set(SETTINGS) - {"address"}
    if unknown:
        raise ValidationFailed(f"ไม่รู้จักค่าตั้ง {', '.join(sorted(unknown))}",
                               code="bad_mailbox_setting", field=sorted(unknown)[0])
    changed: list[str] = []
    if "address" in changes:
        address = normalise_address(str(changes["address"]))
        taken = Mailbox.objects.filter(address=address).exclude(pk=mailbox.pk).exists()
        if taken:
            raise ValidationFailed("ที่อยู่นี้เป็นของส่วนราชการอื่นแล้ว", code="mail_address_taken",
                                   field="address")
        if address != mailbox.address:
            mailbox.address = address
            changed.append("address")
    for field in PLAIN:
        if field in changes and changes[field] is not None:
            value = _clean(field, changes[field])
            if value != getattr(mailbox, field):
                setattr(mailbox, field, value)
                changed.append(field)
    key_pem = None
    for name, (field, kind) in SECRETS.items():
        if name not in changes or changes[name] is None:
            continue
        plain = str(changes[name])
        if name == "smime_key_pem":
            plain = plain.strip()
            key_pem = plain
        sealed = keys.seal(plain.encode(), purpose=mail_purpose(kind, mailbox.agency_id)) \
            if plain else ""
        setattr(mailbox, field, sealed)
        changed.append(name)
    if "smime_certificate_pem" in changed or key_pem is not None:
        _check_smime(mailbox.smime_certificate_pem,
                     key_pem if key_pem is not None else mailbox.smime_key_pem())
    if mailbox.imap_host and not mailbox.imap_user:
        mailbox.imap_user = mailbox.address
        changed.append("imap_user")
    if len({mailbox.imap_folder, mailbox.imap_done_folder, mailbox.imap_kept_folder}) < 3:
        raise ValidationFailed("โฟลเดอร์รับ โฟลเดอร์ที่ดำเนินการแล้ว และโฟลเดอร์ที่แยกไว้ต้องไม่ซ้ำกัน",
                               code="bad_mailbox_setting", field="imap_done_folder")
    return changed


@transaction.atomic
def mailbox_add(*, agency: Agency, address: str, actor: Actor | None = None,
                **settings: Any) -> Mailbox:
    """Give a hosted agency its central mailbox; ``settings`` are the names in ``SETTINGS``."""
    if not agency.is_tenant:
        raise ValidationFailed("ตั้งค่าได้เฉพาะส่วนราชการ", code="not_an_agency", field="agency")
    if Mailbox.objects.filter(agency=agency).exists():
        raise ValidationFailed("ส่วนราชการนี้มีกล่องไปรษณีย์อิเล็กทรอนิกส์กลางแล้ว",
                               code="mailbox_exists", field="agency")
    mailbox = Mailbox(agency=agency, display_name=agency.name_th[:255])
    changed = _apply(mailbox, {"address": address, **settings})
    mailbox.save()
    audit_record(agency_id=agency.pk, action="exchange_mailbox_add", actor=actor,
                 target_type="mailbox", target_id=mailbox.pk,
                 details={"address": mailbox.address, "changed": sorted(changed),
                          **_visible(mailbox)})
    return mailbox


@transaction.atomic
def mailbox_set(*, mailbox: Mailbox, actor: Actor | None = None, **settings: Any) -> Mailbox:
    """Change a mailbox's address or settings (a ``None`` value leaves a setting alone)."""
    locked = Mailbox.objects.select_for_update().get(pk=mailbox.pk)
    changed = _apply(locked, settings)
    if not changed:
        return locked
    if {"imap_host", "imap_port", "imap_user", "imap_password", "imap_folder",
        "enabled"} & set(changed):
        locked.next_poll_at = None  # poll at once with the new settings
        locked.last_error = ""
    locked.save()
    audit_record(agency_id=locked.agency_id, action="exchange_mailbox_set", actor=actor,
                 target_type="mailbox", target_id=locked.pk,
                 details={"address": locked.address, "changed": sorted(changed),
                          **_visible(locked)})
    return locked


def _visible(mailbox: Mailbox) -> dict[str, Any]:
    return {"imap": f"{mailbox.imap_user}@{mailbox.imap_host}:{mailbox.imap_port}"
            if mailbox.imap_host else "", "smtp": f"{mailbox.smtp_host}:{mailbox.smtp_port}"
            if mailbox.smtp_host else "", "accept_senders": mailbox.accept_senders,
            "acknowledge": mailbox.acknowledge, "enabled": mailbox.enabled}


def find_mailbox(code: str) -> Mailbox:
    """The mailbox named by an agency's exchange code, its id, or the mailbox address."""
    code = code.strip()
    found = Mailbox.objects.select_related("agency")
    query = Q(agency__exchange_code=code) | Q(address=code.lower())
    if code.isdigit():
        query |= Q(agency_id=int(code))
    rows = list(found.filter(query)[:2])
    if len(rows) != 1:
        raise NotFound("ไม่พบกล่องไปรษณีย์อิเล็กทรอนิกส์กลางของส่วนราชการนี้",
                       code="no_mailbox", field="agency")
    return rows[0]


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def mailbox_status() -> list[dict[str, Any]]:
    """Every mailbox with its last poll and what its mail became (outcome → count)."""
    counts: dict[int, dict[str, int]] = {}
    rows = MailSeen.objects.values_list("mailbox_id", "outcome").annotate(n=Count("pk"))
    for mailbox_id, outcome, n in rows:
        counts.setdefault(mailbox_id, {})[outcome] = n
    now = timezone.now()
    return [
        {"agency": m.agency_id, "exchange_code": m.agency.exchange_code or "",
         "address": m.address, "display_name": m.display_name, "enabled": m.enabled,
         "imap": _visible(m)["imap"], "smtp": _visible(m)["smtp"],
         "accept_senders": m.accept_senders.splitlines(), "acknowledge": m.acknowledge,
         "smime": bool(m.smime_certificate_pem),
         "last_polled_at": _iso(m.last_polled_at), "next_poll_at": _iso(m.next_poll_at),
         "leased": bool(m.lease_until and m.lease_until > now), "last_error": m.last_error,
         "seen": counts.get(m.pk, {})}
        for m in Mailbox.objects.select_related("agency").order_by("pk")
    ]
