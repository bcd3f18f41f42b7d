"""The delivery book (สมุดส่งหนังสือ) as PDF: one line per copy sent on paper from the
registry's sending series, none for electronic copies, cancelled numbers, secret letters, other
registries or other days; the same through the web, with the register printouts' access rules."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from pypdf import PdfReader

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Role, RoleGrant
from saraban.agencies.sample import make_person
from saraban.core.thai import BANGKOK
from saraban.letters.models import SeriesKind
from saraban.letters.services import (
    LetterDetails,
    Recipient,
    Upload,
    entry_cancel,
    letter_register_outgoing,
)
from saraban.letters.tests.test_register import tiny_pdf
from saraban.reports import registers
from saraban.reports.periods import Period
from saraban.reports.registers import delivery_lines, delivery_pdf

B = BANGKOK
DAY = dt.date(2026, 1, 15)


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF as pdftotext reads it (Thai shaped by Typst survives it)."""
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


def _send(clerk, registry, subject, *recipients, kind=SeriesKind.OUTGOING, secrecy=0):
    return letter_register_outgoing(
        actor=resolve_actor(clerk), registry=registry, series_kind=kind,
        details=LetterDetails(kind="external", subject=subject, secrecy=secrecy),
        recipients=list(recipients), main_file=Upload("letter.pdf", tiny_pdf()))


@pytest.fixture
def lao_clerk(org):
    person = make_person("lao-clerk", "เสมียน เทศบาล", agency=org.lao, password=None)
    RoleGrant.objects.create(person=person, unit=org.lao, role=Role.REGISTRY_CLERK)
    return person


@pytest.fixture
def sent(org, lao_clerk):
    """On 15 January 2569 (Bangkok; the first one still 14 January in UTC): copies by hand,
    by post and by fax, one electronic copy, a cancelled number, a secret letter, a letter of
    the LAO's registry, and one the next day."""
    clerk = org.clerk
    made: dict[str, Any] = {}
    with time_machine.travel(dt.datetime(2026, 1, 15, 0, 0, 30, tzinfo=B), tick=False):
        made["mixed"] = _send(clerk, org.central, "ขอเชิญประชุมคณะทำงาน DLVMIXED",
                              Recipient(channel="hand", text="นายสมศักดิ์ ประชาชน"),
                              Recipient(channel="post", text="บริษัท ทดสอบ จำกัด",
                                        address="99 ถนนห้วยแก้ว"),
                              Recipient(channel="saraban", agency=org.province))
    with time_machine.travel(dt.datetime(2026, 1, 15, 10, 0, tzinfo=B), tick=False):
        made["circular"] = _send(clerk, org.central, "แจ้งเวียนวันหยุด DLVCIRC",
                                 Recipient(channel="fax", text="สำนักงานที่ดินจังหวัด",
                                           address="0 5311 2345"),
                                 kind=SeriesKind.CIRCULAR)
        made["electronic"] = _send(clerk, org.central, "ส่งทางระบบเท่านั้น DLVELEC",
                                   Recipient(channel="saraban", agency=org.province),
                                   Recipient(channel="email", text="อบต.ไม่มีระบบ",
                                             address="saraban@tambon.go.th"))
        made["cancelled"] = _send(clerk, org.central, "ออกเลขผิด DLVCANC",
                                  Recipient(channel="hand", text="นางสาวยกเลิก"))
        entry_cancel(actor=resolve_actor(clerk), entry=made["cancelled"], reason="ออกเลขซ้ำ")
        made["secret"] = _send(clerk, org.central, "เรื่องลับเฉพาะ DLVSECRET",
                               Recipient(channel="hand", text="ผู้รับหนังสือลับ"), secrecy=1)
        made["lao"] = _send(lao_clerk, org.lao_registry, "หนังสือของเทศบาล DLVLAO",
                            Recipient(channel="post", text="ห้างหุ้นส่วน ทดสอบ"))
    with time_machine.travel(dt.datetime(2026, 1, 16, 9, 0, tzinfo=B), tick=False):
        made["next_day"] = _send(clerk, org.central, "วันถัดไป DLVNEXT",
                                 Recipient(channel="hand", text="ผู้รับวันถัดไป"))
    return made


def test_the_book_holds_each_paper_copy_of_the_day_and_nothing_else(org, sent):
    lines = delivery_lines(org.central, Period(DAY, DAY), reader=org.clerk)
    mixed, circular = sent["mixed"].formatted, sent["circular"].formatted
    assert [(line.number, line.channel) for line in lines] == [
        (mixed, "hand"), (mixed, "post"), (circular, "fax")]
    hand, post, fax = lines
    assert (hand.recipient, hand.remarks) == ("นายสมศักดิ์ ประชาชน", "ส่งด้วยมือ")
    assert post.remarks == "ไปรษณีย์ 99 ถนนห้วยแก้ว"
    assert (fax.subject, fax.remarks) == ("แจ้งเวียนวันหยุด DLVCIRC", "โทรสาร 0 5311 2345")
    assert {line.day for line in lines} == {"2026-01-15"}
    assert hand.sender == org.central.unit.name_th
    # the next day, and the two days together, in day order
    two = delivery_lines(org.central, Period(DAY, DAY + dt.timedelta(days=1)), reader=org.clerk)
    assert [line.number for line in two][-1] == sent["next_day"].formatted
    assert [line.day for line in two] == sorted(line.day for line in two)
    # the LAO's own book holds its own letter only
    [lao] = delivery_lines(org.lao_registry, Period(DAY, DAY), reader=None)
    assert lao.number == sent["lao"].formatted
    # an officer who may read none of these letters gets an empty book
    assert delivery_lines(org.central, Period(DAY, DAY), reader=org.officer) == []


def test_the_pdf_prints_the_lines_of_the_book_in_the_official_form(org, sent):
    period = Period(DAY, DAY)
    pdf = delivery_pdf(org.central, delivery_lines(org.central, period, reader=org.clerk),
                       period)
    page: Any = PdfReader(io.BytesIO(pdf)).pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height)  # A4 landscape
    text = pdf_text(pdf)
    assert "DLVMIXED" in text and "DLVCIRC" in text and "5311" in text
    for absent in ("DLVELEC", "DLVCANC", "DLVSECRET", "DLVLAO", "DLVNEXT"):
        assert absent not in text
    assert text.count("DLVMIXED") == 2  # one line per copy: by hand and by post
    assert sent["mixed"].formatted.split("/")[-1] in text
    thai = pdf_text(delivery_pdf(org.central, delivery_lines(org.central, period,
                                                             reader=org.clerk),
                                 period, thai_digits=True))
    assert "๒๕๖๙" in thai and "2569" not in thai
    empty = pdf_text(delivery_pdf(org.central, [], Period(dt.date(2020, 1, 1),
                                                          dt.date(2020, 1, 1))))
    assert "DLV" not in empty


def test_too_many_copies_are_refused_never_cut(org, sent, monkeypatch):
    from saraban.core.errors import ValidationFailed

    monkeypatch.setattr(registers, "MAX_LINES", 2)  # three copies that day
    with pytest.raises(ValidationFailed) as refused:
        delivery_lines(org.central, Period(DAY, DAY), reader=org.clerk)
    assert refused.value.code == "period_too_long"


def test_letters_sent_electronically_never_push_a_paper_copy_out(org, sent, monkeypatch):
    next_day = DAY + dt.timedelta(days=1)
    with time_machine.travel(dt.datetime(2026, 1, 16, 8, 0, tzinfo=B), tick=False):
        for n in range(3):  # numbered before the day's one paper copy
            _send(org.clerk, org.central, f"ทางระบบ {n}",
                  Recipient(channel="saraban", agency=org.province))
    monkeypatch.setattr(registers, "MAX_LINES", 1)
    [line] = delivery_lines(org.central, Period(next_day, next_day), reader=org.clerk)
    assert line.number == sent["next_day"].formatted


def test_the_book_downloads_from_the_register_page_with_the_same_rules(client, org, sent,
                                                                       lao_clerk):
    url = reverse("web:register_pdf", args=[org.central.pk, "delivery"])
    client.force_login(org.clerk)
    response = client.get(url, {"from": "2026-01-15", "to": "2026-01-15"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "delivery-book-2026-01-15-2026-01-15.pdf" in response["Content-Disposition"]
    text = pdf_text(response.content)
    assert "DLVMIXED" in text and "DLVCIRC" in text
    assert "DLVELEC" not in text and "DLVSECRET" not in text and "DLVLAO" not in text
    # the same refusals as the registers: a bad date, more than a year
    bad = client.get(url, {"from": "15/01/2026"})
    assert bad.status_code == 400 and "ปปปป-ดด-วว" in bad.content.decode()
    long = client.get(url, {"from": "2024-01-01", "to": "2026-01-01"})
    assert long.status_code == 400 and "ไม่เกินหนึ่งปี" in long.content.decode()
    # another agency's registry is not found, whoever asks
    other = reverse("web:register_pdf", args=[org.lao_registry.pk, "delivery"])
    assert client.get(other, {"from": "2026-01-15"}).status_code == 404
    client.force_login(lao_clerk)
    assert client.get(url, {"from": "2026-01-15"}).status_code == 404
    own = client.get(other, {"from": "2026-01-15"})
    assert "DLVLAO" in pdf_text(own.content) and "DLVMIXED" not in pdf_text(own.content)
    # linked next to the register PDF on the sending registers, not on the incoming one
    client.force_login(org.clerk)
    for kind, linked in ((SeriesKind.OUTGOING, True), (SeriesKind.CIRCULAR, True),
                         (SeriesKind.INCOMING, False)):
        page = client.get(reverse("web:register_list", args=[org.central.pk, kind]))
        assert (url in page.content.decode()) is linked, kind


def test_too_many_copies_in_the_web_get_a_thai_message(client, org, sent, monkeypatch):
    monkeypatch.setattr(registers, "MAX_LINES", 1)
    client.force_login(org.clerk)
    url = reverse("web:register_pdf", args=[org.central.pk, "delivery"])
    refused = client.get(url, {"from": "2026-01-15"})
    assert refused.status_code == 400 and "กรุณาพิมพ์ทีละเดือน" in refused.content.decode()
