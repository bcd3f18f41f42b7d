"""Actions and selectors of the signatures area.

Actions validate first (nothing is stored for bad input), then write in one transaction with
their audit event: ``identity_add_pkcs12``, ``identity_add_pkcs11``, ``trust_root_add``,
``check_file``. Selectors: ``identity_for``, ``seal_for``, ``letter_checks``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.db import transaction
from django.utils import timezone

from saraban.agencies.models import Agency, Person, Role, RoleGrant
from saraban.core.audit import audit_record
from saraban.core.errors import Conflict, PermissionDenied, ValidationFailed

from ._secrets import seal_bytes
from ._signers import load_p12, open_token
from ._trust import certificates_in, fingerprint
from .models import RED_STATUSES, IdentityKind, SignatureCheck, SigningIdentity, TrustRoot
from .pades import Verdict, verify_pdf

if TYPE_CHECKING:
    from saraban.agencies.actors import Actor
    from saraban.letters.models import Blob, Letter

__all__ = [
    "check_file",
    "check_letter_files",
    "identity_add_pkcs11",
    "identity_add_pkcs12",
    "identity_for",
    "letter_checks",
    "letter_checks_missing",
    "seal_for",
    "trust_root_add",
]

MAX_P12_BYTES = 256 * 1024
MAX_SECRET = 256


# --- selectors ---------------------------------------------------------------------------


def identity_for(person: Person) -> SigningIdentity | None:
    """The person's active signing identity, if they have one."""
    return (
        SigningIdentity.objects.filter(person=person, active=True)
        .select_related("tenant", "person")
        .order_by("-created_at")
        .first()
    )


def seal_for(tenant: Agency) -> SigningIdentity | None:
    """The agency seal (ตราส่วนราชการ) of ``tenant``, if one is set up."""
    return (
        SigningIdentity.objects.filter(tenant=tenant, person__isnull=True, active=True)
        .select_related("tenant")
        .order_by("-created_at")
        .first()
    )


# --- identities --------------------------------------------------------------------------


def _check_manager(actor: Actor | None, tenant: Agency, person: Person | None) -> None:
    """The system (no actor), a superuser, the tenant's agency admin, or the person for
    their own identity may add one."""
    if not tenant.is_tenant:
        raise ValidationFailed("ต้องเป็นส่วนราชการที่ดูแลตนเอง", code="not_a_tenant",
                               field="tenant")
    if person is not None and person.agency_id != tenant.pk:
        raise ValidationFailed("ผู้ลงนามต้องเป็นบุคลากรของส่วนราชการนี้",
                               code="person_outside_agency", field="person")
    if actor is None or actor.person.is_superuser:
        return
    if person is not None and actor.person.pk == person.pk:
        return
    if RoleGrant.objects.filter(
        person=actor.person, role=Role.AGENCY_ADMIN, unit__tenant_id=tenant.pk
    ).exists():
        return
    raise PermissionDenied("ท่านไม่มีสิทธิ์จัดการใบรับรองของส่วนราชการนี้",
                           code="identity_forbidden")


def _check_secret(secret: str, *, field: str) -> None:
    if not secret:
        raise ValidationFailed("กรุณากรอกรหัสผ่าน (หรือ PIN) ของใบรับรอง",
                               code="signing_secret_required", field=field)
    if len(secret) > MAX_SECRET:
        raise ValidationFailed("รหัสผ่านยาวเกินไป", code="secret_too_long", field=field)


def _certificate_fields(cert: x509.Certificate, chain: Iterable[x509.Certificate]) -> dict[
    str, object
]:
    now = timezone.now()
    if cert.not_valid_after_utc <= now:
        raise ValidationFailed("ใบรับรองนี้หมดอายุแล้ว", code="certificate_expired",
                               field="file")
    der = cert.public_bytes(serialization.Encoding.DER)
    parsed = asn1_x509.Certificate.load(der)
    subject_cn = parsed.subject.native.get("common_name", "")
    issuer_cn = parsed.issuer.native.get("common_name", "")
    return {
        "certificate_pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "chain_pem": "".join(
            c.public_bytes(serialization.Encoding.PEM).decode() for c in chain
        ),
        "subject_name": str(subject_cn or parsed.subject.human_friendly)[:255],
        "issuer_name": str(issuer_cn or parsed.issuer.human_friendly)[:255],
        "serial": format(cert.serial_number, "X")[:80],
        "fingerprint": hashlib.sha256(der).hexdigest(),
        "not_before": cert.not_valid_before_utc,
        "not_after": cert.not_valid_after_utc,
    }


def _save_identity(
    *, actor: Actor | None, tenant: Agency, person: Person | None, kind: str, label: str,
    fields: dict[str, object], store_secret: bool, secret: str,
) -> SigningIdentity:
    with transaction.atomic():
        # One active identity per person (and one seal per agency): the new one replaces it.
        previous = SigningIdentity.objects.select_for_update().filter(
            tenant=tenant, person=person, active=True
        ) if person is None else SigningIdentity.objects.select_for_update().filter(
            person=person, active=True
        )
        replaced = list(previous.values_list("pk", flat=True))
        previous.update(active=False)
        identity = SigningIdentity.objects.create(
            tenant=tenant,
            person=person,
            kind=kind,
            label=label.strip()[:255],
            active=True,
            created_at=timezone.now(),
            created_by=actor.person if actor is not None else None,
            store_secret=store_secret,
            secret_encrypted=seal_bytes(secret.encode()) if store_secret else None,
            **fields,
        )
        audit_record(
            agency_id=tenant.pk,
            action="signing_identity_add",
            actor=actor,
            target_type="signing_identity",
            target_id=identity.pk,
            details={
                "kind": kind,
                "person": person.pk if person is not None else None,
                "seal": person is None,
                "subject": identity.subject_name,
                "issuer": identity.issuer_name,
                "serial": identity.serial,
                "fingerprint": identity.fingerprint,
                "store_secret": store_secret,
                "replaced": replaced,
            },
        )
    return identity


def identity_add_pkcs12(
    *,
    actor: Actor | None,
    tenant: Agency,
    person: Person | None,
    p12: bytes,
    passphrase: str,
    store_secret: bool = False,
    label: str = "",
) -> SigningIdentity:
    """Add a signing identity from a PKCS#12 file; the file is kept encrypted.

    ``person`` None makes it the agency seal. The passphrase is checked now (a wrong one
    raises ``signing_secret_wrong`` and nothing is stored) and kept only with ``store_secret``.
    """
    _check_manager(actor, tenant, person)
    _check_secret(passphrase, field="passphrase")
    if not p12:
        raise ValidationFailed("กรุณาเลือกไฟล์ใบรับรอง (.p12/.pfx)", code="file_required",
                               field="file")
    if len(p12) > MAX_P12_BYTES:
        raise ValidationFailed("ไฟล์ใบรับรองใหญ่เกินไป", code="file_too_large", field="file")
    loaded = load_p12(p12, passphrase)
    assert loaded.cert is not None
    cert = loaded.cert.certificate
    chain = [c.certificate for c in loaded.additional_certs if c.certificate != cert]
    fields = _certificate_fields(cert, chain)
    fields["p12_encrypted"] = seal_bytes(p12)
    return _save_identity(
        actor=actor, tenant=tenant, person=person, kind=IdentityKind.PKCS12, label=label,
        fields=fields, store_secret=store_secret, secret=passphrase,
    )


def identity_add_pkcs11(
    *,
    actor: Actor | None,
    tenant: Agency,
    person: Person | None,
    module: str,
    token_label: str,
    key_label: str,
    pin: str,
    store_secret: bool = False,
    label: str = "",
    cert_label: str = "",
) -> SigningIdentity:
    """Add a signing identity whose key stays on a PKCS#11 token or HSM.

    The token is opened with ``pin`` now: the certificate is read from it (labelled
    ``cert_label``, by default the key's label) and the private key must be there.
    """
    import pkcs11
    from pkcs11 import exceptions as p11_errors

    _check_manager(actor, tenant, person)
    _check_secret(pin, field="pin")
    if not module.strip() or not token_label.strip() or not key_label.strip():
        raise ValidationFailed("กรุณาระบุโมดูล ชื่ออุปกรณ์ และชื่อกุญแจ", code="token_required",
                               field="module")
    session = open_token(module, token_label, pin)
    try:
        try:
            session.get_key(object_class=pkcs11.ObjectClass.PRIVATE_KEY, label=key_label)
            cert_obj = next(iter(session.get_objects({
                pkcs11.Attribute.CLASS: pkcs11.ObjectClass.CERTIFICATE,
                pkcs11.Attribute.LABEL: cert_label or key_label,
            })), None)
        except (p11_errors.NoSuchKey, p11_errors.MultipleObjectsReturned) as exc:
            raise ValidationFailed("ไม่พบกุญแจส่วนตัวชื่อนี้ในอุปกรณ์", code="key_missing",
                                   field="key_label") from exc
        if cert_obj is None:
            raise ValidationFailed("ไม่พบใบรับรองในอุปกรณ์", code="certificate_missing",
                                   field="key_label")
        der = bytes(cert_obj[pkcs11.Attribute.VALUE])
        # The CA certificates on the token (other people's certificates are left out).
        chain = [
            c for c in (
                x509.load_der_x509_certificate(bytes(obj[pkcs11.Attribute.VALUE]))
                for obj in session.get_objects({
                    pkcs11.Attribute.CLASS: pkcs11.ObjectClass.CERTIFICATE,
                })
            )
            if _is_ca(c)
        ]
    finally:
        session.close()
    cert = x509.load_der_x509_certificate(der)
    fields = _certificate_fields(cert, chain)
    fields.update(
        pkcs11_module=module.strip(),
        pkcs11_token_label=token_label,
        pkcs11_key_label=key_label,
        pkcs11_cert_label=cert_label or key_label,
    )
    return _save_identity(
        actor=actor, tenant=tenant, person=person, kind=IdentityKind.PKCS11, label=label,
        fields=fields, store_secret=store_secret, secret=pin,
    )


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


# --- trust roots -------------------------------------------------------------------------


def check_root(pem: bytes, *, tenant: Agency | None) -> asn1_x509.Certificate:
    """The one CA certificate in ``pem``, not yet trusted for ``tenant``; else the error."""
    try:
        certs = certificates_in(pem)
    except ValueError as exc:
        raise ValidationFailed("อ่านใบรับรองไม่ได้ (ต้องเป็นไฟล์ PEM หรือ DER)",
                               code="certificate_unreadable", field="file") from exc
    if len(certs) != 1:
        raise ValidationFailed("กรุณาเพิ่มใบรับรองทีละหนึ่งใบ", code="one_certificate",
                               field="file")
    cert = certs[0]
    if not cert.ca:
        raise ValidationFailed("ใบรับรองนี้ไม่ใช่ใบรับรองของผู้ออกใบรับรอง (CA)",
                               code="not_a_ca", field="file")
    if TrustRoot.objects.filter(tenant=tenant, fingerprint=fingerprint(cert)).exists():
        raise Conflict("มีใบรับรองนี้อยู่แล้ว", code="trust_root_exists", field="file")
    return cert


def trust_root_add(
    *, actor: Actor | None, tenant: Agency | None, pem: bytes, label: str = ""
) -> TrustRoot:
    """Trust a root CA certificate for ``tenant`` (``None``: for every agency on the node).

    Only a CA certificate is accepted; adding the same one twice is refused.
    """
    if tenant is not None:
        _check_manager(actor, tenant, None)
    elif actor is not None and not actor.person.is_superuser:
        raise PermissionDenied("เฉพาะผู้ดูแลระบบกลางเพิ่มใบรับรองหลักของทั้งระบบได้",
                               code="identity_forbidden")
    cert = check_root(pem, tenant=tenant)
    fp = fingerprint(cert)
    name = str(cert.subject.native.get("common_name", "") or cert.subject.human_friendly)
    body = base64.b64encode(cert.dump()).decode()
    pem_text = (
        "-----BEGIN CERTIFICATE-----\n"
        + "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        + "\n-----END CERTIFICATE-----\n"
    )
    audit_tenant = tenant.pk if tenant is not None else None
    with transaction.atomic():
        root = TrustRoot.objects.create(
            tenant=tenant, label=(label.strip() or name)[:255], certificate_pem=pem_text,
            fingerprint=fp, added_at=timezone.now(),
            added_by=actor.person if actor is not None else None,
        )
        if audit_tenant is not None:
            audit_record(
                agency_id=audit_tenant, action="trust_root_add", actor=actor,
                target_type="trust_root", target_id=root.pk,
                details={"subject": name, "fingerprint": fp},
            )
    return root


# --- checking files ----------------------------------------------------------------------


def check_file(
    blob: Blob, *, tenant: Agency, actor: Actor | None = None, letter: Letter | None = None
) -> SignatureCheck:
    """Verify a stored file's signatures for ``tenant`` and keep the verdict.

    A red verdict (invalid, modified, untrusted) is recorded in the audit log as
    ``signature_flagged``: when it first appears for the file, and for each letter it
    arrives with.
    """
    from saraban.letters.files import PDF, read_blob

    if blob.content_type != PDF:
        verdict = Verdict(status="not_pdf", label_th="ไม่ใช่ไฟล์ PDF จึงไม่มีลายมือชื่ออิเล็กทรอนิกส์")
    else:
        verdict = verify_pdf(read_blob(blob), tenant=tenant)
    with transaction.atomic():
        previous = (
            SignatureCheck.objects.select_for_update().filter(blob=blob, tenant=tenant).first()
        )
        changed = previous is None or previous.status != verdict.status
        check, _ = SignatureCheck.objects.update_or_create(
            blob=blob,
            tenant=tenant,
            defaults={
                "checked_at": timezone.now(),
                "status": verdict.status,
                "label_th": verdict.label_th[:500],
                "signatures": [s.as_dict() for s in verdict.signatures],
            },
        )
        if verdict.status in RED_STATUSES and (changed or letter is not None):
            audit_record(
                agency_id=tenant.pk,
                action="signature_flagged",
                actor=actor,
                target_type="letter" if letter is not None else "file",
                target_id=letter.pk if letter is not None else None,
                details={
                    "sha256": blob.sha256,
                    "status": verdict.status,
                    "label": verdict.label_th,
                    "signers": [s.signer_name for s in verdict.signatures],
                },
            )
    return check


def check_letter_files(letter: Letter, *, actor: Actor | None = None) -> list[SignatureCheck]:
    """Verify every current file of a letter that just arrived (called inside its action)."""
    from saraban.letters.models import LetterFile

    tenant = Agency.objects.get(pk=letter.tenant_id)
    files = (
        LetterFile.objects.filter(letter=letter, replaced_at__isnull=True)
        .select_related("blob")
        .order_by("role", "pk")
    )
    seen: set[str] = set()
    checks: list[SignatureCheck] = []
    for f in files:
        if f.blob_id in seen:
            continue
        seen.add(f.blob_id)
        checks.append(check_file(f.blob, tenant=tenant, actor=actor, letter=letter))
    return checks


def letter_checks(letter: Letter) -> dict[str, SignatureCheck]:
    """The stored verdict of each current file of a letter, by SHA-256 (reads only).

    A file without a stored verdict (stored before verification existed, or whose check job
    has not run yet) gets an unsaved ``unchecked`` placeholder: pages never verify or write.
    The job ``saraban.signatures.tasks.check_letter_signatures`` stores the missing ones.
    """
    from saraban.letters.models import LetterFile

    current = list(
        LetterFile.objects.filter(letter=letter, replaced_at__isnull=True)
        .values_list("blob_id", "blob__created_at")
    )
    found = {
        c.blob_id: c
        for c in SignatureCheck.objects.filter(
            blob_id__in=[b for b, _at in current], tenant_id=letter.tenant_id
        )
    }
    for blob_id, stored_at in current:
        if blob_id not in found:
            found[blob_id] = SignatureCheck(
                blob_id=blob_id, tenant_id=letter.tenant_id, checked_at=stored_at,
                status=UNCHECKED, label_th="ยังไม่ได้ตรวจลายมือชื่อ (รอระบบตรวจ)", signatures=[],
            )
    return found


#: The status of a placeholder verdict: the file has not been verified yet.
UNCHECKED = "unchecked"


def letter_checks_missing(letter: Letter, *, actor: Actor | None = None) -> list[SignatureCheck]:
    """Verify and store the verdicts a letter's current files do not have yet (a job)."""
    from saraban.letters.models import Blob, LetterFile

    blob_ids = set(
        LetterFile.objects.filter(letter=letter, replaced_at__isnull=True)
        .values_list("blob_id", flat=True)
    )
    have = set(SignatureCheck.objects.filter(blob_id__in=blob_ids, tenant_id=letter.tenant_id)
               .values_list("blob_id", flat=True))
    if not blob_ids - have:
        return []
    tenant = Agency.objects.get(pk=letter.tenant_id)
    return [check_file(blob, tenant=tenant, actor=actor)
            for blob in Blob.objects.filter(sha256__in=blob_ids - have).order_by("sha256")]
