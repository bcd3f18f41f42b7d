"""e-CMS in the web UI and the API: the directory lists e-CMS agencies with their department
and ministry ids, and the tracking of a letter sent through e-CMS shows the channel "e-CMS"."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from saraban.agencies.actors import resolve_actor
from saraban.exchange.models import DirectoryEntry, EcmsAccount, OutboxMessage
from saraban.letters.services import LetterDetails, Recipient, Upload, letter_register_outgoing
from saraban.letters.tests.test_register import tiny_pdf

ECMS_CODE = "ecms-2100200000"


@pytest.fixture
def ecms_entry(db):
    """An agency reached only through e-CMS: no certificate, its department and ministry."""
    return DirectoryEntry.objects.create(
        code=ECMS_CODE, name_th="กรมควบคุมโรค", node_url="http://ecms.ddc.example/ecms-ws01/service2",
        certificate_pem="", channels=["ecms"], ecms_department_id="2100200000",
        ecms_ministry_id="21",
    )


def _send_ecms(org, subject: str = "ขอข้อมูลผู้ป่วยทาง e-CMS"):
    """The ministry's central registry sends a letter through e-CMS (queued, not delivered)."""
    EcmsAccount.objects.create(agency_id=org.central.tenant_id, department_id="1500100000",
                               ministry_id="15",
                               node_url="http://127.0.0.1:9/1500100000/ecms-ws01/service2")
    return letter_register_outgoing(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject=subject),
        recipients=[Recipient(channel="ecms", code=ECMS_CODE, text="อธิบดีกรมควบคุมโรค")],
        main_file=Upload("letter.pdf", tiny_pdf()),
    )


def test_directory_lists_ecms_agencies_with_department_and_ministry(client, org, ecms_entry):
    client.force_login(org.admin)
    response = client.get(reverse("web:exchange_directory"))
    assert response.status_code == 200
    html = response.content.decode()
    row = html[html.index(f">{ECMS_CODE}<"):]
    row = row[: row.index("</tr>")]
    assert "กรมควบคุมโรค" in row
    assert "หน่วยงาน 2100200000" in row and "กระทรวง 21" in row
    assert "e-CMS" in row and "http://ecms.ddc.example/ecms-ws01/service2" in row
    # No certificate is expected of it: not flagged as unreadable or lapsed.
    assert "ใบรับรองอ่านไม่ได้" not in row and "ใบรับรองใช้ไม่ได้" not in row
    assert "รับรองโดยโหนด e-CMS" in row
    # The Saraban agencies keep their certificates and no e-CMS ids.
    moi = html[html.index(">moi<"):]
    moi = moi[: moi.index("</tr>")]
    assert "SHA-256" in moi and "Saraban" in moi and "e-CMS" not in moi


def test_letter_page_tracking_shows_the_ecms_channel(client, org, ecms_entry):
    sent = _send_ecms(org)
    out = OutboxMessage.objects.get(letter_id=sent.letter_id)
    assert (out.recipient_code, out.state) == (ECMS_CODE, "queued")
    client.force_login(org.clerk)
    response = client.get(reverse("web:letter_detail", args=[sent.letter_id]))
    assert response.status_code == 200
    html = response.content.decode()
    table = html[html.index("สถานะการส่งทางระบบ"):]
    table = table[: table.index("</table>")]
    assert '<td class="hide-phone">e-CMS</td>' in table
    assert "กรมควบคุมโรค" in table and ECMS_CODE in table


def test_api_deliveries_name_the_ecms_channel(org, ecms_entry):
    sent = _send_ecms(org)
    api = Client()
    token = api.post("/api/v1/auth/token", {"username": "clerk", "password": "saraban-demo"},
                     content_type="application/json").json()["token"]
    response = api.get(f"/api/v1/letters/{sent.letter_id}/deliveries",
                       headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.content
    [item] = response.json()["items"]
    assert (item["channel"], item["channel_label"]) == ("ecms", "e-CMS")
    assert item["recipient"] == "กรมควบคุมโรค" and item["state"] == "queued"
