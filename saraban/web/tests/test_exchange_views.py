"""The exchange in the web UI: the inbox, tracking on the letter page, the directory."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Role, RoleGrant
from saraban.agencies.sample import make_person
from saraban.core.models import AuditEvent
from saraban.exchange import crypto
from saraban.exchange.models import DirectoryEntry, InboxMessage, InState, OutboxMessage
from saraban.exchange.worker import drain
from saraban.letters.models import Letter, SeriesKind
from saraban.letters.services import LetterDetails, Recipient, Upload, letter_register_outgoing
from saraban.letters.tests.test_register import tiny_pdf
from saraban.web.templatetags.thai import thaidigits as n

INBOX = "/exchange/inbox/"


@pytest.fixture
def province_clerk(org):
    """A registry clerk of the province's central registry (as in the exchange tests)."""
    person = make_person("cm-clerk", "ประเสริฐ ดอยคำ", agency=org.province, password=None)
    RoleGrant.objects.create(person=person, unit=org.province, role=Role.REGISTRY_CLERK)
    return resolve_actor(person)


def send(org, subject="ขอความร่วมมือสำรวจข้อมูล", urgency=1, deliver=True):
    entry = letter_register_outgoing(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject=subject, urgency=urgency),
        recipients=[Recipient(channel="saraban", agency=org.province)],
        main_file=Upload("letter.pdf", tiny_pdf()),
    )
    if deliver:
        drain()
    return entry


def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.content[:500]
    return response.content.decode()


def test_inbox_shows_the_letter_only_to_the_recipients_central_clerk(client, org,
                                                                     province_clerk):
    send(org, subject="เรื่องถึงจังหวัด")
    client.force_login(province_clerk.person)
    html = page(client, INBOX)
    assert "เรื่องถึงจังหวัด" in html
    assert "กระทรวงมหาดไทย" in html and "moi" in html
    assert "ด่วน" in html and "letter.pdf" in html
    assert "หนังสือเข้าทางระบบ" in html and f'title="รอลงรับ">{n(1)}<' in html
    client.force_login(org.clerk)
    assert "เรื่องถึงจังหวัด" not in page(client, INBOX)
    client.force_login(org.officer)
    assert "เรื่องถึงจังหวัด" not in page(client, INBOX, status=403)
    assert "หนังสือเข้าทางระบบ" not in page(client, reverse("web:dashboard"))


def test_waiting_letters_are_most_urgent_first(client, org, province_clerk):
    send(org, subject="เรื่องก ปกติ", urgency=0)
    send(org, subject="เรื่องข ด่วนที่สุด", urgency=3)
    send(org, subject="เรื่องค ด่วน", urgency=1)
    client.force_login(province_clerk.person)
    html = page(client, INBOX)
    assert html.index("เรื่องข") < html.index("เรื่องค") < html.index("เรื่องก")


def test_register_flashes_the_receipt_number_and_the_sender_sees_it(client, org,
                                                                    province_clerk):
    sent = send(org)
    message = InboxMessage.objects.get()
    client.force_login(province_clerk.person)
    response = client.post(reverse("web:exchange_inbox_register", args=[message.pk]),
                           follow=True)
    letter = Letter.objects.get(tenant=org.province)
    assert response.redirect_chain[-1][0] == reverse("web:letter_detail", args=[letter.pk])
    html = response.content.decode()
    assert "ลงรับหนังสือแล้ว" in html and f"เลขรับ {n(1)}" in html
    handled = page(client, INBOX + "?tab=handled")
    assert "ลงรับแล้ว" in handled and "ประเสริฐ ดอยคำ" in handled
    drain()
    client.force_login(org.clerk)
    html = page(client, reverse("web:letter_detail", args=[sent.letter_id]))
    assert "สถานะการส่งทางระบบ" in html
    assert "ลงรับแล้ว" in html and "chiangmai" in html
    assert f"<td>{n(1)}</td>" in html
    registers = page(client, reverse("web:register_list",
                                     args=[org.central.pk, SeriesKind.OUTGOING]))
    assert f"ลงรับแล้ว {n(1)}/{n(1)}" in registers


def test_register_twice_says_it_was_handled_and_changes_nothing(client, org, province_clerk):
    send(org)
    message = InboxMessage.objects.get()
    client.force_login(province_clerk.person)
    client.post(reverse("web:exchange_inbox_register", args=[message.pk]))
    response = client.post(reverse("web:exchange_inbox_register", args=[message.pk]),
                           follow=True)
    assert "ได้รับการดำเนินการแล้ว" in response.content.decode()
    assert Letter.objects.filter(tenant=org.province).count() == 1


def test_other_clerks_cannot_register_or_open_files(client, org, province_clerk):
    send(org)
    message = InboxMessage.objects.get()
    inbox_file = message.files.get()
    file_url = reverse("web:exchange_inbox_file", args=[message.pk, inbox_file.pk])
    for person in (org.clerk, org.officer):
        client.force_login(person)
        assert client.get(file_url).status_code == 404
        response = client.post(reverse("web:exchange_inbox_register", args=[message.pk]))
        assert response.status_code == 404
    assert InboxMessage.objects.get().state == InState.WAITING
    client.force_login(province_clerk.person)
    response = client.get(file_url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == tiny_pdf()
    assert response["Cache-Control"] == "private, no-store"


def test_reject_requires_a_reason(client, org, province_clerk):
    send(org)
    message = InboxMessage.objects.get()
    url = reverse("web:exchange_inbox_decline", args=[message.pk, "reject"])
    client.force_login(province_clerk.person)
    assert "ปฏิเสธการรับหนังสือ" in page(client, url)
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400
    assert "กรุณาระบุเหตุผล" in response.content.decode()
    assert InboxMessage.objects.get().state == InState.WAITING
    response = client.post(url, {"reason": "สิ่งที่ส่งมาด้วยไม่ครบ"}, follow=True)
    assert "ปฏิเสธการรับหนังสือแล้ว" in response.content.decode()
    assert InboxMessage.objects.get().state == InState.REJECTED
    drain()
    out = OutboxMessage.objects.get(type="letter")
    assert (out.state, out.reason) == ("rejected", "สิ่งที่ส่งมาด้วยไม่ครบ")


def test_return_as_wrong_recipient_then_withdraw_and_resend(client, org, province_clerk):
    sent = send(org)
    message = InboxMessage.objects.get()
    client.force_login(province_clerk.person)
    client.post(reverse("web:exchange_inbox_decline", args=[message.pk, "return"]),
                {"reason": "ไม่ใช่หน่วยงานผู้รับ"})
    assert InboxMessage.objects.get().state == InState.RETURNED
    drain()
    out = OutboxMessage.objects.get(type="letter")
    client.force_login(org.clerk)
    letter_url = reverse("web:letter_detail", args=[sent.letter_id])
    html = page(client, letter_url)
    assert "ส่งคืน (ผิดหน่วยงาน)" in html and "ไม่ใช่หน่วยงานผู้รับ" in html
    assert "ถอนคืน" in html
    withdraw = reverse("web:exchange_outbox_action", args=[out.message_id, "withdraw"])
    resend = reverse("web:exchange_outbox_action", args=[out.message_id, "resend"])
    early = client.post(resend, follow=True).content.decode()
    assert "ส่งใหม่ได้เฉพาะหนังสือที่ถอนคืนแล้ว" in early
    assert "ถอนคืนหนังสือแล้ว" in client.post(withdraw, follow=True).content.decode()
    html = client.post(resend, follow=True).content.decode()
    assert "ส่งหนังสือใหม่แล้ว" in html and "ส่งใหม่แทนรายการที่ถอนคืน" in html
    drain()
    assert InboxMessage.objects.filter(state=InState.WAITING).count() == 1


def test_outbox_buttons_are_for_the_sending_agencys_clerks_only(client, org, province_clerk):
    sent = send(org)
    out = OutboxMessage.objects.get(type="letter")
    OutboxMessage.objects.filter(pk=out.pk).update(state="failed", last_error="timeout: x",
                                                   attempts=15)
    client.force_login(org.director)
    html = page(client, reverse("web:letter_detail", args=[sent.letter_id]))
    assert "ส่งไม่สำเร็จ" in html and "timeout: x" in html and "ส่งซ้ำ</button>" not in html
    requeue = reverse("web:exchange_outbox_action", args=[out.message_id, "requeue"])
    assert "ท่านไม่มีสิทธิ์" in client.post(requeue, follow=True).content.decode()
    client.force_login(province_clerk.person)
    assert client.post(requeue).status_code == 404
    client.force_login(org.clerk)
    assert "ส่งซ้ำ</button>" in page(client, reverse("web:letter_detail",
                                                    args=[sent.letter_id]))
    assert "นำเข้าคิวส่งซ้ำแล้ว" in client.post(requeue, follow=True).content.decode()
    out.refresh_from_db()
    assert (out.state, out.attempts) == ("queued", 0)


def test_overdue_deliveries_are_highlighted(client, org, province_clerk):
    sent = send(org)
    OutboxMessage.objects.filter(type="letter").update(
        sent_at=timezone.now() - dt.timedelta(hours=30))
    client.force_login(org.clerk)
    html = page(client, reverse("web:letter_detail", args=[sent.letter_id]))
    assert "overdue" in html and "เกินกำหนด" in html
    registers = page(client, reverse("web:register_list",
                                     args=[org.central.pk, SeriesKind.OUTGOING]))
    assert f"เกินกำหนด {n(1)}" in registers and f"ลงรับแล้ว {n(0)}/{n(1)}" in registers


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        assert response.status_code == 200
    return len(ctx.captured_queries)


def test_inbox_query_count_does_not_grow_with_messages(client, org, province_clerk):
    for i in range(5):
        send(org, subject=f"เรื่อง {i}", deliver=False)
    drain()
    client.force_login(province_clerk.person)
    few = _queries(client, INBOX)
    for i in range(15):
        send(org, subject=f"เรื่องเพิ่ม {i}", deliver=False)
    drain()
    assert InboxMessage.objects.count() == 20
    assert _queries(client, INBOX) == few


def test_register_list_query_count_does_not_grow_with_deliveries(client, org):
    url = reverse("web:register_list", args=[org.central.pk, SeriesKind.OUTGOING])
    for i in range(5):
        send(org, subject=f"เรื่อง {i}", deliver=False)
    client.force_login(org.clerk)
    few = _queries(client, url)
    for i in range(15):
        send(org, subject=f"เรื่องเพิ่ม {i}", deliver=False)
    assert _queries(client, url) == few


# ---- the directory --------------------------------------------------------------------------


def test_directory_lists_entries_with_certificates_for_admins_only(client, org):
    client.force_login(org.clerk)
    assert client.get(reverse("web:exchange_directory")).status_code == 403
    client.force_login(org.admin)
    html = page(client, reverse("web:exchange_directory"))
    for code in ("moi", "chiangmai", "chiangmai-city"):
        assert f">{code}<" in html
    assert "บนโหนดนี้" in html and "SHA-256" in html
    assert "ทะเบียนหน่วยงาน</a>" in html


def _other_node_entry(code: str = "bkk") -> dict[str, object]:
    key = crypto.new_key()
    cert = crypto.certificate_for(key, code=code, name="Bangkok")
    return {"code": code, "name_th": "กรุงเทพมหานคร", "node_url": "https://bkk.example",
            "certificate_pem": crypto.certificate_pem(cert), "channels": ["saraban"]}


def test_directory_import_and_export(client, org):
    client.force_login(org.admin)
    upload = SimpleUploadedFile(
        "dir.json", json.dumps([_other_node_entry()]).encode(), content_type="application/json")
    response = client.post(reverse("web:exchange_directory"), {"file": upload}, follow=True)
    assert "เพิ่ม 1 รายการ" in response.content.decode()
    assert DirectoryEntry.objects.get(code="bkk").node_url == "https://bkk.example"
    assert AuditEvent.objects.filter(action="exchange_directory_import").exists()
    export = client.get(reverse("web:exchange_directory_export") + "?local=1")
    assert export["Content-Disposition"] == 'attachment; filename="directory-local.json"'
    codes = {e["code"]: e["node_url"] for e in json.loads(export.content)}
    assert codes == {"moi": "http://testserver", "chiangmai": "http://testserver",
                     "chiangmai-city": "http://testserver"}
    everything = json.loads(client.get(reverse("web:exchange_directory_export")).content)
    assert "bkk" in {e["code"] for e in everything}


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"not json", "ไฟล์ไม่ใช่ JSON ที่อ่านได้"),
        (json.dumps([{"code": "x", "node_url": "ftp://x"}]).encode(), "รายการไม่ถูกต้อง"),
    ],
)
def test_directory_import_refuses_bad_files_and_saves_nothing(client, org, content, error):
    client.force_login(org.admin)
    before = DirectoryEntry.objects.count()
    response = client.post(reverse("web:exchange_directory"),
                           {"file": SimpleUploadedFile("d.json", content)})
    assert response.status_code == 400
    assert error in response.content.decode()
    assert DirectoryEntry.objects.count() == before


# ---- the Django admin -------------------------------------------------------------------------


def test_django_admin_shows_credentials_without_the_key_to_superusers_only(client, org):
    from saraban.exchange.models import AgencyCredential

    credential = AgencyCredential.objects.get(agency=org.ministry)
    root = make_person("root", "ผู้ดูแล สูงสุด", agency=org.ministry, password=None)
    root.is_staff = root.is_superuser = True
    root.save()
    client.force_login(root)
    html = page(client, reverse("admin:exchange_agencycredential_change", args=[credential.pk]))
    assert "BEGIN CERTIFICATE" in html
    assert "PRIVATE KEY" not in html and credential.private_key_pem[40:80] not in html
    page(client, reverse("admin:exchange_outboxmessage_changelist"))
    page(client, reverse("admin:exchange_inboxmessage_changelist"))
    entry = DirectoryEntry.objects.get(code="moi")
    html = page(client, reverse("admin:exchange_directoryentry_change", args=[entry.pk]))
    assert 'name="certificate_pem"' not in html
    org.admin.is_staff = True
    org.admin.save()
    client.force_login(org.admin)
    response = client.get(reverse("admin:exchange_directoryentry_changelist"))
    assert response.status_code == 403
