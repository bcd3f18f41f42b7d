"""The receipt-stamped copy of a registered letter's PDF, kept beside the original.

The copy is made by the worker, never by a page: an action that makes a stamp necessary
(registering an incoming letter, registering it again in a unit, an endorsement, a corrected
main file) calls ``stamps_enqueue`` inside its transaction, and the job ``make_receipt_stamp``
(``saraban.letters.tasks``) calls ``stamped_copy``. Pages read ``stamped_copy_state``: the
copy if it is ready, "being made" if not, "failed" when the worker could not lay a stamp on
that PDF (recorded as a ``letter_stamp_failed`` event), or "none" when the letter has no PDF
to stamp.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction

from saraban.core.audit import audit_record
from saraban.core.models import AuditEvent
from saraban.core.thai import Digits, bangkok, thai_date, with_digits

from . import files
from .models import INCOMING_SERIES, DerivedFile, FileRole, LetterFile, RegisterEntry

if TYPE_CHECKING:
    from .endorsement_page import EndorsementLine
    from .models import Letter


class StampState(enum.StrEnum):
    READY = "ready"
    PENDING = "pending"  # the worker has not made this version yet
    NONE = "none"  # no main PDF, or not an incoming register entry
    FAILED = "failed"  # the worker could not lay a stamp on this PDF

STAMP_FAILED = "letter_stamp_failed"


@dataclass(frozen=True, slots=True)
class StampedCopy:
    state: StampState
    derived: DerivedFile | None = None
    code: str = ""  # why, when it failed


def _main_pdf(entry: RegisterEntry) -> LetterFile | None:
    return (
        entry.letter.files.filter(
            role=FileRole.MAIN, replaced_at__isnull=True, blob__content_type=files.PDF
        )
        .select_related("blob")
        .first()
    )


def _purpose(lines: list[EndorsementLine]) -> str:
    """The copy is remade when an endorsement is added: its purpose names what it carries."""
    if not lines:
        return "receipt_stamp"
    return "stamp+" + hashlib.sha256(repr(lines).encode()).hexdigest()[:20]


def _digits(entry: RegisterEntry) -> Digits:
    return "thai" if entry.series.registry.tenant.thai_digits else "arabic"


def stamped_copy_state(entry: RegisterEntry) -> StampedCopy:
    """The current stamped copy of an incoming entry, if the worker has made it (reads only)."""
    if entry.series.kind not in INCOMING_SERIES:
        return StampedCopy(StampState.NONE)
    main = _main_pdf(entry)
    if main is None:
        return StampedCopy(StampState.NONE)
    purpose = _purpose(_endorsements(entry, _digits(entry)))
    found = (
        DerivedFile.objects.filter(entry=entry, source=main.blob, purpose=purpose)
        .select_related("blob")
        .first()
    )
    if found is not None:
        return StampedCopy(StampState.READY, found)
    failed = (
        AuditEvent.objects.filter(action=STAMP_FAILED, target_type="letter",
                                  target_id=entry.letter_id, details__entry=entry.pk,
                                  details__source=main.blob_id)
        .order_by("-seq").values_list("details", flat=True).first()
    )
    if failed is not None:
        return StampedCopy(StampState.FAILED, code=str(failed.get("code", "")))
    return StampedCopy(StampState.PENDING)


def stamp_failure_record(*, entry: RegisterEntry, code: str) -> None:
    """Record that the stamp could not be laid on the entry's current main PDF (the worker),
    so the page says so instead of "being made"; a corrected file is tried again."""
    main = _main_pdf(entry)
    with transaction.atomic():
        audit_record(
            agency_id=entry.series.registry.tenant_id, action=STAMP_FAILED, actor=None,
            target_type="letter", target_id=entry.letter_id,
            details={"entry": entry.pk, "source": main.blob_id if main else "", "code": code},
        )


def stamps_enqueue(*, letter: Letter | None = None,
                   entries: Iterable[RegisterEntry] = ()) -> int:
    """Queue the stamped copy of each incoming entry (given, or all of ``letter``'s) whose
    letter has a main PDF. Call inside the action's transaction: the job commits with it.
    Returns how many jobs were queued."""
    from .tasks import make_receipt_stamp

    chosen = list(entries)
    if letter is not None:
        chosen += list(letter.entries.filter(series__kind__in=INCOMING_SERIES))
    wanted = [e for e in chosen if e.series.kind in INCOMING_SERIES]
    if not wanted:
        return 0
    letter_ids = {e.letter_id for e in wanted}
    with_pdf = set(
        LetterFile.objects.filter(
            letter_id__in=letter_ids, role=FileRole.MAIN, replaced_at__isnull=True,
            blob__content_type=files.PDF,
        ).values_list("letter_id", flat=True)
    )
    queued = 0
    for entry in wanted:
        if entry.letter_id in with_pdf:
            make_receipt_stamp.enqueue(entry.pk)
            queued += 1
    return queued


def stamped_copy(entry: RegisterEntry) -> DerivedFile | None:
    """Make (once) and return the stamped copy of the entry's main PDF: the worker's job.

    ``None`` when the letter has no main PDF (paper only, or an image scan).
    """
    main = _main_pdf(entry)
    if main is None:
        return None
    registry = entry.series.registry
    digits = _digits(entry)
    lines = _endorsements(entry, digits)
    purpose = _purpose(lines)
    existing = DerivedFile.objects.filter(entry=entry, source=main.blob, purpose=purpose)
    found = existing.select_related("blob").first()
    if found is not None:
        return found
    from .endorsement_page import with_endorsements
    from .stamp import stamp_pdf

    local = bangkok(entry.registered_at)
    data = stamp_pdf(
        files.read_blob(main.blob),
        registry_name=registry.name_th,
        number=with_digits(entry.formatted, digits),
        date_text=thai_date(entry.registered_at, style="short", digits=digits),
        time_text=with_digits(f"{local:%H:%M} น.", digits),
    )
    data = with_endorsements(
        data, heading=with_digits(f"{entry.letter.subject} (เลขรับ {entry.formatted})", digits),
        items=lines,
    )
    blob = files.store_file(data, allowed={files.PDF})
    with transaction.atomic():
        derived, _ = DerivedFile.objects.get_or_create(
            entry=entry, source=main.blob, purpose=purpose, defaults={"blob": blob}
        )
    return derived


def _endorsements(entry: RegisterEntry, digits: Digits) -> list[EndorsementLine]:
    from saraban.routing.models import Endorsement

    from .endorsement_page import EndorsementLine

    labels = {"acting": "รักษาราชการแทน", "delegated": "ปฏิบัติราชการแทน"}
    lines = []
    for e in Endorsement.objects.filter(letter_id=entry.letter_id).order_by("created_at", "pk"):
        position = e.position_title
        if e.acting_kind and position:
            position = f"{labels.get(e.acting_kind, '')} {position}"
        signature = f"{e.person_name} ({position})" if position else e.person_name
        local = bangkok(e.created_at)
        date = f"{thai_date(e.created_at, digits=digits)} {local:%H:%M} น."
        lines.append(EndorsementLine(text=e.text, signature=signature,
                                     date=with_digits(date, digits)))
    return lines
