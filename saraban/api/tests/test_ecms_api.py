"""e-CMS in the API: a delivery shows its channel, the ProcessID and the arrival, and
``POST /exchange/outbox/{id}/dispute`` disputes a registered e-CMS delivery's AcceptID."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Role, RoleGrant
from saraban.agencies.sample import make_person
from saraban.core.models import AuditEvent
from saraban.exchange.ecms.accounts import ecms_account_set
from saraban.exchange.inbox import exchange_inbox_register
from saraban.exchange.models import InboxMessage, MessageType, OutboxMessage, OutState
from saraban.exchange.testing import EcmsNode
from saraban.exchange.tests.test_ecms_exchange import MOI, PROVINCE, fast, pump, send

from .conftest import API

__all__ = ["fast"]  # the fixture, used by name


@pytest.fixture
def node(tmp_path: Path) -> Iterator[EcmsNode]:
    n = EcmsNode(name="ecms", root=tmp_path / "ecms",
                 departments={MOI: "สป.มท.", PROVINCE: "จังหวัดเชียงใหม่"})
    n.start()
    yield n
    n.close()


def test_deliveries_show_the_process_id_and_a_registered_one_is_disputed(api, org, fast, node):
    clerk = make_person("cm-clerk", "ประเสริฐ ดอยคำ", agency=org.province, password=None)
    RoleGrant.objects.create(person=clerk, unit=org.province, role=Role.REGISTRY_CLERK)
    ecms_account_set(agency=org.ministry, department=MOI, node_url=node.service_url(MOI))
    ecms_account_set(agency=org.province, department=PROVINCE,
                     node_url=node.service_url(PROVINCE))
    entry = send(org)
    out = OutboxMessage.objects.get(letter=entry.letter, type=MessageType.LETTER)
    pump(lambda: "arrived" in (OutboxMessage.objects.get(pk=out.pk).transport_receipt or {}))
    out.refresh_from_db()
    assert out.transport_receipt is not None

    as_clerk = api.as_user("clerk")
    deliveries = f"{API}/letters/{entry.letter_id}/deliveries"
    [item] = api.get(deliveries, headers=as_clerk).json()["items"]
    assert (item["channel"], item["channel_label"], item["state"]) == ("ecms", "e-CMS", "sent")
    assert item["process_id"] == out.transport_receipt["process_id"]
    assert item["arrived"] is True and item["arrived_at"] and item["disputed"] is False

    dispute = f"{API}/exchange/outbox/{out.message_id}/dispute"
    # Not registered yet: 409, nothing queued.
    refused = api.post(dispute, headers=as_clerk)
    assert refused.status_code == 409 and refused.json()["code"] == "not_disputable"
    # Someone who cannot see the letter: 404.
    refused = api.post(dispute, headers=api.as_user("officer"))
    assert refused.status_code == 404
    assert refused.json()["code"] == "outbox_message_not_found"
    assert not OutboxMessage.objects.filter(type=MessageType.COMMAND).exists()

    their = exchange_inbox_register(actor=resolve_actor(clerk),
                                    message=InboxMessage.objects.get(recipient=org.province))
    pump(lambda: OutboxMessage.objects.get(pk=out.pk).state == OutState.REGISTERED)
    too_long = api.post(dispute, {"reason": "ก" * 501}, content_type="application/json",
                        headers=as_clerk)
    assert too_long.status_code == 422 and too_long.json()["code"] == "invalid_request"
    assert not OutboxMessage.objects.filter(type=MessageType.COMMAND).exists()

    done = api.post(dispute, {"reason": "เลขรับไม่ตรง"}, content_type="application/json",
                    headers=as_clerk)
    assert done.status_code == 200, done.content
    body = done.json()
    assert (body["state"], body["receipt_number"], body["disputed"]) == (
        "registered", their.formatted, True)
    command = OutboxMessage.objects.get(type=MessageType.COMMAND)
    assert command.payload["ecms_op"] == "invalid_accept_id"
    assert command.payload["accept_id"] == their.formatted
    event = AuditEvent.objects.get(action="exchange_ecms_dispute_accept_id")
    assert event.actor_id == org.clerk.pk and event.details["reason"] == "เลขรับไม่ตรง"
