"""Several delivery workers against one outbox never deliver the same message twice.

``claim_due`` locks the due rows with ``FOR UPDATE SKIP LOCKED`` and moves their next attempt
a lease ahead before the transaction ends, so another worker neither waits for nor takes
them; a worker that dies holding a claim only delays its messages until the lease runs out.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import Counter
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from saraban.agencies.actors import resolve_actor
from saraban.exchange import outbox
from saraban.exchange.models import InboxMessage, OutboxMessage, OutState
from saraban.exchange.transport import LocalTransport, TransportAnswer
from saraban.letters.services import LetterDetails, Recipient, Upload, letter_register_outgoing
from saraban.letters.tests.test_register import tiny_pdf

pytestmark = pytest.mark.django_db(transaction=True)


def queue_messages(org, n: int) -> list[OutboxMessage]:
    """One real dispatch, then ``n - 1`` more queued messages of the same letter."""
    entry = letter_register_outgoing(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject="แจ้งเวียนทดสอบผู้ส่งหลายราย"),
        recipients=[Recipient(channel="saraban", agency=org.province)],
        main_file=Upload("letter.pdf", tiny_pdf()),
    )
    first = OutboxMessage.objects.get(letter=entry.letter)
    OutboxMessage.objects.bulk_create(
        OutboxMessage(type=first.type, sender_id=first.sender_id, sender_code=first.sender_code,
                      recipient_code=first.recipient_code, letter_id=first.letter_id,
                      dispatch_id=first.dispatch_id, next_attempt_at=first.next_attempt_at,
                      created_at=first.created_at, message_id=uuid.uuid4())
        for _ in range(n - 1)
    )
    return list(OutboxMessage.objects.all())


@pytest.fixture
def counted(monkeypatch) -> Counter[str]:
    """Count the transport's deliveries per message id (the real local transport runs)."""
    calls: Counter[str] = Counter()
    lock = threading.Lock()
    real = LocalTransport.deliver

    def deliver(self: LocalTransport, message: dict[str, Any]) -> TransportAnswer:
        with lock:
            calls[message["envelope"]["id"]] += 1
        return real(self, message)

    monkeypatch.setattr(LocalTransport, "deliver", deliver)
    return calls


@pytest.mark.postgres
def test_concurrent_workers_deliver_each_message_exactly_once(org, counted):
    messages = queue_messages(org, 200)
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def worker() -> None:
        try:
            start.wait()
            while outbox.deliver_due(limit=7):
                pass
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    ids = {str(m.message_id) for m in messages}
    assert set(counted) == ids
    assert set(counted.values()) == {1}, "the transport carried each message once"
    assert InboxMessage.objects.count() == 200
    assert set(InboxMessage.objects.values_list("message_id", flat=True)) == {
        m.message_id for m in messages
    }
    assert set(OutboxMessage.objects.values_list("state", "attempts")) == {(OutState.SENT, 1)}


def test_a_claim_abandoned_by_a_crashed_worker_is_taken_again_after_the_lease(
    org, counted, settings
):
    settings.SARABAN_EXCHANGE_LEASE_SECONDS = 30
    [out] = queue_messages(org, 1)
    assert outbox.claim_due() == [out.pk]  # ...and the worker dies before delivering
    assert outbox.deliver_due() == 0, "another worker leaves it alone during the lease"
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=31), tick=True):
        assert outbox.deliver_due() == 1
        assert outbox.deliver_due() == 0
    out.refresh_from_db()
    assert (out.state, out.attempts) == (OutState.SENT, 2)
    assert counted == Counter({str(out.message_id): 1})
    assert InboxMessage.objects.filter(message_id=out.message_id).count() == 1


def test_a_worker_that_dies_after_the_receiver_stored_it_gets_the_same_receipt(
    org, counted, settings
):
    settings.SARABAN_EXCHANGE_LEASE_SECONDS = 30
    [out] = queue_messages(org, 1)
    outbox.claim_due()
    LocalTransport().deliver(outbox.build_message(out))  # delivered; the worker dies here
    first_receipt = InboxMessage.objects.get().receipt
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=31), tick=True):
        assert outbox.deliver_due() == 1
    out.refresh_from_db()
    assert out.state == OutState.SENT
    assert out.transport_receipt == first_receipt
    assert counted[str(out.message_id)] == 2
    assert InboxMessage.objects.count() == 1
