"""The indicators page: a province's director sees the share, the monthly chart and each LAO
hosted below, opens one (drill-down) and downloads the figures; nobody else's figures."""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
import time_machine
from django.urls import reverse

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Role, RoleGrant
from saraban.agencies.sample import make_person
from saraban.core.thai import BANGKOK
from saraban.letters.services import LetterDetails, Recipient, Upload, letter_register_outgoing
from saraban.letters.tests.test_register import tiny_pdf
from saraban.reports import tallies

URL = "/reports/"


@pytest.fixture
def governor(org):
    person = make_person("governor", "ผู้ว่า ราชการ", agency=org.province, password=None)
    RoleGrant.objects.create(person=person, unit=org.province, role=Role.EXECUTIVE)
    return person


@pytest.fixture
def lao_clerk(org):
    person = make_person("lao-clerk", "เสมียน เทศบาล", agency=org.lao, password=None)
    RoleGrant.objects.create(person=person, unit=org.lao, role=Role.REGISTRY_CLERK)
    return person


def _send(registry, clerk, when, *channels):
    recipients = {"saraban": lambda: Recipient(channel="saraban", code="moi",
                                                        text="กระทรวงมหาดไทย"),
                  "post": lambda: Recipient(channel="post", text="ห้างหุ้นส่วน"),
                  "fax": lambda: Recipient(channel="fax", text="สำนักงาน", address="0 5311")}
    with time_machine.travel(when, tick=False):
        letter_register_outgoing(
            actor=resolve_actor(clerk), registry=registry,
            details=LetterDetails(kind="external", subject="แจ้งผล"),
            recipients=[recipients[c]() for c in channels],
            main_file=Upload("letter.pdf", tiny_pdf()))


@pytest.fixture
def letters(org, governor, lao_clerk):
    clerk = make_person("prov-clerk", "เสมียน จังหวัด", agency=org.province, password=None)
    RoleGrant.objects.create(person=clerk, unit=org.province, role=Role.REGISTRY_CLERK)
    b = BANGKOK
    _send(org.province_registry, clerk, dt.datetime(2025, 11, 3, 9, 0, tzinfo=b), "post")
    _send(org.lao_registry, lao_clerk, dt.datetime(2025, 12, 5, 9, 0, tzinfo=b), "saraban",
          "saraban", "fax")
    _send(org.lao_registry, lao_clerk, dt.datetime(2026, 2, 5, 9, 0, tzinfo=b), "saraban")


def test_a_director_sees_the_share_the_chart_and_each_lao_and_drills_down(client, org, governor,
                                                                         letters):
    client.force_login(governor)
    own = client.get(URL, {"fiscal_year": 2569}).content.decode()
    assert "0 จาก 1 ฉบับที่ส่ง" in own  # the province's own: one copy, by post
    assert re.search(r'id="share-sent".*?<div class="stat">0%', own, re.S)

    shown = client.get(URL, {"fiscal_year": 2569, "hosted": "1"}).content.decode()
    assert "และหน่วยงานในสังกัด" in shown
    assert re.search(r'id="share-sent".*?<div class="stat">60%', shown, re.S)  # 3 of 5
    assert "<svg" in shown and "ต.ค. 68" in shown and "style=" not in shown.split("<svg")[1]
    ranking = shown.split('id="ranking"')[1]
    assert "เทศบาลนครเชียงใหม่" in ranking and "จังหวัดเชียงใหม่" in ranking
    assert 'id="timing-time_to_close"' in shown and "ค้างดำเนินการขณะนี้ 0 เรื่อง" in shown
    table = shown.split('id="connections"')[1]
    assert table.count("report-connected") == 2  # the province and its city, both enrolled
    assert "เชื่อมต่อแล้ว 2 จาก 2 หน่วยงาน" in shown
    link = re.search(r'href="/reports/\?([^"]*agency=' + str(org.lao.pk) + r'[^"]*)"', ranking)
    assert link is not None
    lao = client.get(URL + "?" + link.group(1).replace("&amp;", "&")).content.decode()
    assert "รายงานตัวชี้วัด: เทศบาลนครเชียงใหม่" in lao
    assert re.search(r'id="share-sent".*?<div class="stat">75%', lao, re.S)  # 3 of 4


def test_the_figures_download_as_xlsx_and_csv(client, org, governor, letters):
    client.force_login(governor)
    query = {"fiscal_year": 2569, "hosted": "1", "agency": org.province.pk}
    response = client.get(reverse("web:reports_export"), query)
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.xlsx"')
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    rows = list(book["electronic_share"].iter_rows(min_row=4, values_only=True))
    assert rows[-1][:4] == ("รวม", 5, 3, 60.0)
    pdf = client.get(reverse("web:reports_export"), {**query, "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf["Content-Disposition"].endswith('.pdf"')
    csv = client.get(reverse("web:reports_export"), {**query, "format": "csv"})
    assert csv.content.decode().splitlines()[0].startswith("indicator,key,label,total,part")


def test_a_figure_opens_its_letters_only_for_those_who_may_read_them(client, org, governor,
                                                                     lao_clerk, letters):
    client.force_login(governor)
    shown = client.get(URL, {"fiscal_year": 2569, "hosted": "1"}).content.decode()
    ranking = shown.split('id="ranking"')[1]
    link = re.search(r'href="(/reports/letters/\?[^"]*tenant=' + str(org.lao.pk) + r'[^"]*)"',
                     ranking)
    assert link is not None
    url = link.group(1).replace("&amp;", "&")
    page = client.get(url).content.decode()
    # the governor oversees the LAO's figures but may not read its letters
    assert "ตามทะเบียน 2 เรื่อง" in page and "แสดงเฉพาะเรื่องที่ท่านมีสิทธิ์เข้าถึง 0 เรื่อง" in page
    client.force_login(lao_clerk)  # the LAO's own clerk reads them
    own = client.get(URL, {"fiscal_year": 2569}).content.decode()
    fax = re.search(r'href="(/reports/letters/\?[^"]*channel=fax[^"]*)"', own)
    assert fax is not None
    listed = client.get(fax.group(1).replace("&amp;", "&")).content.decode()
    assert "ตามทะเบียน 1 เรื่อง" in listed and "แสดงเฉพาะ" not in listed
    assert listed.count("/letters/") >= 1 and "แจ้งผล" in listed


def test_nobody_sees_what_they_do_not_oversee(client, org, governor, lao_clerk, letters):
    client.force_login(lao_clerk)
    assert client.get(URL, {"agency": org.province.pk}).status_code == 403
    assert client.get(reverse("web:reports_export"),
                      {"agency": org.province.pk}).status_code == 403
    assert client.get(URL, {"agency": org.lao.pk}).status_code == 200
    client.force_login(org.officer)  # an officer oversees nothing
    page = client.get(URL)
    assert page.status_code == 403 and "ไม่มีสิทธิ์ดูรายงานตัวชี้วัด" in page.content.decode()
    assert "รายงานตัวชี้วัด</a>" not in client.get(reverse("web:dashboard")).content.decode()
    client.force_login(governor)
    assert "รายงานตัวชี้วัด</a>" in client.get(reverse("web:dashboard")).content.decode()
    for bad in ({"from": "2026-99-01"}, {"fiscal_year": 2569, "quarter": 9},
                {"from": "2026-03-01", "to": "2026-01-01"}):
        response = client.get(URL, bad)
        assert response.status_code == 400 and 'role="alert"' in response.content.decode()


def test_the_page_costs_the_same_queries_for_few_or_many_letters(client, org, governor,
                                                                 lao_clerk,
                                                                 django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(governor)
    params = {"fiscal_year": 2569, "hosted": "1"}
    tallies.fold_dirty()
    with CaptureQueriesContext(connection) as few:
        client.get(URL, params)
    for day in range(1, 8):
        _send(org.lao_registry, lao_clerk, dt.datetime(2026, 3, day, 9, 0, tzinfo=BANGKOK),
              "saraban", "post")
    # Before the worker has counted the new letters: their days are counted live, once for
    # the whole page, in a fixed number of queries more.
    with CaptureQueriesContext(connection) as pending:
        client.get(URL, params)
    assert len(few) < len(pending) <= len(few) + 12
    tallies.fold_dirty()  # what the worker does every few seconds
    with CaptureQueriesContext(connection) as many:
        client.get(URL, params)
    assert len(many) == len(few)


def test_an_lao_hosted_elsewhere_shows_by_its_report_without_links(client, org, governor):
    """The province's view over its LAOs counts a report received from an LAO on another
    node: in the totals and as a row of its own, marked, with nothing to open on this node."""
    from saraban.reports.indicators import Scope, electronic_share
    from saraban.reports.periods import fiscal_year
    from saraban.reports.tests.test_remote import arrived, remote_entry, report_figures

    remote_entry("lao-far", "อบต.ไกลออกไป")
    arrived("lao-far", org.province, dt.date(2025, 10, 1),
            report_figures((10, 7, 8), (5, 3), (8, 6)))
    total, rows = electronic_share(Scope(org.province, hosted=True), fiscal_year(2569),
                                   by="agency")
    far = next(r for r in rows if r.key == "remote:lao-far")
    assert (far.total, far.part, total.total) == (10, 7, sum(r.total for r in rows))
    client.force_login(governor)
    page = client.get(URL, {"fiscal_year": 2569, "hosted": "1"}).content.decode()
    table = page[page.index('id="ranking"'):]
    row = table[table.index("อบต.ไกลออกไป"):]
    row = row[:row.index("</tr>")]
    assert "รายงานจากระบบอื่น" in row and "<a " not in row


def test_a_view_of_many_agencies_shows_the_best_and_the_worst_and_the_unconnected(
        client, org, governor):
    """Past forty agencies the page ranks the twenty best and the twenty worst (the export has
    every one) and lists the agencies not connected yet."""
    from saraban.agencies.models import AgencyKind
    from saraban.agencies.services import agency_create
    from saraban.letters.registries import registry_open

    for n in range(42):
        lao = agency_create(kind=AgencyKind.SAO, name_th=f"อบต.ลำดับ {n:02d}",
                            parent=org.province, is_tenant=True)
        lao.refresh_from_db()
        registry_open(unit=lao, is_central=True)
    client.force_login(governor)
    page = client.get(URL, {"fiscal_year": 2569, "hosted": "1"}).content.decode()
    table = page[page.index('id="ranking"'):page.index('id="timings"')]
    assert table.count("<tr>") == 1 + 40  # the head and forty agencies
    assert 'id="ranking-cut"' in table and "by=agency" in table
    linked = page[page.index('id="connections"'):]
    linked = linked[:linked.index("</table>")]
    assert "report-connected" not in linked and linked.count("report-offline") == 40
