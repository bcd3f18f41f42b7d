"""The public verification page, through Django's test client, with no one signed in."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from saraban.agencies.actors import resolve_actor
from saraban.evidence.models import IssuedDocument
from saraban.evidence.services import evidence_revoke
from saraban.letters.files import read_blob
from saraban.signatures.testing import append_unsigned_update, flip_signed_byte

pytestmark = pytest.mark.django_db

GENUINE = "ตรงกับต้นฉบับ"
MODIFIED = "ไม่ตรงกับต้นฉบับที่ออกโดยระบบ"


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()


def _page(doc: IssuedDocument) -> str:
    return reverse("web:evidence_verify", args=[doc.token])


def _upload(client: Client, url: str, content: bytes, **extra: Any) -> Any:
    return client.post(url, {"file": io.BytesIO(content)}, **extra)


def test_page_shows_the_document_without_login_and_sets_no_cookie(
    client: Client, org: Any, certificate: IssuedDocument
) -> None:
    response = client.get(_page(certificate))
    assert response.status_code == 200
    html = response.content.decode()
    assert certificate.number in html
    assert "หนังสือรับรอง" in html
    assert "นายวิชัย ทำงาน" in html
    assert org.ops.name_th in html  # the issuing office
    assert "ยังใช้ได้" in html
    assert certificate.sha256 in html
    assert not response.cookies  # no session, no CSRF cookie
    assert "public" in response["Cache-Control"]
    assert "csrfmiddlewaretoken" not in html


def test_genuine_pdf_is_accepted_with_a_valid_seal(
    client: Client, certificate: IssuedDocument
) -> None:
    response = _upload(client, _page(certificate), read_blob(certificate.blob))
    assert response.status_code == 200
    html = response.content.decode()
    assert GENUINE in html and MODIFIED not in html
    assert 'class="copy-result copy-match"' in html
    assert 'class="signature-valid"' in html
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies


def test_pdf_with_one_byte_changed_is_rejected(
    client: Client, certificate: IssuedDocument
) -> None:
    changed = flip_signed_byte(read_blob(certificate.blob))
    response = _upload(client, _page(certificate), changed)
    assert response.status_code == 200
    html = response.content.decode()
    assert MODIFIED in html
    assert 'class="copy-result copy-mismatch"' in html
    # The seal's own verdict says why: the signed bytes changed.
    assert 'class="signature-valid"' not in html


def test_pdf_with_an_unsigned_update_is_rejected(
    client: Client, certificate: IssuedDocument
) -> None:
    added = append_unsigned_update(read_blob(certificate.blob), what="page")
    html = _upload(client, _page(certificate), added).content.decode()
    assert MODIFIED in html
    assert 'class="signature-valid"' not in html


def test_unknown_token_is_a_thai_404(client: Client, db: Any) -> None:
    response = client.get(reverse("web:evidence_verify", args=["no-such-token"]))
    assert response.status_code == 404
    assert "ไม่พบเอกสาร" in response.content.decode()
    assert response.templates[0].name == "evidence/verify_not_found.html"
    posted = _upload(client, reverse("web:evidence_verify", args=["nope"]), b"%PDF-1.7")
    assert posted.status_code == 404


def test_revoked_document_is_shown_as_revoked(
    client: Client, org: Any, certificate: IssuedDocument
) -> None:
    evidence_revoke(actor=resolve_actor(org.clerk), doc=certificate, reason="ออกให้ผิดคน")
    html = client.get(_page(certificate)).content.decode()
    assert "ถูกเพิกถอนแล้ว" in html
    assert "ออกให้ผิดคน" in html
    assert "validity-revoked" in html
    # The file is still the one issued: it matches, and the page says it is revoked.
    checked = _upload(client, _page(certificate), read_blob(certificate.blob)).content.decode()
    assert GENUINE in checked and "ถูกเพิกถอนแล้ว" in checked


def test_expired_document_is_shown_as_expired(
    client: Client, certificate: IssuedDocument
) -> None:
    IssuedDocument.objects.filter(pk=certificate.pk).update(
        valid_until=dt.date.today() - dt.timedelta(days=2)
    )
    html = client.get(_page(certificate)).content.decode()
    assert "หมดอายุแล้ว" in html
    assert "validity-expired" in html


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "กรุณาเลือกไฟล์"),
        (b"GIF89a not a pdf", "ไม่ใช่ไฟล์ PDF"),
    ],
)
def test_missing_or_non_pdf_upload_gets_a_thai_error(
    client: Client, certificate: IssuedDocument, content: bytes, message: str
) -> None:
    data = {"file": io.BytesIO(content)} if content else {}
    response = client.post(_page(certificate), data)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_json_answers_for_machines(client: Client, certificate: IssuedDocument) -> None:
    url = reverse("web:evidence_verify_json", args=[certificate.token])
    assert url == f"/verify/{certificate.token}.json"
    facts = client.get(url).json()
    assert facts["number"] == certificate.number
    assert facts["kind"] == "certificate"
    assert facts["holder"] == "นายวิชัย ทำงาน"
    assert facts["status"] == "valid"
    assert facts["issued_on"] == certificate.issued_on.isoformat()
    assert facts["valid_until"] == certificate.valid_until.isoformat()  # type: ignore[union-attr]
    assert facts["sha256"] == certificate.sha256
    # Asking the page itself for JSON gives the same.
    assert client.get(_page(certificate), HTTP_ACCEPT="application/json").json() == facts
    # A copy sent as the raw body, or as a form upload.
    genuine = read_blob(certificate.blob)
    raw = client.post(url, genuine, content_type="application/pdf").json()
    assert raw["check"]["matches"] is True
    assert raw["check"]["signature"]["status"] == "valid"
    changed = _upload(client, url, flip_signed_byte(genuine)).json()
    assert changed["check"]["matches"] is False
    assert changed["check"]["signature"]["status"] != "valid"
    bad = client.post(url, b"hello", content_type="application/pdf")
    assert bad.status_code == 400
    assert bad.json()["code"] == "not_pdf"
    missing = client.get(reverse("web:evidence_verify_json", args=["nope"]))
    assert missing.status_code == 404
    assert missing.json()["code"] == "evidence_not_found"


def test_uploads_are_throttled_per_address(
    client: Client, certificate: IssuedDocument, monkeypatch: pytest.MonkeyPatch
) -> None:
    from saraban.web.views import evidence as views

    monkeypatch.setattr(views, "VERIFY_UPLOADS_PER_MINUTE", 2)
    for _ in range(2):
        assert _upload(client, _page(certificate), b"x").status_code == 400
    refused = _upload(client, _page(certificate), b"x")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert "บ่อยเกินไป" in refused.content.decode()
    # Another address is not held back, and reading the page never is.
    assert _upload(client, _page(certificate), b"x", REMOTE_ADDR="10.0.0.9").status_code == 400
    assert client.get(_page(certificate)).status_code == 200


def test_oversized_upload_is_refused_by_its_declared_length(
    client: Client, certificate: IssuedDocument, monkeypatch: pytest.MonkeyPatch
) -> None:
    from saraban.evidence import services
    from saraban.web.views import evidence as views

    monkeypatch.setattr(services, "MAX_COPY_BYTES", 1000)
    monkeypatch.setattr(views, "MAX_COPY_BYTES", 1000)
    big = b"%PDF-1.7\n" + b"0" * 200_000
    response = _upload(client, _page(certificate), big)
    assert response.status_code == 400
    assert "ไฟล์มีขนาดเกิน" in response.content.decode()
    url = reverse("web:evidence_verify_json", args=[certificate.token])
    raw = client.post(url, b"%PDF-1.7\n" + b"0" * 2000, content_type="application/pdf")
    assert raw.json()["code"] == "file_too_large"
