"""A real browser drafts, approves and signs a letter (the issue's Done-when).

``officer`` drafts a หนังสือภายนอก to Chiang Mai province, watches the live PDF preview follow
the typing, and sends it up to ``director`` as the signer; ``director`` opens it from
"awaiting me" and signs it with the PKCS#12 passphrase; the letter page shows its number.
Then, outside the browser, the signed main file validates with pyHanko and with poppler's
``pdfsig``; one byte changed inside the signed range, or an unsigned incremental update, makes
both report it; and the province has its dispatch, queued in the exchange outbox.

Skipped only when Chromium is missing and ``CI`` is not set; in CI it must run. Without
``pdfsig`` the independent check is skipped with the reason (failed when ``CI=true``).
"""

from __future__ import annotations

import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from .test_browser import CHROMIUM, browser_page  # noqa: F401 (fixture)
from .test_browser_routing import login, logout

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Chromium not installed at /usr/bin/chromium (apt-get install chromium); "
        "required when CI is set",
    ),
]

SUBJECT = "ขอความร่วมมือทดสอบระบบสารบรรณอิเล็กทรอนิกส์"


def run_pdfsig(tmp_path: Path, pdf: bytes, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    # -nocert: the test CA is not in poppler's NSS database; pyHanko checks the chain.
    result = subprocess.run(["pdfsig", "-nocert", str(path)], capture_output=True, text=True,
                            timeout=60, check=False)
    return result.stdout + result.stderr


def _frame_src(page) -> str:
    return (page.get_attribute("#preview-pdf", "src") or "").split("#")[0]


@pytest.mark.django_db(transaction=True)
def test_officer_drafts_director_signs_and_the_signed_pdf_holds(
    live_server, settings, browser_page, pki, tmp_path  # noqa: F811
):
    from saraban.agencies.sample import build_sample_org
    from saraban.documents.models import Draft, DraftState
    from saraban.exchange.models import OutboxMessage
    from saraban.letters.files import read_blob
    from saraban.letters.models import Channel, FileRole
    from saraban.signatures.fixtures import need_tool
    from saraban.signatures.pades import Verdict, verify_pdf
    from saraban.signatures.testing import (
        TEST_PASSPHRASE,
        append_unsigned_update,
        flip_signed_byte,
        make_identity,
        pdfsig_available,
    )

    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SARABAN_TSA_URL = ""  # B-B: the signature itself is what is checked here
    org = build_sample_org(password="saraban-demo")
    make_identity(org.director, org.ministry, pki)
    page = browser_page
    base = live_server.url
    blocked: list[str] = []
    page.on("console", lambda msg: blocked.append(msg.text)
            if "Content Security Policy" in msg.text else None)

    # --- officer: compose, preview, save, send up ---------------------------------------
    login(page, base, "officer")
    page.click("#nav-drafts")
    page.click("#new-draft")
    page.wait_for_selector("#preview-pdf")  # the first preview comes on load
    first = _frame_src(page)
    page.select_option("#id_form", "external")
    page.fill("#id_subject", SUBJECT)
    page.locator("#id_subject").press_sequentially(" 2569")  # keyup → preview after 800 ms
    page.fill("#id_salutation", "ผู้ว่าราชการจังหวัดเชียงใหม่")
    page.fill("#id_body", "ด้วยศูนย์เทคโนโลยีสารสนเทศและการสื่อสารได้พัฒนาระบบ\n\n"
                          "จึงเรียนมาเพื่อโปรดพิจารณาให้ความร่วมมือ")
    page.select_option("#id_rcpt-0-agency", str(org.province.pk))
    page.wait_for_function(
        "([old]) => { const f = document.getElementById('preview-pdf');"
        " return f && f.getAttribute('src').split('#')[0] !== old; }", arg=[first])
    preview = page.request.get(base + _frame_src(page))
    assert preview.headers["content-type"] == "application/pdf"
    assert preview.body().startswith(b"%PDF")
    assert not Draft.objects.exists()  # previews save nothing
    page.click("#save-draft")
    page.wait_for_selector(".message-success")
    draft = Draft.objects.get()
    assert draft.subject == f"{SUBJECT} 2569"
    assert draft.recipients[0]["agency"] == org.province.pk

    page.click("#submit-draft")
    page.select_option("#id_signer", str(org.director.pk))  # no reviewers
    page.click("#send-up")
    page.wait_for_selector(".message-success")
    assert "อยู่ระหว่างเสนอ" in page.inner_text(".page-header")
    logout(page)

    # --- director: from "awaiting me", sign with the passphrase -------------------------
    login(page, base, "director")
    assert page.inner_text("#nav-drafts .badge").strip() == "1"
    page.click("#nav-drafts")
    awaiting = page.locator("#awaiting-me tr.draft-row", has_text=SUBJECT)
    assert "รอลงนาม" in awaiting.inner_text()
    awaiting.get_by_role("link").click()
    page.wait_for_selector("#approve")
    page.fill("#id_secret", TEST_PASSPHRASE)
    page.click("#sign-draft")
    page.wait_for_selector(".message-success", timeout=60_000)

    draft.refresh_from_db()
    assert draft.state == DraftState.SIGNED
    letter = draft.letter
    assert letter is not None and letter.number
    assert f"ลงนามแล้ว หนังสือเลขที่ {letter.number}" in page.inner_text(".messages")
    assert letter.number in page.inner_text("dl.details")
    assert page.url.endswith(reverse("web:letter_detail", args=[letter.pk]))
    assert blocked == []  # nothing refused by the CSP along the way

    # --- the signed PDF: pyHanko -------------------------------------------------------
    main = letter.files.get(role=FileRole.MAIN, replaced_at__isnull=True)
    signed = read_blob(main.blob)
    byte_changed = flip_signed_byte(signed)
    appended = append_unsigned_update(signed, what="page")

    def verify(pdf: bytes) -> Verdict:
        # pyHanko validates with asyncio.run(); Playwright's sync API keeps an event loop
        # running in this thread, so validate in another one (as a web request would be).
        # That thread opens its own database connection: close it there, when done.
        def in_thread() -> Verdict:
            try:
                return verify_pdf(pdf, tenant=org.ministry)
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(in_thread).result()

    verdict = verify(signed)
    assert verdict.status == "valid", verdict.label_th
    assert "สมชาย" in verdict.signatures[0].signer_name
    assert verify(byte_changed).status in ("invalid", "modified")
    assert verify(appended).status == "modified"

    # --- dispatched: the province is reachable through the exchange ---------------------
    [dispatch] = letter.dispatches.all()
    assert (dispatch.recipient_agency, dispatch.channel) == (org.province, Channel.SARABAN)
    assert OutboxMessage.objects.filter(letter=letter, dispatch=dispatch).exists()

    # --- the signed PDF: poppler's pdfsig, an independent validator ---------------------
    need_tool(pdfsig_available(), "poppler's pdfsig (poppler-utils)")
    good = run_pdfsig(tmp_path, signed, "signed")
    assert "Signature Validation: Signature is Valid." in good
    assert "Total document signed" in good and "Not total document signed" not in good
    assert "Signature Validation: Digest Mismatch." in run_pdfsig(tmp_path, byte_changed, "byte")
    assert "Not total document signed" in run_pdfsig(tmp_path, appended, "appended")
    assert re.search(r"Signer Certificate Common Name: .*สมชาย", good)
