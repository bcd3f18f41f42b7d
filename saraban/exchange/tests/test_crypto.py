"""Canonical JSON, signatures and certificates, and keys kept encrypted."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from saraban.exchange import crypto
from saraban.exchange.models import AgencyCredential

THAI = st.text(alphabet=st.characters(min_codepoint=0x0E01, max_codepoint=0x0E5B), max_size=20)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | THAI | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(THAI | st.text(max_size=5),
                                                                inner, max_size=4),
    max_leaves=12,
)


def test_canonical_json_is_sorted_compact_utf8_and_keeps_thai_as_is():
    value = {"subject": "ขอเชิญประชุม", "a": [1, {"z": None, "ข": True}]}
    expected = '{"a":[1,{"z":null,"ข":true}],"subject":"ขอเชิญประชุม"}'.encode()
    assert crypto.canonical(value) == expected
    reordered = {"a": [1, {"ข": True, "z": None}], "subject": "ขอเชิญประชุม"}
    assert crypto.canonical(reordered) == expected
    assert crypto.digest(value) == crypto.digest(reordered)
    # A fixed digest: another implementation must produce these very bytes.
    assert crypto.digest({"ชื่อ": "จังหวัดเชียงใหม่", "v": 1}) == (
        hashlib.sha256('{"v":1,"ชื่อ":"จังหวัดเชียงใหม่"}'.encode()).hexdigest()
    )


@settings(max_examples=60, deadline=None)
@given(JSON)
def test_canonical_json_survives_a_trip_over_the_wire(value):
    wire = json.dumps(value, ensure_ascii=True, indent=2)  # any encoding the other node uses
    assert crypto.canonical(json.loads(wire)) == crypto.canonical(value)


@pytest.fixture(scope="module")
def pair():
    key = crypto.new_key()
    cert = crypto.certificate_for(key, code="chiangmai", name="Chiang Mai Province")
    return crypto.key_to_pem(key), crypto.certificate_pem(cert)


@settings(max_examples=20, deadline=None)
@given(JSON)
def test_a_signature_verifies_with_the_signers_certificate(pair, value):
    key_pem, cert_pem = pair
    assert crypto.verify(cert_pem, value, crypto.sign(key_pem, value))


def test_a_signature_does_not_verify_after_tampering_or_with_another_certificate(pair):
    key_pem, cert_pem = pair
    envelope = {"id": "1", "letter": {"subject": "ขอเชิญประชุม"}}
    signature = crypto.sign(key_pem, envelope)
    assert not crypto.verify(cert_pem, {"id": "1", "letter": {"subject": "ขอเชิญประชุม!"}},
                             signature)
    other = crypto.certificate_pem(crypto.certificate_for(crypto.new_key(), code="x", name="x"))
    assert not crypto.verify(other, envelope, signature)
    assert not crypto.verify(cert_pem, envelope, "AAAA")
    assert not crypto.verify(cert_pem, envelope, "not base64!")
    assert not crypto.verify("not a certificate", envelope, signature)


def test_a_signature_does_not_verify_outside_the_certificates_validity():
    key = crypto.new_key()
    with time_machine.travel(dt.datetime(2024, 1, 1, tzinfo=dt.UTC), tick=False):
        cert = crypto.certificate_pem(crypto.certificate_for(key, code="old", name="Old",
                                                             days=30))
        signature = crypto.sign(crypto.key_to_pem(key), {"a": 1})
        assert crypto.verify(cert, {"a": 1}, signature)
    assert not crypto.verify(cert, {"a": 1}, signature), "expired"
    with time_machine.travel(dt.datetime(2020, 1, 1, tzinfo=dt.UTC), tick=False):
        assert not crypto.verify(cert, {"a": 1}, signature), "not yet valid"


def test_a_ca_issued_certificate_names_its_issuer_and_the_agency_code():
    ca_key = crypto.new_key()
    ca = crypto.certificate_for(ca_key, code="th-gov-ca", name="Test CA")
    key = crypto.new_key()
    pem = crypto.certificate_pem(crypto.certificate_for(key, code="moi", name="MOI",
                                                        issuer_key=ca_key, issuer=ca))
    assert crypto.certificate_code(pem) == "moi"
    assert crypto.load_certificate(pem).issuer == ca.subject
    assert crypto.verify(pem, {"a": "ก"}, crypto.sign(crypto.key_to_pem(key), {"a": "ก"}))


def test_private_keys_are_stored_sealed(org):
    for credential in AgencyCredential.objects.all():
        stored = credential.private_key_pem
        assert stored.startswith("kek1.test1.") and "PRIVATE KEY" not in stored
        assert crypto.load_key(stored) is not None
    assert AgencyCredential.objects.count() == 3


def test_keys_follow_the_nodes_key_encryption_key(settings):
    from saraban.core.keys import KeyUnavailable, generate_key

    settings.SARABAN_KEY_ENCRYPTION_KEYS = generate_key("one")
    stored = crypto.key_to_pem(crypto.new_key())
    settings.SARABAN_KEY_ENCRYPTION_KEYS = generate_key("two")
    with pytest.raises(KeyUnavailable):
        crypto.load_key.__wrapped__(stored)
    settings.SARABAN_KEY_ENCRYPTION_KEYS = generate_key("one")  # same id, another key
    with pytest.raises(KeyUnavailable):
        crypto.load_key.__wrapped__(stored)
