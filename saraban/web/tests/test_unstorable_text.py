"""Web pages answer NUL characters and absurd page numbers with a 4xx page, never a 500.

NUL characters reached PostgreSQL from forms and queries (even the login form); page numbers
past bigint reached it as offsets. Each is now answered before it gets there.
"""

from __future__ import annotations

import pytest

HUGE = "99999999999999999999"  # past bigint


@pytest.fixture
def clerk_client(client, org):
    client.force_login(org.clerk)
    return client


def test_nul_at_the_login_form_gets_a_thai_page(client, org):
    response = client.post("/login/", {"username": "clerk\x00", "password": "x"})
    assert response.status_code == 400
    text = response.content.decode()
    assert "อักขระ" in text and "invalid_character" in text


NUL_URLS = [
    "/search/?q=%E0%B8%9B%00",
    "/routing/desk/?page=1%00",
    "/verify/ab%00cd/",
    "/registers/1/in%00coming/",
]


def test_nul_in_a_query_or_path_is_refused(clerk_client):
    for url in NUL_URLS:
        response = clerk_client.get(url)
        assert response.status_code == 400, url
        assert "อักขระ" in response.content.decode()


PAGED_URLS = [
    "/search/?page=" + HUGE,
    "/search/?q=%E0%B8%9B%E0%B8%A3%E0%B8%B0%E0%B8%8A%E0%B8%B8%E0%B8%A1&page=" + HUGE,
    "/routing/desk/?page=" + HUGE,
    "/routing/unit/?page=" + HUGE,
    "/routing/sent/?page=" + HUGE,
    "/drafts/?page=" + HUGE,
    "/evidence/?page=" + HUGE,
    "/exchange/inbox/?page=" + HUGE,
    "/notifications/?page=" + HUGE,
    "/circulars/?page=" + HUGE,
    "/registers/{registry}/incoming/?page=" + HUGE,
]


def test_pages_past_bigint_are_answered(clerk_client, org):
    for url in PAGED_URLS:
        response = clerk_client.get(url.format(registry=org.central.pk))
        assert response.status_code < 500, url
