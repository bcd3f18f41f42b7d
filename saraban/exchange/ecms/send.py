"""Delivering outbox rows through e-CMS: letters, notifiers and commands to the own node.

Every row is POSTed to the SENDING agency's own node (``EcmsAccount.node_url``); the node
relays it. A letter becomes ``CorrespondenceLetterOutboundRequest`` with the current main file
as ``MainLetterBinaryObject`` and XML-DSig by the agency's exchange key; a RECEIPT row whose
payload carries the letter's wire values becomes the matching notifier (received → Receive,
registered → Accept with our number as AcceptID, rejected → Reject, returned → Invalid); a
COMMAND row is ``CorrespondenceDeleteGovernmentDocumentRequest`` (after a withdrawal) or an
``InvalidAcceptIDNotifier`` (the sender disputes the receiver's number).

The wire values a letter was sent with (``letter_id``, ``date_text``, ``subject``, the two
departments) are kept in ``OutboxMessage.payload["ecms"]``: the notifiers coming back echo
them byte for byte and are matched against them.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from saraban.core.audit import audit_record
from saraban.ecms import (
    Binary,
    DocumentKey,
    EcmsRefused,
    Header,
    Letter,
    Message,
    Notifier,
    NotifierKind,
    Party,
    Reference,
    Signer,
    codes,
    delete_document_request,
    letter_request,
    notifier_request,
)
from saraban.letters import files as blobs
from saraban.letters.models import Channel, FileRole
from saraban.letters.models import Letter as SarabanLetter

from .. import crypto
from ..models import (
    AgencyCredential,
    CredentialKind,
    DirectoryEntry,
    EcmsAccount,
    MessageType,
    OutboxMessage,
    OutState,
)
from ..transport import DeliveryFailed, EcmsTransport

log = logging.getLogger(__name__)

#: ErrorDetail codes after which the same request would be refused again (the node's and
#: the wire library's); every other code, 5xx, time-out and unreadable answer is retried.
PERMANENT_NODE_CODES = frozenset({
    "xml_malformed", "xml_dtd_refused", "xml_too_large", "xml_too_deep", "not_soap",
    "unknown_operation", "missing_element", "bad_base64", "file_too_large", "too_many_files",
    "bad_value", "unknown_department", "unknown_receiver", "unknown_sender",
    "duplicate_letter", "letter_exists", "identity_conflict", "content_conflict",
    "unknown_letter", "not_found", "validation_error", "bad_request", "signature_invalid",
    "sender_mismatch", "letter_deleted",
})

#: Business receipt status (the inbox's decisions) → the notifier that carries it.
NOTIFIER_OF_STATUS = {
    "received": NotifierKind.RECEIVE,
    "registered": NotifierKind.ACCEPT,
    "rejected": NotifierKind.REJECT,
    "returned": NotifierKind.INVALID,
}


def is_ecms(out: OutboxMessage, entry: DirectoryEntry | None) -> bool:
    """Whether a row goes through e-CMS: commands always; a letter dispatched by the e-CMS
    channel; a receipt for a letter that came by e-CMS (its payload has the wire values);
    anything to an entry reached only by e-CMS."""
    if out.type == MessageType.COMMAND:
        return True
    if out.type == MessageType.LETTER and out.dispatch is not None \
            and out.dispatch.channel == Channel.ECMS:
        return True
    if out.type == MessageType.RECEIPT and isinstance(out.payload.get("ecms"), dict):
        return True
    return (entry is not None and not entry.is_local and "ecms" in entry.channels
            and "saraban" not in entry.channels)


def account_of(agency_id: int) -> EcmsAccount:
    account = EcmsAccount.objects.filter(agency_id=agency_id).first()
    if account is None:
        raise DeliveryFailed("the sending agency has no e-CMS account",
                             code="ecms_no_account", permanent=True)
    return account


# ---- the letter on the wire -------------------------------------------------------------


def _split_name(full: str) -> tuple[str, str]:
    parts = full.split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


def _sender_person(letter: SarabanLetter) -> tuple[str, str, str]:
    """Given name, family name and job title of who issued the letter (the registration's
    person, i.e. the signer of a signed draft or the clerk), or empty."""
    from saraban.agencies.models import Position

    entry = letter.entries.select_related("registered_by", "position").order_by("pk").first()
    if entry is None:
        return "", "", ""
    person = entry.registered_by
    given, family = _split_name(person.full_name_th or person.get_full_name() or "")
    title = entry.position.title_th if entry.position is not None else ""
    if not title:
        post = Position.objects.filter(holder=person).order_by("pk").first()
        title = post.title_th if post is not None else ""
    return given, family, title


def _ref(r: Any) -> Reference:
    if r.referenced is not None:
        ref = r.referenced
        return Reference(
            letter_id=ref.number or "",
            date_text=codes.ce_date(ref.letter_date) if ref.letter_date else "",
            subject=ref.subject or "",
        )
    return Reference(letter_id=r.text, date_text="", subject="")


def mime_of(f: Any) -> str:
    """The ``mimeCode`` of a stored file: its checked type, made specific by the file name's
    extension where the check knows only the family (an Office or OpenDocument file)."""
    checked = str(f.blob.content_type)
    by_name = codes.mime_for(f.filename)
    if checked != by_name and by_name.startswith(checked):
        return by_name
    return checked


def main_file_of(letter: SarabanLetter) -> Any:
    return (letter.files.filter(role=FileRole.MAIN, replaced_at__isnull=True)
            .select_related("blob").order_by("pk").first())


def wire_letter(out: OutboxMessage, entry: DirectoryEntry, account: EcmsAccount) -> Letter:
    """The ``ram:CorrespondenceLetter`` of an outbox letter row (content fixed per row:
    ``SendDate`` is the row's creation time, so every attempt sends the same letter)."""
    letter = out.letter
    assert letter is not None
    main = main_file_of(letter)
    if main is None:
        raise DeliveryFailed("e-CMS needs the main letter file", code="ecms_main_required",
                             permanent=True)
    if not entry.ecms_department_id:
        raise DeliveryFailed("the recipient has no e-CMS department id",
                             code="ecms_unknown_recipient", permanent=True)
    if letter.letter_date is None or not letter.number:
        raise DeliveryFailed("the letter has no number or date", code="ecms_no_number",
                             permanent=True)
    given, family, title = _sender_person(letter)
    if not (given or family):
        given = out.sender.name_th
    attachments = list(letter.files.filter(role=FileRole.ATTACHMENT, replaced_at__isnull=True)
        .select_related("blob").order_by("pk"))
    enclosures = [e.description for e in letter.enclosures.all()]
    local = timezone.localtime(out.created_at)
    try:
        return Letter(
            letter_id=letter.number,
            date_text=codes.ce_date(letter.letter_date),
            subject=letter.subject,
            secret_code=codes.secret_code(letter.secrecy),
            speed_code=codes.speed_code(letter.urgency),
            sender=Party(given_name=given, family_name=family, job_title=title,
                         ministry_id=account.ministry_id, department_id=account.department_id),
            receiver=Party(job_title=(out.dispatch.recipient_text if out.dispatch else "")
                           or entry.name_th,
                           ministry_id=entry.ecms_ministry_id
                           or entry.ecms_department_id[:2],
                           department_id=entry.ecms_department_id),
            references=tuple(_ref(r) for r in letter.references.select_related("referenced")),
            attachment_text=", ".join(enclosures) or "-",
            send_date=local.strftime("%Y-%m-%dT%H:%M:%S"),
            description=(letter.body.strip() or letter.subject)[:2000],
            main=Binary(mime_of(main), blobs.read_blob(main.blob)),
            attachments=tuple(Binary(mime_of(f), blobs.read_blob(f.blob)) for f in attachments),
        )
    except EcmsRefused as exc:
        raise DeliveryFailed(exc.message, code=exc.code, permanent=True) from exc


def _signing(out: OutboxMessage, letter: Letter) -> dict[str, Any]:
    """The XML-DSig key of the sender: its sealed exchange key. A key on a PKCS#11 token
    cannot sign the XML here: such a letter goes unsigned (its PDF keeps its own signature)
    and the audit event says so."""
    credential = AgencyCredential.objects.filter(agency_id=out.sender_id).first()
    if credential is None or credential.kind != CredentialKind.SEALED:
        return {}
    party = letter.sender
    return {
        "signer": Signer(type_code="DSIG", given_name=party.given_name,
                         family_name=party.family_name, title=party.job_title,
                         ministry_code=party.ministry_id, department_code=party.department_id),
        "sign_key_pem": crypto.stored_key_pem(credential.private_key_pem).decode("ascii"),
        "sign_cert_pem": credential.certificate_pem,
    }


def _wire_values(letter: Letter) -> dict[str, Any]:
    return {
        "letter_id": letter.letter_id,
        "date_text": letter.date_text,
        "subject": letter.subject,
        "sender": letter.sender.department_id,
        "receiver": letter.receiver.department_id,
    }


# ---- requests per row type --------------------------------------------------------------


def _request(out: OutboxMessage, entry: DirectoryEntry,
             account: EcmsAccount) -> tuple[bytes, dict[str, Any]]:
    """The SOAP request for one row and the wire values to keep with it."""
    header = Header(message_id=str(out.message_id), to=entry.ecms_node_url or account.node_url)
    if out.type == MessageType.LETTER:
        letter = wire_letter(out, entry, account)
        signing = _signing(out, letter)
        body = letter_request(letter, header=header, **signing)
        values = _wire_values(letter)
        values["signed"] = bool(signing)
        return body, values
    wire = out.payload.get("ecms")
    if not isinstance(wire, dict):
        raise DeliveryFailed("no e-CMS letter named in the row", code="ecms_no_letter",
                             permanent=True)
    if out.type == MessageType.COMMAND and out.payload.get("ecms_op") == "delete_document":
        key = DocumentKey(letter_id=wire["letter_id"], date_text=wire["date_text"],
                          sender_department=wire["sender"], accept_department=wire["receiver"])
        return delete_document_request(key, header=header), {}
    if out.type == MessageType.COMMAND and out.payload.get("ecms_op") == "invalid_accept_id":
        kind = NotifierKind.INVALID_ACCEPT_ID
        accept_id = str(out.payload.get("accept_id", ""))
    elif out.type == MessageType.RECEIPT:
        status = str(out.payload.get("status", ""))
        if status not in NOTIFIER_OF_STATUS:
            raise DeliveryFailed(f"no notifier for {status!r}", code="ecms_bad_status",
                                 permanent=True)
        kind = NOTIFIER_OF_STATUS[status]
        accept_id = str(out.payload.get("number", "")) if kind == NotifierKind.ACCEPT else ""
    else:
        raise DeliveryFailed("unknown e-CMS command", code="ecms_bad_command", permanent=True)
    notifier = Notifier(kind=kind, letter_id=wire["letter_id"], date_text=wire["date_text"],
                        subject=wire["subject"], accept_id=accept_id)
    return notifier_request(notifier, header=header), {}


def _pending_delete(out: OutboxMessage) -> bool:
    """A resent letter waits until the withdrawal's DeleteGovernmentDocument got through, or
    the node would refuse the same number as a duplicate."""
    if out.letter_id is None:
        return False
    return OutboxMessage.objects.filter(
        type=MessageType.COMMAND, letter_id=out.letter_id, recipient_code=out.recipient_code,
        state=OutState.QUEUED, payload__ecms_op="delete_document",
    ).exists()


def deliver_ecms(out: OutboxMessage, entry: DirectoryEntry) -> str:
    """Deliver one claimed row through the sender's e-CMS node; its state afterwards."""
    from ..outbox import _failed_attempt

    if out.type == MessageType.LETTER and _pending_delete(out):
        OutboxMessage.objects.filter(pk=out.pk, state=OutState.QUEUED).update(
            next_attempt_at=timezone.now() + dt.timedelta(seconds=1),
            attempts=F("attempts") - 1,
        )
        return OutState.QUEUED
    try:
        account = account_of(out.sender_id)
        body, values = _request(out, entry, account)
        if values and out.payload.get("ecms") != values:
            # Kept before the POST: a notifier about this letter may come back before the
            # answer is recorded (or after a crash that lost it), and is matched on these.
            out.payload = {**out.payload, "ecms": values}
            OutboxMessage.objects.filter(pk=out.pk).update(payload=out.payload)
        answer = _post(account, body)
    except DeliveryFailed as exc:
        return _failed_attempt(out, exc)
    return _sent(out, answer)


def _post(account: EcmsAccount, body: bytes) -> Message:
    return EcmsTransport(account.node_url).post(body)


def _sent(out: OutboxMessage, answer: Message) -> str:
    now = timezone.now()
    receipt = {"channel": "ecms", "process_id": answer.process_id,
               "process_time": answer.process_time}
    with transaction.atomic():
        locked = OutboxMessage.objects.select_for_update().get(pk=out.pk)
        values = locked.payload.get("ecms") or {}
        if locked.state == OutState.QUEUED:
            locked.state = OutState.SENT
            locked.sent_at = now
            locked.last_error = ""
            locked.transport_receipt = {**(locked.transport_receipt or {}), **receipt}
            if locked.type == MessageType.LETTER:
                audit_record(
                    agency_id=locked.sender_id, action="exchange_sent", actor=None,
                    target_type="letter", target_id=locked.letter_id,
                    details={"to": locked.recipient_code, "id": str(locked.message_id),
                             "channel": "ecms", "process_id": answer.process_id,
                             "signed": bool(values.get("signed"))},
                )
            elif locked.type == MessageType.COMMAND:
                audit_record(
                    agency_id=locked.sender_id, action="exchange_ecms_command_sent",
                    actor=None, target_type="letter", target_id=locked.letter_id,
                    details={"op": locked.payload.get("ecms_op", ""),
                             "to": locked.recipient_code, "process_id": answer.process_id},
                )
        else:  # a notifier overtook the answer: keep the later state, add the receipt
            locked.transport_receipt = {**receipt, **(locked.transport_receipt or {})}
            if locked.sent_at is None:
                locked.sent_at = now
        locked.save(update_fields=["state", "sent_at", "last_error", "transport_receipt"])
        return locked.state
