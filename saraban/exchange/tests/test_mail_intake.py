"""The central mailbox's intake: one raw mail → an inbox item, kept apart, or refused, once.

The mails are built the way real clients write them (stdlib ``email`` for the MIME shape,
hand-written bytes where a client does something the stdlib would not: TIS-620 subjects,
RFC 2231 Thai file names, a DSN from postfix).
"""

from __future__ import annotations

import base64
import threading
import uuid
import zlib
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

from saraban.core.errors import ValidationFailed
from saraban.core.models import AuditEvent
from saraban.exchange.mail import matching
from saraban.exchange.mail.intake import IngestResult, ingest, seen_key
from saraban.exchange.mail.mailboxes import find_mailbox, mailbox_add, mailbox_set
from saraban.exchange.mail.rules import accepts, parse_rules
from saraban.exchange.models import (
    InboxFile,
    InboxMessage,
    Mailbox,
    MailSeen,
    MessageType,
    OutboxMessage,
    OutState,
)
from saraban.exchange.testing import tiny_pdf
from saraban.letters import files as blobs
from saraban.signatures.models import SignatureCheck

ADDRESS = "saraban@moi.go.th"


def inbox_of(result: IngestResult) -> InboxMessage:
    assert result.inbox_id is not None, result
    return InboxMessage.objects.get(pk=result.inbox_id)


def seen_of(result: IngestResult) -> MailSeen:
    assert result.seen_id is not None, result
    return MailSeen.objects.get(pk=result.seen_id)


def kept_raw(seen: MailSeen) -> bytes:
    assert seen.blob is not None, seen
    return blobs.read_blob(seen.blob)


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def letter_mail(*, subject: str = "ที่ มท 0808.2/ว 123 เรื่อง ขอเชิญประชุมคณะทำงาน",
                sender: str = "สำนักงานจังหวัดลำพูน <saraban@lamphun.go.th>",
                to: str = ADDRESS, body: str = "เรียน ปลัดกระทรวงมหาดไทย\n\nตามที่…",
                files: tuple[tuple[str, str, bytes], ...] | None = None,
                message_id: str | None = None, headers: dict[str, str] | None = None) -> bytes:
    """A letter as Thunderbird/Outlook send it: text, then the PDF and other files."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(timezone.now())
    if message_id != "":  # "": a mail without one
        msg["Message-ID"] = message_id or make_msgid(domain="lamphun.go.th")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if files is None:
        files = (("หนังสือเชิญประชุม.pdf", "application/pdf", tiny_pdf("invitation")),)
    for name, kind, data in files:
        main, sub = kind.split("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return msg.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.fixture
def mailbox(org) -> Mailbox:
    return mailbox_add(agency=org.ministry, address=ADDRESS.upper(),
                       display_name="สารบรรณกลาง สป.มท.")


# ---- letters ------------------------------------------------------------------------------


def test_a_letter_becomes_one_inbox_item_with_its_files_and_the_original(mailbox):
    raw = letter_mail(files=(
        ("หนังสือเชิญประชุม.pdf", "application/pdf", tiny_pdf("main")),
        ("แผนที่.png", "image/png", tiny_png()),
        ("รายชื่อ.pdf", "application/pdf", tiny_pdf("list")),
        ("notes.txt", "text/plain", "ข้อความ".encode()),
    ))
    result = ingest(mailbox, raw, source="pipe")
    assert result.outcome == "inbox", result
    assert result.sender == "saraban@lamphun.go.th"
    assert result.attachments == ["หนังสือเชิญประชุม.pdf", "แผนที่.png", "รายชื่อ.pdf"]
    inbox = inbox_of(result)
    assert inbox.sender_code == "mailto:saraban@lamphun.go.th"
    assert inbox.recipient_id == mailbox.agency_id
    assert inbox.receipt == {"channel": "email", "source": "pipe",
                             "message_id": inbox.envelope["mail"]["message_id"]}
    letter = inbox.envelope["letter"]
    assert letter["subject"] == "ขอเชิญประชุมคณะทำงาน"
    assert letter["number"] == "มท 0808.2/ว 123"
    assert letter["sender_name"] == "สำนักงานจังหวัดลำพูน <saraban@lamphun.go.th>"
    assert letter["recipient_name"] == "สารบรรณกลาง สป.มท."
    assert letter["letter_date"] == timezone.localdate().isoformat()
    assert letter["body"].startswith("เรียน ปลัดกระทรวงมหาดไทย")
    assert letter["enclosures"] == ["แผนที่.png", "รายชื่อ.pdf"]
    mail = inbox.envelope["mail"]
    assert mail["mailbox"] == ADDRESS and mail["from"] == "saraban@lamphun.go.th"
    assert mail["not_kept"] == [{"name": "notes.txt", "reason": "file_type_not_allowed"}]
    roles = list(InboxFile.objects.filter(message=inbox).values_list("role", "filename"))
    assert roles[:3] == [("main", "หนังสือเชิญประชุม.pdf"), ("attachment", "แผนที่.png"),
                         ("attachment", "รายชื่อ.pdf")]
    assert roles[3][0] == "original" and roles[3][1].endswith(".eml")
    original = InboxFile.objects.get(message=inbox, role="original").blob
    assert original.content_type == "message/rfc822"
    assert blobs.read_blob(original) == raw  # byte for byte: it still holds notes.txt
    assert [f["role"] for f in inbox.envelope["files"]] == ["main", "attachment", "attachment",
                                                            "original"]
    main = InboxFile.objects.get(message=inbox, role="main").blob
    assert SignatureCheck.objects.filter(blob=main, tenant_id=mailbox.agency_id).exists()
    seen = seen_of(result)
    assert (seen.outcome, seen.inbox_id, seen.blob_id, seen.source) == (
        "inbox", inbox.pk, original.pk, "pipe")
    event = AuditEvent.objects.get(agency_id=mailbox.agency_id, action="exchange_receive")
    assert event.details["channel"] == "email" and event.target_id == inbox.pk
    assert event.details["not_kept"] == ["notes.txt"]


def test_thai_subjects_and_file_names_the_way_thai_clients_encode_them(mailbox):
    """A TIS-620 subject in RFC 2047 (Outlook on Thai Windows) and an RFC 2231 file name."""
    pdf = base64.encodebytes(tiny_pdf("tis")).decode()
    thai = base64.b64encode("ขอส่งรายงานผลการดำเนินงาน".encode("tis-620")).decode()
    subject = f"=?TIS-620?B?{thai}?="
    raw = (
        "From: =?windows-874?Q?=CD=BA=B5.=E0=AA=D5=C2=A7=E3=CB=C1=E8?= <saraban@cmlocal.go.th>\r\n"
        f"To: {ADDRESS}\r\nSubject: {subject}\r\nMessage-ID: <tis620-1@cmlocal.go.th>\r\n"
        "Date: Mon, 7 Dec 2026 09:15:00 +0700\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain; charset=tis-620\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes("เรียน ปลัดกระทรวงมหาดไทย".encode("tis-620")).decode()
        + "\r\n--b1\r\nContent-Type: application/pdf\r\n"
        "Content-Disposition: attachment; filename*=UTF-8''%E0%B8%A3%E0%B8%B2%E0%B8%A2%E0%B8"
        "%87%E0%B8%B2%E0%B8%99.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + pdf + "\r\n--b1--\r\n"
    ).encode("ascii")
    result = ingest(mailbox, raw, source="imap")
    assert result.outcome == "inbox", result
    assert result.subject == "ขอส่งรายงานผลการดำเนินงาน"
    assert result.attachments == ["รายงาน.pdf"]
    inbox = inbox_of(result)
    assert inbox.envelope["letter"]["body"].startswith("เรียน ปลัดกระทรวงมหาดไทย")
    assert inbox.envelope["letter"]["letter_date"] == "2026-12-07"
    assert inbox.envelope["letter"]["number"] == ""
    assert InboxFile.objects.get(message=inbox, role="main").filename == "รายงาน.pdf"


def test_a_mail_without_a_pdf_keeps_its_files_as_attachments_and_no_main(mailbox):
    result = ingest(mailbox, letter_mail(files=(("scan.png", "image/png", tiny_png()),)))
    assert result.outcome == "inbox"
    assert list(InboxFile.objects.filter(message_id=result.inbox_id)
                .values_list("role", flat=True)) == ["attachment", "original"]


# ---- once ---------------------------------------------------------------------------------


def test_the_same_mail_twice_is_one_inbox_item(mailbox):
    raw = letter_mail()
    first = ingest(mailbox, raw, source="imap")
    again = ingest(mailbox, raw, source="pipe")
    assert (first.outcome, again.outcome) == ("inbox", "duplicate")
    assert again.inbox_id == first.inbox_id and again.first_outcome == "inbox"
    assert again.attachments == first.attachments
    assert InboxMessage.objects.count() == 1 and MailSeen.objects.count() == 1


def test_the_same_message_id_with_other_transport_headers_is_a_duplicate(mailbox):
    raw = letter_mail(message_id="<X-1@LAMPHUN.GO.TH>")
    relayed = b"Received: from relay.go.th by mx.moi.go.th; Mon, 7 Dec 2026\r\n" + raw
    assert ingest(mailbox, raw).outcome == "inbox"
    assert ingest(mailbox, relayed).outcome == "duplicate"
    assert MailSeen.objects.get().message_key == seen_key("X-1@LAMPHUN.GO.TH")


def test_the_same_content_under_another_message_id_is_a_duplicate(mailbox):
    pdf = tiny_pdf("same")
    files = (("a.pdf", "application/pdf", pdf),)
    date = "Mon, 07 Dec 2026 09:00:00 +0700"
    first = letter_mail(files=files, message_id="<one@lamphun.go.th>", headers={})
    second = letter_mail(files=files, message_id="<two@lamphun.go.th>")
    first = first.replace(first.split(b"Date: ")[1].split(b"\r\n")[0], date.encode())
    second = second.replace(second.split(b"Date: ")[1].split(b"\r\n")[0], date.encode())
    assert ingest(mailbox, first).outcome == "inbox"
    assert ingest(mailbox, second).outcome == "duplicate"
    assert InboxMessage.objects.count() == 1


def test_a_mailbox_sees_its_own_mail_only(org, mailbox):
    other = mailbox_add(agency=org.province, address="saraban@chiangmai.go.th")
    raw = letter_mail(to=f"{ADDRESS}, saraban@chiangmai.go.th")
    assert ingest(mailbox, raw).outcome == "inbox"
    assert ingest(other, raw).outcome == "inbox"  # each agency gets its copy
    assert set(InboxMessage.objects.values_list("recipient_id", flat=True)) == {
        org.ministry.pk, org.province.pk}


@pytest.mark.django_db(transaction=True)
def test_two_processes_given_the_same_mail_at_once_make_one_inbox_item(org):
    box = mailbox_add(agency=org.ministry, address=ADDRESS)
    raws = [letter_mail(subject=f"เรื่อง ทดสอบพร้อมกัน {n}") for n in range(3)]
    outcomes: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def run() -> None:
        try:
            start.wait()
            for raw in raws:
                outcomes.append(ingest(Mailbox.objects.get(pk=box.pk), raw).outcome)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sorted(outcomes) == ["duplicate"] * 9 + ["inbox"] * 3
    assert InboxMessage.objects.count() == 3 and MailSeen.objects.count() == 3
    assert InboxFile.objects.count() == 6  # main + original each, none twice


# ---- kept apart ---------------------------------------------------------------------------


def test_an_out_of_office_reply_is_kept_apart_with_its_raw_mail(mailbox):
    raw = letter_mail(subject="Automatic reply: ขอเชิญประชุม", files=(),
                      headers={"Auto-Submitted": "auto-replied",
                               "X-MS-Exchange-Inbox-Rules-Loop": "saraban@lamphun.go.th"})
    result = ingest(mailbox, raw)
    assert (result.outcome, result.inbox_id) == ("auto_reply", None)
    seen = seen_of(result)
    assert seen.outcome == "auto_reply" and kept_raw(seen) == raw
    assert not InboxMessage.objects.exists()
    assert AuditEvent.objects.filter(action="exchange_mail_kept_apart").count() == 1
    assert ingest(mailbox, raw).outcome == "duplicate"


def test_our_own_mail_coming_back_is_a_loop(mailbox):
    raw = letter_mail(sender=f"สารบรรณกลาง <{ADDRESS}>", headers={"X-Loop": ADDRESS})
    assert ingest(mailbox, raw).outcome == "loop"
    assert not InboxMessage.objects.exists()


def _dsn(original_id: str, recipient: str) -> bytes:
    """A bounce as postfix writes it (RFC 3464 multipart/report)."""
    return (
        "From: MAILER-DAEMON@mx.moi.go.th (Mail Delivery System)\r\n"
        f"To: {ADDRESS}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\nMessage-ID: <dsn-1@mx.moi.go.th>\r\n"
        "Date: Mon, 7 Dec 2026 10:00:00 +0700\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="r1"\r\n\r\n'
        "--r1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"I'm sorry to have to inform you that your message could not be delivered.\r\n"
        f"<{recipient}>: host mx.example.go.th said: 550 5.1.1 User unknown\r\n\r\n"
        "--r1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.moi.go.th\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.go.th>: User unknown\r\n\r\n"
        "--r1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {ADDRESS}\r\nTo: {recipient}\r\nSubject: =?utf-8?b?4LiX4LiU4Liq4Lit4Lia?=\r\n"
        f"Message-ID: <{original_id}>\r\n\r\n--r1--\r\n"
    ).encode()


def test_a_bounce_is_kept_apart_and_fails_the_dispatch_it_reports(org, mailbox):
    out = OutboxMessage.objects.create(
        type=MessageType.LETTER, sender=org.ministry, sender_code="agency-1",
        recipient_code="mailto:nobody@example.go.th", state=OutState.SENT,
        next_attempt_at=timezone.now(), created_at=timezone.now(), message_id=uuid.uuid4())
    raw = _dsn(matching.mail_message_id(out.message_id, ADDRESS), "nobody@example.go.th")
    result = ingest(mailbox, raw)
    assert result.outcome == "bounce" and result.reason == "matched 1"
    out.refresh_from_db()
    assert out.state == OutState.FAILED and "5.1.1" in out.reason
    assert not InboxMessage.objects.exists()


# ---- refused ------------------------------------------------------------------------------


def test_a_sender_the_rules_do_not_accept_is_refused_logged_and_kept(mailbox):
    mailbox_set(mailbox=mailbox, accept_senders="*.go.th\n@mail.moe.go.th\n!spam@bad.go.th")
    mailbox.refresh_from_db()
    raw = letter_mail(sender="Somchai <somchai1234@gmail.com>")
    result = ingest(mailbox, raw)
    assert (result.outcome, result.code) == ("sender_refused", "mail_sender_refused")
    seen = seen_of(result)
    assert kept_raw(seen) == raw and seen.sender == "somchai1234@gmail.com"
    event = AuditEvent.objects.get(action="exchange_refuse")
    assert (event.details["channel"], event.details["code"]) == ("email", "mail_sender_refused")
    assert ingest(mailbox, letter_mail(sender="spam@bad.go.th")).outcome == "sender_refused"
    assert ingest(mailbox, letter_mail()).outcome == "inbox"


def test_an_oversized_mail_is_refused_unkept_and_the_next_one_goes_in(mailbox, settings):
    settings.SARABAN_MAIL_MAX_BYTES = 20_000
    big = letter_mail(files=(("big.pdf", "application/pdf", tiny_pdf("x") + b"%" * 30_000),))
    result = ingest(mailbox, big)
    assert (result.outcome, result.code) == ("refused", "mail_too_large")
    seen = seen_of(result)
    assert seen.blob_id is None and seen.size == len(big)
    event = AuditEvent.objects.get(action="exchange_refuse")
    assert event.details["code"] == "mail_too_large" and event.details["kept"] is False
    assert ingest(mailbox, big).outcome == "duplicate"  # recognised, not refused twice
    assert ingest(mailbox, letter_mail()).outcome == "inbox"


def test_garbage_is_refused_with_a_reason_and_never_raises(mailbox):
    for raw in (b"", b"\x00\xff" * 100, b"Subject: x\r\n", b"From: <>\r\n\r\n",
                b"Content-Type: multipart/mixed; boundary=\"a\"\r\n\r\n" + b"--a\r\n" * 500):
        result = ingest(mailbox, raw)
        assert result.outcome in {"refused", "sender_refused", "inbox", "duplicate"}, result
        if result.refused:
            assert result.code and result.reason
    assert ingest(mailbox, letter_mail()).outcome == "inbox"



def test_the_parser_runs_in_the_sandbox_and_a_mail_that_exhausts_it_is_refused(mailbox,
                                                                                 settings):
    """The parser is the sandbox's child: a mail it cannot finish within the parse limits is
    refused with the sandbox's code, kept for the administrator, and the mailbox goes on."""
    from saraban.core import sandbox

    heavy = letter_mail(files=(("ภาคผนวก.pdf", "application/pdf",
                                tiny_pdf("annex") + b"%" * 4_000_000),))
    settings.SARABAN_PARSE_TIMEOUT = 0.001  # no parse of 5 MB finishes in a millisecond
    result = ingest(mailbox, heavy)
    assert (result.outcome, result.code) == ("refused", "parser_timeout"), result
    stats = sandbox.last_run()
    assert stats is not None and stats.target == "saraban.mail.sandboxed:parse_file"
    assert kept_raw(seen_of(result)) == heavy
    event = AuditEvent.objects.get(action="exchange_refuse")
    assert event.details["code"] == "parser_timeout"
    settings.SARABAN_PARSE_TIMEOUT = 60
    ok = ingest(mailbox, letter_mail())
    assert ok.outcome == "inbox"
    assert sandbox.last_run().outcome == "ok"  # type: ignore[union-attr]


# ---- mailboxes and rules -------------------------------------------------------------------


def test_a_mailbox_keeps_its_secrets_sealed_and_audits_changes(org):
    box = mailbox_add(agency=org.ministry, address="Saraban@MOI.go.th", imap_host="imap.moi.go.th",
                      imap_password="imap-secret-1", smtp_host="smtp.moi.go.th",
                      smtp_password="smtp-secret-2")
    assert box.address == "saraban@moi.go.th" and box.imap_user == "saraban@moi.go.th"
    stored = Mailbox.objects.filter(pk=box.pk).values_list(
        "imap_password_sealed", "smtp_password_sealed").get()
    assert all(v.startswith("kek1.") for v in stored)
    assert "imap-secret-1" not in str(stored)
    box.refresh_from_db()
    assert (box.imap_password(), box.smtp_password(), box.smime_key_pem()) == (
        "imap-secret-1", "smtp-secret-2", "")
    mailbox_set(mailbox=box, imap_password="new-secret", acknowledge=True)
    box.refresh_from_db()
    assert box.imap_password() == "new-secret" and box.acknowledge
    events = list(AuditEvent.objects.filter(action__startswith="exchange_mailbox")
                  .order_by("seq").values_list("action", "details"))
    assert [a for a, _ in events] == ["exchange_mailbox_add", "exchange_mailbox_set"]
    assert events[1][1]["changed"] == ["acknowledge", "imap_password"]
    assert "new-secret" not in str(events)
    # A sealed value moved to another agency's row does not open.
    other = mailbox_add(agency=org.province, address="saraban@chiangmai.go.th")
    Mailbox.objects.filter(pk=other.pk).update(imap_password_sealed=stored[0])
    other.refresh_from_db()
    with pytest.raises(Exception, match="เปิดกุญแจ"):
        other.imap_password()
    assert find_mailbox("saraban@moi.go.th") == box
    assert find_mailbox(str(org.ministry.pk)) == box


def test_bad_mailbox_settings_are_refused_with_codes(org, mailbox):
    cases: list[tuple[dict[str, Any], str]] = [
        ({"address": "not an address"}, "bad_mail_address"),
        ({"accept_senders": "*.go.th\nfoo*bar"}, "bad_sender_pattern"),
        ({"imap_port": 0}, "bad_mailbox_setting"),
        ({"imap_security": "tls1.0"}, "bad_mailbox_setting"),
        ({"imap_done_folder": "INBOX"}, "bad_mailbox_setting"),
        ({"smime_certificate_pem": "-----BEGIN CERTIFICATE-----\nxx"}, "smime_incomplete"),
        ({"colour": "red"}, "bad_mailbox_setting"),
    ]
    for change, code in cases:
        with pytest.raises(ValidationFailed) as caught:
            mailbox_set(mailbox=mailbox, **change)
        assert caught.value.code == code, change
    with pytest.raises(ValidationFailed) as caught:
        mailbox_add(agency=org.province, address=ADDRESS)
    assert caught.value.code == "mail_address_taken"
    with pytest.raises(ValidationFailed) as caught:
        mailbox_add(agency=org.ministry, address="other@moi.go.th")
    assert caught.value.code == "mailbox_exists"


def test_sender_patterns():
    rules = "*.go.th\n@mail.example.com\nsomeone@x.com\n!bad@evil.go.th  # a known spammer"
    assert len(parse_rules(rules)) == 4
    cases = {
        "saraban@moi.go.th": True, "a@sub.moi.go.th": True, "x@go.th": False,
        "x@go.th.evil.com": False, "x@evilgo.th": False, "y@MAIL.example.com": True,
        "y@sub.mail.example.com": False, "SOMEONE@X.COM": True, "someone2@x.com": False,
        "bad@evil.go.th": False, "": False, "no-at-sign": False,
    }
    for address, expected in cases.items():
        assert accepts(rules, address) is expected, address
    assert accepts("*", "anyone@anywhere.example")
    assert not accepts("", "anyone@anywhere.example")
    assert accepts("*.ไทย", "a@xn--o3cw4h.xn--o3cw4h") or accepts("*.ไทย", "a@กรม.ไทย")
    with pytest.raises(ValidationFailed):
        parse_rules("*@*")


def test_text_the_databases_refuse_is_cleaned_before_it_is_stored():
    from saraban.exchange.mail.intake import _clean

    dirty = {"subject": "เรื่อง\x00ทดสอบ", "names": ["a\udcff.pdf"], "n": 1, "none": None}
    assert _clean(dirty) == {"subject": "เรื่องทดสอบ", "names": ["a?.pdf"], "n": 1,
                             "none": None}
