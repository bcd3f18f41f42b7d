"""The browsing screens: dashboard, registers, printouts and the letter page."""

from __future__ import annotations

import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from saraban.agencies.actors import resolve_actor
from saraban.letters.models import Secrecy, SeriesKind, Urgency
from saraban.letters.services import (
    LetterDetails,
    Recipient,
    Upload,
    entry_cancel,
    letter_register_incoming,
    letter_register_outgoing,
)

pytestmark = pytest.mark.django_db

PASSWORD = "saraban-demo"


def tiny_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def receive(org, subject: str = "ขอเชิญประชุม", **kw):
    details = LetterDetails(
        kind="external", subject=subject, sender_text="กรมการปกครอง", number="มท 0307/123",
        **kw,
    )
    main = kw.pop("main_file", None)
    return letter_register_incoming(
        actor=resolve_actor(org.clerk), registry=org.central, details=details, main_file=main
    )


def send(org, subject: str = "แจ้งผลการประชุม"):
    details = LetterDetails(kind="external", subject=subject, recipient_text="จังหวัดเชียงใหม่")
    return letter_register_outgoing(
        actor=resolve_actor(org.clerk), registry=org.central, details=details,
        series_kind=SeriesKind.OUTGOING,
        recipients=[Recipient(channel="saraban", text="จังหวัดเชียงใหม่")],
    )


def signed_in(client, person):
    client.force_login(person)
    return client


def test_dashboard_shows_todays_letters_by_urgency(client, org):
    receive(org, "เรื่องด่วนที่สุดทดสอบ", urgency=Urgency.MOST_URGENT)
    receive(org, "เรื่องปกติทดสอบ")
    page = signed_in(client, org.clerk).get(reverse("web:dashboard")).content.decode()
    assert "เรื่องด่วนที่สุดทดสอบ" in page
    assert page.index("เรื่องด่วนที่สุดทดสอบ") < page.index("เรื่องปกติทดสอบ")
    assert 'class="badge urgency-3"' in page
    assert "สารบรรณกลาง สป.มท." in page
