"""The exchange over the API: the inbox, registering from it, deliveries, outbox actions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Role, RoleGrant
from saraban.agencies.sample import make_person
from saraban.exchange.models import InboxMessage, InState, OutboxMessage, OutState
from saraban.exchange.worker import drain
from saraban.letters.models import Letter
from saraban.letters.services import LetterDetails, Recipient, Upload, letter_register_outgoing
from saraban.letters.tests.test_register import tiny_pdf

from .conftest import API


@pytest.fixture
def cm_clerk(org):
    person = make_person("cm-clerk", "ประเสริฐ ดอยคำ", agency=org.province,
                         password="saraban-demo")
    RoleGrant.objects.create(person=person, unit=org.province, role=Role.REGISTRY_CLERK)
    return person


def send(org, subject="ขอความร่วมมือสำรวจข้อมูล", urgency=1):
    entry = letter_register_outgoing(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject=subject, urgency=urgency),
        recipients=[Recipient(channel="saraban", agency=org.province)],
        main_file=Upload("letter.pdf", tiny_pdf()),
    )
    drain()
    return entry


def test_inbox_lists_waiting_letters_most_urgent_first(api, org, cm_clerk):
    send(org, subject="ปกติ", urgency=0)
    send(org, subject="ด่วนที่สุด", urgency=3)
    response = api.get(f"{API}/exchange/inbox?state=waiting", headers=api.as_user("cm-clerk"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"] == 2
    assert [m["subject"] for m in body["items"]] == ["ด่วนที่สุด", "ปกติ"]
    first = body["items"][0]
    assert (first["sender_code"], first["urgency"], first["state"]) == ("moi", 3, "waiting")
    assert first["sender_name"] == "กระทรวงมหาดไทย"
    assert first["files"][0]["filename"] == "letter.pdf"


def test_register_from_the_inbox_answers_the_receipt_number_and_tells_the_sender(
    api, org, cm_clerk
):
    sent = send(org)
    inbox_id = InboxMessage.objects.get().pk
    response = api.post(f"{API}/exchange/inbox/{inbox_id}/register",
                        headers=api.as_user("cm-clerk"))
    assert response.status_code == 201, response.content
    body = response.json()
    letter = Letter.objects.get(pk=body["letter_id"])
    assert letter.tenant_id == org.province.pk
    assert body["entry"]["series"] == "incoming" and body["entry"]["formatted"] == "1"
    assert body["message"]["state"] == "registered"
    assert body["message"]["receipt_number"] == "1"
    drain()
    deliveries = api.get(f"{API}/letters/{sent.letter_id}/deliveries",
                         headers=api.as_user("clerk"))
    assert deliveries.status_code == 200
    [item] = deliveries.json()["items"]
    assert (item["state"], item["receipt_number"], item["recipient_code"]) == (
        "registered", "1", "chiangmai")
    assert item["state_label"] == "ลงรับแล้ว" and item["registered_at"]
    again = api.post(f"{API}/exchange/inbox/{inbox_id}/register",
                     headers=api.as_user("cm-clerk"))
    assert (again.status_code, again.json()["code"]) == (409, "inbox_already_handled")


def test_the_inbox_is_only_for_the_recipients_central_clerks(api, org, cm_clerk):
    send(org)
    inbox_id = InboxMessage.objects.get().pk
    moi = api.as_user("clerk")
    assert api.get(f"{API}/exchange/inbox", headers=moi).json()["total"] == 0
    other = api.post(f"{API}/exchange/inbox/{inbox_id}/register", headers=moi)
    assert (other.status_code, other.json()["code"]) == (404, "inbox_message_not_found")
    officer = api.get(f"{API}/exchange/inbox", headers=api.as_user("officer"))
    assert (officer.status_code, officer.json()["code"]) == (403, "inbox_forbidden")
    assert api.get(f"{API}/exchange/inbox").status_code == 401
    bad = api.get(f"{API}/exchange/inbox?state=lost", headers=moi)
    assert (bad.status_code, bad.json()["code"]) == (400, "bad_state")
    assert InboxMessage.objects.get().state == InState.WAITING


def test_reject_needs_a_reason_and_return_sends_it_back(api, org, cm_clerk):
    send(org)
    send(org, subject="ผิดหน่วยงาน")
    first, second = InboxMessage.objects.order_by("pk")
    headers = api.as_user("cm-clerk")
    empty = api.post(f"{API}/exchange/inbox/{first.pk}/reject", {"reason": "  "},
                     content_type="application/json", headers=headers)
    assert (empty.status_code, empty.json()["code"]) == (400, "reason_required")
    rejected = api.post(f"{API}/exchange/inbox/{first.pk}/reject",
                        {"reason": "สิ่งที่ส่งมาด้วยไม่ครบ"},
                        content_type="application/json", headers=headers)
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    returned = api.post(f"{API}/exchange/inbox/{second.pk}/return",
                        {"reason": "ไม่ใช่หน่วยงานผู้รับ"},
                        content_type="application/json", headers=headers)
    assert returned.status_code == 200 and returned.json()["state"] == "returned"
    handled = api.get(f"{API}/exchange/inbox?state=returned", headers=headers).json()
    assert handled["items"][0]["handled_by"] == "นายประเสริฐ ดอยคำ"
    drain()
    states = set(OutboxMessage.objects.filter(type="letter").values_list("state", "reason"))
    assert states == {("rejected", "สิ่งที่ส่งมาด้วยไม่ครบ"), ("returned", "ไม่ใช่หน่วยงานผู้รับ")}


def test_withdraw_then_resend_a_rejected_letter(api, org, cm_clerk):
    sent = send(org)
    api.post(f"{API}/exchange/inbox/{InboxMessage.objects.get().pk}/reject",
             {"reason": "ไม่ครบ"}, content_type="application/json",
             headers=api.as_user("cm-clerk"))
    drain()
    out = OutboxMessage.objects.get(letter=sent.letter)
    clerk = api.as_user("clerk")
    early = api.post(f"{API}/exchange/outbox/{out.message_id}/resend", headers=clerk)
    assert (early.status_code, early.json()["code"]) == (409, "not_withdrawn")
    withdrawn = api.post(f"{API}/exchange/outbox/{out.message_id}/withdraw", headers=clerk)
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    resent = api.post(f"{API}/exchange/outbox/{out.message_id}/resend", headers=clerk)
    assert resent.status_code == 201, resent.content
    assert resent.json()["replaces"] == str(out.message_id)
    assert resent.json()["state"] == "queued"
    director = api.post(f"{API}/exchange/outbox/{out.message_id}/withdraw",
                        headers=api.as_user("director"))
    assert director.status_code == 403 and director.json()["code"] == "outbox_forbidden"
    stranger = api.post(f"{API}/exchange/outbox/{out.message_id}/withdraw",
                        headers=api.as_user("cm-clerk"))
    assert (stranger.status_code, stranger.json()["code"]) == (404, "outbox_message_not_found")


def test_requeue_a_failed_delivery_and_see_overdue_ones(api, org, cm_clerk):
    sent = send(org)
    out = OutboxMessage.objects.get(letter=sent.letter)
    OutboxMessage.objects.filter(pk=out.pk).update(
        sent_at=timezone.now() - dt.timedelta(days=3))
    clerk = api.as_user("clerk")
    [item] = api.get(f"{API}/letters/{sent.letter_id}/deliveries", headers=clerk).json()["items"]
    assert (item["state"], item["overdue"]) == ("sent", True)
    OutboxMessage.objects.filter(pk=out.pk).update(
        state=OutState.FAILED, last_error="unreachable: timeout", attempts=15)
    requeued = api.post(f"{API}/exchange/outbox/{out.message_id}/requeue", headers=clerk)
    assert requeued.status_code == 200 and requeued.json()["state"] == "queued"
    assert requeued.json()["attempts"] == 0
    hidden = api.get(f"{API}/letters/{sent.letter_id}/deliveries",
                     headers=api.as_user("cm-clerk"))
    assert (hidden.status_code, hidden.json()["code"]) == (404, "letter_not_found")


def test_inbox_list_costs_the_same_queries_for_5_and_20_letters(api, org, cm_clerk):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = api.as_user("cm-clerk")
    api.get(f"{API}/exchange/inbox", headers=headers)  # the token's first use is recorded once

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(f"{API}/exchange/inbox", headers=headers).status_code == 200
        return len(ctx.captured_queries)

    for i in range(5):
        send(org, subject=f"เรื่อง {i}")
    few = queries()
    for i in range(15):
        send(org, subject=f"เรื่องเพิ่ม {i}")
    assert api.get(f"{API}/exchange/inbox", headers=headers).json()["total"] == 20
    assert queries() == few
