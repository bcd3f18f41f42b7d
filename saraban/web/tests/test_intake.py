"""ลงทะเบียนรับจากภาพสแกน through the web: upload, progress, the pre-filled form, register.

OCR is not run here (test_intake_browser.py runs it): the intake is left as the worker leaves
a scan it read, or the machine is one without ocrmypdf.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from saraban.intake.models import IntakeState, ScanIntake
from saraban.intake.ocr import NO_OCR_MESSAGE
from saraban.intake.services import intake_process
from saraban.letters import files
from saraban.letters.models import DerivedFile, FileRole, Letter

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00"
       b"\x00:~\x9bU\x00\x00\x00\nIDATx\x9cc\xf8\x0f\x00\x01\x01\x01\x00\x18\xdd\x8d\xb0\x00"
       b"\x00\x00\x00IEND\xaeB`\x82")
PROPOSED = {
    "number": "มท 0307/4821", "letter_date": "2026-10-14", "kind": "external",
    "subject": "ขอเชิญประชุมคณะกรรมการ", "salutation": "ปลัดกระทรวงมหาดไทย", "urgency": 2,
}


@pytest.fixture
def clerk(client, org):
    client.force_login(org.clerk)
    return client


def upload(client, content=PNG, name="scan.png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from saraban.letters.models import Registry

    registry = Registry.objects.get(is_central=True, unit__name_th="สำนักงานปลัดกระทรวงมหาดไทย")
    return client.post(reverse("web:intake"), {
        "registry": registry.pk,
        "scan": SimpleUploadedFile(name, content, content_type="image/png"),
    })


def uploaded(client, org) -> ScanIntake:
    response = upload(client)
    assert response.status_code == 302
    return ScanIntake.objects.get()


def read(intake, proposed=None, pdf=None):
    intake.state = IntakeState.DONE
    intake.ocr_text = "ที่ มท 0307/4821"
    intake.proposed = PROPOSED | {"sender_agency_id": intake.registry.unit_id} \
        if proposed is None else proposed
    intake.searchable = files.store_file(pdf, allowed={files.PDF}) if pdf else None
    intake.save()
    return intake


def test_the_upload_page_is_for_registry_clerks(client, org):
    client.force_login(org.officer)
    assert client.get(reverse("web:intake")).status_code == 403
    client.force_login(org.clerk)
    page = client.get(reverse("web:intake")).content.decode()
    assert "ลงทะเบียนรับจากภาพสแกน" in page
    assert 'name="scan"' in page


def test_an_upload_opens_the_progress_page_that_polls_every_two_seconds(clerk, org):
    response = upload(clerk)
    intake = ScanIntake.objects.get()
    assert response["Location"] == reverse("web:intake_detail", args=[intake.pk])
    page = clerk.get(response["Location"]).content.decode()
    status = reverse("web:intake_status", args=[intake.pk])
    assert f'hx-get="{status}"' in page
    assert 'hx-trigger="every 2s"' in page
    assert "รอคิวอ่านข้อความ" in page

    # Polled while queued: the same box again; once read: htmx is told to reload the page.
    polled = clerk.get(status, headers={"HX-Request": "true"})
    assert 'id="intake-status"' in polled.content.decode()
    read(intake)
    polled = clerk.get(status, headers={"HX-Request": "true"})
    assert polled.status_code == 200
    assert polled["HX-Refresh"] == "true"


def test_a_file_that_is_not_a_scan_gets_a_thai_error_and_nothing_is_kept(clerk, org):
    response = upload(clerk, content=b"just text", name="scan.png")
    assert response.status_code == 200
    assert "ชนิดของไฟล์ไม่ถูกต้อง" in response.content.decode()
    assert not ScanIntake.objects.exists()
    response = clerk.post(reverse("web:intake"), {"registry": org.central.pk})
    assert "กรุณาเลือกไฟล์ภาพสแกนของหนังสือ" in response.content.decode()


def test_the_read_scan_shows_the_form_filled_and_marked_beside_the_pdf(clerk, org):
    from saraban.documents.render import render_form
    from saraban.documents.samples import sample_form_data

    intake = read(uploaded(clerk, org), pdf=render_form("external", sample_form_data("external")))
    page = clerk.get(reverse("web:intake_detail", args=[intake.pk])).content.decode()
    assert 'value="มท 0307/4821"' in page
    assert 'value="14/10/2569"' in page  # the date in พ.ศ.
    assert 'value="ขอเชิญประชุมคณะกรรมการ"' in page
    assert re.search(r'<option value="2" selected>ด่วนมาก</option>', page)
    assert re.search(rf'<option value="{org.central.unit_id}" selected>', page)
    marked = set(re.findall(r'class="ocr-mark" data-field="(\w+)">อ่านจากภาพ — โปรดตรวจ', page))
    assert marked == {"number", "letter_date", "subject", "salutation", "urgency",
                      "sender_agency", "kind"}
    src = reverse("web:intake_file", args=[intake.pk, "searchable"])
    assert f'<iframe src="{src}' in page
    pdf = clerk.get(src)
    assert pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF-")


def test_the_clerk_corrects_and_registers_with_the_original_scan(clerk, org):
    intake = read(uploaded(clerk, org), pdf=None)
    form = {
        "registry": org.central.pk, "kind": "external", "urgency": 2, "secrecy": 0,
        "number": "มท 0307/4821", "letter_date": "14/10/2569",
        "sender_agency": org.central.unit_id, "subject": "ขอเชิญประชุมคณะกรรมการพัฒนาระบบ",
        "salutation": "ปลัดกระทรวงมหาดไทย",
    }
    response = clerk.post(reverse("web:intake_detail", args=[intake.pk]), form)
    letter = Letter.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("web:letter_detail", args=[letter.pk])
    assert letter.subject == "ขอเชิญประชุมคณะกรรมการพัฒนาระบบ"
    assert letter.number == "มท 0307/4821"
    assert letter.urgency == 2
    assert letter.files.get(role=FileRole.MAIN).blob_id == intake.original_id
    # Opening the scan again leads to the registered letter.
    again = clerk.get(reverse("web:intake_detail", args=[intake.pk]))
    assert again["Location"] == reverse("web:letter_detail", args=[letter.pk])


def test_a_registration_with_a_missing_subject_is_refused_in_thai(clerk, org):
    intake = read(uploaded(clerk, org), proposed={})
    response = clerk.post(reverse("web:intake_detail", args=[intake.pk]), {
        "registry": org.central.pk, "kind": "external", "urgency": 0, "secrecy": 0,
        "sender_text": "กรมการปกครอง", "subject": "",
    })
    assert response.status_code == 200
    assert "กรุณาระบุเรื่อง" in response.content.decode()
    assert not Letter.objects.exists()


def test_without_ocr_the_page_says_so_and_the_clerk_registers_by_hand(clerk, org, settings):
    settings.SARABAN_OCR_COMMAND = "saraban-test-no-such-ocrmypdf"
    intake = uploaded(clerk, org)
    intake_process(intake.pk)
    page = clerk.get(reverse("web:intake_detail", args=[intake.pk])).content.decode()
    assert NO_OCR_MESSAGE in page
    assert "อ่านจากภาพ — โปรดตรวจ</span>" not in page.split("</form>")[0].split("<form")[-1] \
        .replace('ช่องที่มีป้าย <span class="ocr-mark">อ่านจากภาพ — โปรดตรวจ</span>', "")
    clerk.post(reverse("web:intake_detail", args=[intake.pk]), {
        "registry": org.central.pk, "kind": "external", "urgency": 0, "secrecy": 0,
        "sender_text": "กรมการปกครอง", "subject": "หนังสือจากภาพสแกน",
    })
    letter = Letter.objects.get()
    assert letter.files.get(role=FileRole.MAIN).blob_id == intake.original_id
    assert not DerivedFile.objects.filter(purpose="ocr").exists()


def test_another_registrys_scan_is_not_shown(client, org, clerk):
    intake = uploaded(clerk, org)
    client.force_login(org.officer)
    assert client.get(reverse("web:intake_detail", args=[intake.pk])).status_code == 404
    assert client.get(reverse("web:intake_file", args=[intake.pk, "original"])).status_code == 404
