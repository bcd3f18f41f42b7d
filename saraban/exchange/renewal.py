"""Renewing an agency's exchange certificate without a gap.

CA certificates are rented for a year at a time; when an agency's certificate is renewed the
other nodes must learn the new one before the old one lapses, or letters stop. The sender:

1. ``exchange_renew`` makes (or takes) the new key and certificate, and in one transaction
   switches the agency to it (every message from then on is signed with the new key), keeps
   the old certificate beside the new one in its own directory entry for the overlap
   (``SARABAN_EXCHANGE_CERT_OVERLAP_DAYS``, 30 by default), and writes one
   ``CertificateAnnouncement`` per other node in the directory;
2. the worker posts each announcement to ``/exchange/v1/directory/renewal`` on that node,
   retrying with backoff until it is accepted or refused for good.

An announcement names the agency, the new certificate, the fingerprint of the certificate it
replaces and the end of the overlap; it is signed by the *old* key (the receiver checks it
with the certificate it already holds for that agency, so no one else can announce a key for
it) and by the *new* key (proof that the sender holds it). The receiver (``renewal_receive``)
stores the new certificate beside the old one, and accepts signatures by either until the
overlap ends; then the old one is dropped (``directory_prune_previous``, run daily).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from saraban.agencies.actors import Actor
from saraban.agencies.models import Agency, Role, RoleGrant
from saraban.core.audit import audit_record
from saraban.core.errors import NotFound, PermissionDenied

from . import crypto, keystore
from .directory import credential_fields
from .envelope import parse_time
from .errors import ExchangeRefused
from .keystore import TokenKey
from .models import (
    AgencyCredential,
    AnnouncementState,
    CertificateAnnouncement,
    DirectoryEntry,
)
from .transport import DeliveryFailed, SarabanTransport

log = logging.getLogger(__name__)

ANNOUNCEMENT_TYPE = "certificate_renewal"
RENEWAL_PATH = "/exchange/v1/directory/renewal"
# Refusals that the same announcement would meet again: not retried.
PERMANENT_CODES = frozenset({
    "malformed_announcement", "malformed_envelope", "envelope_too_large", "unknown_sender",
    "bad_signature", "local_agency", "renewal_mismatch", "bad_certificate",
})


def overlap() -> dt.timedelta:
    """How long both certificates are accepted after a renewal."""
    return dt.timedelta(days=float(getattr(settings, "SARABAN_EXCHANGE_CERT_OVERLAP_DAYS", 30)))


def _check_admin(actor: Actor | None, agency: Agency) -> None:
    if actor is None or actor.person.is_superuser:
        return
    if RoleGrant.objects.filter(person=actor.person, role=Role.AGENCY_ADMIN,
                                unit__tenant_id=agency.pk).exists():
        return
    raise PermissionDenied("ท่านไม่มีสิทธิ์ต่ออายุใบรับรองของส่วนราชการนี้",
                           code="renew_forbidden")


def announcement_for(
    *, code: str, old_pem: str, new_pem: str, until: dt.datetime, now: dt.datetime,
) -> dict[str, Any]:
    """What is announced (and signed by both keys): the agency, its new certificate, the
    certificate it follows, and the end of the overlap."""
    return {
        "v": 1, "type": ANNOUNCEMENT_TYPE, "code": code,
        "certificate_pem": new_pem, "fingerprint": crypto.fingerprint(new_pem),
        "previous_fingerprint": crypto.fingerprint(old_pem),
        "overlap_until": until.astimezone(dt.UTC).isoformat(),
        "sent_at": now.astimezone(dt.UTC).isoformat(),
    }


def exchange_renew(
    *, agency: Agency, actor: Actor | None = None, token: TokenKey | None = None,
    certificate_pem: str | None = None, private_key_pem: str | None = None,
    now: dt.datetime | None = None,
) -> list[CertificateAnnouncement]:
    """Switch ``agency`` to a new exchange key and certificate and announce it.

    The new key is made here (self-signed certificate), or given with its CA-issued
    certificate (``private_key_pem`` sealed by ``crypto.key_to_pem``), or lives on a token.
    Returns the announcements queued for the other nodes (the worker sends them).
    """
    _check_admin(actor, agency)
    moment = now or timezone.now()
    with transaction.atomic():
        credential = AgencyCredential.objects.select_for_update().filter(agency=agency).first()
        entry = DirectoryEntry.objects.select_for_update().filter(agency=agency).first()
        if credential is None or entry is None:
            raise NotFound("ส่วนราชการนี้ยังไม่ได้ลงทะเบียนรับส่งหนังสือทางระบบ",
                           code="not_enrolled")
        old_pem = credential.certificate_pem
        fields = credential_fields(code=entry.code, name=agency.name_en or agency.name_th,
                                   token=token, certificate_pem=certificate_pem,
                                   private_key_pem=private_key_pem)
        new_pem = str(fields["certificate_pem"])
        if crypto.fingerprint(new_pem) == crypto.fingerprint(old_pem):
            raise ExchangeRefused("ใบรับรองใหม่ต้องไม่ใช่ใบเดิม", code="same_certificate")
        until = moment + overlap()
        announcement = announcement_for(code=entry.code, old_pem=old_pem, new_pem=new_pem,
                                        until=until, now=moment)
        old_signature = keystore.sign(credential, announcement)
        for name, value in fields.items():
            setattr(credential, name, value)
        proof = keystore.sign(credential, announcement)  # the new key, from the switch on
        credential.previous_certificate_pem = old_pem
        credential.renewed_at = moment
        credential.save()
        message = {"announcement": announcement, "signature": old_signature, "proof": proof}
        entry.previous_certificate_pem = old_pem
        entry.previous_until = until
        entry.certificate_pem = new_pem
        entry.renewal = message
        entry.save(update_fields=["previous_certificate_pem", "previous_until",
                                  "certificate_pem", "renewal", "updated_at"])
        nodes = sorted(set(
            DirectoryEntry.objects.filter(agency__isnull=True).exclude(node_url="")
            .values_list("node_url", flat=True)
        ))
        queued = CertificateAnnouncement.objects.bulk_create(
            CertificateAnnouncement(
                agency=agency, node_url=url, fingerprint=announcement["fingerprint"],
                message=message, next_attempt_at=moment, created_at=moment,
            )
            for url in nodes
        )
        audit_record(
            agency_id=agency.pk, action="exchange_renew", actor=actor,
            details={"code": entry.code, "kind": fields["kind"],
                     "fingerprint": announcement["fingerprint"],
                     "previous_fingerprint": announcement["previous_fingerprint"],
                     "overlap_until": announcement["overlap_until"], "nodes": nodes},
        )
    return queued


# ---- delivering announcements (the worker) ----------------------------------------------


def _retry_delay(attempts: int) -> dt.timedelta:
    base = float(getattr(settings, "SARABAN_EXCHANGE_RETRY_BASE_SECONDS", 2))
    cap = float(getattr(settings, "SARABAN_EXCHANGE_RETRY_MAX_SECONDS", 300))
    return dt.timedelta(seconds=min(cap, base * (2 ** max(0, attempts - 1))))


def _claim(pk: int, now: dt.datetime) -> bool:
    """Take one due announcement for this worker (a conditional update: one worker wins)."""
    lease = dt.timedelta(seconds=float(getattr(settings, "SARABAN_EXCHANGE_LEASE_SECONDS", 120)))
    return bool(
        CertificateAnnouncement.objects.filter(
            pk=pk, state=AnnouncementState.PENDING, next_attempt_at__lte=now,
        ).update(next_attempt_at=now + lease, attempts=F("attempts") + 1)
    )


def announcement_deliver_due(*, limit: int = 20) -> int:
    """Post the due announcements to their nodes; the number attempted."""
    now = timezone.now()
    due = list(
        CertificateAnnouncement.objects.filter(
            state=AnnouncementState.PENDING, next_attempt_at__lte=now
        ).order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit]
    )
    done = 0
    for pk in due:
        if not _claim(pk, now):
            continue
        done += 1
        row = CertificateAnnouncement.objects.get(pk=pk)
        transport = SarabanTransport(row.node_url)
        transport.url = row.node_url.rstrip("/") + RENEWAL_PATH
        try:
            transport.deliver(row.message)
        except DeliveryFailed as exc:
            limit_reached = row.attempts >= int(
                getattr(settings, "SARABAN_EXCHANGE_RETRY_LIMIT", 15))
            permanent = exc.code in PERMANENT_CODES or limit_reached
            CertificateAnnouncement.objects.filter(pk=pk).update(
                state=AnnouncementState.FAILED if permanent else AnnouncementState.PENDING,
                last_error=f"{exc.code}: {exc}"[:500],
                next_attempt_at=timezone.now() + _retry_delay(row.attempts),
            )
            log.info("announcing %s to %s failed (%s)", row.fingerprint[:12], row.node_url,
                     exc.code)
            continue
        CertificateAnnouncement.objects.filter(pk=pk).update(
            state=AnnouncementState.SENT, sent_at=timezone.now(), last_error="")
    return done


# ---- receiving an announcement ----------------------------------------------------------


def _malformed(what: str) -> ExchangeRefused:
    return ExchangeRefused(f"ประกาศเปลี่ยนใบรับรองไม่ถูกต้อง: {what}",
                           code="malformed_announcement", field=what)


def _text(obj: dict[str, Any], name: str, limit: int = 100_000) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise _malformed(name)
    return value


def renewal_receive(data: object, *, now: dt.datetime | None = None) -> tuple[int, dict[str, Any]]:
    """Check and store another node's announcement of a renewed certificate.

    Returns (HTTP status, answer); raises ``ExchangeRefused`` with a stable code, changing
    nothing, when the announcement is malformed, names an agency not in the directory or one
    hosted here, does not follow the certificate held here, or is not signed by both keys.
    """
    moment = now or timezone.now()
    if not isinstance(data, dict):
        raise _malformed("message")
    announcement = data.get("announcement")
    if not isinstance(announcement, dict):
        raise _malformed("announcement")
    signature = _text(data, "signature", 1000)
    proof = _text(data, "proof", 1000)
    if announcement.get("v") != 1 or announcement.get("type") != ANNOUNCEMENT_TYPE:
        raise _malformed("type")
    code = _text(announcement, "code", 64)
    new_pem = _text(announcement, "certificate_pem")
    previous_fp = _text(announcement, "previous_fingerprint", 64)
    until = parse_time(_text(announcement, "overlap_until", 64), "overlap_until")
    parse_time(_text(announcement, "sent_at", 64), "sent_at")
    try:
        new_fp = crypto.fingerprint(new_pem)
    except ValueError as exc:
        raise ExchangeRefused("อ่านใบรับรองใหม่ไม่ได้", code="bad_certificate") from exc
    if announcement.get("fingerprint") != new_fp:
        raise _malformed("fingerprint")
    with transaction.atomic():
        entry = DirectoryEntry.objects.select_for_update().filter(code=code).first()
        if entry is None:
            raise ExchangeRefused("ไม่รู้จักหน่วยงานผู้ส่ง", code="unknown_sender")
        if entry.is_local:
            raise ExchangeRefused("หน่วยงานนี้อยู่บนโหนดนี้ ไม่รับการเปลี่ยนใบรับรองจากโหนดอื่น",
                                  code="local_agency")
        answer = {"code": code, "fingerprint": new_fp}
        if crypto.fingerprint(entry.certificate_pem) == new_fp:
            return 200, {**answer, "status": "already"}  # a repeat: nothing to change
        if crypto.fingerprint(entry.certificate_pem) != previous_fp:
            raise ExchangeRefused("ใบรับรองเดิมที่อ้างถึงไม่ตรงกับที่โหนดนี้รู้จัก",
                                  code="renewal_mismatch")
        if not crypto.verify(entry.certificate_pem, announcement, signature):
            raise ExchangeRefused("ลายมือชื่อด้วยกุญแจเดิมไม่ถูกต้อง", code="bad_signature")
        if crypto.certificate_code(new_pem) != code:
            raise ExchangeRefused("ชื่อในใบรับรองใหม่ไม่ใช่รหัสหน่วยงาน", code="bad_certificate")
        if not crypto.verify(new_pem, announcement, proof):
            raise ExchangeRefused("ลายมือชื่อด้วยกุญแจใหม่ไม่ถูกต้อง หรือใบรับรองใหม่ยังใช้ไม่ได้",
                                  code="bad_signature")
        entry.previous_certificate_pem = entry.certificate_pem
        entry.previous_until = min(until, moment + overlap())
        entry.certificate_pem = new_pem
        entry.renewal = {"announcement": announcement, "signature": signature,
                         "proof": proof, "received_at": moment.isoformat()}
        entry.save(update_fields=["previous_certificate_pem", "previous_until",
                                  "certificate_pem", "renewal", "updated_at"])
    log.info("directory: %s renewed its certificate (%s), old one accepted until %s",
             code, new_fp[:12], entry.previous_until)
    return 201, {**answer, "status": "accepted",
                 "previous_until": entry.previous_until.isoformat()}


def directory_prune_previous(*, now: dt.datetime | None = None) -> int:
    """Drop the previous certificates whose overlap has ended; how many were dropped."""
    moment = now or timezone.now()
    return DirectoryEntry.objects.filter(
        ~Q(previous_certificate_pem=""), previous_until__lte=moment
    ).update(previous_certificate_pem="", previous_until=None)


__all__ = [
    "ANNOUNCEMENT_TYPE",
    "RENEWAL_PATH",
    "announcement_deliver_due",
    "announcement_for",
    "directory_prune_previous",
    "exchange_renew",
    "overlap",
    "renewal_receive",
]
