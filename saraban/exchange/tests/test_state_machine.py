"""The outbox state machine under any order of deliveries, failures, receipts and actions.

Hypothesis generates sequences of operations on one letter sent from the ministry to two
agencies hosted here (so the real receiving side runs through the local transport); after
each operation every outbox row may only have moved along an allowed edge, and the sender's
view must agree with what the receiving registries did.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from django.db import transaction
from django.db.models import Count, F
from hypothesis import HealthCheck, example, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from saraban.agencies.actors import Actor, resolve_actor
from saraban.agencies.models import Role, RoleGrant
from saraban.agencies.sample import make_person
from saraban.core.errors import Conflict
from saraban.exchange import outbox
from saraban.exchange.inbox import (
    exchange_inbox_register,
    exchange_inbox_reject,
    exchange_inbox_return,
)
from saraban.exchange.models import InboxMessage, InState, OutboxMessage, OutState
from saraban.exchange.transport import DeliveryFailed, LocalTransport, TransportAnswer
from saraban.letters.services import LetterDetails, Recipient, Upload, letter_register_outgoing
from saraban.letters.tests.test_register import tiny_pdf

Q, S, REG, REJ, RET, FAIL, WD = (
    OutState.QUEUED, OutState.SENT, OutState.REGISTERED, OutState.REJECTED,
    OutState.RETURNED, OutState.FAILED, OutState.WITHDRAWN,
)
# Every edge a message may take (staying put is always allowed). A business receipt may
# overtake the transport receipt (queued → registered…) and may arrive after the sender gave
# up waiting for the transport receipt (failed → registered…): the recipient has the letter.
ALLOWED: dict[str, set[str]] = {
    Q: {S, REG, REJ, RET, FAIL},
    S: {REG, REJ, RET},
    FAIL: {Q, REG, REJ, RET},
    REJ: {WD},
    RET: {WD},
    REG: set(),
    WD: set(),
}
RETRY_LIMIT = 3


class Down:
    name = "down"

    def deliver(self, message: dict[str, Any]) -> TransportAnswer:
        raise DeliveryFailed("connection refused", code="unreachable")


class LostAnswer:
    """The recipient stores the message, but its answer never reaches the sender."""

    name = "lost"

    def deliver(self, message: dict[str, Any]) -> TransportAnswer:
        LocalTransport().deliver(message)
        raise DeliveryFailed("connection reset before the answer", code="unreachable")


def attempt(rows: Iterable[OutboxMessage], transport: Any = None) -> None:
    """One delivery attempt of each queued row, as the worker makes it after a claim."""
    for row in rows:
        if row.state != Q:
            continue
        OutboxMessage.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
        if transport is None:
            outbox.deliver(row.pk)
        else:
            with mock.patch.object(outbox, "transport_for", return_value=transport):
                outbox.deliver(row.pk)


class World:
    def __init__(self, org, clerks: dict[str, Actor]) -> None:
        self.org = org
        self.sender = resolve_actor(org.clerk)
        self.clerks = clerks  # recipient code → its registry clerk
        self.codes = list(clerks)
        self.entry = letter_register_outgoing(
            actor=self.sender, registry=org.central,
            details=LetterDetails(kind="external", subject="ขอความอนุเคราะห์ข้อมูล"),
            recipients=[Recipient(channel="saraban", agency=a) for a in (org.province, org.lao)],
            main_file=Upload("letter.pdf", tiny_pdf()),
        )

    def letters(self, code: str) -> list[OutboxMessage]:
        return list(OutboxMessage.objects.filter(type="letter", recipient_code=code))

    def latest(self, code: str) -> OutboxMessage:
        return self.letters(code)[-1]

    def receipts(self) -> list[OutboxMessage]:
        return list(OutboxMessage.objects.filter(type="receipt"))

    def run(self, op: str, r: int) -> None:
        code = self.codes[r]
        clerk = self.clerks[code]
        waiting = InboxMessage.objects.filter(recipient__exchange_code=code,
                                              state=InState.WAITING).first()
        match op:
            case "deliver":
                attempt(self.letters(code))
            case "down":
                attempt(self.letters(code), Down())
            case "lost_answer":
                attempt(self.letters(code), LostAnswer())
            case "deliver_receipts":
                attempt(self.receipts())
            case "receipts_down":
                attempt(self.receipts(), Down())
            case "receipts_lost":
                attempt(self.receipts(), LostAnswer())
            case "register" if waiting:
                exchange_inbox_register(actor=clerk, message=waiting)
            case "reject" if waiting:
                exchange_inbox_reject(actor=clerk, message=waiting, reason="เอกสารไม่ครบ")
            case "return" if waiting:
                exchange_inbox_return(actor=clerk, message=waiting, reason="ส่งผิดหน่วยงาน")
            case "replay":
                for row in self.letters(code) + self.receipts():
                    if row.transport_receipt is not None:
                        answer = LocalTransport().deliver(outbox.build_message(row))
                        assert (answer.status, answer.body) == (200, row.transport_receipt)
            case "requeue":
                self.guarded(outbox.exchange_requeue, self.latest(code), {FAIL})
            case "requeue_receipts":
                for row in self.receipts():
                    if row.state == FAIL:
                        outbox.exchange_requeue(actor=self.clerks[row.sender_code], out=row)
            case "withdraw":
                self.guarded(outbox.exchange_withdraw, self.latest(code), {REJ, RET})
            case "resend":
                latest = self.latest(code)
                self.guarded(outbox.exchange_resend, latest, {WD})

    def guarded(self, action: Any, row: OutboxMessage, allowed: set[str]) -> bool:
        if row.state in allowed:
            action(actor=self.sender, out=row)
            return True
        with pytest.raises(Conflict):
            action(actor=self.sender, out=row)
        return False

    def states(self) -> dict[int, str]:
        return dict(OutboxMessage.objects.values_list("pk", "state"))

    def check(self, before: dict[int, str], op: str) -> None:
        after = self.states()
        for pk, state in after.items():
            old = before.get(pk, Q)  # a new row (a resend, a receipt) starts queued
            assert state == old or state in ALLOWED[old], f"{op}: {old} → {state}"
        twice = (InboxMessage.objects.values("sender_code", "message_id")
                 .annotate(n=Count("pk")).filter(n__gt=1))
        assert not twice.exists(), "a message was stored twice"
        for row in OutboxMessage.objects.filter(type="letter", state=REG):
            arrived = InboxMessage.objects.select_related("entry").get(
                sender_code=row.sender_code, message_id=row.message_id)
            assert arrived.state == InState.REGISTERED and arrived.entry is not None
            assert row.receipt_number == arrived.entry.formatted
        for code in self.codes:
            registered = InboxMessage.objects.filter(recipient__exchange_code=code,
                                                     state=InState.REGISTERED).count()
            assert registered <= 1, "one letter registered twice by its recipient"
        for receipt in OutboxMessage.objects.filter(type="receipt", state=S):
            letter = OutboxMessage.objects.get(message_id=receipt.payload["for"])
            assert letter.state in {receipt.payload["status"], WD}, (
                f"{op}: receipt {receipt.payload['status']} delivered, letter {letter.state}")

    def heal(self) -> None:
        """Everything comes back up: failed receipts are sent again, all queued goes through;
        then what each recipient decided is what its sender sees."""
        before = self.states()
        self.run("requeue_receipts", 0)
        self.check(before, "heal: requeue receipts")
        for _ in range(3):
            before = self.states()
            attempt(OutboxMessage.objects.filter(state=Q))
            self.check(before, "heal: deliver")
        assert not OutboxMessage.objects.filter(state=Q).exists()
        for arrived in InboxMessage.objects.exclude(state=InState.WAITING):
            row = OutboxMessage.objects.get(message_id=arrived.message_id)
            assert row.state in {arrived.state, WD}, (arrived.state, row.state)


OPS = st.sampled_from([
    "deliver", "deliver", "down", "lost_answer", "deliver_receipts", "receipts_down",
    "receipts_lost", "register", "register", "reject", "return", "replay", "requeue",
    "requeue_receipts", "withdraw", "resend",
])


@pytest.fixture
def clerks(org, province_clerk) -> dict[str, Actor]:
    person = make_person("lao-clerk", "สมใจ ท้องถิ่น", agency=org.lao, password=None)
    RoleGrant.objects.create(person=person, unit=org.lao, role=Role.REGISTRY_CLERK)
    return {"chiangmai": province_clerk, "chiangmai-city": resolve_actor(person)}


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@examples(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(st.tuples(OPS, st.integers(0, 1)), max_size=30))
# The business receipt overtakes the transport receipt whose answer was lost.
@example(ops=[("lost_answer", 0), ("register", 0), ("deliver_receipts", 0), ("deliver", 0),
              ("replay", 0)])
# The sender gave up (every answer lost) but the recipient has it and registers it.
@example(ops=[("lost_answer", 1)] * RETRY_LIMIT + [("register", 1), ("deliver_receipts", 0)])
# Rejected, withdrawn, corrected and sent again; a duplicate receipt changes nothing.
@example(ops=[("deliver", 0), ("reject", 0), ("receipts_lost", 0), ("withdraw", 0),
              ("resend", 0), ("deliver_receipts", 0), ("deliver", 0), ("register", 0),
              ("deliver_receipts", 0), ("replay", 0)])
def test_outbox_states_move_only_forward_and_agree_with_the_recipients(
    org, clerks, settings, ops
):
    settings.SARABAN_EXCHANGE_RETRY_LIMIT = RETRY_LIMIT
    with rolled_back():
        world = World(org, clerks)
        for op, r in ops:
            before = world.states()
            world.run(op, r)
            world.check(before, op)
        world.heal()
