"""The LPA evidence pack: one ZIP per LAO and fiscal year with the indicators, the lists behind
them (secret subjects never printed), the registers and the delivery book, a manifest whose
hashes match; for overseers only, from the web and from the command."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import subprocess
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import AgencyKind, Role, RoleGrant
from saraban.agencies.sample import make_person
from saraban.agencies.services import agency_create
from saraban.core.errors import ValidationFailed
from saraban.core.thai import BANGKOK
from saraban.exchange.directory import agency_enrol
from saraban.letters.models import SeriesKind
from saraban.letters.registries import registry_open
from saraban.letters.services import (
    LetterDetails,
    Recipient,
    Upload,
    entry_cancel,
    letter_register_incoming,
    letter_register_outgoing,
)
from saraban.letters.tests.test_register import tiny_pdf
from saraban.reports import registers
from saraban.reports.indicators import Scope, electronic_share, received_share
from saraban.reports.lpa import lpa_pack
from saraban.reports.periods import fiscal_year

from .generated import build, count_received, count_sent

B = BANGKOK
TODAY = dt.date(2026, 10, 5)


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


def members(pack: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(pack)) as z:
        return {name: z.read(name) for name in z.namelist()}


def rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads the Thai
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def _clerk(agency, username):
    person = make_person(username, f"เสมียน {agency.name_th}", agency=agency, password=None)
    RoleGrant.objects.create(person=person, unit=agency, role=Role.REGISTRY_CLERK)
    return person


def _out(clerk, registry, when, subject, *recipients, kind=SeriesKind.OUTGOING, secrecy=0):
    with time_machine.travel(when, tick=False):
        return letter_register_outgoing(
            actor=resolve_actor(clerk), registry=registry, series_kind=kind,
            details=LetterDetails(kind="external", subject=subject, secrecy=secrecy),
            recipients=list(recipients), main_file=Upload("letter.pdf", tiny_pdf()))


def _in(clerk, registry, when, subject, via="", secrecy=0):
    with time_machine.travel(when, tick=False):
        return letter_register_incoming(
            actor=resolve_actor(clerk), registry=registry,
            details=LetterDetails(kind="external", subject=subject, sender_text="จังหวัดเชียงใหม่",
                                  number="ชม 0023.3/ว 77", received_via=via, secrecy=secrecy))


@pytest.fixture
def governor(org):
    person = make_person("governor", "ผู้ว่า ราชการ", agency=org.province, password=None)
    RoleGrant.objects.create(person=person, unit=org.province, role=Role.EXECUTIVE)
    return person


@pytest.fixture
def year(org):
    """The city's fiscal year 2569, with letters on its first and last seconds and just
    outside it, a cancelled number, secret letters both ways, a circular by fax; and a second
    LAO's letter on the same day."""
    city = _clerk(org.lao, "city-clerk")
    reg = org.lao_registry
    saraban = Recipient(channel="saraban", code="moi", text="กระทรวงมหาดไทย")
    _out(city, reg, dt.datetime(2025, 9, 30, 23, 59, 40, tzinfo=B), "ปีก่อน LPAPREV",
         Recipient(channel="post", text="ห้างหุ้นส่วน"))
    first = _out(city, reg, dt.datetime(2025, 10, 1, 0, 0, 20, tzinfo=B),
                 "ขอเชิญประชุมสภาเทศบาล LPAFIRST", saraban,
                 Recipient(channel="post", text="บริษัท ทดสอบ จำกัด", address="99 ถนนห้วยแก้ว"))
    _in(city, reg, dt.datetime(2025, 12, 31, 23, 59, 50, tzinfo=B), "รับทางระบบ LPAINE",
        via="saraban")
    _in(city, reg, dt.datetime(2026, 1, 1, 0, 0, 10, tzinfo=B), "รับที่โต๊ะ LPAINP")
    _in(city, reg, dt.datetime(2026, 2, 2, 10, 0, tzinfo=B), "รับเรื่องลับ LPASECRETIN",
        secrecy=1)
    cancelled = _out(city, reg, dt.datetime(2026, 3, 10, 9, 0, tzinfo=B), "ออกเลขผิด LPACANC",
                     Recipient(channel="hand", text="นางสาวยกเลิก"))
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 5, tzinfo=B), tick=False):
        entry_cancel(actor=resolve_actor(city), entry=cancelled, reason="ออกเลขซ้ำ")
    _out(city, reg, dt.datetime(2026, 4, 2, 9, 0, tzinfo=B), "ส่งเรื่องลับ LPASECRETOUT",
         Recipient(channel="hand", text="ผู้รับหนังสือลับ"), secrecy=1)
    _out(city, reg, dt.datetime(2026, 5, 5, 9, 0, tzinfo=B), "แจ้งเวียน LPACIRC",
         Recipient(channel="fax", text="สำนักงานที่ดินจังหวัด", address="0 5311 2345"),
         kind=SeriesKind.CIRCULAR)
    last = _out(city, reg, dt.datetime(2026, 9, 30, 23, 59, 0, tzinfo=B), "วันสุดท้าย LPALAST",
                Recipient(channel="hand", text="นายสมศักดิ์ ประชาชน"))
    _out(city, reg, dt.datetime(2026, 10, 1, 0, 0, 5, tzinfo=B), "ปีถัดไป LPANEXT",
         Recipient(channel="post", text="ห้างหุ้นส่วน"))
    other = agency_create(kind=AgencyKind.SAO, name_th="อบต.ข้างเคียง", parent=org.province,
                          is_tenant=True, letter_code="ชม", office_code="79001")
    agency_enrol(agency=other, code="sao-next-door")
    other.refresh_from_db()
    other_registry = registry_open(unit=other, is_central=True)
    _out(_clerk(other, "sao-clerk"), other_registry, dt.datetime(2026, 1, 15, 9, 0, tzinfo=B),
         "ของ อบต.อื่น LPAOTHER", Recipient(channel="post", text="ห้างหุ้นส่วน"))
    return {"first": first, "last": last, "city_clerk": city, "other": other}


def test_the_pack_holds_the_indicators_the_lists_and_the_registers(org, year):
    pack = lpa_pack(org.lao, 2569, today=TODAY)
    files = members(pack.data)
    r = f"registers/r{org.lao_registry.pk}"
    assert set(files) == {
        "README.txt", "manifest.json", "indicators/summary.pdf", "indicators/indicators.xlsx",
        "lists/sent-electronic.csv", "lists/sent-other.csv", "lists/received.csv",
        "lists/lists.xlsx", f"{r}/incoming-fy2569.pdf", f"{r}/outgoing-fy2569.pdf",
        f"{r}/circular-fy2569.pdf", f"{r}/delivery-fy2569.pdf"}
    assert pack.filename == "lpa-chiangmai-city-2569.zip"

    # the lists: one row per copy sent, per letter received; together the indicators' counts
    period = fiscal_year(2569)
    sent, _ = electronic_share(Scope(org.lao), period)
    received, _ = received_share(Scope(org.lao), period)
    electronic = rows(files["lists/sent-electronic.csv"])
    other = rows(files["lists/sent-other.csv"])
    got = rows(files["lists/received.csv"])
    assert (len(electronic), len(other), len(got)) == (1, 4, 3)
    assert (len(electronic), len(electronic) + len(other), len(got)) == (
        sent.part, sent.total, received.total)
    assert electronic[0]["เลขทะเบียน"] == year["first"].formatted
    assert electronic[0]["เรื่อง"] == "ขอเชิญประชุมสภาเทศบาล LPAFIRST"
    assert electronic[0]["ช่องทาง"] == "ระบบสารบรรณอิเล็กทรอนิกส์"
    assert electronic[0]["วันที่ลงทะเบียน"] == "1 ต.ค. 2568"  # Bangkok, not UTC's 30 Sep
    assert [row["ช่องทาง"] for row in other] == ["ไปรษณีย์", "ส่งด้วยมือ", "โทรสาร",
                                                 "ส่งด้วยมือ"]
    assert [row["ลำดับ"] for row in other] == ["1", "2", "3", "4"]
    assert other[-1]["เรื่อง"] == "วันสุดท้าย LPALAST"
    assert {row["ช่องทาง"] for row in got} == {"ระบบสารบรรณอิเล็กทรอนิกส์",
                                               "กระดาษ (รับที่โต๊ะ)"}
    every = "".join(files[n].decode("utf-8-sig") for n in files if n.endswith(".csv"))
    for outside in ("LPAPREV", "LPANEXT", "LPACANC", "LPAOTHER"):
        assert outside not in every
    book = openpyxl.load_workbook(io.BytesIO(files["lists/lists.xlsx"]))
    assert book.sheetnames == ["sent_electronic", "sent_other", "received"]
    assert book["sent_other"].max_row == 3 + 4

    # the indicators: the summary PDF and the workbook of the same year
    assert files["indicators/summary.pdf"].startswith(b"%PDF")
    kpi = openpyxl.load_workbook(io.BytesIO(files["indicators/indicators.xlsx"]))
    share = list(kpi["electronic_share"].iter_rows(min_row=4, values_only=True))
    assert share[-1][:3] == ("รวม", sent.total, sent.part) and len(share) == 13  # 12 months

    # the registers of the year, and the delivery book
    outgoing = pdf_text(files[f"{r}/outgoing-fy2569.pdf"])
    assert "LPAFIRST" in outgoing and "LPALAST" in outgoing and "LPACANC" in outgoing
    assert "LPAPREV" not in outgoing and "LPANEXT" not in outgoing
    assert "LPAOTHER" not in outgoing and "LPASECRET" not in outgoing
    assert "แบบที่ 14" in outgoing
    assert "LPAINE" in pdf_text(files[f"{r}/incoming-fy2569.pdf"])
    delivery = pdf_text(files[f"{r}/delivery-fy2569.pdf"])
    assert "LPAFIRST" in delivery and "LPACIRC" in delivery and "LPALAST" in delivery
    for absent in ("LPACANC", "LPASECRET", "LPAPREV", "LPANEXT"):
        assert absent not in delivery


def test_the_manifest_names_every_file_with_its_hash(org, year):
    pack = lpa_pack(org.lao, 2569, today=TODAY)
    files = members(pack.data)
    manifest = json.loads(files["manifest.json"])
    assert manifest == pack.manifest
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(listed) == set(files) - {"manifest.json", "README.txt"}
    for name, entry in listed.items():
        assert entry["sha256"] == hashlib.sha256(files[name]).hexdigest()
        assert entry["bytes"] == len(files[name]) and entry["what"]
    assert (manifest["fiscal_year"], manifest["from"], manifest["to"]) == (
        2569, "2025-10-01", "2026-09-30")
    assert manifest["agency"]["code"] == "chiangmai-city" and manifest["sealed"] is False
    assert manifest["counts"]["sent_total"] == 5 and manifest["counts"]["secret_lines"] == 2
    readme = files["README.txt"].decode()
    assert "เทศบาลนครเชียงใหม่ ปีงบประมาณ 2569" in readme
    assert "ยังไม่ได้ประทับตรา" in readme and "sha256sum" in readme
    assert all(name in readme for name in listed)


def test_secret_subjects_are_never_printed_only_counted(org, year):
    files = members(lpa_pack(org.lao, 2569, today=TODAY).data)
    for name, data in files.items():
        if name.endswith(".pdf"):
            text = pdf_text(data)
        elif name.endswith(".xlsx"):
            book = openpyxl.load_workbook(io.BytesIO(data))
            text = " ".join(str(v) for sheet in book for row in sheet.iter_rows(values_only=True)
                            for v in row)
        else:
            text = data.decode("utf-8-sig")
        assert "LPASECRET" not in text and "เรื่องลับ" not in text, name
    secret = [row for name in ("lists/sent-other.csv", "lists/received.csv")
              for row in rows(files[name]) if row["เรื่อง"] == "ลับ"]
    assert len(secret) == 2
    assert {row["เลขทะเบียน"].split("/")[0] for row in secret}  # their numbers are listed
    assert "รายการของหนังสือลับในบัญชี 2 รายการ" in files["README.txt"].decode()
    # the secret registers themselves are not printed
    assert not [name for name in files if "secret" in name]


def test_a_register_too_long_for_one_file_is_printed_by_month(org, year, monkeypatch):
    monkeypatch.setattr(registers, "MAX_LINES", 2)  # outgoing: 3 lines, delivery: 4 copies
    files = members(lpa_pack(org.lao, 2569, today=TODAY).data)
    r = f"registers/r{org.lao_registry.pk}"
    outgoing = sorted(n for n in files if n.startswith(f"{r}/outgoing-"))
    assert len(outgoing) == 12 and outgoing[0] == f"{r}/outgoing-2568-10.pdf"
    assert outgoing[-1] == f"{r}/outgoing-2569-09.pdf"
    assert "LPAFIRST" in pdf_text(files[f"{r}/outgoing-2568-10.pdf"])
    assert "LPALAST" in pdf_text(files[f"{r}/outgoing-2569-09.pdf"])
    assert "LPALAST" not in pdf_text(files[f"{r}/outgoing-2568-10.pdf"])
    assert f"{r}/incoming-fy2569.pdf" in files  # two lines: one file
    assert len([n for n in files if n.startswith(f"{r}/delivery-")]) == 12
    manifest = json.loads(files["manifest.json"])
    [october] = [f for f in manifest["files"] if f["name"] == f"{r}/outgoing-2568-10.pdf"]
    assert october["what"].endswith("ตุลาคม 2568")


def test_only_an_lao_and_a_year_begun_make_a_pack(org, year):
    for agency, year_be, code in ((org.province, 2569, "not_a_lao"),
                                  (org.ministry, 2569, "not_a_lao"),
                                  (org.lao, 2571, "bad_year"), (org.lao, 3000, "bad_year")):
        with pytest.raises(ValidationFailed) as refused:
            lpa_pack(agency, year_be, today=TODAY)
        assert refused.value.code == code


def test_an_overseer_downloads_it_from_the_dashboard_and_no_one_else(client, org, year,
                                                                     governor):
    url = reverse("web:reports_lpa")
    client.force_login(governor)
    page = client.get(reverse("web:reports"), {"fiscal_year": 2569}).content.decode()
    lpa = page.split('id="lpa"')[1]
    assert url in lpa and "เทศบาลนครเชียงใหม่" in lpa and "อบต.ข้างเคียง" in lpa
    assert "จังหวัดเชียงใหม่</option>" not in lpa  # a province is not an LAO
    response = client.get(url, {"agency": org.lao.pk, "fiscal_year": 2569})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert 'filename="lpa-chiangmai-city-2569.zip"' in response["Content-Disposition"]
    assert "lists/received.csv" in members(response.content)
    by_code = client.get(url, {"agency": "sao-next-door", "fiscal_year": "2569"})
    assert by_code.status_code == 200
    assert "LPAOTHER" in members(by_code.content)["lists/sent-other.csv"].decode("utf-8-sig")
    for bad, status, said in (
        ({"agency": org.province.pk, "fiscal_year": 2569}, 400, "เฉพาะองค์กรปกครองส่วนท้องถิ่น"),
        ({"agency": org.lao.pk, "fiscal_year": "๒๕๖๙x"}, 400, "ปีงบประมาณไม่ถูกต้อง"),
        ({"agency": org.lao.pk, "fiscal_year": 2600}, 400, "ยังไม่เริ่ม"),
        ({"fiscal_year": 2569}, 400, "กรุณาเลือกองค์กรปกครองส่วนท้องถิ่น"),
        ({"agency": "nowhere", "fiscal_year": 2569}, 404, "ไม่พบหน่วยงาน"),
    ):
        refused = client.get(url, bad)
        assert refused.status_code == status, bad
        assert said in refused.content.decode() and 'role="alert"' in refused.content.decode()
    # the LAO next door's clerk oversees only their own; the ministry's clerk and an officer
    # oversee no LAO of this province
    for person in (year["city_clerk"], org.clerk, org.officer):
        client.force_login(person)
        refused = client.get(url, {"agency": year["other"].pk, "fiscal_year": 2569})
        assert refused.status_code == 403, person
        assert "ท่านไม่มีสิทธิ์ดูรายงานตัวชี้วัด" in refused.content.decode()
        assert refused["Content-Type"].startswith("text/html")
    client.force_login(org.clerk)
    assert 'id="lpa"' not in client.get(reverse("web:reports")).content.decode()


def test_the_command_writes_the_pack(org, year, tmp_path: Path):
    target = tmp_path / "pack.zip"
    out = io.StringIO()
    call_command("reports", "lpa", "--agency", "chiangmai-city", "--fiscal-year", "2569",
                 "--output", str(target), stdout=out)
    manifest = json.loads(members(target.read_bytes())["manifest.json"])
    assert manifest["agency"]["id"] == org.lao.pk and manifest["fiscal_year"] == 2569
    assert str(target) in out.getvalue()
    for args, said in (
        (("--agency", "nobody", "--fiscal-year", "2569"), "agency_not_found"),
        (("--agency", "chiangmai", "--fiscal-year", "2569"), "not_a_lao"),
        (("--agency", "chiangmai-city", "--fiscal-year", "2399"), "bad_year"),
    ):
        missing = tmp_path / "not-written.zip"
        with pytest.raises(CommandError, match=said):
            call_command("reports", "lpa", *args, "--output", str(missing),
                         stdout=io.StringIO())
        assert not missing.exists()


@pytest.fixture
def gen(org, pki, stranger_pki):
    return build(org, pki, stranger_pki, per_registry=4)


def test_the_lists_agree_with_a_count_from_the_registers_for_every_lao(gen):
    period = fiscal_year(2569)
    for lao in gen.laos:
        files = members(lpa_pack(lao, 2569, today=TODAY).data)
        sent = count_sent(lao, period).get("total", Counter())
        received = count_received(lao, period).get("total", Counter())
        electronic = sum(n for c, n in sent.items() if c in ("saraban", "email", "ecms"))
        listed: dict[str, Any] = {name: rows(files[f"lists/{name}.csv"])
                                  for name in ("sent-electronic", "sent-other", "received")}
        assert len(listed["sent-electronic"]) == electronic, lao.name_th
        assert len(listed["sent-other"]) == sum(sent.values()) - electronic, lao.name_th
        assert len(listed["received"]) == sum(received.values()), lao.name_th
        manifest = json.loads(files["manifest.json"])
        assert manifest["counts"]["sent_total"] == sum(sent.values())
