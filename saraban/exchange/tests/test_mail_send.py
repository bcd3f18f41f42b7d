"""Letters out by e-mail through a real SMTP relay (aiosmtpd: STARTTLS, AUTH, DSN)."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from saraban.core.audit import audit_verify
from saraban.core.models import AuditEvent
from saraban.exchange.mail.mailboxes import mailbox_set
from saraban.exchange.models import MessageType, OutboxMessage, OutState
from saraban.exchange.testing_smtp import SmtpServer
from saraban.exchange.worker import drain
from saraban.letters import files as blobs
from saraban.letters.models import Dispatch, FileRole

from .mail_outbound import (  # noqa: F401 (fixtures)
    ADDRESS,
    body_text,
    due_now,
    mailbox_fixture,
    parse,
    pdf,
    relay_fixture,
    send_letter,
    tls_fixture,
)

TO = "somchai@school.ac.th"


def test_a_letter_by_email_reaches_the_relay_with_its_signed_pdf_and_message_id(
        org, mailbox, relay):
    entry = send_letter(org, TO, attachments=(("กำหนดการ.pdf", pdf()),))
    [out] = OutboxMessage.objects.filter(letter=entry.letter)
    assert (out.type, out.state, out.recipient_code) == (MessageType.LETTER, OutState.QUEUED,
                                                        f"mailto:{TO}")
    assert out.dispatch is not None and out.dispatch.channel == "email"

    drain()
    out.refresh_from_db()
    assert out.state == OutState.SENT, out.last_error
    [got] = relay.messages
    assert (got.mail_from, got.rcpt_tos) == (ADDRESS, [TO])
    assert got.tls and got.auth_user == "saraban"
    # DSN asked for: headers only back, our row's id as the envelope id, failures and delays.
    assert got.mail_params["RET"] == "HDRS"
    assert got.mail_params["ENVID"] == str(out.message_id)
    assert got.rcpt_params[TO] == {"NOTIFY": "FAILURE,DELAY", "ORCPT": f"rfc822;{TO}"}

    assert got.data.isascii()  # 7-bit on the wire: RFC 2047 words, base64 bodies
    assert re.search(rb"^Subject: =\?utf-8\?[bq]\?", got.headers, re.I | re.M)
    mail = parse(got.data)
    assert mail["Subject"] == f"ที่ {entry.letter.number} เรื่อง ขอเชิญประชุมคณะทำงาน"
    assert mail["From"].addresses[0].addr_spec == ADDRESS
    # (Python's address parser keeps the space ending the first encoded word and the fold
    # both; RFC 2047 readers such as saraban.mail drop the fold.)
    assert " ".join(mail["From"].addresses[0].display_name.split()) == "สารบรรณกลาง มท."
    assert mail["To"].addresses[0].addr_spec == TO
    assert mail["Message-ID"] == f"<{out.message_id}@moi.go.th>"
    assert mail["X-Saraban-Message"] == str(out.message_id)
    text = body_text(mail)
    assert entry.letter.number in text and "ขอเชิญประชุมคณะทำงาน" in text
    assert "หนังสือเชิญประชุม.pdf" in text and "ด่วน" in text

    files = {f.filename: blobs.read_blob(f.blob) for f in entry.letter.files.all()}
    attached = {p.get_filename(): p.get_content() for p in mail.iter_attachments()}
    assert attached == files  # the signed PDF and the attachment, byte for byte
    main = entry.letter.files.get(role=FileRole.MAIN)
    assert next(iter(attached)) == main.filename

    receipt = out.transport_receipt
    assert receipt is not None
    assert receipt["channel"] == "email"
    assert receipt["message_id"] == f"{out.message_id}@moi.go.th"
    assert receipt["smtp"] == f"250 2.0.0 Ok: queued as {got.queue_id}"
    assert dt.datetime.fromisoformat(receipt["at"])
    sent = AuditEvent.objects.get(action="exchange_sent", target_id=entry.letter_id)
    assert sent.details["channel"] == "email"
    assert all(problem is None for _a, _n, problem in audit_verify())


def test_an_office_attachment_goes_out_with_its_specific_type(org, mailbox, relay):
    from saraban.letters.tests.bombs import docx

    document = docx()
    send_letter(org, TO, attachments=(("แบบตอบรับ.docx", document),))
    drain()
    [got] = relay.messages
    parts = {p.get_filename(): p for p in parse(got.data).iter_attachments()}
    part = parts["แบบตอบรับ.docx"]
    assert part.get_content_type() == ("application/vnd.openxmlformats-officedocument."
                                       "wordprocessingml.document")
    assert part.get_content() == document


def test_each_address_of_a_dispatch_is_its_own_mail(org, mailbox, relay):
    entry = send_letter(org, "a@school.ac.th; Head <b@School.AC.th>")
    outs = OutboxMessage.objects.filter(letter=entry.letter).order_by("pk")
    assert [o.recipient_code for o in outs] == ["mailto:a@school.ac.th",
                                               "mailto:b@school.ac.th"]
    drain()
    assert sorted(m.rcpt_tos[0] for m in relay.messages) == ["a@school.ac.th",
                                                             "b@school.ac.th"]
    ids = {parse(m.data)["Message-ID"] for m in relay.messages}
    assert len(ids) == 2


def test_without_an_smtp_relay_the_email_channel_is_only_recorded(org, relay):
    from saraban.exchange.mail.mailboxes import mailbox_add

    mailbox_add(agency=org.ministry, address=ADDRESS)  # intake only
    entry = send_letter(org, TO)
    assert Dispatch.objects.get(letter=entry.letter).channel == "email"
    assert not OutboxMessage.objects.exists()
    drain()
    assert relay.messages == []


def test_a_disabled_mailbox_sends_nothing(org, mailbox, relay):
    mailbox_set(mailbox=mailbox, enabled=False)
    send_letter(org, TO)
    assert not OutboxMessage.objects.exists()
    mailbox_set(mailbox=mailbox, enabled=True)
    send_letter(org, TO)
    assert OutboxMessage.objects.count() == 1


def test_a_deferred_recipient_is_retried_with_the_same_message_id(org, mailbox, relay):
    relay.defer(TO, times=1)
    relay.defer_data(times=0)
    entry = send_letter(org, TO)
    out = OutboxMessage.objects.get(letter=entry.letter)
    drain()
    out.refresh_from_db()
    assert out.state == OutState.QUEUED
    assert "451" in out.last_error and out.last_error.startswith("smtp_deferred")
    assert relay.messages == []

    relay.defer_data(times=1)  # next: the data is refused for now (queue write error)
    due_now(out)
    drain()
    out.refresh_from_db()
    assert out.state == OutState.QUEUED and "451 4.3.0" in out.last_error

    due_now(out)
    drain()
    out.refresh_from_db()
    assert out.state == OutState.SENT and out.attempts == 3 and out.last_error == ""
    [got] = relay.messages
    assert parse(got.data)["Message-ID"] == f"<{out.message_id}@moi.go.th>"


def test_a_refused_recipient_fails_at_once_with_the_relays_reason(org, mailbox, relay):
    relay.refuse(TO)
    entry = send_letter(org, TO)
    drain()
    out = OutboxMessage.objects.get(letter=entry.letter)
    assert out.state == OutState.FAILED and out.attempts == 1
    assert "550 5.1.1" in out.last_error and "User unknown" in out.last_error
    failed = AuditEvent.objects.get(action="exchange_failed", target_id=entry.letter_id)
    assert "550 5.1.1" in failed.details["error"]


def test_mail_refused_at_the_end_of_data_fails_for_good(org, mailbox, relay):
    relay.refuse_data("554 5.7.1 Message rejected: attachment type not allowed")
    entry = send_letter(org, TO)
    drain()
    out = OutboxMessage.objects.get(letter=entry.letter)
    assert out.state == OutState.FAILED
    assert "554 5.7.1" in out.last_error


def test_a_relay_that_is_down_is_tried_again_and_then_delivered(org, mailbox, relay):
    relay.stop()
    entry = send_letter(org, TO)
    out = OutboxMessage.objects.get(letter=entry.letter)
    drain()
    out.refresh_from_db()
    assert out.state == OutState.QUEUED and out.last_error.startswith("smtp_unreachable")
    relay.start()
    due_now(out)
    drain()
    out.refresh_from_db()
    assert out.state == OutState.SENT
    assert len(relay.messages) == 1


def test_wrong_relay_password_is_retried_not_failed(org, mailbox, relay):
    mailbox_set(mailbox=mailbox, smtp_password="wrong")
    entry = send_letter(org, TO)
    drain()
    out = OutboxMessage.objects.get(letter=entry.letter)
    assert out.state == OutState.QUEUED and out.last_error.startswith("smtp_auth_failed")
    assert relay.messages == []


def test_an_untrusted_relay_certificate_is_not_used(org, mailbox, relay, settings):
    settings.SARABAN_MAIL_CA_FILE = None  # the test CA is not trusted any more
    entry = send_letter(org, TO)
    drain()
    out = OutboxMessage.objects.get(letter=entry.letter)
    assert out.state == OutState.QUEUED and out.last_error.startswith("smtp_tls")
    assert relay.messages == []


def test_implicit_tls_relay_without_dsn(org, tls):
    with SmtpServer(implicit_tls=True, certificate=tls, dsn=False) as plain:
        from saraban.exchange.mail.mailboxes import mailbox_add

        mailbox_add(agency=org.ministry, address=ADDRESS, smtp_host=plain.host,
                    smtp_port=plain.port, smtp_security="ssl")
        entry = send_letter(org, TO)
        drain()
        out = OutboxMessage.objects.get(letter=entry.letter)
        assert out.state == OutState.SENT, out.last_error
        [got] = plain.messages
        assert got.tls and "RET" not in got.mail_params and got.rcpt_params[TO] == {}
        assert out.transport_receipt is not None and out.transport_receipt["dsn"] is False


def _smime_identity() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "สารบรรณกลาง มท."),
                      x509.NameAttribute(NameOID.EMAIL_ADDRESS, ADDRESS)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(ADDRESS)]),
                       critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def _openssl_verify(raw: bytes, tmp_path: Path) -> subprocess.CompletedProcess[bytes]:
    path = tmp_path / "signed.eml"
    path.write_bytes(raw)
    return subprocess.run(["openssl", "smime", "-verify", "-noverify", "-in", str(path)],
                          capture_output=True, timeout=30, check=False)


def test_the_mail_is_smime_signed_when_the_mailbox_has_a_certificate(
        org, mailbox, relay, tmp_path):
    certificate, key = _smime_identity()
    mailbox_set(mailbox=mailbox, smime_certificate_pem=certificate, smime_key_pem=key)
    entry = send_letter(org, TO)
    drain()
    out = OutboxMessage.objects.get(letter=entry.letter)
    assert out.state == OutState.SENT, out.last_error
    [got] = relay.messages
    mail = parse(got.data)
    assert mail.get_content_type() == "multipart/signed"
    assert mail["Subject"].startswith(f"ที่ {entry.letter.number}")
    assert mail["Message-ID"] == f"<{out.message_id}@moi.go.th>"
    checked = _openssl_verify(got.data, tmp_path)
    assert checked.returncode == 0, checked.stderr.decode()
    assert b"Verification successful" in checked.stderr
    # The signed content carries the PDF unchanged.
    pdf = blobs.read_blob(entry.letter.files.get(role=FileRole.MAIN).blob)
    inner = parse(checked.stdout)
    assert [p.get_content() for p in inner.iter_attachments()] == [pdf]

    # A single changed byte in the signed part breaks it (the check can fail).
    tampered = got.data.replace("เรียน".encode(), "เรียก".encode(), 1)
    if tampered == got.data:  # the text is encoded: change the PDF's base64 instead
        head, sep, rest = got.data.partition(b"JVBERi")
        tampered = head + sep + rest[:10] + (b"A" if rest[10:11] != b"A" else b"B") + rest[11:]
    assert _openssl_verify(tampered, tmp_path).returncode != 0


@pytest.mark.parametrize("address", ["สมชาย@โรงเรียน.ไทย"])
def test_a_thai_address_needs_a_relay_that_speaks_smtputf8(org, mailbox, relay, address):
    entry = send_letter(org, address)
    drain()
    out = OutboxMessage.objects.get(letter=entry.letter)
    assert out.state == OutState.SENT, out.last_error
    [got] = relay.messages
    assert got.mail_params.get("SMTPUTF8") is not None
    assert got.rcpt_tos == ["สมชาย@" + "โรงเรียน.ไทย".encode("idna").decode()]


def test_a_retry_after_a_crash_that_followed_the_hand_over_sends_the_same_mail(
        org, mailbox, relay):
    entry = send_letter(org, TO)
    drain()
    out = OutboxMessage.objects.get(letter=entry.letter)
    assert out.state == OutState.SENT
    # The worker crashed after the relay took the mail but before "sent" was kept.
    OutboxMessage.objects.filter(pk=out.pk).update(state=OutState.QUEUED, sent_at=None,
                                                   transport_receipt=None)
    due_now(out)
    drain()
    out.refresh_from_db()
    assert out.state == OutState.SENT
    first, second = relay.wait_for(2)
    # The very same mail: the recipient (and its mail program) sees one message twice.
    assert first.data == second.data
    assert first.mail_params["ENVID"] == second.mail_params["ENVID"] == str(out.message_id)
    assert out.payload["mail_message_id"] == f"{out.message_id}@moi.go.th"


def test_a_relay_that_never_answers_times_out_and_is_retried(org, mailbox, settings):
    import socket

    settings.SARABAN_MAIL_TIMEOUT_SECONDS = 0.5
    with socket.socket() as silent:  # takes the connection, never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        mailbox_set(mailbox=mailbox, smtp_port=silent.getsockname()[1])
        entry = send_letter(org, TO)
        drain()
    out = OutboxMessage.objects.get(letter=entry.letter)
    assert out.state == OutState.QUEUED
    assert out.last_error.startswith("smtp_unreachable") and "timed out" in out.last_error
