"""Delivery status notifications and bounces: RFC 3464 and the shapes that ignore it."""

from __future__ import annotations

import pytest

from saraban.mail import Bounce, MailKind, ParsedMail, classify, parse_mail

from .mailkit import b64, mail, multipart, part


def bounce_of(parsed: ParsedMail) -> Bounce:
    assert parsed.bounce is not None
    return parsed.bounce


ORIGINAL = (
    "Return-Path: <saraban@moi.go.th>\r\n"
    "From: =?utf-8?B?4Liq4Liy4Lij4Lia4Lij4Lij4LiT?= <saraban@moi.go.th>\r\n"
    "To: clerk@lao.go.th\r\n"
    "Subject: =?utf-8?B?4LiX4Li14LmIIOC4oeC4lyAwODA4LjIv4LinIDE=?=\r\n"
    "Date: Mon, 07 Dec 2026 10:00:00 +0700\r\n"
    "Message-ID: <0b7e1c3a-uuid@moi.go.th>\r\n"
    "X-Saraban-Message: 0b7e1c3a-uuid\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
)
ORIGINAL_SUBJECT = "ที่ มท 0808.2/ว 1"


def _rfc3464(status_block: str, returned: bytes, returned_type: str = "message/rfc822",
             subject: str = "Undelivered Mail Returned to Sender") -> bytes:
    return mail([
        "From: MAILER-DAEMON@mail.lao.go.th (Mail Delivery System)",
        f"Subject: {subject}", "To: saraban@moi.go.th", "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        'Content-Type: multipart/report; report-type=delivery-status;\r\n boundary="R"',
    ], multipart("R", [
        part(["Content-Description: Notification", "Content-Type: text/plain; charset=us-ascii"],
             "This is the mail system at host mail.lao.go.th.\r\n\r\nI'm sorry to have to "
             "inform you that your message could not\r\nbe delivered to one or more recipients."),
        part(["Content-Description: Delivery report", "Content-Type: message/delivery-status"],
             status_block),
        part([f"Content-Type: {returned_type}"], returned),
    ]))


STATUS = ("Reporting-MTA: dns; mail.lao.go.th\r\nX-Postfix-Queue-ID: 4XyZ\r\n"
          "Original-Envelope-Id: 0b7e1c3a-uuid\r\nArrival-Date: Mon,  7 Dec 2026 10:00:01 +0700\r\n"
          "\r\nFinal-Recipient: rfc822; Clerk@LAO.go.th\r\n"
          "Original-Recipient: rfc822;clerk@lao.go.th\r\n"
          "Action: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.lao.go.th\r\n"
          "Diagnostic-Code: smtp; 550 5.1.1 <clerk@lao.go.th>: Recipient address\r\n"
          "    rejected: User unknown in virtual mailbox table\r\n")


@pytest.mark.parametrize("returned_type", ["message/rfc822", "text/rfc822-headers"])
def test_rfc3464_postfix(returned_type):
    parsed = parse_mail(_rfc3464(STATUS, ORIGINAL.encode() + b"body\r\n", returned_type))
    bounce = parsed.bounce
    assert bounce is not None
    assert classify(parsed) == MailKind.BOUNCE
    assert bounce.original_message_id == "0b7e1c3a-uuid@moi.go.th"
    assert bounce.envelope_id == "0b7e1c3a-uuid"
    assert bounce.reporting_mta == "mail.lao.go.th"
    assert bounce.original_subject == ORIGINAL_SUBJECT
    assert ("x-saraban-message", "0b7e1c3a-uuid") in bounce.returned_headers
    [rcpt] = bounce.recipients
    assert (rcpt.address, rcpt.action, rcpt.status) == ("Clerk@lao.go.th", "failed", "5.1.1")
    assert rcpt.diagnostic == ("550 5.1.1 <clerk@lao.go.th>: Recipient address rejected: "
                               "User unknown in virtual mailbox table")


def test_rfc3464_delayed_and_several_recipients():
    status = ("Reporting-MTA: dns; mx.example\r\n\r\n"
              "Final-Recipient: rfc822; a@lao.go.th\r\nAction: delayed\r\nStatus: 4.4.1\r\n"
              "Diagnostic-Code: X-Postfix; connect to mx.lao.go.th: Connection timed out\r\n\r\n"
              "Final-Recipient: rfc822; b@lao.go.th\r\nAction: failed\r\nStatus: 5.2.2\r\n")
    parsed = parse_mail(_rfc3464(status, ORIGINAL.encode(), subject="Delayed Mail"))
    assert [(r.address, r.action, r.status) for r in bounce_of(parsed).recipients] == [
        ("a@lao.go.th", "delayed", "4.4.1"), ("b@lao.go.th", "failed", "5.2.2")]


def test_report_without_returned_message_finds_nothing_but_still_a_bounce():
    parsed = parse_mail(_rfc3464(STATUS, b"", "text/plain"))
    assert parsed.bounce is not None and parsed.bounce.original_message_id == ""


QMAIL = (
    "Hi. This is the qmail-send program at mail.tambon.go.th.\r\n"
    "I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
    "This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
    "<palad@tambon.go.th>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n\r\n"
    "--- Below this line is a copy of the message.\r\n\r\n" + ORIGINAL + "body\r\n"
)
EXCHANGE_2003 = (
    "Your message did not reach some or all of the intended recipients.\r\n\r\n"
    f"      Subject:\t{ORIGINAL_SUBJECT}\r\n      Sent:\t7/12/2569 10:00\r\n\r\n"
    "The following recipient(s) cannot be reached:\r\n\r\n"
    "      'somsri@lao.go.th' on 7/12/2569 10:01\r\n"
    "            550 5.1.1 User unknown\r\n"
)
LOTUS = (
    "Your message\r\n\r\n  Subject: " + ORIGINAL_SUBJECT + "\r\n\r\n"
    "was not delivered to:\r\n\r\n  wichai@province.go.th\r\n\r\nbecause:\r\n\r\n"
    "  User wichai@province.go.th not listed in Domino Directory\r\n"
)
GMAIL_OLD = (
    "Delivery to the following recipient failed permanently:\r\n\r\n"
    "     nobody.here@gmail.com\r\n\r\n"
    "Technical details of permanent failure:\r\nGoogle tried to deliver your message, but it "
    "was rejected by the server for the recipient domain gmail.com.\r\n"
    "The error that the other server returned was:\r\n550-5.1.1 The email account that you "
    "tried to reach does not exist.\r\n\r\n"
    "----- Original message -----\r\n\r\n" + ORIGINAL + "body\r\n"
)
SENDMAIL_DELAY = (
    "**********************************************\r\n"
    "**      THIS IS A WARNING MESSAGE ONLY      **\r\n"
    "**  YOU DO NOT NEED TO RESEND YOUR MESSAGE  **\r\n"
    "**********************************************\r\n\r\n"
    "The original message was received at Mon, 7 Dec 2026 10:00:00 +0700\r\n\r\n"
    "   ----- Transcript of session follows -----\r\n"
    "<late@slow.go.th>... Deferred: Connection timed out with mx.slow.go.th.\r\n"
    "Warning: message still undelivered after 4 hours\r\n"
    "Will keep trying until message is 5 days old\r\n"
)


@pytest.mark.parametrize(("sender", "subject", "body", "address", "status", "action", "mid"), [
    ("MAILER-DAEMON@mail.tambon.go.th", "failure notice", QMAIL, "palad@tambon.go.th",
     "5.1.1", "failed", "0b7e1c3a-uuid@moi.go.th"),
    ("postmaster@lao.go.th", "Undeliverable: " + ORIGINAL_SUBJECT, EXCHANGE_2003,
     "somsri@lao.go.th", "5.1.1", "failed", ""),
    ("Postmaster <postmaster@province.go.th>", "DELIVERY FAILURE: User wichai not listed",
     LOTUS, "wichai@province.go.th", "5.0.0", "failed", ""),
    ("Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
     "Delivery Status Notification (Failure)", GMAIL_OLD, "nobody.here@gmail.com", "5.1.1",
     "failed", "0b7e1c3a-uuid@moi.go.th"),
    ("Mail Delivery Subsystem <MAILER-DAEMON@relay.go.th>",
     "Warning: could not send message for past 4 hours", SENDMAIL_DELAY, "late@slow.go.th",
     "4.0.0", "delayed", ""),
])
def test_non_standard_bounces(sender, subject, body, address, status, action, mid):
    parsed = parse_mail(mail([f"From: {sender}", f"Subject: {subject}",
                              "Content-Type: text/plain; charset=utf-8"], body))
    assert classify(parsed) == MailKind.BOUNCE
    bounce = bounce_of(parsed)
    assert [(r.address, r.status, r.action) for r in bounce.recipients][:1] == [
        (address, status, action)]
    assert bounce.original_message_id == mid
    if mid:
        assert ("x-saraban-message", "0b7e1c3a-uuid") in bounce.returned_headers
        assert bounce.original_subject == ORIGINAL_SUBJECT


def test_exchange_text_with_the_original_attached():
    raw = mail(["From: Microsoft Outlook <postmaster@lao.go.th>",
                f"Subject: Undeliverable: {ORIGINAL_SUBJECT}",
                'Content-Type: multipart/mixed; boundary="x"'], multipart("x", [
                    part(["Content-Type: text/plain; charset=utf-8"], EXCHANGE_2003),
                    part(["Content-Type: message/rfc822"], ORIGINAL.encode() + b"x\r\n"),
                ]))
    parsed = parse_mail(raw)
    assert parsed.bounce is not None
    assert parsed.bounce.original_message_id == "0b7e1c3a-uuid@moi.go.th"


def test_base64_text_bounce_is_read():
    raw = mail(["From: MAILER-DAEMON@x.go.th", "Subject: failure notice",
                "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64"],
               b64(QMAIL))
    assert bounce_of(parse_mail(raw)).recipients[0].address == "palad@tambon.go.th"


@pytest.mark.parametrize(("sender", "subject", "body"), [
    ("clerk@lao.go.th", "Returned mail: หนังสือที่ส่งคืน", "ส่งหนังสือคืนเพื่อแก้ไขครับ"),
    ("clerk@lao.go.th", "เรื่อง ส่งไม่สำเร็จ", "ระบบส่งไม่สำเร็จ กรุณาส่งใหม่"),
    ("postmaster@lao.go.th", "ขอเชิญประชุม", "เรียน ท่าน\r\nขอเชิญประชุม"),
])
def test_people_writing_about_failures_are_letters(sender, subject, body):
    parsed = parse_mail(mail([f"From: {sender}", f"Subject: {subject}"], body))
    assert parsed.bounce is None
    assert classify(parsed) == MailKind.LETTER
