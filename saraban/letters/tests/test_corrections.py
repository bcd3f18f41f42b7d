"""A rejected letter is withdrawn, corrected as a new version, and sent again (issue 3)."""

from __future__ import annotations

import hashlib
import io

import pytest

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Role, RoleGrant
from saraban.agencies.sample import make_person
from saraban.core.audit import audit_verify, history
from saraban.core.errors import Conflict, FileRejected, PermissionDenied, ValidationFailed
from saraban.exchange.inbox import exchange_inbox_register, exchange_inbox_reject
from saraban.exchange.models import InboxMessage, InState, OutboxMessage, OutState
from saraban.exchange.outbox import exchange_resend, exchange_withdraw
from saraban.exchange.worker import drain
from saraban.letters import files as blobs
from saraban.letters.corrections import current_files, letter_correct, replaced_files
from saraban.letters.models import Blob, LetterFile
from saraban.letters.services import LetterDetails, Recipient, Upload, letter_register_outgoing
from saraban.letters.stamping import stamped_copy
from saraban.letters.tests.test_register import tiny_pdf

REASON = "แนบไฟล์ฉบับลงนามแทนฉบับร่าง"


@pytest.fixture
def province_clerk(org):
    person = make_person("cm-clerk", "ประเสริฐ ดอยคำ", agency=org.province, password=None)
    RoleGrant.objects.create(person=person, unit=org.province, role=Role.REGISTRY_CLERK)
    return resolve_actor(person)


def other_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer.add_blank_page(width=612, height=792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def send(org, subject="ขอความร่วมมือสำรวจข้อมูล"):
    return letter_register_outgoing(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject=subject, urgency=1),
        recipients=[Recipient(channel="saraban", agency=org.province)],
        main_file=Upload("letter.pdf", tiny_pdf()),
    )


def rejected_and_withdrawn(org, province_clerk):
    entry = send(org)
    drain()
    exchange_inbox_reject(actor=province_clerk, message=InboxMessage.objects.get(),
                          reason="ไม่มีลายมือชื่อ")
    drain()
    out = OutboxMessage.objects.get(letter=entry.letter)
    assert out.state == OutState.REJECTED
    exchange_withdraw(actor=resolve_actor(org.clerk), out=out)
    out.refresh_from_db()
    return entry, out


def test_corrected_letter_is_sent_again_with_the_new_file_and_registered(org, province_clerk):
    entry, out = rejected_and_withdrawn(org, province_clerk)
    letter = entry.letter
    clerk = resolve_actor(org.clerk)
    old = letter.files.get()
    new_bytes = other_pdf()

    letter_correct(actor=clerk, letter=letter, reason=REASON,
                   main_file=Upload("letter-signed.pdf", new_bytes), subject="ขอความร่วมมือ (แก้ไข)")
    fresh = exchange_resend(actor=clerk, out=out)
    drain()

    arrived = InboxMessage.objects.get(state=InState.WAITING)
    listed = {f["sha256"] for f in arrived.envelope["files"]}
    assert listed == {sha(new_bytes)}
    assert old.blob_id not in listed
    assert arrived.envelope["letter"]["subject"] == "ขอความร่วมมือ (แก้ไข)"
    their = exchange_inbox_register(actor=province_clerk, message=arrived)
    assert their.letter.files.get().blob_id == sha(new_bytes)
    drain()
    fresh.refresh_from_db()
    assert fresh.state == OutState.REGISTERED and fresh.receipt_number == their.formatted

    # The old version is kept, listed as replaced with its reason; the file is still stored.
    [gone] = replaced_files(letter)
    assert gone.pk == old.pk and gone.correction_reason == REASON
    assert gone.replaced_at is not None
    assert gone.replaced_by == current_files(letter).get()
    assert blobs.read_blob(Blob.objects.get(pk=old.blob_id)) == tiny_pdf()
    assert letter.files.count() == 2

    [event] = [e for e in history("letter", letter.pk) if e.action == "letter_correct"]
    assert event.details["reason"] == REASON
    assert [f["sha256"] for f in event.details["old_files"]] == [old.blob_id]
    assert [f["sha256"] for f in event.details["new_files"]] == [sha(new_bytes)]
    assert event.details["old_subject"] == "ขอความร่วมมือสำรวจข้อมูล"
    assert event.details["new_subject"] == "ขอความร่วมมือ (แก้ไข)"
    assert all(problem is None for _a, _n, problem in audit_verify())


def test_the_receipt_stamp_is_put_on_the_current_main_file(org, province_clerk):
    entry, _out = rejected_and_withdrawn(org, province_clerk)
    letter_correct(actor=resolve_actor(org.clerk), letter=entry.letter, reason=REASON,
                   main_file=Upload("v2.pdf", other_pdf()))
    derived = stamped_copy(entry)
    assert derived is not None and derived.source_id == sha(other_pdf())


def test_a_letter_with_a_queued_delivery_cannot_be_corrected(org):
    entry = send(org)
    with pytest.raises(Conflict) as exc:
        letter_correct(actor=resolve_actor(org.clerk), letter=entry.letter, reason=REASON,
                       main_file=Upload("v2.pdf", other_pdf()))
    assert exc.value.code == "letter_in_flight"
    assert entry.letter.files.count() == 1


def test_a_registered_letter_cannot_be_corrected(org, province_clerk):
    entry = send(org)
    drain()
    exchange_inbox_register(actor=province_clerk, message=InboxMessage.objects.get())
    drain()
    with pytest.raises(Conflict) as exc:
        letter_correct(actor=resolve_actor(org.clerk), letter=entry.letter, reason=REASON,
                       subject="เรื่องใหม่")
    assert exc.value.code == "letter_delivered"


def test_a_correction_needs_a_reason(org, province_clerk):
    entry, _out = rejected_and_withdrawn(org, province_clerk)
    with pytest.raises(ValidationFailed) as exc:
        letter_correct(actor=resolve_actor(org.clerk), letter=entry.letter, reason="  ",
                       main_file=Upload("v2.pdf", other_pdf()))
    assert (exc.value.code, exc.value.field) == ("reason_required", "reason")
    assert LetterFile.objects.filter(letter=entry.letter).count() == 1


def test_a_non_pdf_main_file_is_refused_and_nothing_changes(org, province_clerk):
    entry, _out = rejected_and_withdrawn(org, province_clerk)
    before = list(entry.letter.files.values_list("pk", "blob_id", "replaced_at"))
    with pytest.raises(FileRejected) as exc:
        letter_correct(actor=resolve_actor(org.clerk), letter=entry.letter, reason=REASON,
                       main_file=Upload("v2.pdf", b"this is not a pdf at all"),
                       subject="เรื่องใหม่")
    assert exc.value.field == "main_file"
    entry.letter.refresh_from_db()
    assert entry.letter.subject == "ขอความร่วมมือสำรวจข้อมูล"
    assert list(entry.letter.files.values_list("pk", "blob_id", "replaced_at")) == before
    assert not [e for e in history("letter", entry.letter.pk) if e.action == "letter_correct"]


def test_only_a_clerk_of_the_letters_registry_may_correct(org, province_clerk):
    entry, _out = rejected_and_withdrawn(org, province_clerk)
    with pytest.raises(PermissionDenied):
        letter_correct(actor=resolve_actor(org.officer), letter=entry.letter, reason=REASON,
                       subject="เรื่องใหม่")


def test_attachments_can_be_replaced_and_the_subject_alone_corrected(org, province_clerk):
    entry, _out = rejected_and_withdrawn(org, province_clerk)
    clerk = resolve_actor(org.clerk)
    letter_correct(actor=clerk, letter=entry.letter, reason="เพิ่มสิ่งที่ส่งมาด้วย",
                   attachments=[Upload("a.pdf", other_pdf())])
    assert current_files(entry.letter).count() == 2
    letter_correct(actor=clerk, letter=entry.letter, reason="เปลี่ยนสิ่งที่ส่งมาด้วย",
                   attachments=[Upload("b.pdf", tiny_pdf())], replace_attachments=True)
    roles = sorted(current_files(entry.letter).values_list("role", "filename"))
    assert roles == [("attachment", "b.pdf"), ("main", "letter.pdf")]
    assert replaced_files(entry.letter).get().filename == "a.pdf"
    with pytest.raises(ValidationFailed) as exc:
        letter_correct(actor=clerk, letter=entry.letter, reason="ไม่มีอะไรเปลี่ยน")
    assert exc.value.code == "nothing_to_correct"


def test_the_api_lists_current_files_and_the_replaced_ones_apart(org, province_clerk):
    from saraban.api.render import LETTER_PREFETCH, letter_out
    from saraban.letters.models import Letter

    entry, _out = rejected_and_withdrawn(org, province_clerk)
    letter_correct(actor=resolve_actor(org.clerk), letter=entry.letter, reason=REASON,
                   main_file=Upload("v2.pdf", other_pdf()))
    shown = letter_out(Letter.objects.prefetch_related(*LETTER_PREFETCH).get(pk=entry.letter.pk))
    assert [f.sha256 for f in shown.files] == [sha(other_pdf())]
    assert [(f.sha256, f.correction_reason) for f in shown.replaced_files] == [
        (sha(tiny_pdf()), REASON)
    ]
