"""The registration screens, through Django's test client against the real database."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from saraban.letters.models import (
    Blob,
    Dispatch,
    Handover,
    Letter,
    LetterReference,
    RegisterEntry,
    SeriesKind,
)
from saraban.web.forms import parse_thai_date


def tiny_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def clerk_client(client, org):
    client.force_login(org.clerk)
    return client


def incoming_data(org, **overrides):
    data = {
        "registry": org.central.pk,
        "kind": "external",
        "subkind": "",
        "urgency": "1",
        "secrecy": "0",
        "number": "กษ 0201/555",
        "letter_date": "20/11/2569",
        "sender_agency": "",
        "sender_text": "กระทรวงเกษตรและสหกรณ์",
        "recipient_text": "ปลัดกระทรวงมหาดไทย",
        "subject": "ขอเชิญประชุมคณะทำงาน",
        "salutation": "ปลัดกระทรวงมหาดไทย",
        "references": "",
        "enclosures": "กำหนดการประชุม\nแผนที่",
        "remarks": "",
    }
    data.update(overrides)
    return data


def flashed(response) -> list[str]:
    from django.contrib.messages import get_messages

    return [str(m) for m in get_messages(response.wsgi_request)]


def counts():
    return (Letter.objects.count(), Blob.objects.count(), RegisterEntry.objects.count())


def test_thai_date_is_read_as_buddhist_era():
    assert parse_thai_date("23/11/2569") == dt.date(2026, 11, 23)
    assert parse_thai_date("๑/๑/๒๕๗๐") == dt.date(2027, 1, 1)
    assert parse_thai_date("2026-11-23") == dt.date(2026, 11, 23)


def test_incoming_form_shows_for_a_clerk_with_the_registry_preselected(clerk_client, org):
    response = clerk_client.get(reverse("web:register_incoming"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "ลงทะเบียนรับหนังสือ" in html
    assert f'value="{org.central.pk}" selected' in html
    assert 'enctype="multipart/form-data"' in html


def test_incoming_with_pdf_gets_receipt_numbers_one_then_two(clerk_client, org):
    url = reverse("web:register_incoming")
    first = clerk_client.post(
        url, {**incoming_data(org), "main_file": SimpleUploadedFile("scan.pdf", tiny_pdf())}
    )
    assert first.status_code == 302
    letter = Letter.objects.get()
    assert first["Location"] == reverse("web:letter_detail", args=[letter.pk])
    entry = letter.entries.get()
    assert (entry.number, entry.series.kind) == (1, SeriesKind.INCOMING)
    assert letter.letter_date == dt.date(2026, 11, 20)
    assert letter.is_paper is False
    assert letter.files.get().blob.content_type == "application/pdf"
    assert [e.description for e in letter.enclosures.all()] == ["กำหนดการประชุม", "แผนที่"]
    assert entry.position == org.clerk_post

    second = clerk_client.post(url, incoming_data(org, subject="เรื่องที่สอง"))
    assert RegisterEntry.objects.filter(number=2).exists()
    messages = flashed(second)
    assert any(m.startswith("ลงทะเบียนรับเลขที่ 2 เวลา") for m in messages)


def test_paper_only_registration_records_details_without_a_file(clerk_client, org):
    response = clerk_client.post(reverse("web:register_incoming"), incoming_data(org))
    assert response.status_code == 302
    letter = Letter.objects.get()
    assert letter.is_paper is True
    assert not letter.files.exists()
    assert letter.sender_text == "กระทรวงเกษตรและสหกรณ์"


def test_sender_can_be_an_agency_of_the_tree(clerk_client, org):
    data = incoming_data(org, sender_agency=str(org.province.pk), sender_text="")
    assert clerk_client.post(reverse("web:register_incoming"), data).status_code == 302
    assert Letter.objects.get().sender_agency == org.province


def test_a_pdf_that_is_not_a_pdf_is_refused_next_to_the_file_and_nothing_is_saved(
    clerk_client, org
):
    before = counts()
    response = clerk_client.post(
        reverse("web:register_incoming"),
        {**incoming_data(org),
         "main_file": SimpleUploadedFile("scan.pdf", b"this is plain text, not a PDF")},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "ชนิดของไฟล์ไม่ถูกต้อง" in form.errors["main_file"][0]
    html = response.content.decode()
    assert 'data-field="main_file"' in html
    assert counts() == before
    # What the clerk typed is still there.
    assert "ขอเชิญประชุมคณะทำงาน" in html


def test_an_unreadable_pdf_is_refused(clerk_client, org):
    before = counts()
    response = clerk_client.post(
        reverse("web:register_incoming"),
        {**incoming_data(org), "main_file": SimpleUploadedFile("scan.pdf", b"%PDF-1.7\nbroken")},
    )
    assert "PDF เสียหาย" in response.context["form"].errors["main_file"][0]
    assert counts() == before


def test_a_bad_attachment_is_shown_next_to_the_attachments(clerk_client, org):
    before = counts()
    response = clerk_client.post(
        reverse("web:register_incoming"),
        {**incoming_data(org), "main_file": SimpleUploadedFile("scan.pdf", tiny_pdf()),
         "attachments": [SimpleUploadedFile("virus.exe", b"MZ\x90\x00 not allowed")]},
    )
    error = response.context["form"].errors["attachments"][0]
    assert error.startswith("virus.exe:")
    assert counts() == before


def test_too_large_file_is_refused(clerk_client, org, settings):
    settings.SARABAN_MAX_FILE_BYTES = 100
    response = clerk_client.post(
        reverse("web:register_incoming"),
        {**incoming_data(org), "main_file": SimpleUploadedFile("scan.pdf", tiny_pdf())},
    )
    assert "ขนาดเกิน" in response.context["form"].errors["main_file"][0]
    assert Letter.objects.count() == 0


def test_missing_subject_shows_the_error_next_to_it_and_keeps_typed_values(clerk_client, org):
    response = clerk_client.post(reverse("web:register_incoming"), incoming_data(org, subject=""))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["subject"] == ["กรุณาระบุเรื่อง"]
    html = response.content.decode()
    assert 'data-field="subject"' in html
    assert 'value="กษ 0201/555"' in html
    assert 'value="20/11/2569"' in html
    assert "กำหนดการประชุม" in html
    assert counts() == (0, 0, 0)


def test_missing_sender_is_shown_next_to_the_sender(clerk_client, org):
    response = clerk_client.post(
        reverse("web:register_incoming"), incoming_data(org, sender_text="")
    )
    assert response.context["form"].errors["sender_text"] == ["กรุณาระบุผู้ส่ง (จาก)"]


def test_bad_date_is_refused_in_thai(clerk_client, org):
    response = clerk_client.post(
        reverse("web:register_incoming"), incoming_data(org, letter_date="31/02/2569")
    )
    assert "วันที่ไม่ถูกต้อง" in response.context["form"].errors["letter_date"][0]
    assert Letter.objects.count() == 0


def test_subkind_must_match_the_kind(clerk_client, org):
    response = clerk_client.post(
        reverse("web:register_incoming"), incoming_data(org, kind="directive", subkind="")
    )
    assert response.context["form"].errors["subkind"] == ["กรุณาเลือกประเภทย่อยของหนังสือ"]
    ok = clerk_client.post(
        reverse("web:register_incoming"), incoming_data(org, kind="directive", subkind="order")
    )
    assert ok.status_code == 302


def test_secret_letter_goes_to_the_secret_register_with_its_readers(clerk_client, org):
    data = incoming_data(org, secrecy="1", secret_readers=[str(org.director.pk)])
    assert clerk_client.post(reverse("web:register_incoming"), data).status_code == 302
    letter = Letter.objects.get()
    assert letter.entries.get().series.kind == SeriesKind.SECRET_INCOMING
    assert set(letter.secret_readers.all()) == {org.director, org.clerk}


def test_reference_line_matching_a_visible_letter_number_links_it(clerk_client, org):
    clerk_client.post(reverse("web:register_incoming"), incoming_data(org))
    earlier = Letter.objects.get()
    clerk_client.post(
        reverse("web:register_incoming"),
        incoming_data(org, references="กษ 0201/555\nหนังสือกรมอื่น ที่ 1/2568"),
    )
    refs = list(LetterReference.objects.order_by("position"))
    assert refs[0].referenced == earlier
    assert (refs[1].referenced, refs[1].text) == (None, "หนังสือกรมอื่น ที่ 1/2568")


def test_officer_without_a_registry_role_gets_403_and_no_form(client, org):
    client.force_login(org.officer)
    for name in ("web:register_incoming", "web:register_outgoing"):
        response = client.get(reverse(name))
        assert response.status_code == 403
        assert "<form method=\"post\" enctype" not in response.content.decode()
    response = client.post(reverse("web:register_incoming"), incoming_data(org))
    assert response.status_code == 403
    assert Letter.objects.count() == 0


def test_anonymous_is_sent_to_login(client, org):
    response = client.get(reverse("web:register_incoming"))
    assert response.status_code == 302
    assert reverse("web:login") in response["Location"]


def outgoing_data(org, **overrides):
    data = {
        "registry": org.central.pk,
        "series_kind": "circular",
        "kind": "external",
        "subkind": "",
        "urgency": "0",
        "secrecy": "0",
        "recipient_text": "",
        "subject": "แจ้งแนวทางการใช้ระบบสารบรรณอิเล็กทรอนิกส์",
        "salutation": "ผู้ว่าราชการจังหวัด ทุกจังหวัด",
        "references": "",
        "enclosures": "",
        "remarks": "",
        "rcpt-TOTAL_FORMS": "3",
        "rcpt-INITIAL_FORMS": "0",
        "rcpt-MIN_NUM_FORMS": "0",
        "rcpt-MAX_NUM_FORMS": "50",
        "rcpt-0-agency": str(org.province.pk),
        "rcpt-0-text": "",
        "rcpt-0-channel": "saraban",
        "rcpt-0-address": "",
        "rcpt-1-agency": "",
        "rcpt-1-text": "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด",
        "rcpt-1-channel": "email",
        "rcpt-1-address": "lao@example.go.th",
        "rcpt-2-agency": "",
        "rcpt-2-text": "",
        "rcpt-2-channel": "saraban",
        "rcpt-2-address": "",
    }
    data.update(overrides)
    return data


def test_outgoing_circular_gets_its_number_and_recipients(clerk_client, org):
    response = clerk_client.post(reverse("web:register_outgoing"), outgoing_data(org))
    letter = Letter.objects.get()
    assert letter.number == "มท 0200/ว 1"
    assert letter.is_circular
    messages = flashed(response)
    assert any("ที่ มท 0200/ว 1" in m for m in messages)
    dispatches = list(Dispatch.objects.order_by("pk"))
    assert [(d.recipient_agency, d.recipient_text, d.channel, d.address) for d in dispatches] == [
        (org.province, "", "saraban", ""),
        (None, "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด", "email", "lao@example.go.th"),
    ]


def test_outgoing_email_without_address_is_refused_at_the_recipients(clerk_client, org):
    response = clerk_client.post(
        reverse("web:register_outgoing"), outgoing_data(org, **{"rcpt-1-address": ""})
    )
    assert response.status_code == 200
    assert response.context["recipient_error"] == "กรุณาระบุที่อยู่ไปรษณีย์อิเล็กทรอนิกส์"
    assert Letter.objects.count() == 0


def test_secret_outgoing_goes_to_the_secret_series(clerk_client, org):
    data = outgoing_data(org, series_kind="outgoing", secrecy="1")
    assert clerk_client.post(reverse("web:register_outgoing"), data).status_code == 302
    assert RegisterEntry.objects.get().series.kind == SeriesKind.SECRET_OUTGOING


def register_one(clerk_client, org, **overrides):
    clerk_client.post(reverse("web:register_incoming"), incoming_data(org, **overrides))
    return RegisterEntry.objects.order_by("-pk").first()


def test_cancel_asks_for_confirmation_requires_a_reason_and_keeps_the_number(clerk_client, org):
    entry = register_one(clerk_client, org)
    url = reverse("web:entry_cancel", args=[entry.pk])
    confirm = clerk_client.get(url)
    assert confirm.status_code == 200
    assert "ยืนยันการยกเลิก" in confirm.content.decode()

    no_reason = clerk_client.post(url, {"reason": "  "})
    assert no_reason.context["form"].errors["reason"] == ["กรุณาระบุเหตุผลที่ยกเลิก"]
    entry.refresh_from_db()
    assert entry.cancelled_at is None

    done = clerk_client.post(url, {"reason": "ลงทะเบียนซ้ำ"})
    assert done.status_code == 302
    entry.refresh_from_db()
    assert entry.is_cancelled and entry.cancel_reason == "ลงทะเบียนซ้ำ"
    assert entry.number == 1
    nxt = register_one(clerk_client, org, subject="ฉบับถัดไป")
    assert nxt.number == 2


def test_officer_cannot_cancel(client, clerk_client, org):
    entry = register_one(clerk_client, org)
    client.force_login(org.officer)
    response = client.post(reverse("web:entry_cancel", args=[entry.pk]), {"reason": "x"})
    assert response.status_code in (403, 404)
    entry.refresh_from_db()
    assert entry.cancelled_at is None


def test_letter_page_shows_cancel_and_hand_over_only_to_the_clerk(client, clerk_client, org):
    entry = register_one(clerk_client, org)
    page = reverse("web:letter_detail", args=[entry.letter_id])
    html = clerk_client.get(page).content.decode()
    assert reverse("web:entry_cancel", args=[entry.pk]) in html
    assert reverse("web:letter_hand_over", args=[entry.letter_id]) in html

    client.force_login(org.director)  # sees the letter (executive of the unit), no clerk role
    response = client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("web:entry_cancel", args=[entry.pk]) not in html
    assert reverse("web:letter_hand_over", args=[entry.letter_id]) not in html


def test_cancelled_entry_offers_no_cancel_button(clerk_client, org):
    entry = register_one(clerk_client, org)
    clerk_client.post(reverse("web:entry_cancel", args=[entry.pk]), {"reason": "ซ้ำ"})
    html = clerk_client.get(reverse("web:letter_detail", args=[entry.letter_id])).content.decode()
    assert reverse("web:entry_cancel", args=[entry.pk]) not in html


def test_hand_over_then_the_unit_registers_it(clerk_client, org):
    entry = register_one(clerk_client, org)
    letter = entry.letter
    form = clerk_client.get(reverse("web:letter_hand_over", args=[letter.pk]))
    assert form.status_code == 200
    assert org.ict_registry.name_th in form.content.decode()

    response = clerk_client.post(
        reverse("web:letter_hand_over", args=[letter.pk]),
        {"to_registry": org.ict_registry.pk, "note": "เพื่อดำเนินการ"},
    )
    assert response.status_code == 302
    handover = Handover.objects.get()
    assert (handover.to_registry, handover.entry) == (org.ict_registry, None)

    listing = clerk_client.get(reverse("web:handovers"))
    assert letter.subject in listing.content.decode()
    assert reverse("web:handover_register", args=[handover.pk]) in listing.content.decode()

    done = clerk_client.post(reverse("web:handover_register", args=[handover.pk]))
    handover.refresh_from_db()
    assert handover.entry is not None
    assert handover.entry.series.registry == org.ict_registry
    assert handover.entry.number == 1
    assert any("ลงทะเบียนรับเลขที่ 1" in m for m in flashed(done))
    again = clerk_client.get(reverse("web:handovers"))
    assert reverse("web:handover_register", args=[handover.pk]) not in again.content.decode()


def test_hand_over_to_the_same_registry_is_not_offered(clerk_client, org):
    entry = register_one(clerk_client, org)
    response = clerk_client.post(
        reverse("web:letter_hand_over", args=[entry.letter_id]),
        {"to_registry": org.central.pk},
    )
    assert response.status_code == 200
    assert "to_registry" in response.context["form"].errors
    assert Handover.objects.count() == 0
