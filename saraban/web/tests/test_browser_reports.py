"""In a real browser, under the strict CSP: a province's director opens the indicators from
the menu, sees the share and the chart, takes in the LAOs below, drills down to one and
downloads the figures as XLSX.

Skipped only when Chromium is missing and ``CI`` is not set; in CI it must run.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

import pytest

from .test_browser import CHROMIUM, browser_page  # noqa: F401 (fixture)
from .test_browser_routing import login

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Chromium not installed at /usr/bin/chromium (apt-get install chromium); "
        "required when CI is set",
    ),
]


@pytest.mark.django_db(transaction=True)
def test_a_director_reads_the_share_drills_down_to_an_lao_and_exports(
    live_server, settings, browser_page  # noqa: F811
):
    import openpyxl
    import time_machine
    from django.db import connections

    from saraban.agencies.actors import resolve_actor
    from saraban.agencies.models import Role, RoleGrant
    from saraban.agencies.sample import build_sample_org, make_person
    from saraban.core.thai import BANGKOK
    from saraban.letters.services import (
        LetterDetails,
        Recipient,
        Upload,
        letter_register_outgoing,
    )
    from saraban.letters.tests.test_register import tiny_pdf

    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    org = build_sample_org(password="saraban-demo")
    governor = make_person("governor", "ผู้ว่า ราชการ", agency=org.province,
                           password="saraban-demo")
    RoleGrant.objects.create(person=governor, unit=org.province, role=Role.EXECUTIVE)
    clerk = make_person("lao-clerk", "เสมียน เทศบาล", agency=org.lao, password=None)
    RoleGrant.objects.create(person=clerk, unit=org.lao, role=Role.REGISTRY_CLERK)
    for day, channel in ((3, "saraban"), (4, "saraban"), (5, "post")):
        with time_machine.travel(dt.datetime(2026, 3, day, 10, 0, tzinfo=BANGKOK), tick=False):
            letter_register_outgoing(
                actor=resolve_actor(clerk), registry=org.lao_registry,
                details=LetterDetails(kind="external", subject="รายงานผลการดำเนินงาน"),
                recipients=[Recipient(channel=channel, agency=org.province)
                            if channel == "saraban" else
                            Recipient(channel="post", text="ห้างหุ้นส่วน ทดสอบ")],
                main_file=Upload("letter.pdf", tiny_pdf()))
    from saraban.letters.services import letter_register_incoming

    province_clerk = make_person("province-clerk", "เสมียน จังหวัด", agency=org.province,
                                 password=None)
    RoleGrant.objects.create(person=province_clerk, unit=org.province,
                             role=Role.REGISTRY_CLERK)
    with time_machine.travel(dt.datetime(2026, 3, 3, 11, 0, tzinfo=BANGKOK), tick=False):
        letter_register_incoming(
            actor=resolve_actor(province_clerk), registry=org.province_registry,
            details=LetterDetails(kind="external", subject="ขอรับการสนับสนุน",
                                  sender_text="อบต.บ้านใหม่", number="ชม 7001/55"))
    page = browser_page
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    base = live_server.url
    try:
        login(page, base, "governor")
        page.get_by_role("link", name="รายงานตัวชี้วัด").click()
        page.wait_for_selector("#share-sent")
        page.select_option("#report-fy", "2569")
        page.check("input[name=hosted]")
        page.get_by_role("button", name="แสดง").click()
        page.wait_for_selector("text=และหน่วยงานในสังกัด")
        assert page.locator("#share-sent .stat").inner_text() == "67%"  # 2 of 3
        assert page.locator("#trend svg rect").count() > 0
        page.locator("#ranking").get_by_role("link", name="เทศบาลนครเชียงใหม่").click()
        page.wait_for_selector("text=รายงานตัวชี้วัด: เทศบาลนครเชียงใหม่")
        assert page.locator("#share-sent .stat").inner_text() == "67%"
        with page.expect_download() as info:
            page.get_by_role("link", name="ดาวน์โหลด Excel (XLSX)").click()
        assert info.value.suggested_filename.endswith(".xlsx")
        book = openpyxl.load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
        rows = list(book["electronic_share"].iter_rows(min_row=4, values_only=True))
        assert rows[-1][:3] == ("รวม", 3, 2)
        assert "ปีงบประมาณ 2569" in book["electronic_share"]["A2"].value
        # the province's incoming register of one day, as the official form in PDF
        page.goto(base + f"/registers/{org.province_registry.pk}/incoming/")
        page.fill("#pdf-from", "2026-03-03")
        page.fill("#pdf-to", "2026-03-03")
        action = page.locator("form.register-pdf").get_attribute("action")
        pdf = page.request.get(base + f"{action}?from=2026-03-03&to=2026-03-03")
        assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
        assert not [e for e in errors if "Content Security Policy" in e], errors
    finally:
        connections.close_all()
