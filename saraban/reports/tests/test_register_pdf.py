"""Register printouts as PDF (แบบที่ 12 and 14): the lines of the days asked for, what
became of each letter in "การปฏิบัติ", cancelled numbers marked, only what the person may see."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
from typing import Any

import pytest
import time_machine
from pypdf import PdfReader

from saraban.agencies.actors import resolve_actor
from saraban.core.thai import BANGKOK
from saraban.letters.models import SeriesKind
from saraban.letters.registries import registry_open
from saraban.letters.services import (
    LetterDetails,
    Recipient,
    Upload,
    entry_cancel,
    letter_register_incoming,
    letter_register_outgoing,
    series_of,
)
from saraban.letters.tests.test_register import tiny_pdf
from saraban.reports.periods import Period
from saraban.reports.registers import register_lines, register_pdf
from saraban.routing.services import Target, routing_assign

B = BANGKOK
DAY = dt.date(2026, 1, 15)


@pytest.fixture
def registered(org):
    clerk = resolve_actor(org.clerk)
    at = dt.datetime(2026, 1, 15, 9, 30, tzinfo=B)
    with time_machine.travel(at, tick=False):
        first = letter_register_incoming(
            actor=clerk, registry=org.central,
            details=LetterDetails(kind="external", subject="ขอเชิญประชุมคณะกรรมการ",
                                  sender_text="กรมการปกครอง", number="มท 0307/4455",
                                  letter_date=dt.date(2026, 1, 12)))
        routing_assign(actor=clerk, letter=first.letter, targets=[Target(unit=org.ict)])
        second = letter_register_incoming(
            actor=clerk, registry=org.central,
            details=LetterDetails(kind="external", subject="แจ้งเวียนที่ยกเลิก",
                                  sender_text="จังหวัดลำพูน", number="ลพ 0017/99"))
        entry_cancel(actor=clerk, entry=second, reason="ลงรับซ้ำ")
        secret = letter_register_incoming(
            actor=clerk, registry=org.central,
            details=LetterDetails(kind="external", subject="เรื่องลับเฉพาะ", secrecy=1,
                                  sender_text="สำนักข่าวกรอง"))
        sent = letter_register_outgoing(
            actor=clerk, registry=org.central,
            details=LetterDetails(kind="external", subject="ตอบรับการประชุม"),
            recipients=[Recipient(channel="saraban", agency=org.province),
                        Recipient(channel="post", text="บริษัท ทดสอบ จำกัด")],
            main_file=Upload("letter.pdf", tiny_pdf()))
    with time_machine.travel(at + dt.timedelta(days=1), tick=False):  # the next day
        letter_register_incoming(
            actor=clerk, registry=org.central,
            details=LetterDetails(kind="external", subject="วันถัดไป", sender_text="อำเภอ"))
    return first, second, secret, sent


def test_the_lines_of_a_day_with_what_became_of_each_letter(org, registered):
    first, second, _secret, sent = registered
    incoming = series_of(org.central, SeriesKind.INCOMING)
    lines = register_lines(org.clerk, incoming, Period(DAY, DAY))
    assert [line.number for line in lines] == [first.formatted, second.formatted]
    one, cancelled = lines
    assert one.action == "มอบ ศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร เพื่อดำเนินการ"
    assert (one.their_number, one.sender, one.date) == ("มท 0307/4455", "กรมการปกครอง",
                                                        "12 ม.ค. 2569")
    assert cancelled.cancelled and cancelled.remarks == "ยกเลิก: ลงรับซ้ำ"
    outgoing = series_of(org.central, SeriesKind.OUTGOING)
    [out] = register_lines(org.clerk, outgoing, Period(DAY, DAY))
    assert out.number == sent.formatted
    assert out.action == "ส่งทาง ระบบสารบรรณอิเล็กทรอนิกส์ 1, ไปรษณีย์ 1"
    # the secret register's line is for its own readers only
    secret_series = series_of(org.central, SeriesKind.SECRET_INCOMING)
    assert register_lines(org.officer, secret_series, Period(DAY, DAY)) == []
    assert register_lines(org.officer, incoming, Period(DAY, DAY + dt.timedelta(days=1))) == []


def test_the_pdf_is_the_official_form_in_landscape(org, registered):
    incoming = series_of(org.central, SeriesKind.INCOMING)
    week = Period(DAY, DAY + dt.timedelta(days=6))
    pdf = register_pdf(incoming, register_lines(org.clerk, incoming, week), week)
    reader = PdfReader(io.BytesIO(pdf))
    page: Any = reader.pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height)  # A4 landscape
    fonts = {str(f.get_object()["/BaseFont"]) for f in page["/Resources"]["/Font"].values()}
    assert any("Sarabun" in f for f in fonts)
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf,
                              capture_output=True, check=True).stdout.decode()
        assert "0307/4455" in text and "2569" in text
    empty = register_pdf(incoming, [], Period(dt.date(2020, 1, 1), dt.date(2020, 1, 1)))
    assert PdfReader(io.BytesIO(empty)).pages


def test_a_unit_registry_prints_its_own_lines(org, registered):
    unit = registry_open(unit=org.ict_group, is_central=False, name_th="สารบรรณ กลุ่มงาน")
    lines = register_lines(org.clerk, series_of(unit, SeriesKind.INCOMING), Period(DAY, DAY))
    assert lines == []


def test_the_register_downloads_as_pdf_for_a_day(client, org, registered):
    from django.urls import reverse

    url = reverse("web:register_pdf", args=[org.central.pk, SeriesKind.INCOMING])
    client.force_login(org.clerk)
    response = client.get(url, {"from": "2026-01-15", "to": "2026-01-15"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert client.get(url, {"from": "15/01/2026"}).status_code == 400
    assert client.get(url, {"from": "2024-01-01", "to": "2026-01-01"}).status_code == 400
    other = reverse("web:register_pdf", args=[org.province_registry.pk, SeriesKind.INCOMING])
    assert client.get(other, {"from": "2026-01-15"}).status_code == 404
    listing = client.get(reverse("web:register_list", args=[org.central.pk,
                                                            SeriesKind.INCOMING]))
    assert url in listing.content.decode()


def test_too_many_lines_are_refused_never_cut(org, registered, monkeypatch):
    from saraban.core.errors import ValidationFailed
    from saraban.reports import registers

    monkeypatch.setattr(registers, "MAX_LINES", 1)
    incoming = series_of(org.central, SeriesKind.INCOMING)
    with pytest.raises(ValidationFailed) as refused:
        register_lines(org.clerk, incoming, Period(DAY, DAY))  # two lines that day
    assert refused.value.code == "period_too_long"
