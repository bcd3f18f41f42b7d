"""Fuzzing ``/exchange/v1/messages``: hostile bodies never get a 5xx, and a refusal stores nothing.

Two kinds of messages, drawn by Hypothesis: garbage (any bytes, any JSON), and envelopes
validly signed by an agency in the directory whose fields hold hostile values (wrong types,
NaN, NUL, huge numbers, deep nesting, long text). Every answer is JSON with a stable code;
a refusal leaves the inbox, the files and the audit trail of stored messages as they were.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saraban.exchange.errors import PERMANENT_CODES
from saraban.exchange.tests.test_receive_security import (
    URL,
    envelope_for,
    message,
    remote_agency,
    snapshot,
)

CODES = PERMANENT_CODES | {"envelope_too_large"}
FUZZ = settings(max_examples=150, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))

# JSON values a hostile node may put anywhere: odd types, edge numbers, odd text.
text = st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["", " ", "\x00", "a\x00b", "ก" * 600, "1e999", "NaN", "2026-02-30", "../../etc/passwd"])
scalars = (st.none() | st.booleans() | text
           | st.integers(min_value=-(2**70), max_value=2**70)
           | st.sampled_from([0, -1, 3, 4, 2**63, -(2**63) - 1, 10**30, 1.5, -0.0]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(text, inner, max_size=4), max_leaves=12)
DEEP: Any = json.loads("[" * 20 + "]" * 20)
hostile = values | st.sampled_from([float("nan"), float("inf"), DEEP])

LETTER_FIELDS = ["kind", "subkind", "urgency", "secrecy", "number", "letter_date", "subject",
                 "salutation", "body", "sender_name", "recipient_name", "references",
                 "enclosures", "is_circular", "extra"]
FILE_FIELDS = ["name", "role", "sha256", "size", "content_type"]
ENVELOPE_FIELDS = ["v", "type", "id", "to", "sent_at", "letter", "files", "receipt"]


@st.composite
def signed_hostile(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """Which field was changed, and a validly signed message with hostile values in it."""
    envelope, contents = envelope_for("fuzz-dept")
    where = draw(st.sampled_from(["letter", "file", "envelope"]))
    changes = draw(st.dictionaries(
        st.sampled_from({"letter": LETTER_FIELDS, "file": FILE_FIELDS,
                         "envelope": ENVELOPE_FIELDS}[where]),
        hostile, min_size=1, max_size=3))
    target = {"letter": envelope["letter"], "file": envelope["files"][0],
              "envelope": envelope}[where]
    target.update(changes)
    return where, {"envelope": envelope, "contents": contents}


def post(client, body: bytes):
    return client.post(URL, data=body, content_type="application/json")


def dumps(data: object) -> bytes:
    return json.dumps(data, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")


def check_answer(response, before: tuple[Any, ...]) -> None:
    assert response.status_code < 500, response.content
    body = response.json()
    if response.status_code in (200, 201):
        assert set(body) == {"receipt", "signature"}
        return
    assert response.status_code in (400, 413), response.content
    assert body["code"] in CODES, body
    assert isinstance(body["message"], str) and body["message"]
    assert snapshot() == before, "a refused message must store nothing"


def test_garbage_never_gets_a_server_error(client, org):
    remote_agency("fuzz-dept")

    @FUZZ
    @given(body=st.binary(max_size=200) | values.map(dumps)
           | values.map(lambda v: dumps({"envelope": v, "signature": "AAAA", "files": {}})))
    def run(body: bytes) -> None:
        before = snapshot()
        check_answer(post(client, body), before)

    run()


def test_signed_hostile_envelopes_are_refused_with_a_code_and_store_nothing(client, org):
    remote = remote_agency("fuzz-dept")
    from saraban.exchange import crypto

    @FUZZ
    @given(drawn=signed_hostile())
    def run(drawn: tuple[str, dict[str, Any]]) -> None:
        _where, parts = drawn
        envelope = parts["envelope"]
        try:
            signature = crypto.sign(remote.key_pem, envelope)
        except (UnicodeEncodeError, ValueError):
            signature = "AAAA"  # text a canonical form cannot even encode: sent unsigned
        data = {"envelope": envelope, "signature": signature,
                "files": message(remote.key_pem, envelope, parts["contents"])["files"]}
        before = snapshot()
        response = post(client, dumps(data))
        check_answer(response, before)
        if response.status_code == 201:
            # Whatever was accepted holds only storable, finite values.
            stored = json.dumps(envelope, allow_nan=False)
            assert "\\u0000" not in stored
            assert not any(isinstance(v, float) and not math.isfinite(v)
                           for v in envelope["letter"].values())

    run()
