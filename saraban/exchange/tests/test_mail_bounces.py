"""What comes back: the relay takes a mail, later bounces it (an RFC 3464 DSN the way
postfix writes it) into the sender's mailbox, and the dispatch is failed with the reason;
a reply to one of our letters is linked to it."""

from __future__ import annotations

import email.utils
from email.message import EmailMessage

import pytest
from django.utils import timezone

from saraban.agencies.actors import resolve_actor
from saraban.core.models import AuditEvent
from saraban.core.thai import thai_digits
from saraban.exchange.inbox import exchange_inbox_register
from saraban.exchange.mail import imap
from saraban.exchange.mail.intake import ingest
from saraban.exchange.mail.mailboxes import mailbox_add, mailbox_set
from saraban.exchange.models import InboxMessage, MailSeen, OutboxMessage, OutState
from saraban.exchange.testing_mail import DOVECOT_SKIP, Dovecot, dovecot_available
from saraban.exchange.testing_smtp import SmtpServer
from saraban.exchange.worker import drain

from .mail_outbound import (  # noqa: F401 (fixtures)
    ADDRESS,
    SMTP_PASSWORD,
    SMTP_USER,
    mailbox_fixture,
    parse,
    relay_fixture,
    send_letter,
    tls_fixture,
)


def test_a_bounce_from_the_relay_fails_the_dispatch_with_the_reason(org, mailbox, relay):
    entry = send_letter(org, "nobody@bounce.test", "somchai@school.ac.th")
    drain()
    bad = OutboxMessage.objects.get(recipient_code="mailto:nobody@bounce.test")
    good = OutboxMessage.objects.get(recipient_code="mailto:somchai@school.ac.th")
    assert bad.state == good.state == OutState.SENT  # the relay took both

    [bounce] = relay.bounces()
    assert bounce.recipients == ["nobody@bounce.test"]
    assert b"Original-Envelope-Id: " + str(bad.message_id).encode() in bounce.raw
    result = ingest(mailbox, bounce.raw)
    assert result.outcome == "bounce"

    bad.refresh_from_db()
    good.refresh_from_db()
    assert bad.state == OutState.FAILED
    assert "5.1.1" in bad.reason and "User unknown" in bad.reason
    assert bad.last_error.startswith("bounced: 5.1.1")
    assert bad.transport_receipt is not None
    assert bad.transport_receipt["bounce"]["recipient"] == "nobody@bounce.test"
    assert bad.transport_receipt["bounce"]["reporting_mta"] == "mx.relay.test"
    assert good.state == OutState.SENT
    failed = AuditEvent.objects.get(action="exchange_failed", target_id=entry.letter_id)
    assert failed.details["to"] == "mailto:nobody@bounce.test"
    assert not InboxMessage.objects.exists()  # a bounce is never a letter

    # The same bounce again (delivered twice): recorded once, nothing moves.
    assert ingest(mailbox, bounce.raw).outcome == "duplicate"
    assert MailSeen.objects.filter(outcome="bounce").count() == 1


def test_a_bounce_returning_only_the_headers_without_envid_is_matched(org, mailbox, relay):
    send_letter(org, "ghost@bounce.test")
    drain()
    out = OutboxMessage.objects.get()
    [bounce] = relay.bounces()
    # An MTA that dropped the envelope id: the returned Message-ID still names the row.
    raw = bounce.raw.replace(b"Original-Envelope-Id: " + str(out.message_id).encode() + b"\r\n",
                             b"")
    assert str(out.message_id).encode() in raw  # in the returned headers only
    assert b"Original-Envelope-Id" not in raw
    assert ingest(mailbox, raw).outcome == "bounce"
    out.refresh_from_db()
    assert out.state == OutState.FAILED


def test_a_delay_notice_is_only_noted(org, mailbox, relay):
    send_letter(org, "someone@slow.test")
    drain()
    out = OutboxMessage.objects.get()
    [delay] = relay.bounces()
    assert delay.action == "delayed"
    assert ingest(mailbox, delay.raw).outcome == "bounce"
    out.refresh_from_db()
    assert out.state == OutState.SENT
    assert out.last_error.startswith("delayed: 4.4.1")


def _reply(*, subject: str, in_reply_to: str = "", sender: str = "somchai@school.ac.th"
           ) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ADDRESS
    message["Subject"] = subject
    message["Date"] = email.utils.format_datetime(timezone.now())
    message["Message-ID"] = email.utils.make_msgid(domain="school.ac.th")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content("เรียน ปลัดกระทรวงมหาดไทย\n\nโรงเรียนยินดีเข้าร่วมประชุม\n")
    return message.as_bytes()


def test_a_reply_to_our_message_id_is_linked_to_our_letter(org, mailbox, relay):
    ours = send_letter(org, "somchai@school.ac.th").letter
    drain()
    [sent] = relay.messages
    our_id = parse(sent.data)["Message-ID"]
    result = ingest(mailbox, _reply(subject="Re: ขอบคุณครับ", in_reply_to=our_id))
    assert result.outcome == "inbox"
    arrived = InboxMessage.objects.get(pk=result.inbox_id or 0)
    assert arrived.envelope["mail"]["replied_letter"] == ours.pk
    assert arrived.envelope["mail"]["replied_number"] == ours.number

    entry = exchange_inbox_register(actor=resolve_actor(org.clerk), message=arrived)
    [reference] = entry.letter.references.all()
    assert reference.referenced_id == ours.pk


def test_a_reply_quoting_our_number_in_thai_digits_is_linked(org, mailbox, relay):
    ours = send_letter(org, "somchai@school.ac.th").letter
    other = send_letter(org, "somchai@school.ac.th", subject="เรื่องอื่น").letter
    drain()
    quoted = thai_digits(ours.number)
    assert quoted != ours.number
    result = ingest(mailbox, _reply(subject=f"ตอบ: ที่ {quoted} เรื่อง ขอเชิญประชุมคณะทำงาน"))
    arrived = InboxMessage.objects.get(pk=result.inbox_id or 0)
    assert arrived.envelope["mail"]["replied_letter"] == ours.pk != other.pk


def test_a_mail_that_names_no_letter_of_ours_is_not_linked(org, mailbox, relay):
    send_letter(org, "somchai@school.ac.th")
    drain()
    result = ingest(mailbox, _reply(subject="ที่ ศธ 04001/999 เรื่อง ขอเชิญประชุม",
                                    in_reply_to="<abc@school.ac.th>"))
    arrived = InboxMessage.objects.get(pk=result.inbox_id or 0)
    assert arrived.envelope["mail"]["replied_letter"] is None


@pytest.mark.skipif(not dovecot_available(), reason=DOVECOT_SKIP)
def test_a_bounce_delivered_into_the_imap_mailbox_is_matched_by_the_poll(org, relay):
    with Dovecot() as dovecot:
        user, password = dovecot.add_user()
        box = mailbox_add(agency=org.ministry, address=user, imap_host=dovecot.host,
                          imap_port=dovecot.port, imap_security="none", imap_password=password,
                          smtp_host=relay.host, smtp_port=relay.port, smtp_security="starttls",
                          smtp_user=SMTP_USER, smtp_password=SMTP_PASSWORD)
        send_letter(org, "nobody@bounce.test")
        drain()
        out = OutboxMessage.objects.get()
        assert out.state == OutState.SENT
        [bounce] = relay.bounces()
        assert parse(bounce.raw)["To"] == box.address  # back to our envelope sender
        dovecot.append(user, bounce.raw)  # what the relay's delivery to the mailbox does

        [result] = imap.poll_now()
        assert result.kept_apart == 1 and result.inbox == 0
        out.refresh_from_db()
        assert out.state == OutState.FAILED and "5.1.1" in out.reason


def test_a_relay_without_dsn_returns_the_whole_mail_and_it_is_matched(org, mailbox, tls):
    with SmtpServer(dsn=False, starttls=True, certificate=tls,
                    auth={SMTP_USER: SMTP_PASSWORD}, bounce_domains={"bounce.test"}) as plain:
        mailbox_set(mailbox=mailbox, smtp_port=plain.port)
        send_letter(org, "nobody@bounce.test")
        drain()
        out = OutboxMessage.objects.get()
        assert out.state == OutState.SENT
        [bounce] = plain.bounces()
    assert b"Original-Envelope-Id" not in bounce.raw
    assert b"Content-Type: message/rfc822" in bounce.raw  # the whole mail came back
    assert ingest(mailbox, bounce.raw).outcome == "bounce"
    out.refresh_from_db()
    assert out.state == OutState.FAILED and "User unknown" in out.reason


def test_a_qmail_bounce_in_plain_text_is_matched_by_the_quoted_headers(org, mailbox, relay):
    send_letter(org, "nobody@old-isp.test")
    drain()
    out = OutboxMessage.objects.get()
    [sent] = relay.messages
    raw = (
        "Return-Path: <>\r\n"
        "Date: 7 Dec 2026 07:10:00 -0000\r\n"
        "From: MAILER-DAEMON@mail.old-isp.test\r\n"
        f"To: {ADDRESS}\r\n"
        "Subject: failure notice\r\n"
        "Message-ID: <20261207071000.1234.qmail@mail.old-isp.test>\r\n"
        "\r\n"
        "Hi. This is the qmail-send program at mail.old-isp.test.\r\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\r\n"
        "\r\n"
        "<nobody@old-isp.test>:\r\n"
        "Sorry, no mailbox here by that name. (#5.1.1)\r\n"
        "\r\n"
        "--- Below this line is a copy of the message.\r\n"
        "\r\n"
    ).encode() + sent.headers + b"\r\n(body cut)\r\n"
    assert ingest(mailbox, raw).outcome == "bounce"
    out.refresh_from_db()
    assert out.state == OutState.FAILED


def test_letter_numbers_are_found_however_they_are_quoted():
    from saraban.exchange.mail.matching import quoted_numbers

    assert quoted_numbers("RE: ตอบหนังสือที่ มท ๐๒๐๐/ว ๑๒๓ ลงวันที่ ๑ ธ.ค. ๖๙") == ["มท0200/ว123"]
    assert quoted_numbers("Fw: [External] ที่ มท0200.3/45 เรื่อง ขอเชิญ") == ["มท0200.3/45"]
    assert quoted_numbers("อ้างถึง หนังสือ ศธ 04001 / 7 และ กค. 0402.5/ว 12") == [
        "ศธ04001/7", "กค.0402.5/ว12"]
    assert quoted_numbers("ประชุม 12/2569 เวลา 10.00/11.00 น.") == []
