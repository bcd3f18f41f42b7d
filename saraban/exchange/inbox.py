"""The receiving registry's electronic inbox: register, reject or return what arrived.

Each decision is an action that also queues the business receipt back to the sender, in the
same transaction: registered (with the receipt number and time), rejected or returned as
sent to the wrong agency (with the reason). For a letter that came by e-CMS the receipt
carries the letter's wire values and goes out as the matching notifier (Accept with our
number as AcceptID, Reject, Invalid).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from saraban.agencies.actors import Actor
from saraban.core.audit import audit_record
from saraban.core.errors import Conflict, PermissionDenied, ValidationFailed
from saraban.letters import files as blobs
from saraban.letters.access import registries_for
from saraban.letters.models import LetterKind, RegisterEntry, Registry, Secrecy, Urgency
from saraban.letters.services import (
    LetterDetails,
    Upload,
    letter_register_incoming,
)

from .models import DirectoryEntry, InboxMessage, InState
from .outbox import enqueue_receipt


def inbox_for(actor: Actor) -> list[Registry]:
    """Central registries of the agencies whose electronic inbox this person handles."""
    return list(registries_for(actor.person).filter(is_central=True))


def _central_registry(actor: Actor, message: InboxMessage) -> Registry:
    registry = (
        registries_for(actor.person)
        .filter(is_central=True, tenant_id=message.recipient_id)
        .first()
    )
    if registry is None:
        raise PermissionDenied("ท่านไม่มีสิทธิ์ลงรับหนังสือของส่วนราชการนี้",
                               code="inbox_forbidden")
    return registry


def _details(message: InboxMessage) -> LetterDetails:
    data: dict[str, Any] = message.envelope.get("letter", {})
    sender = DirectoryEntry.objects.filter(code=message.sender_code).first()
    kind = str(data.get("kind", LetterKind.EXTERNAL))
    urgency = data.get("urgency", 0)
    secrecy = data.get("secrecy", 0)
    letter_date = None
    if data.get("letter_date"):
        try:
            letter_date = dt.date.fromisoformat(str(data["letter_date"]))
        except ValueError:
            letter_date = None
    return LetterDetails(
        kind=kind if kind in LetterKind.values else LetterKind.EXTERNAL,
        subkind=str(data.get("subkind", "")),
        subject=str(data.get("subject", ""))[:500],
        urgency=urgency if urgency in Urgency.values else Urgency.NORMAL,
        secrecy=secrecy if secrecy in Secrecy.values else Secrecy.NORMAL,
        number=str(data.get("number", ""))[:128],
        letter_date=letter_date,
        sender_agency=sender.agency if sender is not None and sender.agency else None,
        sender_text=str(data.get("sender_name", "") or message.sender_code)[:255],
        recipient_text=str(data.get("recipient_name", ""))[:255],
        salutation=str(data.get("salutation", ""))[:255],
        body=str(data.get("body", "")),
        references=[str(r) for r in data.get("references", []) if str(r).strip()],
        enclosures=[str(e) for e in data.get("enclosures", []) if str(e).strip()],
    )


def _with_ecms(message: InboxMessage, payload: dict[str, Any]) -> dict[str, Any]:
    """A letter that came by e-CMS is answered by a notifier echoing its wire values."""
    wire = message.envelope.get("ecms")
    if isinstance(wire, dict):
        payload["ecms"] = {k: wire.get(k, "") for k in
                           ("letter_id", "date_text", "subject", "sender", "receiver")}
    return payload


def _lock_waiting(message: InboxMessage) -> InboxMessage:
    locked = InboxMessage.objects.select_for_update().get(pk=message.pk)
    if locked.state != InState.WAITING:
        raise Conflict("หนังสือนี้ได้รับการดำเนินการแล้ว", code="inbox_already_handled")
    return locked


def exchange_inbox_register(*, actor: Actor, message: InboxMessage) -> RegisterEntry:
    """Register an arrived letter in the incoming register and send back the receipt number."""
    registry = _central_registry(actor, message)
    details = _details(message)
    with transaction.atomic():
        locked = _lock_waiting(message)
        files = list(locked.files.select_related("blob"))
        main = next((f for f in files if f.role == "main"), None)
        entry = letter_register_incoming(
            actor=actor,
            registry=registry,
            details=details,
            main_file=Upload(main.filename, blobs.read_blob(main.blob)) if main else None,
            attachments=[Upload(f.filename, blobs.read_blob(f.blob)) for f in files
                         if f is not main],
        )
        now = timezone.now()
        locked.state = InState.REGISTERED
        locked.entry = entry
        locked.handled_by = actor.person
        locked.handled_at = now
        locked.save(update_fields=["state", "entry", "handled_by", "handled_at"])
        enqueue_receipt(
            sender=registry.tenant,
            to_code=locked.sender_code,
            payload=_with_ecms(locked, {
                "for": str(locked.message_id),
                "status": "registered",
                "number": entry.formatted,
                "at": entry.registered_at.isoformat(),
            }),
        )
        audit_record(
            agency_id=registry.tenant_id, action="exchange_inbox_register", actor=actor,
            target_type="letter", target_id=entry.letter_id,
            details={"from": locked.sender_code, "id": str(locked.message_id),
                     "number": entry.formatted},
        )
    return entry


def _decline(*, actor: Actor, message: InboxMessage, reason: str, state: str) -> InboxMessage:
    registry = _central_registry(actor, message)
    if not reason.strip():
        raise ValidationFailed("กรุณาระบุเหตุผล", code="reason_required", field="reason")
    with transaction.atomic():
        locked = _lock_waiting(message)
        now = timezone.now()
        locked.state = state
        locked.reason = reason.strip()[:500]
        locked.handled_by = actor.person
        locked.handled_at = now
        locked.save(update_fields=["state", "reason", "handled_by", "handled_at"])
        enqueue_receipt(
            sender=registry.tenant,
            to_code=locked.sender_code,
            payload=_with_ecms(locked, {"for": str(locked.message_id), "status": state,
                                        "at": now.isoformat(), "reason": locked.reason}),
        )
        audit_record(
            agency_id=registry.tenant_id, action=f"exchange_inbox_{state}", actor=actor,
            target_type="inbox", target_id=locked.pk,
            details={"from": locked.sender_code, "id": str(locked.message_id),
                     "reason": locked.reason},
        )
    return locked


def exchange_inbox_reject(*, actor: Actor, message: InboxMessage, reason: str) -> InboxMessage:
    """Refuse an arrived letter (e.g. incomplete enclosures), telling the sender why."""
    return _decline(actor=actor, message=message, reason=reason, state=InState.REJECTED)


def exchange_inbox_return(*, actor: Actor, message: InboxMessage, reason: str) -> InboxMessage:
    """Send an arrived letter back as addressed to the wrong agency."""
    return _decline(actor=actor, message=message, reason=reason, state=InState.RETURNED)
