"""Actions and selectors of the OCR intake.

- ``intake_upload``: keep the scan, queue it for OCR (one transaction, with its audit event
  and the worker's job).
- ``intake_process``: what the worker does: claim the intake, run OCR outside any
  transaction, then store the searchable PDF, the text and the proposed fields.
- ``intake_register``: register the letter with the clerk's confirmed fields and the
  original scan as its main file; the searchable PDF is kept beside it as a
  ``DerivedFile(purpose="ocr")``.
- ``ocr_text_for_letter``: the OCR text of a letter's scans, for the search index.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from saraban.agencies.actors import Actor
from saraban.agencies.models import Person
from saraban.core.audit import audit_record
from saraban.core.errors import Conflict, FileRejected, NotFound, PermissionDenied
from saraban.letters import files
from saraban.letters.access import registries_for
from saraban.letters.models import DerivedFile, Letter, RegisterEntry, Registry
from saraban.letters.services import LetterDetails, Upload, letter_register_incoming

from .digits import header_text
from .fields import AgencyMatcher, ProposedFields, propose_fields
from .models import IntakeState, ScanIntake
from .ocr import OcrFailed, OcrUnavailable, run_ocr
from .text import normalise_ocr

__all__ = [
    "OCR_PURPOSE",
    "access_intake",
    "intake_process",
    "intake_register",
    "intake_upload",
    "intakes_pending",
    "ocr_text_for_letter",
    "propose_for_scan",
]

OCR_PURPOSE = "ocr"
# A claim older than this is taken as a worker that died mid-run; the job may run again.
STALE_AFTER = dt.timedelta(minutes=30)
NO_TEXT_FOUND = "ไม่พบข้อความในภาพ กรุณากรอกข้อมูลเอง"


def _check_registry(actor: Actor, registry: Registry) -> None:
    if not registries_for(actor.person).filter(pk=registry.pk).exists():
        raise PermissionDenied("ท่านไม่มีสิทธิ์ลงทะเบียนในทะเบียนนี้", code="registry_forbidden")


def intake_upload(*, actor: Actor, registry: Registry, upload: Upload) -> ScanIntake:
    """Keep a scanned letter (PDF, PNG, JPEG, TIFF) and queue it for OCR.

    Raises ``PermissionDenied`` for a registry the clerk does not work in and
    ``FileRejected`` for a file of another type, too large or unreadable (nothing kept).
    """
    _check_registry(actor, registry)
    with transaction.atomic():
        try:
            blob = files.store_file(upload.content)
        except FileRejected as exc:
            exc.field = exc.field or "scan"
            raise
        intake = ScanIntake.objects.create(
            tenant_id=registry.tenant_id, registry=registry, original=blob,
            filename=(upload.filename or "scan")[:255], created_by=actor.person,
            created_at=timezone.now(),
        )
        audit_record(
            agency_id=registry.tenant_id, action="intake_upload", actor=actor,
            target_type="scan_intake", target_id=intake.pk,
            details={"registry": registry.pk, "file": blob.sha256, "filename": intake.filename},
        )
        from .tasks import read_scan

        # The job row commits with the intake (the DB-backed queue): it runs after commit.
        read_scan.enqueue(intake.pk)
    return intake


def _claim(intake_id: int) -> bool:
    """Mark the intake running if it is queued (or its last run was abandoned)."""
    now = timezone.now()
    return bool(
        ScanIntake.objects.filter(
            Q(state=IntakeState.QUEUED)
            | Q(state=IntakeState.RUNNING, started_at__lt=now - STALE_AFTER),
            pk=intake_id,
        ).update(state=IntakeState.RUNNING, started_at=now)
    )


def intake_process(intake_id: int) -> ScanIntake:
    """Read one queued scan (the worker's job); a finished or claimed one is left alone."""
    if not _claim(intake_id):
        return ScanIntake.objects.get(pk=intake_id)
    intake = ScanIntake.objects.select_related("original").get(pk=intake_id)
    started = time.monotonic()
    pdf: bytes | None = None
    text = ""
    pages = 0
    try:
        result = run_ocr(files.read_blob(intake.original),
                         content_type=intake.original.content_type)
    except OcrUnavailable as exc:
        state, message = IntakeState.NO_TEXT, str(exc)
    except OcrFailed as exc:
        state, message = IntakeState.FAILED, str(exc)
    else:
        pdf, pages = result.pdf, result.pages
        text = normalise_ocr(result.text)
        state, message = (IntakeState.DONE, "") if text else (IntakeState.NO_TEXT, NO_TEXT_FOUND)
    proposed = (
        propose_for_scan(text, pdf, agencies=AgencyMatcher.from_db(),
                         today=timezone.localdate(intake.created_at)).as_json()
        if text else {}
    )
    return _finish(intake, state=state, message=message, text=text, pdf=pdf, pages=pages,
                   proposed=proposed, seconds=time.monotonic() - started)


_THAI_DIGIT = re.compile("[\u0e50-\u0e59\u0e12]")


def propose_for_scan(
    text: str, pdf: bytes | None, *, agencies: AgencyMatcher | None, today: dt.date
) -> ProposedFields:
    """The fields read from a scan's text; a number or date printed in Thai digits is taken
    from the upper half of the page read again, digits by their shape (``digits``)."""
    found = propose_fields(text, agencies=agencies, today=today)
    top = "\n".join(text.split("\n")[:30])
    if pdf is None or not _THAI_DIGIT.search(top):
        return found
    # The upper half holds the number and the date, except on a หนังสือประทับตรา, whose
    # date is at the foot: the whole page is read again when the upper half has no date.
    header = header_text(pdf, share=0.5 if found.letter_date else 1.0)
    if not header:
        return found
    again = propose_fields(normalise_ocr(header), today=today)
    if again.number and _THAI_DIGIT.search(again.number):
        # The letter code (มท, ตย …) as first read, if the second reading lost it.
        code = re.match(r"([ก-ฮ][ก-ฮ.]{0,5}) ", found.number)
        lost = not re.match(r"[ก-ฮ]", again.number)
        found.number = f"{code[1]} {again.number}" if code and lost else again.number
        if found.sender_agency_id is None and agencies is not None:
            agency = agencies.by_number(found.number)
            if agency is not None:
                found.sender_agency_id, found.sender_text = agency.pk, agency.name
    if again.letter_date is not None:
        found.letter_date = again.letter_date
    return found


def _finish(
    intake: ScanIntake, *, state: str, message: str, text: str, pdf: bytes | None,
    pages: int, proposed: dict[str, Any], seconds: float,
) -> ScanIntake:
    with transaction.atomic():
        searchable = None
        if pdf is not None:
            try:
                searchable = files.store_file(pdf, allowed={files.PDF})
            except FileRejected:
                searchable = None
        locked = ScanIntake.objects.select_for_update().get(pk=intake.pk)
        locked.state = state
        locked.message = message
        locked.ocr_text = text
        locked.searchable = searchable
        locked.pages = pages
        locked.proposed = proposed
        locked.duration = dt.timedelta(seconds=round(seconds, 3))
        locked.finished_at = timezone.now()
        locked.save(update_fields=["state", "message", "ocr_text", "searchable", "pages",
                                   "proposed", "duration", "finished_at"])
        if locked.letter_id is not None and searchable is not None:
            _keep_searchable(locked)  # registered while OCR was running
        audit_record(
            agency_id=locked.tenant_id, action="intake_read", actor=None,
            target_type="scan_intake", target_id=locked.pk,
            details={"state": state, "pages": pages, "seconds": round(seconds, 1),
                     "searchable": searchable.sha256 if searchable else None,
                     "proposed": sorted(proposed)},
        )
    return locked


def _keep_searchable(intake: ScanIntake) -> None:
    """The searchable PDF beside the registered letter's original scan."""
    if intake.searchable_id is None or intake.letter_id is None:
        return
    entry = (
        RegisterEntry.objects.filter(letter_id=intake.letter_id,
                                     series__registry_id=intake.registry_id)
        .order_by("pk").first()
    )
    if entry is not None:
        DerivedFile.objects.get_or_create(
            entry=entry, source_id=intake.original_id, purpose=OCR_PURPOSE,
            defaults={"blob_id": intake.searchable_id},
        )


def intake_register(
    *,
    actor: Actor,
    intake: ScanIntake,
    details: LetterDetails,
    attachments: Sequence[Upload] = (),
) -> RegisterEntry:
    """Register the scanned letter with the fields the clerk confirmed or corrected.

    The original scan is the letter's main file. Raises ``Conflict`` if it is registered
    already, and whatever ``letter_register_incoming`` raises for bad details (nothing
    changes then).
    """
    _check_registry(actor, intake.registry)
    with transaction.atomic():
        locked = ScanIntake.objects.select_for_update().select_related(
            "original", "registry"
        ).get(pk=intake.pk)
        if locked.letter_id is not None:
            raise Conflict("ลงทะเบียนหนังสือจากภาพสแกนนี้ไปแล้ว", code="intake_registered")
        details.is_paper = False
        entry = letter_register_incoming(
            actor=actor, registry=locked.registry, details=details,
            main_file=Upload(filename=locked.filename,
                             content=files.read_blob(locked.original)),
            attachments=attachments,
        )
        locked.letter = entry.letter
        locked.save(update_fields=["letter"])
        _keep_searchable(locked)
        audit_record(
            agency_id=locked.tenant_id, action="intake_register", actor=actor,
            target_type="scan_intake", target_id=locked.pk,
            details={"letter": entry.letter_id, "number": entry.formatted,
                     "corrected": _corrections(locked, details)},
        )
    intake.letter = locked.letter
    return entry


def _corrections(intake: ScanIntake, details: LetterDetails) -> list[str]:
    """The proposed fields the clerk changed before registering (for the audit trail)."""
    proposed = ProposedFields.from_json(intake.proposed)
    given = {
        "number": details.number, "letter_date": details.letter_date,
        "subject": details.subject, "salutation": details.salutation,
        "recipient_text": details.recipient_text, "urgency": details.urgency,
        "sender_agency_id": details.sender_agency.pk if details.sender_agency else None,
    }
    return sorted(
        name for name, value in given.items()
        if name in intake.proposed and getattr(proposed, name) != value
    )


# --- selectors ------------------------------------------------------------------------------


def intakes_pending(person: Person) -> QuerySet[ScanIntake]:
    """Scans in this person's registries that are not registered yet, newest first."""
    return ScanIntake.objects.filter(
        registry__in=registries_for(person), letter__isnull=True
    ).select_related("registry")


def access_intake(person: Person, intake_id: int) -> ScanIntake:
    """An intake of one of this person's registries, or ``NotFound``."""
    intake = (
        ScanIntake.objects.filter(pk=intake_id, registry__in=registries_for(person))
        .select_related("registry", "original", "searchable").first()
    )
    if intake is None:
        raise NotFound("ไม่พบภาพสแกนนี้ หรือท่านไม่มีสิทธิ์เข้าถึง", code="intake_not_found")
    return intake


def ocr_text_for_letter(letter: Letter) -> str:
    """The OCR text of a letter's scans ("" if it has none), for the search index."""
    texts = ScanIntake.objects.filter(letter=letter).exclude(ocr_text="").order_by("pk")
    return "\n\n".join(texts.values_list("ocr_text", flat=True))
