"""Signing a draft: number issued only with a signature, inside the signed PDF, then dispatch."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from saraban.agencies.actors import resolve_actor
from saraban.core.errors import SarabanError
from saraban.documents.models import DraftState, StepState
from saraban.documents.services import draft_create, draft_initial, draft_sign, draft_submit
from saraban.exchange.models import OutboxMessage
from saraban.letters.models import Channel, FileRole, RegisterEntry
from saraban.signatures.pades import verify_pdf
from saraban.signatures.testing import TEST_PASSPHRASE, make_identity, make_seal

FIELDS = {
    "subject": "ขอเชิญประชุมคณะทำงานระบบสารบรรณอิเล็กทรอนิกส์",
    "salutation": "ผู้ว่าราชการจังหวัดเชียงใหม่",
    "body": ["ด้วยศูนย์เทคโนโลยีสารสนเทศจะจัดประชุมคณะทำงาน", "จึงเรียนมาเพื่อโปรดทราบ"],
    "closing": "ขอแสดงความนับถือ",
}


def _up_to_signer(org, form="external", recipients=None, registry=None):
    officer = resolve_actor(org.officer)
    draft = draft_create(
        actor=officer, registry=registry or org.ict_registry, form=form, fields=FIELDS,
        recipients=recipients if recipients is not None else [{"agency": org.province.pk}],
    )
    draft_submit(actor=officer, draft=draft, reviewers=[org.clerk], signer=org.director)
    draft_initial(actor=resolve_actor(org.clerk), draft=draft)
    draft.refresh_from_db()
    return draft


def _main_pdf(letter) -> bytes:
    from saraban.letters.files import read_blob

    main = letter.files.get(role=FileRole.MAIN, replaced_at__isnull=True)
    return read_blob(main.blob)


def test_signing_numbers_renders_signs_and_dispatches(org, pki) -> None:
    make_identity(org.director, org.ministry, pki)
    draft = _up_to_signer(org)
    assert RegisterEntry.objects.count() == 0
    letter = draft_sign(actor=resolve_actor(org.director), draft=draft, secret=TEST_PASSPHRASE)
    draft.refresh_from_db()
    assert draft.state == DraftState.SIGNED and draft.letter == letter
    assert [s.state for s in draft.steps_of_round()] == [StepState.DONE, StepState.DONE]
    entry = RegisterEntry.objects.get(letter=letter)
    assert (entry.number, letter.number) == (1, entry.formatted)
    assert letter.direction == "outgoing" and letter.kind == "external"
    pdf = _main_pdf(letter)
    # The number is in the signed revision (drawn before signing), not added afterwards.
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert entry.formatted.split("/")[-1] in text and "0212" in text
    verdict = verify_pdf(pdf, tenant=org.ministry)
    assert verdict.status == "valid", verdict.label_th
    [signature] = verdict.signatures
    assert "สมชาย" in signature.signer_name and signature.intact and signature.trusted
    # The province is reachable through the exchange: one dispatch, one queued message.
    [dispatch] = letter.dispatches.all()
    assert (dispatch.recipient_agency, dispatch.channel) == (org.province, Channel.SARABAN)
    assert OutboxMessage.objects.filter(letter=letter).count() == 1


def test_without_a_certificate_nothing_is_numbered(org) -> None:
    draft = _up_to_signer(org)
    with pytest.raises(SarabanError) as exc:
        draft_sign(actor=resolve_actor(org.director), draft=draft, secret="x")
    assert exc.value.code == "identity_missing"
    draft.refresh_from_db()
    assert draft.state == DraftState.IN_REVIEW and draft.letter is None
    assert RegisterEntry.objects.count() == 0


def test_a_wrong_passphrase_uses_no_number(org, pki) -> None:
    make_identity(org.director, org.ministry, pki)
    draft = _up_to_signer(org)
    director = resolve_actor(org.director)
    with pytest.raises(SarabanError) as exc:
        draft_sign(actor=director, draft=draft, secret="not-the-passphrase")
    assert exc.value.code == "signing_secret_wrong"
    assert RegisterEntry.objects.count() == 0
    letter = draft_sign(actor=director, draft=draft, secret=TEST_PASSPHRASE)
    assert RegisterEntry.objects.get(letter=letter).number == 1  # no gap was left


def test_only_the_signer_signs(org, pki) -> None:
    make_identity(org.clerk, org.ministry, pki)
    officer = resolve_actor(org.officer)
    draft = draft_create(actor=officer, registry=org.ict_registry, form="external",
                         fields=FIELDS, recipients=[{"text": "บริษัท ตัวอย่าง จำกัด"}])
    draft_submit(actor=officer, draft=draft, reviewers=[org.clerk], signer=org.director)
    with pytest.raises(SarabanError) as exc:
        draft_sign(actor=resolve_actor(org.clerk), draft=draft, secret=TEST_PASSPHRASE)
    assert exc.value.code == "wrong_step"
    assert RegisterEntry.objects.count() == 0


def test_stamped_letter_is_sealed_by_the_agency(org, pki) -> None:
    make_seal(org.ministry, pki)
    draft = _up_to_signer(org, form="stamped",
                          recipients=[{"text": "ห้างหุ้นส่วน ตัวอย่าง", "address": "a@example.com"}])
    letter = draft_sign(actor=resolve_actor(org.director), draft=draft)
    verdict = verify_pdf(_main_pdf(letter), tenant=org.ministry)
    assert verdict.status == "valid", verdict.label_th
    assert org.ministry.name_th in verdict.signatures[0].signer_name
    [dispatch] = letter.dispatches.all()
    assert dispatch.channel == Channel.EMAIL  # not reachable by the exchange, has an address


def test_orders_are_signed_for_the_archive_when_a_tsa_is_set(org, pki, tsa) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader

    make_identity(org.director, org.ministry, pki)
    draft = _up_to_signer(org, form="order", recipients=[], registry=org.central)
    letter = draft_sign(actor=resolve_actor(org.director), draft=draft, secret=TEST_PASSPHRASE)
    assert RegisterEntry.objects.get(letter=letter).series.kind == "order"
    pdf = _main_pdf(letter)
    reader = PdfFileReader(io.BytesIO(pdf))
    assert "/DSS" in reader.root  # revocation data embedded
    assert len(reader.embedded_timestamp_signatures) == 1  # and a document timestamp
    assert verify_pdf(pdf, tenant=org.ministry).status == "valid"
