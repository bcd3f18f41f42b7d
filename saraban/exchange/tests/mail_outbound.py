"""Fixtures and helpers for the outbound mail tests (sending, answers, bounces): a real SMTP
relay (aiosmtpd, ``saraban.exchange.testing_smtp``) with STARTTLS, AUTH and DSN, the
ministry's central mailbox pointing at it, and a reading of what the relay received with the
standard library's parser (not the one under test).

Import the fixtures by their function names (``relay_fixture`` …); tests ask for them by
their names (``relay``, ``mailbox``, ``tls``)."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.utils import timezone

from saraban.agencies.actors import resolve_actor
from saraban.exchange.mail.mailboxes import mailbox_add
from saraban.exchange.models import Mailbox, OutboxMessage
from saraban.exchange.testing_smtp import SmtpServer, make_tls_certificate
from saraban.letters.models import RegisterEntry
from saraban.letters.services import LetterDetails, Recipient, Upload, letter_register_outgoing
from saraban.letters.tests.test_register import tiny_pdf

ADDRESS = "saraban@moi.go.th"
SMTP_USER, SMTP_PASSWORD = "saraban", "relay-secret"


@pytest.fixture(name="tls")
def tls_fixture(tmp_path: Path, settings) -> tuple[Path, Path]:
    cert = make_tls_certificate(tmp_path / "tls")
    settings.SARABAN_MAIL_CA_FILE = str(cert[0])
    settings.SARABAN_MAIL_TIMEOUT_SECONDS = 5
    settings.SARABAN_MAIL_HELO_NAME = "saraban.moi.go.th"
    return cert


@pytest.fixture(name="relay")
def relay_fixture(tls) -> Iterator[SmtpServer]:
    server = SmtpServer(starttls=True, certificate=tls, auth={SMTP_USER: SMTP_PASSWORD},
                        bounce_domains={"bounce.test"}, delay_domains={"slow.test"})
    server.start()
    yield server
    server.stop()


@pytest.fixture(name="mailbox")
def mailbox_fixture(org, relay) -> Mailbox:
    return mailbox_add(agency=org.ministry, address=ADDRESS, display_name="สารบรรณกลาง มท.",
                       smtp_host=relay.host, smtp_port=relay.port, smtp_security="starttls",
                       smtp_user=SMTP_USER, smtp_password=SMTP_PASSWORD)


def send_letter(org, *addresses: str, subject: str = "ขอเชิญประชุมคณะทำงาน",
                attachments: tuple[tuple[str, bytes], ...] = ()) -> RegisterEntry:
    """The ministry's central registry issues a letter to people reached by address."""
    entry = letter_register_outgoing(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject=subject, urgency=1),
        recipients=[Recipient(channel="email", text=f"ผู้รับ {a}", address=a)
                    for a in addresses],
        main_file=Upload("หนังสือเชิญประชุม.pdf", tiny_pdf()),
        attachments=[Upload(name, data) for name, data in attachments],
    )
    if not OutboxMessage.objects.filter(letter=entry.letter).exists():  # TEMPORARY bridge
        from django.db import transaction

        from saraban.exchange.outbox import enqueue_letter

        with transaction.atomic():
            enqueue_letter(letter=entry.letter, dispatches=list(entry.letter.dispatches.all()))
    return entry


def pdf(pages: int = 2) -> bytes:
    """A small valid PDF other than ``tiny_pdf`` (a different file)."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=842, height=595)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def due_now(out: OutboxMessage) -> None:
    """Skip the backoff wait (the retry itself is what is tested)."""
    OutboxMessage.objects.filter(pk=out.pk).update(next_attempt_at=timezone.now())


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content
