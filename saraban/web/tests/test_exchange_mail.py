"""The central e-mail address in the web UI: the agency admin's mailbox page (settings, secrets
never shown back, status, poll now), e-mail arrivals in the clerk's electronic inbox (channel,
sender, text, files kept and not kept, the original, S/MIME), the kept-apart list, and the
tracking of letters sent by e-mail (a real SMTP server, a real bounce through the intake)."""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from email.message import EmailMessage
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Role, RoleGrant
from saraban.agencies.sample import make_person
from saraban.core.models import AuditEvent
from saraban.exchange.mail.intake import ingest
from saraban.exchange.mail.mailboxes import mailbox_add, mailbox_set
from saraban.exchange.models import (
    InboxMessage,
    InState,
    Mailbox,
    MailSeen,
    OutboxMessage,
    OutState,
)
from saraban.exchange.outbox import enqueue_letter
from saraban.exchange.testing_smtp import SmtpServer, free_port, hand_over
from saraban.exchange.worker import drain
from saraban.letters.models import Letter, SeriesKind
from saraban.letters.services import LetterDetails, Recipient, Upload, letter_register_outgoing
from saraban.letters.tests.test_register import tiny_pdf
from saraban.mail import sign_smime
from saraban.web.templatetags.thai import thaidigits as n

SETTINGS = "/exchange/mail/"
POLL = "/exchange/mail/poll/"
KEPT = "/exchange/mail/kept/"
INBOX = "/exchange/inbox/"
ADDRESS = "saraban@chiangmai.go.th"


# ---- people and the mailbox --------------------------------------------------------------


@pytest.fixture
def province_clerk(org):
    """A registry clerk of the province's central registry: handles its electronic inbox."""
    person = make_person("cm-clerk", "ประเสริฐ ดอยคำ", agency=org.province, password=None)
    RoleGrant.objects.create(person=person, unit=org.province, role=Role.REGISTRY_CLERK)
    return person


@pytest.fixture
def province_admin(org):
    person = make_person("cm-admin", "ผู้ดูแล จังหวัด", agency=org.province, password=None)
    RoleGrant.objects.create(person=person, unit=org.province, role=Role.AGENCY_ADMIN)
    return person


@pytest.fixture
def mailbox(org, province_admin):
    return mailbox_add(agency=org.province, address=ADDRESS, actor=resolve_actor(province_admin),
                       display_name="สารบรรณกลาง จังหวัดเชียงใหม่",
                       accept_senders="*.go.th\nsomchai.j@gmail.com")


def mail(*, sender: str = "สมชาย ใจดี <somchai@dept.go.th>", to: str = ADDRESS,
         subject: str = "ขอเชิญประชุมคณะทำงาน", text: str = "เรียน ผู้ว่าราชการจังหวัด\n\nขอเชิญประชุม",
         files: tuple[tuple[str, str, bytes], ...] = (), headers: dict[str, str] | None = None,
         message_id: str = "", date: dt.datetime | None = None) -> bytes:
    """A mail as a common client writes it (UTF-8, RFC 2047 subject, RFC 2231 file names)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(
        date or dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=7))))
    msg["Message-ID"] = message_id or email.utils.make_msgid(domain="dept.go.th")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    for filename, content_type, data in files:
        main, sub = content_type.split("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=filename)
    return msg.as_bytes()


def letter_mail(**kwargs: Any) -> bytes:
    return mail(files=(("หนังสือเชิญประชุม.pdf", "application/pdf", tiny_pdf()),
                       ("บันทึก.txt", "text/plain", "รายละเอียดเพิ่มเติม".encode())), **kwargs)


def html(response: Any) -> str:
    text: str = response.content.decode()
    return text


def page(client: Any, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.content[:800]
    return html(response)


def form(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "address": ADDRESS, "display_name": "สารบรรณกลาง", "accept_senders": "*",
        "enabled": "on", "imap_host": "", "imap_port": "993", "imap_security": "ssl",
        "imap_user": "", "imap_password": "", "imap_folder": "INBOX",
        "imap_done_folder": "Saraban/Processed", "imap_kept_folder": "Saraban/Kept",
        "smtp_host": "", "smtp_port": "587", "smtp_security": "starttls", "smtp_user": "",
        "smtp_password": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def smime_pair(name: str = "สารบรรณ จ.เชียงใหม่") -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                         x509.NameAttribute(NameOID.EMAIL_ADDRESS, ADDRESS)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365)).sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


# ---- the agency admin's mailbox page -----------------------------------------------------


def test_admin_sets_the_mailbox_and_its_passwords_are_never_shown_back(client, org,
                                                                      province_admin):
    client.force_login(province_admin)
    assert "ยังไม่ได้ตั้งค่าไปรษณีย์อิเล็กทรอนิกส์กลาง" in page(client, SETTINGS)
    response = client.post(SETTINGS, form(
        agency=org.province.pk, address="Saraban@ChiangMai.go.th", imap_host="imap.chiangmai.go.th",
        imap_user="saraban", imap_password="imap-secret-ไทย-1", smtp_host="smtp.chiangmai.go.th",
        smtp_password="smtp-secret-2", acknowledge="on", accept_senders="*.go.th\n@gmail.com"))
    assert response.status_code == 302, html(response)[:2000]
    box = Mailbox.objects.get(agency=org.province)
    assert box.address == ADDRESS and box.acknowledge and box.imap_host == "imap.chiangmai.go.th"
    assert box.imap_password() == "imap-secret-ไทย-1" and box.smtp_password() == "smtp-secret-2"
    assert "imap-secret" not in box.imap_password_sealed
    shown = page(client, SETTINGS)
    assert "imap-secret" not in shown and "smtp-secret" not in shown
    assert "รหัสผ่าน IMAP: ตั้งไว้แล้ว" in shown and "รหัสผ่าน SMTP: ตั้งไว้แล้ว" in shown
    assert ADDRESS in shown and "*.go.th" in shown
    # Saving again with the password fields empty keeps the passwords.
    response = client.post(SETTINGS, form(
        agency=org.province.pk, imap_host="imap.chiangmai.go.th", imap_user="saraban",
        smtp_host="smtp.chiangmai.go.th", display_name="สารบรรณกลาง จ.เชียงใหม่"))
    assert response.status_code == 302
    box.refresh_from_db()
    assert box.display_name == "สารบรรณกลาง จ.เชียงใหม่" and not box.acknowledge
    assert box.imap_password() == "imap-secret-ไทย-1" and box.smtp_password() == "smtp-secret-2"
    # Clearing one removes only that one.
    client.post(SETTINGS, form(agency=org.province.pk, imap_host="imap.chiangmai.go.th",
                               imap_user="saraban", smtp_host="smtp.chiangmai.go.th",
                               smtp_password_clear="on"))
    box.refresh_from_db()
    assert box.smtp_password() == "" and box.imap_password() == "imap-secret-ไทย-1"
    assert "รหัสผ่าน SMTP: ยังไม่ได้ตั้ง" in page(client, SETTINGS)
    events = AuditEvent.objects.filter(action__in=["exchange_mailbox_add",
                                                   "exchange_mailbox_set"])
    assert events.count() == 3 and set(events.values_list("actor_id", flat=True)) == {
        province_admin.pk}
    assert not any("secret" in str(e.details) for e in events)


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"address": "not an address"}, "address", "ที่อยู่ไปรษณีย์อิเล็กทรอนิกส์ไม่ถูกต้อง"),
    ({"imap_port": "70000"}, "imap_port", "พอร์ต IMAP"),
    ({"accept_senders": "*.go.th\nfoo bar baz"}, "accept_senders", ""),
    ({"imap_done_folder": "INBOX"}, "imap_done_folder", "ต้องไม่ซ้ำกัน"),
    ({"imap_host": "imap.x.go.th\r\nX-Evil: 1"}, "imap_host", ""),
])
def test_bad_settings_are_refused_in_thai_and_nothing_changes(client, org, province_admin,
                                                              mailbox, changes, field, message):
    before = Mailbox.objects.values().get(pk=mailbox.pk)
    client.force_login(province_admin)
    response = client.post(SETTINGS, form(agency=org.province.pk, **changes))
    assert response.status_code == 400
    shown = html(response)
    errors = re.findall(r'<p class="field-error" data-field="([a-z_]+)">([^<]*)</p>', shown)
    assert errors and errors[0][0] == field, errors
    assert message in errors[0][1] and re.search("[ก-๙]", errors[0][1])
    assert Mailbox.objects.values().get(pk=mailbox.pk) == before


def test_smime_certificate_and_key_are_uploaded_and_the_key_never_shown(client, org,
                                                                        province_admin, mailbox):
    cert, key = smime_pair()
    other_cert, _other_key = smime_pair("อื่น")
    client.force_login(province_admin)
    # A key that is not the certificate's: refused, nothing kept.
    response = client.post(SETTINGS, {
        **form(agency=org.province.pk),
        "smime_certificate": SimpleUploadedFile("cert.pem", other_cert),
        "smime_key": SimpleUploadedFile("key.pem", key)})
    assert response.status_code == 400 and "ไม่ตรงกับใบรับรอง" in html(response)
    mailbox.refresh_from_db()
    assert mailbox.smime_certificate_pem == "" and mailbox.smime_key_sealed == ""
    # Not PEM at all: a Thai error on the field.
    response = client.post(SETTINGS, {
        **form(agency=org.province.pk),
        "smime_certificate": SimpleUploadedFile("c.der", b"\x30\x82")})
    assert response.status_code == 400 and "PEM" in html(response)
    response = client.post(SETTINGS, {
        **form(agency=org.province.pk),
        "smime_certificate": SimpleUploadedFile("cert.pem", cert),
        "smime_key": SimpleUploadedFile("key.pem", key)})
    assert response.status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.smime_key_pem().strip() == key.decode().strip()
    shown = page(client, SETTINGS)
    assert "สารบรรณ จ.เชียงใหม่" in shown and "กุญแจส่วนตัว: ตั้งไว้แล้ว" in shown
    assert "PRIVATE KEY" not in shown
    client.post(SETTINGS, form(agency=org.province.pk, smime_clear="on"))
    mailbox.refresh_from_db()
    assert mailbox.smime_certificate_pem == "" and mailbox.smime_key_sealed == ""


def test_only_the_agencys_admins_set_its_mailbox(client, org, province_admin, province_clerk,
                                                 mailbox):
    client.force_login(province_clerk)
    assert "ผู้ดูแลระบบ" in page(client, SETTINGS, status=403)
    assert client.post(SETTINGS, form(agency=org.province.pk, address="x@y.go.th")
                       ).status_code == 403
    assert client.post(POLL, {"agency": org.province.pk}).status_code == 403
    # The ministry's admin manages the ministry, not the province.
    client.force_login(org.admin)
    page(client, f"{SETTINGS}?agency={org.province.pk}", status=404)
    assert client.post(SETTINGS, form(agency=org.province.pk, address="x@y.go.th")
                       ).status_code == 404
    assert ADDRESS not in page(client, SETTINGS)
    mailbox.refresh_from_db()
    assert mailbox.address == ADDRESS


def test_status_counts_what_was_taken_in_kept_apart_and_refused(client, org, province_admin,
                                                                mailbox):
    assert ingest(mailbox, letter_mail()).outcome == "inbox"
    assert ingest(mailbox, mail(subject="Automatic reply: ขอเชิญประชุม",
                                headers={"Auto-Submitted": "auto-replied"})).outcome == "auto_reply"
    assert ingest(mailbox, mail(sender="spam@example.com")).outcome == "sender_refused"
    client.force_login(province_admin)
    shown = page(client, SETTINGS)
    for key in ("taken-in", "kept-apart", "refused"):
        assert re.search(rf'id="mail-{key}">{n(1)} ฉบับ<', shown), key
    assert "อ่านกล่องจดหมายล่าสุด" in shown and "ยังไม่เคย" in shown


def test_poll_now_reports_an_unreachable_server_and_the_error_stays_on_the_page(
        client, org, province_admin, mailbox):
    client.force_login(province_admin)
    port = free_port()  # nothing listens there
    client.post(SETTINGS, form(agency=org.province.pk, imap_host="127.0.0.1",
                               imap_port=str(port), imap_security="none", imap_user="saraban",
                               imap_password="pw"))
    response = client.post(POLL, {"agency": org.province.pk}, follow=True)
    shown = html(response)
    assert "อ่านไปรษณีย์อิเล็กทรอนิกส์ไม่สำเร็จ" in shown
    mailbox.refresh_from_db()
    assert mailbox.last_error and mailbox.last_polled_at is not None
    assert mailbox.last_error in page(client, SETTINGS)


# ---- e-mail arrivals in the electronic inbox ---------------------------------------------


def test_inbox_shows_a_mail_with_its_sender_text_files_and_original(client, org, province_clerk,
                                                                   mailbox):
    raw = letter_mail(subject="ขอเชิญประชุมคณะทำงานด้านดิจิทัล",
                      text="เรียน ผู้ว่าราชการจังหวัดเชียงใหม่\n\nด้วยกรมตัวอย่างขอเชิญประชุม")
    result = ingest(mailbox, raw)
    assert result.outcome == "inbox"
    client.force_login(province_clerk)
    shown = page(client, INBOX)
    assert "ไปรษณีย์อิเล็กทรอนิกส์" in shown and "ขอเชิญประชุมคณะทำงานด้านดิจิทัล" in shown
    assert "สมชาย ใจดี" in shown and "somchai@dept.go.th" in shown
    assert "ส่งเมื่อ" in shown  # the mail's own date
    assert "ด้วยกรมตัวอย่างขอเชิญประชุม" in shown
    assert "หนังสือเชิญประชุม.pdf" in shown and "(ฉบับหลัก)" in shown
    assert "ไฟล์ที่ไม่ได้รับไว้" in shown and "บันทึก.txt" in shown
    assert "ชนิดไฟล์ที่ระบบไม่รับ" in shown
    message = InboxMessage.objects.get(pk=result.inbox_id or 0)
    url = reverse("web:exchange_mail_original", args=[message.pk])
    assert url in shown
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "message/rfc822"
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == raw
    # Others see neither the item nor its original.
    client.force_login(org.clerk)
    assert "ขอเชิญประชุมคณะทำงานด้านดิจิทัล" not in page(client, INBOX)
    assert client.get(url).status_code == 404


def test_a_reply_to_our_letter_names_it_and_other_arrivals_look_as_before(client, org,
                                                                          province_clerk,
                                                                          mailbox):
    entry = letter_register_outgoing(
        actor=resolve_actor(province_clerk), registry=org.province_registry,
        details=LetterDetails(kind="external", subject="ขอข้อมูลผู้ประสบภัย"),
        recipients=[Recipient(channel="post", text="กรมตัวอย่าง")],
        main_file=Upload("letter.pdf", tiny_pdf()))
    number = entry.letter.number
    assert number
    ingest(mailbox, letter_mail(subject=f"ตอบ: ที่ {number} ขอข้อมูลผู้ประสบภัย"))
    client.force_login(province_clerk)
    shown = page(client, INBOX)
    assert "ตอบหนังสือ ที่" in shown
    assert reverse("web:letter_detail", args=[entry.letter_id]) in shown


def test_the_clerk_registers_and_rejects_mail_like_other_arrivals(client, org, province_clerk,
                                                                  mailbox):
    first = ingest(mailbox, letter_mail(subject="เรื่องที่จะลงรับ"))
    second = ingest(mailbox, letter_mail(subject="เรื่องที่จะปฏิเสธ"))
    client.force_login(province_clerk)
    response = client.post(reverse("web:exchange_inbox_register", args=[first.inbox_id]),
                           follow=True)
    assert "ลงรับหนังสือแล้ว" in html(response)
    letter = Letter.objects.get(tenant=org.province, subject="เรื่องที่จะลงรับ")
    assert letter.received_via == "email"
    assert set(letter.files.values_list("role", flat=True)) >= {"main", "original"}
    decline = reverse("web:exchange_inbox_decline", args=[second.inbox_id, "reject"])
    assert "somchai@dept.go.th" in page(client, decline)
    response = client.post(decline, {"reason": "สิ่งที่ส่งมาด้วยไม่ครบ"})
    assert response.status_code == 302
    assert InboxMessage.objects.get(pk=second.inbox_id or 0).state == InState.REJECTED
    handled = page(client, INBOX + "?tab=handled")
    assert "สิ่งที่ส่งมาด้วยไม่ครบ" in handled and "ไปรษณีย์อิเล็กทรอนิกส์" in handled


def test_inbox_shows_the_smime_and_pdf_signature_status(client, org, province_clerk, mailbox):
    cert, key = smime_pair("กรมตัวอย่าง")
    raw = sign_smime(letter_mail(subject="หนังสือลงนาม S/MIME", sender="saraban@dept.go.th"),
                     certificate_pem=cert.decode(), key_pem=key.decode())
    assert ingest(mailbox, raw).outcome == "inbox"
    client.force_login(province_clerk)
    shown = page(client, INBOX)
    # No trust anchor for the signer: the signature is right, its issuer unknown.
    assert "มีลายมือชื่อ S/MIME (ไม่รู้จักผู้ออกใบรับรอง)" in shown and "กรมตัวอย่าง" in shown
    assert 'class="badge sig-untrusted"' in shown
    # The PDF was verified on arrival, as every arriving file is: it carries no signature.
    assert "ไม่มีลายมือชื่ออิเล็กทรอนิกส์" in shown


def test_inbox_query_count_does_not_grow_with_mails(client, org, province_clerk, mailbox):
    for i in range(3):
        ingest(mailbox, letter_mail(subject=f"เรื่อง {i}"))
    client.force_login(province_clerk)
    with CaptureQueriesContext(connection) as few:
        page(client, INBOX)
    for i in range(9):
        ingest(mailbox, letter_mail(subject=f"เรื่องเพิ่ม {i}"))
    with CaptureQueriesContext(connection) as many:
        shown = page(client, INBOX)
    assert shown.count("ไฟล์ที่ไม่ได้รับไว้") == 12
    assert len(many.captured_queries) == len(few.captured_queries)


# ---- what the mailbox kept apart ---------------------------------------------------------


def test_kept_apart_mail_is_listed_with_its_reason_for_clerks_and_admins(client, org,
                                                                         province_clerk,
                                                                         province_admin,
                                                                         mailbox):
    ingest(mailbox, letter_mail(subject="หนังสือปกติ"))
    ingest(mailbox, mail(subject="Out of Office: ไม่อยู่สำนักงาน",
                         headers={"Auto-Submitted": "auto-replied"}))
    ingest(mailbox, mail(sender="Someone <someone@example.com>", subject="ขายของราคาถูก"))
    client.force_login(province_clerk)
    assert f'href="{KEPT}"' in page(client, INBOX)
    shown = page(client, KEPT)
    assert "Out of Office: ไม่อยู่สำนักงาน" in shown and "ตอบกลับอัตโนมัติ" in shown
    assert "ขายของราคาถูก" in shown and "someone@example.com" in shown
    assert "ผู้ส่งไม่อยู่ในรายชื่อที่รับ" in shown
    assert "หนังสือปกติ" not in shown
    only = page(client, f"{KEPT}?outcome=auto_reply")
    assert "Out of Office" in only and "ขายของราคาถูก" not in only
    seen = MailSeen.objects.get(outcome="sender_refused")
    url = f'{reverse("web:exchange_mail_kept_original")}?seen={seen.pk}'
    assert url in shown
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "message/rfc822"
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"someone@example.com" in b"".join(response.streaming_content)
    client.force_login(province_admin)
    assert "ขายของราคาถูก" in page(client, KEPT)
    # Not for the officer, nor for another agency's clerk.
    client.force_login(org.officer)
    page(client, KEPT, status=403)
    assert client.get(url).status_code == 404
    assert client.get(f'{reverse("web:exchange_mail_kept_original")}?seen=x').status_code == 404
    client.force_login(org.clerk)  # the ministry's clerk: the ministry has no mailbox
    assert "ขายของราคาถูก" not in page(client, KEPT, status=404)
    assert client.get(url).status_code == 404


# ---- letters sent by e-mail ----------------------------------------------------------------


def send_by_mail(org: Any, clerk: Any, *addresses: str) -> Any:
    """The province's central registry issues a letter to people reached by address."""
    entry = letter_register_outgoing(
        actor=resolve_actor(clerk), registry=org.province_registry,
        details=LetterDetails(kind="external", subject="แจ้งผลการประชุม"),
        recipients=[Recipient(channel="email", text=f"ผู้รับ {a}", address=a)
                    for a in addresses],
        main_file=Upload("letter.pdf", tiny_pdf()))
    if not OutboxMessage.objects.filter(letter=entry.letter).exists():
        # TEMPORARY bridge (as in exchange/tests/mail_outbound.py) until registration queues
        # e-mail dispatches itself.
        with transaction.atomic():
            enqueue_letter(letter=entry.letter, dispatches=list(entry.letter.dispatches.all()))
    return entry


@pytest.fixture
def relay():
    server = SmtpServer(dsn=True, bounce_domains={"bounce.test"})
    server.start()
    yield server
    server.stop()


def test_tracking_shows_mail_sent_then_bounced_with_its_message_id_and_reason(
        client, org, province_clerk, province_admin, mailbox, relay):
    client.force_login(province_admin)
    response = client.post(SETTINGS, form(agency=org.province.pk, smtp_host="127.0.0.1",
                                          smtp_port=str(relay.port), smtp_security="none",
                                          accept_senders="*"))
    assert response.status_code == 302, html(response)[:3000]
    entry = send_by_mail(org, province_clerk, "saraban@bounce.test",
                         "nobody@amphoe.test")
    relay.refuse("nobody@amphoe.test")
    url = reverse("web:letter_detail", args=[entry.letter_id])
    client.force_login(province_clerk)
    queued = page(client, url)
    assert "saraban@bounce.test" in queued and "รอส่ง" in queued
    assert "mailto:" not in queued
    drain()
    relay.wait_for(1)
    sent = OutboxMessage.objects.get(recipient_code="mailto:saraban@bounce.test")
    refused = OutboxMessage.objects.get(recipient_code="mailto:nobody@amphoe.test")
    assert sent.state == OutState.SENT and refused.state == OutState.FAILED
    message_id = (sent.transport_receipt or {})["message_id"]
    shown = page(client, url)
    assert f"&lt;{message_id}&gt;" in shown and "ส่งไม่สำเร็จ" in shown
    assert "550" in shown  # the relay's refusal, as the reason
    outcomes = hand_over(relay.bounces(), lambda raw: ingest(mailbox, raw).outcome)
    assert outcomes == ["bounce"]
    sent.refresh_from_db()
    assert sent.state == OutState.FAILED
    shown = page(client, url)
    assert "ตีกลับ: 5." in shown and "exchange-mail-bounce" in shown
    kept = page(client, f"{KEPT}?outcome=bounce")
    assert "แจ้งส่งไม่สำเร็จ" in kept


def test_a_letter_mailed_long_ago_is_done_in_the_register_not_overdue(client, org,
                                                                      province_clerk,
                                                                      province_admin, mailbox,
                                                                      relay):
    mailbox_set(mailbox=mailbox, smtp_host="127.0.0.1", smtp_port=relay.port,
                smtp_security="none")
    entry = send_by_mail(org, province_clerk, "saraban@tambon.example.go.th")
    drain()
    relay.wait_for(1)
    OutboxMessage.objects.filter(letter=entry.letter).update(
        sent_at=timezone.now() - dt.timedelta(days=3))
    client.force_login(province_clerk)
    shown = page(client, reverse("web:letter_detail", args=[entry.letter_id]))
    assert "ส่งถึงแล้ว" in shown and "เกินกำหนด" not in shown
    register = page(client, reverse("web:register_list",
                                    args=[org.province_registry.pk, SeriesKind.OUTGOING]))
    assert f"ส่งทางไปรษณีย์อิเล็กทรอนิกส์แล้ว {n(1)}" in register
    assert "เกินกำหนด" not in register
