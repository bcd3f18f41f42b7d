"""The letter page's signature badge and the API's verdicts."""

from __future__ import annotations

import pytest
from django.test import Client

from saraban.signatures.pades import sign_pdf
from saraban.signatures.testing import (
    TEST_PASSPHRASE,
    append_unsigned_update,
    flip_signed_byte,
    make_identity,
)

from .test_arrival import register_incoming
from .test_pades import letter_pdf

pytestmark = pytest.mark.django_db

API = "/api/v1"


def page_of(org, letter) -> str:
    client = Client()
    client.force_login(org.clerk)
    response = client.get(f"/letters/{letter.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_badge_green_for_a_valid_signature(org, director_identity, no_tsa):
    signed = sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE)
    html = page_of(org, register_incoming(org, signed).letter)
    assert 'class="sig-badge sig-valid" data-signature-status="valid"' in html
    assert "ลงนามถูกต้อง" in html
    assert "ลงนามโดย <strong>นายสมชาย ใจดี</strong>" in html
    assert "ออกใบรับรองโดย Saraban Test CA Issuing CA" in html


def test_badge_amber_for_an_unknown_issuer(org, stranger_pki, no_tsa):
    identity = make_identity(org.director, org.ministry, stranger_pki, trust=False)
    signed = sign_pdf(letter_pdf(), identity, secret=TEST_PASSPHRASE)
    html = page_of(org, register_incoming(org, signed).letter)
    assert 'class="sig-badge sig-untrusted"' in html
    assert "ผู้ออกใบรับรองไม่อยู่ในรายการที่เชื่อถือ" in html


@pytest.mark.parametrize(("tamper", "status"), [
    (flip_signed_byte, "invalid"),
    (lambda pdf: append_unsigned_update(pdf, what="page"), "modified"),
])
def test_badge_red_for_a_tampered_file(org, director_identity, no_tsa, tamper, status):
    signed = sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE)
    html = page_of(org, register_incoming(org, tamper(signed)).letter)
    assert f'class="sig-badge sig-bad" data-signature-status="{status}"' in html


def test_badge_grey_for_an_unsigned_pdf(org):
    html = page_of(org, register_incoming(org, letter_pdf()).letter)
    assert 'class="sig-badge sig-none" data-signature-status="unsigned"' in html
    assert "ไม่มีลายมือชื่ออิเล็กทรอนิกส์" in html


def token_for(username: str) -> dict[str, str]:
    response = Client().post(f"{API}/auth/token",
                             {"username": username, "password": "saraban-demo"},
                             content_type="application/json")
    assert response.status_code == 201, response.content
    return {"authorization": f"Bearer {response.json()['token']}"}


def test_api_returns_the_same_verdicts(org, director_identity, no_tsa):
    signed = sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE)
    good = register_incoming(org, signed).letter
    bad = register_incoming(org, append_unsigned_update(signed, what="annotation"),
                            subject="ฉบับแก้").letter
    client = Client()
    headers = token_for("clerk")
    body = client.get(f"{API}/letters/{good.pk}/signatures", headers=headers).json()
    assert body["letter_id"] == good.pk
    (f,) = body["files"]
    assert f["status"] == "valid" and f["role"] == "main"
    assert f["label_th"] == "ลายมือชื่ออิเล็กทรอนิกส์ถูกต้อง ลงนามโดย นายสมชาย ใจดี"
    (sig,) = f["signatures"]
    assert sig["signer_name"] == "นายสมชาย ใจดี" and sig["trusted"] and sig["intact"]
    assert sig["level"] == "B-B" and sig["signing_time"]
    red = client.get(f"{API}/letters/{bad.pk}/signatures", headers=headers).json()
    assert red["files"][0]["status"] == "modified"
    assert red["files"][0]["signatures"][0]["problem"] == "มีการแก้ไขเนื้อหาเอกสารหลังลงนาม"


def test_api_hides_letters_the_person_may_not_see(org, no_tsa):
    letter = register_incoming(org, letter_pdf()).letter
    response = Client().get(f"{API}/letters/{letter.pk}/signatures",
                            headers=token_for("officer"))
    assert response.status_code == 404
    assert response.json()["code"]
    assert Client().get(f"{API}/letters/{letter.pk}/signatures").status_code == 401
