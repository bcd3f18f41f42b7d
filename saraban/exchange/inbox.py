"""The receiving registry's electronic inbox: register, reject or return what arrived.

Each decision is an action that also queues the business receipt back to the sender, in the
same transaction: registered (with the receipt number and time), rejected or returned as
sent to the wrong agency (with the reason). For a letter that came by e-CMS the receipt
carries the letter's wire values and goes out as the matching notifier (Accept with our
number as AcceptID, Reject, Invalid). A letter that came by e-mail is answered by e-mail,
only when the agency's mailbox says so (``acknowledge``) and can send (an SMTP relay), and
never to an automatic sender (mailer daemons, no-reply addresses, our own address).
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
from saraban.letters.models import (
    Channel,
    Letter,
    LetterKind,
    RegisterEntry,
    Registry,
    Secrecy,
    Urgency,
)
from saraban.letters.services import (
    LetterDetails,
    Upload,
    letter_register_incoming,
)

from .models import DirectoryEntry, InboxMessage, InState, Mailbox, MessageType, OutboxMessage
from .outbox import enqueue_receipt, mail_sender_code

MAILTO = "mailto:"

#: Local parts that are never answered (RFC 3834 §2: mailing lists and automatic senders).
NEVER_ANSWERED = frozenset({
    "mailer-daemon", "postmaster", "noreply", "no-reply", "no_reply", "donotreply",
    "do-not-reply", "do_not_reply", "bounce", "bounces", "auto-reply", "autoreply",
    "listserv", "majordomo",
})


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
        references=_references(message, data),
        enclosures=[str(e) for e in data.get("enclosures", []) if str(e).strip()],
        received_via=arrival_channel(message),
    )


def arrival_channel(message: InboxMessage) -> str:
    """How a letter arrived: "email", "ecms" or "saraban" (the exchange between nodes)."""
    receipt = message.receipt if isinstance(message.receipt, dict) else {}
    channel = str(receipt.get("channel") or "")
    if channel in (Channel.EMAIL, Channel.ECMS):
        return channel
    if message.sender_code.startswith(MAILTO):
        return str(Channel.EMAIL)
    return str(Channel.ECMS if isinstance(message.envelope.get("ecms"), dict)
               else Channel.SARABAN)


def mail_strings(value: Any) -> list[str]:
    """A list of a mail's envelope (ids, defects) as its non-empty strings."""
    return [str(v) for v in value if str(v).strip()] if isinstance(value, list) else []


def mail_addresses(value: Any) -> list[str]:
    """A mail's ``[{"address", "name"}]`` as "Name <address>" (or the address alone)."""
    shown = []
    for a in value if isinstance(value, list) else []:
        if isinstance(a, dict) and a.get("address"):
            name = str(a.get("name") or "")
            shown.append(f"{name} <{a['address']}>" if name else str(a["address"]))
        elif isinstance(a, str) and a.strip():
            shown.append(a)
    return shown


def _references(message: InboxMessage, data: dict[str, Any]) -> list[Letter | str]:
    """อ้างถึง: as sent; a mail that answers one of our letters refers to that letter itself
    (linked, in place of its quoted number)."""
    refs: list[Letter | str] = [str(r) for r in data.get("references", []) if str(r).strip()]
    mail = message.envelope.get("mail")
    replied = mail.get("replied_letter") if isinstance(mail, dict) else None
    if isinstance(replied, int):
        letter = Letter.objects.filter(pk=replied, tenant_id=message.recipient_id).first()
        if letter is not None:
            refs = [letter, *(r for r in refs if r != letter.number)]
    return refs


def _with_ecms(message: InboxMessage, payload: dict[str, Any]) -> dict[str, Any]:
    """A letter that came by e-CMS is answered by a notifier echoing its wire values."""
    wire = message.envelope.get("ecms")
    if isinstance(wire, dict):
        payload["ecms"] = {k: wire.get(k, "") for k in
                           ("letter_id", "date_text", "subject", "sender", "receiver")}
    return payload


def _answer(registry: Registry, message: InboxMessage, payload: dict[str, Any], *,
            letter_id: int | None = None) -> None:
    """The business receipt back to the sender: by the exchange (or e-CMS), or by e-mail."""
    if not message.sender_code.startswith(MAILTO):
        enqueue_receipt(sender=registry.tenant, to_code=message.sender_code,
                        payload=_with_ecms(message, payload))
        return
    mailbox = Mailbox.objects.filter(agency_id=registry.tenant_id).first()
    if mailbox is None or not (mailbox.acknowledge and mailbox.smtp_host and mailbox.enabled):
        return
    address = message.sender_code[len(MAILTO):]
    mail = message.envelope.get("mail")
    mail = mail if isinstance(mail, dict) else {}
    if not answerable(address, mail, own=mailbox.address):
        return
    their_id = str(mail.get("message_id", ""))
    now = timezone.now()
    OutboxMessage.objects.create(
        type=MessageType.RECEIPT, sender=registry.tenant,
        sender_code=mail_sender_code(registry.tenant), recipient_code=f"{MAILTO}{address}",
        payload={
            **payload,
            "letter": letter_id,
            "to_name": str(mail.get("from_name", ""))[:255],
            "mail": {
                "subject": str(mail.get("subject", ""))[:500],
                "in_reply_to": their_id,
                "references": [str(r) for r in mail.get("references", [])][-19:],
            },
        },
        next_attempt_at=now, created_at=now,
    )


def answerable(address: str, mail: dict[str, Any], *, own: str) -> bool:
    """Whether a mail's sender may get an automatic answer (RFC 3834 §2 and §3.1.5)."""
    local = address.lower().rpartition("@")[0]
    if not local or address.lower() == own.lower():
        return False
    if local in NEVER_ANSWERED or local.startswith("owner-") or local.endswith("-request"):
        return False
    if str(mail.get("kind", "letter")) != "letter":
        return False
    auto = str(mail.get("auto_submitted", "no")).strip().lower()
    return auto in {"", "no"}


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
                         if f is not main and f.role != "original"],
            originals=[Upload(f.filename, blobs.read_blob(f.blob)) for f in files
                       if f.role == "original"],
        )
        now = timezone.now()
        locked.state = InState.REGISTERED
        locked.entry = entry
        locked.handled_by = actor.person
        locked.handled_at = now
        locked.save(update_fields=["state", "entry", "handled_by", "handled_at"])
        _answer(registry, locked, {
            "for": str(locked.message_id),
            "status": "registered",
            "number": entry.formatted,
            "at": entry.registered_at.isoformat(),
        }, letter_id=entry.letter_id)
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
        _answer(registry, locked, {"for": str(locked.message_id), "status": state,
                                   "at": now.isoformat(), "reason": locked.reason})
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
