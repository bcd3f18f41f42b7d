"""The directory of agencies reachable electronically, and this node's own credentials."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from saraban.agencies.models import Agency
from saraban.core.audit import audit_record
from saraban.core.errors import ValidationFailed

from . import crypto
from .models import AgencyCredential, DirectoryEntry


@transaction.atomic
def agency_enrol(
    *, agency: Agency, code: str, certificate_pem: str | None = None,
    private_key_pem: str | None = None,
) -> DirectoryEntry:
    """Give a hosted agency its exchange code, key and certificate, and list it locally.

    Without a key and certificate a new key pair and a self-signed certificate are made;
    an agency with a CA-issued certificate passes both (the key PEM encrypted by
    ``crypto.key_to_pem``).
    """
    if not agency.is_tenant:
        raise ValidationFailed("ลงทะเบียนได้เฉพาะส่วนราชการ", code="not_an_agency")
    code = code.strip()
    if not code or len(code) > 64:
        raise ValidationFailed("รหัสหน่วยงานไม่ถูกต้อง", code="bad_exchange_code", field="code")
    taken = DirectoryEntry.objects.filter(code=code).exclude(agency=agency).exists()
    if taken or Agency.objects.filter(exchange_code=code).exclude(pk=agency.pk).exists():
        raise ValidationFailed("รหัสนี้ถูกใช้แล้ว", code="exchange_code_taken", field="code")
    if (certificate_pem is None) != (private_key_pem is None):
        raise ValidationFailed("ต้องระบุทั้งกุญแจและใบรับรอง", code="key_and_certificate")
    if certificate_pem is None or private_key_pem is None:
        key = crypto.new_key()
        cert = crypto.certificate_for(key, code=code, name=agency.name_en or agency.name_th)
        certificate_pem = crypto.certificate_pem(cert)
        private_key_pem = crypto.key_to_pem(key)
    agency.exchange_code = code
    agency.save(update_fields=["exchange_code"])
    AgencyCredential.objects.update_or_create(
        agency=agency,
        defaults={"private_key_pem": private_key_pem, "certificate_pem": certificate_pem},
    )
    entry, _ = DirectoryEntry.objects.update_or_create(
        code=code,
        defaults={"name_th": agency.name_th, "node_url": "", "agency": agency,
                  "certificate_pem": certificate_pem, "channels": ["saraban"]},
    )
    audit_record(agency_id=agency.pk, action="exchange_enrol", actor=None,
                 details={"code": code})
    return entry


def export_entries(*, local_only: bool = False, node_url: str = "") -> list[dict[str, Any]]:
    """Directory entries as JSON-ready dicts; local ones carry ``node_url`` when given."""
    rows = DirectoryEntry.objects.all()
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
