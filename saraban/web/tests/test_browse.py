"""The browsing screens: dashboard, registers, printouts and the letter page."""

from __future__ import annotations

import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from saraban.agencies.actors import resolve_actor
from saraban.core.thai import today_bangkok
from saraban.letters.models import RegisterEntry, Secrecy, SeriesKind, Urgency
from saraban.letters.services import (
    LetterDetails,
    Recipient,
    Upload,
    entry_cancel,
    letter_register_incoming,
    letter_register_outgoing,
)
from saraban.letters.tests.jobs import run_queued_jobs

pytestmark = pytest.mark.django_db

THIS_YEAR = today_bangkok().year + 543


def tiny_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def receive(org, subject: str = "ขอเชิญประชุม", *, main_file=None, **kw) -> RegisterEntry:
    kw.setdefault("sender_text", "กรมการปกครอง")
    kw.setdefault("number", "มท 0307/123")
    details = LetterDetails(kind="external", subject=subject, **kw)
    return letter_register_incoming(
        actor=resolve_actor(org.clerk), registry=org.central, details=details,
        main_file=main_file,
    )


def send(org, subject: str = "แจ้งผลการประชุม", **kw) -> RegisterEntry:
    details = LetterDetails(
        kind="external", subject=subject, recipient_text="จังหวัดเชียงใหม่", **kw
    )
    return letter_register_outgoing(
        actor=resolve_actor(org.clerk), registry=org.central, details=details,
        series_kind=SeriesKind.OUTGOING,
        recipients=[Recipient(channel="saraban", agency=org.province)],
    )


def register_url(org, kind: str = SeriesKind.INCOMING, **params) -> str:
    url = reverse("web:register_list", args=[org.central.pk, kind])
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return url


# ---- dashboard ---------------------------------------------------------------------------


def test_dashboard_lists_todays_letters_most_urgent_first(client, org):
    receive(org, "เรื่องปกติทดสอบ")
    receive(org, "เรื่องด่วนที่สุดทดสอบ", urgency=Urgency.MOST_URGENT)
    client.force_login(org.clerk)
    page = client.get(reverse("web:dashboard")).content.decode()
    assert page.index("เรื่องด่วนที่สุดทดสอบ") < page.index("เรื่องปกติทดสอบ")
    assert 'class="badge urgency-3"' in page
    assert "สารบรรณกลาง สป.มท." in page
    assert reverse("web:register_list", args=[org.central.pk, "incoming"]) in page


def test_dashboard_counts_only_letters_the_person_may_see(client, org):
    receive(org, "หนังสือลับเฉพาะสารบรรณ", secrecy=Secrecy.CONFIDENTIAL)
    receive(org, "หนังสือเปิดเผย")
    client.force_login(org.director)
    response = client.get(reverse("web:dashboard"))
    page = response.content.decode()
    assert "หนังสือเปิดเผย" in page
    assert "หนังสือลับเฉพาะสารบรรณ" not in page
    assert response.context["today_total"] == 1
    client.force_login(org.officer)
    response = client.get(reverse("web:dashboard"))
    assert response.context["today_total"] == 0
    assert "หนังสือเปิดเผย" not in response.content.decode()


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        assert response.status_code == 200
    return len(ctx.captured_queries)


def test_dashboard_query_count_does_not_grow_with_letters(client, org):
    for i in range(5):
        receive(org, f"เรื่องที่ {i}", urgency=i % 4)
    client.force_login(org.clerk)
    few = _queries(client, reverse("web:dashboard"))
    for i in range(45):
        receive(org, f"เรื่องเพิ่ม {i}", urgency=i % 4)
    many = _queries(client, reverse("web:dashboard"))
    assert many == few


# ---- registers ---------------------------------------------------------------------------


def test_registers_page_lists_viewable_registries_and_series(client, org):
    client.force_login(org.clerk)
    page = client.get(reverse("web:registers")).content.decode()
    assert "สารบรรณกลาง สป.มท." in page
    assert "ทะเบียนหนังสือรับ" in page
    assert "ทะเบียนหนังสือส่ง" in page
    assert "เทศบาลนครเชียงใหม่" not in page


def test_register_list_shows_entries_newest_first_with_columns(client, org):
    receive(org, "เรื่องแรก")
    receive(org, "เรื่องที่สอง")
    client.force_login(org.clerk)
    page = client.get(register_url(org)).content.decode()
    for heading in ("เลขทะเบียนรับ", "ที่", "ลงวันที่", "จาก", "ถึง", "เรื่อง",
                    "การปฏิบัติ", "หมายเหตุ"):
        assert f">{heading}<" in page
    assert page.index("เรื่องที่สอง") < page.index("เรื่องแรก")
    assert f"พ.ศ. {THIS_YEAR}" in page or str(THIS_YEAR) in page
    assert "กรมการปกครอง" in page


def test_cancelled_entry_is_struck_through_with_reason(client, org):
    entry = receive(org, "เรื่องที่ลงผิด")
    entry_cancel(actor=resolve_actor(org.clerk), entry=entry, reason="ลงทะเบียนซ้ำ")
    client.force_login(org.clerk)
    page = client.get(register_url(org)).content.decode()
    assert 'class="cancelled"' in page
    assert "ยกเลิก: ลงทะเบียนซ้ำ" in page


def test_register_filters_by_urgency_text_and_year(client, org):
    receive(org, "ประชุมด่วน", urgency=Urgency.URGENT)
    receive(org, "งบประมาณ", sender_text="กรมบัญชีกลาง")
    client.force_login(org.clerk)
    page = client.get(register_url(org, urgency=1)).content.decode()
    assert "ประชุมด่วน" in page and "งบประมาณ" not in page
    page = client.get(register_url(org, q="บัญชีกลาง")).content.decode()
    assert "งบประมาณ" in page and "ประชุมด่วน" not in page
    page = client.get(register_url(org, year=THIS_YEAR - 1)).content.decode()
    assert "งบประมาณ" not in page and "ประชุมด่วน" not in page


def test_register_filter_with_htmx_returns_only_the_table(client, org):
    receive(org, "ประชุมด่วน", urgency=Urgency.URGENT)
    client.force_login(org.clerk)
    response = client.get(register_url(org, urgency=1), headers={"HX-Request": "true"})
    page = response.content.decode()
    assert "ประชุมด่วน" in page
    assert "<html" not in page
    full = client.get(register_url(org)).content.decode()
    assert 'hx-get="' in full and 'hx-target="#register-table"' in full
    assert 'hx-push-url="true"' in full


def test_register_paginates_fifty_per_page(client, org):
    for i in range(51):
        receive(org, f"เรื่องลำดับ {i + 1}")
    client.force_login(org.clerk)
    first = client.get(register_url(org))
    assert len(first.context["page"].object_list) == 50
    second = client.get(register_url(org, page=2)).content.decode()
    assert "เรื่องลำดับ 1<" in second
    assert "เรื่องลำดับ 51<" not in second


def test_register_list_query_count_does_not_grow_with_entries(client, org):
    for i in range(5):
        receive(org, f"เรื่องที่ {i}")
    client.force_login(org.clerk)
    few = _queries(client, register_url(org))
    for i in range(45):
        receive(org, f"เรื่องเพิ่ม {i}", sender_agency=org.province, sender_text="")
    many = _queries(client, register_url(org))
    assert many == few


def test_secret_letter_is_hidden_from_registers_of_others(client, org):
    receive(org, "หนังสือลับเฉพาะสารบรรณ", secrecy=Secrecy.SECRET)
    client.force_login(org.director)
    url = register_url(org, SeriesKind.SECRET_INCOMING)
    assert "หนังสือลับเฉพาะสารบรรณ" not in client.get(url).content.decode()
    printed = reverse("web:register_print", args=[org.central.pk, SeriesKind.SECRET_INCOMING])
    assert "หนังสือลับเฉพาะสารบรรณ" not in client.get(printed).content.decode()
    client.force_login(org.clerk)
    assert "หนังสือลับเฉพาะสารบรรณ" in client.get(url).content.decode()


def test_register_of_another_unit_is_not_found(client, org):
    receive(org, "หนังสือของสารบรรณกลาง")
    client.force_login(org.officer)
    assert client.get(register_url(org)).status_code == 404
    printed = reverse("web:register_print", args=[org.central.pk, SeriesKind.INCOMING])
    assert client.get(printed).status_code == 404


def test_unknown_series_kind_is_not_found(client, org):
    client.force_login(org.clerk)
    assert client.get(register_url(org, "nonsense")).status_code == 404


# ---- printouts ---------------------------------------------------------------------------

FORM_COLUMNS = ("ที่", "ลงวันที่", "จาก", "ถึง", "เรื่อง", "การปฏิบัติ", "หมายเหตุ")


def test_incoming_printout_has_the_columns_of_form_12(client, org):
    receive(org, "เรื่องในทะเบียนรับ")
    client.force_login(org.clerk)
    url = reverse("web:register_print", args=[org.central.pk, SeriesKind.INCOMING])
    page = client.get(url).content.decode()
    assert "<h1>ทะเบียนหนังสือรับ</h1>" in page
    assert "แบบที่ 12" in page
    for heading in ("เลขทะเบียนรับ", *FORM_COLUMNS):
        assert f"<th>{heading}</th>" in page
    assert "วันที่ " in page and " เดือน " in page and f"พ.ศ. {THIS_YEAR}" in page
    assert "เรื่องในทะเบียนรับ" in page
    assert 'class="topbar"' not in page


def test_outgoing_printout_has_the_columns_of_form_14(client, org):
    send(org, "เรื่องในทะเบียนส่ง")
    client.force_login(org.clerk)
    url = reverse("web:register_print", args=[org.central.pk, SeriesKind.OUTGOING])
    page = client.get(url).content.decode()
    assert "<h1>ทะเบียนหนังสือส่ง</h1>" in page
    assert "แบบที่ 14" in page
    for heading in ("เลขทะเบียนส่ง", *FORM_COLUMNS):
        assert f"<th>{heading}</th>" in page
    assert "เรื่องในทะเบียนส่ง" in page


def test_printout_filters_by_year(client, org):
    receive(org, "เรื่องปีนี้")
    client.force_login(org.clerk)
    url = reverse("web:register_print", args=[org.central.pk, SeriesKind.INCOMING])
    assert "เรื่องปีนี้" not in client.get(f"{url}?year={THIS_YEAR - 1}").content.decode()
    assert "เรื่องปีนี้" in client.get(f"{url}?year={THIS_YEAR}").content.decode()


def test_thai_digits_setting_changes_the_register(client, org, settings):
    settings.SARABAN_THAI_DIGITS = True
    receive(org, "เรื่องเลขไทย")
    client.force_login(org.clerk)
    page = client.get(register_url(org)).content.decode()
    assert "มท ๐๓๐๗/๑๒๓" in page


# ---- the letter page ---------------------------------------------------------------------


def test_letter_page_shows_details_stamp_files_and_history(client, org):
    earlier = receive(org, "หนังสือฉบับก่อน")
    entry = receive(
        org, "ขอเชิญประชุมคณะทำงาน", urgency=Urgency.VERY_URGENT,
        salutation="ปลัดกระทรวงมหาดไทย", references=[earlier.letter, "หนังสือ มท 0307/99"],
        enclosures=["กำหนดการประชุม"], main_file=Upload("scan.pdf", tiny_pdf()),
    )
    client.force_login(org.clerk)
    page = client.get(reverse("web:letter_detail", args=[entry.letter_id])).content.decode()
    assert "ขอเชิญประชุมคณะทำงาน" in page
    assert 'class="badge urgency-2"' in page
    assert "ปลัดกระทรวงมหาดไทย" in page
    assert reverse("web:letter_detail", args=[earlier.letter_id]) in page
    assert "หนังสือ มท 0307/99" in page
    assert "กำหนดการประชุม" in page
    assert f"เลขรับ {entry.formatted}" in page
    assert "สารบรรณกลาง สป.มท." in page
    file_id = entry.letter.files.get().pk
    file_url = reverse("web:letter_file", args=[entry.letter_id, file_id])
    assert f'<iframe class="preview" src="{file_url}"' in page
    assert reverse("web:letter_stamped", args=[entry.letter_id, entry.pk]) in page
    assert "ลงทะเบียนรับ" in page
    assert org.clerk_post.title_th in page
    assert "นางสมศรี รับส่ง" in page


def test_letter_page_shows_dispatches_and_cancel_in_history(client, org):
    entry = send(org, "แจ้งผล")
    entry_cancel(actor=resolve_actor(org.clerk), entry=entry, reason="พิมพ์ผิด")
    client.force_login(org.clerk)
    page = client.get(reverse("web:letter_detail", args=[entry.letter_id])).content.decode()
    assert "จังหวัดเชียงใหม่" in page
    assert "ระบบสารบรรณอิเล็กทรอนิกส์" in page
    assert "ลงทะเบียนส่ง" in page
    assert "ยกเลิกเลขทะเบียน" in page
    assert "เหตุผล: พิมพ์ผิด" in page
    assert 'class="stamp cancelled"' in page


def _without_tokens(response) -> str:
    return re.sub(r"[A-Za-z0-9]{64}", "TOKEN", response.content.decode())


def test_invisible_letter_is_not_found_in_thai(client, org):
    entry = receive(org, "หนังสือลับ", secrecy=Secrecy.CONFIDENTIAL,
                    main_file=Upload("scan.pdf", tiny_pdf()))
    letter_id = entry.letter_id
    file_id = entry.letter.files.get().pk
    urls = [
        reverse("web:letter_detail", args=[letter_id]),
        reverse("web:letter_file", args=[letter_id, file_id]),
        reverse("web:letter_stamped", args=[letter_id, entry.pk]),
    ]
    missing = reverse("web:letter_detail", args=[letter_id + 1000])
    for person in (org.director, org.officer):
        client.force_login(person)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 404, url
            assert "ไม่พบ" in response.content.decode()
            assert "หนังสือลับ" not in response.content.decode()
        assert _without_tokens(client.get(missing)) == _without_tokens(client.get(urls[0]))


def test_officer_of_another_unit_cannot_open_an_open_letter(client, org):
    entry = receive(org, "หนังสือทั่วไป")
    client.force_login(org.officer)
    assert client.get(reverse("web:letter_detail", args=[entry.letter_id])).status_code == 404
    client.force_login(org.director)
    assert client.get(reverse("web:letter_detail", args=[entry.letter_id])).status_code == 200


# ---- files -------------------------------------------------------------------------------


def test_letter_file_streams_inline_with_its_type_and_name(client, org):
    data = tiny_pdf()
    entry = receive(org, main_file=Upload("หนังสือเชิญ.pdf", data))
    file_id = entry.letter.files.get().pk
    client.force_login(org.clerk)
    response = client.get(reverse("web:letter_file", args=[entry.letter_id, file_id]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert b"".join(response.streaming_content) == data


def test_file_of_another_letter_is_not_found(client, org):
    mine = receive(org, main_file=Upload("a.pdf", tiny_pdf()))
    other = receive(org, "อีกฉบับ")
    client.force_login(org.clerk)
    url = reverse("web:letter_file", args=[other.letter_id, mine.letter.files.get().pk])
    assert client.get(url).status_code == 404


def test_stamped_copy_is_a_pdf_made_by_the_worker(client, org):
    entry = receive(org, main_file=Upload("scan.pdf", tiny_pdf()))
    client.force_login(org.clerk)
    url = reverse("web:letter_stamped", args=[entry.letter_id, entry.pk])
    waiting = client.get(url)
    assert waiting.status_code == 202
    assert "กำลังจัดทำสำเนาประทับตรา" in waiting.content.decode()
    assert entry.derived.count() == 0  # the page made nothing
    assert run_queued_jobs(ending="make_receipt_stamp") == 1
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert entry.derived.count() == 1


def test_stamped_copy_of_paper_letter_is_not_found(client, org):
    entry = receive(org, is_paper=True)
    client.force_login(org.clerk)
    response = client.get(reverse("web:letter_stamped", args=[entry.letter_id, entry.pk]))
    assert response.status_code == 404
