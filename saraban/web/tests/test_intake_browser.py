"""The issue's OCR intake test, in a real browser with real OCR.

A letter is rendered in the official external form, scanned as an image turned by two
degrees with noise, and uploaded through ลงทะเบียนรับจากภาพสแกน; while the page polls, the
worker reads it (ocrmypdf, Tesseract tha+eng); the form comes back with its number, date and
subject proposed correctly; the clerk confirms and the letter is registered with the scan.

Needs Chromium and ocrmypdf/tesseract-ocr-tha: skipped without them unless ``CI`` is set.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from saraban.intake.ocr import missing_tools

from .test_browser import CHROMIUM, browser_page  # noqa: F401  (the fixture)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Chromium not installed at /usr/bin/chromium; required when CI is set",
    ),
    pytest.mark.skipif(
        bool(missing_tools()) and not os.environ.get("CI"),
        reason="ocrmypdf/tesseract not installed (make ocr-deps); required when CI is set",
    ),
]


@pytest.mark.django_db(transaction=True)
def test_a_turned_noisy_scan_is_registered_with_its_fields_read_from_the_image(
    live_server, settings, browser_page  # noqa: F811
):
    from saraban.agencies.sample import build_sample_org
    from saraban.documents.samples import sample_form_data
    from saraban.intake.models import ScanIntake
    from saraban.intake.scans import make_scan
    from saraban.letters.models import DerivedFile, FileRole, Letter

    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    build_sample_org(password="saraban-demo")
    subject = "ขอความร่วมมือตอบแบบสำรวจความพึงพอใจของประชาชน"
    data = dataclasses.replace(
        sample_form_data("external"), number="มท 0810.4/2157", date=dt.date(2026, 9, 30),
        thai_digits=False, subject=subject, salutation="ปลัดกระทรวงมหาดไทย",
        agency_name="กรมควบคุมโรค", urgency="ด่วน",
    )
    scan = make_scan("external", data, angle=2.0, noise=0.005, seed=11)

    page = browser_page
    base = live_server.url
    page.goto(base + reverse("web:login"))
    page.fill("#id_username", "clerk")
    page.fill("#id_password", "saraban-demo")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/login/).*$"))

    page.get_by_role("link", name="ลงทะเบียนรับจากภาพสแกน").click()
    page.set_input_files("#id_scan", files=[
        {"name": "scan-0930.png", "mimeType": "image/png", "buffer": scan}])
    page.click("#intake-upload-form button[type=submit]")
    page.wait_for_selector("#intake-status")
    assert "รอคิวอ่านข้อความ" in page.inner_text("#intake-status")

    # The worker reads the scan while the page polls.
    call_command("worker", "--batch", verbosity=0)
    intake = ScanIntake.objects.get()
    assert intake.state == "done", intake.message

    page.wait_for_selector("#id_subject", timeout=20_000)  # the poll reloaded the page
    assert page.input_value("#id_number") == "มท 0810.4/2157"
    assert page.input_value("#id_letter_date") == "30/9/2569"
    assert page.input_value("#id_subject") == subject
    assert page.locator(".ocr-mark[data-field=subject]").inner_text() == "อ่านจากภาพ — โปรดตรวจ"
    assert page.locator("iframe.intake-pdf").count() == 1

    # The clerk checks, types the sender the directory does not have, and registers.
    if not page.input_value("#id_sender_text"):
        page.fill("#id_sender_text", "กรมควบคุมโรค")
    page.click("#register-form button[type=submit]")
    page.wait_for_selector(".message-success")
    assert "ลงทะเบียนรับเลขที่ 1" in page.inner_text(".messages")

    letter = Letter.objects.get()
    assert letter.subject == subject
    assert letter.number == "มท 0810.4/2157"
    assert letter.letter_date == dt.date(2026, 9, 30)
    assert letter.files.get(role=FileRole.MAIN).blob_id == intake.original_id
    assert DerivedFile.objects.filter(purpose="ocr", blob_id=intake.searchable_id).exists()
