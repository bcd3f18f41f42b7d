"""Issuing and revoking certificates and licences: numbers, the sealed PDF, the register."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from pypdf import PdfReader

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Role, RoleGrant
from saraban.core.audit import audit_verify, history
from saraban.core.errors import Conflict, PermissionDenied, SarabanError, ValidationFailed
from saraban.documents.render import FormData, render_form
from saraban.evidence.models import IssuedDocument, Validity
from saraban.evidence.services import (
    evidence_registries,
    evidence_revoke,
    qr_svg,
    verification_url,
)
from saraban.letters.files import read_blob
from saraban.letters.models import (
    FileRole,
    Letter,
    LetterKind,
    RegisterEntry,
    SeriesKind,
    SeriesYear,
)
from saraban.signatures.pades import verify_pdf

from .conftest import issue

pytestmark = pytest.mark.django_db

CM = 72 / 2.54


def _text(pdf: bytes) -> str:
    """The text of every page, without the control characters pypdf leaves in Thai."""
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    return "".join(ch for ch in text if ch == "\n" or ch >= " ")


def test_certificate_takes_the_next_outgoing_number_and_is_registered(
    org: Any, certificate: IssuedDocument
) -> None:
    second = issue(org, holder="นางสมศรี รับส่ง")
    assert certificate.number == "มท 0200/1"
    assert second.number == "มท 0200/2"
    entry = certificate.entry
    assert entry.series.kind == SeriesKind.OUTGOING
    assert entry.series.registry_id == org.central.pk
    assert entry.formatted == certificate.number
    letter = certificate.letter
    assert letter.kind == LetterKind.EVIDENCE
    assert letter.subkind == "certificate"
    assert letter.direction == "outgoing"
    assert letter.number == certificate.number
    assert letter.subject == certificate.title
    main = letter.files.get(role=FileRole.MAIN)
    assert main.blob_id == certificate.sha256


def test_sealed_pdf_verifies_as_valid_and_the_signer_is_the_agency(
    org: Any, seal: Any, certificate: IssuedDocument
) -> None:
    pdf = read_blob(certificate.blob)
    verdict = verify_pdf(pdf, tenant=org.ministry)
    assert verdict.status == "valid", verdict.label_th
    (signature,) = verdict.signatures
    assert signature.intact and signature.trusted and signature.covers_whole_file
    assert signature.signer_name == org.ministry.name_th
    assert signature.serial == seal.serial or seal.subject_name in signature.signer_subject


def test_pdf_carries_number_holder_validity_and_verification_address(
    certificate: IssuedDocument,
) -> None:
    # Thai text read back out of a PDF/A file loses marks (DESIGN.md's known traps), so only
    # the number and the address are read back; the Thai wording is checked on the source.
    text = _text(read_blob(certificate.blob))
    assert "0200/1" in text
    assert certificate.token in text.replace("\n", "")
    assert verification_url(certificate.token) == (
        f"http://localhost:8000/verify/{certificate.token}/"
    )


def test_licence_uses_its_own_form_and_public_address_setting(
    org: Any, seal: Any, settings: Any
) -> None:
    settings.SARABAN_PUBLIC_URL = "https://saraban.example.go.th"
    doc = issue(org, kind="licence", title="ใบอนุญาตจำหน่ายสินค้าในที่หรือทางสาธารณะ",
                body="จำหน่ายสินค้าประเภทอาหาร ณ ถนนนิมมานเหมินท์", valid_until=None)
    text = _text(read_blob(doc.blob))
    assert "เลขที่" in text or "0200/1" in text
    assert "https://saraban.example.go.th/verify/" in text
    assert doc.letter.subkind == "other_evidence"
    assert doc.validity(dt.date(2100, 1, 1)) == Validity.VALID


def _drawn_lines_box(pdf: bytes) -> tuple[float, float, float, float]:
    """The box (x0, y0, x1, y1, in cm) around every line drawn on page 1: the QR code's
    modules (the emblem is an image and the text is text, so they are not lines)."""
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    points: list[tuple[float, float]] = []

    def before(op: bytes, args: list[Any], cm: list[float], tm: list[float]) -> None:
        if op in (b"m", b"l"):
            x, y = float(args[0]), float(args[1])
            points.append((cm[0] * x + cm[2] * y + cm[4], cm[1] * x + cm[3] * y + cm[5]))

    page.extract_text(visitor_operand_before=before)
    assert points
    xs, ys = [p[0] / CM for p in points], [p[1] / CM for p in points]
    return min(xs), min(ys), max(xs), max(ys)


@pytest.mark.parametrize("form", ["certificate", "licence"])
def test_qr_code_sits_2_5_cm_square_at_the_foot_left_of_the_page(form: str) -> None:
    data = FormData(body=("ทดสอบ",), qr=qr_svg("http://localhost:8000/verify/abc/"),
                    footer_note="ตรวจสอบความถูกต้องได้ที่ http://localhost:8000/verify/abc/")
    pdf = render_form(form, data)
    x0, y0, x1, y1 = _drawn_lines_box(pdf)
    # Left margin 3 cm, the text area's foot 2 cm above the page's edge; half a module of
    # tolerance, since the modules are drawn as lines through their middles.
    assert x0 == pytest.approx(3.0, abs=0.1)
    assert y0 == pytest.approx(2.0, abs=0.1)
    assert x1 - x0 == pytest.approx(2.5, abs=0.15)
    assert y1 - y0 == pytest.approx(2.5, abs=0.15)
    assert "http://localhost:8000/verify/abc/" in _text(pdf)


def test_forms_without_a_qr_code_have_no_foot() -> None:
    plain = render_form("certificate", FormData(body=("ทดสอบ",)))
    page = PdfReader(io.BytesIO(plain)).pages[0]
    drawn: list[bytes] = []
    page.extract_text(visitor_operand_before=lambda op, *_: drawn.append(op))
    assert b"l" not in drawn


def test_no_seal_is_refused_and_no_number_is_consumed(org: Any) -> None:
    with pytest.raises(Conflict) as caught:
        issue(org)
    assert caught.value.code == "seal_missing"
    assert not IssuedDocument.objects.exists()
    assert not RegisterEntry.objects.exists()
    assert not Letter.objects.exists()
    assert not SeriesYear.objects.filter(last_number__gt=0).exists()


def test_expired_seal_is_refused_before_a_number_is_taken(org: Any, seal: Any) -> None:
    seal.not_after = seal.not_before
    seal.save(update_fields=["not_after"])
    with pytest.raises(Conflict) as caught:
        issue(org)
    assert caught.value.code == "identity_expired"
    assert not RegisterEntry.objects.exists()


def test_failure_while_sealing_rolls_the_number_back(org: Any, seal: Any, tsa: Any) -> None:
    # With a time-stamping authority configured the seal is PAdES B-T; when the TSA is down,
    # sealing fails inside the transaction, after the number was taken: it is given back.
    first = issue(org)
    tsa.tsa_down = True
    try:
        with pytest.raises(SarabanError):
            issue(org)
    finally:
        tsa.tsa_down = False
    assert list(IssuedDocument.objects.values_list("number", flat=True)) == [first.number]
    assert RegisterEntry.objects.count() == 1
    assert SeriesYear.objects.get(series=first.entry.series).last_number == 1
    assert issue(org).number == "มท 0200/2"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"kind": "passport"}, "bad_kind"),
        ({"holder": "  "}, "holder_required"),
        ({"title": ""}, "title_required"),
        ({"body": "\n"}, "body_required"),
        ({"title": "ก" * 501}, "title_too_long"),
        ({"valid_until": dt.date(2000, 1, 1)}, "valid_until_past"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    org: Any, seal: Any, changes: dict[str, Any], code: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        issue(org, **changes)
    assert caught.value.code == code
    assert not RegisterEntry.objects.exists()


def test_only_registry_clerks_and_agency_admins_issue(org: Any, seal: Any) -> None:
    with pytest.raises(PermissionDenied):
        issue(org, actor=resolve_actor(org.officer))
    with pytest.raises(PermissionDenied):
        issue(org, actor=resolve_actor(org.director))
    # Another agency's registry is out of reach even for a clerk.
    with pytest.raises(PermissionDenied):
        issue(org, registry=org.province_registry)
    doc = issue(org, actor=resolve_actor(org.admin), registry=org.ict_registry)
    assert doc.number.startswith("มท 0212/")
    assert set(evidence_registries(org.admin)) == {org.central, org.ict_registry}
    assert set(evidence_registries(org.clerk)) == {org.central, org.ict_registry}
    assert not evidence_registries(org.officer).exists()
    RoleGrant.objects.create(person=org.officer, unit=org.ict, role=Role.REGISTRY_CLERK)
    assert list(evidence_registries(org.officer)) == [org.ict_registry]


def test_issue_and_revoke_are_in_the_letters_history(
    org: Any, certificate: IssuedDocument
) -> None:
    revoked = evidence_revoke(actor=resolve_actor(org.clerk), doc=certificate,
                              reason="ออกให้ผิดคน")
    assert revoked.revoked_at is not None
    assert revoked.validity(dt.date.today()) == Validity.REVOKED
    actions = [event.action for event in history("letter", certificate.letter_id)]
    assert actions == ["evidence_issue", "evidence_revoke"]
    issued_event = history("letter", certificate.letter_id)[0]
    assert issued_event.details["sha256"] == certificate.sha256
    assert all(problem is None for _agency, _n, problem in audit_verify())


def test_revoke_needs_a_reason_happens_once_and_only_by_an_issuer(
    org: Any, certificate: IssuedDocument
) -> None:
    clerk = resolve_actor(org.clerk)
    with pytest.raises(ValidationFailed) as caught:
        evidence_revoke(actor=clerk, doc=certificate, reason=" ")
    assert caught.value.code == "reason_required"
    with pytest.raises(PermissionDenied):
        evidence_revoke(actor=resolve_actor(org.officer), doc=certificate, reason="x")
    evidence_revoke(actor=clerk, doc=certificate, reason="ยกเลิก")
    with pytest.raises(Conflict) as again:
        evidence_revoke(actor=clerk, doc=certificate, reason="ยกเลิก")
    assert again.value.code == "already_revoked"


def test_validity_on_a_day(certificate: IssuedDocument) -> None:
    assert certificate.valid_until is not None
    assert certificate.validity(certificate.valid_until) == Validity.VALID
    after = certificate.valid_until + dt.timedelta(days=1)
    assert certificate.validity(after) == Validity.EXPIRED


def test_wording_names_the_holder_and_validity_in_the_agencys_digits(org: Any) -> None:
    from saraban.evidence.services import _form_data

    common: dict[str, Any] = {
        "number": "มท 0200/7", "today": dt.date(2026, 11, 23), "issuer": org.ops,
        "holder": "นายวิชัย ทำงาน", "title": "รับรอง", "body": "เป็นข้าราชการ\n\nย่อหน้าสอง",
        "actor": resolve_actor(org.clerk), "url": "http://localhost:8000/verify/t/",
    }
    cert = _form_data(kind="certificate", tenant=org.ministry,
                      valid_until=dt.date(2027, 1, 31), **common)
    assert list(cert.body) == [
        "หนังสือฉบับนี้ให้ไว้เพื่อรับรองว่า นายวิชัย ทำงาน เป็นข้าราชการ",
        "ย่อหน้าสอง",
        "หนังสือรับรองฉบับนี้ใช้ได้ถึงวันที่ 31 มกราคม 2570",
    ]
    assert cert.signer_name == "นางสมศรี รับส่ง"
    assert cert.signer_position == "เจ้าพนักงานธุรการชำนาญงาน"
    assert cert.agency_name == org.ops.name_th
    assert "http://localhost:8000/verify/t/" in cert.footer_note
    org.ministry.thai_digits = True
    licence = _form_data(kind="licence", tenant=org.ministry, valid_until=dt.date(2027, 1, 31),
                         **common)
    assert licence.body[0].startswith("อนุญาตให้ นายวิชัย ทำงาน ")
    assert licence.body[-1] == "ใบอนุญาตฉบับนี้ใช้ได้ถึงวันที่ ๓๑ มกราคม ๒๕๗๐"
    assert licence.thai_digits


def test_the_agencys_letterhead_emblem_and_address_are_used(org: Any) -> None:
    from saraban.documents.models import Letterhead
    from saraban.evidence.services import _form_data

    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'
    Letterhead.objects.create(agency=org.ministry, emblem=svg, address="ถนนอัษฎางค์")
    data = _form_data(
        kind="certificate", number="มท 0200/1", today=dt.date(2026, 11, 23), issuer=org.ops,
        tenant=org.ministry, holder="นายวิชัย ทำงาน", title="รับรอง", body="ข้อความ",
        valid_until=None, actor=resolve_actor(org.clerk), url="http://localhost:8000/verify/t/",
    )
    assert data.emblem == svg
    assert data.agency_address == "ถนนอัษฎางค์"
