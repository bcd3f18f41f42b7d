"""Agencies hosted on one node exchange letters through the local transport."""

from __future__ import annotations

import pytest

from saraban.agencies.actors import resolve_actor
from saraban.core.audit import audit_verify
from saraban.core.errors import ValidationFailed
from saraban.exchange.inbox import exchange_inbox_register, exchange_inbox_reject
from saraban.exchange.models import InboxMessage, InState, OutboxMessage, OutState
from saraban.exchange.outbox import exchange_resend, exchange_withdraw
from saraban.exchange.worker import drain
from saraban.letters.models import Letter
from saraban.letters.services import LetterDetails, Recipient, Upload, letter_register_outgoing
from saraban.letters.tests.test_register import tiny_pdf


def send(org, *recipients, subject="ขอความร่วมมือสำรวจข้อมูล"):
    return letter_register_outgoing(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject=subject, urgency=1),
        recipients=list(recipients), main_file=Upload("letter.pdf", tiny_pdf()),
    )


def test_letter_arrives_once_is_registered_and_the_sender_sees_the_number(org, province_clerk):
    entry = send(org, Recipient(channel="saraban", agency=org.province))
    out = OutboxMessage.objects.get(letter=entry.letter)
    assert (out.state, out.recipient_code, out.sender_code) == ("queued", "chiangmai", "moi")

    drain()
    out.refresh_from_db()
    assert out.state == OutState.SENT
    assert out.transport_receipt is not None
    assert out.transport_receipt["receipt"]["files"] == {
        entry.letter.files.get().blob.sha256: entry.letter.files.get().blob.size
    }
    [arrived] = InboxMessage.objects.all()
    assert arrived.recipient == org.province and arrived.state == InState.WAITING

    their = exchange_inbox_register(actor=province_clerk, message=arrived)
    assert their.letter.subject == "ขอความร่วมมือสำรวจข้อมูล"
    assert their.letter.number == entry.formatted
    assert their.letter.files.get().blob_id == entry.letter.files.get().blob_id
    drain()
    out.refresh_from_db()
    assert out.state == OutState.REGISTERED
    assert out.receipt_number == their.formatted
    assert Letter.objects.filter(tenant=org.province).count() == 1
    assert all(problem is None for _a, _n, problem in audit_verify())


def test_a_rejected_letter_can_be_withdrawn_and_sent_again(org, province_clerk):
    entry = send(org, Recipient(channel="saraban", agency=org.province))
    drain()
    exchange_inbox_reject(actor=province_clerk, message=InboxMessage.objects.get(),
                          reason="สิ่งที่ส่งมาด้วยไม่ครบ")
    drain()
    out = OutboxMessage.objects.get(letter=entry.letter)
    assert (out.state, out.reason) == (OutState.REJECTED, "สิ่งที่ส่งมาด้วยไม่ครบ")
    clerk = resolve_actor(org.clerk)
    exchange_withdraw(actor=clerk, out=out)
    fresh = exchange_resend(actor=clerk, out=out)
    drain()
    assert InboxMessage.objects.count() == 2
    exchange_inbox_register(actor=province_clerk,
                            message=InboxMessage.objects.get(state=InState.WAITING))
    drain()
    fresh.refresh_from_db()
    assert fresh.state == OutState.REGISTERED and fresh.replaces == out


def test_recipient_without_an_exchange_code_is_refused_before_anything_is_written(org):
    with pytest.raises(ValidationFailed) as exc:
        send(org, Recipient(channel="saraban", text="บริษัทเอกชน"))
    assert exc.value.code == "recipient_not_electronic"
    assert Letter.objects.count() == 0 and OutboxMessage.objects.count() == 0
