"""Fixtures for the API tests: a client that checks every error's shape, tokens, a PDF."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.test import Client

API = "/api/v1"


class ApiClient(Client):
    """A test client that records every error answer, so its shape can be checked."""

    def __init__(self) -> None:
        super().__init__()
        self.error_bodies: list[Any] = []

    def request(self, **request: Any) -> Any:
        response = super().request(**request)
        if response.status_code >= 400 and response.get("Content-Type", "").startswith(
            "application/json"
        ):
            self.error_bodies.append(response.json())
        return response

    def token(self, username: str, password: str = "saraban-demo") -> str:
        response = self.post(
            f"{API}/auth/token", {"username": username, "password": password},
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
        return str(response.json()["token"])

    def as_user(self, username: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token(username)}"}

    def register(self, kind: str, data: dict[str, Any], headers: dict[str, str],
                 **files: Any) -> Any:
        return self.post(
            f"{API}/letters/{kind}", {"data": json.dumps(data), **files}, headers=headers
        )


def assert_error_shape(body: Any) -> None:
    assert isinstance(body, dict)
    assert isinstance(body.get("code"), str) and body["code"]
    assert isinstance(body.get("message"), str) and body["message"]
    assert set(body) <= {"code", "message", "field", "details"}


@pytest.fixture
def api():
    """The client; after the test, every error it received must carry a code and a message."""
    client = ApiClient()
    yield client
    for body in client.error_bodies:
        assert_error_shape(body)


@pytest.fixture
def pdf_bytes() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
