"""Actions on letters: register incoming and outgoing letters, hand over, cancel.

Each action validates first (nothing is written for bad input), then in one transaction
stores the files, writes the letter and its register entry with a number from
``issue_number``, writes the audit event, and enqueues its after-commit jobs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO

from django.db import transaction
from django.utils import timezone

from saraban.agencies.actors import Actor
from saraban.agencies.models import Agency, Person
from saraban.core.audit import audit_record
from saraban.core.errors import Conflict, FileRejected, PermissionDenied, ValidationFailed

from . import files
from .access import registries_for
from .models import (
    ELECTRONIC_CHANNELS,
    INCOMING_SERIES,
    SUBKINDS_OF,
    Blob,
    Channel,
    Dispatch,
    Enclosure,
    FileRole,
    Handover,
    Letter,
    LetterFile,
    LetterKind,
    LetterReference,
    RegisterEntry,
    Registry,
    Secrecy,
    Series,
    SeriesKind,
    Urgency,
)
from .numbering import format_number, issue_number


@dataclass(frozen=True, slots=True)
class Upload:
    """A file handed to an action: its name (for display only) and its content."""

    filename: str
    content: IO[bytes] | bytes


@dataclass(frozen=True, slots=True)
class Recipient:
    """One addressee of an outgoing letter and the channel it goes by."""

    channel: str
    agency: Agency | None = None
    text: str = ""
    address: str = ""
    code: str = ""  # the exchange code, for the Saraban channel

    @property
    def exchange_code(self) -> str:
        if self.code:
            return self.code.strip()
        return (self.agency.exchange_code or "") if self.agency is not None else ""


@dataclass(slots=True)
class LetterDetails:
    """What a registry records about a letter, incoming or outgoing."""

    kind: str
    subject: str
    subkind: str = ""
    urgency: int = Urgency.NORMAL
    secrecy: int = Secrecy.NORMAL
    number: str = ""
    letter_date: dt.date | None = None
    sender_agency: Agency | None = None
    sender_text: str = ""
    recipient_agency: Agency | None = None
    recipient_text: str = ""
    salutation: str = ""
    body: str = ""
    references: Sequence[Letter | str] = field(default_factory=list)
    enclosures: Sequence[str] = field(default_factory=list)
    secret_readers: Sequence[Person] = field(default_factory=list)
    is_paper: bool = False
    remarks: str = ""
    # An incoming letter's channel (``Channel`` value) when it arrived electronically.
    received_via: str = ""


def _validate(details: LetterDetails, *, tenant: Agency) -> None:
    if details.kind not in LetterKind.values:
        raise ValidationFailed("ชนิดหนังสือไม่ถูกต้อง", code="bad_kind", field="kind")
    allowed = SUBKINDS_OF[details.kind]
    if details.subkind and details.subkind not in allowed:
        raise ValidationFailed(
            "ประเภทย่อยไม่ตรงกับชนิดหนังสือ", code="bad_subkind", field="subkind"
        )
    if allowed and not details.subkind:
        raise ValidationFailed("กรุณาเลือกประเภทย่อยของหนังสือ", code="subkind_required",
                               field="subkind")
    if details.urgency not in Urgency.values:
        raise ValidationFailed("ชั้นความเร็วไม่ถูกต้อง", code="bad_urgency", field="urgency")
    if details.secrecy not in Secrecy.values:
        raise ValidationFailed("ชั้นความลับไม่ถูกต้อง", code="bad_secrecy", field="secrecy")
    if not details.subject.strip():
        raise ValidationFailed("กรุณาระบุเรื่อง", code="subject_required", field="subject")
    if len(details.subject) > 500:
        raise ValidationFailed("เรื่องยาวเกิน 500 ตัวอักษร", code="subject_too_long",
                               field="subject")
    for reader in details.secret_readers:
        if reader.agency_id != tenant.pk:
            raise ValidationFailed(
                "ผู้มีสิทธิ์อ่านหนังสือลับต้องเป็นบุคลากรของส่วนราชการนี้",
                code="secret_reader_outside_agency",
                field="secret_readers",
            )
    for ref in details.references:
        if isinstance(ref, Letter) and ref.tenant_id != tenant.pk:
            raise ValidationFailed("อ้างถึงหนังสือที่ไม่อยู่ในส่วนราชการนี้",
                                   code="bad_reference", field="references")


def _check_registry(actor: Actor, registry: Registry) -> None:
    if not registries_for(actor.person).filter(pk=registry.pk).exists():
        raise PermissionDenied("ท่านไม่มีสิทธิ์ลงทะเบียนในทะเบียนนี้", code="registry_forbidden")


def _store_uploads(
    main: Upload | None, attachments: Sequence[Upload]
) -> list[tuple[str, str, Blob]]:
    """Keep the letter's files; every one is checked before any is kept, so a refused
    attachment leaves no main file behind."""
    uploads = [(FileRole.MAIN, main)] if main is not None else []
    uploads += [(FileRole.ATTACHMENT, item) for item in attachments]
    try:
        blobs = files.store_files([
            (u.content, files.MAIN_TYPES if role == FileRole.MAIN else files.ATTACHMENT_TYPES)
            for role, u in uploads
        ])
    except FileRejected as exc:
        role, refused = uploads[int(exc.details.pop("index", 0))]
        if role == FileRole.MAIN:
            exc.field = exc.field or "main_file"
        else:
            exc.field = exc.field or "attachments"
            exc.details.setdefault("filename", refused.filename)
        raise
    return [(role, u.filename, blob) for (role, u), blob in zip(uploads, blobs, strict=True)]


def _create_letter(
    *,
    actor: Actor,
    registry: Registry,
    direction: str,
    details: LetterDetails,
    now: dt.datetime,
    stored: list[tuple[str, str, Blob]],
    is_circular: bool = False,
) -> Letter:
    letter = Letter.objects.create(
        tenant_id=registry.tenant_id,
        unit_id=registry.unit_id,
        direction=direction,
        kind=details.kind,
        subkind=details.subkind,
        urgency=details.urgency,
        secrecy=details.secrecy,
        number=details.number.strip(),
        letter_date=details.letter_date,
        sender_agency=details.sender_agency,
        sender_text=details.sender_text.strip(),
        recipient_agency=details.recipient_agency,
        recipient_text=details.recipient_text.strip(),
        subject=details.subject.strip(),
        salutation=details.salutation.strip(),
        body=details.body,
        is_circular=is_circular,
        is_paper=details.is_paper,
        received_via=details.received_via,
        created_by=actor.person,
        created_at=now,
    )
    if details.secrecy > Secrecy.NORMAL:
        readers = {p.pk for p in details.secret_readers} | {actor.person.pk}
        letter.secret_readers.set(readers)
    LetterReference.objects.bulk_create(
        LetterReference(
            letter=letter,
            referenced=ref if isinstance(ref, Letter) else None,
            text="" if isinstance(ref, Letter) else ref.strip(),
            position=i,
        )
        for i, ref in enumerate(details.references)
        if isinstance(ref, Letter) or ref.strip()
    )
    Enclosure.objects.bulk_create(
        Enclosure(letter=letter, description=text.strip(), position=i)
        for i, text in enumerate(details.enclosures)
        if text.strip()
    )
    LetterFile.objects.bulk_create(
        LetterFile(
            letter=letter, blob=blob, role=role, filename=name[:255], added_by=actor.person,
            added_at=now,
        )
        for role, name, blob in stored
    )
    return letter


def register_entry_new(
    *,
    actor: Actor,
    series: Series,
    letter: Letter,
    now: dt.datetime,
    remarks: str = "",
) -> RegisterEntry:
    year, number = issue_number(series=series, at=now)
    return RegisterEntry.objects.create(
        series=series,
        year_be=year,
        number=number,
        formatted=format_number(
            kind=series.kind, prefix=series.registry.number_prefix, number=number, year_be=year
        ),
        letter=letter,
        registered_at=now,
        registered_by=actor.person,
        position=actor.position,
        acting_kind=actor.acting_kind,
        remarks=remarks.strip(),
    )


def _registration_details(
    entry: RegisterEntry, stored: list[tuple[str, str, Blob]]
) -> dict[str, object]:
    """What the audit event of a registration says about it."""
    return {
        "registry": entry.series.registry_id,
        "series": entry.series.kind,
        "number": entry.formatted,
        "year": entry.year_be,
        "subject": entry.letter.subject,
        "files": [blob.sha256 for _role, _name, blob in stored],
    }


def series_of(registry: Registry, kind: str) -> Series:
    series = Series.objects.filter(registry=registry, kind=kind).select_related("registry").first()
    if series is None:
        raise ValidationFailed(
            "ทะเบียนนี้ยังไม่ได้เปิดชุดเลขที่ต้องการ", code="series_missing", field="series"
        )
    return series


def _check_signatures(letter: Letter, actor: Actor, stored: list[tuple[str, str, Blob]]) -> None:
    """Verify the signatures of the files that came with the letter (saraban.signatures)."""
    if stored:
        from saraban.signatures.services import check_letter_files

        check_letter_files(letter, actor=actor)


def _enqueue_after_registration(entry: RegisterEntry) -> None:
    """The receipt-stamped copy is made by the worker (never by the page that shows it)."""
    from .stamping import stamps_enqueue

    stamps_enqueue(entries=[entry])


def letter_register_incoming(
    *,
    actor: Actor,
    registry: Registry,
    details: LetterDetails,
    main_file: Upload | None = None,
    attachments: Sequence[Upload] = (),
    originals: Sequence[Upload] = (),
) -> RegisterEntry:
    """Register a letter received by this registry and give it its receipt number.

    ``originals`` are the messages exactly as they arrived (an e-mail's .eml), kept beside
    the letter's files as ``FileRole.ORIGINAL``.
    """
    _check_registry(actor, registry)
    tenant = registry.tenant
    _validate(details, tenant=tenant)
    if details.received_via and details.received_via not in ELECTRONIC_CHANNELS:
        raise ValidationFailed("ช่องทางที่ได้รับไม่ถูกต้อง", code="bad_channel",
                               field="received_via")
    kind = SeriesKind.SECRET_INCOMING if details.secrecy > 0 else SeriesKind.INCOMING
    series = series_of(registry, kind)
    if not (details.sender_agency or details.sender_text.strip()):
        raise ValidationFailed("กรุณาระบุผู้ส่ง (จาก)", code="sender_required", field="sender")
    with transaction.atomic():
        stored = _store_uploads(main_file, attachments)
        stored += [(FileRole.ORIGINAL, u.filename, files.store_mail_original(
            u.content if isinstance(u.content, bytes) else u.content.read()))
            for u in originals]
        now = timezone.now()
        letter = _create_letter(
            actor=actor, registry=registry, direction="incoming", details=details, now=now,
            stored=stored,
        )
        entry = register_entry_new(actor=actor, series=series, letter=letter, now=now,
                           remarks=details.remarks)
        _check_signatures(letter, actor, stored)
        audit_record(
            agency_id=tenant.pk,
            action="letter_register_incoming",
            actor=actor,
            target_type="letter",
            target_id=letter.pk,
            details=_registration_details(entry, stored),
        )
        _enqueue_after_registration(entry)
    return entry


OUTGOING_KINDS = frozenset(
    {SeriesKind.OUTGOING, SeriesKind.CIRCULAR, SeriesKind.ORDER, SeriesKind.ANNOUNCEMENT}
)


def letter_register_outgoing(
    *,
    actor: Actor,
    registry: Registry,
    details: LetterDetails,
    series_kind: str = SeriesKind.OUTGOING,
    recipients: Sequence[Recipient] = (),
    main_file: Upload | None = None,
    attachments: Sequence[Upload] = (),
    compose: Callable[[RegisterEntry], Upload] | None = None,
    authorised: bool = False,
) -> RegisterEntry:
    """Issue an outgoing letter its number and record each recipient's channel.

    ``compose`` makes the main file once the number is known (a signed letter carries its
    number and date inside the signed PDF); it runs in the same transaction, so if it fails no
    number is issued. ``authorised`` is for callers that checked the right to issue from this
    registry themselves (the signer at the end of an approval chain).
    """
    if not authorised:
        _check_registry(actor, registry)
    tenant = registry.tenant
    _validate(details, tenant=tenant)
    if series_kind not in OUTGOING_KINDS:
        raise ValidationFailed("ชุดเลขไม่ถูกต้องสำหรับหนังสือส่ง", code="bad_series",
                               field="series")
    if details.secrecy > 0:
        if series_kind != SeriesKind.OUTGOING:
            raise ValidationFailed("หนังสือลับต้องออกเลขจากทะเบียนหนังสือส่ง (ลับ)",
                                   code="secret_series_only", field="series")
        series_kind = SeriesKind.SECRET_OUTGOING
    series = series_of(registry, series_kind)
    if not recipients and not (details.recipient_agency or details.recipient_text.strip()):
        raise ValidationFailed("กรุณาระบุผู้รับ (ถึง)", code="recipient_required",
                               field="recipients")
    for r in recipients:
        if r.channel not in Channel.values:
            raise ValidationFailed("ช่องทางการส่งไม่ถูกต้อง", code="bad_channel", field="channel")
        if r.agency is None and not r.text.strip():
            raise ValidationFailed("กรุณาระบุผู้รับ", code="recipient_required",
                                   field="recipients")
        if details.secrecy == Secrecy.TOP_SECRET and r.channel in {
            Channel.SARABAN, Channel.EMAIL, Channel.ECMS,
        }:
            raise ValidationFailed(
                "หนังสือลับที่สุดห้ามส่งทางอิเล็กทรอนิกส์", code="top_secret_not_electronic",
                field="channel",
            )
        if r.channel == Channel.EMAIL and not r.address.strip():
            raise ValidationFailed("กรุณาระบุที่อยู่ไปรษณีย์อิเล็กทรอนิกส์", code="email_required",
                                   field="address")
    # Saraban-channel recipients outside this agency go through the exchange (a unit of the
    # agency itself is reached inside the node: internal distribution); e-CMS recipients too,
    # posted to this agency's own e-CMS node.
    electronic: list[Recipient] = []
    for channel, by in ((Channel.SARABAN, "ทางระบบ"), (Channel.ECMS, "ทาง e-CMS")):
        chosen = [
            r for r in recipients
            if r.channel == channel
            and not (channel == Channel.SARABAN and r.agency is not None
                     and r.agency.tenant_id == tenant.pk)
        ]
        if not chosen:
            continue
        from saraban.exchange.outbox import check_recipients

        for r in chosen:
            if not r.exchange_code:
                raise ValidationFailed(
                    f"ผู้รับนี้ไม่มีรหัสรับส่งหนังสือ{by} เลือกช่องทางอื่น",
                    code="recipient_not_electronic", field="recipients",
                )
        check_recipients(tenant, [r.exchange_code for r in chosen],
                         ecms=channel == Channel.ECMS)
        electronic += chosen
    if details.recipient_agency is None and not details.recipient_text.strip() and recipients:
        first = recipients[0]
        details.recipient_agency = first.agency
        details.recipient_text = first.text if first.agency is None else ""
    if not (details.sender_agency or details.sender_text.strip()):
        details.sender_agency = registry.unit
    with transaction.atomic():
        stored = _store_uploads(main_file, attachments)
        now = timezone.now()
        if details.letter_date is None:
            details.letter_date = timezone.localdate(now)
        letter = _create_letter(
            actor=actor, registry=registry, direction="outgoing", details=details, now=now,
            stored=stored, is_circular=series_kind == SeriesKind.CIRCULAR,
        )
        entry = register_entry_new(actor=actor, series=series, letter=letter, now=now,
                           remarks=details.remarks)
        letter.number = entry.formatted
        letter.save(update_fields=["number"])
        if compose is not None:
            made = compose(entry)
            blob = files.store_file(made.content)
            LetterFile.objects.create(
                letter=letter, blob=blob, role=FileRole.MAIN, filename=made.filename[:255],
                added_by=actor.person, added_at=now,
            )
            stored.insert(0, (FileRole.MAIN, made.filename, blob))
        _check_signatures(letter, actor, stored)
        dispatches = Dispatch.objects.bulk_create(
            Dispatch(
                letter=letter, recipient_agency=r.agency, recipient_text=r.text.strip(),
                recipient_code=r.exchange_code if r in electronic else "",
                channel=r.channel, address=r.address.strip(), created_at=now,
            )
            for r in recipients
        )
        if electronic:
            from saraban.exchange.outbox import enqueue_letter

            enqueue_letter(letter=letter, dispatches=dispatches)
        audit_record(
            agency_id=tenant.pk,
            action="letter_register_outgoing",
            actor=actor,
            target_type="letter",
            target_id=letter.pk,
            details={
                **_registration_details(entry, stored),
                "recipients": [
                    {"to": (r.agency.name_th if r.agency else r.text), "channel": r.channel}
                    for r in recipients
                ],
            },
        )
    return entry


def entry_cancel(*, actor: Actor, entry: RegisterEntry, reason: str) -> RegisterEntry:
    """Cancel a register entry: it keeps its number, marked cancelled with the reason."""
    registry = entry.series.registry
    _check_registry(actor, registry)
    if not reason.strip():
        raise ValidationFailed("กรุณาระบุเหตุผลที่ยกเลิก", code="reason_required", field="reason")
    with transaction.atomic():
        locked = RegisterEntry.objects.select_for_update().get(pk=entry.pk)
        if locked.cancelled_at is not None:
            raise Conflict("รายการนี้ถูกยกเลิกไปแล้ว", code="already_cancelled")
        locked.cancelled_at = timezone.now()
        locked.cancelled_by = actor.person
        locked.cancel_reason = reason.strip()[:500]
        locked.save(update_fields=["cancelled_at", "cancelled_by", "cancel_reason"])
        audit_record(
            agency_id=registry.tenant_id,
            action="register_entry_cancel",
            actor=actor,
            target_type="letter",
            target_id=locked.letter_id,
            details={"number": locked.formatted, "year": locked.year_be, "reason": reason.strip()},
        )
    return locked


def letter_hand_over(
    *, actor: Actor, letter: Letter, to_registry: Registry, note: str = ""
) -> Handover:
    """The central registry passes a registered letter on to a unit's registry."""
    from_entry = (
        letter.entries.filter(series__kind__in=INCOMING_SERIES, cancelled_at__isnull=True)
        .select_related("series__registry")
        .first()
    )
    if from_entry is None:
        raise Conflict("หนังสือนี้ยังไม่ได้ลงทะเบียนรับ", code="not_registered")
    from_registry = from_entry.series.registry
    _check_registry(actor, from_registry)
    if to_registry.tenant_id != letter.tenant_id:
        raise ValidationFailed("ส่งต่อได้เฉพาะหน่วยงานในส่วนราชการเดียวกัน",
                               code="registry_outside_agency", field="to_registry")
    if to_registry.pk == from_registry.pk:
        raise ValidationFailed("เลือกหน่วยงานปลายทางอื่น", code="same_registry",
                               field="to_registry")
    if Handover.objects.filter(letter=letter, to_registry=to_registry).exists():
        raise Conflict("ส่งหนังสือนี้ให้หน่วยงานนี้แล้ว", code="already_handed_over")
    with transaction.atomic():
        handover = Handover.objects.create(
            letter=letter, from_registry=from_registry, to_registry=to_registry,
            created_at=timezone.now(), created_by=actor.person, note=note.strip()[:500],
        )
        audit_record(
            agency_id=letter.tenant_id,
            action="letter_hand_over",
            actor=actor,
            target_type="letter",
            target_id=letter.pk,
            details={"from": from_registry.name_th, "to": to_registry.name_th, "note": note},
        )
    return handover


def handover_register(*, actor: Actor, handover: Handover) -> RegisterEntry:
    """A unit's registry registers a letter handed over to it, in its own incoming register."""
    registry = handover.to_registry
    _check_registry(actor, registry)
    letter = handover.letter
    kind = SeriesKind.SECRET_INCOMING if letter.secrecy > 0 else SeriesKind.INCOMING
    series = series_of(registry, kind)
    with transaction.atomic():
        locked = Handover.objects.select_for_update().get(pk=handover.pk)
        if locked.entry_id is not None:
            raise Conflict("หน่วยงานลงทะเบียนรับหนังสือนี้แล้ว", code="already_registered")
        now = timezone.now()
        entry = register_entry_new(actor=actor, series=series, letter=letter, now=now)
        locked.entry = entry
        locked.save(update_fields=["entry"])
        letter.unit_id = registry.unit_id
        letter.save(update_fields=["unit"])
        audit_record(
            agency_id=letter.tenant_id,
            action="letter_register_in_unit",
            actor=actor,
            target_type="letter",
            target_id=letter.pk,
            details={"registry": registry.name_th, "number": entry.formatted,
                     "year": entry.year_be},
        )
        _enqueue_after_registration(entry)
    return entry
