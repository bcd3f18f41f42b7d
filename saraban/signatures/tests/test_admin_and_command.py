"""Adding identities and roots through the scoped admin and the ``saraban signatures`` command."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from saraban.agencies.models import Person
from saraban.core.models import AuditEvent
from saraban.signatures.models import SigningIdentity, TrustRoot
from saraban.signatures.testing import TEST_PASSPHRASE, make_identity

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(org) -> Client:
    Person.objects.filter(pk=org.admin.pk).update(is_staff=True)
    client = Client()
    client.force_login(Person.objects.get(pk=org.admin.pk))
    return client


def test_agency_admin_adds_a_seal_in_the_admin(org, pki, admin_client):
    p12 = pki.pkcs12(pki.issue_seal(org.ministry.name_th))
    response = admin_client.post("/admin/signatures/signingidentity/add/", {
        "tenant": org.ministry.pk, "person": "", "label": "ตรากระทรวง",
        "p12_file": SimpleUploadedFile("seal.p12", p12), "passphrase": TEST_PASSPHRASE,
        "keep_secret": "on",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    seal = SigningIdentity.objects.get()
    assert seal.person is None and seal.store_secret and seal.created_by == org.admin
    assert AuditEvent.objects.filter(action="signing_identity_add").count() == 1


def test_admin_form_refuses_a_wrong_passphrase_and_stores_nothing(org, pki, admin_client):
    p12 = pki.pkcs12(pki.issue_person("นายสมชาย ใจดี"))
    response = admin_client.post("/admin/signatures/signingidentity/add/", {
        "tenant": org.ministry.pk, "person": org.director.pk, "label": "",
        "p12_file": SimpleUploadedFile("me.p12", p12), "passphrase": "wrong",
    })
    assert response.status_code == 200
    assert "รหัสผ่าน (หรือ PIN) ของใบรับรองไม่ถูกต้อง" in response.content.decode()
    assert not SigningIdentity.objects.exists()


def test_admin_sees_only_their_agencys_identities(org, pki, admin_client):
    mine = make_identity(org.director, org.ministry, pki)
    from saraban.agencies.sample import make_person

    outsider = make_person("cm-boss", "ผู้ว่า เชียงใหม่", agency=org.province, password=None)
    theirs = make_identity(outsider, org.province, pki)
    listing = admin_client.get("/admin/signatures/signingidentity/").content.decode()
    assert mine.subject_name in listing and theirs.subject_name not in listing
    page = admin_client.get(f"/admin/signatures/signingidentity/{mine.pk}/change/")
    assert page.status_code == 200 and mine.fingerprint in page.content.decode()
    assert admin_client.get(
        f"/admin/signatures/signingidentity/{theirs.pk}/change/"
    ).status_code == 404


def test_admin_adds_a_root_for_the_agency(org, pki, admin_client):
    response = admin_client.post("/admin/signatures/trustroot/add/", {
        "tenant": org.ministry.pk, "label": "",
        "certificate_file": SimpleUploadedFile("root.pem", pki.root.pem),
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert TrustRoot.objects.get().tenant == org.ministry
    leaf = pki.issue_person("x")
    response = admin_client.post("/admin/signatures/trustroot/add/", {
        "tenant": org.ministry.pk, "label": "",
        "certificate_file": SimpleUploadedFile("leaf.pem", leaf.pem),
    })
    assert response.status_code == 200
    assert "ไม่ใช่ใบรับรองของผู้ออกใบรับรอง" in response.content.decode()


def test_command_adds_an_identity_and_a_root(org, pki, tmp_path, monkeypatch):
    p12_path = tmp_path / "director.p12"
    p12_path.write_bytes(pki.pkcs12(pki.issue_person("นายสมชาย ใจดี")))
    monkeypatch.setenv("SARABAN_SIGNING_SECRET", TEST_PASSPHRASE)
    out = io.StringIO()
    call_command("signatures", "add-pkcs12", "--agency", "moi", "--user", "director",
                 "--file", str(p12_path), stdout=out)
    assert "added identity" in out.getvalue() and "นายสมชาย ใจดี" in out.getvalue()
    assert SigningIdentity.objects.get().person == org.director

    root_path = tmp_path / "root.pem"
    root_path.write_bytes(pki.root.pem)
    call_command("signatures", "add-root", "--file", str(root_path), stdout=out)
    assert TrustRoot.objects.get().tenant is None

    monkeypatch.setenv("SARABAN_SIGNING_SECRET", "wrong")
    with pytest.raises(CommandError, match="signing_secret_wrong"):
        call_command("signatures", "add-pkcs12", "--agency", "moi", "--file", str(p12_path),
                     stdout=out)
    assert SigningIdentity.objects.count() == 1


def test_command_verifies_a_file(org, director_identity, tmp_path, no_tsa):
    from saraban.signatures.pades import sign_pdf
    from saraban.signatures.testing import flip_signed_byte

    from .test_pades import letter_pdf

    signed = sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE)
    good = tmp_path / "good.pdf"
    good.write_bytes(signed)
    out = io.StringIO()
    call_command("signatures", "verify", str(good), "--agency", "moi", stdout=out)
    assert '"status": "valid"' in out.getvalue()
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(flip_signed_byte(signed))
    with pytest.raises(CommandError, match="invalid"):
        call_command("signatures", "verify", str(bad), stdout=io.StringIO())
