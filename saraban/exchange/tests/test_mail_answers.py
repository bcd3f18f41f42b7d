"""Someone sends a letter by e-mail: the clerk registers, rejects or returns it, and the
sender gets the answer by e-mail through the real relay (when the agency enables it)."""

from __future__ import annotations

import email.utils
from email.message import EmailMessage

from django.utils import timezone

from saraban.agencies.actors import resolve_actor
from saraban.core.thai import thai_date
from saraban.exchange.inbox import (
    exchange_inbox_register,
    exchange_inbox_reject,
    exchange_inbox_return,
)
from saraban.exchange.mail.intake import ingest
from saraban.exchange.mail.mailboxes import mailbox_set
from saraban.exchange.models import InboxMessage, MessageType, OutboxMessage, OutState
from saraban.exchange.worker import drain
from saraban.letters import files as blobs
from saraban.letters.models import FileRole
from saraban.letters.tests.test_register import tiny_pdf

from .mail_outbound import (  # noqa: F401 (fixtures)
    ADDRESS,
    body_text,
    mailbox_fixture,
    parse,
    relay_fixture,
    tls_fixture,
)

SENDER = "somchai@school.ac.th"


def a_letter_by_mail(*, sender: str = SENDER, subject: str = "ขอความอนุเคราะห์ใช้สถานที่",
                     extra: dict[str, str] | None = None) -> tuple[bytes, str]:
    """A mail as Thunderbird sends it: text and a PDF with a Thai file name."""
    message = EmailMessage()
    message["From"] = email.utils.formataddr(("สมชาย ใจดี", sender))
    message["To"] = ADDRESS
    message["Subject"] = subject
    message["Date"] = email.utils.format_datetime(timezone.now())
    message_id = email.utils.make_msgid(domain="school.ac.th")
    message["Message-ID"] = message_id
    message["User-Agent"] = "Mozilla Thunderbird"
    for name, value in (extra or {}).items():
        message[name] = value
    message.set_content("เรียน ปลัดกระทรวงมหาดไทย\n\nโรงเรียนขอความอนุเคราะห์ใช้ห้องประชุม\n")
    message.add_attachment(tiny_pdf(), maintype="application", subtype="pdf",
                           filename="หนังสือขอใช้สถานที่.pdf")
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n")), message_id.strip("<>")


def arrive(mailbox, **kw) -> tuple[InboxMessage, str]:
    raw, message_id = a_letter_by_mail(**kw)
    result = ingest(mailbox, raw)
    assert result.outcome == "inbox", result
    return InboxMessage.objects.get(pk=result.inbox_id or 0), message_id


def test_registering_a_mail_answers_the_sender_with_our_receipt_number(org, mailbox, relay):
    mailbox_set(mailbox=mailbox, acknowledge=True)
    arrived, their_id = arrive(mailbox)
    entry = exchange_inbox_register(actor=resolve_actor(org.clerk), message=arrived)

    letter = entry.letter
    assert letter.received_via == "email"
    original = letter.files.get(role=FileRole.ORIGINAL)
    assert original.blob.content_type == "message/rfc822"
    assert b"Mozilla Thunderbird" in blobs.read_blob(original.blob)
    assert letter.files.filter(role=FileRole.MAIN).count() == 1

    [answer] = OutboxMessage.objects.filter(type=MessageType.RECEIPT)
    assert answer.recipient_code == f"mailto:{SENDER}"
    assert answer.sender_code == "moi"
    drain()
    answer.refresh_from_db()
    assert answer.state == OutState.SENT, answer.last_error
    [got] = relay.messages
    assert (got.mail_from, got.rcpt_tos) == (ADDRESS, [SENDER])
    mail = parse(got.data)
    text = body_text(mail)
    when = thai_date(entry.registered_at)
    assert f"ได้รับหนังสือของท่านแล้ว เลขรับ {entry.formatted} ลงวันที่ {when}" in text
    assert "ขอความอนุเคราะห์ใช้สถานที่" in mail["Subject"]
    assert mail["In-Reply-To"] == f"<{their_id}>"
    assert f"<{their_id}>" in mail["References"]
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["X-Loop"] == ADDRESS
    assert mail["To"].addresses[0].addr_spec == SENDER
    assert mail["Message-ID"] == f"<{answer.message_id}@moi.go.th>"


def test_a_rejected_mail_is_answered_with_the_reason(org, mailbox, relay):
    mailbox_set(mailbox=mailbox, acknowledge=True)
    arrived, _ = arrive(mailbox)
    exchange_inbox_reject(actor=resolve_actor(org.clerk), message=arrived,
                          reason="ไม่มีลายมือชื่อผู้มีอำนาจลงนาม")
    drain()
    [got] = relay.messages
    text = body_text(parse(got.data))
    assert "ไม่ได้รับการลงรับ" in text
    assert "เหตุผล: ไม่มีลายมือชื่อผู้มีอำนาจลงนาม" in text


def test_a_returned_mail_is_answered_with_the_reason(org, mailbox, relay):
    mailbox_set(mailbox=mailbox, acknowledge=True)
    arrived, _ = arrive(mailbox)
    exchange_inbox_return(actor=resolve_actor(org.clerk), message=arrived,
                          reason="เรื่องนี้อยู่ในอำนาจของจังหวัด")
    drain()
    [got] = relay.messages
    mail = parse(got.data)
    text = body_text(mail)
    assert "ส่งมาผิดส่วนราชการ" in text and "เหตุผล: เรื่องนี้อยู่ในอำนาจของจังหวัด" in text
    assert "ส่งคืน" in mail["Subject"]


def test_nothing_is_sent_when_the_agency_does_not_acknowledge(org, mailbox, relay):
    assert mailbox.acknowledge is False
    arrived, _ = arrive(mailbox)
    entry = exchange_inbox_register(actor=resolve_actor(org.clerk), message=arrived)
    assert entry.letter.received_via == "email"
    assert not OutboxMessage.objects.exists()
    drain()
    assert relay.messages == []


def test_an_automatic_sender_is_never_answered(org, mailbox, relay):
    mailbox_set(mailbox=mailbox, acknowledge=True)
    # An out-of-office reply is kept apart: never an inbox item, never answered.
    raw, _ = a_letter_by_mail(subject="Automatic reply: ขอเชิญประชุม",
                              extra={"Auto-Submitted": "auto-replied"})
    assert ingest(mailbox, raw).outcome == "auto_reply"
    # A letter from a no-reply address is registered but not answered (RFC 3834).
    arrived, _ = arrive(mailbox, sender="no-reply@egov.go.th")
    exchange_inbox_register(actor=resolve_actor(org.clerk), message=arrived)
    assert not OutboxMessage.objects.exists()
    drain()
    assert relay.messages == []
