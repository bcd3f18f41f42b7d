"""One raw mail into the central mailbox's registry: an inbox item, kept apart, or refused.

``ingest(mailbox, raw, source=…)`` is the one entry for both paths (IMAP and the mail
server's pipe). In order:

1. too big for ``SARABAN_MAIL_MAX_BYTES``: refused unread (not kept);
2. parsed by ``saraban.mail.parse_mail`` under the limits from the settings, in a sandboxed
   child (``saraban.core.sandbox``: bounded memory, CPU and time, like every file that comes
   from outside); a mail the parser refuses (malformed, too many parts, too deep, a
   dangerous attachment…) or that exhausts the sandbox is recorded and audited as
   ``exchange_refuse`` (channel "email", code, reason); its raw bytes are kept unless it was
   oversized or dangerous;
3. already processed (same normalised Message-ID, or same content digest): "duplicate",
   nothing written;
4. a bounce (handed to ``matching.apply_bounce``), an auto-reply or a mail loop is kept apart:
   a ``MailSeen`` row with the raw mail, never an inbox item, never answered;
5. a letter from a sender the mailbox's rules do not accept: "sender_refused" (raw kept,
   audited);
6. a letter: an ``InboxMessage`` with its files — the first PDF "main", the other files the
   blob store accepts "attachment", the raw mail "original"; files of other types are not
   kept as files but listed in ``envelope["mail"]["not_kept"]`` (the original holds them) —
   the PDFs' signatures verified, audited as ``exchange_receive`` (channel "email").

Each mail is processed once: the ``MailSeen`` row (unique per mailbox by Message-ID key and by
digest) is written first in the transaction that stores everything else, so two processes
given the same mail at once make one inbox item (the second waits on the row and finds it).
A refusal never raises: whatever the bytes, ``ingest`` returns an ``IngestResult``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import tempfile
import unicodedata
import uuid
from dataclasses import asdict, dataclass, field, replace
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from saraban.core import sandbox
from saraban.core.audit import audit_record
from saraban.core.errors import FileRejected
from saraban.letters import files as blobs
from saraban.letters.models import Blob
from saraban.mail import (
    MailKind,
    MailLimits,
    MailRefused,
    ParsedMail,
    classify,
    message_id_key,
    sandboxed,
)

from ..models import InboxFile, InboxMessage, Mailbox, MailOutcome, MailSeen
from ..receive import _check_signatures, _remove_unreferenced
from . import matching
from .rules import accepts

__all__ = ["MAIL_NAMESPACE", "IngestResult", "header_message_id", "ingest", "mail_limits",
           "parse_sandboxed", "refuse_unread", "seen_key"]

log = logging.getLogger(__name__)

#: The namespace of inbox ids derived from a mail: uuid5(MAIL_NAMESPACE, "<mailbox>|<key>").
MAIL_NAMESPACE = uuid.UUID("0c5b4f0e-6a3e-5d1f-8b7a-2e9d3c4a1f60")

MAILTO = "mailto:"
MiB = 1024 * 1024

#: Refusals whose raw bytes are not kept (too big to keep, or hostile).
_NOT_KEPT = frozenset({"mail_too_large", "mail_attachment_too_large",
                       "mail_dangerous_attachment"})

_KEPT_APART = {MailKind.AUTO_REPLY: MailOutcome.AUTO_REPLY, MailKind.BOUNCE: MailOutcome.BOUNCE,
               MailKind.LOOP: MailOutcome.LOOP}

#: A letter number as written after "ที่" ("ที่ มท 0808.2/ว 123", "ที่ ศธ ๐๔๐๐๑/๑๒๓").
_NUMBER = (r"(?:[ก-ฮ]{1,5}\.?\s?){1,2}\s*[0-9๐-๙][0-9๐-๙.]*\s*/\s*(?:ว\s*\.?\s*)?[0-9๐-๙]+")
_NUMBER_AFTER = re.compile(r"(?<![ก-๙])ที่\s*[:：]?\s*(" + _NUMBER + r")")
#: A subject written as our own outgoing mails are: "ที่ <number> [ลงวันที่ …] เรื่อง <subject>".
_NUMBERED_SUBJECT = re.compile(
    r"^\s*ที่\s*[:：]?\s*(" + _NUMBER + r")\s*(?:ลงวันที่\s+[^เ]*?\s*)?เรื่อง\s*[:：]?\s*(.+)$")


@dataclass
class IngestResult:
    """What became of one mail. ``outcome``: "inbox", "duplicate", "auto_reply", "bounce",
    "loop", "refused" or "sender_refused"."""

    outcome: str
    inbox_id: int | None = None
    code: str = ""
    reason: str = ""
    subject: str = ""
    sender: str = ""
    attachments: list[str] = field(default_factory=list)
    seen_id: int | None = None
    #: For a duplicate: what the mail became the first time.
    first_outcome: str = ""

    @property
    def refused(self) -> bool:
        return self.outcome in {MailOutcome.REFUSED, MailOutcome.SENDER_REFUSED}

    @property
    def is_letter(self) -> bool:
        """An inbox item (now or the first time): the mail goes to the "done" folder, any
        other to the "kept" one."""
        return MailOutcome.INBOX in {self.outcome, self.first_outcome}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def mail_limits() -> MailLimits:
    """The parser's limits from the settings (``SARABAN_MAIL_*``)."""
    default = MailLimits()
    return MailLimits(
        max_bytes=int(getattr(settings, "SARABAN_MAIL_MAX_BYTES", default.max_bytes)),
        max_parts=int(getattr(settings, "SARABAN_MAIL_MAX_PARTS", default.max_parts)),
        max_depth=int(getattr(settings, "SARABAN_MAIL_MAX_DEPTH", default.max_depth)),
        max_attachment_bytes=int(getattr(settings, "SARABAN_MAIL_MAX_ATTACHMENT_BYTES",
                                         default.max_attachment_bytes)),
        max_headers=default.max_headers,
        max_received=default.max_received,
    )


def parse_sandboxed(raw: bytes, limits: MailLimits) -> ParsedMail:
    """``parse_mail(raw, limits=limits)`` in a sandboxed child. Raises ``MailRefused`` for
    the parser's refusals and ``FileRejected`` (``file_bomb``, ``parser_timeout``,
    ``file_too_complex``, ``file_unreadable``) when the child went over its limits."""
    # The answer carries the files in base64 and the text: bound it by the mail's size.
    budget = replace(sandbox.limits_from_settings(), output=3 * limits.max_bytes + MiB)
    with tempfile.NamedTemporaryFile(prefix="saraban-mail-", suffix=".eml") as fh:
        fh.write(raw)
        fh.flush()
        answer = sandbox.run("saraban.mail.sandboxed:parse_file", fh.name, asdict(limits),
                             limits=budget)
    if "refused" in answer:
        raise MailRefused(str(answer["refused"]), str(answer.get("message", "")))
    return sandboxed.from_json(answer["mail"])


def seen_key(message_id: str) -> str:
    """The ``MailSeen.message_key`` of a Message-ID: SHA-256 of its normalised form ("" for
    none)."""
    key = message_id_key(message_id) if message_id.strip() else ""
    return hashlib.sha256(key.encode()).hexdigest() if key else ""


def header_message_id(head: bytes) -> str:
    """The Message-ID of a mail's header block (or a whole raw mail), read leniently without
    the full parser; "" when there is none. Used before a mail is downloaded, and for mail
    the parser refuses, so that both are still recognised when they come again."""
    end = head.find(b"\r\n\r\n")
    if end < 0:
        end = head.find(b"\n\n")
    head = head[: end if end >= 0 else 256 * 1024][: 256 * 1024]
    try:
        value = BytesHeaderParser(policy=compat32).parsebytes(head).get("Message-ID")
    except Exception:  # any bytes: a header we cannot read has no id
        return ""
    text = str(value or "").strip()
    found = re.search(r"<([^<>\s]+)>", text)
    return (found.group(1) if found else text.split()[0] if text.split() else "")[:998]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _already(mailbox: Mailbox, key: str, digest: str) -> MailSeen | None:
    match = Q(digest=digest) | Q(message_key=key) if key else Q(digest=digest)
    return MailSeen.objects.filter(match, mailbox=mailbox).order_by("pk").first()


def _duplicate(seen: MailSeen) -> IngestResult:
    attachments = [] if seen.inbox_id is None else list(
        InboxFile.objects.filter(message_id=seen.inbox_id).exclude(role="original")
        .values_list("filename", flat=True))
    return IngestResult(outcome="duplicate", inbox_id=seen.inbox_id, code=seen.code,
                        reason=seen.reason, subject=seen.subject, sender=seen.sender,
                        attachments=attachments, seen_id=seen.pk, first_outcome=seen.outcome)


def _keep_raw(raw: bytes, written: list[str]) -> Blob | None:
    """The raw mail in the blob store (``store_mail_original``), or None if it cannot be."""
    sha = _sha(raw)
    if not blobs.blob_path(sha).exists():
        written.append(sha)
    try:
        return blobs.store_mail_original(raw)
    except FileRejected as exc:
        log.warning("raw mail not kept: %s", exc)
        return None


def _clean(value: Any) -> Any:
    """Text the databases take: no NUL (PostgreSQL refuses it in text and JSON) and no lone
    surrogate (not encodable as UTF-8), in every string of a JSON-like value."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "replace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def ingest(mailbox: Mailbox, raw: bytes, *, source: str = "pipe") -> IngestResult:
    """Process one raw mail for ``mailbox`` (see the module docstring); never raises for
    what is in the mail (a database error does raise: the caller retries later).

    A mail that makes the intake itself fail (a bug) is refused as "mail_unprocessable" with
    its raw bytes kept, so that one mail can never hold up the mailbox behind it.
    """
    try:
        return _ingest(mailbox, raw, source)
    except DatabaseError:
        raise
    except Exception as exc:
        log.exception("mail to %s could not be processed", mailbox.address)
        return _refuse(mailbox, raw, source, code="mail_unprocessable",
                       reason=f"ระบบอ่านจดหมายนี้ไม่ได้ ({type(exc).__name__}); "
                              "เก็บต้นฉบับไว้ให้ผู้ดูแลระบบตรวจสอบ")


def _ingest(mailbox: Mailbox, raw: bytes, source: str) -> IngestResult:
    limits = mail_limits()
    if len(raw) > limits.max_bytes:
        return _refuse(mailbox, raw, source, code="mail_too_large", size=len(raw),
                       reason=f"จดหมายมีขนาด {len(raw) // 1024} KB เกินที่กำหนด "
                              f"{limits.max_bytes // 1024} KB")
    try:
        parsed = parse_sandboxed(raw, limits)
    except MailRefused as exc:
        return _refuse(mailbox, raw, source, code=exc.code, reason=exc.message, size=len(raw))
    except FileRejected as exc:
        return _refuse(mailbox, raw, source, code=exc.code, reason=exc.message, size=len(raw))
    key = seen_key(parsed.message_id)
    seen = _already(mailbox, key, parsed.digest)
    if seen is not None:
        return _duplicate(seen)
    kind = classify(parsed, own_addresses=[mailbox.address])
    if kind in _KEPT_APART:
        return _keep_apart(mailbox, raw, parsed, key, source, _KEPT_APART[kind])
    sender = parsed.sender.address if parsed.sender is not None else ""
    if not sender:
        return _refuse(mailbox, raw, source, code="mail_no_sender", parsed=parsed, key=key,
                       reason="จดหมายไม่ระบุผู้ส่ง (From)", outcome=MailOutcome.SENDER_REFUSED)
    if not accepts(mailbox.accept_senders, sender):
        return _refuse(mailbox, raw, source, code="mail_sender_refused", parsed=parsed,
                       key=key, reason=f"ผู้ส่ง {sender} ไม่อยู่ในรายชื่อผู้ส่งที่กล่องนี้รับ",
                       outcome=MailOutcome.SENDER_REFUSED)
    return _store_letter(mailbox, raw, parsed, key, source)


# ---- refused and kept apart ---------------------------------------------------------------


def _seen_row(mailbox: Mailbox, *, key: str, message_id: str, digest: str, outcome: str,
              source: str, size: int, parsed: ParsedMail | None, code: str = "",
              reason: str = "") -> MailSeen:
    return MailSeen.objects.create(
        mailbox=mailbox, message_key=key, message_id=_clean(message_id[:2000]), digest=digest,
        outcome=outcome, code=code[:64], reason=_clean(reason[:500]), source=source, size=size,
        sender=_clean((parsed.sender.address if parsed and parsed.sender else "")[:320]),
        subject=_clean((parsed.subject if parsed else "")[:500]), received_at=timezone.now(),
    )


def refuse_unread(mailbox: Mailbox, *, head: bytes, size: int, source: str) -> IngestResult:
    """Refuse a mail too big to download (IMAP gave its size and header first): recorded by
    its Message-ID and a digest of what was read, so it is not looked at again."""
    limit = mail_limits().max_bytes
    digest = _sha(b"unread\0" + str(size).encode() + b"\0" + head)
    return _refuse(mailbox, head, source, code="mail_too_large", size=size, digest=digest,
                   reason=f"จดหมายมีขนาด {size // 1024} KB เกินที่กำหนด {limit // 1024} KB "
                          "(ไม่ได้ดาวน์โหลด)")


def _refuse(mailbox: Mailbox, raw: bytes, source: str, *, code: str, reason: str,
            size: int | None = None, parsed: ParsedMail | None = None, key: str | None = None,
            outcome: str = MailOutcome.REFUSED, digest: str = "") -> IngestResult:
    """Record and audit a refusal; it stops nothing (the mailbox goes on)."""
    message_id = parsed.message_id if parsed is not None else header_message_id(raw)
    key = seen_key(message_id) if key is None else key
    digest = digest or (parsed.digest if parsed is not None else _sha(raw))
    sender = parsed.sender.address if parsed is not None and parsed.sender else ""
    subject = parsed.subject if parsed is not None else ""
    keep = code not in _NOT_KEPT
    written: list[str] = []
    try:
        with transaction.atomic():
            seen = _seen_row(mailbox, key=key, message_id=message_id, digest=digest,
                             outcome=outcome, source=source, size=size or len(raw),
                             parsed=parsed, code=code, reason=reason)
            if keep:
                seen.blob = _keep_raw(raw, written)
                seen.save(update_fields=["blob"])
            audit_record(agency_id=mailbox.agency_id, action="exchange_refuse", actor=None,
                         target_type="mail", target_id=seen.pk,
                         details=_clean({
                             "channel": "email", "code": code, "reason": reason[:300],
                             "from": sender[:320], "subject": subject[:200],
                             "message_id": message_id[:300], "size": size or len(raw),
                             "source": source, "kept": seen.blob_id is not None}))
    except IntegrityError:
        _remove_unreferenced(written)
        found = _already(mailbox, key, digest)
        if found is None:
            raise
        return _duplicate(found)
    log.info("mail to %s refused (%s): %s", mailbox.address, code, reason)
    return IngestResult(outcome=outcome, code=code, reason=reason, subject=subject,
                        sender=sender, seen_id=seen.pk)


def _keep_apart(mailbox: Mailbox, raw: bytes, parsed: ParsedMail, key: str, source: str,
                outcome: str) -> IngestResult:
    """A bounce, an auto-reply or a loop: recorded with its raw mail, never an inbox item; a
    bounce is matched to what we sent."""
    sender = parsed.sender.address if parsed.sender else ""
    written: list[str] = []
    matched = 0
    try:
        with transaction.atomic():
            seen = _seen_row(mailbox, key=key, message_id=parsed.message_id,
                             digest=parsed.digest, outcome=outcome, source=source,
                             size=len(raw), parsed=parsed)
            seen.blob = _keep_raw(raw, written)
            if outcome == MailOutcome.BOUNCE:
                matched = matching.apply_bounce(mailbox, parsed)
                seen.reason = f"matched {matched}"
            seen.save(update_fields=["blob", "reason"])
            audit_record(agency_id=mailbox.agency_id, action="exchange_mail_kept_apart",
                         actor=None, target_type="mail", target_id=seen.pk,
                         details=_clean({
                             "channel": "email", "outcome": outcome, "from": sender[:320],
                             "subject": parsed.subject[:200],
                             "message_id": parsed.message_id[:300], "source": source,
                             "matched": matched}))
    except IntegrityError:
        _remove_unreferenced(written)
        found = _already(mailbox, key, parsed.digest)
        if found is None:
            raise
        return _duplicate(found)
    return IngestResult(outcome=outcome, reason=seen.reason, subject=parsed.subject,
                        sender=sender, seen_id=seen.pk)


# ---- letters ------------------------------------------------------------------------------


def _number_and_subject(parsed: ParsedMail) -> tuple[str, str]:
    """The sender's letter number (from "ที่ …" in the subject or the start of the body) and
    the subject without the "ที่ … เรื่อง" prefix."""
    subject = parsed.subject.strip()
    numbered = _NUMBERED_SUBJECT.match(subject)
    if numbered is not None:
        return re.sub(r"\s+", " ", numbered.group(1)).strip(), numbered.group(2).strip()
    for text in (subject, parsed.text[:3000]):
        found = _NUMBER_AFTER.search(text)
        if found is not None:
            return re.sub(r"\s+", " ", found.group(1)).strip(), subject
    return "", subject


def _safe_name(text: str, fallback: str) -> str:
    name = unicodedata.normalize("NFC", text)
    name = "".join(c for c in name if c.isprintable() and c not in '/\\:*?"<>|').strip(" .")
    return (name or fallback)[:200]


def _address(a: Any) -> dict[str, str]:
    return {"address": a.address, "name": a.name}


class _Files:
    """The files of a letter: checked one by one (a refused one is listed, not kept), then
    kept all together in the transaction."""

    def __init__(self, parsed: ParsedMail, stack: contextlib.ExitStack) -> None:
        self.checked: list[tuple[str, str, blobs.CheckedFile]] = []  # name, role, file
        self.not_kept: list[dict[str, str]] = []
        main_taken = False
        for n, att in enumerate(parsed.attachments, start=1):
            name = _safe_name(att.filename, f"attachment-{n}")
            if att.content_type in {"message/rfc822", "message/global"}:
                self.not_kept.append({"name": name, "reason": "forwarded_message"})
                continue
            try:
                checked = stack.enter_context(
                    blobs.check_file(att.data, allowed=blobs.ATTACHMENT_TYPES))
            except FileRejected as exc:
                self.not_kept.append({"name": name, "reason": exc.code})
                continue
            role = "attachment"
            if checked.content_type == blobs.PDF and not main_taken:
                role, main_taken = "main", True
            self.checked.append((name, role, checked))

    @property
    def names(self) -> list[str]:
        return [name for name, _role, _file in self.checked]


def _envelope(mailbox: Mailbox, parsed: ParsedMail, source: str, files: _Files,
              replied: tuple[int | None, str]) -> dict[str, Any]:
    number, subject = _number_and_subject(parsed)
    sender = parsed.sender
    assert sender is not None
    local = timezone.localtime(parsed.date) if parsed.date is not None else None
    letter = {
        "kind": "external",
        "subject": subject[:500] or "(ไม่มีชื่อเรื่อง)",
        "number": number[:128],
        "letter_date": local.date().isoformat() if local is not None else None,
        "sender_name": (f"{sender.name} <{sender.address}>" if sender.name
                        else sender.address)[:255],
        "recipient_name": (mailbox.display_name or mailbox.agency.name_th)[:255],
        "body": parsed.text[:200_000],
        "references": [replied[1]] if replied[1] else [],
        "enclosures": [name for name, role, _f in files.checked if role != "main"],
    }
    smime = None
    if parsed.smime is not None:
        smime = {"signed": parsed.smime.signed, "signer": parsed.smime.signer_subject,
                 "verdict": parsed.smime.verdict,
                 "certificate_pem": parsed.smime.signer_certificate_pem}
    mail = {
        "mailbox": mailbox.address,
        "from": sender.address, "from_name": sender.name,
        "reply_to": parsed.reply_to.address if parsed.reply_to is not None else "",
        "to": [_address(a) for a in parsed.to], "cc": [_address(a) for a in parsed.cc],
        "date": parsed.date.isoformat() if parsed.date is not None else None,
        "message_id": parsed.message_id, "subject": parsed.subject,
        "in_reply_to": list(parsed.in_reply_to), "references": list(parsed.references),
        "replied_letter": replied[0], "replied_number": replied[1],
        "not_kept": files.not_kept, "smime": smime, "defects": list(parsed.defects),
        "authentication": parsed.header("authentication-results")[:1000],
        "source": source, "size": parsed.size,
    }
    cleaned: dict[str, Any] = _clean({"letter": letter, "files": [], "mail": mail})
    return cleaned


def _store_letter(mailbox: Mailbox, raw: bytes, parsed: ParsedMail, key: str,
                  source: str) -> IngestResult:
    sender = parsed.sender
    assert sender is not None
    replied = matching.replied_letter(mailbox, parsed)
    message_id = uuid.uuid5(MAIL_NAMESPACE, f"{mailbox.address}|{key or parsed.digest}")
    written: list[str] = []
    with contextlib.ExitStack() as stack:
        files = _Files(parsed, stack)
        envelope = _envelope(mailbox, parsed, source, files, replied)
        try:
            with transaction.atomic():
                # First: the row that makes the mail "seen" (a second process with the same
                # mail waits here, then fails on the unique constraint: a duplicate).
                seen = _seen_row(mailbox, key=key, message_id=parsed.message_id,
                                 digest=parsed.digest, outcome=MailOutcome.INBOX,
                                 source=source, size=len(raw), parsed=parsed)
                inbox = InboxMessage.objects.create(
                    sender_code=_clean(f"{MAILTO}{sender.address}"[:320]), message_id=message_id,
                    recipient_id=mailbox.agency_id, content_digest=parsed.digest,
                    envelope=envelope, signature="",
                    receipt={"channel": "email", "message_id": parsed.message_id,
                             "source": source},
                    received_at=timezone.now(),
                )
                listed = []
                for name, role, checked in files.checked:
                    if not blobs.blob_path(checked.sha256).exists():
                        written.append(checked.sha256)
                    blob = checked.keep()
                    InboxFile.objects.create(message=inbox, blob=blob, role=role,
                                             filename=name[:255])
                    listed.append({"name": name, "role": role, "sha256": blob.sha256,
                                   "size": blob.size, "content_type": blob.content_type})
                original = _keep_raw(raw, written)
                if original is not None:
                    name = _safe_name(parsed.subject, "mail")[:195] + ".eml"
                    InboxFile.objects.create(message=inbox, blob=original, role="original",
                                             filename=name)
                    listed.append({"name": name, "role": "original",
                                   "sha256": original.sha256, "size": original.size,
                                   "content_type": original.content_type})
                else:
                    envelope["mail"]["not_kept"].append(
                        {"name": "original.eml", "reason": "file_too_large"})
                inbox.envelope = {**envelope, "files": listed}
                inbox.save(update_fields=["envelope"])
                seen.inbox = inbox
                seen.blob = original
                seen.save(update_fields=["inbox", "blob"])
                _check_signatures(inbox)
                audit_record(
                    agency_id=mailbox.agency_id, action="exchange_receive", actor=None,
                    target_type="inbox", target_id=inbox.pk,
                    details=_clean({
                        "channel": "email", "from": sender.address, "id": str(message_id),
                        "message_id": parsed.message_id[:300],
                        "subject": parsed.subject[:200], "source": source,
                        "files": sorted(f["sha256"] for f in listed),
                        "not_kept": [f["name"] for f in files.not_kept]}),
                )
        except IntegrityError:
            _remove_unreferenced(written)
            found = _already(mailbox, key, parsed.digest)
            if found is None:
                raise
            return _duplicate(found)
    return IngestResult(outcome=MailOutcome.INBOX, inbox_id=inbox.pk, subject=parsed.subject,
                        sender=sender.address, attachments=files.names, seen_id=seen.pk)
