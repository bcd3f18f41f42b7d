"""An agency's exchange key on a PKCS#11 token (SoftHSM2): messages and receipts signed on
the token are accepted by the receiver; the PIN is stored sealed and rotates with the rest."""

from __future__ import annotations

import base64
import secrets

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management import call_command
from django.core.management.base import CommandError

from saraban.core import keys
from saraban.core.errors import SarabanError
from saraban.core.rekey import keys_rotate
from saraban.exchange import crypto, keystore
from saraban.exchange.directory import agency_enrol
from saraban.exchange.inbox import exchange_inbox_register
from saraban.exchange.keystore import TokenKey
from saraban.exchange.models import AgencyCredential, CredentialKind, InboxMessage, OutboxMessage
from saraban.exchange.renewal import exchange_renew
from saraban.exchange.worker import drain
from saraban.letters.services import Recipient
from saraban.signatures.testing import SoftHSMToken

from .test_local import send

pytestmark = pytest.mark.django_db


def put_on_token(token: SoftHSMToken, code: str) -> tuple[str, str]:
    """A new P-256 key and its certificate put on the token, as an enrolment tool would (the
    key sensitive, never readable again); returns (key label, certificate PEM)."""
    import pkcs11
    from pkcs11 import Attribute
    from pkcs11.util.ec import decode_ec_private_key
    from pkcs11.util.x509 import decode_x509_certificate

    key = crypto.new_key()
    cert = crypto.certificate_for(key, code=code, name="Token Agency")
    label = f"exchange-{code}-{secrets.token_hex(3)}"
    key_id = secrets.token_bytes(8)
    der = key.private_bytes(serialization.Encoding.DER,
                            serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    with pkcs11.lib(token.module).get_token(token_label=token.label).open(
            rw=True, user_pin=token.pin) as session:
        attrs = decode_ec_private_key(der)
        attrs.update({Attribute.LABEL: label, Attribute.ID: key_id, Attribute.TOKEN: True,
                      Attribute.PRIVATE: True, Attribute.SENSITIVE: True, Attribute.SIGN: True,
                      Attribute.EXTRACTABLE: False})
        session.create_object(attrs)
        cert_attrs = decode_x509_certificate(cert.public_bytes(serialization.Encoding.DER))
        cert_attrs.update({Attribute.LABEL: label, Attribute.ID: key_id, Attribute.TOKEN: True})
        session.create_object(cert_attrs)
    return label, crypto.certificate_pem(cert)


def token_key(token: SoftHSMToken, label: str, pin: str | None = None) -> TokenKey:
    return TokenKey(module=token.module, token_label=token.label, key_label=label,
                    pin=pin or token.pin)


def test_a_letter_signed_on_the_token_is_accepted_and_its_receipts_too(org, softhsm,
                                                                      province_clerk):
    label, pem = put_on_token(softhsm, "moi")
    exchange_renew(agency=org.ministry, token=token_key(softhsm, label))
    credential = AgencyCredential.objects.get(agency=org.ministry)
    assert (credential.kind, credential.private_key_pem) == (CredentialKind.PKCS11, "")
    assert credential.certificate_pem == pem
    assert keys.is_sealed(credential.pkcs11_pin_sealed)
    assert softhsm.pin not in credential.pkcs11_pin_sealed

    # The token answers raw r‖s; what goes out is the DER form every receiver verifies.
    encoded = keystore.sign(credential, {"a": 1})
    signature = base64.b64decode(encoded)
    assert signature[0] == 0x30 and crypto.verify(pem, {"a": 1}, encoded)
    public = crypto.load_certificate(pem).public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(signature, crypto.canonical({"a": 1}), ec.ECDSA(hashes.SHA256()))

    entry = send(org, Recipient(channel="saraban", agency=org.province))
    drain()
    arrived = InboxMessage.objects.get()
    assert crypto.verify(pem, arrived.envelope, arrived.signature)
    exchange_inbox_register(actor=province_clerk, message=arrived)
    drain()  # the business receipt comes back to the ministry, answered on the token
    out = OutboxMessage.objects.get(letter=entry.letter)
    assert out.state == "registered"
    back = OutboxMessage.objects.get(type="receipt")
    assert back.state == "sent" and back.transport_receipt is not None
    assert crypto.verify(pem, back.transport_receipt["receipt"],
                         back.transport_receipt["signature"])


def test_enrol_command_with_a_token_key_and_the_refusals(org, softhsm, monkeypatch):
    label, _pem = put_on_token(softhsm, "chiangmai-city")
    _other_label, other_pem = put_on_token(softhsm, "chiangmai-city")
    before = AgencyCredential.objects.get(agency=org.lao).certificate_pem
    wrong = token_key(softhsm, label, pin="000000")
    with pytest.raises(SarabanError) as info:
        agency_enrol(agency=org.lao, code="chiangmai-city", token=wrong)
    assert info.value.code == "token_pin_wrong"
    with pytest.raises(SarabanError) as info:  # the certificate of another key
        agency_enrol(agency=org.lao, code="chiangmai-city", token=token_key(softhsm, label),
                     certificate_pem=other_pem)
    assert info.value.code == "token_certificate_mismatch"
    with pytest.raises(SarabanError) as info:
        agency_enrol(agency=org.lao, code="chiangmai-city",
                     token=token_key(softhsm, "no-such-key"))
    assert info.value.code == "token_certificate_missing"
    assert AgencyCredential.objects.get(agency=org.lao).certificate_pem == before

    monkeypatch.setenv("SARABAN_TOKEN_PIN", softhsm.pin)
    call_command("exchange", "enrol", "--agency", str(org.lao.pk), "--code", "chiangmai-city",
                 "--pkcs11-module", softhsm.module, "--token", softhsm.label, "--key", label)
    credential = AgencyCredential.objects.get(agency=org.lao)
    assert (credential.kind, credential.pkcs11_key_label) == (CredentialKind.PKCS11, label)
    with pytest.raises(CommandError, match="needs --pkcs11-module, --token and --key"):
        call_command("exchange", "enrol", "--agency", str(org.lao.pk), "--code", "x",
                     "--token", softhsm.label)


def test_keys_rotate_reseals_the_token_pin(org, softhsm, settings):
    label, pem = put_on_token(softhsm, "moi")
    exchange_renew(agency=org.ministry, token=token_key(softhsm, label))
    first = AgencyCredential.objects.get(agency=org.ministry).pkcs11_pin_sealed
    old_keys = keys.node_keys()
    fresh = ("k-new", secrets.token_bytes(32))
    settings.SARABAN_KEY_ENCRYPTION_KEYS = [fresh, *old_keys]
    keys_rotate()
    credential = AgencyCredential.objects.get(agency=org.ministry)
    assert keys.key_id_of(credential.pkcs11_pin_sealed) == "k-new" != keys.key_id_of(first)
    assert crypto.verify(pem, {"b": 2}, keystore.sign(credential, {"b": 2}))
