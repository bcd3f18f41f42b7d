"""Signing with a key on a PKCS#11 token (SoftHSM2), as with a USB token or an HSM."""

from __future__ import annotations

import pytest

from saraban.core.errors import SarabanError
from saraban.signatures.models import IdentityKind, SigningIdentity
from saraban.signatures.pades import Appearance, sign_pdf, verify_pdf
from saraban.signatures.services import identity_add_pkcs11, identity_for
from saraban.signatures.testing import make_token_identity

from .test_pades import letter_pdf

pytestmark = pytest.mark.django_db


def test_sign_with_a_softhsm_token_at_b_t(org, pki, softhsm, tsa):
    identity = make_token_identity(org.director, org.ministry, pki, softhsm)
    assert identity.kind == IdentityKind.PKCS11
    assert identity_for(org.director) == identity
    assert identity.secret_encrypted is None  # the PIN is asked for at signing time
    assert identity.subject_name == "นายสมชาย ใจดี"
    assert "Issuing CA" in identity.chain_pem or identity.chain_pem.startswith("-----BEGIN")
    pdf = letter_pdf()
    signed = sign_pdf(pdf, identity, secret=softhsm.pin, appearance=Appearance(
        page=0, box=(330, 90, 550, 150), lines=("ลงนามโดย นายสมชาย ใจดี", "ผู้อำนวยการ")))
    assert signed.startswith(pdf)
    verdict = verify_pdf(signed, tenant=org.ministry)
    assert verdict.status == "valid"
    assert verdict.signatures[0].level == "B-T"
    assert verdict.signatures[0].signer_name == "นายสมชาย ใจดี"


def test_token_seal_with_stored_pin_signs_unattended(org, pki, softhsm, no_tsa):
    seal = make_token_identity(None, org.province, pki, softhsm, store_secret=True)
    signed = sign_pdf(letter_pdf(), seal)
    assert verify_pdf(signed, tenant=org.province).signatures[0].signer_name == "จังหวัดเชียงใหม่"


def test_wrong_pin_is_refused_when_adding_and_when_signing(org, pki, softhsm, no_tsa):
    identity = make_token_identity(org.officer, org.ministry, pki, softhsm)
    with pytest.raises(SarabanError) as info:
        sign_pdf(letter_pdf(), identity, secret="000000")
    assert info.value.code == "signing_secret_wrong"
    count = SigningIdentity.objects.count()
    with pytest.raises(SarabanError) as info:
        identity_add_pkcs11(actor=None, tenant=org.ministry, person=org.officer,
                            module=softhsm.module, token_label=softhsm.label,
                            key_label=identity.pkcs11_key_label, pin="000000")
    assert info.value.code == "signing_secret_wrong"
    assert SigningIdentity.objects.count() == count


def test_unknown_token_or_key_is_refused(org, softhsm):
    with pytest.raises(SarabanError) as info:
        identity_add_pkcs11(actor=None, tenant=org.ministry, person=org.officer,
                            module=softhsm.module, token_label="no-such-token",
                            key_label="x", pin=softhsm.pin)
    assert info.value.code == "token_missing"
    with pytest.raises(SarabanError) as info:
        identity_add_pkcs11(actor=None, tenant=org.ministry, person=org.officer,
                            module=softhsm.module, token_label=softhsm.label,
                            key_label="no-such-key", pin=softhsm.pin)
    assert info.value.code == "key_missing"
