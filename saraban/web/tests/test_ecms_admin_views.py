"""e-CMS for the agency admin and the registry clerk in the web UI: the agency's e-CMS account,
e-CMS agencies added by hand or imported from the own node (a real local e-CMS node), and the
sending side's tracking (ProcessID, arrival, disputing the AcceptID; withdraw and resend)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Role, RoleGrant
from saraban.agencies.sample import make_person
from saraban.core.audit import audit_verify
from saraban.core.models import AuditEvent
from saraban.exchange import crypto
from saraban.exchange.ecms.accounts import ecms_account_set
from saraban.exchange.inbox import exchange_inbox_register, exchange_inbox_reject
from saraban.exchange.models import (
    DirectoryEntry,
    EcmsAccount,
    InboxMessage,
    InState,
    MessageType,
    OutboxMessage,
    OutState,
)
from saraban.exchange.testing import EcmsNode
from saraban.exchange.tests.test_ecms_exchange import MOI, OTHER, PROVINCE, fast, pump, send

__all__ = ["fast"]  # the fixture, used by name

SETTINGS = "/exchange/ecms/"
IMPORT = "/exchange/ecms/import/"
ADD = "/exchange/directory/ecms/add/"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[EcmsNode]:
    """A real local e-CMS node serving the ministry, the province and another vendor's
    department."""
    n = EcmsNode(name="ecms", root=tmp_path / "ecms",
                 departments={MOI: "สป.มท.", PROVINCE: "จังหวัดเชียงใหม่",
                              OTHER: "กรมควบคุมโรค"})
    n.start()
    yield n
    n.close()


@pytest.fixture
def province_clerk(org):
    person = make_person("cm-clerk", "ประเสริฐ ดอยคำ", agency=org.province, password=None)
    RoleGrant.objects.create(person=person, unit=org.province, role=Role.REGISTRY_CLERK)
    return resolve_actor(person)


@pytest.fixture
def province_admin(org):
    person = make_person("cm-admin", "ผู้ดูแล จังหวัด", agency=org.province, password=None)
    RoleGrant.objects.create(person=person, unit=org.province, role=Role.AGENCY_ADMIN)
    return person


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _html(response: Any) -> str:
    text: str = response.content.decode()
    return text


def _snapshot() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], int]:
    return (
        sorted(EcmsAccount.objects.values_list("agency_id", "department_id", "node_url")),
        sorted(DirectoryEntry.objects.values_list("code", "name_th", "ecms_department_id",
                                                  "channels", "certificate_pem")),
        AuditEvent.objects.count(),
    )


# ---- the agency's e-CMS account ----------------------------------------------------------


def test_admin_connects_the_agency_to_its_node_from_the_settings_page(client: Client, org):
    client.force_login(org.admin)
    directory = _html(client.get(reverse("web:exchange_directory")))
    assert f'href="{SETTINGS}"' in directory and f'href="{ADD}"' in directory
    page = _html(client.get(SETTINGS))
    assert org.ministry.name_th in page and "ยังไม่ได้เชื่อมต่อกับโหนด e-CMS" in page

    before = _snapshot()
    bad = client.post(SETTINGS, {"agency": org.ministry.pk, "department": "15001",
                                 "ministry": "", "node_url": "ftp://x"})
    assert bad.status_code == 400
    assert "รหัสหน่วยงาน e-CMS ต้องเป็นตัวเลข 10 หลัก" in _html(bad)
    bad = client.post(SETTINGS, {"agency": org.ministry.pk, "department": MOI,
                                 "node_url": "ftp://x"})
    assert bad.status_code == 400 and "ต้องขึ้นต้นด้วย http://" in _html(bad)
    assert _snapshot() == before

    url = "http://ecms.moi.example/ecms-ws01/service2"
    done = client.post(SETTINGS, {"agency": org.ministry.pk, "department": MOI,
                                  "ministry": "", "node_url": url})
    assert done.status_code == 302 and done["Location"] == f"{SETTINGS}?agency={org.ministry.pk}"
    account = EcmsAccount.objects.get(agency=org.ministry)
    assert (account.department_id, account.ministry_id, account.node_url) == (MOI, "15", url)
    assert DirectoryEntry.objects.get(agency=org.ministry).ecms_department_id == MOI
    event = AuditEvent.objects.get(action="exchange_ecms_admin")
    assert event.actor_id == org.admin.pk and event.details["op"] == "account"
    assert AuditEvent.objects.filter(action="exchange_ecms_account").count() == 1

    EcmsAccount.objects.filter(pk=account.pk).update(last_error="ติดต่อโหนดไม่ได้ (ทดสอบ)")
    page = _html(client.get(done["Location"]))
    assert "บันทึกการเชื่อมต่อ e-CMS แล้ว" in page
    assert MOI in page and url in page and "ยังไม่เคย" in page
    assert "ติดต่อโหนดไม่ได้ (ทดสอบ)" in page and "นำเข้ารายชื่อหน่วยงาน" in page
    # Changing it: the form starts from the account.
    assert f'value="{MOI}"' in page
    client.post(SETTINGS, {"agency": org.ministry.pk, "department": MOI, "ministry": "15",
                           "node_url": url + "?v=2"})
    assert EcmsAccount.objects.get(agency=org.ministry).node_url == url + "?v=2"
    assert all(problem is None for _a, _n, problem in audit_verify())


def test_people_without_the_right_get_403_or_404_and_nothing_changes(
        client: Client, org, province_admin, province_clerk):
    ecms_account_set(agency=org.ministry, department=MOI,
                     node_url=f"http://127.0.0.1:{_closed_port()}/ecms-ws01/service2")
    before = _snapshot()
    form = {"agency": org.ministry.pk, "department": "1500199999", "ministry": "15",
            "node_url": "http://evil.example/ecms-ws01/service2"}
    entry = {"department": "2100900000", "name": "หน่วยงานปลอม"}
    for person in (org.officer, org.clerk):
        client.force_login(person)
        assert client.get(SETTINGS).status_code == 403
        assert client.post(SETTINGS, form).status_code == 403
        assert client.post(IMPORT, {"agency": org.ministry.pk}).status_code == 403
        assert client.get(ADD).status_code == 403
        assert client.post(ADD, entry).status_code == 403
    # Another agency's admin: their own agency only; the ministry is not found.
    client.force_login(province_admin)
    page = _html(client.get(SETTINGS))
    assert org.province.name_th in page and org.ministry.name_th not in page
    assert client.get(f"{SETTINGS}?agency={org.ministry.pk}").status_code == 404
    assert client.post(SETTINGS, form).status_code == 404
    assert client.post(IMPORT, {"agency": org.ministry.pk}).status_code == 404
    assert _snapshot() == before


# ---- e-CMS directory entries ---------------------------------------------------------------


def test_admin_adds_an_ecms_agency_by_hand_with_its_certificate(client: Client, org):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = crypto.certificate_pem(crypto.certificate_for(key, code=OTHER, name="DDC"))
    client.force_login(org.admin)
    assert "เพิ่มหน่วยงานที่รับส่งทาง e-CMS" in _html(client.get(ADD))

    before = _snapshot()
    bad = client.post(ADD, {"department": OTHER, "name": "กรมควบคุมโรค",
                            "certificate": SimpleUploadedFile("ddc.pem", b"not a certificate")})
    assert bad.status_code == 400 and "อ่านใบรับรองไม่ได้" in _html(bad)
    bad = client.post(ADD, {"department": PROVINCE[:9], "name": ""})
    assert bad.status_code == 400 and "กรุณาระบุชื่อหน่วยงาน" in _html(bad)
    assert _snapshot() == before

    done = client.post(ADD, {
        "department": OTHER, "name": "กรมควบคุมโรค", "ministry": "",
        "node_url": "http://ecms.ddc.example/ecms-ws01/service2",
        "certificate": SimpleUploadedFile("ddc.pem", pem.encode()),
    })
    assert done.status_code == 302 and done["Location"] == reverse("web:exchange_directory")
    added = DirectoryEntry.objects.get(ecms_department_id=OTHER)
    assert (added.code, added.name_th, added.ecms_ministry_id, added.channels) == (
        OTHER, "กรมควบคุมโรค", "21", ["ecms"])
    assert added.certificate_pem.strip() == pem.strip()
    assert AuditEvent.objects.get(action="exchange_ecms_admin").actor_id == org.admin.pk
    page = _html(client.get(done["Location"]))
    assert f"เพิ่มหน่วยงาน e-CMS {OTHER} กรมควบคุมโรค แล้ว" in page
    assert "หน่วยงาน " + OTHER in page and "http://ecms.ddc.example" in page


def test_import_from_an_unreachable_node_shows_the_thai_error_and_changes_nothing(
        client: Client, org):
    ecms_account_set(agency=org.ministry, department=MOI,
                     node_url=f"http://127.0.0.1:{_closed_port()}/ecms-ws01/service2")
    before = _snapshot()
    client.force_login(org.admin)
    response = client.post(IMPORT, {"agency": org.ministry.pk}, follow=True)
    assert response.status_code == 200
    page = _html(response)
    assert "นำเข้ารายชื่อหน่วยงานไม่สำเร็จ: ติดต่อโหนด e-CMS ไม่ได้" in page
    assert _snapshot() == before
    # An agency without an account has no import button, and the import says why.
    client.force_login(make_admin(org))
    response = client.post(IMPORT, {"agency": org.province.pk}, follow=True)
    assert "ยังไม่ได้ตั้งค่าการเชื่อมต่อ e-CMS" in _html(response)
    assert _snapshot()[:2] == before[:2]


def make_admin(org):
    person = make_person("cm-admin2", "ผู้ดูแล สอง", agency=org.province, password=None)
    RoleGrant.objects.create(person=person, unit=org.province, role=Role.AGENCY_ADMIN)
    return person


def test_import_the_organisation_list_from_a_real_local_node(client: Client, org, node):
    client.force_login(org.admin)
    client.post(SETTINGS, {"agency": org.ministry.pk, "department": MOI,
                           "node_url": node.service_url(MOI)})
    response = client.post(IMPORT, {"agency": org.ministry.pk}, follow=True)
    page = _html(response)
    # MOI is hosted here (skipped); the province and the other vendor's department are new.
    assert "นำเข้ารายชื่อหน่วยงานจากโหนด e-CMS แล้ว เพิ่ม 2 รายการ ปรับปรุง 0 รายการ ข้าม 1 รายการ" \
        in page, page
    other = DirectoryEntry.objects.get(ecms_department_id=OTHER)
    assert other.name_th == "กรมควบคุมโรค" and other.channels == ["ecms"]
    assert DirectoryEntry.objects.get(agency=org.ministry).name_th == org.ministry.name_th
    event = AuditEvent.objects.get(action="exchange_ecms_admin", details__op="import_organizations")
    assert event.actor_id == org.admin.pk and event.details["created"] == 2


# ---- the sending side's tracking -----------------------------------------------------------


def _tracking(client: Client, letter_id: int) -> str:
    html = _html(client.get(reverse("web:letter_detail", args=[letter_id])))
    table = html[html.index("สถานะการส่งทางระบบ"):]
    return table[: table.index("</table>")]


def test_tracking_shows_process_id_arrival_and_disputes_the_accept_id(
        client: Client, org, province_clerk, fast, node):
    ecms_account_set(agency=org.ministry, department=MOI, node_url=node.service_url(MOI))
    ecms_account_set(agency=org.province, department=PROVINCE,
                     node_url=node.service_url(PROVINCE))
    entry = send(org)
    out = OutboxMessage.objects.get(letter=entry.letter, type=MessageType.LETTER)
    client.force_login(org.clerk)

    # Rejected by the province: the existing withdraw and resend buttons work for e-CMS.
    pump(lambda: InboxMessage.objects.filter(recipient=org.province).exists())
    first = InboxMessage.objects.get(recipient=org.province)
    exchange_inbox_reject(actor=province_clerk, message=first, reason="ไม่ครบ")
    pump(lambda: OutboxMessage.objects.get(pk=out.pk).state == OutState.REJECTED)
    table = _tracking(client, entry.letter_id)
    withdraw = reverse("web:exchange_outbox_action", args=[out.message_id, "withdraw"])
    assert withdraw in table and "แจ้งเลขรับผิด" not in table
    assert client.post(withdraw).status_code == 302
    out.refresh_from_db()
    assert out.state == OutState.WITHDRAWN
    assert OutboxMessage.objects.get(type=MessageType.COMMAND).payload["ecms_op"] == \
        "delete_document"
    resend = reverse("web:exchange_outbox_action", args=[out.message_id, "resend"])
    assert resend in _tracking(client, entry.letter_id)
    assert client.post(resend).status_code == 302
    fresh = OutboxMessage.objects.get(replaces=out)

    # Sent and arrived: the ProcessID and "arrived" on the tracking.
    pump(lambda: "arrived" in (OutboxMessage.objects.get(pk=fresh.pk).transport_receipt or {}))
    fresh.refresh_from_db()
    assert fresh.transport_receipt is not None
    process_id = fresh.transport_receipt["process_id"]
    assert process_id
    table = _tracking(client, entry.letter_id)
    assert f"ProcessID {process_id}" in table and "ถึงปลายทางแล้ว" in table
    dispute = reverse("web:exchange_outbox_dispute", args=[fresh.message_id])
    assert dispute not in table  # not registered yet
    second = InboxMessage.objects.get(recipient=org.province, state=InState.WAITING)
    their = exchange_inbox_register(actor=province_clerk, message=second)
    pump(lambda: OutboxMessage.objects.get(pk=fresh.pk).state == OutState.REGISTERED)
    assert dispute in _tracking(client, entry.letter_id)

    # The dispute page: reading it changes nothing; others do not see it.
    commands = OutboxMessage.objects.filter(type=MessageType.COMMAND).count()
    page = client.get(dispute)
    assert page.status_code == 200 and "แจ้งเลขรับผิด" in _html(page)
    for person in (org.officer, org.admin):
        client.force_login(person)
        assert client.get(dispute).status_code == 404
        assert client.post(dispute, {"reason": "x"}).status_code == 404
    assert OutboxMessage.objects.filter(type=MessageType.COMMAND).count() == commands
    client.force_login(org.clerk)
    too_long = client.post(dispute, {"reason": "ก" * 501})
    assert too_long.status_code == 400 and "เหตุผลยาวเกินไป" in _html(too_long)
    assert OutboxMessage.objects.filter(type=MessageType.COMMAND).count() == commands

    done = client.post(dispute, {"reason": "เลขรับไม่ตรงกับที่แจ้งทางโทรศัพท์"}, follow=True)
    assert "รอผู้รับแจ้งเลขรับใหม่" in _html(done)
    command = OutboxMessage.objects.filter(type=MessageType.COMMAND).latest("pk")
    assert command.payload["ecms_op"] == "invalid_accept_id"
    assert command.payload["accept_id"] == their.formatted
    event = AuditEvent.objects.get(action="exchange_ecms_dispute_accept_id")
    assert event.actor_id == org.clerk.pk and event.details["reason"].startswith("เลขรับไม่ตรง")
    # The province answers with its number again: the dispute is settled.
    pump(lambda: "disputed" not in OutboxMessage.objects.get(pk=fresh.pk).payload
         or OutboxMessage.objects.get(pk=command.pk).state == OutState.SENT)
    # A delivery that is not e-CMS, or not registered, cannot be disputed.
    client.post(dispute)  # registered: allowed again
    withdrawn = client.post(reverse("web:exchange_outbox_dispute", args=[out.message_id]))
    assert withdrawn.status_code == 409
    assert "แจ้งเลขรับผิดได้เฉพาะหนังสือที่ส่งทาง e-CMS และผู้รับลงรับแล้ว" in _html(withdrawn)
