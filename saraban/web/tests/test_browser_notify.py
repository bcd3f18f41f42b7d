"""In a real browser, under the strict CSP: the bell and the read receipts update by
themselves (htmx polling, no inline script), and "รับทราบแล้ว" swaps the receipt table.

Skipped only when Chromium is missing and ``CI`` is not set; in CI it must run.
"""

from __future__ import annotations

import os

import pytest
from django.urls import reverse

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
def test_bell_and_receipts_update_without_reloading(
    live_server, settings, browser_page  # noqa: F811
):
    from django.db import connections

    from saraban.agencies.actors import resolve_actor
    from saraban.agencies.sample import build_sample_org
    from saraban.letters.services import LetterDetails, letter_register_incoming
    from saraban.routing.models import CircularRecipient, NotificationKind
    from saraban.routing.notify import notify
    from saraban.routing.services import circular_acknowledge, circular_distribute

    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SARABAN_BELL_POLL_SECONDS = 1
    settings.SARABAN_RECEIPTS_POLL_SECONDS = 1
    org = build_sample_org(password="saraban-demo")
    letter = letter_register_incoming(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject="แจ้งเวียนแนวปฏิบัติ",
                              sender_text="กรมการปกครอง"),
    ).letter
    circular_distribute(actor=resolve_actor(org.clerk), letter=letter,
                        people=[org.officer, org.director])
    page = browser_page
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    base = live_server.url
    try:
        login(page, base, "officer")
        page.goto(base + reverse("web:letter_detail", args=[letter.pk]))
        bell = page.locator("#notification-bell .bell-count")
        assert bell.get_attribute("data-unread") == "1"  # the circular itself
        notify(people=[org.officer], kind=NotificationKind.ASSIGNED, letter=letter,
               text="ได้รับมอบหมาย: แจ้งเวียนแนวปฏิบัติ")
        page.wait_for_selector('#notification-bell [data-unread="2"]')  # no reload
        # The director acknowledges elsewhere; the officer's table shows it by itself.
        circular_acknowledge(actor=resolve_actor(org.director),
                             recipient=CircularRecipient.objects.get(person=org.director))
        page.wait_for_selector('#circular-receipts[hx-get] [data-acknowledged="1"]')
        page.get_by_role("button", name="รับทราบแล้ว").click()
        page.wait_for_selector("#circular-receipts .circular-done")
        assert CircularRecipient.objects.filter(acknowledged_at__isnull=True).count() == 0
        assert not [e for e in errors if "Content Security Policy" in e], errors
    finally:
        connections.close_all()
