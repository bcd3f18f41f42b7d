"""The receiving side: verify, deduplicate, store, and answer with a signed receipt.

Order of checks, each refusing with a stable code and storing nothing: shape → sender in the
directory → signature → recipient hosted here → already seen (same content: the receipt
given the first time; other content: refused) → freshness → file digests and types. Then, in
one transaction, the files and the inbox row (or the business receipt's effect, or the
monthly report) are stored, the audit event written, and the signed transport receipt kept
with them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from saraban.core.audit import audit_record
from saraban.core.errors import FileRejected
from saraban.letters import files as blobs
from saraban.letters.models import Blob

from . import crypto, keystore
from .directory import verify_from
from .envelope import Incoming, content_of, parse, parse_time, utc_now_iso
from .errors import ExchangeRefused
from .models import (
    AgencyCredential,
    DirectoryEntry,
    InboxFile,
    InboxMessage,
    OutboxMessage,
    OutState,
    ReceivedReceipt,
    ReceivedReport,
)


def max_age() -> dt.timedelta:
    return dt.timedelta(seconds=int(getattr(settings, "SARABAN_EXCHANGE_MAX_AGE_SECONDS", 3600)))


def _refuse_audit(agency_id: int | None, code: str, message: Incoming | None) -> None:
    """Record a refusal in the recipient agency's audit trail (its own transaction)."""
    if agency_id is None:
        return
    with transaction.atomic():
        audit_record(
            agency_id=agency_id,
            action="exchange_refuse",
            actor=None,
            details={
                "code": code,
                "from": message.sender if message else "",
                "id": str(message.message_id) if message else "",
            },
        )


def sign_receipt(credential: AgencyCredential, body: dict[str, Any]) -> dict[str, Any]:
    return {"receipt": body, "signature": keystore.sign(credential, body)}


def receive_message(data: object) -> tuple[int, dict[str, Any]]:
    """Process one decoded message; returns (HTTP status, signed transport receipt).

    Raises ``ExchangeRefused`` with a stable code when the message is refused.
    """
    message: Incoming | None = None
    recipient_agency_id: int | None = None
    try:
        message = parse(data)
        # The recipient first, so that a refusal is recorded in its audit trail.
        recipient = (
            DirectoryEntry.objects.filter(code=message.recipient, agency__isnull=False)
            .select_related("agency")
            .first()
        )
        if recipient is not None:
            recipient_agency_id = recipient.agency_id
        sender = DirectoryEntry.objects.filter(code=message.sender).first()
        if sender is None:
            raise ExchangeRefused("ไม่รู้จักหน่วยงานผู้ส่ง", code="unknown_sender")
        if not verify_from(sender, message.envelope, message.signature):
            raise ExchangeRefused("ลายมือชื่อของซองหนังสือไม่ถูกต้อง", code="bad_signature")
        if recipient_agency_id is None:
            raise ExchangeRefused("ผู้รับไม่ได้อยู่ที่โหนดนี้", code="unknown_recipient")
        credential = AgencyCredential.objects.filter(agency_id=recipient_agency_id).first()
        if credential is None:
            raise ExchangeRefused("ผู้รับยังไม่มีกุญแจรับส่งหนังสือ", code="unknown_recipient")
        if message.type == "letter":
            return _receive_letter(message, recipient_agency_id, credential)
        if message.type == "report":
            return _receive_report(message, recipient_agency_id, credential)
        return _receive_receipt(message, recipient_agency_id, credential)
    except ExchangeRefused as exc:
        _refuse_audit(recipient_agency_id, exc.code, message)
        raise


def _check_fresh(message: Incoming) -> None:
    sent_at = parse_time(message.envelope["sent_at"], "sent_at")
    now = timezone.now()
    if sent_at < now - max_age() or sent_at > now + dt.timedelta(minutes=5):
        raise ExchangeRefused("ซองหนังสือเก่าเกินกำหนดหรือถูกส่งซ้ำ", code="stale_message")


def _receipt_body(message: Incoming, digests: dict[str, int]) -> dict[str, Any]:
    return {
        "id": str(message.message_id),
        "from": message.sender,
        "to": message.recipient,
        "received_at": utc_now_iso(),
        "envelope_digest": crypto.digest(content_of(message.envelope)),
        "files": digests,
        "status": "accepted",
    }


def _receive_letter(
    message: Incoming, agency_id: int, credential: AgencyCredential
) -> tuple[int, dict[str, Any]]:
    content_digest = crypto.digest(content_of(message.envelope))
    seen = InboxMessage.objects.filter(
        sender_code=message.sender, message_id=message.message_id
    ).first()
    if seen is not None:
        return _duplicate(seen.content_digest, content_digest, seen.receipt)
    _check_fresh(message)
    listed = message.envelope.get("files", [])
    for item in listed:
        data = message.files.get(item["sha256"])
        if data is None or hashlib.sha256(data).hexdigest() != item["sha256"]:
            raise ExchangeRefused(
                f"ไฟล์ {item['name']} ไม่ตรงกับค่าแฮชที่ลงนาม", code="digest_mismatch"
            )
        if len(data) != item["size"]:
            raise ExchangeRefused(f"ขนาดไฟล์ {item['name']} ไม่ตรง", code="digest_mismatch")
    if set(message.files) - {item["sha256"] for item in listed}:
        raise ExchangeRefused("มีไฟล์ที่ไม่ได้ลงนามมาด้วย", code="digest_mismatch")
    receipt = sign_receipt(credential, _receipt_body(message, {i["sha256"]: i["size"]
                                                               for i in listed}))
    written: list[str] = []  # files this message put on disk, removed again if it is refused
    try:
        with transaction.atomic():
            inbox = InboxMessage.objects.create(
                sender_code=message.sender,
                message_id=message.message_id,
                recipient_id=agency_id,
                content_digest=content_digest,
                envelope=message.envelope,
                signature=message.signature,
                receipt=receipt,
                received_at=timezone.now(),
            )
            # Every file is checked before any is kept: a refused one stores none.
            written = [i["sha256"] for i in listed
                       if not blobs.blob_path(i["sha256"]).exists()]
            try:
                kept = blobs.store_files([
                    (message.files[i["sha256"]],
                     blobs.MAIN_TYPES if i["role"] == "main" else blobs.ATTACHMENT_TYPES)
                    for i in listed
                ])
            except FileRejected as exc:
                written = []
                raise ExchangeRefused(exc.message, code="file_rejected",
                                      details={"file_code": exc.code}) from exc
            for item, blob in zip(listed, kept, strict=True):
                InboxFile.objects.create(
                    message=inbox, blob=blob, role=item["role"], filename=item["name"][:255]
                )
            _check_signatures(inbox)
            audit_record(
                agency_id=agency_id,
                action="exchange_receive",
                actor=None,
                target_type="inbox",
                target_id=inbox.pk,
                details={
                    "from": message.sender,
                    "id": str(message.message_id),
                    "subject": str(message.envelope["letter"].get("subject", ""))[:200],
                    "files": sorted(i["sha256"] for i in listed),
                },
            )
    except IntegrityError:
        # Another request stored the same message first: answer as for a duplicate.
        _remove_unreferenced(written)
        seen = InboxMessage.objects.get(sender_code=message.sender, message_id=message.message_id)
        return _duplicate(seen.content_digest, content_digest, seen.receipt)
    except ExchangeRefused:
        _remove_unreferenced(written)
        raise
    return 201, receipt


def _check_signatures(inbox: InboxMessage) -> None:
    """Verify the signatures of an accepted message's files (saraban.signatures)."""
    from saraban.agencies.models import Agency
    from saraban.signatures.services import check_file

    tenant = Agency.objects.get(pk=inbox.recipient_id)
    for f in inbox.files.select_related("blob"):
        check_file(f.blob, tenant=tenant)


def _remove_unreferenced(shas: list[str]) -> None:
    """Take back the files a rolled-back message wrote (e.g. a good main file before a
    refused attachment), so that a refusal stores nothing; a file some committed blob row
    names is kept."""
    for sha in shas:
        if not Blob.objects.filter(sha256=sha).exists():
            blobs.blob_path(sha).unlink(missing_ok=True)


def _duplicate(
    stored_digest: str, content_digest: str, receipt: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    if stored_digest != content_digest:
        raise ExchangeRefused(
            "เลขอ้างอิงซองหนังสือนี้ถูกใช้กับเนื้อหาอื่นแล้ว", code="message_id_reused"
        )
    return 200, receipt


def _receive_receipt(
    message: Incoming, agency_id: int, credential: AgencyCredential
) -> tuple[int, dict[str, Any]]:
    content_digest = crypto.digest(content_of(message.envelope))
    seen = ReceivedReceipt.objects.filter(
        sender_code=message.sender, message_id=message.message_id
    ).first()
    if seen is not None:
        return _duplicate(str(seen.receipt.get("receipt", {}).get("envelope_digest", "")),
                          content_digest, seen.receipt)
    _check_fresh(message)
    body = message.envelope["receipt"]
    out = (
        OutboxMessage.objects.filter(
            message_id=body["for"], recipient_code=message.sender, sender_id=agency_id,
            type="letter",
        ).first()
    )
    if out is None:
        raise ExchangeRefused("ไม่พบหนังสือที่ตอบรับ", code="unknown_message")
    receipt = sign_receipt(credential, _receipt_body(message, {}))
    status = body["status"]
    try:
        with transaction.atomic():
            ReceivedReceipt.objects.create(
                sender_code=message.sender, message_id=message.message_id, receipt=receipt,
                received_at=timezone.now(),
            )
            locked = OutboxMessage.objects.select_for_update().get(pk=out.pk)
            # From "failed" too: the sender gave up waiting for the transport receipt, but
            # the recipient has the letter and has decided on it.
            if locked.state in {OutState.QUEUED, OutState.SENT, OutState.FAILED}:
                locked.state = {
                    "registered": OutState.REGISTERED,
                    "rejected": OutState.REJECTED,
                    "returned": OutState.RETURNED,
                }[status]
                locked.receipt_number = str(body.get("number", ""))[:128]
                at = body.get("at")
                locked.registered_at = parse_time(at, "at") if at else timezone.now()
                locked.reason = str(body.get("reason", ""))[:500]
                locked.closed_at = timezone.now()
                locked.save(update_fields=[
                    "state", "receipt_number", "registered_at", "reason", "closed_at",
                ])
            audit_record(
                agency_id=agency_id,
                action=f"exchange_business_receipt_{status}",
                actor=None,
                target_type="letter",
                target_id=locked.letter_id,
                details={
                    "to": message.sender,
                    "id": str(locked.message_id),
                    "number": locked.receipt_number,
                    "reason": locked.reason,
                },
            )
    except IntegrityError:
        seen = ReceivedReceipt.objects.get(sender_code=message.sender,
                                           message_id=message.message_id)
        return 200, seen.receipt
    return 201, receipt


def _receive_report(
    message: Incoming, agency_id: int, credential: AgencyCredential
) -> tuple[int, dict[str, Any]]:
    """Keep a monthly indicator report once per (sender, message id); of one sender's reports
    to one recipient for one month, the one generated last becomes the current one.

    One sender's reports are stored one at a time (its directory entry is locked), so that
    reports of the same month arriving at once each see the one stored before them.
    """
    content_digest = crypto.digest(content_of(message.envelope))
    seen = ReceivedReport.objects.filter(
        sender_code=message.sender, message_id=message.message_id
    ).first()
    if seen is not None:
        return _duplicate(seen.envelope_digest, content_digest, seen.receipt)
    _check_fresh(message)
    body = message.envelope["report"]
    month = dt.date.fromisoformat(body["month"])
    generated_at = parse_time(body["generated_at"], "generated_at")
    receipt = sign_receipt(credential, _receipt_body(message, {}))
    try:
        with transaction.atomic():
            DirectoryEntry.objects.select_for_update(no_key=True).filter(
                code=message.sender).first()
            seen = ReceivedReport.objects.filter(
                sender_code=message.sender, message_id=message.message_id
            ).first()
            if seen is not None:
                return _duplicate(seen.envelope_digest, content_digest, seen.receipt)
            _store_report(message, agency_id, month, generated_at, content_digest, receipt)
    except IntegrityError:
        seen = ReceivedReport.objects.filter(
            sender_code=message.sender, message_id=message.message_id
        ).first()
        if seen is None:
            raise
        return _duplicate(seen.envelope_digest, content_digest, seen.receipt)
    return 201, receipt


def _store_report(message: Incoming, agency_id: int, month: dt.date,
                  generated_at: dt.datetime, content_digest: str,
                  receipt: dict[str, Any]) -> None:
    current = ReceivedReport.objects.filter(
        sender_code=message.sender, recipient_id=agency_id, month=month, current=True
    ).first()
    newer = current is None or generated_at > current.generated_at
    if current is not None and newer:
        current.current = False
        current.save(update_fields=["current"])
    body = message.envelope["report"]
    report = ReceivedReport.objects.create(
        sender_code=message.sender,
        message_id=message.message_id,
        recipient_id=agency_id,
        month=month,
        figures={k: body[k] for k in ("sent", "received", "signed")},
        generated_at=generated_at,
        envelope_digest=content_digest,
        envelope=message.envelope,
        signature=message.signature,
        receipt=receipt,
        received_at=timezone.now(),
        current=newer,
    )
    audit_record(
        agency_id=agency_id,
        action="exchange_report_receive",
        actor=None,
        target_type="report",
        target_id=report.pk,
        details={
            "from": message.sender,
            "id": str(message.message_id),
            "month": month.isoformat(),
            "current": newer,
            "replaces": str(current.message_id) if current is not None and newer else "",
        },
    )
