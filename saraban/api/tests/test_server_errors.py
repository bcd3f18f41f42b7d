"""Inputs that once gave server errors: each now gets its 4xx with a stable code.

Found by fuzzing the API (schemathesis) and by hand: NUL characters and lone surrogates that
PostgreSQL cannot hold (even at the login, without a token), page numbers past bigint, JSON
nested thousands deep, and multipart bodies that do not parse.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from saraban.letters.models import Blob, Letter

from .conftest import API, assert_error_shape
from .test_letters import incoming_data

HUGE = "99999999999999999999"  # past bigint


def assert_code(response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    assert_error_shape(body)
    assert body["code"] == code, body
    return body


# ---- NUL characters and lone surrogates ------------------------------------------------------


@pytest.mark.parametrize("username", ["clerk\x00", "\ud800clerk"])
def test_unstorable_text_at_the_login_is_refused_without_a_token(api, org, username):
    body = json.dumps({"username": username, "password": "x"})
    response = api.post(f"{API}/auth/token", body, content_type="application/json")
    assert_code(response, 400, "invalid_character")


def test_nul_in_a_query_is_refused(api, org):
    headers = api.as_user("clerk")
    response = api.get(f"{API}/search", {"q": "ประชุม\x00"}, headers=headers)
    assert assert_code(response, 400, "invalid_character")["field"] == "q"


def test_nul_in_a_path_is_refused(api, org):
    headers = api.as_user("clerk")
    response = api.get(f"{API}/registries/{org.central.pk}/series/in%00coming/entries",
                       headers=headers)
    assert_code(response, 400, "invalid_character")


def test_nul_in_a_json_body_is_refused(api, org):
    headers = api.as_user("director")
    letter = api.register("incoming", incoming_data(org), api.as_user("clerk")).json()["letter"]
    for text in ("ทราบ\x00", "ทราบ\udfff"):
        response = api.post(f"{API}/letters/{letter['id']}/endorse",
                            json.dumps({"text": text}), content_type="application/json",
                            headers=headers)
        assert_code(response, 400, "invalid_character")


def test_an_escaped_backslash_u0000_is_plain_text(api, org):
    """``"\\\\u0000"`` is the six characters, not NUL: accepted."""
    headers = api.as_user("director")
    letter = api.register("incoming", incoming_data(org), api.as_user("clerk")).json()["letter"]
    response = api.post(f"{API}/letters/{letter['id']}/endorse",
                        '{"text": "ดู \\\\u0000"}', content_type="application/json",
                        headers=headers)
    assert response.status_code == 201, response.content
    assert response.json()["text"] == "ดู \\u0000"


def test_nul_in_a_registration_is_refused_and_nothing_stored(api, org, pdf_bytes):
    headers = api.as_user("clerk")
    response = api.register("incoming", incoming_data(org, subject="ขอเชิญ\x00ประชุม"), headers,
                            file=SimpleUploadedFile("scan.pdf", pdf_bytes))
    assert_code(response, 400, "invalid_character")
    assert Letter.objects.count() == 0
    assert Blob.objects.count() == 0


def test_a_forged_session_cookie_with_nul_is_ignored(api, org):
    api.cookies["sessionid"] = "abc\x00def"
    response = api.get(f"{API}/registries", headers=api.as_user("clerk"))
    assert response.status_code == 200


# ---- page numbers -----------------------------------------------------------------------


PAGED = ["/desk", "/search", "/exchange/inbox", "/registries/{registry}/series/incoming/entries"]


def test_pages_out_of_range_are_refused(api, org):
    headers = api.as_user("clerk")
    for path in PAGED:
        for page in [HUGE, "100001", "0", "-1"]:
            url = API + path.format(registry=org.central.pk)
            response = api.get(url, {"page": page}, headers=headers)
            body = assert_code(response, 422, "invalid_request")
            assert body["field"] == "page"


def test_the_last_allowed_page_is_answered(api, org):
    headers = api.as_user("clerk")
    for path in ["/desk", "/search", "/exchange/inbox"]:
        response = api.get(API + path, {"page": "100000"}, headers=headers)
        assert response.status_code == 200, response.content
        assert response.json()["page"] >= 1


def test_filters_past_bigint_are_refused(api, org):
    headers = api.as_user("clerk")
    for param in ["registry", "unit", "year", "urgency"]:
        response = api.get(f"{API}/search", {param: HUGE}, headers=headers)
        assert response.status_code in {400, 422}, response.content
        assert_error_shape(response.json())


def test_ids_past_bigint_are_not_found(api, org):
    headers = api.as_user("clerk")
    for url in (f"{API}/letters/{HUGE}", f"{API}/letters/{HUGE}/timeline",
                f"{API}/letters/{HUGE}/files/{HUGE}"):
        response = api.get(url, headers=headers)
        assert response.status_code in {404, 422}, (url, response.content)


# ---- bodies that do not parse ---------------------------------------------------------------


def test_deeply_nested_json_is_refused(api, org):
    headers = api.as_user("director")
    body = '{"text": ' + "[" * 5000 + "]" * 5000 + "}"
    response = api.post(f"{API}/letters/1/endorse", body, content_type="application/json",
                        headers=headers)
    assert response.status_code in {400, 404, 422}, response.content
    assert_error_shape(response.json())


def test_a_body_that_is_not_json_is_refused(api, org):
    response = api.post(f"{API}/auth/token", b"\x00", content_type="application/json")
    assert_code(response, 400, "invalid_character")
    response = api.post(f"{API}/auth/token", b"{", content_type="application/json")
    assert_code(response, 400, "bad_request")


def test_a_broken_multipart_body_is_refused(api, org):
    headers = api.as_user("clerk")
    response = api.post(
        f"{API}/letters/incoming", b"--x\r\nContent-Disposition: form-data\r\n\r\nbroken",
        content_type="multipart/form-data; boundary=x", headers=headers,
    )
    assert 400 <= response.status_code < 500, response.content
    assert_error_shape(response.json())


def test_ids_past_bigint_in_a_registration_are_refused(api, org):
    """Found by bench/fuzz_api.py: ``Python int too large to convert to SQLite INTEGER``."""
    headers = api.as_user("clerk")
    for extra in ({"sender_agency_id": int(HUGE)}, {"registry_id": int(HUGE)},
                  {"secret_reader_ids": [int(HUGE)]}, {"references": [int(HUGE)]},
                  {"position_id": 2**63}):
        response = api.register("incoming", incoming_data(org, **extra), headers)
        assert_code(response, 422, "invalid_request")
    assert Letter.objects.count() == 0
