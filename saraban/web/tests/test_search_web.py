"""The search page: results through the access rule, filters, pages, highlights, bad input."""

from __future__ import annotations

import datetime as dt
import os
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from saraban.agencies.actors import resolve_actor
from saraban.letters.models import Letter, Secrecy, Urgency
from saraban.letters.services import LetterDetails, letter_register_incoming
from saraban.search.index import index_dirty
from saraban.search.models import SearchEntry

pytestmark = pytest.mark.django_db

URL = "/search/"


def receive(org, subject: str, **kw) -> Letter:
    kw.setdefault("sender_text", "กรมการปกครอง")
    details = LetterDetails(kind="external", subject=subject, **kw)
    return letter_register_incoming(
        actor=resolve_actor(org.clerk), registry=org.central, details=details
    ).letter


@pytest.fixture
def letters(org):
    made = {
        "meeting": receive(org, "ขอเชิญประชุมคณะทำงานด้านสารบรรณ", number="มท 0210.3/1796",
                           letter_date=dt.date(2026, 10, 2),
                           body="ขอเชิญประชุมในวันที่ 15 ธันวาคม ณ ห้องประชุมชั้น 2"),
        "governor": receive(org, "ผู้ว่าราชการจังหวัดเชียงใหม่ขอความร่วมมือ",
                            number="ชม 0017.1/4410", sender_text="จังหวัดเชียงใหม่",
                            letter_date=dt.date(2025, 12, 1), urgency=Urgency.VERY_URGENT),
        "secret": receive(org, "การประชุมลับเรื่องการสอบสวน", secrecy=Secrecy.SECRET,
                          secret_readers=[org.director]),
    }
    index_dirty()
    return made


def get(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200
    return response, response.content.decode()


def test_search_page_needs_sign_in(client, org):
    response = client.get(URL, {"q": "ประชุม"})
    assert response.status_code == 302
    assert reverse("web:login") in response["Location"]


def test_header_has_the_search_box(client, org):
    client.force_login(org.officer)
    page = client.get(reverse("web:dashboard")).content.decode()
    assert 'placeholder="ค้นหาหนังสือ เลขที่ เรื่อง ผู้ส่ง …"' in page
    assert f'action="{URL}"' in page


def test_results_are_highlighted_and_link_to_the_letter(client, org, letters):
    client.force_login(org.clerk)
    _, page = get(client, q="ประชุม")
    assert "พบ 2 รายการ" in page  # the clerk registered the secret one: a reader
    assert "<mark>ประชุม</mark>" in page
    assert reverse("web:letter_detail", args=[letters["meeting"].pk]) in page
    assert "มท 0210.3/1796" in page
    assert "กรมการปกครอง" in page
    assert "2 ต.ค. 2569" in page  # the letter's date, in พ.ศ.
    assert "ห้อง<mark>ประชุม</mark>" in page or "<mark>ประชุม</mark>ในวันที่" in page


def _hits(response) -> set[int]:
    return {h.letter.pk for h in response.context["results"].hits}


def test_a_secret_letter_is_neither_listed_nor_counted_without_the_right(
    client, org, letters
):
    hidden = receive(org, "ประชุมลับที่สุดเฉพาะสารบรรณ", secrecy=Secrecy.TOP_SECRET)
    index_dirty()
    # The director may read the first secret letter (a named reader), not the other one.
    client.force_login(org.director)
    response, page = get(client, q="ประชุม")
    assert _hits(response) == {letters["meeting"].pk, letters["secret"].pk}
    assert "พบ 2 รายการ" in page and "เฉพาะสารบรรณ" not in page
    # The officer's unit holds none of them: nothing listed, nothing counted.
    client.force_login(org.officer)
    response, page = get(client, q="ประชุม")
    assert _hits(response) == set() and "พบ 0 รายการ" in page
    client.force_login(org.clerk)
    response, page = get(client, q="ประชุม")
    assert hidden.pk in _hits(response) and "พบ 3 รายการ" in page


def test_urgent_letters_carry_a_red_badge(client, org, letters):
    client.force_login(org.clerk)
    _, page = get(client, q="เชียงใหม่")
    assert 'class="badge urgency-2">ด่วนมาก<' in page
    _, page = get(client, q="คณะทำงาน")
    assert "badge urgency-" not in page


def test_number_typed_another_way_is_found(client, org, letters):
    client.force_login(org.clerk)
    response, _ = get(client, q="๐๐๑๗.๑/๔๔๑๐")
    assert [h.letter.pk for h in response.context["results"].hits] == [letters["governor"].pk]


def test_filters_narrow_the_results(client, org, letters):
    client.force_login(org.clerk)

    def found(**params) -> set[int]:
        response, _ = get(client, **params)
        return {h.letter.pk for h in response.context["results"].hits}

    everything = {letter.pk for letter in letters.values()}
    assert found() == everything
    assert found(year="2568") == {letters["governor"].pk}
    assert found(year="๒๕๖๘") == {letters["governor"].pk}
    assert found(urgency=str(Urgency.VERY_URGENT)) == {letters["governor"].pk}
    assert found(date_from="1/10/2569", date_to="31/10/2569") == {letters["meeting"].pk}
    assert found(date_from="2026-10-01") == {letters["meeting"].pk}
    assert found(kind="external", direction="incoming") == everything
    assert found(direction="outgoing") == set()
    assert found(registry=str(org.central.pk)) == everything
    assert found(registry=str(org.ict_registry.pk)) == set()
    assert found(unit=str(org.central.unit_id)) == everything
    assert found(status="active") == everything
    assert found(status="done") == set()


def test_filter_choices_are_the_persons_own(client, org, letters):
    client.force_login(org.clerk)
    response, page = get(client)
    form = response.context["form"]
    assert str(org.central.pk) in dict(form.fields["registry"].choices)
    assert str(org.lao_registry.pk) not in dict(form.fields["registry"].choices)
    assert str(org.lao.pk) not in dict(form.fields["unit"].choices)
    assert {2568, 2569} <= set(form.years)
    assert "ใหม่ล่าสุด" in page and "ตรงที่สุด" in page


@pytest.mark.parametrize("params", [
    {"year": "abc"}, {"year": "1999999"}, {"urgency": "9"}, {"kind": "novel"},
    {"status": "lost"}, {"direction": "sideways"}, {"order": "random"},
    {"date_from": "32/13/2569"}, {"date_from": "2/10/2569", "date_to": "1/10/2569"},
    {"q": "ก" * 501},
])
def test_bad_filter_values_get_a_thai_message(client, org, letters, params):
    client.force_login(org.clerk)
    response, page = get(client, **params)
    assert response.context["results"] is None
    assert 'class="field-error"' in page
    assert "Traceback" not in page


def test_registry_and_unit_of_another_agency_are_refused(client, org, letters):
    client.force_login(org.clerk)
    for params in ({"registry": str(org.lao_registry.pk)}, {"unit": str(org.lao.pk)},
                   {"registry": "x"}):
        response, page = get(client, **params)
        assert response.context["results"] is None
        assert "ค่าที่เลือกไม่ถูกต้อง" in page


def test_empty_query_lists_the_newest_letters(client, org, letters):
    client.force_login(org.clerk)
    response, page = get(client)
    hits = [h.letter.pk for h in response.context["results"].hits]
    assert hits == [letters["secret"].pk, letters["governor"].pk, letters["meeting"].pk]
    assert "หนังสือล่าสุด" in page


def test_pages_keep_the_filters(client, org):
    for i in range(25):
        receive(org, f"รายงานผลการดำเนินงานฉบับที่ {i + 1}")
    index_dirty()
    client.force_login(org.clerk)
    response, page = get(client, q="รายงาน", kind="external")
    assert "พบ 25 รายการ" in page and "หน้า 1 จาก 2" in page
    assert f"q={quote('รายงาน')}&amp;kind=external&amp;page=2" in page
    first = {h.letter.pk for h in response.context["results"].hits}
    response, page = get(client, q="รายงาน", kind="external", page="2")
    second = {h.letter.pk for h in response.context["results"].hits}
    assert len(first) == 20 and len(second) == 5 and not first & second
    # A page past the end shows the last page; a page that is not a number, the first.
    response, _ = get(client, q="รายงาน", page="99")
    assert response.context["results"].page == 2
    response, _ = get(client, q="รายงาน", page="x")
    assert response.context["results"].page == 1


def test_more_than_the_count_limit_is_said_so(client, org, settings, monkeypatch):
    from saraban.search import query
    from saraban.web.views import search as view

    monkeypatch.setattr(query, "COUNTED", 3)
    monkeypatch.setattr(view, "PAGE_SIZE", 2)
    for i in range(5):
        receive(org, f"แจ้งเวียนฉบับที่ {i + 1}")
    index_dirty()
    client.force_login(org.clerk)
    response, page = get(client, q="แจ้งเวียน")
    assert response.context["results"].more
    assert response.context["results"].total == 3 and "พบมากกว่า 3 รายการ" in page
    assert "หน้า 1</span>" in page  # no "of N": the last page is not known yet
    response, page = get(client, q="แจ้งเวียน", page="3")  # counted as far as page 3
    assert not response.context["results"].more
    assert "พบ 5 รายการ" in page and "หน้า 3 จาก 3" in page


def test_htmx_request_gets_only_the_results(client, org, letters):
    client.force_login(org.clerk)
    response = client.get(URL, {"q": "ประชุม"}, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert "<mark>ประชุม</mark>" in page
    assert "<html" not in page and 'class="search-form"' not in page


def test_search_page_costs_the_same_queries_for_few_or_many_results(client, org):
    client.force_login(org.clerk)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            get(client, q="ประกาศ")
        return len(ctx.captured_queries)

    for i in range(2):
        receive(org, f"ประกาศรับสมัครฉบับที่ {i}")
    index_dirty()
    few = count()
    for i in range(15):
        receive(org, f"ประกาศรับสมัครเพิ่มฉบับที่ {i}")
    index_dirty()
    assert SearchEntry.objects.count() == 17
    assert count() == few


# ---- in a real browser ---------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_search_from_the_top_bar_and_filter_in_place_in_a_browser(live_server, settings):
    """Chromium: the top-bar box opens the results; a filter swaps them in (htmx) and the
    address keeps the filters; nothing breaks the content security policy."""
    import re

    from playwright.sync_api import expect, sync_playwright

    from saraban.agencies.sample import build_sample_org

    from .test_browser import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists() and not os.environ.get("CI"):
        pytest.skip("Chromium not installed at /usr/bin/chromium")
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    org = build_sample_org(password="saraban-demo")
    receive(org, "ขอเชิญประชุมคณะทำงานด้านสารบรรณ")
    receive(org, "ขอเชิญประชุมด่วนเรื่องงบประมาณ", urgency=Urgency.MOST_URGENT)
    index_dirty()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                    headless=True)
        try:
            page = browser.new_context(locale="th-TH").new_page()
            page.set_default_timeout(15_000)
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(live_server.url + reverse("web:login"))
            page.fill("#id_username", "clerk")
            page.fill("#id_password", "saraban-demo")
            page.click("button[type=submit]")
            page.wait_for_url(re.compile(r"^(?!.*/login/).*$"))

            page.fill(".topsearch input[name=q]", "ประชุม")
            page.press(".topsearch input[name=q]", "Enter")
            page.wait_for_selector(".search-hit")
            assert "พบ 2 รายการ" in page.inner_text(".search-count")
            assert page.locator(".search-hit mark").count() >= 2

            page.select_option("#id_urgency", "3")
            page.click(".search-box button[type=submit]")
            expect(page.locator(".search-hit")).to_have_count(1)
            assert "urgency=3" in page.url
            assert "งบประมาณ" in page.inner_text(".search-results")
            assert page.locator(".search-hit .badge.urgency-3").count() == 1
            assert not [e for e in errors if "Content Security Policy" in e], errors
        finally:
            browser.close()
