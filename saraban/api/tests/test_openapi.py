from __future__ import annotations

import json

from .conftest import API


def test_openapi_document_is_3_1_and_lists_the_paths(api, db):
    response = api.get(f"{API}/openapi.json")
    assert response.status_code == 200
    doc = json.loads(response.content)
    assert doc["openapi"].startswith("3.1.")
    assert doc["info"] == {**doc["info"], "title": "Saraban API", "version": "1"}
    paths = set(doc["paths"])
    assert {
        "/api/v1/auth/token",
        "/api/v1/letters/incoming",
        "/api/v1/letters/outgoing",
        "/api/v1/letters/{letter_id}",
        "/api/v1/letters/{letter_id}/files/{file_id}",
        "/api/v1/registries",
        "/api/v1/registries/{registry_id}/series/{kind}/entries",
    } <= paths
    incoming = doc["paths"]["/api/v1/letters/incoming"]["post"]
    form = incoming["requestBody"]["content"]["multipart/form-data"]["schema"]
    data = form["properties"]["data"]
    assert data["$ref"] == "#/components/schemas/LetterIn"
    encoding = incoming["requestBody"]["content"]["multipart/form-data"]["encoding"]
    assert encoding["data"]["contentType"] == "application/json"
    outgoing = doc["components"]["schemas"]["OutgoingIn"]
    assert {"series", "recipients", "registry_id"} <= set(outgoing["properties"])
    assert "RecipientIn" in doc["components"]["schemas"]
    assert "ErrorOut" in doc["components"]["schemas"]
    assert doc["components"]["securitySchemes"]["BearerAuth"]["scheme"] == "bearer"
    assert "security" not in doc["paths"]["/api/v1/auth/token"]["post"]


def test_every_operation_declares_the_errors_it_can_answer(client):
    doc = client.get("/api/v1/openapi.json").json()
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            declared = set(operation["responses"])
            assert "400" in declared, (method, path)
            if operation.get("security"):
                assert "401" in declared, (method, path)
            if operation.get("requestBody"):
                assert {"413", "422"} <= declared, (method, path)
            if operation.get("parameters"):
                assert "422" in declared, (method, path)
            assert any(code.startswith("2") for code in declared), (method, path)
