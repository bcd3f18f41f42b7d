"""The staff screens: issue, list, open, download and revoke, through the test client."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from saraban.evidence.models import IssuedDocument
from saraban.letters.files import read_blob
from saraban.letters.models import RegisterEntry

pytestmark = pytest.mark.django_db


def _form(org: Any, **changes: str) -> dict[str, Any]:
    data = {
        "registry": str(org.central.pk),
        "kind": "certificate",
        "holder": "นายวิชัย ทำงาน",
        "title": "รับรองการเป็นข้าราชการ",
        "body": "เป็นข้าราชการพลเรือนสามัญ สังกัดสำนักงานปลัดกระทรวงมหาดไทย",
        "valid_until": "",
    }
    data.update(changes)
    return data


def _signed_in(client: Client, person: Any) -> Client:
    client.force_login(person)
    return client


def test_clerk_issues_a_certificate_from_the_form(client: Client, org: Any, seal: Any) -> None:
    _signed_in(client, org.clerk)
    page = client.get(reverse("web:evidence_issue"))
    assert page.status_code == 200
    assert "ออกเลขและประทับตรา" in page.content.decode()
    response = client.post(reverse("web:evidence_issue"), _form(org, valid_until="31/12/2599"))
    doc = IssuedDocument.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("web:evidence_detail", args=[doc.pk])
    assert doc.valid_until is not None and doc.valid_until.year == 2056
    detail = client.get(response["Location"]).content.decode()
    assert doc.number in detail
    assert f"http://localhost:8000/verify/{doc.token}/" in detail
    listed = client.get(reverse("web:evidence_list")).content.decode()
    assert doc.number in listed and "นายวิชัย ทำงาน" in listed
    pdf = client.get(reverse("web:evidence_pdf", args=[doc.pk]))
    assert pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content) == read_blob(doc.blob)  # type: ignore[attr-defined]
    # It is an outgoing letter of the central registry: the letter page opens for the clerk.
    assert client.get(reverse("web:letter_detail", args=[doc.letter_id])).status_code == 200


def test_bad_input_is_shown_in_thai_next_to_the_field(
    client: Client, org: Any, seal: Any
) -> None:
    _signed_in(client, org.clerk)
    response = client.post(reverse("web:evidence_issue"), _form(org, holder=" "))
    assert response.status_code == 200
    assert "กรุณาระบุชื่อผู้ได้รับ" in response.content.decode()
    bad_date = client.post(reverse("web:evidence_issue"), _form(org, valid_until="32/13/2569"))
    assert "วันที่ไม่ถูกต้อง" in bad_date.content.decode()
    assert not RegisterEntry.objects.exists()


def test_without_a_seal_the_form_says_so_and_no_number_is_taken(
    client: Client, org: Any
) -> None:
    _signed_in(client, org.clerk)
    response = client.post(reverse("web:evidence_issue"), _form(org))
    assert response.status_code == 200
    assert "ยังไม่ได้ตั้งค่าตราอิเล็กทรอนิกส์" in response.content.decode()
    assert not RegisterEntry.objects.exists()


def test_people_who_may_not_issue_are_refused(
    client: Client, org: Any, seal: Any, certificate: IssuedDocument
) -> None:
    _signed_in(client, org.officer)
    assert client.get(reverse("web:evidence_list")).status_code == 403
    assert client.post(reverse("web:evidence_issue"), _form(org)).status_code == 403
    assert client.get(reverse("web:evidence_detail", args=[certificate.pk])).status_code == 404
    assert client.get(reverse("web:evidence_pdf", args=[certificate.pk])).status_code == 404
    revoke = client.post(reverse("web:evidence_revoke", args=[certificate.pk]), {"reason": "x"})
    assert revoke.status_code == 404
    certificate.refresh_from_db()
    assert certificate.revoked_at is None
    client.logout()
    anonymous = client.get(reverse("web:evidence_list"))
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_clerk_revokes_with_a_reason(
    client: Client, org: Any, certificate: IssuedDocument
) -> None:
    _signed_in(client, org.clerk)
    url = reverse("web:evidence_revoke", args=[certificate.pk])
    empty = client.post(url, {"reason": ""})
    assert empty.status_code == 400
    assert "กรุณาระบุเหตุผลที่เพิกถอน" in empty.content.decode()
    done = client.post(url, {"reason": "ออกให้ผิดคน"})
    assert done.status_code == 302
    certificate.refresh_from_db()
    assert certificate.revoke_reason == "ออกให้ผิดคน"
    detail = client.get(reverse("web:evidence_detail", args=[certificate.pk])).content.decode()
    assert "ถูกเพิกถอน" in detail
    assert 'id="revoke-form"' not in detail


def test_menu_links_to_the_evidence_screens(client: Client, org: Any) -> None:
    _signed_in(client, org.clerk)
    html = client.get(reverse("web:evidence_list")).content.decode()
    assert f'href="{reverse("web:evidence_list")}"' in html
