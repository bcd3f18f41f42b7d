"""e-CMS accounts, directory entries and the look-ups on the agency's own node.

- ``ecms_account_set``: an agency hosted here gets its department id, ministry id and own
  node URL; its local directory entry gets the ids (letters from that department are its);
- ``ecms_entry_add``: an agency reached through e-CMS (its department id), with the code the
  outgoing letters' recipients use (default: the department id);
- ``ecms_import_organizations``: ``GetMinistryOrganizationList`` and ``GetOrganizationList``
  from the agency's own node into the directory (never touching an agency hosted here);
- ``ecms_status``, ``ecms_time_check``, ``ecms_code_lists``, ``ecms_outbound_status``: what
  operators look at.

Every change is audited in the chains of the agencies it concerns.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from saraban.agencies.models import Agency
from saraban.core.audit import audit_record
from saraban.core.errors import ValidationFailed
from saraban.ecms import Header, Message, Operation, simple_request

from .. import crypto
from ..models import (
    AgencyCredential,
    DirectoryEntry,
    EcmsAccount,
    EcmsUnmatched,
    MessageType,
    OutboxMessage,
)
from .client import EcmsBadAnswer, EcmsNodeError, EcmsUnavailable, call


def _department(value: str, field: str = "department") -> str:
    value = value.strip()
    if len(value) != 10 or not value.isdigit():
        raise ValidationFailed("รหัสหน่วยงาน e-CMS ต้องเป็นตัวเลข 10 หลัก",
                               code="bad_ecms_department", field=field)
    return value


def _ministry(value: str, department: str) -> str:
    value = value.strip() or department[:2]
    if len(value) != 2 or not value.isdigit():
        raise ValidationFailed("รหัสกระทรวง e-CMS ต้องเป็นตัวเลข 2 หลัก",
                               code="bad_ecms_ministry", field="ministry")
    return value


def _url(value: str, *, required: bool) -> str:
    value = value.strip()
    if not value and not required:
        return ""
    if not value.startswith(("http://", "https://")) or len(value) > 255 or " " in value:
        raise ValidationFailed("ที่อยู่โหนด e-CMS ต้องขึ้นต้นด้วย http:// หรือ https://",
                               code="bad_ecms_url", field="node_url")
    return value


def _audit_node(action: str, details: dict[str, Any]) -> None:
    """A directory change concerns every agency here that talks e-CMS (or, before any does,
    every agency hosted here): recorded in each one's chain."""
    ids = list(EcmsAccount.objects.values_list("agency_id", flat=True)) or list(
        DirectoryEntry.objects.filter(agency__isnull=False).values_list("agency_id", flat=True))
    for agency_id in sorted(set(ids)):
        audit_record(agency_id=agency_id, action=action, actor=None, details=details)


@transaction.atomic
def ecms_account_set(*, agency: Agency, department: str, node_url: str,
                     ministry: str = "") -> EcmsAccount:
    """Connect a hosted agency to its own e-CMS node (create or change its account)."""
    department = _department(department)
    ministry = _ministry(ministry, department)
    node_url = _url(node_url, required=True)
    if not agency.is_tenant:
        raise ValidationFailed("ตั้งค่าได้เฉพาะส่วนราชการ", code="not_an_agency")
    own = DirectoryEntry.objects.filter(agency=agency).first()
    if own is None or not AgencyCredential.objects.filter(agency=agency).exists():
        raise ValidationFailed(
            "ส่วนราชการนี้ต้องลงทะเบียนรับส่งหนังสือก่อน (saraban exchange enrol)",
            code="sender_not_in_directory")
    taken = EcmsAccount.objects.filter(department_id=department).exclude(agency=agency)
    other = DirectoryEntry.objects.filter(ecms_department_id=department).exclude(pk=own.pk)
    if taken.exists() or other.exists():
        raise ValidationFailed("รหัสหน่วยงาน e-CMS นี้ถูกใช้แล้วในทะเบียนหน่วยงาน",
                               code="ecms_department_taken", field="department")
    account, created = EcmsAccount.objects.update_or_create(
        agency=agency,
        defaults={"department_id": department, "ministry_id": ministry, "node_url": node_url},
    )
    own.ecms_department_id = department
    own.ecms_ministry_id = ministry
    if "ecms" not in own.channels:
        own.channels = [*own.channels, "ecms"]
    own.save(update_fields=["ecms_department_id", "ecms_ministry_id", "channels", "updated_at"])
    audit_record(agency_id=agency.pk, action="exchange_ecms_account", actor=None,
                 details={"department": department, "ministry": ministry,
                          "node_url": node_url, "created": created})
    return account


@transaction.atomic
def ecms_entry_add(*, department: str, name: str, ministry: str = "", node_url: str = "",
                   certificate_pem: str = "", code: str = "") -> tuple[DirectoryEntry, bool]:
    """List (or update) an agency reached through e-CMS; (entry, created)."""
    department = _department(department)
    ministry = _ministry(ministry, department)
    node_url = _url(node_url, required=False)
    name = name.strip()
    if not name:
        raise ValidationFailed("กรุณาระบุชื่อหน่วยงาน", code="name_required", field="name")
    code = (code.strip() or department)
    if len(code) > 64:
        raise ValidationFailed("รหัสหน่วยงานไม่ถูกต้อง", code="bad_exchange_code", field="code")
    if certificate_pem.strip():
        try:
            crypto.load_certificate(certificate_pem)
        except ValueError as exc:
            raise ValidationFailed("อ่านใบรับรองไม่ได้", code="bad_certificate",
                                   field="certificate") from exc
    by_department = DirectoryEntry.objects.filter(ecms_department_id=department).first()
    by_code = DirectoryEntry.objects.filter(code=code).first()
    for found in (by_department, by_code):
        if found is not None and found.is_local:
            raise ValidationFailed("หน่วยงานนี้อยู่บนโหนดนี้ แก้ไขด้วย ecms account",
                                   code="local_agency", field="department")
    if by_department is not None and by_code is not None and by_department.pk != by_code.pk:
        raise ValidationFailed("รหัสหรือรหัสหน่วยงาน e-CMS นี้เป็นของรายการอื่นแล้ว",
                               code="ecms_department_taken", field="code")
    entry = by_department or by_code
    created = entry is None
    if entry is None:
        entry = DirectoryEntry(code=code, channels=["ecms"])
    entry.name_th = name[:255]
    entry.ecms_department_id = department
    entry.ecms_ministry_id = ministry
    if node_url:
        entry.ecms_node_url = node_url
    if certificate_pem.strip():
        entry.certificate_pem = certificate_pem.strip() + "\n"
    if "ecms" not in entry.channels:
        entry.channels = [*entry.channels, "ecms"]
    entry.save()
    _audit_node("exchange_ecms_directory_add",
                {"code": entry.code, "department": department, "name": entry.name_th,
                 "created": created})
    return entry, created


def _account(agency_id: int) -> EcmsAccount:
    account = EcmsAccount.objects.filter(agency_id=agency_id).first()
    if account is None:
        raise ValidationFailed("ส่วนราชการนี้ยังไม่ได้ตั้งค่าการเชื่อมต่อ e-CMS",
                               code="sender_not_in_ecms", field="agency")
    return account


def ask(account: EcmsAccount, operation: Operation) -> Message:
    """One look-up on the agency's own node; node trouble becomes a clear error."""
    request = simple_request(operation, header=Header(message_id=uuid.uuid4().hex,
                                                      to=account.node_url))
    try:
        return call(account.node_url, request)
    except EcmsNodeError as exc:
        raise ValidationFailed(f"โหนด e-CMS ตอบข้อผิดพลาด: {exc}", code="ecms_node_error",
                               details={"codes": [e.code for e in exc.errors]}) from exc
    except (EcmsUnavailable, EcmsBadAnswer) as exc:
        raise ValidationFailed(f"ติดต่อโหนด e-CMS ไม่ได้: {exc}",
                               code="ecms_unreachable") from exc


def ecms_import_organizations(*, agency_id: int) -> dict[str, int]:
    """The node's ministry and organisation lists into the directory (created, updated,
    skipped); an agency hosted here is never overwritten."""
    account = _account(agency_id)
    ministries = ask(account, Operation.MINISTRIES).ministries
    organizations = ask(account, Operation.ORGANIZATIONS).organizations
    created = updated = skipped = 0
    with transaction.atomic():
        for org in organizations:
            department = org.organization_id.strip()
            if len(department) != 10 or not department.isdigit():
                skipped += 1
                continue
            entry = DirectoryEntry.objects.filter(ecms_department_id=department).first()
            if entry is not None and entry.is_local:
                skipped += 1
                continue
            if entry is None:
                code = department
                if DirectoryEntry.objects.filter(code=code).exists():
                    code = f"ecms-{department}"
                if DirectoryEntry.objects.filter(code=code).exists():
                    skipped += 1
                    continue
                entry = DirectoryEntry(code=code, channels=["ecms"],
                                       ecms_department_id=department)
                created += 1
            else:
                updated += 1
            entry.name_th = (org.th_name.strip() or org.en_name.strip() or department)[:255]
            entry.ecms_ministry_id = department[:2]
            entry.ecms_node_url = org.ecms_url.strip()[:255]
            if "ecms" not in entry.channels:
                entry.channels = [*entry.channels, "ecms"]
            entry.save()
        audit_record(agency_id=account.agency_id, action="exchange_ecms_import_organizations",
                     actor=None,
                     details={"ministries": len(ministries), "organizations": len(organizations),
                              "created": created, "updated": updated, "skipped": skipped})
    return {"ministries": len(ministries), "organizations": len(organizations),
            "created": created, "updated": updated, "skipped": skipped}


def ecms_status() -> dict[str, Any]:
    """Accounts with their last poll, and the e-CMS outbox by type and state."""
    accounts = [
        {"agency": a.agency_id, "department": a.department_id, "ministry": a.ministry_id,
         "node_url": a.node_url,
         "last_polled_at": a.last_polled_at.isoformat() if a.last_polled_at else None,
         "next_poll_at": a.next_poll_at.isoformat() if a.next_poll_at else None,
         "leased": bool(a.lease_until and a.lease_until > timezone.now()),
         "last_error": a.last_error}
        for a in EcmsAccount.objects.order_by("pk")
    ]
    outbox: dict[str, dict[str, int]] = {}
    rows = (OutboxMessage.objects.filter(payload__has_key="ecms")
            .values_list("type", "state").annotate(n=Count("pk")))
    for kind, state, n in rows:
        outbox.setdefault(kind, {})[state] = n
    queued_commands = OutboxMessage.objects.filter(type=MessageType.COMMAND).count()
    return {"accounts": accounts, "outbox": outbox, "commands": queued_commands,
            "unmatched": EcmsUnmatched.objects.count()}


def ecms_time_check(*, agency_id: int) -> dict[str, Any]:
    """The node's clock (``TimeCheckRequest``) against ours: the skew in seconds."""
    account = _account(agency_id)
    before = timezone.now()
    answer = ask(account, Operation.TIME_CHECK)
    after = timezone.now()
    ours = before + (after - before) / 2
    theirs = parse_datetime(answer.ecms_time.strip()) if answer.ecms_time.strip() else None
    skew = None
    if theirs is not None:
        if timezone.is_naive(theirs):
            theirs = timezone.make_aware(theirs)
        skew = round((theirs - ours) / dt.timedelta(seconds=1), 3)
    return {"ecms_time": answer.ecms_time, "local_time": ours.isoformat(),
            "skew_seconds": skew, "round_trip_seconds":
            round((after - before) / dt.timedelta(seconds=1), 3)}


def ecms_code_lists(*, agency_id: int) -> dict[str, Any]:
    """The node's secret, speed and MIME code lists."""
    account = _account(agency_id)
    secret = ask(account, Operation.SECRET_CODES).codes
    speed = ask(account, Operation.SPEED_CODES).codes
    mime = ask(account, Operation.MIME_CODES).mime_codes
    return {
        "secret": [{"value": c.value, "description": c.description} for c in secret],
        "speed": [{"value": c.value, "description": c.description} for c in speed],
        "mime": [{"extension": c.value, "content_type": c.description} for c in mime],
    }


def ecms_outbound_status(*, agency_id: int) -> list[dict[str, str]]:
    """What the node says about the letters this agency sent (``OutboundStatusRequest``)."""
    account = _account(agency_id)
    return [{"process_id": o.process_id, "letter_id": o.letter_id, "status": o.status}
            for o in ask(account, Operation.OUTBOUND_STATUS).outbound]
