"""GET /api/v1/search: access rule in results and counts, filters, pages, highlights, errors."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from saraban.agencies.actors import resolve_actor
from saraban.letters.models import Letter, Secrecy, Urgency
from saraban.letters.services import LetterDetails, letter_register_incoming
from saraban.search.index import index_dirty

from .conftest import API

URL = f"{API}/search"


def receive(org, subject: str, **kw) -> Letter:
    kw.setdefault("sender_text", "กรมการปกครอง")
    details = LetterDetails(kind="external", subject=subject, **kw)
    return letter_register_incoming(
        actor=resolve_actor(org.clerk), registry=org.central, details=details
    ).letter


@pytest.fixture
def letters(org):
    made = {
        "meeting": receive(org, "ขอเชิญประชุมคณะทำงานด้านสารบรรณ", number="มท 0210.3/ว 1795",
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


def _ids(body) -> set[int]:
    return {r["id"] for r in body["results"]}


def test_search_needs_a_token(api, org):
    response = api.get(URL, {"q": "ประชุม"})
    assert (response.status_code, response.json()["code"]) == (401, "unauthenticated")


def test_results_have_the_documented_fields_and_highlights(api, org, letters):
    body = api.get(URL, {"q": "มท 0210.3/ว1795"}, headers=api.as_user("clerk")).json()
    assert (body["total"], body["more"], body["page"], body["pages"]) == (1, False, 1, 1)
    [hit] = body["results"]
    letter = letters["meeting"]
    assert hit == {
        **hit,
        "id": letter.pk, "number": "มท 0210.3/ว 1795", "subject": letter.subject,
        "kind": "external", "urgency": 0, "secrecy": 0, "direction": "incoming",
        "letter_date": "2026-10-02", "sender": "กรมการปกครอง",
        "url": f"{API}/letters/{letter.pk}", "web_url": f"/letters/{letter.pk}/",
    }
    assert hit["registered_at"]
    body = api.get(URL, {"q": "ประชุม"}, headers=api.as_user("clerk")).json()
    by_id = {r["id"]: r for r in body["results"]}
    assert "<mark>ประชุม</mark>" in by_id[letter.pk]["subject_html"]
    assert "<mark>ประชุม</mark>" in by_id[letter.pk]["snippet_html"]


def test_the_letter_url_answers_for_the_same_person(api, org, letters):
    headers = api.as_user("clerk")
    [hit] = api.get(URL, {"q": "เชียงใหม่"}, headers=headers).json()["results"]
    assert api.get(hit["url"], headers=headers).json()["id"] == hit["id"]


def test_secret_letters_are_neither_returned_nor_counted_without_the_right(
    api, org, letters
):
    secret = letters["secret"].pk
    body = api.get(URL, {"q": "ประชุม"}, headers=api.as_user("director")).json()
    assert secret in _ids(body) and body["total"] == 2
    body = api.get(URL, {"q": "สอบสวน"}, headers=api.as_user("officer")).json()
    assert (body["total"], body["results"]) == (0, [])
    # Nor is it counted among the words the person may find elsewhere.
    body = api.get(URL, {"q": "ประชุม"}, headers=api.as_user("officer")).json()
    assert secret not in _ids(body) and body["total"] == len(body["results"])


def test_filters(api, org, letters):
    headers = api.as_user("clerk")

    def found(**params) -> set[int]:
        response = api.get(URL, params, headers=headers)
        assert response.status_code == 200, response.content
        return _ids(response.json())

    everything = {letter.pk for letter in letters.values()}
    governor, meeting = letters["governor"].pk, letters["meeting"].pk
    assert found() == everything
    assert found(year=2568) == {governor}
    assert found(urgency=2) == {governor}
    assert found(date_from="2026-10-01", date_to="2026-10-31") == {meeting}
    assert found(kind="external", direction="incoming", status="active") == everything
    assert found(direction="outgoing") == set()
    assert found(registry=org.central.pk) == everything
    assert found(registry=org.ict_registry.pk) == set()
    assert found(unit=org.central.unit_id) == everything
    assert found(q="ประชุม", order="relevance") == {meeting, letters["secret"].pk}


def test_empty_query_lists_the_newest_first_in_pages(api, org, letters):
    headers = api.as_user("clerk")
    newest = [letters[n].pk for n in ("secret", "governor", "meeting")]
    page1 = api.get(URL, {"page_size": 2}, headers=headers).json()
    assert (page1["total"], page1["pages"]) == (3, 2)
    assert [r["id"] for r in page1["results"]] == newest[:2]
    page2 = api.get(URL, {"page_size": 2, "page": 2}, headers=headers).json()
    assert [r["id"] for r in page2["results"]] == newest[2:]
    past = api.get(URL, {"page_size": 2, "page": 9}, headers=headers).json()
    assert (past["total"], past["results"]) == (3, [])


@pytest.mark.parametrize(("params", "status", "code", "field"), [
    ({"q": "ก" * 501}, 400, "query_too_long", "q"),
    ({"order": "random"}, 400, "bad_order", "order"),
    ({"year": 1999}, 400, "bad_filter", "year"),
    ({"kind": "novel"}, 400, "bad_filter", "kind"),
    ({"urgency": 9}, 400, "bad_filter", "urgency"),
    ({"status": "lost"}, 400, "bad_filter", "status"),
    ({"direction": "sideways"}, 400, "bad_filter", "direction"),
    ({"date_from": "2026-10-02", "date_to": "2026-10-01"}, 400, "bad_filter", "date_to"),
    ({"registry": 999_999}, 400, "bad_filter", "registry"),
    ({"unit": 999_999}, 400, "bad_filter", "unit"),
    ({"year": "abc"}, 422, "invalid_request", "year"),
    ({"date_from": "32/13/2569"}, 422, "invalid_request", "date_from"),
    ({"page_size": 101}, 422, "invalid_request", "page_size"),
    ({"page": 0}, 422, "invalid_request", "page"),
])
def test_bad_input_gets_a_stable_code(api, org, letters, params, status, code, field):
    response = api.get(URL, params, headers=api.as_user("clerk"))
    body = response.json()
    assert (response.status_code, body["code"], body.get("field")) == (status, code, field)
    assert body["message"]


def test_registry_and_unit_of_another_tenant_are_refused(api, org, letters):
    headers = api.as_user("clerk")
    for params in ({"registry": org.lao_registry.pk}, {"unit": org.lao.pk}):
        body = api.get(URL, params, headers=headers).json()
        assert body["code"] == "bad_filter"


def test_search_is_in_the_openapi_document(api, db):
    doc = json.loads(api.get(f"{API}/openapi.json").content)
    operation = doc["paths"][URL]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"q", "year", "registry", "kind", "urgency", "unit", "status", "direction",
            "date_from", "date_to", "order", "page", "page_size"} <= names
    assert "SearchOut" in doc["components"]["schemas"]


def test_search_costs_the_same_queries_for_few_or_many_results(api, org):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = api.as_user("clerk")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(URL, {"q": "ประกาศ"}, headers=headers).status_code == 200
        return len(ctx.captured_queries)

    for i in range(2):
        receive(org, f"ประกาศรับสมัครฉบับที่ {i}")
    index_dirty()
    few = count()
    for i in range(15):
        receive(org, f"ประกาศรับสมัครเพิ่มฉบับที่ {i}", sender_agency=org.province)
    index_dirty()
    assert count() == few
