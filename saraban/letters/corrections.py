"""Correcting an outgoing letter before it is sent again (issue 3).

A registered letter is never rewritten. A correction adds the new files beside the old ones:
each replaced file keeps its bytes (content-addressed, never deleted) and is marked
``replaced_at`` / ``replaced_by`` with the reason, so the letter page and the API show it as
"ฉบับก่อนแก้ไข", and the audit event ``letter_correct`` names the old and new hashes. Only the
current files (``replaced_at`` is null) are "the letter's files": they are what the exchange
sends and what the receipt stamp is put on.

A letter may be corrected only while none of its deliveries is in flight or may have
arrived unanswered (queued, sent or failed), and never after a recipient registered it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from saraban.agencies.actors import Actor
from saraban.agencies.models import Person
from saraban.core.audit import audit_record
from saraban.core.errors import Conflict, PermissionDenied, ValidationFailed

from .access import registries_for
from .models import Direction, FileRole, Letter, LetterFile, RegisterEntry
from .services import Upload, _store_uploads

REASON_MAX = 500
SUBJECT_MAX = 500


def current_files(letter: Letter) -> QuerySet[LetterFile]:
    """The letter's files as they stand now (not the ones a correction replaced)."""
    return letter.files.filter(replaced_at__isnull=True)


def replaced_files(letter: Letter) -> QuerySet[LetterFile]:
    """The files a correction replaced, oldest first, with their reason."""
    return letter.files.filter(replaced_at__isnull=False).order_by("replaced_at", "role", "pk")


def may_correct(person: Person, letter: Letter) -> bool:
    """A registry clerk of a registry where the letter is registered (the one that numbered it)."""
    return registries_for(person).filter(
        pk__in=RegisterEntry.objects.filter(letter=letter).values("series__registry_id")
    ).exists()


def _check_actor(actor: Actor, letter: Letter) -> None:
    if not may_correct(actor.person, letter):
        raise PermissionDenied(
            "ท่านไม่มีสิทธิ์แก้ไขหนังสือนี้ (เฉพาะเจ้าหน้าที่สารบรรณของทะเบียนที่ออกเลข)",
            code="correct_forbidden",
        )


def _check_deliveries(letter: Letter) -> None:
    """Refuse while a delivery is on its way (or may have arrived) or after it was registered."""
    from saraban.exchange.models import MessageType, OutboxMessage, OutState

    states = set(
        OutboxMessage.objects.filter(letter=letter, type=MessageType.LETTER)
        .values_list("state", flat=True)
    )
    if OutState.REGISTERED in states:
        raise Conflict("หนังสือนี้ผู้รับลงทะเบียนรับแล้ว แก้ไขไม่ได้", code="letter_delivered")
    if states & {OutState.QUEUED, OutState.SENT, OutState.FAILED}:
        raise Conflict(
            "หนังสือนี้อยู่ระหว่างการส่ง แก้ไขได้เมื่อผู้รับปฏิเสธหรือส่งคืนและถอนคืนแล้ว",
            code="letter_in_flight",
        )


def _describe(f: LetterFile) -> dict[str, Any]:
    return {"role": f.role, "filename": f.filename, "sha256": f.blob_id}


def letter_correct(
    *,
    actor: Actor,
    letter: Letter,
    reason: str,
    main_file: Upload | None = None,
    attachments: Sequence[Upload] = (),
    replace_attachments: bool = False,
    subject: str | None = None,
) -> Letter:
    """Correct an outgoing letter: new files and/or subject, the old ones kept as replaced.

    ``main_file`` replaces the current main file; ``attachments`` are added, or replace all
    current attachments when ``replace_attachments``. Bad input or a bad file changes nothing.
    """
    if letter.direction != Direction.OUTGOING:
        raise ValidationFailed("แก้ไขได้เฉพาะหนังสือส่ง", code="not_outgoing")
    _check_actor(actor, letter)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("กรุณาระบุเหตุผลการแก้ไข", code="reason_required", field="reason")
    if len(reason) > REASON_MAX:
        raise ValidationFailed("เหตุผลยาวเกิน 500 ตัวอักษร", code="reason_too_long",
                               field="reason")
    new_subject = subject.strip() if subject is not None else None
    if new_subject is not None:
        if not new_subject:
            raise ValidationFailed("กรุณาระบุเรื่อง", code="subject_required", field="subject")
        if len(new_subject) > SUBJECT_MAX:
            raise ValidationFailed("เรื่องยาวเกิน 500 ตัวอักษร", code="subject_too_long",
                                   field="subject")
    with transaction.atomic():
        locked = Letter.objects.select_for_update().get(pk=letter.pk)
        _check_deliveries(locked)
        old_subject = locked.subject
        subject_changed = new_subject is not None and new_subject != old_subject
        current = list(current_files(locked).select_related("blob"))
        old_main = next((f for f in current if f.role == FileRole.MAIN), None)
        old_attachments = [f for f in current if f.role == FileRole.ATTACHMENT]
        replaced_attachments = old_attachments if replace_attachments else []
        if not (main_file or attachments or replaced_attachments or subject_changed):
            raise ValidationFailed("ไม่มีสิ่งที่แก้ไข กรุณาแนบไฟล์ใหม่หรือแก้ไขเรื่อง",
                                   code="nothing_to_correct", field="main_file")
        stored = _store_uploads(main_file, attachments)  # FileRejected: the transaction rolls back
        now = timezone.now()
        replaced = ([old_main] if main_file is not None and old_main is not None else [])
        replaced += replaced_attachments
        # Mark the old ones first: the one-main constraint only covers current files.
        LetterFile.objects.filter(pk__in=[f.pk for f in replaced]).update(
            replaced_at=now, correction_reason=reason
        )
        added = [
            LetterFile.objects.create(
                letter=locked, blob=blob, role=role, filename=name[:255],
                added_by=actor.person, added_at=now,
            )
            for role, name, blob in stored
        ]
        if added:
            from saraban.signatures.services import check_letter_files

            check_letter_files(locked, actor=actor)
        new_main = next((f for f in added if f.role == FileRole.MAIN), None)
        if old_main is not None and new_main is not None:
            LetterFile.objects.filter(pk=old_main.pk).update(replaced_by=new_main)
        if subject_changed:
            assert new_subject is not None
            locked.subject = new_subject
            locked.save(update_fields=["subject"])
        audit_record(
            agency_id=locked.tenant_id,
            action="letter_correct",
            actor=actor,
            target_type="letter",
            target_id=locked.pk,
            details={
                "reason": reason,
                "old_files": [_describe(f) for f in replaced],
                "new_files": [_describe(f) for f in added],
                "old_subject": old_subject,
                "new_subject": locked.subject,
            },
        )
    return locked
