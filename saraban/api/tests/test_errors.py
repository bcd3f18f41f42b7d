"""Every error the API gives has a stable ``code`` and a Thai ``message``.

The ``api`` fixture checks this after every test in this package; this test walks through
one of each kind of error on purpose, so the rule is also shown in one place.
"""

from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from .conftest import API, assert_error_shape
from .test_letters import incoming_data


def test_every_error_response_has_code_and_message(api, org):
    clerk = api.as_user("clerk")
    officer = api.as_user("officer")
    bad = [
        api.post(f"{API}/auth/token", {"username": "clerk", "password": "x"},
                 content_type="application/json"),
        api.post(f"{API}/auth/token", "not json", content_type="application/json"),
        api.post(f"{API}/auth/token", {}, content_type="application/json"),
        api.get(f"{API}/registries"),
        api.get(f"{API}/registries", headers={"authorization": "Bearer srb_wrong"}),
        api.get(f"{API}/letters/424242", headers=clerk),
        api.get(f"{API}/letters/not-a-number", headers=clerk),
        api.register("incoming", incoming_data(org, sender_agency_id=123456), clerk),
        api.register("incoming", incoming_data(org, registry_id=123456), clerk),
        api.register("incoming", incoming_data(org, kind="nope"), clerk),
        api.register("incoming", incoming_data(org, unexpected=1), clerk),
        api.register("incoming", incoming_data(org), officer),
        api.register("incoming", incoming_data(org), clerk,
                     file=SimpleUploadedFile("x.pdf", b"GIF89a")),
        api.post(f"{API}/letters/incoming", {}, headers=clerk),
        api.get(f"{API}/registries/{org.central.pk}/series/x/entries", headers=clerk),
        api.get(f"{API}/registries/{org.central.pk}/series/incoming/entries",
                {"page": 0}, headers=clerk),
    ]
    assert all(r.status_code >= 400 for r in bad), [r.status_code for r in bad]
    for response in bad:
        assert response["Content-Type"].startswith("application/json")
        assert_error_shape(response.json())
    codes = {r.json()["code"] for r in bad}
    assert {"invalid_credentials", "unauthenticated", "letter_not_found", "unknown_agency",
            "unknown_registry", "bad_kind", "invalid_request", "registry_forbidden",
            "file_type_not_allowed", "bad_series"} <= codes


def test_messages_are_thai(api, org):
    response = Client().get(f"{API}/registries")
    message = json.loads(response.content)["message"]
    assert any("\u0e00" <= ch <= "\u0e7f" for ch in message)
