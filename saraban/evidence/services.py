"""Actions on issued evidence documents, and the checks the public verification page runs.

``evidence_issue`` validates first (nothing is written for bad input, and without an agency
seal nothing is issued), then in one transaction takes the number from the registry's
outgoing series, renders the form with that number and a QR code of the public page, seals the
PDF with the agency seal, stores it and writes the audit event. ``evidence_revoke`` marks a
document revoked with the reason; the public page says so from then on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import secrets
from dataclasses import dataclass
from typing import IO, Final

import segno
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from saraban.agencies.actors import Actor
from saraban.agencies.models import ActingKind, Agency, Person, Role, RoleGrant
from saraban.core.audit import audit_record
from saraban.core.errors import (
    Conflict,
    FileRejected,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from saraban.core.thai import Digits, thai_date
from saraban.documents.models import Letterhead
from saraban.documents.render import FormData, render_form, signature_box
from saraban.letters import files
from saraban.letters.access import registries_for
from saraban.letters.models import (
    Direction,
    FileRole,
    Letter,
    LetterFile,
    LetterKind,
    LetterSubkind,
    Registry,
    SeriesKind,
)
from saraban.letters.services import register_entry_new, series_of

from .models import EvidenceKind, IssuedDocument

__all__ = [
    "MAX_COPY_BYTES",
    "CopyCheck",
    "access_evidence",
    "copy_too_large",
    "evidence_by_token",
    "evidence_check_copy",
    "evidence_issue",
    "evidence_registries",
    "evidence_revoke",
    "qr_svg",
    "verification_url",
    "visible_evidence",
]

#: The letter subkind each evidence kind is registered as (หนังสือที่เจ้าหน้าที่ทำขึ้น…).
_SUBKIND: Final = {
    EvidenceKind.CERTIFICATE: LetterSubkind.CERTIFICATE,
    EvidenceKind.LICENCE: LetterSubkind.OTHER_EVIDENCE,
}
#: How the first paragraph of each form begins; the holder's name follows.
_OPENING: Final = {
    EvidenceKind.CERTIFICATE: "หนังสือฉบับนี้ให้ไว้เพื่อรับรองว่า",
    EvidenceKind.LICENCE: "อนุญาตให้",
}
_VALIDITY_LINE: Final = {
    EvidenceKind.CERTIFICATE: "หนังสือรับรองฉบับนี้ใช้ได้ถึงวันที่",
    EvidenceKind.LICENCE: "ใบอนุญาตฉบับนี้ใช้ได้ถึงวันที่",
}
SEAL_REASON: Final = "ประทับตราอิเล็กทรอนิกส์ของส่วนราชการผู้ออกเอกสาร"
#: Issuers and registries: where an agency admin may issue, beside registry clerks.
_ISSUER_ROLES: Final = frozenset({Role.AGENCY_ADMIN})
MAX_HOLDER: Final = 255
MAX_TITLE: Final = 500
MAX_BODY: Final = 5000
MAX_REASON: Final = 500
#: The largest copy the public page takes to compare; an issued document is far smaller.
MAX_COPY_BYTES: Final = 10 * 1024 * 1024


# --- who may issue, and what they see -----------------------------------------------------


def evidence_registries(person: Person) -> QuerySet[Registry]:
    """Registries in which ``person`` may issue evidence documents.

    A registry clerk issues in the registries they register letters in; an agency admin in
    every registry of their agency below their grant.
    """
    clerk_ids = registries_for(person).values("pk")
    admin_units = RoleGrant.objects.filter(
        person=person, role__in=_ISSUER_ROLES, unit__tenant_id=person.agency_id
    ).values_list("unit__path", flat=True)
    query = Q(pk__in=clerk_ids)
    for path in admin_units:
        query |= Q(unit__path__startswith=path)
    return (
        Registry.objects.filter(query, tenant_id=person.agency_id)
        .select_related("unit")
        .order_by("unit__path")
    )


def visible_evidence(person: Person) -> QuerySet[IssuedDocument]:
    """The evidence documents issued in the registries where ``person`` may issue them."""
    if not person.is_authenticated or not person.is_active or person.agency_id is None:
        return IssuedDocument.objects.none()
    return IssuedDocument.objects.filter(
        tenant_id=person.agency_id, registry__in=evidence_registries(person)
    ).select_related("registry", "issued_by")


def access_evidence(person: Person, doc_id: int) -> IssuedDocument:
    """One document ``person`` may manage, or ``NotFound`` (its existence is not revealed)."""
    doc = visible_evidence(person).filter(pk=doc_id).first()
    if doc is None:
        raise NotFound("ไม่พบเอกสาร หรือท่านไม่มีสิทธิ์เข้าถึง", code="evidence_not_found")
    return doc


def evidence_by_token(token: str) -> IssuedDocument:
    """The document a QR code points at; ``NotFound`` for an unknown token."""
    doc = (
        IssuedDocument.objects.filter(token=token).select_related("tenant", "registry").first()
        if token
        else None
    )
    if doc is None:
        raise NotFound("ไม่พบเอกสารตามรหัสตรวจสอบนี้", code="evidence_not_found")
    return doc


# --- the QR code and the public address ----------------------------------------------------


def verification_url(token: str) -> str:
    """The absolute address of the public page for ``token`` (what the QR code holds).

    >>> verification_url("abc").endswith("/verify/abc/")
    True
    """
    base = str(settings.SARABAN_PUBLIC_URL).rstrip("/")
    return f"{base}/verify/{token}/"


def qr_svg(text: str) -> bytes:
    """``text`` as a QR code in SVG, with medium error correction and no quiet zone.

    The form leaves white space around it; the quiet zone would only make the code smaller.
    """
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="svg", border=0, scale=4)
    return out.getvalue()


# --- issuing and revoking -----------------------------------------------------------------


def _clean_text(value: str, *, field: str, limit: int, missing: str, code: str) -> str:
    text = value.strip()
    if not text:
        raise ValidationFailed(missing, code=code, field=field)
    if len(text) > limit:
        raise ValidationFailed(
            f"ข้อความยาวเกิน {limit} ตัวอักษร", code=f"{field}_too_long", field=field
        )
    return text


def _paragraphs(body: str) -> list[str]:
    return [" ".join(line.split()) for line in body.splitlines() if line.strip()]


def _signer_position(actor: Actor) -> str:
    if actor.position is None:
        return ""
    if actor.acting_kind:
        label = ActingKind(actor.acting_kind).label
        return f"{label} {actor.position.title_th}"
    return actor.position.title_th


def _form_data(
    *,
    kind: str,
    number: str,
    today: dt.date,
    issuer: Agency,
    tenant: Agency,
    holder: str,
    title: str,
    body: str,
    valid_until: dt.date | None,
    actor: Actor,
    url: str,
) -> FormData:
    digits: Digits = "thai" if tenant.thai_digits else "arabic"
    paragraphs = _paragraphs(body)
    paragraphs[0] = f"{_OPENING[EvidenceKind(kind)]} {holder} {paragraphs[0]}"
    if valid_until is not None:
        until = thai_date(valid_until, digits=digits)
        paragraphs.append(f"{_VALIDITY_LINE[EvidenceKind(kind)]} {until}")
    # The issuing unit's own letterhead before the agency's (emblem image and address).
    head = (
        Letterhead.objects.filter(agency__in=[issuer, tenant]).order_by("-agency__path").first()
    )
    return FormData(
        number=number,
        date=today,
        thai_digits=tenant.thai_digits,
        agency_name=issuer.name_th,
        agency_address=(head.address if head and head.address else issuer.address)
        or tenant.address,
        emblem=bytes(head.emblem) if head and head.emblem else None,
        subject=title,
        body=paragraphs,
        signer_name=actor.person.display_name(),
        signer_position=_signer_position(actor),
        qr=qr_svg(url),
        footer_note=(
            f"ตรวจสอบความถูกต้องของเอกสารฉบับนี้ได้ที่\n{url}\n"
            "หรือสแกนคิวอาร์โค้ดนี้ แล้วเลือกไฟล์ PDF เพื่อเทียบกับต้นฉบับ"
        ),
    )


def evidence_issue(
    *,
    actor: Actor,
    registry: Registry,
    kind: str,
    holder: str,
    title: str,
    body: str,
    valid_until: dt.date | None = None,
) -> IssuedDocument:
    """Issue a certificate or licence: numbered, rendered, sealed by the agency, stored.

    Raises ``PermissionDenied`` (``registry_forbidden``) when the actor may not issue in
    ``registry``, ``ValidationFailed`` for bad input and ``Conflict`` (``seal_missing``) when
    the agency has no seal; in each case nothing is written and no number is taken.
    """
    from saraban.signatures.pades import Appearance, check_identity_usable, sign_pdf
    from saraban.signatures.services import seal_for

    if not evidence_registries(actor.person).filter(pk=registry.pk).exists():
        raise PermissionDenied(
            "ท่านไม่มีสิทธิ์ออกหนังสือรับรองหรือใบอนุญาตในทะเบียนนี้", code="registry_forbidden"
        )
    if kind not in EvidenceKind.values:
        raise ValidationFailed("ชนิดเอกสารไม่ถูกต้อง", code="bad_kind", field="kind")
    holder = _clean_text(holder, field="holder", limit=MAX_HOLDER,
                         missing="กรุณาระบุชื่อผู้ได้รับ", code="holder_required")
    title = _clean_text(title, field="title", limit=MAX_TITLE,
                        missing="กรุณาระบุเรื่อง", code="title_required")
    body = _clean_text(body, field="body", limit=MAX_BODY,
                       missing="กรุณาระบุข้อความ", code="body_required")
    today = timezone.localdate()
    if valid_until is not None and valid_until < today:
        raise ValidationFailed(
            "วันที่ใช้ได้ถึงต้องไม่ก่อนวันนี้", code="valid_until_past", field="valid_until"
        )
    tenant = registry.tenant
    series = series_of(registry, SeriesKind.OUTGOING)
    seal = seal_for(tenant)
    if seal is None:
        raise Conflict(
            "ส่วนราชการยังไม่ได้ตั้งค่าตราอิเล็กทรอนิกส์ (ใบรับรองสำหรับประทับตรา) "
            "จึงยังออกหนังสือรับรองหรือใบอนุญาตไม่ได้ กรุณาติดต่อผู้ดูแลระบบ",
            code="seal_missing",
        )
    check_identity_usable(seal)
    issuer = registry.unit
    with transaction.atomic():
        now = timezone.now()
        today = timezone.localdate(now)
        letter = Letter.objects.create(
            tenant_id=registry.tenant_id,
            unit_id=registry.unit_id,
            direction=Direction.OUTGOING,
            kind=LetterKind.EVIDENCE,
            subkind=_SUBKIND[EvidenceKind(kind)],
            letter_date=today,
            sender_agency=issuer,
            recipient_text=holder,
            subject=title,
            body=body,
            created_by=actor.person,
            created_at=now,
        )
        entry = register_entry_new(actor=actor, series=series, letter=letter, now=now)
        letter.number = entry.formatted
        letter.save(update_fields=["number"])
        token = secrets.token_urlsafe(16)
        url = verification_url(token)
        data = _form_data(
            kind=kind, number=entry.formatted, today=today, issuer=issuer, tenant=tenant,
            holder=holder, title=title, body=body, valid_until=valid_until, actor=actor, url=url,
        )
        pdf = render_form(kind, data, archival=True)
        place = signature_box(kind, data)
        sealed = sign_pdf(
            pdf,
            seal,
            appearance=Appearance(
                page=place.page,
                box=place.box,
                lines=(
                    "ประทับตราอิเล็กทรอนิกส์",
                    tenant.name_th,
                    thai_date(today, digits="thai" if tenant.thai_digits else "arabic"),
                ),
            ),
            reason=SEAL_REASON,
        )
        blob = files.store_file(sealed, allowed={files.PDF})
        LetterFile.objects.create(
            letter=letter,
            blob=blob,
            role=FileRole.MAIN,
            filename=f"{kind}-{entry.year_be}-{entry.number}.pdf",
            added_by=actor.person,
            added_at=now,
        )
        # Its seal is verified by the worker, so the letter page only reads the verdict.
        from saraban.signatures.tasks import check_letter_signatures

        check_letter_signatures.enqueue(letter.pk)
        doc = IssuedDocument.objects.create(
            tenant=tenant,
            registry=registry,
            kind=kind,
            number=entry.formatted,
            entry=entry,
            letter=letter,
            holder=holder,
            title=title,
            body=body,
            issuer_name=issuer.name_th,
            issued_on=today,
            valid_until=valid_until,
            token=token,
            blob=blob,
            issued_at=now,
            issued_by=actor.person,
            issued_position=actor.position,
            issued_acting_kind=actor.acting_kind,
        )
        audit_record(
            agency_id=tenant.pk,
            action="evidence_issue",
            actor=actor,
            target_type="letter",
            target_id=letter.pk,
            details={
                "evidence": doc.pk,
                "kind": kind,
                "number": entry.formatted,
                "year": entry.year_be,
                "holder": holder,
                "valid_until": valid_until.isoformat() if valid_until else None,
                "sha256": blob.sha256,
                "seal": seal.pk,
            },
        )
    return doc


def evidence_revoke(*, actor: Actor, doc: IssuedDocument, reason: str) -> IssuedDocument:
    """Revoke an issued document; it stays on record and the public page says "revoked"."""
    if not evidence_registries(actor.person).filter(pk=doc.registry_id).exists():
        raise PermissionDenied(
            "ท่านไม่มีสิทธิ์เพิกถอนเอกสารในทะเบียนนี้", code="registry_forbidden"
        )
    reason = _clean_text(reason, field="reason", limit=MAX_REASON,
                         missing="กรุณาระบุเหตุผลที่เพิกถอน", code="reason_required")
    with transaction.atomic():
        locked = IssuedDocument.objects.select_for_update().get(pk=doc.pk)
        if locked.revoked_at is not None:
            raise Conflict("เอกสารนี้ถูกเพิกถอนไปแล้ว", code="already_revoked")
        locked.revoked_at = timezone.now()
        locked.revoked_by = actor.person
        locked.revoke_reason = reason
        locked.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        audit_record(
            agency_id=locked.tenant_id,
            action="evidence_revoke",
            actor=actor,
            target_type="letter",
            target_id=locked.letter_id,
            details={"evidence": locked.pk, "number": locked.number, "reason": reason},
        )
    return locked


# --- checking a copy ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CopyCheck:
    """The result of comparing an uploaded file with the document as issued.

    ``matches`` is true only when the SHA-256 of the file equals the stored one.
    ``signature_status`` and ``signature_label_th`` are the verdict on the file's own
    signatures (``verify_pdf``), which can differ: a re-saved copy no longer matches the hash
    but may still carry an intact signature.
    """

    sha256: str
    matches: bool
    signature_status: str
    signature_label_th: str


def copy_too_large() -> FileRejected:
    """The error for a copy larger than ``MAX_COPY_BYTES`` (also raised before reading one)."""
    return FileRejected(
        f"ไฟล์มีขนาดเกิน {MAX_COPY_BYTES // (1024 * 1024)} MB ที่กำหนด",
        code="file_too_large", field="file", details={"max_bytes": MAX_COPY_BYTES},
    )


def evidence_check_copy(doc: IssuedDocument, content: IO[bytes] | bytes | None) -> CopyCheck:
    """Compare ``content`` with ``doc`` as issued, and verify the signatures it carries.

    Raises ``FileRejected`` when no file was given, or it is empty, larger than
    ``MAX_COPY_BYTES`` or not a PDF (by content).
    """
    from saraban.signatures.pades import verify_pdf

    if content is None:
        raise FileRejected("กรุณาเลือกไฟล์ PDF ที่ต้องการตรวจสอบ", code="file_required",
                           field="file")
    data = content if isinstance(content, bytes) else content.read(MAX_COPY_BYTES + 1)
    if not data:
        raise FileRejected("ไฟล์ว่างเปล่า", code="file_empty", field="file")
    if len(data) > MAX_COPY_BYTES:
        raise copy_too_large()
    if not data.startswith(b"%PDF-"):
        raise FileRejected("ไฟล์ที่เลือกไม่ใช่ไฟล์ PDF", code="not_pdf", field="file")
    digest = hashlib.sha256(data).hexdigest()
    verdict = verify_pdf(data, tenant=doc.tenant)
    return CopyCheck(
        sha256=digest,
        matches=secrets.compare_digest(digest, doc.sha256),
        signature_status=str(verdict.status),
        signature_label_th=str(verdict.label_th),
    )
