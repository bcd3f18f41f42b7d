"""What came back by mail about what we sent: bounces (DSN/NDR) and replies.

Every mail we send carries its outbox row's id three ways: the Message-ID
``<{message_id}@{mailbox domain}>``, the DSN envelope id (``ENVID={message_id}``) and an
``X-Saraban-Message: {message_id}`` header. A bounce returns at least one of them (the
returned headers, the ``Original-Envelope-Id``, the quoted original), so it is matched to
exactly the row it is about, never by guessing from subjects. A reply names our Message-ID
in In-Reply-To/References (every client does), or, from a client that drops them, quotes the
letter's number ("ที่ มท 0808.2/123") in its subject or body.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from saraban.core.audit import audit_record
from saraban.core.thai import arabic_digits
from saraban.letters.models import Direction, Letter

from ..models import MessageType, OutboxMessage, OutState

if TYPE_CHECKING:
    from saraban.mail import ParsedMail

    from ..models import Mailbox

log = logging.getLogger(__name__)

MAILTO = "mailto:"

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_HEADER_ID = re.compile(r"X-Saraban-Message:\s*(" + _UUID + ")", re.IGNORECASE)
_ANY_MSGID = re.compile(r"<?(" + _UUID + r")@([A-Za-z0-9.-]+)>?")
_MSGID_LINE = re.compile(r"^Message-ID:[ \t]*(?:\r?\n[ \t]+)?(<[^>\r\n]+>)",
                         re.IGNORECASE | re.MULTILINE)

#: A letter number as written after "ที่": a Thai letter code, the office digits, "/", an
#: optional "ว" (circular) and the serial ("มท 0808.2/ว 123", "ศธ ๐๔๐๐๑/๑๒๓", "กค0402/5").
_NUMBER = re.compile(
    r"(?<![\u0E00-\u0E7F])([ก-ฮ]{1,5}\.?\s*[0-9๐-๙][0-9๐-๙.]*\s*/\s*(?:ว\s*)?[0-9๐-๙]+)"
)


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().lower()


def mail_message_id(message_id: uuid.UUID | str, address: str) -> str:
    """The Message-ID (without <>) of the mail an outbox row sends from ``address``."""
    return f"{message_id}@{domain_of(address) or 'saraban.invalid'}"


def _uuid_of(text: str) -> uuid.UUID | None:
    """The row id in one of our Message-IDs / envelope ids, or None."""
    found = re.search(_UUID, text or "")
    if found is None:
        return None
    try:
        return uuid.UUID(found.group(0))
    except ValueError:
        return None


def _ids_in_text(text: str, domain: str) -> Iterator[uuid.UUID]:
    """Our ids in a Message-ID value, or in returned header lines (X-Saraban-Message and
    Message-ID only: a References line may name other mails of ours)."""
    for m in _HEADER_ID.finditer(text):
        yield uuid.UUID(m.group(1))
    for value in [text] if text.lstrip().startswith("<") and "\n" not in text else \
            [m.group(1) for m in _MSGID_LINE.finditer(text)]:
        for m in _ANY_MSGID.finditer(value):
            if m.group(2).lower().rstrip(".") == domain:
                yield uuid.UUID(m.group(1))


def _text_parts(parsed: ParsedMail) -> Iterator[str]:
    yield parsed.text or ""
    for att in parsed.attachments:
        kind = att.content_type
        if kind.startswith("text/") or kind.startswith("message/") or att.filename.endswith(
            (".eml", ".txt")
        ):
            yield att.data[:200_000].decode("utf-8", "replace")


def bounced_ids(mailbox: Mailbox, parsed: ParsedMail) -> list[uuid.UUID]:
    """Our row ids named by a bounce, most certain first (no duplicates)."""
    domain = domain_of(mailbox.address)
    found: list[uuid.UUID] = []
    bounce = parsed.bounce
    candidates: list[uuid.UUID | None] = []
    if bounce is not None:
        original = bounce.original_message_id
        if domain_of(original) == domain or not original.count("@"):
            candidates.append(_uuid_of(original))
        candidates.append(_uuid_of(bounce.envelope_id))
        for name, value in getattr(bounce, "returned_headers", ()):
            if name.lower() == "x-saraban-message":
                candidates.append(_uuid_of(value))
            elif name.lower() == "message-id":
                candidates.extend(_ids_in_text(value, domain))
    for text in _text_parts(parsed):
        candidates.extend(_ids_in_text(text, domain))
    for ref in (*parsed.in_reply_to, *parsed.references):
        if domain_of(ref) == domain:
            candidates.append(_uuid_of(ref))
    for c in candidates:
        if c is not None and c not in found:
            found.append(c)
    return found


def _our_rows(mailbox: Mailbox, ids: Iterable[uuid.UUID]) -> list[OutboxMessage]:
    wanted = list(ids)
    if not wanted:
        return []
    rows = {
        r.message_id: r
        for r in OutboxMessage.objects.filter(
            message_id__in=wanted, sender_id=mailbox.agency_id,
            recipient_code__startswith=MAILTO,
        )
    }
    return [rows[i] for i in wanted if i in rows]


def _recipient_for(out: OutboxMessage, recipients: Iterable[Any]) -> Any | None:
    """The bounce's line about this row's address (else the first line)."""
    address = out.recipient_code[len(MAILTO):].lower()
    listed = list(recipients)
    for r in listed:
        if str(r.address).lower() == address:
            return r
    return listed[0] if listed else None


def _reason(line: Any | None) -> str:
    if line is None:
        return "ส่งไม่ถึงผู้รับ (ได้รับแจ้งตีกลับ)"
    parts = [p for p in (str(line.status or ""), str(line.diagnostic or "")) if p]
    return " ".join(parts) or "ส่งไม่ถึงผู้รับ (ได้รับแจ้งตีกลับ)"


def apply_bounce(mailbox: Mailbox, parsed: ParsedMail) -> int:
    """Mark the dispatches a DSN/NDR reports as failed (with its status and diagnostic); a
    "delayed" report is only noted. Returns how many of our rows the bounce named."""
    bounce = parsed.bounce
    # A report is about one mail: the row its most certain id names.
    rows = _our_rows(mailbox, bounced_ids(mailbox, parsed))[:1]
    if not rows:
        return 0
    recipients = tuple(bounce.recipients) if bounce is not None else ()
    for out in rows:
        line = _recipient_for(out, recipients)
        action = str(line.action) if line is not None else "failed"
        if action in {"delivered", "relayed", "expanded"}:
            continue
        _record(out, line=line, delayed=action == "delayed",
                reporting_mta=bounce.reporting_mta if bounce is not None else "",
                mail_id=parsed.message_id)
    return len(rows)


def _record(out: OutboxMessage, *, line: Any | None, delayed: bool, reporting_mta: str,
            mail_id: str) -> None:
    reason = _reason(line)[:480]
    now = timezone.now()
    report = {
        "status": str(line.status) if line is not None else "",
        "diagnostic": str(line.diagnostic)[:500] if line is not None else "",
        "recipient": str(line.address) if line is not None else "",
        "action": "delayed" if delayed else "failed",
        "reporting_mta": reporting_mta[:255],
        "message_id": mail_id[:500],
        "at": now.isoformat(),
    }
    with transaction.atomic():
        locked = OutboxMessage.objects.select_for_update().get(pk=out.pk)
        if delayed:
            if locked.state in {OutState.QUEUED, OutState.SENT}:
                locked.last_error = f"delayed: {reason}"[:500]
                locked.transport_receipt = {**(locked.transport_receipt or {}),
                                            "delayed": report}
                locked.save(update_fields=["last_error", "transport_receipt"])
            return
        if locked.state not in {OutState.QUEUED, OutState.SENT}:
            return  # already failed (a second copy of the bounce) or answered
        locked.state = OutState.FAILED
        locked.closed_at = now
        locked.last_error = f"bounced: {reason}"[:500]
        locked.reason = reason[:500]
        locked.transport_receipt = {**(locked.transport_receipt or {}), "bounce": report}
        locked.save(update_fields=["state", "closed_at", "last_error", "reason",
                                   "transport_receipt"])
        if locked.type == MessageType.LETTER:
            audit_record(
                agency_id=locked.sender_id, action="exchange_failed", actor=None,
                target_type="letter", target_id=locked.letter_id,
                details={"to": locked.recipient_code, "id": str(locked.message_id),
                         "error": locked.last_error, "bounce": report},
            )
    log.info("mail %s to %s bounced: %s", out.message_id, out.recipient_code, reason)


# ---- replies ----------------------------------------------------------------------------


def normalise_number(text: str) -> str:
    """A letter number compared without spaces and with Arabic digits ("มท0808.2/ว123")."""
    return re.sub(r"\s+", "", arabic_digits(text or "")).rstrip(".")


def quoted_numbers(text: str) -> list[str]:
    """Letter numbers quoted in a subject or body, normalised, in order."""
    seen: list[str] = []
    for m in _NUMBER.finditer(text or ""):
        n = normalise_number(m.group(1))
        if n not in seen:
            seen.append(n)
    return seen


def _replied_by_id(mailbox: Mailbox, parsed: ParsedMail) -> tuple[int | None, str]:
    domain = domain_of(mailbox.address)
    ids: list[uuid.UUID] = []
    for ref in (*reversed(parsed.in_reply_to), *reversed(parsed.references)):
        u = _uuid_of(ref) if domain_of(ref) == domain else None
        if u is not None and u not in ids:
            ids.append(u)
    for out in _our_rows(mailbox, ids):
        if out.type == MessageType.LETTER and out.letter_id is not None:
            number = Letter.objects.filter(pk=out.letter_id).values_list("number", flat=True)
            return out.letter_id, number.first() or ""
        letter_id = out.payload.get("letter")
        if out.type == MessageType.RECEIPT and isinstance(letter_id, int):
            return letter_id, str(out.payload.get("number", ""))
    return None, ""


def _replied_by_number(mailbox: Mailbox, parsed: ParsedMail) -> tuple[int | None, str]:
    wanted = quoted_numbers(parsed.subject)
    wanted += [n for n in quoted_numbers((parsed.text or "")[:20_000]) if n not in wanted]
    if not wanted:
        return None, ""
    sender = parsed.sender.address.lower() if parsed.sender is not None else ""
    for n in wanted[:10]:
        serial = re.search(r"(\d+)$", n)
        if serial is None:
            continue
        # Our numbers are issued as "prefix/123" or "prefix/ว 123" (numbering.format_number).
        tail = serial.group(1)
        rows = list(
            Letter.objects.filter(tenant_id=mailbox.agency_id, direction=Direction.OUTGOING)
            .filter(Q(number__endswith=f"/{tail}") | Q(number__endswith=f"ว {tail}"))
            .order_by("-letter_date", "-pk").values_list("pk", "number")[:200]
        )
        matches = [(pk, number) for pk, number in rows if normalise_number(number) == n]
        if not matches:
            continue
        if len(matches) > 1 and sender:
            # The same number in another year: prefer the letter mailed to this sender.
            mailed = set(OutboxMessage.objects.filter(
                letter_id__in=[pk for pk, _ in matches], recipient_code=MAILTO + sender,
            ).values_list("letter_id", flat=True))
            matches = [m for m in matches if m[0] in mailed] or matches
        return matches[0]
    return None, ""


def replied_letter(mailbox: Mailbox, parsed: ParsedMail) -> tuple[int | None, str]:
    """The letter of this agency a mail answers, and its number: (letter id, number), or
    (None, "") when it names none."""
    found = _replied_by_id(mailbox, parsed)
    if found[0] is not None:
        return found
    return _replied_by_number(mailbox, parsed)
