"""A real browser (Debian's Chromium through Playwright): the clerk issues a certificate, and
a member of the public opens the address in its QR code and checks two copies of it.

The issue's Done-when: "The public verification page accepts the genuine certificate and
rejects a modified one." Skipped only when Chromium is missing and ``CI`` is not set.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from django.urls import reverse

from saraban.letters.files import read_blob
from saraban.signatures.testing import flip_signed_byte
from saraban.web.tests.test_browser import CHROMIUM, CHROMIUM_ARGS

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Chromium not installed at /usr/bin/chromium (apt-get install chromium); "
        "required when CI is set",
    ),
]

GREEN = "rgb(232, 245, 236)"  # --green-bg
RED = "rgb(253, 236, 236)"  # --red-bg


@pytest.fixture
def browser() -> Any:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.mark.django_db(transaction=True)
def test_public_page_from_the_qr_code_accepts_the_genuine_pdf_and_rejects_a_modified_one(
    live_server: Any, settings: Any, browser: Any, pki: Any, tmp_path: Any
) -> None:
    from saraban.agencies.sample import build_sample_org
    from saraban.evidence.models import IssuedDocument
    from saraban.signatures.testing import make_seal

    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SARABAN_PUBLIC_URL = live_server.url
    org = build_sample_org(password="saraban-demo")
    make_seal(org.ministry, pki)

    # The clerk signs in and issues a certificate from the menu.
    staff = browser.new_context(locale="th-TH")
    page = staff.new_page()
    page.set_default_timeout(20_000)
    page.goto(live_server.url + reverse("web:login"))
    page.fill("#id_username", "clerk")
    page.fill("#id_password", "saraban-demo")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/login/).*$"))
    page.get_by_role("link", name="หนังสือรับรอง/ใบอนุญาต", exact=True).click()
    page.get_by_role("link", name="ออกหนังสือรับรอง/ใบอนุญาต").click()
    page.select_option("#id_kind", "certificate")
    page.fill("#id_holder", "นายวิชัย ทำงาน")
    page.fill("#id_title", "รับรองการเป็นข้าราชการ")
    page.fill("#id_body", "เป็นข้าราชการพลเรือนสามัญ สังกัดสำนักงานปลัดกระทรวงมหาดไทย")
    page.fill("#id_valid_until", "31/12/2599")
    page.click("#issue-form button[type=submit]")
    page.wait_for_selector(".message-success")
    assert "มท 0200/1" in page.inner_text(".messages")
    doc = IssuedDocument.objects.get()
    # What the QR code holds (decoding the image is not needed: the URL is computed).
    qr_url = page.get_attribute("#verify-url", "href")
    assert qr_url == f"{live_server.url}/verify/{doc.token}/"
    staff.close()

    genuine = tmp_path / "certificate.pdf"
    genuine.write_bytes(read_blob(doc.blob))
    modified = tmp_path / "certificate-modified.pdf"
    modified.write_bytes(flip_signed_byte(genuine.read_bytes()))

    # Someone with no account opens the address in a fresh browser.
    public = browser.new_context(locale="th-TH")
    page = public.new_page()
    page.set_default_timeout(20_000)
    page.goto(qr_url)
    assert "มท 0200/1" in page.inner_text("h1")
    assert page.inner_text("#holder") == "นายวิชัย ทำงาน"
    assert "ยังใช้ได้" in page.inner_text("#validity")

    page.set_input_files("#id_file", str(genuine))
    page.click("#copy-form button[type=submit]")
    result = page.locator("#copy-result")
    result.wait_for()
    assert result.locator(".copy-verdict").inner_text() == "ตรงกับต้นฉบับ"
    assert result.evaluate("e => getComputedStyle(e).backgroundColor") == GREEN
    assert "ถูกต้อง" in page.inner_text("#signature-verdict")

    page.set_input_files("#id_file", str(modified))
    page.click("#copy-form button[type=submit]")
    page.wait_for_selector("#copy-result.copy-mismatch")
    result = page.locator("#copy-result")
    assert result.locator(".copy-verdict").inner_text() == "ไม่ตรงกับต้นฉบับที่ออกโดยระบบ"
    assert result.evaluate("e => getComputedStyle(e).backgroundColor") == RED
    assert public.cookies() == []
    public.close()
