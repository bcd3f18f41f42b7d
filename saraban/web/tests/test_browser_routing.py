"""A real browser follows a letter through routing (the issue's Done-when).

``clerk`` registers an urgent incoming letter (and the outgoing reply) through the forms;
``director`` endorses it with a one-click phrase and assigns it to the officer's unit;
``officer`` sees it on "my desk", acknowledges it and closes it with the reply linked; the
timeline shows every step with names, positions and Buddhist-Era times.

Skipped only when Chromium is missing and ``CI`` is not set; in CI it must run.
"""

from __future__ import annotations

import os
import re

import pytest
from django.urls import reverse

from .test_browser import CHROMIUM, browser_page, tiny_pdf  # noqa: F401 (fixture)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Chromium not installed at /usr/bin/chromium (apt-get install chromium); "
        "required when CI is set",
    ),
]


def login(page, base: str, username: str) -> None:
    page.goto(base + reverse("web:login"))
    page.fill("#id_username", username)
    page.fill("#id_password", "saraban-demo")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/login/).*$"))


def logout(page) -> None:
    page.get_by_role("button", name="ออกจากระบบ").click()
    page.wait_for_url(re.compile(r".*/login/.*"))


@pytest.mark.django_db(transaction=True)
def test_urgent_letter_is_endorsed_assigned_acknowledged_and_closed_with_a_reply(
    live_server, settings, browser_page  # noqa: F811
):
    from django.db import connections

    from saraban.agencies.models import Role, RoleGrant
    from saraban.agencies.sample import build_sample_org
    from saraban.core.thai import be_year, today_bangkok
    from saraban.letters.models import Direction, Letter
    from saraban.routing.models import Assignment, AssignmentState

    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    org = build_sample_org(password="saraban-demo")
    # The officer also works on the central office's letters, so the reply registered by the
    # central clerk is among the letters they may link.
    RoleGrant.objects.create(person=org.officer, unit=org.ops, role=Role.OFFICER)
    page = browser_page
    base = live_server.url
    subject = "ขอข้อมูลการใช้ระบบสารบรรณอิเล็กทรอนิกส์ด่วนที่สุด"
    reply_subject = "ส่งข้อมูลการใช้ระบบสารบรรณอิเล็กทรอนิกส์"

    try:
        # clerk: the urgent incoming letter, then the outgoing reply, through the forms.
        login(page, base, "clerk")
        page.get_by_role("link", name="ลงทะเบียนรับ", exact=True).click()
        page.wait_for_selector("#id_subject")
        page.select_option("#id_kind", "external")
        page.select_option("#id_urgency", "3")
        page.fill("#id_number", "มท 0307/123")
        page.fill("#id_letter_date", "20/11/2569")
        page.fill("#id_sender_text", "กรมการปกครอง")
        page.fill("#id_subject", subject)
        page.set_input_files("#id_main_file", files=[
            {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": tiny_pdf()}])
        page.click("#register-form button[type=submit]")
        page.wait_for_selector(".message-success")

        page.goto(base + reverse("web:register_outgoing"))
        page.fill("#id_subject", reply_subject)
        page.select_option("#id_rcpt-0-agency", str(org.province.pk))
        page.click("#register-form button[type=submit]")
        page.wait_for_selector(".message-success")
        logout(page)
        letter = Letter.objects.get(subject=subject)
        reply = Letter.objects.get(subject=reply_subject, direction=Direction.OUTGOING)

        # director: endorse with the phrase "มอบ … ดำเนินการ" and assign to the officer's unit.
        login(page, base, "director")
        page.goto(base + reverse("web:letter_detail", args=[letter.pk]))
        page.select_option("#endorse-form select[name=target_0]", f"u:{org.ict_group.pk}")
        page.select_option("#endorse-form select[name=purpose_0]", "action")
        page.locator("#endorse-form button.phrase", has_text="มอบ … ดำเนินการ").click()
        page.wait_for_selector(".message-success")
        assert f"มอบ {org.ict_group.name_th} ดำเนินการ" in page.inner_text(".endorsements")
        logout(page)

        # officer: my desk, open, acknowledge, close with the reply.
        login(page, base, "officer")
        page.get_by_role("link", name="โต๊ะทำงานของฉัน").click()
        page.get_by_role("link", name=subject).click()
        page.wait_for_selector("#routing")
        assert org.ict_group.name_th in page.inner_text(".holders")
        page.get_by_role("button", name="รับทราบ", exact=True).click()
        page.wait_for_selector(".message-success")
        page.locator("summary", has_text="เรื่องเสร็จ").click()
        page.fill(".close-form textarea[name=outcome]", "ส่งข้อมูลให้กรมการปกครองแล้ว")
        page.select_option(".close-form select[name=reply_letter]", str(reply.pk))
        page.click(".close-form button[type=submit]")
        page.wait_for_selector(".message-success")

        assignment = Assignment.objects.get(letter=letter)
        assert assignment.state == AssignmentState.CLOSED
        assert assignment.reply_letter == reply

        timeline = page.inner_text("ul.history")
        for step in ("ลงทะเบียนรับ", "เกษียนหนังสือ", "มอบหมาย", "รับทราบ", "เรื่องเสร็จ"):
            assert step in timeline
        for name in ("สมศรี รับส่ง", "สมชาย ใจดี", "วิชัย ทำงาน",
                     org.director_post.title_th, org.officer_post.title_th):
            assert name in timeline
        assert str(be_year(today_bangkok())) in timeline
        assert "ส่งข้อมูลให้กรมการปกครองแล้ว" in timeline
        assert "หนังสือตอบ" in page.inner_text("#routing")
    finally:
        connections.close_all()
