"""A real browser (Debian's Chromium through Playwright) registers an incoming letter.

The issue's Done-when: log in as ``clerk``, register an incoming letter with a PDF, see it in
the incoming register with its receipt number, and open it.

Skipped only when Chromium is missing and ``CI`` is not set; in CI it must run.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from django.urls import reverse

# Playwright's sync API runs an event loop in this thread; the ORM calls made here (fixtures)
# are plain synchronous ones, so Django's async-safety guard would be a false alarm.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Chromium not installed at /usr/bin/chromium (apt-get install chromium); "
        "required when CI is set",
    ),
]


def tiny_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(locale="th-TH")
            page = context.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


@pytest.mark.django_db(transaction=True)
def test_clerk_registers_an_incoming_letter_with_a_pdf_and_opens_it(
    live_server, settings, browser_page
):
    from saraban.agencies.sample import build_sample_org

    # The live server speaks plain HTTP.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    org = build_sample_org(password="saraban-demo")
    page = browser_page
    base = live_server.url

    # Log in through the login page.
    page.goto(base + reverse("web:login"))
    page.fill("#id_username", "clerk")
    page.fill("#id_password", "saraban-demo")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/login/).*$"))

    # Open ลงทะเบียนรับ from the menu and fill the form.
    page.get_by_role("link", name="ลงทะเบียนรับ", exact=True).click()
    page.wait_for_selector("#id_subject")
    subject = "ขอเชิญประชุมคณะทำงานพัฒนาระบบสารบรรณ"
    page.select_option("#id_kind", "external")
    page.select_option("#id_urgency", "1")
    page.fill("#id_number", "กษ 0201/777")
    page.fill("#id_letter_date", "20/11/2569")
    page.fill("#id_sender_text", "กระทรวงเกษตรและสหกรณ์")
    page.fill("#id_subject", subject)
    page.fill("#id_salutation", "ปลัดกระทรวงมหาดไทย")
    page.set_input_files(
        "#id_main_file",
        files=[{"name": "scan.pdf", "mimeType": "application/pdf", "buffer": tiny_pdf()}],
    )
    page.click("#register-form button[type=submit]")

    # The letter page, with the flash giving the receipt number.
    page.wait_for_selector(".message-success")
    assert "ลงทะเบียนรับเลขที่ 1" in page.inner_text(".messages")

    # The incoming register lists it with its receipt number.
    page.goto(base + reverse("web:registers"))
    page.click(f"a[href='{reverse('web:register_list', args=[org.central.pk, 'incoming'])}']")
    row = page.locator("table.table tbody tr", has_text=subject)
    row.wait_for()
    assert row.locator("td.num").inner_text().strip() == "1"

    # Open it: the letter page shows the subject and the receipt stamp.
    row.get_by_role("link", name=subject).click()
    page.wait_for_selector(".stamp")
    assert subject in page.inner_text("h1")
    stamp = page.inner_text(".stamp")
    assert "เลขรับ 1" in stamp
    assert org.central.name_th in stamp


@pytest.mark.django_db(transaction=True)
def test_clerk_issues_a_circular_to_several_recipients(live_server, settings, browser_page):
    from saraban.agencies.sample import build_sample_org
    from saraban.letters.models import Dispatch, Letter

    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    org = build_sample_org(password="saraban-demo")
    page = browser_page
    page.goto(live_server.url + reverse("web:login"))
    page.fill("#id_username", "clerk")
    page.fill("#id_password", "saraban-demo")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/login/).*$"))

    page.goto(live_server.url + reverse("web:register_outgoing"))
    page.select_option("#id_series_kind", "circular")
    # Subkinds of another kind are hidden; the secret readers only show for a secret letter.
    assert not page.is_visible("#row-subkind")
    assert not page.is_visible("#row-secret_readers")
    page.fill("#id_subject", "แจ้งแนวทางการใช้ระบบสารบรรณอิเล็กทรอนิกส์")
    page.select_option("#id_rcpt-0-agency", str(org.province.pk))
    for _ in range(2):
        page.click("#add-recipient")
    assert page.locator("tr.recipient-row").count() == 5
    assert not page.is_visible("#id_rcpt-4-address")
    page.fill("#id_rcpt-4-text", "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด")
    page.select_option("#id_rcpt-4-channel", "email")
    assert page.is_visible("#id_rcpt-4-address")
    page.fill("#id_rcpt-4-address", "lao@example.go.th")
    page.click("#register-form button[type=submit]")

    page.wait_for_selector(".message-success")
    assert "ที่ มท 0200/ว 1" in page.inner_text(".messages")
    assert Letter.objects.get().number == "มท 0200/ว 1"
    assert [(d.channel, d.address) for d in Dispatch.objects.order_by("pk")] == [
        ("saraban", ""), ("email", "lao@example.go.th"),
    ]
