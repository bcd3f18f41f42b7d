"""Polling an agency's own e-CMS node: store each queue item, THEN delete it from the queue.

Per account, under a lease (several workers may run): ``CorrespondenceLetterInboundRequest``
gives the head of the queue (a letter or a notifier, ecms.md §5.2, §7). A letter is stored in
the electronic inbox in one transaction (files, inbox row, audit event and the queued
``ReceiveLetterNotifier``); a notifier is applied to the letter it names. Only after that
commits is the item deleted by its ProcessID. A crash in between gives the same item on the
next poll, which deduplication absorbs: a letter's inbox id is derived from its identity and
content, and the same queue item (same ProcessID) is recognised.

Decisions:

- a letter from a department not in the directory is accepted (the e-CMS node vouches for
  it) and its department listed as an e-CMS entry named after its id;
- a letter whose XML-DSig is broken, or whose files are of a type not allowed (or too big),
  is kept as a *returned* inbox row without its files, audited as ``exchange_refuse``, and
  answered with ``InvalidLetterNotifier``; the queue goes on;
- an item the parser refuses (hostile XML) is audited and deleted by the ProcessID a plain
  text search finds in it; without one the poll stops and says why;
- the same letter sent again after the earlier copy was rejected or returned (the sender
  deleted it with DeleteGovernmentDocument and sent the same number) gets the next
  generation of the id (``…#2``), so it is a new arrival, not a duplicate;
- a notifier that names no letter here is kept in ``EcmsUnmatched``, audited, and deleted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from saraban.core.audit import audit_record
from saraban.core.errors import FileRejected, ValidationFailed
from saraban.ecms import (
    EcmsRefused,
    Header,
    Message,
    NotifierKind,
    Operation,
    SignatureVerdict,
    codes,
    delete_request,
    inbound_response,
    parse_message,
    simple_request,
)
from saraban.letters import files as blobs

from .. import crypto, leases
from ..models import (
    DirectoryEntry,
    EcmsAccount,
    EcmsUnmatched,
    InboxFile,
    InboxMessage,
    InState,
    MessageType,
    OutboxMessage,
    OutState,
)
from ..outbox import enqueue_receipt
from ..receive import _check_signatures, _remove_unreferenced
from .client import EcmsBadAnswer, EcmsNodeError, EcmsUnavailable, call, limits
from .client import setting as _setting

log = logging.getLogger(__name__)

#: The namespace of inbox ids derived from an e-CMS letter's identity.
ECMS_NAMESPACE = uuid.UUID("6f1d6a52-3c1e-5b0e-9a43-7c0e6c1d2b91")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fingerprint(pem: str) -> str:
    try:
        return crypto.fingerprint(pem)
    except ValueError:
        return ""




def poll_interval() -> dt.timedelta:
    return dt.timedelta(seconds=_setting("SARABAN_ECMS_POLL_SECONDS", 30))


def poll_lease() -> dt.timedelta:
    """How long a claim keeps other workers off an account (renewed before every item). A
    worker killed while polling holds it back only this long: by default twice the HTTP
    time-out plus 5 s, i.e. longer than one request can take."""
    default = 2 * _setting("SARABAN_ECMS_TIMEOUT_SECONDS", 30) + 5
    return dt.timedelta(seconds=_setting("SARABAN_ECMS_LEASE_SECONDS", default))


def poll_batch() -> int:
    return int(_setting("SARABAN_ECMS_POLL_BATCH", 50))


@dataclass
class PollResult:
    account: str
    letters: int = 0
    duplicates: int = 0
    notifiers: int = 0
    refused: int = 0
    unmatched: int = 0
    error: str = ""
    items: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.letters + self.duplicates + self.notifiers + self.refused + self.unmatched

    def as_dict(self) -> dict[str, Any]:
        return {"account": self.account, "letters": self.letters,
                "duplicates": self.duplicates, "notifiers": self.notifiers,
                "refused": self.refused, "unmatched": self.unmatched, "error": self.error}


# ---- leases -------------------------------------------------------------------------------


def claim_account(*, owner: str, agency_id: int | None = None,
                  due_only: bool = True) -> EcmsAccount | None:
    """Claim one account to poll (due, not leased by another worker) for ``owner``."""
    where = Q() if agency_id is None else Q(agency_id=agency_id)
    return leases.claim(EcmsAccount, owner=owner, lease=poll_lease(), where=where,
                        due_only=due_only)


def _renew(account: EcmsAccount, owner: str) -> bool:
    return leases.renew(EcmsAccount, account.pk, owner=owner, lease=poll_lease())


def release_account(account: EcmsAccount, owner: str, *, error: str = "",
                    more: bool = False) -> None:
    """Give the account back; due again after the poll interval, or at once when the batch
    ran out before the queue did (``more``)."""
    leases.release(EcmsAccount, account.pk, owner=owner, interval=poll_interval(),
                   error=error, more=more)


# ---- the poll -----------------------------------------------------------------------------


def poll_due(*, limit: int = 10) -> int:
    """Poll the accounts that are due (the worker's loop); the number of items handled."""
    owner = uuid.uuid4().hex
    handled = 0
    for _ in range(limit):
        account = claim_account(owner=owner)
        if account is None:
            break
        handled += poll_claimed(account, owner).handled
    return handled


def poll_now(*, agency_id: int | None = None) -> list[PollResult]:
    """Poll now (``saraban exchange ecms poll``): every account, or one agency's, whether due
    or not; an account another worker is polling is skipped."""
    owner = uuid.uuid4().hex
    results = []
    ids = EcmsAccount.objects.order_by("pk").values_list("agency_id", flat=True)
    for agency in ids if agency_id is None else [agency_id]:
        account = claim_account(owner=owner, agency_id=agency, due_only=False)
        if account is None:
            continue
        results.append(poll_claimed(account, owner))
    return results


def poll_claimed(account: EcmsAccount, owner: str) -> PollResult:
    """Work through the claimed account's queue (at most a batch), then give it back."""
    result = PollResult(account=account.department_id)
    more = True
    try:
        for _ in range(poll_batch()):
            if not _renew(account, owner):
                result.error = "lease lost"
                break
            if not _poll_one(account, result):
                more = False
                break
    except Exception as exc:  # a bug or the database away: the item stays on the queue
        log.exception("polling e-CMS for %s", account.department_id)
        result.error = f"{type(exc).__name__}: {exc}"[:500]
    release_account(account, owner, error=result.error, more=more)
    return result


def _header(account: EcmsAccount) -> Header:
    return Header(message_id=uuid.uuid4().hex, to=account.node_url)


def _poll_one(account: EcmsAccount, result: PollResult) -> bool:
    """Handle the head of the queue; False when the queue is empty or the poll must stop."""
    try:
        message = call(account.node_url,
                       simple_request(Operation.INBOUND, header=_header(account)))
    except (EcmsUnavailable, EcmsNodeError) as exc:
        result.error = f"{getattr(exc, 'code', 'ecms_error')}: {exc}"[:500]
        return False
    except EcmsBadAnswer as exc:
        _refused_item(account, exc.code, str(exc), exc.process_id)
        if not exc.process_id:
            result.error = f"unreadable queue item without a ProcessID: {exc}"[:500]
            return False
        result.refused += 1
        result.items.append(f"refused {exc.process_id} {exc.code}")
        return _delete(account, exc.process_id, result)
    if message.is_empty_queue:
        return False
    if message.letter is not None:
        outcome = store_letter(account, message)
    elif message.notifier is not None:
        outcome = apply_notifier(account, message)
    else:
        _refused_item(account, "ecms_unknown_item", message.operation, message.process_id)
        outcome = "refused"
    setattr(result, outcome, getattr(result, outcome) + 1)
    result.items.append(f"{outcome} {message.process_id}")
    return _delete(account, message.process_id, result)


def _delete(account: EcmsAccount, process_id: str, result: PollResult) -> bool:
    try:
        call(account.node_url, delete_request(process_id, header=_header(account)))
    except (EcmsUnavailable, EcmsNodeError, EcmsBadAnswer) as exc:
        # Stored but still on the queue: the next poll gets it again and absorbs it.
        result.error = f"delete {process_id}: {exc}"[:500]
        return False
    return True


def _refused_item(account: EcmsAccount, code: str, text: str, process_id: str) -> None:
    with transaction.atomic():
        audit_record(agency_id=account.agency_id, action="exchange_refuse", actor=None,
                     details={"channel": "ecms", "code": code, "process_id": process_id,
                              "error": text[:300]})


# ---- letters ------------------------------------------------------------------------------


def _sender_entry(department: str, message: Message) -> DirectoryEntry:
    """The directory entry of the sending department; an unknown one is listed (the node
    vouches for its agencies) under its department id."""
    entry = DirectoryEntry.objects.filter(ecms_department_id=department).first()
    if entry is not None:
        return entry
    assert message.letter is not None
    code = department if not DirectoryEntry.objects.filter(code=department).exists() \
        else f"ecms-{department}"
    party = message.letter.sender
    name = f"หน่วยงาน e-CMS {department}"
    try:
        with transaction.atomic():
            entry = DirectoryEntry.objects.create(
                code=code, name_th=name, node_url="", certificate_pem="", channels=["ecms"],
                ecms_department_id=department, ecms_ministry_id=party.ministry_id.strip()[:2]
                if len(party.ministry_id.strip()) == 2 else department[:2],
            )
    except IntegrityError:
        return DirectoryEntry.objects.get(ecms_department_id=department)
    log.info("listed e-CMS department %s as %s", department, code)
    return entry


def _digest(message: Message) -> str:
    letter = message.letter
    assert letter is not None
    return crypto.digest({
        "id": letter.letter_id, "date": letter.date_text, "subject": letter.subject,
        "secret": letter.secret_code, "speed": letter.speed_code,
        "sender": [letter.sender.given_name, letter.sender.family_name,
                   letter.sender.job_title, letter.sender.ministry_id,
                   letter.sender.department_id],
        "receiver": [letter.receiver.given_name, letter.receiver.family_name,
                     letter.receiver.job_title, letter.receiver.ministry_id,
                     letter.receiver.department_id],
        "references": [[r.letter_id, r.date_text, r.subject] for r in letter.references],
        "attachment": letter.attachment_text, "description": letter.description,
        "files": [[b.mime_code, _sha(b.data)] for b in _binaries(message)],
    })


def _binaries(message: Message) -> list[Any]:
    letter = message.letter
    assert letter is not None
    found = [letter.main] if letter.main is not None and letter.main.data else []
    return found + [b for b in letter.attachments if b.data]


def _message_id(entry: DirectoryEntry, message: Message,
                digest: str) -> tuple[uuid.UUID, InboxMessage | None]:
    """The inbox id of a letter, and the row already stored under it (a duplicate)."""
    letter = message.letter
    assert letter is not None
    base = "|".join([letter.sender.department_id.strip(), letter.receiver.department_id.strip(),
                     letter.letter_id, letter.date_text, digest])
    for generation in range(1, 1000):
        name = base if generation == 1 else f"{base}#{generation}"
        mid = uuid.uuid5(ECMS_NAMESPACE, name)
        seen = InboxMessage.objects.filter(sender_code=entry.code, message_id=mid).first()
        if seen is None:
            return mid, None
        same_item = (seen.envelope.get("ecms") or {}).get("process_id") == message.process_id
        if same_item or seen.state not in {InState.REJECTED, InState.RETURNED}:
            return mid, seen
    raise ValidationFailed("too many generations of one letter", code="ecms_generations")


def _letter_details(account: EcmsAccount, entry: DirectoryEntry,
                    message: Message) -> dict[str, Any]:
    """The ``letter`` part of the envelope: the keys ``inbox._details`` reads."""
    letter = message.letter
    assert letter is not None
    date = letter.date
    enclosures = [letter.attachment_text.strip()] \
        if letter.attachment_text.strip() not in {"", "-"} else []
    refs = []
    for r in letter.references:
        text = r.letter_id.strip()
        if r.date_text.strip():
            text += f" ลงวันที่ {r.date_text.strip()}"
        if r.subject.strip():
            text += f" เรื่อง {r.subject.strip()}"
        if text.strip():
            refs.append(text.strip())
    return {
        "kind": "external",
        "subject": letter.subject.strip()[:500] or "(ไม่มีชื่อเรื่อง)",
        "number": letter.letter_id.strip()[:128],
        "letter_date": date.isoformat() if date is not None else None,
        "urgency": codes.urgency_of(letter.speed_code, 0),
        "secrecy": codes.secrecy_of(letter.secret_code, 0),
        "sender_name": entry.name_th,
        "recipient_name": letter.receiver.job_title.strip() or account.agency.name_th,
        "body": letter.description,
        "references": refs,
        "enclosures": enclosures,
    }


def _wire(message: Message, verdict: str) -> dict[str, Any]:
    letter = message.letter
    assert letter is not None
    signer = message.signer
    return {
        "letter_id": letter.letter_id,
        "date_text": letter.date_text,
        "subject": letter.subject,
        "sender": letter.sender.department_id,
        "receiver": letter.receiver.department_id,
        "process_id": message.process_id,
        "process_time": message.process_time,
        "send_date": letter.send_date,
        "secret_code": letter.secret_code,
        "speed_code": letter.speed_code,
        "signature": verdict,
        "signer": {
            "given_name": signer.given_name, "family_name": signer.family_name,
            "title": signer.title, "department": signer.department_code,
        } if signer is not None else None,
        "signer_certificate": _fingerprint(message.signer_certificate_pem)
        if message.signer_certificate_pem else "",
        "repaired": list(message.repaired),
    }


def _verdict(entry: DirectoryEntry, message: Message) -> str:
    """The XML-DSig verdict against the sender's directory certificate (the parse ran
    without trust, as the sender is known only from the letter)."""
    verdict = message.signature
    if (verdict == SignatureVerdict.UNTRUSTED and entry.certificate_pem
            and message.signer_certificate_pem):
        theirs = _fingerprint(entry.certificate_pem)
        if theirs and theirs == _fingerprint(message.signer_certificate_pem):
            verdict = SignatureVerdict.VALID
        elif message.document_xml:
            # Perhaps issued by the directory's certificate (a CA): verify again with it as
            # the trust anchor (rare; the document is parsed a second time).
            try:
                again = parse_message(
                    inbound_response(process_id=message.process_id or "x",
                                     document_xml=message.document_xml),
                    trust=(entry.certificate_pem,), limits=limits())
            except EcmsRefused:
                return str(verdict)
            verdict = again.signature
    return str(verdict)


def store_letter(account: EcmsAccount, message: Message) -> str:
    """Store one letter from the queue; "letters", "duplicates" or "refused"."""
    letter = message.letter
    assert letter is not None
    department = letter.sender.department_id.strip()
    if not codes_ok(department):
        _refused_item(account, "ecms_bad_sender", f"sender department {department!r}",
                      message.process_id)
        return "refused"
    entry = _sender_entry(department, message)
    digest = _digest(message)
    message_id, seen = _message_id(entry, message, digest)
    if seen is not None:
        return "duplicates"
    verdict = _verdict(entry, message)
    wire = _wire(message, verdict)
    details = _letter_details(account, entry, message)
    if verdict == SignatureVerdict.INVALID:
        return _refuse_letter(account, entry, message_id, digest, details, wire,
                              "bad_signature", "ลายมือชื่อดิจิทัลของหนังสือไม่ถูกต้อง "
                              + message.signature_detail)
    listed: list[tuple[str, str, bytes]] = []  # name, role, content
    main = letter.main if letter.main is not None and letter.main.data else None
    if main is not None:
        listed.append((codes.filename_for(main.mime_code, 0, main=True), "main", main.data))
    for n, binary in enumerate((b for b in letter.attachments if b.data), start=1):
        listed.append((codes.filename_for(binary.mime_code, n), "attachment", binary.data))
    contents: list[tuple[IO[bytes] | bytes, Iterable[str]]] = [
        (data, blobs.MAIN_TYPES if role == "main" else blobs.ATTACHMENT_TYPES)
        for _name, role, data in listed
    ]
    written: list[str] = []
    try:
        with transaction.atomic():
            inbox = InboxMessage.objects.create(
                sender_code=entry.code, message_id=message_id, recipient_id=account.agency_id,
                content_digest=digest, envelope={"letter": details, "files": [], "ecms": wire},
                signature="", receipt={"channel": "ecms", "process_id": message.process_id,
                                       "process_time": message.process_time},
                received_at=timezone.now(),
            )
            written = [_sha(data) for _name, _role, data in listed]
            written = [sha for sha in written if not blobs.blob_path(sha).exists()]
            try:
                kept = blobs.store_files(contents)
            except FileRejected as exc:
                written = []
                raise _Refused(exc.code, exc.message) from exc
            files = []
            for (name, role, _data), blob in zip(listed, kept, strict=True):
                InboxFile.objects.create(message=inbox, blob=blob, role=role,
                                         filename=name[:255])
                files.append({"name": name, "role": role, "sha256": blob.sha256,
                              "size": blob.size, "content_type": blob.content_type})
            inbox.envelope = {**inbox.envelope, "files": files}
            inbox.save(update_fields=["envelope"])
            _check_signatures(inbox)
            audit_record(
                agency_id=account.agency_id, action="exchange_receive", actor=None,
                target_type="inbox", target_id=inbox.pk,
                details={"channel": "ecms", "from": entry.code, "id": str(message_id),
                         "process_id": message.process_id,
                         "letter_id": letter.letter_id[:200],
                         "subject": letter.subject[:200], "signature": verdict,
                         "files": sorted(f["sha256"] for f in files)},
            )
            enqueue_receipt(sender=account.agency, to_code=entry.code, payload={
                "for": str(message_id), "status": "received",
                "ecms": {k: wire[k] for k in ("letter_id", "date_text", "subject", "sender",
                                              "receiver")},
            })
    except IntegrityError:
        _remove_unreferenced(written)
        return "duplicates"
    except _Refused as exc:
        _remove_unreferenced(written)
        return _refuse_letter(account, entry, message_id, digest, details, wire,
                              "file_rejected", f"{exc.code}: {exc.text}")
    return "letters"


class _Refused(Exception):
    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def codes_ok(department: str) -> bool:
    return len(department) == 10 and department.isdigit()


def _refuse_letter(account: EcmsAccount, entry: DirectoryEntry, message_id: uuid.UUID,
                   digest: str, details: dict[str, Any], wire: dict[str, Any], code: str,
                   text: str) -> str:
    """Keep a refused letter as a returned inbox row without files, audit it and answer
    with ``InvalidLetterNotifier``."""
    now = timezone.now()
    reason = f"{code}: {text}"[:500]
    try:
        with transaction.atomic():
            inbox = InboxMessage.objects.create(
                sender_code=entry.code, message_id=message_id, recipient_id=account.agency_id,
                content_digest=digest,
                envelope={"letter": details, "files": [], "ecms": {**wire, "refused": code}},
                signature="", receipt={"channel": "ecms", "process_id": wire["process_id"],
                                       "refused": code},
                received_at=now, state=InState.RETURNED, handled_at=now, reason=reason,
            )
            audit_record(agency_id=account.agency_id, action="exchange_refuse", actor=None,
                         target_type="inbox", target_id=inbox.pk,
                         details={"channel": "ecms", "code": code, "from": entry.code,
                                  "id": str(message_id), "process_id": wire["process_id"],
                                  "letter_id": wire["letter_id"][:200], "error": text[:300]})
            enqueue_receipt(sender=account.agency, to_code=entry.code, payload={
                "for": str(message_id), "status": "returned", "reason": reason,
                "ecms": {k: wire[k] for k in ("letter_id", "date_text", "subject", "sender",
                                              "receiver")},
            })
    except IntegrityError:
        return "duplicates"
    return "refused"


# ---- notifiers ----------------------------------------------------------------------------

_STATE_OF = {
    NotifierKind.ACCEPT: OutState.REGISTERED,
    NotifierKind.REJECT: OutState.REJECTED,
    NotifierKind.INVALID: OutState.RETURNED,
}
_REASON_OF = {
    NotifierKind.REJECT: "ผู้รับปฏิเสธการรับหนังสือ (e-CMS)",
    NotifierKind.INVALID: "ผู้รับแจ้งว่าหนังสือผิดหรือส่งผิดหน่วยงาน (e-CMS)",
}
_ACTION_OF = {
    NotifierKind.ACCEPT: "exchange_business_receipt_registered",
    NotifierKind.REJECT: "exchange_business_receipt_rejected",
    NotifierKind.INVALID: "exchange_business_receipt_returned",
}
_OPEN = {OutState.QUEUED, OutState.SENT, OutState.FAILED}


def _when(text: str) -> dt.datetime:
    moment = parse_datetime(text.strip()) if text.strip() else None
    if moment is None and text.strip():
        day = parse_date(text.strip()[:10])
        if day is not None:
            moment = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    if moment is None:
        return timezone.now()
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _our_letter(account: EcmsAccount, message: Message) -> OutboxMessage | None:
    """The letter row a notifier names: LetterID + CorrespondenceDate, narrowed by Subject
    and the accepting department where several match (ecms.md §5.2)."""
    n = message.notifier
    assert n is not None
    rows = list(OutboxMessage.objects.filter(
        sender_id=account.agency_id, type=MessageType.LETTER,
        payload__ecms__letter_id=n.letter_id, payload__ecms__date_text=n.date_text,
    ).order_by("pk"))
    narrowing: tuple[Callable[[OutboxMessage], bool], ...] = (
        lambda r: bool(r.payload["ecms"].get("subject") == n.subject),
        lambda r: bool(n.accept_department)
        and r.payload["ecms"].get("receiver") == n.accept_department.strip(),
        lambda r: r.state != OutState.WITHDRAWN,
    )
    for narrow in narrowing:
        if len(rows) > 1:
            rows = [r for r in rows if narrow(r)] or rows
    return rows[-1] if rows else None


def apply_notifier(account: EcmsAccount, message: Message) -> str:
    """Apply one notifier idempotently; "notifiers" or "unmatched"."""
    n = message.notifier
    assert n is not None
    if n.kind == NotifierKind.INVALID_ACCEPT_ID:
        return _invalid_accept_id(account, message)
    found = _our_letter(account, message)
    if found is None:
        return _unmatched(account, message, "no_letter")
    with transaction.atomic():
        out = OutboxMessage.objects.select_for_update().get(pk=found.pk)
        if n.kind == NotifierKind.RECEIVE:
            _arrived(out, message)
        else:
            _decided(out, message)
    return "notifiers"


def _arrived(out: OutboxMessage, message: Message) -> None:
    n = message.notifier
    assert n is not None
    receipt = dict(out.transport_receipt or {})
    if "arrived" in receipt:
        return
    receipt.setdefault("channel", "ecms")
    receipt["arrived"] = {"accept_date": n.accept_date, "accept_department": n.accept_department,
                          "process_id": message.process_id}
    out.transport_receipt = receipt
    fields = ["transport_receipt"]
    if out.state in {OutState.QUEUED, OutState.FAILED}:
        out.state = OutState.SENT
        out.sent_at = out.sent_at or timezone.now()
        out.closed_at = None
        fields += ["state", "sent_at", "closed_at"]
    out.save(update_fields=fields)
    audit_record(agency_id=out.sender_id, action="exchange_ecms_arrived", actor=None,
                 target_type="letter", target_id=out.letter_id,
                 details={"to": out.recipient_code, "id": str(out.message_id),
                          "accept_date": n.accept_date, "process_id": message.process_id})


def _decided(out: OutboxMessage, message: Message) -> None:
    n = message.notifier
    assert n is not None
    accept_id = n.accept_id.strip()[:128]
    if out.state == OutState.REGISTERED and n.kind == NotifierKind.ACCEPT:
        disputed = out.payload.get("disputed")
        if disputed is not None and accept_id and accept_id != out.receipt_number:
            previous = out.receipt_number
            out.receipt_number = accept_id
            out.payload = {k: v for k, v in out.payload.items() if k != "disputed"}
            out.save(update_fields=["receipt_number", "payload"])
            audit_record(agency_id=out.sender_id, action="exchange_ecms_accept_id_corrected",
                         actor=None, target_type="letter", target_id=out.letter_id,
                         details={"to": out.recipient_code, "id": str(out.message_id),
                                  "number": accept_id, "previous": previous})
        return
    if out.state not in _OPEN:
        return  # never backwards; a repeat changes nothing
    out.state = _STATE_OF[NotifierKind(n.kind)]
    out.receipt_number = accept_id if n.kind == NotifierKind.ACCEPT else ""
    out.registered_at = _when(n.accept_date)
    out.reason = _REASON_OF.get(NotifierKind(n.kind), "")
    out.closed_at = timezone.now()
    receipt = dict(out.transport_receipt or {})
    receipt.setdefault("channel", "ecms")
    receipt["decided"] = {"kind": str(n.kind), "accept_date": n.accept_date,
                          "accept_department": n.accept_department,
                          "process_id": message.process_id}
    out.transport_receipt = receipt
    out.save(update_fields=["state", "receipt_number", "registered_at", "reason", "closed_at",
                            "transport_receipt"])
    audit_record(agency_id=out.sender_id, action=_ACTION_OF[NotifierKind(n.kind)], actor=None,
                 target_type="letter", target_id=out.letter_id,
                 details={"channel": "ecms", "to": out.recipient_code, "id": str(out.message_id),
                          "number": out.receipt_number, "reason": out.reason})


def _invalid_accept_id(account: EcmsAccount, message: Message) -> str:
    """The sender says our AcceptID for its letter is wrong: record it and answer with a
    fresh AcceptLetterNotifier carrying our registration number."""
    n = message.notifier
    assert n is not None
    rows = list(InboxMessage.objects.filter(
        recipient_id=account.agency_id, state=InState.REGISTERED,
        envelope__ecms__letter_id=n.letter_id, envelope__ecms__date_text=n.date_text,
    ).select_related("entry").order_by("pk"))
    if len(rows) > 1:
        rows = [r for r in rows if r.envelope["ecms"].get("subject") == n.subject] or rows
    if not rows:
        return _unmatched(account, message, "no_registered_letter")
    inbox = rows[-1]
    with transaction.atomic():
        InboxMessage.objects.select_for_update().get(pk=inbox.pk)
        answered = OutboxMessage.objects.filter(
            sender_id=account.agency_id, type=MessageType.RECEIPT,
            payload__answers=message.process_id,
        ).exists()
        if answered:
            return "notifiers"
        number = inbox.entry.formatted if inbox.entry is not None else ""
        wire = inbox.envelope["ecms"]
        enqueue_receipt(sender=account.agency, to_code=inbox.sender_code, payload={
            "for": str(inbox.message_id), "status": "registered", "number": number,
            "at": inbox.entry.registered_at.isoformat() if inbox.entry is not None else "",
            "answers": message.process_id,
            "ecms": {k: wire.get(k, "") for k in ("letter_id", "date_text", "subject",
                                                 "sender", "receiver")},
        })
        audit_record(agency_id=account.agency_id, action="exchange_ecms_invalid_accept_id",
                     actor=None, target_type="inbox", target_id=inbox.pk,
                     details={"from": inbox.sender_code, "letter_id": n.letter_id[:200],
                              "their_accept_id": n.accept_id[:128], "number": number})
    return "notifiers"


def _unmatched(account: EcmsAccount, message: Message, reason: str) -> str:
    n = message.notifier
    assert n is not None
    with transaction.atomic():
        _row, created = EcmsUnmatched.objects.get_or_create(
            agency_id=account.agency_id, process_id=message.process_id[:128], kind=str(n.kind),
            defaults={"letter_id": n.letter_id[:255], "date_text": n.date_text[:64],
                      "subject": n.subject[:1000], "accept_id": n.accept_id[:255],
                      "accept_department": n.accept_department[:64], "reason": reason,
                      "received_at": timezone.now()},
        )
        if created:
            audit_record(agency_id=account.agency_id, action="exchange_ecms_unmatched",
                         actor=None,
                         details={"kind": str(n.kind), "letter_id": n.letter_id[:200],
                                  "date": n.date_text[:32], "process_id": message.process_id,
                                  "reason": reason})
    return "unmatched"
