"""Signing at B-B, B-T and B-LTA with a PKCS#12 identity, and what verification says."""

from __future__ import annotations

import functools
import io

import pytest

from saraban.core.errors import SarabanError
from saraban.documents.render import FormData, render_form
from saraban.signatures.models import SigningIdentity
from saraban.signatures.pades import Appearance, sign_pdf, verify_pdf
from saraban.signatures.testing import (
    TEST_PASSPHRASE,
    append_unsigned_update,
    flip_signed_byte,
    make_identity,
    make_seal,
    trust_pki,
)

pytestmark = pytest.mark.django_db

BLOCK = Appearance(
    page=-1,
    box=(330, 90, 550, 160),
    lines=("ลงนามโดย นายสมชาย ใจดี", "ผู้อำนวยการศูนย์เทคโนโลยีสารสนเทศ", "๒๓ พฤศจิกายน ๒๕๖๙ ๑๐:๑๕ น."),
)


@functools.cache
def letter_pdf() -> bytes:
    return render_form(
        "memo",
        FormData(
            agency_name="ศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร",
            subject="ขอเชิญประชุม",
            body=["ด้วยศูนย์ฯ จะจัดประชุมเรื่องระบบสารบรรณอิเล็กทรอนิกส์"],
            signer_name="นายสมชาย ใจดี",
        ),
    )


def error_of(call) -> SarabanError:
    with pytest.raises(SarabanError) as info:
        call()
    return info.value


def test_pkcs12_b_b_signature_is_valid_and_trusted(org, director_identity, no_tsa):
    pdf = letter_pdf()
    signed = sign_pdf(pdf, director_identity, secret=TEST_PASSPHRASE, appearance=BLOCK,
                      reason="อนุมัติ")
    assert signed.startswith(pdf)  # an incremental update: the given bytes are untouched
    verdict = verify_pdf(signed, tenant=org.ministry)
    assert verdict.status == "valid"
    (sig,) = verdict.signatures
    assert sig.signer_name == "นายสมชาย ใจดี"
    assert sig.issuer == "Saraban Test CA Issuing CA"
    assert sig.intact and sig.trusted and sig.covers_whole_file and not sig.modified_after
    assert sig.level == "B-B" and sig.timestamp_time is None and sig.signing_time is not None
    assert sig.problem == ""
    assert verdict.label_th == "ลายมือชื่ออิเล็กทรอนิกส์ถูกต้อง ลงนามโดย นายสมชาย ใจดี"
    assert verdict.signatures[0].as_dict()["signer_name"] == "นายสมชาย ใจดี"


def test_default_level_is_b_b_without_a_tsa_and_b_t_with_one(org, director_identity, settings,
                                                            pki):
    settings.SARABAN_TSA_URL = ""
    plain = sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE)
    assert verify_pdf(plain, tenant=org.ministry).signatures[0].level == "B-B"
    settings.SARABAN_TSA_URL = pki.tsa_url
    stamped = sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE)
    assert verify_pdf(stamped, tenant=org.ministry).signatures[0].level == "B-T"


def test_b_t_carries_a_timestamp_from_the_local_tsa(org, director_identity, tsa,
                                                    pki_services):
    before = sum(1 for r in pki_services.requests if r == f"POST /{tsa.slug}/tsa")
    signed = sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE, level="B-T")
    after = sum(1 for r in pki_services.requests if r == f"POST /{tsa.slug}/tsa")
    assert after > before  # the token came over HTTP from the TSA
    verdict = verify_pdf(signed, tenant=org.ministry)
    assert verdict.status == "valid"
    sig = verdict.signatures[0]
    assert sig.level == "B-T"
    assert sig.timestamp_time is not None and sig.signing_time is not None
    assert abs((sig.timestamp_time - sig.signing_time).total_seconds()) < 60


def test_b_lta_embeds_revocation_data_and_a_document_timestamp(org, director_identity, tsa,
                                                               pki_services):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import DocumentSecurityStore

    pdf = letter_pdf()
    signed = sign_pdf(pdf, director_identity, secret=TEST_PASSPHRASE, level="B-LTA",
                      appearance=BLOCK)
    assert signed.startswith(pdf)
    assert f"GET /{tsa.slug}/crl/intermediate.crl" in pki_services.requests
    reader = PdfFileReader(io.BytesIO(signed))
    assert len(reader.embedded_timestamp_signatures) == 1
    assert DocumentSecurityStore.read_dss(reader).crls
    verdict = verify_pdf(signed, tenant=org.ministry)
    assert verdict.status == "valid"
    sig = verdict.signatures[0]
    assert sig.level == "B-LTA"
    # The DSS and the document timestamp came after the signature: allowed, and reported.
    assert sig.modified_after and not sig.covers_whole_file and sig.problem == ""
    assert "ภายหลัง" in verdict.label_th


def test_b_t_without_a_tsa_configured_is_refused(director_identity, no_tsa):
    err = error_of(lambda: sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE,
                                    level="B-T"))
    assert err.code == "tsa_not_configured"


def test_tsa_that_does_not_answer_gives_tsa_unreachable(director_identity, tsa, settings):
    tsa.tsa_down = True
    try:
        err = error_of(lambda: sign_pdf(letter_pdf(), director_identity,
                                        secret=TEST_PASSPHRASE, level="B-T"))
    finally:
        tsa.tsa_down = False
    assert err.code == "tsa_unreachable" and err.status == 503
    settings.SARABAN_TSA_URL = "http://127.0.0.1:9/tsa"  # nothing listens on the discard port
    err = error_of(lambda: sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE))
    assert err.code == "tsa_unreachable"


def test_signature_from_an_unknown_root_is_untrusted(org, stranger_pki, no_tsa):
    identity = make_identity(org.officer, org.ministry, stranger_pki, trust=False)
    signed = sign_pdf(letter_pdf(), identity, secret=TEST_PASSPHRASE)
    verdict = verify_pdf(signed, tenant=org.ministry)
    assert verdict.status == "untrusted"
    sig = verdict.signatures[0]
    assert sig.intact and not sig.trusted
    assert sig.problem == "ผู้ออกใบรับรองไม่อยู่ในรายการที่เชื่อถือ"
    assert verdict.is_red


def test_a_tenants_own_root_is_trusted_by_that_tenant_only(org, stranger_pki, no_tsa):
    identity = make_identity(org.officer, org.ministry, stranger_pki, trust=False)
    trust_pki(stranger_pki, tenant=org.province)
    signed = sign_pdf(letter_pdf(), identity, secret=TEST_PASSPHRASE)
    assert verify_pdf(signed, tenant=org.province).status == "valid"
    assert verify_pdf(signed, tenant=org.ministry).status == "untrusted"
    assert verify_pdf(signed, tenant=None).status == "untrusted"


def test_roots_from_the_trust_roots_setting_are_trusted(org, stranger_pki, no_tsa, settings,
                                                       tmp_path):
    identity = make_identity(org.officer, org.ministry, stranger_pki, trust=False)
    signed = sign_pdf(letter_pdf(), identity, secret=TEST_PASSPHRASE)
    settings.SARABAN_TRUST_ROOTS = [str(stranger_pki.write_root(tmp_path))]
    assert verify_pdf(signed, tenant=None).status == "valid"


def test_one_byte_changed_inside_the_signed_range_is_invalid(org, director_identity, tsa):
    signed = sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE)
    verdict = verify_pdf(flip_signed_byte(signed), tenant=org.ministry)
    assert verdict.status == "invalid"
    sig = verdict.signatures[0]
    assert not sig.intact
    assert sig.problem == "ข้อมูลที่ลงนามถูกแก้ไข (ค่าแฮชไม่ตรงกับที่ลงนามไว้)"
    assert verdict.label_th.startswith("ลายมือชื่ออิเล็กทรอนิกส์ไม่ถูกต้อง")


@pytest.mark.parametrize("what", ["annotation", "page"])
def test_an_unsigned_update_adding_content_is_modified(org, director_identity, no_tsa, what):
    signed = sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE, appearance=BLOCK)
    tampered = append_unsigned_update(signed, what=what)
    assert tampered.startswith(signed)
    verdict = verify_pdf(tampered, tenant=org.ministry)
    assert verdict.status == "modified"
    sig = verdict.signatures[0]
    assert sig.intact and sig.modified_after and not sig.covers_whole_file
    assert sig.problem == "มีการแก้ไขเนื้อหาเอกสารหลังลงนาม"
    assert verdict.label_th.startswith("เอกสารถูกแก้ไขหลังลงนาม")


def test_a_later_signature_keeps_the_first_valid_and_is_reported(org, director_identity, seal,
                                                                 tsa):
    first = sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE, appearance=BLOCK)
    both = sign_pdf(first, seal, appearance=Appearance(page=0, box=(60, 60, 260, 110),
                                                        lines=("ตรากระทรวงมหาดไทย",)))
    assert both.startswith(first)
    verdict = verify_pdf(both, tenant=org.ministry)
    assert verdict.status == "valid"
    director, agency = verdict.signatures
    assert director.signer_name == "นายสมชาย ใจดี" and director.modified_after
    assert agency.signer_name == "กระทรวงมหาดไทย" and agency.covers_whole_file
    assert {s.field_name for s in verdict.signatures} == {"Signature1", "Signature2"}


def test_seal_signs_with_its_stored_secret(org, seal, no_tsa):
    signed = sign_pdf(letter_pdf(), seal)
    assert verify_pdf(signed, tenant=org.ministry).status == "valid"


def test_person_signing_needs_their_passphrase(director_identity, no_tsa):
    assert error_of(lambda: sign_pdf(letter_pdf(), director_identity)).code == (
        "signing_secret_required"
    )
    err = error_of(lambda: sign_pdf(letter_pdf(), director_identity, secret="wrong"))
    assert err.code == "signing_secret_wrong" and err.field == "secret"


def test_expired_or_inactive_identity_cannot_sign(director_identity, no_tsa):
    import datetime as dt

    from django.utils import timezone

    SigningIdentity.objects.filter(pk=director_identity.pk).update(
        not_after=timezone.now() - dt.timedelta(days=1)
    )
    director_identity.refresh_from_db()
    err = error_of(lambda: sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE))
    assert err.code == "identity_expired"
    director_identity.active = False
    err = error_of(lambda: sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE))
    assert err.code == "identity_inactive"


def test_signing_something_that_is_not_a_pdf_is_refused(director_identity, no_tsa):
    err = error_of(lambda: sign_pdf(b"%PDF-1.7\nnot really", director_identity,
                                    secret=TEST_PASSPHRASE))
    assert err.code == "pdf_unreadable"
    err = error_of(lambda: sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE,
                                    appearance=Appearance(page=5, box=(0, 0, 200, 80),
                                                          lines=("x",))))
    assert err.code == "bad_appearance"


def test_field_name_in_use_is_refused(director_identity, no_tsa):
    signed = sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE,
                      field_name="Director")
    err = error_of(lambda: sign_pdf(signed, director_identity, secret=TEST_PASSPHRASE,
                                    field_name="Director"))
    assert err.code == "field_exists"


def test_verdicts_for_files_without_signatures(org):
    assert verify_pdf(letter_pdf(), tenant=org.ministry).status == "unsigned"
    assert verify_pdf(b"\x89PNG\r\n\x1a\nrest", tenant=org.ministry).status == "not_pdf"
    broken = verify_pdf(b"%PDF-1.7\n1 0 obj <<", tenant=org.ministry)
    assert broken.status == "unreadable"
    assert broken.label_th and not broken.signatures


def test_seal_of_another_agency_signs_as_that_agency(org, pki, no_tsa):
    seal = make_seal(org.province, pki)
    signed = sign_pdf(letter_pdf(), seal)
    verdict = verify_pdf(signed, tenant=org.ministry)
    assert verdict.status == "valid"
    assert verdict.signatures[0].signer_name == "จังหวัดเชียงใหม่"


def test_a_revoked_certificate_is_caught_when_revocation_is_checked(org, pki, no_tsa,
                                                                   settings):
    from saraban.signatures.services import identity_add_pkcs12

    issued = pki.issue_person("นายถูก เพิกถอน")
    trust_pki(pki)
    identity = identity_add_pkcs12(actor=None, tenant=org.ministry, person=org.officer,
                                   p12=pki.pkcs12(issued), passphrase=TEST_PASSPHRASE)
    signed = sign_pdf(letter_pdf(), identity, secret=TEST_PASSPHRASE)
    pki.revoke(issued)
    settings.SARABAN_VERIFY_REVOCATION = False
    assert verify_pdf(signed, tenant=org.ministry).status == "valid"  # the file alone
    settings.SARABAN_VERIFY_REVOCATION = True
    verdict = verify_pdf(signed, tenant=org.ministry)
    assert verdict.status == "invalid"
    assert verdict.signatures[0].problem == "ใบรับรองของผู้ลงนามถูกเพิกถอน"


def test_a_saraban_stamp_overlay_after_signing_keeps_the_signature_valid(org, director_identity,
                                                                         tsa):
    from saraban.letters.stamp import stamp_pdf
    from saraban.signatures.pades import add_overlay

    signed = sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE, level="B-LTA")
    # The receipt stamp, typeset as a small one-page PDF, laid over the top right corner.
    from pypdf import PdfWriter

    blank = io.BytesIO()
    page_writer = PdfWriter()
    page_writer.add_blank_page(width=170, height=90)
    page_writer.write(blank)
    stamp = stamp_pdf(blank.getvalue(), registry_name="สารบรรณกลาง สป.มท.", number="1234",
                      date_text="23 พ.ย. 2569", time_text="10:15 น.")
    stamped = add_overlay(signed, stamp, page=0, box=(400, 730, 570, 820), note="ตรารับ")
    assert stamped.startswith(signed)
    verdict = verify_pdf(stamped, tenant=org.ministry)
    assert verdict.status == "valid", verdict
    assert verdict.signatures[0].modified_after and verdict.signatures[0].problem == ""
    # A second signature over the stamped copy is fine too.
    again = sign_pdf(stamped, director_identity, secret=TEST_PASSPHRASE, level="B-B")
    assert verify_pdf(again, tenant=org.ministry).status == "valid"
    # But any other annotation added the same way is still a modification.
    assert verify_pdf(append_unsigned_update(stamped, what="annotation"),
                      tenant=org.ministry).status == "modified"


def test_a_signature_after_a_b_lta_document_timestamp_is_fine(org, director_identity, seal,
                                                             tsa):
    archived = sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE, level="B-LTA")
    sealed = sign_pdf(archived, seal, level="B-T")
    verdict = verify_pdf(sealed, tenant=org.ministry)
    assert verdict.status == "valid"
    assert [s.signer_name for s in verdict.signatures] == ["นายสมชาย ใจดี", "กระทรวงมหาดไทย"]
