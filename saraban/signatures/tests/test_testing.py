"""The test PKI also works without its HTTP services (as the demo loader uses it)."""

from __future__ import annotations

import pytest
from cryptography import x509

from saraban.signatures.pades import sign_pdf, verify_pdf
from saraban.signatures.testing import TestPKI, make_identity

from .test_pades import letter_pdf

pytestmark = pytest.mark.django_db


def test_offline_pki_issues_certificates_without_crl_points(org, no_tsa):
    pki = TestPKI(None, name="Saraban Demo CA")
    assert pki.tsa_url == ""
    person = pki.issue_person("นายสมชาย ใจดี")
    with pytest.raises(x509.ExtensionNotFound):
        person.cert.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    identity = make_identity(org.director, org.ministry, pki)
    signed = sign_pdf(letter_pdf(), identity, secret="saraban-test")
    assert verify_pdf(signed, tenant=org.ministry).status == "valid"
