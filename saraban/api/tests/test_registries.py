from __future__ import annotations

from .conftest import API
from .test_letters import incoming_data


def test_registries_list_says_where_one_may_register(api, org):
    body = api.get(f"{API}/registries", headers=api.as_user("clerk")).json()
    by_id = {r["id"]: r for r in body["items"]}
    assert by_id[org.central.pk]["can_register"] is True
    assert "incoming" in by_id[org.central.pk]["series"]
    assert org.province_registry.pk not in by_id

    body = api.get(f"{API}/registries", headers=api.as_user("director")).json()
    assert body["items"]
    assert not any(r["can_register"] for r in body["items"])


def test_register_is_newest_first_and_paginated(api, org):
    headers = api.as_user("clerk")
    for i in range(5):
        api.register("incoming", incoming_data(org, subject=f"เรื่องที่ {i + 1}"), headers)
    url = f"{API}/registries/{org.central.pk}/series/incoming/entries"
    page = api.get(url, {"page": 1, "page_size": 2}, headers=headers).json()
    assert page["total"] == 5
    assert [i["entry"]["number"] for i in page["items"]] == [5, 4]
    page3 = api.get(url, {"page": 3, "page_size": 2}, headers=headers).json()
    assert [i["entry"]["number"] for i in page3["items"]] == [1]
    other_year = api.get(url, {"year": 2500}, headers=headers).json()
    assert (other_year["total"], other_year["year"]) == (0, 2500)


def test_register_rejects_unknown_series_and_bad_paging(api, org):
    headers = api.as_user("clerk")
    url = f"{API}/registries/{org.central.pk}/series/nonsense/entries"
    response = api.get(url, headers=headers)
    assert (response.status_code, response.json()["code"]) == (400, "bad_series")
    url = f"{API}/registries/{org.central.pk}/series/incoming/entries"
    response = api.get(url, {"page_size": 100_000}, headers=headers)
    assert (response.status_code, response.json()["code"]) == (422, "invalid_request")
    response = api.get(f"{API}/registries/999999/series/incoming/entries", headers=headers)
    assert (response.status_code, response.json()["code"]) == (404, "registry_not_found")


def test_register_page_costs_the_same_queries_for_2_or_20_lines(api, org):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = api.as_user("clerk")
    url = f"{API}/registries/{org.central.pk}/series/incoming/entries"

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(url, headers=headers).status_code == 200
        return len(ctx.captured_queries)

    for _ in range(2):
        api.register("incoming", incoming_data(org), headers)
    few = count()
    for _ in range(18):
        api.register("incoming", incoming_data(org), headers)
    assert count() == few
