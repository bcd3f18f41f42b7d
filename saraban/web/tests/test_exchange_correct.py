"""The "แก้ไขและส่งใหม่" form on a withdrawn delivery: correct the letter, then resend it."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Role, RoleGrant
from saraban.agencies.sample import make_person
from saraban.core.models import AuditEvent
from saraban.exchange.inbox import exchange_inbox_register, exchange_inbox_reject
from saraban.exchange.models import InboxMessage, InState, OutboxMessage, OutState
from saraban.exchange.outbox import exchange_withdraw
from saraban.exchange.worker import drain
from saraban.letters.services import LetterDetails, Recipient, Upload, letter_register_outgoing
from saraban.letters.tests.test_corrections import other_pdf
from saraban.letters.tests.test_register import tiny_pdf


@pytest.fixture
def province_clerk(org):
    person = make_person("cm-clerk", "ประเสริฐ ดอยคำ", agency=org.province, password=None)
    RoleGrant.objects.create(person=person, unit=org.province, role=Role.REGISTRY_CLERK)
    return resolve_actor(person)


@pytest.fixture
def withdrawn(org, province_clerk):
    entry = letter_register_outgoing(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject="ขอความร่วมมือสำรวจข้อมูล"),
        recipients=[Recipient(channel="saraban", agency=org.province)],
        main_file=Upload("letter.pdf", tiny_pdf()),
    )
    drain()
    exchange_inbox_reject(actor=province_clerk, message=InboxMessage.objects.get(),
                          reason="ไม่มีลายมือชื่อ")
    drain()
    out = OutboxMessage.objects.get(letter=entry.letter)
    exchange_withdraw(actor=resolve_actor(org.clerk), out=out)
    return out


def url(out):
    return reverse("web:exchange_outbox_correct", args=[out.message_id])


def test_the_clerk_corrects_and_resends_from_the_letter_page(client, org, province_clerk,
                                                             withdrawn):
    client.force_login(org.clerk)
    letter_page = reverse("web:letter_detail", args=[withdrawn.letter_id])
    html = client.get(letter_page).content.decode()
    assert "แก้ไขและส่งใหม่" in html and url(withdrawn) in html
    assert client.get(url(withdrawn)).status_code == 200

    new_pdf = other_pdf()
    response = client.post(url(withdrawn), {
        "reason": "แนบฉบับที่ลงนามแล้ว", "subject": "ขอความร่วมมือสำรวจข้อมูล (แก้ไข)",
        "main_file": SimpleUploadedFile("signed.pdf", new_pdf, "application/pdf"),
    })
    assert response.status_code == 302
    assert response["Location"].startswith(letter_page)
    html = client.get(letter_page).content.decode()
    assert "แก้ไขหนังสือและส่งใหม่แล้ว 1 ราย" in html
    assert "ฉบับก่อนแก้ไข" in html and "แนบฉบับที่ลงนามแล้ว" in html and "<del>" in html
    assert "<strong>แก้ไขหนังสือ</strong>" in html  # the history line

    drain()
    arrived = InboxMessage.objects.get(state=InState.WAITING)
    assert [f["sha256"] for f in arrived.envelope["files"]] == [
        hashlib.sha256(new_pdf).hexdigest()
    ]
    exchange_inbox_register(actor=province_clerk, message=arrived)
    drain()
    fresh = OutboxMessage.objects.get(replaces=withdrawn)
    assert fresh.state == OutState.REGISTERED
    html = client.get(letter_page).content.decode()
    assert url(withdrawn) not in html


def test_errors_are_shown_next_to_the_field_and_nothing_is_saved(client, org, withdrawn):
    client.force_login(org.clerk)
    response = client.post(url(withdrawn), {"reason": "", "subject": "เรื่องใหม่"})
    assert response.status_code == 400
    assert 'data-field="reason"' in response.content.decode()
    assert "กรุณาระบุเหตุผลการแก้ไข" in response.content.decode()

    response = client.post(url(withdrawn), {
        "reason": "แก้ไฟล์", "subject": "เรื่องใหม่",
        "main_file": SimpleUploadedFile("fake.pdf", b"not a pdf", "application/pdf"),
    })
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-field="main_file"' in html and "ชนิดของไฟล์ไม่ถูกต้อง" in html
    letter = withdrawn.letter
    letter.refresh_from_db()
    assert letter.subject == "ขอความร่วมมือสำรวจข้อมูล"
    assert letter.files.count() == 1
    assert OutboxMessage.objects.filter(letter=letter).count() == 1
    assert not AuditEvent.objects.filter(action__in=["letter_correct", "exchange_resend"]).exists()


def test_someone_who_is_not_a_clerk_of_the_sender_gets_not_found(client, org, withdrawn):
    client.force_login(org.officer)
    assert client.get(url(withdrawn)).status_code == 404
    assert client.post(url(withdrawn), {"reason": "x", "subject": "y"}).status_code == 404
