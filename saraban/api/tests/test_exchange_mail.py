"""E-mail over the API: arrivals by e-mail carry the channel and the mail's fields in the
inbox; a letter's deliveries by e-mail carry the address, our Message-ID and the bounce."""

from __future__ import annotations

import pytest

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Role, RoleGrant
from saraban.agencies.sample import make_person
from saraban.exchange.mail.intake import ingest
from saraban.exchange.mail.mailboxes import mailbox_add, mailbox_set
from saraban.exchange.models import OutboxMessage, OutState
from saraban.exchange.testing_smtp import SmtpServer, hand_over
from saraban.exchange.worker import drain
from saraban.letters.services import LetterDetails, Recipient, Upload, letter_register_outgoing
from saraban.letters.tests.test_register import tiny_pdf
from saraban.web.tests.test_exchange_mail import ADDRESS, letter_mail, send_by_mail

from .conftest import API


@pytest.fixture
def cm_clerk(org):
    person = make_person("cm-clerk", "ประเสริฐ ดอยคำ", agency=org.province,
                         password="saraban-demo")
    RoleGrant.objects.create(person=person, unit=org.province, role=Role.REGISTRY_CLERK)
    return person


@pytest.fixture
def mailbox(org):
    return mailbox_add(agency=org.province, address=ADDRESS, accept_senders="*.go.th")


def test_inbox_gives_the_channel_and_the_mail_fields(api, org, cm_clerk, mailbox):
    result = ingest(mailbox, letter_mail(subject="ขอเชิญประชุม", message_id="<m-1@dept.go.th>",
                                         text="เรียน ผู้ว่าราชการจังหวัด ขอเชิญประชุม"))
    letter_register_outgoing(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject="ทางระบบ"),
        recipients=[Recipient(channel="saraban", agency=org.province)],
        main_file=Upload("letter.pdf", tiny_pdf()))
    drain()
    response = api.get(f"{API}/exchange/inbox", headers=api.as_user("cm-clerk"))
    assert response.status_code == 200, response.content
    items = {m["subject"]: m for m in response.json()["items"]}
    by_mail, by_exchange = items["ขอเชิญประชุม"], items["ทางระบบ"]
    assert by_mail["id"] == result.inbox_id and by_mail["channel"] == "email"
    assert by_mail["sender_code"] == "mailto:somchai@dept.go.th"
    got = by_mail["mail"]
    assert got["address"] == "somchai@dept.go.th" and got["name"] == "สมชาย ใจดี"
    assert got["message_id"] == "m-1@dept.go.th" and got["mailbox"] == ADDRESS
    assert got["to"] == [ADDRESS] and got["date"].startswith("2026-12-01T")
    assert "ขอเชิญประชุม" in got["text"] and got["source"] == "pipe"
    assert got["not_kept"] == [{"name": "บันทึก.txt", "reason": "file_type_not_allowed"}]
    assert got["smime"] is None and got["replied_letter_id"] is None
    assert {f["role"] for f in by_mail["files"]} == {"main", "original"}
    assert by_exchange["channel"] == "saraban" and by_exchange["mail"] is None


def test_deliveries_give_the_address_message_id_and_bounce(api, org, cm_clerk, mailbox):
    relay = SmtpServer(dsn=True, bounce_domains={"bounce.test"})
    relay.start()
    try:
        mailbox_set(mailbox=mailbox, smtp_host="127.0.0.1", smtp_port=relay.port,
                    smtp_security="none", accept_senders="*")
        entry = send_by_mail(org, cm_clerk, "saraban@bounce.test")
        url = f"{API}/letters/{entry.letter_id}/deliveries"
        headers = api.as_user("cm-clerk")
        queued = api.get(url, headers=headers).json()["items"]
        assert [(d["channel"], d["state"], d["mail"]["address"], d["mail"]["message_id"])
                for d in queued] == [("email", "queued", "saraban@bounce.test", None)]
        drain()
        relay.wait_for(1)
        sent = api.get(url, headers=headers).json()["items"][0]
        out = OutboxMessage.objects.get(letter_id=entry.letter_id)
        assert sent["state"] == "sent"
        assert sent["mail"]["message_id"] == (out.transport_receipt or {})["message_id"]
        assert sent["mail"]["bounce"] is None
        assert hand_over(relay.bounces(), lambda raw: ingest(mailbox, raw).outcome) == ["bounce"]
        failed = api.get(url, headers=headers).json()["items"][0]
        assert failed["state"] == OutState.FAILED
        bounce = failed["mail"]["bounce"]
        assert bounce["action"] == "failed" and bounce["status"].startswith("5.")
        assert failed["reason"]
    finally:
        relay.stop()


def test_openapi_describes_the_mail_fields(api, db):
    doc = api.get(f"{API}/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert {"channel", "mail"} <= set(schemas["InboxMessageOut"]["properties"])
    assert {"address", "message_id", "text", "not_kept"} <= set(
        schemas["InboxMailOut"]["properties"])
    assert {"address", "message_id", "bounce"} <= set(schemas["DeliveryMailOut"]["properties"])
    assert "mail" in schemas["DeliveryOut"]["properties"]
