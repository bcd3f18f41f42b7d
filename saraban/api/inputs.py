"""Turning request data into what the letter actions take: ids to rows, uploads to ``Upload``.

Only lookups happen here. An id that names nothing is refused with a stable code
(``unknown_registry``, ``unknown_agency``, ``unknown_person``, ``unknown_reference``) before any
action runs, so nothing is created; every rule about letters stays in the actions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO

from django.core.files.uploadedfile import UploadedFile

from saraban.agencies.models import Agency, Person
from saraban.core.errors import ValidationFailed
from saraban.letters.access import visible_letters
from saraban.letters.models import Letter, Registry
from saraban.letters.services import LetterDetails, Recipient, Upload

from .schemas import LetterIn, RecipientIn


def registry_by_id(registry_id: int) -> Registry:
    registry = Registry.objects.select_related("tenant", "unit").filter(pk=registry_id).first()
    if registry is None:
        raise ValidationFailed("ไม่พบทะเบียนที่ระบุ", code="unknown_registry", field="registry_id")
    return registry


def _agencies(ids: Iterable[int | None], *, field: str) -> dict[int, Agency]:
    wanted = {i for i in ids if i is not None}
    found = Agency.objects.in_bulk(wanted)
    missing = sorted(wanted - found.keys())
    if missing:
        raise ValidationFailed(
            "ไม่พบส่วนราชการที่ระบุ", code="unknown_agency", field=field,
            details={"ids": missing},
        )
    return found


def _people(ids: list[int]) -> list[Person]:
    found = Person.objects.in_bulk(set(ids))
    missing = sorted(set(ids) - found.keys())
    if missing:
        raise ValidationFailed(
            "ไม่พบบุคลากรที่ระบุ", code="unknown_person", field="secret_reader_ids",
            details={"ids": missing},
        )
    return [found[i] for i in dict.fromkeys(ids)]


def _references(person: Person, refs: list[int | str]) -> list[Letter | str]:
    ids = {r for r in refs if isinstance(r, int)}
    found = visible_letters(person).in_bulk(ids)
    missing = sorted(ids - found.keys())
    if missing:
        raise ValidationFailed(
            "ไม่พบหนังสือที่อ้างถึง หรือท่านไม่มีสิทธิ์เข้าถึง", code="unknown_reference",
            field="references", details={"ids": missing},
        )
    return [found[r] if isinstance(r, int) else r for r in refs]


def letter_details(person: Person, data: LetterIn) -> LetterDetails:
    """The action's ``LetterDetails`` for ``data``, with every id looked up."""
    sender = _agencies([data.sender_agency_id], field="sender_agency_id")
    recipient = _agencies([data.recipient_agency_id], field="recipient_agency_id")
    return LetterDetails(
        kind=data.kind,
        subject=data.subject,
        subkind=data.subkind,
        urgency=data.urgency,
        secrecy=data.secrecy,
        number=data.number,
        letter_date=data.letter_date,
        sender_agency=sender.get(data.sender_agency_id) if data.sender_agency_id else None,
        sender_text=data.sender_text,
        recipient_agency=(
            recipient.get(data.recipient_agency_id) if data.recipient_agency_id else None
        ),
        recipient_text=data.recipient_text,
        salutation=data.salutation,
        body=data.body,
        references=_references(person, data.references),
        enclosures=data.enclosures,
        secret_readers=_people(data.secret_reader_ids),
        is_paper=data.is_paper,
        remarks=data.remarks,
    )


def recipients(items: list[RecipientIn]) -> list[Recipient]:
    found = _agencies((r.agency_id for r in items), field="recipients")
    return [
        Recipient(
            channel=r.channel,
            agency=found[r.agency_id] if r.agency_id is not None else None,
            text=r.text,
            address=r.address,
            code=r.code,
        )
        for r in items
    ]


def _upload(file: UploadedFile[bytes]) -> Upload:
    content: IO[bytes] | None = file.file
    if content is None:
        raise ValidationFailed("ไฟล์ว่างเปล่า", code="file_empty", field="file")
    return Upload(filename=file.name or "file", content=content)


def upload(file: UploadedFile[bytes] | None) -> Upload | None:
    return _upload(file) if file is not None else None


def uploads(files: Iterable[UploadedFile[bytes]] | None) -> list[Upload]:
    return [_upload(f) for f in files or ()]
