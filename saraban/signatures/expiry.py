"""Certificates that lapse: warning agency admins 60, 30 and 7 days before.

CA certificates are rented a year at a time, and an agency that misses the renewal cannot
sign or exchange letters until a new one is issued. Every certificate an agency depends on
is watched: people's signing identities and the agency seal (``SigningIdentity``), and the
exchange certificate (registered by the exchange area through ``register_source``, so this
module does not depend on it).

``expiry_check`` (run daily by the worker and by ``saraban signatures expiry-check``) finds,
for each certificate, the smallest threshold it has reached and *claims* that threshold by
inserting a ``CertificateWarning`` row (unique per tenant, certificate and threshold): the
worker whose insert succeeds tells the agency's admins in the bell and by e-mail, in the
same transaction; any other worker running at the same time meets the unique row and skips
it. A certificate first seen with 20 days left gets the 30-day warning only.

``expiring_for`` is the selector behind the dashboard banner: what an agency admin's
agencies hold that lapses within 60 days, or has lapsed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from saraban.agencies.models import Person, Role, RoleGrant
from saraban.core.audit import audit_record
from saraban.core.thai import bangkok, thai_date
from saraban.routing.notify import notify

from .models import CertificateSource, CertificateWarning, SigningIdentity

__all__ = [
    "NOTIFICATION_KIND",
    "THRESHOLDS",
    "Certificate",
    "Expiring",
    "certificates",
    "expiring_for",
    "expiry_check",
    "register_source",
    "threshold_for",
]

THRESHOLDS = (60, 30, 7)
# The kind of the bell notification (routing's notification kinds; see the report).
NOTIFICATION_KIND = "certificate"


@dataclass(frozen=True, slots=True)
class Certificate:
    """One certificate an agency depends on."""

    tenant_id: int
    source: str  # a CertificateSource value
    label: str
    fingerprint: str
    not_after: dt.datetime


@dataclass(frozen=True, slots=True)
class Expiring:
    """A certificate as the banner shows it: days left (negative once lapsed)."""

    certificate: Certificate
    days_left: int
    expired: bool

    @property
    def source_label(self) -> str:
        return str(CertificateSource(self.certificate.source).label)


Source = Callable[[Iterable[int] | None], Iterable[Certificate]]
_SOURCES: dict[str, Source] = {}


def register_source(name: str, source: Source) -> None:
    """Watch more certificates: ``source(tenant_ids)`` yields them (``None``: all tenants).
    Areas register theirs in ``AppConfig.ready``."""
    _SOURCES[name] = source


def _identities(tenant_ids: Iterable[int] | None) -> Iterable[Certificate]:
    rows = SigningIdentity.objects.filter(active=True)
    if tenant_ids is not None:
        rows = rows.filter(tenant_id__in=list(tenant_ids))
    for row in rows.only("tenant_id", "person_id", "label", "subject_name", "fingerprint",
                         "not_after").iterator():
        yield Certificate(
            tenant_id=row.tenant_id,
            source=CertificateSource.SEAL if row.person_id is None else CertificateSource.IDENTITY,
            label=row.label or row.subject_name, fingerprint=row.fingerprint,
            not_after=row.not_after,
        )


register_source("identities", _identities)


def certificates(tenant_ids: Iterable[int] | None = None) -> list[Certificate]:
    """Every watched certificate of these tenants (all tenants when ``None``)."""
    ids = list(tenant_ids) if tenant_ids is not None else None
    found: list[Certificate] = []
    for source in _SOURCES.values():
        found.extend(source(ids))
    return found


def threshold_for(not_after: dt.datetime, now: dt.datetime) -> int | None:
    """The smallest threshold (in days) a certificate has reached, ``None`` when it is not
    yet 60 days from expiry or has already expired."""
    left = not_after - now
    if left <= dt.timedelta(0):
        return None
    reached = [t for t in THRESHOLDS if left <= dt.timedelta(days=t)]
    return min(reached) if reached else None


def _days_left(not_after: dt.datetime, now: dt.datetime) -> int:
    """Whole calendar days (Bangkok) from today to the expiry date."""
    return (bangkok(not_after).date() - bangkok(now).date()).days


def _admins(tenant_id: int) -> list[Person]:
    return list(
        Person.objects.filter(
            is_active=True,
            pk__in=RoleGrant.objects.filter(role=Role.AGENCY_ADMIN, unit__tenant_id=tenant_id)
            .values("person_id"),
        )
    )


def warning_text(cert: Certificate, threshold: int, now: dt.datetime) -> str:
    source = str(CertificateSource(cert.source).label)
    days = _days_left(cert.not_after, now)
    return (
        f"{source} \u201c{cert.label}\u201d จะหมดอายุในอีก {days} วัน "
        f"(วันที่ {thai_date(cert.not_after)}) กรุณาต่ออายุใบรับรองก่อนหมดอายุ"
        f" [แจ้งเตือนล่วงหน้า {threshold} วัน]"
    )


def _claim_and_warn(cert: Certificate, threshold: int, now: dt.datetime) -> bool:
    """Insert the warning row and notify, in one transaction; False if already claimed."""
    try:
        with transaction.atomic():
            warning = CertificateWarning.objects.create(
                tenant_id=cert.tenant_id, source=cert.source, fingerprint=cert.fingerprint,
                threshold_days=threshold, subject=cert.label[:255], not_after=cert.not_after,
                created_at=now,
            )
            notify(people=_admins(cert.tenant_id), kind=NOTIFICATION_KIND, letter=None,
                   text=warning_text(cert, threshold, now))
            audit_record(
                agency_id=cert.tenant_id, action="certificate_expiry_warning", actor=None,
                target_type="certificate_warning", target_id=warning.pk,
                details={"source": cert.source, "fingerprint": cert.fingerprint,
                         "threshold_days": threshold, "not_after": cert.not_after.isoformat()},
            )
    except IntegrityError:  # another worker claimed this threshold first
        return False
    return True


def expiry_check(*, now: dt.datetime | None = None) -> int:
    """Warn about every certificate that reached a threshold; the number of warnings sent.

    Safe to run often and from several workers at once: each (certificate, threshold) is
    claimed by a unique row, so it is sent once.
    """
    moment = now or timezone.now()
    sent = 0
    for cert in certificates():
        threshold = threshold_for(cert.not_after, moment)
        if threshold is None:
            continue
        if CertificateWarning.objects.filter(
            tenant_id=cert.tenant_id, fingerprint=cert.fingerprint, threshold_days=threshold
        ).exists():
            continue
        sent += _claim_and_warn(cert, threshold, moment)
    return sent


def expiring_for(person: Person, *, now: dt.datetime | None = None) -> list[Expiring]:
    """For an agency admin, the certificates of the agencies they administer that expire
    within 60 days or have expired, soonest first; empty for everyone else."""
    tenant_ids = {
        tid for tid in RoleGrant.objects.filter(person=person, role=Role.AGENCY_ADMIN)
        .values_list("unit__tenant_id", flat=True) if tid is not None
    }
    if not tenant_ids:
        return []
    moment = now or timezone.now()
    horizon = moment + dt.timedelta(days=max(THRESHOLDS))
    rows = [
        Expiring(certificate=c, days_left=_days_left(c.not_after, moment),
                 expired=c.not_after <= moment)
        for c in certificates(tenant_ids) if c.not_after <= horizon
    ]
    return sorted(rows, key=lambda r: r.certificate.not_after)
