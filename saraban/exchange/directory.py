"""The directory of agencies reachable electronically, and this node's own credentials."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from saraban.agencies.actors import Actor
from saraban.agencies.models import Agency
from saraban.core.audit import audit_record
from saraban.core.errors import ValidationFailed
from saraban.signatures.expiry import Certificate
from saraban.signatures.models import CertificateSource

from . import crypto
from .keystore import TokenKey, seal_pin, token_certificate
from .models import AgencyCredential, CredentialKind, DirectoryEntry


def accepted_certificates(entry: DirectoryEntry, *, now: dt.datetime | None = None) -> list[str]:
    """The certificates whose signatures are accepted for an agency: its current one, and
    after a renewal the previous one until the overlap ends (then it is dropped)."""
    pems = [entry.certificate_pem] if entry.certificate_pem else []
    moment = now or timezone.now()
    if entry.previous_certificate_pem and entry.previous_until and entry.previous_until > moment:
        pems.append(entry.previous_certificate_pem)
    return pems


def verify_from(entry: DirectoryEntry, obj: Any, signature: str) -> bool:
    """Whether ``signature`` over ``obj`` was made by the agency of ``entry`` (with any of
    its accepted certificates, each within its validity period)."""
    return any(crypto.verify(pem, obj, signature) for pem in accepted_certificates(entry))


def exchange_certificates(tenant_ids: Iterable[int] | None) -> list[Certificate]:
    """The exchange certificates of the agencies hosted here, for the expiry warnings."""
    rows = AgencyCredential.objects.select_related("agency")
    if tenant_ids is not None:
        rows = rows.filter(agency_id__in=list(tenant_ids))
    found = []
    for row in rows:
        try:
            cert = crypto.load_certificate(row.certificate_pem)
        except ValueError:
            continue
        found.append(Certificate(
            tenant_id=row.agency_id, source=CertificateSource.EXCHANGE,
            label=f"{row.agency.exchange_code} ({row.agency.name_th})",
            fingerprint=crypto.fingerprint(row.certificate_pem),
            not_after=cert.not_valid_after_utc,
        ))
    return found


def credential_fields(
    *, code: str, name: str, token: TokenKey | None = None, certificate_pem: str | None = None,
    private_key_pem: str | None = None,
) -> dict[str, Any]:
    """The stored fields of a new credential: a key made here (sealed, with a self-signed
    certificate), a CA-issued key and certificate given sealed, or a key on a token."""
    if token is not None:
        if private_key_pem is not None:
            raise ValidationFailed("กุญแจบนอุปกรณ์ไม่ต้องระบุไฟล์กุญแจ", code="key_and_token")
        pem = token_certificate(token, certificate_pem)
        if crypto.certificate_code(pem) != code:
            raise ValidationFailed("ชื่อในใบรับรอง (CN) ต้องเป็นรหัสหน่วยงาน",
                                   code="certificate_code_mismatch", field="certificate")
        return {
            "kind": CredentialKind.PKCS11, "private_key_pem": "", "certificate_pem": pem,
            "pkcs11_module": token.module, "pkcs11_token_label": token.token_label,
            "pkcs11_key_label": token.key_label, "pkcs11_pin_sealed": seal_pin(token.pin),
        }
    if (certificate_pem is None) != (private_key_pem is None):
        raise ValidationFailed("ต้องระบุทั้งกุญแจและใบรับรอง", code="key_and_certificate")
    if certificate_pem is None or private_key_pem is None:
        key = crypto.new_key()
        cert = crypto.certificate_for(key, code=code, name=name)
        certificate_pem = crypto.certificate_pem(cert)
        private_key_pem = crypto.key_to_pem(key)
    return {
        "kind": CredentialKind.SEALED, "private_key_pem": private_key_pem,
        "certificate_pem": certificate_pem, "pkcs11_module": "", "pkcs11_token_label": "",
        "pkcs11_key_label": "", "pkcs11_pin_sealed": "",
    }


@transaction.atomic
def agency_enrol(
    *, agency: Agency, code: str, certificate_pem: str | None = None,
    private_key_pem: str | None = None, token: TokenKey | None = None,
) -> DirectoryEntry:
    """Give a hosted agency its exchange code, key and certificate, and list it locally.

    Without a key and certificate a new key pair and a self-signed certificate are made;
    an agency with a CA-issued certificate passes both (the key PEM encrypted by
    ``crypto.key_to_pem``); with ``token`` the key stays on a PKCS#11 token (its certificate
    read from the token unless given) and the PIN is stored sealed. An agency already
    enrolled changes its key with ``renewal.exchange_renew`` instead, which tells the
    other nodes.
    """
    if not agency.is_tenant:
        raise ValidationFailed("ลงทะเบียนได้เฉพาะส่วนราชการ", code="not_an_agency")
    code = code.strip()
    if not code or len(code) > 64:
        raise ValidationFailed("รหัสหน่วยงานไม่ถูกต้อง", code="bad_exchange_code", field="code")
    taken = DirectoryEntry.objects.filter(code=code).exclude(agency=agency).exists()
    if taken or Agency.objects.filter(exchange_code=code).exclude(pk=agency.pk).exists():
        raise ValidationFailed("รหัสนี้ถูกใช้แล้ว", code="exchange_code_taken", field="code")
    fields = credential_fields(code=code, name=agency.name_en or agency.name_th, token=token,
                               certificate_pem=certificate_pem, private_key_pem=private_key_pem)
    agency.exchange_code = code
    agency.save(update_fields=["exchange_code"])
    AgencyCredential.objects.update_or_create(agency=agency, defaults=fields)
    entry, _ = DirectoryEntry.objects.update_or_create(
        code=code,
        defaults={"name_th": agency.name_th, "node_url": "", "agency": agency,
                  "certificate_pem": fields["certificate_pem"], "channels": ["saraban"],
                  "previous_certificate_pem": "", "previous_until": None, "renewal": None},
    )
    audit_record(agency_id=agency.pk, action="exchange_enrol", actor=None,
                 details={"code": code, "kind": fields["kind"],
                          "fingerprint": crypto.fingerprint(fields["certificate_pem"])})
    return entry


@transaction.atomic
def directory_set_reports_to(*, agency: Agency, code: str, actor: Actor | None = None
                             ) -> DirectoryEntry:
    """Name the overseer (its exchange code) a hosted agency sends its monthly indicator
    report to by default (``saraban reports send-monthly``); an empty code clears it."""
    entry = DirectoryEntry.objects.select_for_update().filter(agency=agency).first()
    if entry is None:
        raise ValidationFailed("ส่วนราชการนี้ยังไม่ได้ลงทะเบียนรับส่งหนังสือทางระบบ",
                               code="sender_not_in_directory", field="agency")
    code = code.strip()
    if code == entry.code:
        raise ValidationFailed("ส่งรายงานถึงส่วนราชการของตนเองไม่ได้",
                               code="recipient_is_sender", field="code")
    if code and not DirectoryEntry.objects.filter(code=code).exists():
        raise ValidationFailed(f"ไม่พบหน่วยงานผู้รับในทะเบียนหน่วยงาน: {code}",
                               code="unknown_exchange_recipient", field="code")
    previous = entry.reports_to
    entry.reports_to = code
    entry.save(update_fields=["reports_to", "updated_at"])
    audit_record(agency_id=agency.pk, action="exchange_reports_to", actor=actor,
                 details={"code": code, "previous": previous})
    return entry


def export_entries(*, local_only: bool = False, node_url: str = "") -> list[dict[str, Any]]:
    """Directory entries as JSON-ready dicts; local ones carry ``node_url`` when given."""
    # An e-CMS-only entry (no certificate) is not reachable by the Saraban protocol: another
    # node lists it from its own e-CMS node (``saraban exchange ecms import-organizations``).
    rows = DirectoryEntry.objects.exclude(certificate_pem="")
    if local_only:
        rows = rows.filter(agency__isnull=False)
    return [
        {
            "code": e.code,
            "name_th": e.name_th,
            "node_url": e.node_url or (node_url if e.is_local else ""),
            "certificate_pem": e.certificate_pem,
            "channels": e.channels,
        }
        for e in rows
    ]


@transaction.atomic
def directory_import(entries: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """Load other nodes' entries (created, updated); never overwrites an agency hosted here."""
    created = updated = 0
    for raw in entries:
        code = str(raw.get("code", "")).strip()
        url = str(raw.get("node_url", "")).strip()
        pem = str(raw.get("certificate_pem", ""))
        if not code or not url.startswith(("http://", "https://")):
            raise ValidationFailed(f"รายการไม่ถูกต้อง: {code or '?'}", code="bad_directory_entry")
        try:
            crypto.load_certificate(pem)
        except ValueError as exc:
            raise ValidationFailed(f"ใบรับรองของ {code} อ่านไม่ได้",
                                   code="bad_certificate") from exc
        existing = DirectoryEntry.objects.filter(code=code).first()
        if existing is not None and existing.is_local:
            continue
        _, was_created = DirectoryEntry.objects.update_or_create(
            code=code,
            defaults={"name_th": str(raw.get("name_th", code))[:255], "node_url": url,
                      "certificate_pem": pem, "channels": list(raw.get("channels", []))},
        )
        created += was_created
        updated += not was_created
    return created, updated
