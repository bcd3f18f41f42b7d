from __future__ import annotations

import io

import pytest

from saraban.agencies.actors import resolve_actor
from saraban.core.audit import history
from saraban.core.errors import FileRejected, PermissionDenied, ValidationFailed
from saraban.letters.access import access_letter
from saraban.letters.models import Blob, Letter, RegisterEntry, SeriesKind
from saraban.letters.services import (
    LetterDetails,
    Recipient,
    Upload,
    entry_cancel,
    handover_register,
    letter_hand_over,
    letter_register_incoming,
    letter_register_outgoing,
)


def tiny_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def incoming(subject: str = "ขอเชิญประชุม", **kw) -> LetterDetails:
    return LetterDetails(kind="external", subject=subject, sender_text="กรมการปกครอง",
                         number="มท 0307/123", **kw)


def test_incoming_gets_receipt_numbers_in_order(org):
    actor = resolve_actor(org.clerk)
    first = letter_register_incoming(actor=actor, registry=org.central, details=incoming())
    second = letter_register_incoming(actor=actor, registry=org.central, details=incoming())
    assert (first.number, second.number) == (1, 2)
    assert first.formatted == "1"
    assert first.series.kind == SeriesKind.INCOMING
    assert first.position == org.clerk_post
    assert not first.letter.received_electronically  # on paper, at the desk
    events = history("letter", first.letter_id)
    assert [e.action for e in events] == ["letter_register_incoming"]
    assert events[0].position_title == org.clerk_post.title_th


def test_incoming_with_pdf_is_stored_by_hash(org):
    actor = resolve_actor(org.clerk)
    data = tiny_pdf()
    entry = letter_register_incoming(
        actor=actor, registry=org.central, details=incoming(),
        main_file=Upload("scan.pdf", data),
    )
    f = entry.letter.files.get()
    import hashlib

    assert f.blob.sha256 == hashlib.sha256(data).hexdigest()
    assert f.blob.content_type == "application/pdf"


def test_non_pdf_named_pdf_is_refused_and_nothing_stored(org):
    actor = resolve_actor(org.clerk)
    with pytest.raises(FileRejected) as exc:
        letter_register_incoming(
            actor=actor, registry=org.central, details=incoming(),
            main_file=Upload("evil.pdf", b"MZ\x90\x00 not a pdf at all"),
        )
    assert exc.value.code == "file_type_not_allowed"
    assert Letter.objects.count() == 0
    assert Blob.objects.count() == 0
    assert RegisterEntry.objects.count() == 0


def test_oversized_file_is_refused(org, settings):
    settings.SARABAN_MAX_FILE_BYTES = 100
    with pytest.raises(FileRejected) as exc:
        letter_register_incoming(
            actor=resolve_actor(org.clerk), registry=org.central, details=incoming(),
            main_file=Upload("big.pdf", tiny_pdf()),
        )
    assert exc.value.code == "file_too_large"
    assert Letter.objects.count() == 0


def test_officer_cannot_register(org):
    with pytest.raises(PermissionDenied):
        letter_register_incoming(actor=resolve_actor(org.officer), registry=org.central,
                                 details=incoming())


def test_outgoing_circular_number_format(org):
    entry = letter_register_outgoing(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject="แจ้งเวียน"),
        series_kind=SeriesKind.CIRCULAR,
        recipients=[Recipient(channel="saraban", agency=org.province)],
    )
    assert entry.formatted == "มท 0200/ว 1"
    assert entry.letter.number == "มท 0200/ว 1"
    assert entry.letter.dispatches.get().channel == "saraban"


def test_order_number_format(org):
    entry = letter_register_outgoing(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="directive", subkind="order", subject="แต่งตั้งคณะทำงาน",
                              recipient_text="ผู้เกี่ยวข้อง"),
        series_kind=SeriesKind.ORDER,
    )
    assert entry.formatted == f"1/{entry.year_be}"


def test_top_secret_cannot_go_electronically(org):
    with pytest.raises(ValidationFailed) as exc:
        letter_register_outgoing(
            actor=resolve_actor(org.clerk), registry=org.central,
            details=LetterDetails(kind="external", subject="ลับที่สุด", secrecy=3),
            recipients=[Recipient(channel="saraban", agency=org.province)],
        )
    assert exc.value.code == "top_secret_not_electronic"


def test_cancel_keeps_number(org):
    actor = resolve_actor(org.clerk)
    entry = letter_register_incoming(actor=actor, registry=org.central, details=incoming())
    entry_cancel(actor=actor, entry=entry, reason="ลงทะเบียนซ้ำ")
    entry.refresh_from_db()
    assert entry.is_cancelled and entry.number == 1 and entry.cancel_reason == "ลงทะเบียนซ้ำ"
    nxt = letter_register_incoming(actor=actor, registry=org.central, details=incoming())
    assert nxt.number == 2


def test_hand_over_to_unit_registers_again(org):
    actor = resolve_actor(org.clerk)
    entry = letter_register_incoming(actor=actor, registry=org.central, details=incoming())
    handover = letter_hand_over(actor=actor, letter=entry.letter, to_registry=org.ict_registry)
    unit_entry = handover_register(actor=actor, handover=handover)
    assert unit_entry.series.registry == org.ict_registry
    assert unit_entry.number == 1
    assert access_letter(org.director, entry.letter_id) == entry.letter


def test_incoming_by_email_keeps_its_channel_and_the_original_mail(org):
    actor = resolve_actor(org.clerk)
    raw = (b"From: =?utf-8?b?4Liq4Liy4Lij4Lia4Lij4Lij4LiT?= <saraban@dla.go.th>\r\n"
           b"Subject: test\r\nMessage-ID: <a1@dla.go.th>\r\n\r\nbody\r\n")
    entry = letter_register_incoming(
        actor=actor, registry=org.central, details=incoming(received_via="email"),
        main_file=Upload("letter.pdf", tiny_pdf()),
        originals=[Upload("message.eml", raw)],
    )
    letter = entry.letter
    assert letter.received_via == "email" and letter.received_electronically
    assert letter.received_via_label == "อีเมล"
    roles = {f.role: f for f in letter.files.select_related("blob")}
    assert set(roles) == {"main", "original"}
    original = roles["original"]
    assert original.filename == "message.eml"
    assert original.blob.content_type == "message/rfc822"
    from saraban.letters.files import read_blob

    assert read_blob(original.blob) == raw


def test_incoming_channel_must_be_electronic(org):
    actor = resolve_actor(org.clerk)
    before = RegisterEntry.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        letter_register_incoming(actor=actor, registry=org.central,
                                 details=incoming(received_via="carrier-pigeon"))
    assert exc.value.code == "bad_channel"
    assert RegisterEntry.objects.count() == before


def test_an_original_mail_over_the_limit_is_refused(org, settings):
    settings.SARABAN_MAIL_MAX_BYTES = 100
    actor = resolve_actor(org.clerk)
    with pytest.raises(FileRejected) as exc:
        letter_register_incoming(actor=actor, registry=org.central,
                                 details=incoming(received_via="email"),
                                 originals=[Upload("big.eml", b"X: y\r\n\r\n" + b"a" * 200)])
    assert exc.value.code == "file_too_large"
    assert not Letter.objects.filter(subject="ขอเชิญประชุม").exists()
