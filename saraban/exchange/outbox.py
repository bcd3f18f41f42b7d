"""The sending side: outbox rows written with the dispatch, delivered by the worker.

State machine of a letter message (one per recipient)::

    queued ──transport receipt──▶ sent ──business receipt──▶ registered | rejected | returned
      │  ▲                                                          (rejected/returned)
      │  └── requeue (by hand) ── failed ◀── retry limit             └─▶ withdrawn → resend
      └─ retry with exponential backoff while the recipient cannot be reached

A row whose recipient is ``mailto:<address>`` is a mail (a letter by e-mail, or the answer to
a letter that came by e-mail): ``saraban.exchange.mail.send`` hands it to the agency's SMTP
relay, "sent" is the relay's 250, and a bounce that comes back later fails it
(``saraban.exchange.mail.matching``).

A business receipt may overtake the transport receipt (when the answer to a delivered
message was lost), and may arrive after the message was marked failed (every answer lost, but
the recipient has it): it moves the message to its final state all the same. A later duplicate
transport receipt never moves a message backwards.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Iterable, Sequence
from email.utils import getaddresses
from typing import Any

import pydantic
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from saraban.agencies.actors import Actor
from saraban.agencies.models import Agency
from saraban.core.audit import audit_record
from saraban.core.errors import Conflict, ValidationFailed
from saraban.letters import files as blobs
from saraban.letters.models import Dispatch, FileRole, Letter

from . import crypto, keystore
from .directory import verify_from
from .envelope import VERSION, ReportV1, content_of, encode_files, utc_now_iso
from .models import (
    AgencyCredential,
    DirectoryEntry,
    EcmsAccount,
    Mailbox,
    MessageType,
    OutboxMessage,
    OutState,
)
from .transport import DeliveryFailed, TransportAnswer, transport_for

log = logging.getLogger(__name__)


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff with jitter: base·2^(n-1), capped."""
    base = _setting("SARABAN_EXCHANGE_RETRY_BASE_SECONDS", 2)
    cap = _setting("SARABAN_EXCHANGE_RETRY_MAX_SECONDS", 300)
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return dt.timedelta(seconds=delay * random.uniform(0.8, 1.2))  # noqa: S311


def retry_limit() -> int:
    return int(_setting("SARABAN_EXCHANGE_RETRY_LIMIT", 15))


def lease() -> dt.timedelta:
    return dt.timedelta(seconds=_setting("SARABAN_EXCHANGE_LEASE_SECONDS", 120))


# ---- writing the outbox (inside the dispatching transaction) ------------------------------


def sender_code_of(tenant: Agency) -> str:
    if not tenant.exchange_code or not AgencyCredential.objects.filter(agency=tenant).exists():
        raise ValidationFailed(
            "ส่วนราชการนี้ยังไม่ได้ลงทะเบียนรับส่งหนังสือทางระบบ (ไม่มีรหัสหรือกุญแจ)",
            code="sender_not_in_directory",
            field="channel",
        )
    return tenant.exchange_code


def check_recipients(tenant: Agency, codes: Iterable[str], *, ecms: bool = False) -> None:
    """Refuse a dispatch the exchange cannot carry (before anything is written).

    Saraban channel: every recipient in the directory. e-CMS (``ecms``): the sender also needs
    an e-CMS account (its own node) and every recipient an e-CMS entry (a department id).
    """
    wanted = set(codes)
    if not wanted:
        return
    own = sender_code_of(tenant)
    if ecms and not EcmsAccount.objects.filter(agency=tenant).exists():
        raise ValidationFailed("ส่วนราชการนี้ยังไม่ได้ตั้งค่าการเชื่อมต่อ e-CMS",
                               code="sender_not_in_ecms", field="channel")
    if own in wanted:
        raise ValidationFailed("ส่งหนังสือถึงส่วนราชการของตนเองทางระบบไม่ได้",
                               code="recipient_is_sender", field="recipients")
    entries = DirectoryEntry.objects.filter(code__in=wanted)
    if ecms:
        entries = entries.exclude(ecms_department_id="")
    missing = sorted(wanted - set(entries.values_list("code", flat=True)))
    if missing:
        where, code = ((" e-CMS", "unknown_ecms_recipient") if ecms
                       else ("ที่รับส่งทางระบบ", "unknown_exchange_recipient"))
        raise ValidationFailed(
            f"ไม่พบหน่วยงานผู้รับในทะเบียนหน่วยงาน{where}: {', '.join(missing)}",
            code=code,
            field="recipients",
            details={"codes": missing},
        )


def mail_sender_code(tenant: Agency) -> str:
    """The sender code of a row that goes by e-mail: no exchange key is needed for mail."""
    return tenant.exchange_code or f"agency-{tenant.pk}"


def mail_addresses(text: str) -> list[str]:
    """The addresses of an e-mail dispatch ("a@x.go.th", "Name <a@x.go.th>", several
    separated by commas or semicolons), domains lowercased; refused when one is not an
    address."""
    found: list[str] = []
    for _name, address in getaddresses([text.replace(";", ",")]):
        local, at, domain = address.strip().rpartition("@")
        if not at or not local or "." not in domain or any(c.isspace() for c in address):
            raise ValidationFailed(f"ที่อยู่ไปรษณีย์อิเล็กทรอนิกส์ไม่ถูกต้อง: {text}",
                                   code="bad_mail_address", field="address")
        normal = f"{local}@{domain.lower()}"
        if normal not in found:
            found.append(normal)
    if not found:
        raise ValidationFailed("กรุณาระบุที่อยู่ไปรษณีย์อิเล็กทรอนิกส์", code="email_required",
                               field="address")
    return found


def _enqueue_mail(letter: Letter, dispatches: Sequence[Dispatch]) -> list[OutboxMessage]:
    """E-mail dispatches go out as mail when the agency has an enabled mailbox with an SMTP
    relay (one row per address); without one the channel is only recorded, as before."""
    targets = [d for d in dispatches if d.channel == "email" and d.address.strip()]
    if not targets:
        return []
    if not Mailbox.objects.filter(agency_id=letter.tenant_id, enabled=True).exclude(
            smtp_host="").exists():
        return []
    sender = Agency.objects.get(pk=letter.tenant_id)
    now = timezone.now()
    return OutboxMessage.objects.bulk_create(
        OutboxMessage(
            type=MessageType.LETTER, sender=sender, sender_code=mail_sender_code(sender),
            recipient_code=f"mailto:{address}", letter=letter, dispatch=d,
            next_attempt_at=now, created_at=now,
        )
        for d in targets
        for address in mail_addresses(d.address)
    )


def enqueue_letter(*, letter: Letter, dispatches: Sequence[Dispatch]) -> list[OutboxMessage]:
    """One queued message per Saraban- or e-CMS-channel dispatch, and per address of an
    e-mail dispatch when the agency has an SMTP relay; must run in the dispatch
    transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("enqueue_letter must run inside the dispatching transaction")
    mails = _enqueue_mail(letter, dispatches)
    targets = [d for d in dispatches if d.channel in {"saraban", "ecms"} and d.recipient_code]
    if not targets:
        return mails
    if any(d.channel == "ecms" for d in targets) and not letter.files.filter(
        role=FileRole.MAIN, replaced_at__isnull=True
    ).exists():
        # e-CMS carries exactly one main letter (MainLetterBinaryObject): refused up front.
        raise ValidationFailed("การส่งทาง e-CMS ต้องมีไฟล์หนังสือหลัก (PDF)",
                               code="ecms_main_required", field="main_file")
    sender = Agency.objects.get(pk=letter.tenant_id)
    code = sender_code_of(sender)
    now = timezone.now()
    return mails + OutboxMessage.objects.bulk_create(
        OutboxMessage(
            type=MessageType.LETTER, sender=sender, sender_code=code,
            recipient_code=d.recipient_code, letter=letter, dispatch=d,
            next_attempt_at=now, created_at=now,
        )
        for d in targets
    )


def enqueue_receipt(*, sender: Agency, to_code: str, payload: dict[str, Any]) -> OutboxMessage:
    """Queue a business receipt back to the agency that sent a letter."""
    now = timezone.now()
    return OutboxMessage.objects.create(
        type=MessageType.RECEIPT, sender=sender, sender_code=sender_code_of(sender),
        recipient_code=to_code, payload=payload, next_attempt_at=now, created_at=now,
    )


def enqueue_report(*, sender: Agency, to_code: str, report: dict[str, Any]) -> OutboxMessage:
    """Queue an agency's monthly indicator report to its overseer (``envelope.report``).

    The figures are checked here as the receiver will check them (``bad_report``), so a
    report that would be refused is never queued; must run inside the caller's transaction.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("enqueue_report must run inside the caller's transaction")
    try:
        ReportV1.model_validate(report)
    except pydantic.ValidationError as exc:
        raise ValidationFailed("รายงานตัวชี้วัดไม่ถูกต้อง", code="bad_report",
                               details={"error": str(exc)[:500]}) from exc
    check_recipients(sender, [to_code])
    entry = DirectoryEntry.objects.get(code=to_code)
    if not entry.certificate_pem or (not entry.is_local and "saraban" not in entry.channels
                                      and "ecms" in entry.channels):
        raise ValidationFailed("ผู้รับรายงานต้องรับส่งทางระบบ Saraban (ไม่ใช่ e-CMS)",
                               code="report_recipient_not_saraban", field="to")
    now = timezone.now()
    return OutboxMessage.objects.create(
        type=MessageType.REPORT, sender=sender, sender_code=sender_code_of(sender),
        recipient_code=to_code, payload=report, next_attempt_at=now, created_at=now,
    )


# ---- building the message --------------------------------------------------------------


def letter_payload(letter: Letter) -> dict[str, Any]:
    return {
        "kind": letter.kind,
        "subkind": letter.subkind,
        "urgency": letter.urgency,
        "secrecy": letter.secrecy,
        "number": letter.number,
        "letter_date": letter.letter_date.isoformat() if letter.letter_date else None,
        "subject": letter.subject,
        "salutation": letter.salutation,
        "body": letter.body,
        "sender_name": letter.sender_display,
        "recipient_name": letter.recipient_display,
        "is_circular": letter.is_circular,
        "references": [
            r.referenced.number if r.referenced else r.text for r in letter.references.all()
        ],
        "enclosures": [e.description for e in letter.enclosures.all()],
    }


def build_message(out: OutboxMessage) -> dict[str, Any]:
    """The signed message for one attempt (``sent_at`` is renewed every time)."""
    envelope: dict[str, Any] = {
        "v": VERSION,
        "type": out.type,
        "id": str(out.message_id),
        "from": out.sender_code,
        "to": out.recipient_code,
        "sent_at": utc_now_iso(),
    }
    contents: dict[str, bytes] = {}
    if out.type == MessageType.LETTER:
        assert out.letter is not None
        envelope["letter"] = letter_payload(out.letter)
        listed = []
        current = out.letter.files.filter(replaced_at__isnull=True)  # not the replaced ones
        for f in current.select_related("blob").order_by("role", "pk"):
            listed.append({
                "name": f.filename, "role": "main" if f.role == FileRole.MAIN else "attachment",
                "sha256": f.blob.sha256, "size": f.blob.size,
                "content_type": f.blob.content_type,
            })
            contents[f.blob.sha256] = blobs.read_blob(f.blob)
        envelope["files"] = listed
    elif out.type == MessageType.REPORT:
        envelope["report"] = out.payload
    else:
        envelope["receipt"] = out.payload
    credential = AgencyCredential.objects.get(agency_id=out.sender_id)
    return {
        "envelope": envelope,
        "signature": keystore.sign(credential, envelope),
        "files": encode_files(contents),
    }


# ---- the worker's part -----------------------------------------------------------------


def claim_due(*, limit: int = 20) -> list[int]:
    """Claim due messages for this worker (others skip locked rows and see the lease)."""
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(state=OutState.QUEUED, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if rows:
            OutboxMessage.objects.filter(pk__in=rows).update(
                next_attempt_at=now + lease(), attempts=F("attempts") + 1
            )
    return rows


def _check_answer(out: OutboxMessage, message: dict[str, Any], answer: TransportAnswer,
                  entry: DirectoryEntry) -> dict[str, Any]:
    body = answer.body
    receipt = body.get("receipt")
    signature = body.get("signature")
    if not isinstance(receipt, dict) or not isinstance(signature, str):
        raise DeliveryFailed("no signed receipt in the answer", code="bad_receipt")
    if not verify_from(entry, receipt, signature):
        raise DeliveryFailed("the receipt's signature does not verify", code="bad_receipt")
    envelope = message["envelope"]
    expected_files = {f["sha256"]: f["size"] for f in envelope.get("files", [])}
    if (
        receipt.get("id") != str(out.message_id)
        or receipt.get("from") != out.sender_code
        or receipt.get("to") != out.recipient_code
        or receipt.get("envelope_digest") != crypto.digest(content_of(envelope))
        or receipt.get("files") != expected_files
    ):
        raise DeliveryFailed("the receipt names something else", code="bad_receipt")
    return body


def deliver(pk: int) -> str:
    """Deliver one claimed message; returns its state afterwards."""
    out = OutboxMessage.objects.select_related("letter", "dispatch", "sender").get(pk=pk)
    if out.state != OutState.QUEUED:
        return out.state
    if out.recipient_code.startswith("mailto:"):
        from .mail.send import deliver_mail

        return deliver_mail(out)
    entry = DirectoryEntry.objects.filter(code=out.recipient_code).first()
    from .ecms.send import deliver_ecms, is_ecms

    if entry is not None and is_ecms(out, entry):
        return deliver_ecms(out, entry)
    try:
        if entry is None:
            raise DeliveryFailed("recipient left the directory", code="unknown_recipient",
                                 permanent=True)
        message = build_message(out)
        answer = transport_for(entry.node_url).deliver(message)
        receipt = _check_answer(out, message, answer, entry)
    except DeliveryFailed as exc:
        return _failed_attempt(out, exc)
    with transaction.atomic():
        updated = OutboxMessage.objects.filter(pk=out.pk, state=OutState.QUEUED).update(
            state=OutState.SENT, sent_at=timezone.now(), transport_receipt=receipt,
            last_error="",
        )
        if not updated:  # a business receipt overtook us: keep the later state, add the receipt
            OutboxMessage.objects.filter(pk=out.pk, transport_receipt__isnull=True).update(
                transport_receipt=receipt, sent_at=timezone.now()
            )
        elif out.type == MessageType.LETTER:
            audit_record(
                agency_id=out.sender_id, action="exchange_sent", actor=None,
                target_type="letter", target_id=out.letter_id,
                details={"to": out.recipient_code, "id": str(out.message_id),
                         "received_at": receipt["receipt"].get("received_at", "")},
            )
    return OutboxMessage.objects.values_list("state", flat=True).get(pk=out.pk)


def _failed_attempt(out: OutboxMessage, exc: DeliveryFailed) -> str:
    now = timezone.now()
    error = f"{exc.code}: {exc}"[:500]
    with transaction.atomic():
        locked = OutboxMessage.objects.select_for_update().get(pk=out.pk)
        if locked.state != OutState.QUEUED:
            return locked.state
        locked.last_error = error
        if exc.permanent or locked.attempts >= retry_limit():
            locked.state = OutState.FAILED
            locked.closed_at = now
            if locked.type == MessageType.LETTER:
                audit_record(
                    agency_id=locked.sender_id, action="exchange_failed", actor=None,
                    target_type="letter", target_id=locked.letter_id,
                    details={"to": locked.recipient_code, "error": error,
                             "attempts": locked.attempts},
                )
        else:
            locked.next_attempt_at = now + retry_delay(locked.attempts)
        locked.save(update_fields=["last_error", "state", "closed_at", "next_attempt_at"])
        log.info("delivery of %s to %s failed (%s)", locked.message_id, locked.recipient_code,
                 error)
        return locked.state


def deliver_due(*, limit: int = 20) -> int:
    """Claim and deliver what is due; the number of messages attempted."""
    ids = claim_due(limit=limit)
    for pk in ids:
        try:
            deliver(pk)
        except Exception:  # one bad message must not stop the others; its lease will expire
            log.exception("delivering outbox message %s", pk)
    return len(ids)


# ---- actions by people ------------------------------------------------------------------


def _locked(out: OutboxMessage) -> OutboxMessage:
    return OutboxMessage.objects.select_for_update().get(pk=out.pk)


def _check_sender(actor: Actor, out: OutboxMessage) -> None:
    from saraban.letters.access import registries_for

    if not registries_for(actor.person).filter(tenant_id=out.sender_id).exists():
        from saraban.core.errors import PermissionDenied

        raise PermissionDenied("ท่านไม่มีสิทธิ์จัดการการส่งหนังสือนี้", code="outbox_forbidden")


def exchange_requeue(*, actor: Actor, out: OutboxMessage) -> OutboxMessage:
    """Send a failed message again (same message id, attempts start over)."""
    _check_sender(actor, out)
    with transaction.atomic():
        locked = _locked(out)
        if locked.state != OutState.FAILED:
            raise Conflict("ส่งใหม่ได้เฉพาะรายการที่ส่งไม่สำเร็จ", code="not_failed")
        locked.state = OutState.QUEUED
        locked.attempts = 0
        locked.next_attempt_at = timezone.now()
        locked.closed_at = None
        locked.save(update_fields=["state", "attempts", "next_attempt_at", "closed_at"])
        audit_record(agency_id=locked.sender_id, action="exchange_requeue", actor=actor,
                     target_type="letter", target_id=locked.letter_id,
                     details={"to": locked.recipient_code, "id": str(locked.message_id)})
    return locked


def exchange_withdraw(*, actor: Actor, out: OutboxMessage, reason: str = "") -> OutboxMessage:
    """Withdraw a letter the recipient rejected or returned, so it can be corrected."""
    _check_sender(actor, out)
    with transaction.atomic():
        locked = _locked(out)
        # Only what the recipient answered: a failed message may have arrived after all
        # (every answer lost), so it is sent again under its own id (requeue) instead.
        if locked.state not in {OutState.REJECTED, OutState.RETURNED}:
            raise Conflict("ถอนคืนได้เฉพาะหนังสือที่ผู้รับปฏิเสธหรือส่งคืน",
                           code="not_withdrawable")
        locked.state = OutState.WITHDRAWN
        locked.closed_at = timezone.now()
        locked.save(update_fields=["state", "closed_at"])
        if isinstance(locked.payload.get("ecms"), dict):
            # e-CMS: the own node purges the letter so that the same number can be sent
            # again (CorrespondenceDeleteGovernmentDocumentRequest, ecms.md §5.9).
            OutboxMessage.objects.create(
                type=MessageType.COMMAND, sender_id=locked.sender_id,
                sender_code=locked.sender_code, recipient_code=locked.recipient_code,
                letter_id=locked.letter_id, dispatch_id=locked.dispatch_id,
                payload={"ecms_op": "delete_document", "for": str(locked.message_id),
                         "ecms": locked.payload["ecms"]},
                next_attempt_at=locked.closed_at, created_at=locked.closed_at,
            )
        audit_record(agency_id=locked.sender_id, action="exchange_withdraw", actor=actor,
                     target_type="letter", target_id=locked.letter_id,
                     details={"to": locked.recipient_code, "id": str(locked.message_id),
                              "reason": reason})
    return locked


def exchange_resend(*, actor: Actor, out: OutboxMessage) -> OutboxMessage:
    """Send a withdrawn letter again as a new message (a new message id)."""
    _check_sender(actor, out)
    with transaction.atomic():
        locked = _locked(out)
        if locked.state != OutState.WITHDRAWN or hasattr(locked, "replaced_by"):
            raise Conflict("ส่งใหม่ได้เฉพาะหนังสือที่ถอนคืนแล้ว", code="not_withdrawn")
        now = timezone.now()
        fresh = OutboxMessage.objects.create(
            type=locked.type, sender_id=locked.sender_id, sender_code=locked.sender_code,
            recipient_code=locked.recipient_code, letter_id=locked.letter_id,
            dispatch_id=locked.dispatch_id,
            payload={k: v for k, v in locked.payload.items() if k != "ecms"},
            next_attempt_at=now,
            created_at=now, replaces=locked,
        )
        audit_record(agency_id=locked.sender_id, action="exchange_resend", actor=actor,
                     target_type="letter", target_id=locked.letter_id,
                     details={"to": locked.recipient_code, "id": str(fresh.message_id),
                              "replaces": str(locked.message_id)})
    return fresh


def exchange_dispute_accept_id(*, actor: Actor, out: OutboxMessage,
                               reason: str = "") -> OutboxMessage:
    """e-CMS: tell the recipient that the AcceptID (receipt number) it gave for our letter is
    wrong (``InvalidAcceptIDNotifier``); its next AcceptLetterNotifier replaces the number."""
    _check_sender(actor, out)
    with transaction.atomic():
        locked = _locked(out)
        wire = locked.payload.get("ecms")
        if (locked.type != MessageType.LETTER or locked.state != OutState.REGISTERED
                or not isinstance(wire, dict)):
            raise Conflict("แจ้งเลขรับผิดได้เฉพาะหนังสือที่ส่งทาง e-CMS และผู้รับลงรับแล้ว",
                           code="not_disputable")
        now = timezone.now()
        command = OutboxMessage.objects.create(
            type=MessageType.COMMAND, sender_id=locked.sender_id,
            sender_code=locked.sender_code, recipient_code=locked.recipient_code,
            letter_id=locked.letter_id, dispatch_id=locked.dispatch_id,
            payload={"ecms_op": "invalid_accept_id", "for": str(locked.message_id),
                     "accept_id": locked.receipt_number, "ecms": wire},
            next_attempt_at=now, created_at=now,
        )
        locked.payload = {**locked.payload, "disputed": locked.receipt_number}
        locked.save(update_fields=["payload"])
        audit_record(agency_id=locked.sender_id, action="exchange_ecms_dispute_accept_id",
                     actor=actor, target_type="letter", target_id=locked.letter_id,
                     details={"to": locked.recipient_code, "id": str(locked.message_id),
                              "accept_id": locked.receipt_number, "reason": reason[:500]})
    return command


def overdue_filter(hours: float | None = None) -> Q:
    """Sent but not registered by the recipient within the expected time."""
    limit = hours if hours is not None else _setting("SARABAN_EXCHANGE_OVERDUE_HOURS", 24)
    return Q(state=OutState.SENT, sent_at__lt=timezone.now() - dt.timedelta(hours=limit))
