"""Letters and answers out by e-mail: one outbox row (``recipient_code "mailto:<address>"``)
is one mail through the sending agency's SMTP relay.

A LETTER row is the letter's mail: subject "ที่ <number> เรื่อง <subject>", from the
mailbox's address and display name, a Thai text naming the number, date, subject, sender and
files, the signed PDF and the attachments byte for byte. A RECEIPT row is the answer to
someone who sent us a letter by mail: registered (our receipt number and date), rejected or
returned (with the reason); it names their mail in In-Reply-To/References and says it is an
automatic answer (``Auto-Submitted: auto-replied``, RFC 3834; ``X-Loop``).

Everything that identifies the mail is fixed per row: the Message-ID
``<{message_id}@{mailbox domain}>``, the DSN envelope id (the row's id) and the Date (the
row's creation time). A retry after a crash that followed a successful hand-over therefore
sends the very same mail again, which the receiving side (a Saraban node by Message-ID, a
person by eye) recognises, and every bounce is matched to its row (``matching``).
"""

from __future__ import annotations

import datetime as dt
import logging
import mimetypes
from typing import Any

from django.db import transaction
from django.utils import timezone

from saraban.core.audit import audit_record
from saraban.core.thai import thai_date
from saraban.letters import files as blobs
from saraban.letters.models import FileRole, Letter, Secrecy, Urgency
from saraban.mail import Address, build_mail, sign_smime

from ..models import Mailbox, MessageType, OutboxMessage, OutState
from ..transport import DeliveryFailed, SmtpAnswer, SmtpRelay, SmtpTransport
from .matching import MAILTO, mail_message_id

log = logging.getLogger(__name__)

__all__ = ["answer_text", "build_for", "deliver_mail", "is_mail", "letter_subject",
           "letter_text"]

#: What an answer says, by the inbox decision it carries.
ANSWER_TITLES = {
    "registered": "ได้รับหนังสือแล้ว",
    "rejected": "ไม่รับหนังสือ",
    "returned": "ส่งคืนหนังสือ",
}


def is_mail(out: OutboxMessage) -> bool:
    return out.recipient_code.startswith(MAILTO)


def address_of(out: OutboxMessage) -> str:
    return out.recipient_code[len(MAILTO):]


def mailbox_of(out: OutboxMessage) -> Mailbox:
    mailbox = Mailbox.objects.filter(agency_id=out.sender_id).first()
    if mailbox is None or not mailbox.smtp_host:
        raise DeliveryFailed("the sending agency has no mailbox with an SMTP relay",
                             code="mail_no_relay", permanent=True)
    return mailbox


# ---- the letter's mail ------------------------------------------------------------------


def letter_subject(letter: Letter) -> str:
    """ "ที่ มท 0808.2/123 เรื่อง ขอเชิญประชุม" (the number first, as on the letter)."""
    if letter.number:
        return f"ที่ {letter.number} เรื่อง {letter.subject}"
    return f"เรื่อง {letter.subject}"


def _files(letter: Letter) -> list[Any]:
    current = letter.files.filter(replaced_at__isnull=True,
                                  role__in=[FileRole.MAIN, FileRole.ATTACHMENT])
    files = list(current.select_related("blob").order_by("pk"))
    # The letter itself first, then its attachments in the order they were added.
    return sorted(files, key=lambda f: 0 if f.role == FileRole.MAIN else 1)


def content_type_of(filename: str, checked: str) -> str:
    """The MIME type a file goes out with: its checked type, made specific by the name's
    extension where the check knows only the family (an Office or OpenDocument file is
    stored as ``application/vnd.openxmlformats-officedocument``)."""
    guessed = mimetypes.guess_type(filename, strict=False)[0] or ""
    if guessed != checked and guessed.startswith(checked):
        return guessed
    if checked in {blobs.ODF, blobs.ZIP_OFFICE} or checked.count("/") != 1:
        return "application/octet-stream"  # a family, not a type
    return checked


def letter_text(letter: Letter, *, recipient: str, files: list[Any], sender: str,
                address: str) -> str:
    lines = []
    if letter.urgency != Urgency.NORMAL:
        lines.append(Urgency(letter.urgency).label)
    if letter.secrecy != Secrecy.NORMAL:
        lines.append(f"ชั้นความลับ: {Secrecy(letter.secrecy).label}")
    if lines:
        lines.append("")
    lines.append(f"เรียน {recipient}" if recipient else "เรียน ผู้รับ")
    lines.append("")
    dated = f" ลงวันที่ {thai_date(letter.letter_date)}" if letter.letter_date else ""
    number = f" ที่ {letter.number}" if letter.number else ""
    lines.append(f"{sender} ขอส่งหนังสือ{number}{dated}")
    lines.append(f"เรื่อง {letter.subject}")
    lines.append("มาพร้อมนี้ รายละเอียดตามไฟล์ที่แนบ")
    if files:
        lines.append("")
        lines.append("ไฟล์ที่แนบ:")
        for i, f in enumerate(files, 1):
            what = "หนังสือ" if f.role == FileRole.MAIN else "สิ่งที่ส่งมาด้วย"
            lines.append(f"{i}. {f.filename} ({what})")
    enclosures = [e.description for e in letter.enclosures.all()]
    if enclosures:
        lines.append("")
        lines.append("สิ่งที่ส่งมาด้วย: " + ", ".join(enclosures))
    lines += [
        "",
        f"จาก {sender}",
        "",
        "--",
        f"ส่งจากระบบสารบรรณอิเล็กทรอนิกส์ของ {sender} ({address})",
        "หากต้องการติดต่อเกี่ยวกับหนังสือฉบับนี้ โปรดตอบกลับอีเมลนี้ "
        "หรืออ้างถึงเลขที่หนังสือข้างต้น",
    ]
    return "\n".join(lines) + "\n"


# ---- the answer's mail ------------------------------------------------------------------


def answer_text(payload: dict[str, Any], *, sender: str) -> str:
    """ "ได้รับหนังสือของท่านแล้ว เลขรับ 15 ลงวันที่ 7 ธันวาคม 2569" (or the refusal)."""
    status = str(payload.get("status", ""))
    subject = str(payload.get("subject", ""))
    when = ""
    at = payload.get("at")
    if at:
        try:
            when = thai_date(dt.datetime.fromisoformat(str(at)))
        except ValueError:
            when = ""
    lines = []
    if status == "registered":
        lines.append(f"ได้รับหนังสือของท่านแล้ว เลขรับ {payload.get('number', '')}"
                     + (f" ลงวันที่ {when}" if when else ""))
    elif status == "rejected":
        lines.append("หนังสือของท่านไม่ได้รับการลงรับ" + (f" (วันที่ {when})" if when else ""))
        lines.append(f"เหตุผล: {payload.get('reason', '')}")
    elif status == "returned":
        lines.append("ขอส่งหนังสือของท่านคืน เนื่องจากส่งมาผิดส่วนราชการ"
                     + (f" (วันที่ {when})" if when else ""))
        lines.append(f"เหตุผล: {payload.get('reason', '')}")
    else:
        raise DeliveryFailed(f"no answer for {status!r}", code="mail_bad_status",
                             permanent=True)
    if subject:
        lines.append(f"เรื่อง {subject}")
    lines += [
        "",
        f"{sender}",
        "",
        "--",
        "ข้อความนี้ส่งโดยอัตโนมัติจากระบบสารบรรณอิเล็กทรอนิกส์",
    ]
    return "\n".join(lines) + "\n"


def answer_subject(payload: dict[str, Any]) -> str:
    status = str(payload.get("status", ""))
    title = ANSWER_TITLES.get(status, "ตอบรับ")
    if status == "registered" and payload.get("number"):
        title += f" เลขรับ {payload['number']}"
    subject = str(payload.get("subject", "")).strip()
    return f"Re: {subject} [{title}]" if subject else title


# ---- building -------------------------------------------------------------------------


def _sender(mailbox: Mailbox) -> Address:
    return Address(address=mailbox.address, name=mailbox.display_name or
                   mailbox.agency.name_th)


def _recipient(out: OutboxMessage) -> Address:
    name = ""
    if out.type == MessageType.LETTER and out.dispatch is not None:
        name = out.dispatch.recipient_display or ""
    elif out.type == MessageType.RECEIPT:
        name = str(out.payload.get("to_name", ""))
    return Address(address=address_of(out), name=name)


def _sign(raw: bytes, mailbox: Mailbox) -> bytes:
    if not (mailbox.smime_certificate_pem and mailbox.smime_key_sealed):
        return raw
    marker = "-----BEGIN CERTIFICATE-----"
    certs = [marker + c for c in mailbox.smime_certificate_pem.split(marker)[1:]]
    return sign_smime(raw, certificate_pem=certs[0], key_pem=mailbox.smime_key_pem(),
                      chain_pem=certs[1:])


def build_for(out: OutboxMessage, mailbox: Mailbox) -> bytes:
    """The mail of one row, as it goes on the wire (signed when the mailbox can sign)."""
    message_id = mail_message_id(out.message_id, mailbox.address)
    sender = _sender(mailbox)
    extra = [("X-Saraban-Message", str(out.message_id))]
    if out.type == MessageType.LETTER:
        letter = out.letter
        if letter is None:
            raise DeliveryFailed("no letter on the row", code="mail_no_letter", permanent=True)
        files = _files(letter)
        recipient = _recipient(out)
        text = letter_text(letter, recipient=recipient.name, files=files,
                           sender=sender.name, address=mailbox.address)
        attachments = [(f.filename, content_type_of(f.filename, str(f.blob.content_type)),
                        blobs.read_blob(f.blob)) for f in files]
        raw = build_mail(sender=sender, to=[recipient], subject=letter_subject(letter),
                         text=text, attachments=attachments, message_id=message_id,
                         extra_headers=extra, date=out.created_at)
    elif out.type == MessageType.RECEIPT:
        mail = out.payload.get("mail") or {}
        in_reply_to = str(mail.get("in_reply_to", ""))
        references = [str(r) for r in mail.get("references", []) if r]
        if in_reply_to and in_reply_to not in references:
            references.append(in_reply_to)
        extra += [("Auto-Submitted", "auto-replied"), ("X-Loop", mailbox.address),
                  ("Precedence", "auto_reply")]
        raw = build_mail(sender=sender, to=[_recipient(out)],
                         subject=answer_subject({**out.payload,
                                                 "subject": mail.get("subject", "")}),
                         text=answer_text({**out.payload, "subject": mail.get("subject", "")},
                                          sender=sender.name),
                         message_id=message_id, in_reply_to=in_reply_to,
                         references=references[-20:], extra_headers=extra,
                         date=out.created_at)
    else:
        raise DeliveryFailed("only letters and answers go by e-mail", code="mail_bad_type",
                             permanent=True)
    return _sign(raw, mailbox)


# ---- delivering -------------------------------------------------------------------------


def relay_of(mailbox: Mailbox) -> SmtpRelay:
    return SmtpRelay(host=mailbox.smtp_host, port=mailbox.smtp_port,
                     security=mailbox.smtp_security, user=mailbox.smtp_user,
                     password=mailbox.smtp_password() if mailbox.smtp_user else "")


def deliver_mail(out: OutboxMessage) -> str:
    """Hand one claimed row's mail to the relay; the row's state afterwards."""
    from ..outbox import _failed_attempt

    try:
        mailbox = mailbox_of(out)
        raw = build_for(out, mailbox)
        message_id = mail_message_id(out.message_id, mailbox.address)
        if out.payload.get("mail_message_id") != message_id:
            # Kept before the hand-over: a bounce may come back before the answer is
            # recorded (or after a crash that lost it).
            out.payload = {**out.payload, "mail_message_id": message_id}
            OutboxMessage.objects.filter(pk=out.pk).update(payload=out.payload)
        answer = SmtpTransport(relay_of(mailbox)).send(
            mail_from=mailbox.address, recipients=[address_of(out)], data=raw,
            envelope_id=str(out.message_id),
        )
    except DeliveryFailed as exc:
        return _failed_attempt(out, exc)
    return _sent(out, answer, message_id, size=len(raw))


def _sent(out: OutboxMessage, answer: SmtpAnswer, message_id: str, *, size: int) -> str:
    receipt = {"channel": "email", "message_id": message_id, "smtp": answer.reply,
               "at": answer.at.isoformat(), "dsn": answer.dsn, "size": size}
    with transaction.atomic():
        locked = OutboxMessage.objects.select_for_update().get(pk=out.pk)
        if locked.state == OutState.QUEUED:
            locked.state = OutState.SENT
            locked.sent_at = timezone.now()
            locked.last_error = ""
            locked.transport_receipt = {**(locked.transport_receipt or {}), **receipt}
            if locked.type == MessageType.LETTER:
                audit_record(
                    agency_id=locked.sender_id, action="exchange_sent", actor=None,
                    target_type="letter", target_id=locked.letter_id,
                    details={"to": locked.recipient_code, "id": str(locked.message_id),
                             "channel": "email", "message_id": message_id,
                             "smtp": answer.reply},
                )
        else:  # a bounce overtook the answer (or the row was failed meanwhile): keep it
            locked.transport_receipt = {**receipt, **(locked.transport_receipt or {})}
            if locked.sent_at is None:
                locked.sent_at = timezone.now()
        locked.save(update_fields=["state", "sent_at", "last_error", "transport_receipt"])
        log.info("mail %s to %s handed over: %s", message_id, locked.recipient_code,
                 answer.reply)
        return locked.state
