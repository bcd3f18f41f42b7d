"""Adding identities and trust roots, and keeping each file's verdict."""

from __future__ import annotations

import pytest

from saraban.agencies.actors import Actor
from saraban.core.errors import SarabanError
from saraban.core.models import AuditEvent
from saraban.letters.files import store_file
from saraban.signatures.models import SignatureCheck, SigningIdentity, TrustRoot
from saraban.signatures.pades import sign_pdf
from saraban.signatures.services import (
    check_file,
    identity_add_pkcs12,
    identity_for,
    seal_for,
    trust_root_add,
)
from saraban.signatures.testing import TEST_PASSPHRASE, flip_signed_byte, make_identity

from .test_pades import letter_pdf

pytestmark = pytest.mark.django_db


def error_of(call) -> SarabanError:
    with pytest.raises(SarabanError) as info:
        call()
    return info.value


def test_wrong_passphrase_stores_nothing(org, pki):
    p12 = pki.pkcs12(pki.issue_person("นายสมชาย ใจดี"), "correct horse")
    audit_before = AuditEvent.objects.count()
    err = error_of(lambda: identity_add_pkcs12(
        actor=Actor(org.admin), tenant=org.ministry, person=org.director, p12=p12,
        passphrase="wrong"))
    assert err.code == "signing_secret_wrong"
    assert SigningIdentity.objects.count() == 0
    assert AuditEvent.objects.count() == audit_before


def test_a_file_that_is_not_pkcs12_is_refused(org):
    err = error_of(lambda: identity_add_pkcs12(
        actor=None, tenant=org.ministry, person=org.director, p12=b"not a p12",
        passphrase="x"))
    assert err.code == "p12_unreadable"


def test_identity_keeps_the_file_encrypted_and_the_secret_only_when_asked(org, pki):
    issued = pki.issue_person("นายสมชาย ใจดี")
    p12 = pki.pkcs12(issued)
    identity = identity_add_pkcs12(actor=Actor(org.admin), tenant=org.ministry,
                                   person=org.director, p12=p12, passphrase=TEST_PASSPHRASE,
                                   label="บัตรของผู้อำนวยการ")
    stored = identity.p12_encrypted
    assert isinstance(stored, bytes | memoryview)
    assert bytes(stored) != p12 and p12 not in bytes(stored)
    assert identity.secret_encrypted is None and not identity.store_secret
    assert identity.subject_name == "นายสมชาย ใจดี"
    assert identity.issuer_name == "Saraban Test CA Issuing CA"
    assert len(identity.fingerprint) == 64
    assert "BEGIN CERTIFICATE" in identity.chain_pem
    event = AuditEvent.objects.get(action="signing_identity_add")
    assert event.details["fingerprint"] == identity.fingerprint
    assert TEST_PASSPHRASE not in str(event.details)


def test_a_new_identity_replaces_the_active_one(org, pki):
    first = make_identity(org.director, org.ministry, pki)
    second = make_identity(org.director, org.ministry, pki)
    first.refresh_from_db()
    assert not first.active and second.active
    assert identity_for(org.director) == second
    assert seal_for(org.ministry) is None


def test_only_the_agency_admin_or_the_person_may_add_an_identity(org, pki):
    p12 = pki.pkcs12(pki.issue_person("นายสมชาย ใจดี"))
    err = error_of(lambda: identity_add_pkcs12(
        actor=Actor(org.officer), tenant=org.ministry, person=org.director, p12=p12,
        passphrase=TEST_PASSPHRASE))
    assert err.code == "identity_forbidden"
    mine = identity_add_pkcs12(actor=Actor(org.director), tenant=org.ministry,
                               person=org.director, p12=p12, passphrase=TEST_PASSPHRASE)
    assert mine.person == org.director
    err = error_of(lambda: identity_add_pkcs12(
        actor=None, tenant=org.province, person=org.director, p12=p12,
        passphrase=TEST_PASSPHRASE))
    assert err.code == "person_outside_agency"


def test_trust_root_accepts_a_ca_once(org, pki):
    root = trust_root_add(actor=Actor(org.admin), tenant=org.ministry, pem=pki.root.pem)
    assert root.label == "Saraban Test CA Root CA"
    assert error_of(lambda: trust_root_add(actor=None, tenant=org.ministry,
                                           pem=pki.root.pem)).code == "trust_root_exists"
    person = pki.issue_person("นายสมชาย ใจดี")
    assert error_of(lambda: trust_root_add(actor=None, tenant=None,
                                           pem=person.pem)).code == "not_a_ca"
    assert error_of(lambda: trust_root_add(actor=None, tenant=None,
                                           pem=b"garbage")).code == "certificate_unreadable"
    assert error_of(lambda: trust_root_add(actor=Actor(org.admin), tenant=None,
                                           pem=pki.root.pem)).code == "identity_forbidden"
    assert TrustRoot.objects.count() == 1


def test_check_file_keeps_the_verdict_and_flags_red_ones(org, director_identity, no_tsa):
    signed = sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE)
    good = check_file(store_file(signed), tenant=org.ministry)
    assert good.status == "valid" and not good.is_red
    assert good.signatures[0]["signer_name"] == "นายสมชาย ใจดี"
    assert not AuditEvent.objects.filter(action="signature_flagged").exists()

    bad_blob = store_file(flip_signed_byte(signed))
    bad = check_file(bad_blob, tenant=org.ministry)
    assert bad.status == "invalid" and bad.is_red
    flagged = AuditEvent.objects.get(action="signature_flagged")
    assert flagged.agency_id == org.ministry.pk
    assert flagged.details["sha256"] == bad_blob.sha256
    # Checking the same file again updates the row, and does not flag it twice.
    again = check_file(bad_blob, tenant=org.ministry)
    assert again.pk == bad.pk
    assert AuditEvent.objects.filter(action="signature_flagged").count() == 1
    assert SignatureCheck.objects.count() == 2


def test_check_file_of_an_image_is_not_pdf(org):
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (8, 8)).save(out, format="PNG")  # a real PNG: stored files are read first
    png = out.getvalue()
    check = check_file(store_file(png), tenant=org.ministry)
    assert check.status == "not_pdf" and check.signatures == []
