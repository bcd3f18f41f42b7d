"""Hostile bodies at ``/exchange/v1/messages``: each refused with a stable code, nothing stored.

Found by fuzzing: deeply nested JSON, NaN and Infinity, NUL characters and lone surrogates
(which PostgreSQL's jsonb cannot hold), and validly signed envelopes whose fields have the
wrong types (``"references": 5`` was stored and then could never be registered).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from saraban.exchange import crypto
from saraban.exchange.inbox import exchange_inbox_register
from saraban.exchange.models import InboxMessage
from saraban.exchange.tests.test_receive_security import (
    URL,
    assert_refused,
    envelope_for,
    message,
    post,
    remote_agency,
    snapshot,
)


@pytest.fixture
def remote(org):
    return remote_agency()


def signed_with(remote, change) -> dict[str, Any]:
    """A validly signed message whose envelope ``change(envelope)`` altered before signing."""
    envelope, contents = envelope_for(remote.code)
    change(envelope)
    return message(remote.key_pem, envelope, contents)


def raw_post(client, body: bytes, **extra: Any):
    return client.post(URL, data=body, content_type="application/json", **extra)


def assert_raw_refused(client, body: bytes, code: str = "malformed_envelope") -> None:
    before = snapshot()
    response = raw_post(client, body)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert snapshot() == before


# ---- the JSON itself ----------------------------------------------------------------------


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deeply_nested_json_is_refused(client, org, opener):
    closer = "]" if opener == "[" else "}"
    assert_raw_refused(client, (opener * 2000 + "1" + closer * 2000).encode())


def test_nesting_just_deep_enough_for_nothing_useful_is_refused(client, org, remote):
    data = signed_with(remote, lambda e: e["letter"].update(
        enclosures=json.loads("[" * 40 + "]" * 40)))
    assert_refused(client, org, data, "malformed_envelope", audited=False)


def test_nan_and_infinity_are_refused_unsigned(client, org):
    for constant in ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"]:
        body = '{"envelope": {"v": ' + constant + '}, "signature": "x"}'
        assert_raw_refused(client, body.encode())


def test_nan_and_infinity_inside_a_signed_envelope_are_refused(client, org, remote):
    for value in [float("nan"), float("inf"), float("-inf")]:
        data = signed_with(remote, lambda e, v=value: e["letter"].update(urgency=v))
        body = json.dumps(data).encode()  # json writes NaN/Infinity, as a hostile node would
        before = snapshot()
        response = raw_post(client, body)
        assert response.status_code == 400
        assert response.json()["code"] == "malformed_envelope"
        assert snapshot() == before


def test_duplicate_keys_are_refused(client, org, remote):
    data = signed_with(remote, lambda e: None)
    body = json.dumps(data)
    body = body.replace('"signature":', '"signature": "AAAA", "signature":', 1)
    assert_raw_refused(client, body.encode())


def test_a_body_that_is_not_utf8_json_is_refused(client, org):
    assert_raw_refused(client, b"\xff\xfe\x00garbage")
    assert_raw_refused(client, b"")


def test_a_content_length_that_is_not_a_number_is_refused(client, org):
    response = client.post(URL, data=b"{}", content_type="application/json",
                           headers={"content-length": "abc"})
    assert response.status_code == 400
    assert response.json()["code"] in {"malformed_envelope", "bad_content_length"}


# ---- characters the database cannot hold ---------------------------------------------------


@pytest.mark.parametrize("where", ["subject", "key", "file name", "signature", "from"])
def test_nul_characters_are_refused(client, org, remote, where):
    def change(e: dict[str, Any]) -> None:
        if where == "subject":
            e["letter"]["subject"] = "ขอเชิญ\x00ประชุม"
        elif where == "key":
            e["letter"]["x\x00"] = "1"
        elif where == "file name":
            e["files"][0]["name"] = "a\x00.pdf"
        elif where == "from":
            e["from"] = remote.code + "\x00"

    data = signed_with(remote, change)
    if where == "signature":
        data["signature"] = data["signature"][:-2] + "\x00="
    assert_refused(client, org, data, "malformed_envelope", audited=False)


def test_a_lone_surrogate_is_refused(client, org, remote):
    data = signed_with(remote, lambda e: None)
    body = json.dumps(data, ensure_ascii=False).replace("ขอเชิญประชุม", "\\ud800", 1).encode()
    assert b"\\ud800" in body
    assert_raw_refused(client, body)


# ---- fields of a signed envelope with the wrong type or value -------------------------------

BAD_LETTER_FIELDS: list[tuple[str, Any]] = [
    ("references", 5),
    ("references", [1, 2]),
    ("references", ["x" * 501]),
    ("enclosures", "one"),
    ("enclosures", [None]),
    ("urgency", "1"),
    ("urgency", True),
    ("urgency", 9),
    ("urgency", 1.5),
    ("secrecy", -1),
    ("subject", 5),
    ("subject", "   "),
    ("subject", "ก" * 501),
    ("number", 5),
    ("number", "x" * 129),
    ("letter_date", "yesterday"),
    ("letter_date", 20261120),
    ("is_circular", "yes"),
    ("kind", "poem"),
    ("kind", 1),
    ("subkind", "order"),
    ("salutation", ["เรียน"]),
    ("body", {"text": "x"}),
    ("sender_name", 7),
]


def test_signed_letter_fields_of_the_wrong_type_are_refused(client, org, remote):
    for field, value in BAD_LETTER_FIELDS:
        data = signed_with(remote, lambda e, f=field, v=value: e["letter"].update({f: v}))
        assert_refused(client, org, data, "malformed_envelope", audited=False)
        body = post(client, data).json()
        assert body["field"].startswith("letter"), (field, value, body)


BAD_FILE_FIELDS: list[tuple[str, Any]] = [
    ("size", "12"),
    ("size", -1),
    ("size", 1.0),
    ("name", 5),
    ("role", "cover"),
    ("sha256", "z" * 64),
    ("content_type", 5),
]


def test_signed_file_fields_of_the_wrong_type_are_refused(client, org, remote):
    for field, value in BAD_FILE_FIELDS:
        data = signed_with(remote, lambda e, f=field, v=value: e["files"][0].update({f: v}))
        assert_refused(client, org, data, "malformed_envelope", audited=False)


def test_signed_envelope_fields_of_the_wrong_type_are_refused(client, org, remote):
    for field, value in [("v", True), ("v", "1"), ("id", 5), ("letter", []), ("files", {}),
                         ("sent_at", 0)]:
        data = signed_with(remote, lambda e, f=field, v=value: e.update({f: v}))
        code = "unsupported_version" if field == "v" else "malformed_envelope"
        assert_refused(client, org, data, code, audited=False)


@pytest.mark.parametrize(("field", "value"), [("number", 5), ("at", "soon"), ("for", 5)])
def test_signed_receipt_fields_of_the_wrong_type_are_refused(client, org, remote, field, value):
    def change(e: dict[str, Any]) -> None:
        e["type"] = "receipt"
        del e["letter"], e["files"]
        e["receipt"] = {"for": "6f1c1c9e-3f57-4a43-9a52-5a0e7c9d3f11", "status": "registered",
                        "number": "12", "at": "2026-11-20T10:00:00+07:00", "reason": ""}
        e["receipt"][field] = value

    envelope, _ = envelope_for(remote.code)
    change(envelope)
    data = {"envelope": envelope, "signature": crypto.sign(remote.key_pem, envelope),
            "files": {}}
    assert_refused(client, org, data, "malformed_envelope", audited=False)


# ---- what is accepted can be registered --------------------------------------------------


def test_every_accepted_letter_can_be_registered(client, org, remote, province_clerk):
    """Fields a node may send in any of their allowed forms: stored, then registered."""
    def full(e: dict[str, Any]) -> None:
        e["letter"].update(references=["มท 0101/1", ""], enclosures=["สำเนา 1 ชุด"],
                           letter_date=None, kind="directive", subkind="order",
                           urgency=3, secrecy=0, future_field={"kept": True})

    data = signed_with(remote, full)
    response = post(client, copy.deepcopy(data))
    assert response.status_code == 201, response.content
    arrived = InboxMessage.objects.get()
    entry = exchange_inbox_register(actor=province_clerk, message=arrived)
    assert entry.letter.kind == "directive"
    assert [r.text for r in entry.letter.references.all()] == ["มท 0101/1"]

