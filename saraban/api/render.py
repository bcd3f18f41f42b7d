"""Turning model rows into the API's output schemas (no rules here, only shapes)."""

from __future__ import annotations

from django.db.models import Prefetch
from django.urls import reverse

from saraban.letters.models import Letter, RegisterEntry, Registry
from saraban.letters.numbering import display_number

from .schemas import (
    DispatchOut,
    EntryOut,
    FileOut,
    LetterOut,
    LetterSummaryOut,
    ReferenceOut,
    RegistryOut,
    ReplacedFileOut,
)

ENTRY_RELATED = ("series__registry", "registered_by")


def entry_out(entry: RegisterEntry) -> EntryOut:
    series = entry.series
    return EntryOut(
        id=entry.pk,
        registry_id=series.registry_id,
        registry_name=series.registry.name_th,
        series=series.kind,
        year=entry.year_be,
        number=entry.number,
        formatted=entry.formatted,
        display=display_number(kind=series.kind, formatted=entry.formatted),
        registered_at=entry.registered_at,
        registered_by=entry.registered_by.display_name(),
        remarks=entry.remarks,
        cancelled=entry.is_cancelled,
        cancelled_at=entry.cancelled_at,
        cancel_reason=entry.cancel_reason,
    )


def summary_fields(letter: Letter) -> dict[str, object]:
    return {
        "id": letter.pk,
        "direction": letter.direction,
        "kind": letter.kind,
        "subkind": letter.subkind,
        "urgency": letter.urgency,
        "secrecy": letter.secrecy,
        "number": letter.number,
        "letter_date": letter.letter_date,
        "sender_agency_id": letter.sender_agency_id,
        "sender": letter.sender_display,
        "recipient_agency_id": letter.recipient_agency_id,
        "recipient": letter.recipient_display,
        "subject": letter.subject,
    }


def letter_summary_out(letter: Letter) -> LetterSummaryOut:
    return LetterSummaryOut.model_validate(summary_fields(letter))


# What ``letter_out`` reads, prefetched so one letter costs a fixed number of queries.
LETTER_PREFETCH = (
    Prefetch("entries", queryset=RegisterEntry.objects.select_related(*ENTRY_RELATED)),
    "files__blob",
    "dispatches__recipient_agency",
    "references",
    "enclosures",
)


def letter_out(letter: Letter) -> LetterOut:
    """The full letter; load it with ``prefetch_related(*LETTER_PREFETCH)``.

    ``files`` are the current ones; ``replaced_files`` those a correction replaced (kept).
    """
    all_files = list(letter.files.all())
    files = [
        FileOut(
            id=f.pk,
            role=f.role,
            filename=f.filename,
            sha256=f.blob.sha256,
            size=f.blob.size,
            content_type=f.blob.content_type,
            url=reverse("api:letter_file", kwargs={"letter_id": letter.pk, "file_id": f.pk}),
        )
        for f in all_files
        if f.replaced_at is None
    ]
    replaced_files = [
        ReplacedFileOut(
            id=f.pk,
            role=f.role,
            filename=f.filename,
            sha256=f.blob.sha256,
            size=f.blob.size,
            content_type=f.blob.content_type,
            url=reverse("api:letter_file", kwargs={"letter_id": letter.pk, "file_id": f.pk}),
            replaced_at=f.replaced_at,
            replaced_by_id=f.replaced_by_id,
            correction_reason=f.correction_reason,
        )
        for f in all_files
        if f.replaced_at is not None
    ]
    dispatches = [
        DispatchOut(
            id=d.pk,
            recipient_agency_id=d.recipient_agency_id,
            recipient=d.recipient_display,
            channel=d.channel,
            address=d.address,
            created_at=d.created_at,
        )
        for d in letter.dispatches.all()
    ]
    return LetterOut.model_validate(
        {
            **summary_fields(letter),
            "salutation": letter.salutation,
            "body": letter.body,
            "unit_id": letter.unit_id,
            "is_circular": letter.is_circular,
            "is_paper": letter.is_paper,
            "received_via": letter.received_via,
            "created_at": letter.created_at,
            "entries": [entry_out(e) for e in letter.entries.all()],
            "files": files,
            "replaced_files": replaced_files,
            "dispatches": dispatches,
            "references": [
                ReferenceOut(letter_id=r.referenced_id, text=r.text)
                for r in letter.references.all()
            ],
            "enclosures": [e.description for e in letter.enclosures.all()],
        }
    )


def registry_out(registry: Registry, *, can_register: bool) -> RegistryOut:
    return RegistryOut(
        id=registry.pk,
        name=registry.name_th,
        unit_id=registry.unit_id,
        unit_name=registry.unit.name_th,
        is_central=registry.is_central,
        number_prefix=registry.number_prefix,
        series=sorted(s.kind for s in registry.series.all()),
        can_register=can_register,
    )
