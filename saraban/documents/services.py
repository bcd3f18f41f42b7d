"""Actions on drafts: compose, save versions, send up the approval chain, return, sign.

Signing is the only way a draft becomes a letter: in one transaction the number is issued
from the registry's series, the form is rendered again with that number and the date (PDF/A),
the PDF is signed (PAdES) with the signer's certificate — or sealed with the agency seal on a
หนังสือประทับตรา — stored as the letter's main file, and the letter is dispatched. If any of
this fails, the transaction rolls back and the number is not used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from saraban.agencies.actors import Actor
from saraban.agencies.models import ActingAssignment, Agency, Person
from saraban.core.audit import audit_record
from saraban.core.errors import Conflict, PermissionDenied, ValidationFailed
from saraban.core.thai import Digits, bangkok, thai_date, with_digits
from saraban.letters.access import registries_for
from saraban.letters.models import (
    Channel,
    Letter,
    LetterKind,
    LetterSubkind,
    Registry,
    Secrecy,
    SeriesKind,
    Urgency,
)
from saraban.letters.services import LetterDetails, Recipient, Upload, letter_register_outgoing

from .models import (
    DEFAULT_SERIES,
    LIST_FIELDS,
    TEXT_FIELDS,
    ApprovalStep,
    Draft,
    DraftState,
    DraftVersion,
    Letterhead,
    StepRole,
    StepState,
)
from .render import FORMS, FormData, render_form, signature_box

#: The letter kind (and subkind) each form registers as.
KIND_OF_FORM: dict[str, tuple[str, str]] = {
    "external": (LetterKind.EXTERNAL, ""),
    "memo": (LetterKind.INTERNAL, ""),
    "stamped": (LetterKind.STAMPED, ""),
    "order": (LetterKind.DIRECTIVE, LetterSubkind.ORDER),
    "announcement": (LetterKind.PUBLIC_RELATIONS, LetterSubkind.ANNOUNCEMENT),
    "certificate": (LetterKind.EVIDENCE, LetterSubkind.CERTIFICATE),
}

#: Forms kept permanently (orders and announcements are the agency's standing rules): signed
#: at PAdES B-LTA — revocation data and a document timestamp embedded — when a TSA is set.
ARCHIVAL_FORMS = frozenset({"order", "announcement"})

#: Channel "auto": by the exchange when the recipient is reachable, else e-mail, else post.
AUTO = "auto"
_CHANNELS = frozenset({*Channel.values, AUTO})
_MAX_TEXT = 20_000


# --- Reading ---------------------------------------------------------------------------------


def drafts_for(person: Person) -> QuerySet[Draft]:
    """Drafts a person may see: their own, those they are in the chain of, and those of the
    registries they keep."""
    return (
        Draft.objects.filter(
            Q(created_by=person)
            | Q(steps__person=person)
            | Q(registry__in=registries_for(person))
        )
        .distinct()
        .select_related("registry", "created_by", "tenant")
    )


def awaiting(person: Person) -> QuerySet[Draft]:
    """Drafts whose current step is this person's (to initial or to sign)."""
    return Draft.objects.filter(
        state=DraftState.IN_REVIEW, steps__person=person, steps__state=StepState.CURRENT
    ).distinct()


def may_edit(person: Person, draft: Draft) -> bool:
    """The drafter while drafting or after a return; whoever holds the current step."""
    if draft.state in (DraftState.DRAFTING, DraftState.RETURNED):
        return draft.created_by_id == person.pk
    step = draft.current_step()
    return step is not None and step.person_id == person.pk


def _require_sight(person: Person, draft: Draft) -> None:
    if not drafts_for(person).filter(pk=draft.pk).exists():
        raise PermissionDenied("ท่านไม่มีสิทธิ์เข้าถึงร่างหนังสือนี้", code="draft_forbidden")


# --- Fields ----------------------------------------------------------------------------------


def clean_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The draft's text fields, checked and normalised; unknown keys are refused."""
    unknown = set(fields) - set(TEXT_FIELDS)
    if unknown:
        raise ValidationFailed("มีช่องข้อมูลที่ไม่รู้จัก", code="draft_field_unknown",
                               details={"fields": sorted(unknown)})
    cleaned: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = fields.get(name, [] if name in LIST_FIELDS else "")
        if name in LIST_FIELDS:
            if isinstance(value, str):
                value = value.splitlines()
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise ValidationFailed("ข้อมูลต้องเป็นรายการข้อความ", code="draft_field_invalid",
                                       field=name)
            value = [v.strip() for v in value if v.strip()]
            size = sum(len(v) for v in value)
        else:
            if not isinstance(value, str):
                raise ValidationFailed("ข้อมูลต้องเป็นข้อความ", code="draft_field_invalid",
                                       field=name)
            value = value.strip()
            size = len(value)
        if size > _MAX_TEXT:
            raise ValidationFailed("ข้อความยาวเกินกำหนด", code="draft_field_too_long", field=name)
        cleaned[name] = value
    if not cleaned["subject"]:
        raise ValidationFailed("กรุณาระบุเรื่อง", code="subject_required", field="subject")
    if len(cleaned["subject"]) > 500:
        raise ValidationFailed("เรื่องยาวเกิน 500 ตัวอักษร", code="subject_too_long",
                               field="subject")
    return cleaned


def clean_recipients(recipients: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Addressees as stored on the draft: an agency of the directory of agencies, or a text."""
    cleaned = []
    for item in recipients:
        channel = str(item.get("channel") or AUTO)
        if channel not in _CHANNELS:
            raise ValidationFailed("ช่องทางการส่งไม่ถูกต้อง", code="bad_channel",
                                   field="recipients")
        agency_id = item.get("agency")
        text = str(item.get("text") or "").strip()
        if agency_id in ("", None):
            agency_id = None
        else:
            try:
                agency_id = int(agency_id)
            except (TypeError, ValueError):
                agency_id = -1
            if not Agency.objects.filter(pk=agency_id, is_active=True).exists():
                raise ValidationFailed("ไม่พบส่วนราชการผู้รับ", code="recipient_unknown",
                                       field="recipients")
        if agency_id is None and not text:
            continue
        cleaned.append({
            "agency": agency_id,
            "text": text[:255],
            "channel": channel,
            "address": str(item.get("address") or "").strip()[:255],
        })
    return cleaned


def form_data(
    draft: Draft,
    version: DraftVersion | None = None,
    *,
    number: str = "",
    date: dt.date | None = None,
    signer: Actor | None = None,
) -> FormData:
    """The form's data for a version of the draft, with the agency's letterhead."""
    version = version or draft.latest
    unit = draft.registry.unit
    tenant = draft.tenant
    head = Letterhead.objects.filter(agency__in=[unit, tenant]).order_by(
        "-agency__path"  # the unit's own letterhead before the agency's
    ).first()
    signer_name, signer_position = _signer_lines(draft, signer)
    return FormData(
        number=number,
        date=date,
        thai_digits=tenant.thai_digits,
        agency_name=unit.name_th if draft.form != "memo" else "",
        agency_address=(head.address if head and head.address else unit.address)
        or tenant.address,
        subject=version.value("subject"),
        salutation=version.value("salutation"),
        addressee=version.value("addressee"),
        references=version.value("references"),
        enclosures=version.value("enclosures"),
        body=version.value("body"),
        closing=version.value("closing"),
        signer_name=signer_name,
        signer_position=signer_position,
        owning_unit=version.value("owning_unit")
        or (unit.name_th if draft.form == "external" else ""),
        phone=version.value("phone") or (head.phone if head else "") or unit.phone,
        email=version.value("email") or (head.email if head else "") or unit.email,
        copies_to=version.value("copies_to"),
        urgency=Urgency(draft.urgency).label,
        emblem=bytes(head.emblem) if head and head.emblem else None,
    )


def _signer_lines(draft: Draft, signer: Actor | None) -> tuple[str, str]:
    """The signer's name and position as printed under the signature."""
    if signer is None:
        if draft.pk is None:  # a preview of a draft not saved yet: no chain, no signer
            return "", ""
        step = draft.steps_of_round().filter(role=StepRole.SIGN).select_related("person").first()
        if step is None:
            return "", ""
        position = step.person.positions.select_related("unit").first()
        return step.person.display_name(), position.title_th if position else ""
    name = signer.person.display_name()
    if signer.position is None:
        return name, ""
    if signer.acting_kind:
        label = dict(ActingAssignment._meta.get_field("kind").flatchoices)[signer.acting_kind]
        return name, f"{label}\n{signer.position.title_th}"
    return name, signer.position.title_th


def preview_pdf(draft: Draft, version: DraftVersion | None = None) -> bytes:
    """The draft as it would print, without number or date (those come at signing)."""
    return render_form(draft.form, form_data(draft, version))


# --- Actions ---------------------------------------------------------------------------------


def _audit(actor: Actor, draft: Draft, action: str, **details: object) -> None:
    audit_record(agency_id=draft.tenant_id, action=action, actor=actor, target_type="draft",
                 target_id=draft.pk, details={"subject": draft.subject, **details})


def draft_create(
    *,
    actor: Actor,
    registry: Registry,
    form: str,
    fields: Mapping[str, Any],
    recipients: Sequence[Mapping[str, Any]] = (),
    urgency: int = Urgency.NORMAL,
    secrecy: int = Secrecy.NORMAL,
    series_kind: str | None = None,
) -> Draft:
    """Start a draft in ``form``, to be numbered from ``registry`` when it is signed."""
    if form not in FORMS:
        raise ValidationFailed("ไม่รู้จักแบบหนังสือนี้", code="form_unknown", field="form")
    if registry.tenant_id != actor.person.agency_id and not registries_for(actor.person).filter(
        pk=registry.pk
    ).exists():
        raise PermissionDenied("ร่างหนังสือได้เฉพาะทะเบียนของส่วนราชการของท่าน",
                               code="registry_forbidden")
    series_kind = series_kind or DEFAULT_SERIES[form]
    if series_kind not in (SeriesKind.OUTGOING, SeriesKind.CIRCULAR, SeriesKind.ORDER,
                           SeriesKind.ANNOUNCEMENT):
        raise ValidationFailed("ชุดเลขไม่ถูกต้องสำหรับหนังสือส่ง", code="bad_series",
                               field="series_kind")
    if urgency not in Urgency.values:
        raise ValidationFailed("ชั้นความเร็วไม่ถูกต้อง", code="bad_urgency", field="urgency")
    if secrecy not in Secrecy.values:
        raise ValidationFailed("ชั้นความลับไม่ถูกต้อง", code="bad_secrecy", field="secrecy")
    cleaned = clean_fields(fields)
    addressees = clean_recipients(recipients)
    now = timezone.now()
    with transaction.atomic():
        draft = Draft.objects.create(
            tenant_id=registry.tenant_id, registry=registry, form=form, series_kind=series_kind,
            urgency=urgency, secrecy=secrecy, subject=cleaned["subject"], recipients=addressees,
            created_by=actor.person, created_at=now, updated_at=now,
        )
        DraftVersion.objects.create(draft=draft, number=1, fields=cleaned,
                                    changed=[k for k, v in cleaned.items() if v],
                                    author=actor.person, created_at=now)
        _audit(actor, draft, "draft_create", form=form)
    return draft


def draft_update(
    *,
    actor: Actor,
    draft: Draft,
    fields: Mapping[str, Any],
    recipients: Sequence[Mapping[str, Any]] | None = None,
    urgency: int | None = None,
    note: str = "",
) -> DraftVersion | None:
    """Save the text as a new version; returns None when nothing changed."""
    if not may_edit(actor.person, draft):
        raise PermissionDenied("ท่านแก้ไขร่างนี้ไม่ได้ในขั้นตอนนี้", code="draft_not_editable")
    cleaned = clean_fields(fields)
    addressees = (clean_recipients(recipients) if recipients is not None
                  else draft.recipients)
    if urgency is not None and urgency not in Urgency.values:
        raise ValidationFailed("ชั้นความเร็วไม่ถูกต้อง", code="bad_urgency", field="urgency")
    with transaction.atomic():
        draft = Draft.objects.select_for_update().get(pk=draft.pk)
        latest = draft.latest
        changed = [k for k in TEXT_FIELDS if latest.value(k) != cleaned[k]]
        if addressees != draft.recipients:
            changed.append("recipients")
        if urgency is not None and urgency != draft.urgency:
            changed.append("urgency")
        if not changed:
            return None
        now = timezone.now()
        version = DraftVersion.objects.create(
            draft=draft, number=latest.number + 1, fields=cleaned, changed=changed,
            note=note.strip()[:500], author=actor.person, created_at=now,
        )
        draft.subject = cleaned["subject"]
        draft.recipients = addressees
        if urgency is not None:
            draft.urgency = urgency
        draft.updated_at = now
        draft.save(update_fields=["subject", "recipients", "urgency", "updated_at"])
        _audit(actor, draft, "draft_update", version=version.number, changed=changed)
    return version


def draft_submit(
    *, actor: Actor, draft: Draft, reviewers: Sequence[Person], signer: Person
) -> Draft:
    """Send the draft up: reviewers in order, then the signer."""
    if draft.created_by_id != actor.person.pk:
        raise PermissionDenied("ผู้ร่างเท่านั้นที่เสนอร่างนี้ได้", code="draft_forbidden")
    if draft.state not in (DraftState.DRAFTING, DraftState.RETURNED):
        raise Conflict("ร่างนี้เสนอไปแล้ว", code="draft_not_editable")
    chain = [*reviewers, signer]
    ids = [p.pk for p in chain]
    if len(set(ids)) != len(ids):
        raise ValidationFailed("ผู้ตรวจและผู้ลงนามต้องไม่ซ้ำกัน", code="chain_duplicate",
                               field="reviewers")
    for person in chain:
        if person.agency_id != draft.tenant_id or not person.is_active:
            raise ValidationFailed("ผู้ตรวจและผู้ลงนามต้องเป็นบุคลากรของส่วนราชการนี้",
                                   code="chain_outside_agency", field="reviewers")
    if not draft.recipients and draft.form in ("external", "memo", "stamped"):
        raise ValidationFailed("กรุณาระบุผู้รับ", code="recipient_required", field="recipients")
    from saraban.routing.notify import notify

    with transaction.atomic():
        draft = Draft.objects.select_for_update().get(pk=draft.pk)
        if draft.state not in (DraftState.DRAFTING, DraftState.RETURNED):
            raise Conflict("ร่างนี้เสนอไปแล้ว", code="draft_not_editable")
        draft.round += 1
        draft.state = DraftState.IN_REVIEW
        draft.updated_at = timezone.now()
        draft.save(update_fields=["round", "state", "updated_at"])
        ApprovalStep.objects.bulk_create(
            ApprovalStep(
                draft=draft, round=draft.round, order=i, person=person,
                role=StepRole.SIGN if i == len(chain) - 1 else StepRole.REVIEW,
                state=StepState.CURRENT if i == 0 else StepState.WAITING,
            )
            for i, person in enumerate(chain)
        )
        _audit(actor, draft, "draft_submit", round=draft.round,
               chain=[p.display_name() for p in chain])
        notify(people=[chain[0]], kind="approval", letter=None,
               text=f"ร่างหนังสือรอท่านพิจารณา: {draft.subject}")
    return draft


def _take_turn(actor: Actor, draft: Draft, role: str | None = None) -> tuple[Draft, ApprovalStep]:
    """Lock the draft and return the actor's current step, or refuse."""
    draft = Draft.objects.select_for_update().get(pk=draft.pk)
    step = draft.current_step()
    if step is None or step.person_id != actor.person.pk:
        raise PermissionDenied("ยังไม่ถึงขั้นตอนของท่านสำหรับร่างนี้", code="not_your_turn")
    if role is not None and step.role != role:
        raise Conflict(
            "ขั้นตอนนี้เป็นการลงนาม" if step.role == StepRole.SIGN else "ขั้นตอนนี้เป็นการตรวจ",
            code="wrong_step",
        )
    return draft, step


def _close_step(step: ApprovalStep, actor: Actor, state: str, comment: str,
                version: DraftVersion, now: dt.datetime) -> None:
    step.state = state
    step.comment = comment.strip()
    step.version = version
    step.acted_at = now
    step.acted_position = actor.position
    step.acting_kind = actor.acting_kind
    step.save()


def draft_initial(*, actor: Actor, draft: Draft, comment: str = "") -> Draft:
    """The reviewer initials the current version (ลงชื่อย่อ) and passes it on."""
    from saraban.routing.notify import notify

    with transaction.atomic():
        draft, step = _take_turn(actor, draft, StepRole.REVIEW)
        now = timezone.now()
        version = draft.latest
        _close_step(step, actor, StepState.DONE, comment, version, now)
        following = draft.steps_of_round().filter(order__gt=step.order).first()
        assert following is not None  # the signer's step is always last
        following.state = StepState.CURRENT
        following.save(update_fields=["state"])
        draft.updated_at = now
        draft.save(update_fields=["updated_at"])
        _audit(actor, draft, "draft_initial", version=version.number, comment=step.comment)
        notify(people=[following.person], kind="approval", letter=None,
               text=("ร่างหนังสือรอท่านลงนาม: " if following.role == StepRole.SIGN
                     else "ร่างหนังสือรอท่านพิจารณา: ") + draft.subject)
    return draft


def draft_return(*, actor: Actor, draft: Draft, comment: str) -> Draft:
    """Whoever holds the current step sends the draft back to the drafter with a comment."""
    if not comment.strip():
        raise ValidationFailed("กรุณาระบุเหตุผลที่ส่งคืน", code="comment_required", field="comment")
    from saraban.routing.notify import notify

    with transaction.atomic():
        draft, step = _take_turn(actor, draft)
        now = timezone.now()
        _close_step(step, actor, StepState.RETURNED, comment, draft.latest, now)
        draft.steps_of_round().filter(state=StepState.WAITING).update(state=StepState.CLOSED)
        draft.state = DraftState.RETURNED
        draft.updated_at = now
        draft.save(update_fields=["state", "updated_at"])
        _audit(actor, draft, "draft_return", comment=step.comment)
        notify(people=[draft.created_by], kind="approval", letter=None,
               text=f"ร่างหนังสือถูกส่งคืนแก้ไข: {draft.subject} — {step.comment}")
    return draft


def draft_cancel(*, actor: Actor, draft: Draft, reason: str) -> Draft:
    """The drafter abandons a draft that is not signed; it stays, marked cancelled."""
    if draft.created_by_id != actor.person.pk:
        raise PermissionDenied("ผู้ร่างเท่านั้นที่ยกเลิกร่างนี้ได้", code="draft_forbidden")
    if not reason.strip():
        raise ValidationFailed("กรุณาระบุเหตุผล", code="reason_required", field="reason")
    with transaction.atomic():
        draft = Draft.objects.select_for_update().get(pk=draft.pk)
        if draft.state in (DraftState.SIGNED, DraftState.CANCELLED):
            raise Conflict("ร่างนี้ลงนามหรือยกเลิกแล้ว", code="draft_closed")
        draft.steps.filter(state__in=[StepState.CURRENT, StepState.WAITING]).update(
            state=StepState.CLOSED)
        draft.state = DraftState.CANCELLED
        draft.updated_at = timezone.now()
        draft.save(update_fields=["state", "updated_at"])
        _audit(actor, draft, "draft_cancel", reason=reason.strip())
    return draft


def _recipients_for_dispatch(draft: Draft) -> list[Recipient]:
    from saraban.exchange.models import DirectoryEntry, EcmsAccount

    agencies = Agency.objects.in_bulk([r["agency"] for r in draft.recipients if r["agency"]])
    entries = dict(DirectoryEntry.objects.filter(
            code__in=[a.exchange_code for a in agencies.values() if a.exchange_code]
        ).values_list("code", "channels"))
    # An entry reached only through e-CMS gets the e-CMS channel when this agency has an
    # e-CMS node to post to; one that also speaks Saraban keeps the Saraban channel.
    has_ecms = EcmsAccount.objects.filter(agency_id=draft.tenant_id).exists()
    result = []
    for item in draft.recipients:
        agency = agencies.get(item["agency"]) if item["agency"] else None
        channel = item["channel"]
        if channel == AUTO:
            channels = (entries.get(agency.exchange_code)
                        if agency is not None and agency.exchange_code else None)
            if agency is not None and agency.tenant_id == draft.tenant_id:
                channel = Channel.SARABAN
            elif channels is not None and "saraban" not in channels and "ecms" in channels:
                channel = Channel.ECMS if has_ecms else (
                    Channel.EMAIL if item["address"] else Channel.POST)
            elif channels is not None:
                channel = Channel.SARABAN
            elif item["address"]:
                channel = Channel.EMAIL
            else:
                channel = Channel.POST
        if draft.secrecy == Secrecy.TOP_SECRET and channel in (
            Channel.SARABAN, Channel.EMAIL, Channel.ECMS,
        ):
            channel = Channel.HAND
        result.append(Recipient(channel=channel, agency=agency, text=item["text"],
                                address=item["address"]))
    return result


def signature_lines(actor: Actor, name: str, position: str, at: dt.datetime,
                    digits: Digits) -> tuple[str, ...]:
    """The Thai lines of the visible signature block."""
    local = bangkok(at)
    when = with_digits(f"{thai_date(local, digits='arabic')} เวลา {local:%H:%M} น.", digits)
    return (f"ลงนามโดย {name}", position.replace("\n", " "), when)


def draft_sign(*, actor: Actor, draft: Draft, secret: str | None = None) -> Letter:
    """The signer signs: number, render with number and date, sign, store, dispatch."""
    from saraban.routing.notify import notify
    from saraban.signatures.pades import Appearance, sign_pdf
    from saraban.signatures.services import identity_for, seal_for

    with transaction.atomic():
        draft, step = _take_turn(actor, draft, StepRole.SIGN)
        sealed = draft.form == "stamped"
        identity = seal_for(draft.tenant) if sealed else identity_for(actor.person)
        if identity is None:
            raise ValidationFailed(
                "ส่วนราชการยังไม่ได้ตั้งค่าตราอิเล็กทรอนิกส์" if sealed
                else "ท่านยังไม่มีใบรับรองอิเล็กทรอนิกส์สำหรับลงนาม ติดต่อผู้ดูแลระบบของส่วนราชการ",
                code="seal_missing" if sealed else "identity_missing",
            )
        version = draft.latest
        kind, subkind = KIND_OF_FORM[draft.form]
        recipients = _recipients_for_dispatch(draft)
        details = LetterDetails(
            kind=kind,
            subkind=subkind,
            subject=draft.subject,
            urgency=draft.urgency,
            secrecy=draft.secrecy,
            salutation=version.value("salutation"),
            body="\n\n".join(version.value("body")),
            references=version.value("references"),
            enclosures=version.value("enclosures"),
            sender_agency=draft.registry.unit,
            recipient_text="" if recipients else (version.value("addressee") or "ผู้เกี่ยวข้อง"),
            remarks=f"ร่างเลขที่ {draft.pk} ลงนามโดย {actor.signature_line()}",
        )
        now = timezone.now()
        digits: Digits = "thai" if draft.tenant.thai_digits else "arabic"
        archival = bool(getattr(settings, "SARABAN_TSA_URL", ""))

        def compose(entry: Any) -> Upload:
            data = form_data(draft, version, number=entry.formatted,
                             date=timezone.localdate(now), signer=actor)
            pdf = render_form(draft.form, data, archival=True)
            spot = signature_box(draft.form, data)
            lines = (
                ("ประทับตราอิเล็กทรอนิกส์", draft.tenant.name_th,
                 signature_lines(actor, "", "", now, digits)[2])
                if sealed else signature_lines(actor, data.signer_name, data.signer_position,
                                               now, digits)
            )
            signed = sign_pdf(
                pdf, identity, secret=secret,
                appearance=Appearance(page=spot.page, box=spot.box, lines=lines),
                reason=f"ลงนามหนังสือ {entry.formatted}",
                level="B-LTA" if archival and draft.form in ARCHIVAL_FORMS else None,
            )
            return Upload(filename=f"{entry.formatted.replace('/', '-')}.pdf", content=signed)

        entry = letter_register_outgoing(
            actor=actor, registry=draft.registry, details=details,
            series_kind=draft.series_kind, recipients=recipients, compose=compose,
            authorised=True,
        )
        _close_step(step, actor, StepState.DONE, "", version, now)
        draft.state = DraftState.SIGNED
        draft.letter = entry.letter
        draft.updated_at = now
        draft.save(update_fields=["state", "letter", "updated_at"])
        _audit(actor, draft, "draft_sign", version=version.number, number=entry.formatted,
               letter=entry.letter_id, identity=identity.subject_name)
        notify(people=[draft.created_by], kind="approval", letter=entry.letter,
               text=f"หนังสือลงนามแล้ว เลขที่ {entry.formatted}: {draft.subject}")
    return entry.letter

