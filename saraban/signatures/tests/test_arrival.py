"""Every PDF that arrives is verified inside the action that stores it."""

from __future__ import annotations

import pytest

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Role, RoleGrant
from saraban.agencies.sample import make_person
from saraban.core.audit import audit_verify
from saraban.core.models import AuditEvent
from saraban.letters.corrections import letter_correct
from saraban.letters.services import (
    LetterDetails,
    Recipient,
    Upload,
    letter_register_incoming,
    letter_register_outgoing,
)
from saraban.letters.tests.jobs import run_queued_jobs
from saraban.signatures.models import SignatureCheck
from saraban.signatures.pades import sign_pdf
from saraban.signatures.services import letter_checks
from saraban.signatures.tasks import check_letter_signatures
from saraban.signatures.testing import TEST_PASSPHRASE, append_unsigned_update

from .test_pades import letter_pdf

pytestmark = pytest.mark.django_db


def register_incoming(org, pdf: bytes, subject: str = "ขอเชิญประชุม"):
    return letter_register_incoming(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject=subject, sender_text="จังหวัดเชียงใหม่"),
        main_file=Upload("letter.pdf", pdf),
    )


def test_a_signed_letter_is_checked_when_registered(org, director_identity, no_tsa):
    signed = sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE)
    entry = register_incoming(org, signed)
    blob = entry.letter.files.get().blob
    check = SignatureCheck.objects.get(blob=blob, tenant=org.ministry)
    assert check.status == "valid"
    assert check.signatures[0]["signer_name"] == "นายสมชาย ใจดี"
    assert letter_checks(entry.letter) == {blob.sha256: check}
    assert not AuditEvent.objects.filter(action="signature_flagged").exists()


def test_a_tampered_letter_is_flagged_red_in_the_audit_log(org, director_identity, no_tsa):
    signed = sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE)
    entry = register_incoming(org, append_unsigned_update(signed, what="annotation"))
    check = SignatureCheck.objects.get(tenant=org.ministry)
    assert check.status == "modified"
    flagged = AuditEvent.objects.get(action="signature_flagged")
    assert (flagged.target_type, flagged.target_id) == ("letter", entry.letter.pk)
    assert flagged.actor == org.clerk
    assert flagged.details["status"] == "modified"
    assert all(problem is None for _a, _n, problem in audit_verify())


def test_a_correction_checks_the_new_file(org, director_identity, no_tsa):
    entry = letter_register_outgoing(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject="แจ้งผลการพิจารณา"),
        recipients=[Recipient(channel="post", text="บริษัท ตัวอย่าง จำกัด")],
        main_file=Upload("draft.pdf", letter_pdf()),
    )
    assert SignatureCheck.objects.get().status == "unsigned"
    signed = sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE)
    letter_correct(actor=resolve_actor(org.clerk), letter=entry.letter, reason="ลงนามแล้ว",
                   main_file=Upload("signed.pdf", signed))
    checks = letter_checks(entry.letter)
    assert [c.status for c in checks.values()] == ["valid"]


def test_files_from_before_verification_are_checked_by_the_worker_not_the_page(
        org, director_identity, no_tsa):
    signed = sign_pdf(letter_pdf(), director_identity, secret=TEST_PASSPHRASE)
    entry = register_incoming(org, signed)
    SignatureCheck.objects.all().delete()
    checks = letter_checks(entry.letter)
    assert [c.status for c in checks.values()] == ["unchecked"]
    assert not SignatureCheck.objects.exists()  # reading the verdicts wrote nothing
    check_letter_signatures.enqueue(entry.letter_id)
    assert run_queued_jobs(ending="check_letter_signatures") == 1
    checks = letter_checks(entry.letter)
    assert [c.status for c in checks.values()] == ["valid"]


def test_a_letter_arriving_through_the_exchange_is_checked(org, seal, no_tsa):
    from saraban.exchange.inbox import exchange_inbox_register
    from saraban.exchange.models import InboxMessage
    from saraban.exchange.worker import drain

    sealed = sign_pdf(letter_pdf(), seal)
    letter_register_outgoing(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject="ขอความร่วมมือ"),
        recipients=[Recipient(channel="saraban", agency=org.province)],
        main_file=Upload("letter.pdf", sealed),
    )
    drain()
    arrived = InboxMessage.objects.get()
    # Checked on arrival, for the receiving agency, before anyone registers it.
    on_arrival = SignatureCheck.objects.get(tenant=org.province)
    assert on_arrival.status == "valid"
    assert on_arrival.signatures[0]["signer_name"] == "กระทรวงมหาดไทย"
    person = make_person("cm-clerk", "ประเสริฐ ดอยคำ", agency=org.province, password=None)
    RoleGrant.objects.create(person=person, unit=org.province, role=Role.REGISTRY_CLERK)
    their = exchange_inbox_register(actor=resolve_actor(person), message=arrived)
    assert [c.status for c in letter_checks(their.letter).values()] == ["valid"]
