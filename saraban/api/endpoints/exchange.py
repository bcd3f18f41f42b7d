"""The exchange: the electronic inbox, a letter's deliveries, and acting on the outbox.

The inbox lists what arrived for the agencies whose central registry the person clerks for;
registering, rejecting and returning call the actions in :mod:`saraban.exchange.inbox`.
A letter's deliveries go through ``access_letter``; outbox actions call
:mod:`saraban.exchange.outbox`, which checks that the person clerks for the sending agency.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pydantic
from django.db.models import BooleanField, Case, F, Q, QuerySet, Value, When
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Person
from saraban.api.auth import current_person
from saraban.api.errors import invalid_request
from saraban.api.render import entry_out
from saraban.api.schemas import EntryOut, ErrorOut, PageNumber
from saraban.core.errors import NotFound, PermissionDenied, ValidationFailed
from saraban.exchange.inbox import (
    arrival_channel,
    exchange_inbox_register,
    exchange_inbox_reject,
    exchange_inbox_return,
    mail_addresses,
    mail_strings,
)
from saraban.exchange.models import (
    DirectoryEntry,
    InboxMessage,
    InState,
    MessageType,
    OutboxMessage,
    OutState,
)
from saraban.exchange.outbox import (
    exchange_dispute_accept_id,
    exchange_requeue,
    exchange_resend,
    exchange_withdraw,
    overdue_filter,
)
from saraban.letters.access import access_letter, registries_for, visible_letters
from saraban.letters.models import Channel

router = Router(tags=["exchange"])
letters_router = Router(tags=["exchange"])

ERRORS: dict[int, type[ErrorOut]] = {
    400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut,
}


# ---- shapes -------------------------------------------------------------------------------


class InboxFileOut(Schema):
    id: int
    role: str
    filename: str
    sha256: str
    size: int
    content_type: str


class MailNotKeptOut(Schema):
    name: str
    reason: str = Field(description='Why the file was not kept: a code ("file_type_not_allowed", '
                                    '"file_too_large", "forwarded_message", …)')


class MailSmimeOut(Schema):
    signed: bool
    verdict: str = Field(description='"valid", "invalid" or "unverified" (no trust anchor)')
    signer_subject: str


class InboxMailOut(Schema):
    """What an arrival by e-mail carries besides the letter."""

    address: str = Field(description="The sender's e-mail address")
    name: str = Field(description="The sender's display name, as the mail gives it")
    to: list[str] = Field(description='"Name <address>" or the address')
    cc: list[str]
    date: dt.datetime | None = Field(description="The mail's Date header")
    message_id: str = Field(description="The mail's Message-ID (without <>)")
    mailbox: str = Field(description="Our central address it came to")
    in_reply_to: list[str]
    replied_letter_id: int | None = Field(
        description="Our letter this mail answers (by In-Reply-To/References or its number)")
    replied_number: str = Field(description="That letter's number, as we gave it")
    text: str = Field(description="The mail's text body")
    not_kept: list[MailNotKeptOut] = Field(description="Attachments not kept, with the reason")
    smime: MailSmimeOut | None
    source: str = Field(description='"imap" or "pipe" (handed over by the mail server)')


class InboxMessageOut(Schema):
    id: int
    message_id: uuid.UUID
    sender_code: str
    sender_name: str
    recipient_agency_id: int
    number: str
    letter_date: str | None
    subject: str
    urgency: int
    secrecy: int
    received_at: dt.datetime
    state: str
    state_label: str
    files: list[InboxFileOut]
    handled_by: str | None
    handled_at: dt.datetime | None
    reason: str
    letter_id: int | None
    receipt_number: str | None
    channel: str = Field(
        "saraban", description='How it arrived: "saraban" (the exchange), "ecms" or "email"')
    mail: InboxMailOut | None = Field(None, description='Only for channel "email"')


class InboxPageOut(Schema):
    state: str
    page: int
    page_size: int
    total: int
    items: list[InboxMessageOut]


class InboxQuery(Schema):
    state: str = Field("waiting", description='"waiting", "registered", "rejected" or "returned"')
    page: PageNumber = 1
    page_size: int = Field(50, ge=1, le=200)


class ReasonIn(Schema):
    reason: str = Field("", max_length=500)


class InboxRegisteredOut(Schema):
    """A registration from the inbox: the new letter and its receipt number."""

    message: InboxMessageOut
    letter_id: int
    entry: EntryOut


class MailReportOut(Schema):
    """A delivery status notification (DSN) or bounce about a mail we sent."""

    action: str = Field(description='"failed" or "delayed"')
    status: str = Field(description='The enhanced status code, e.g. "5.1.1"')
    diagnostic: str
    reporting_mta: str
    at: str | None = Field(description="When the report was matched (ISO 8601)")


class DeliveryMailOut(Schema):
    address: str = Field(description="The recipient's e-mail address")
    message_id: str | None = Field(description="Our mail's Message-ID (without <>), once sent")
    bounce: MailReportOut | None = Field(description="The bounce that failed it, if any")
    delayed: MailReportOut | None = Field(description="A delay reported for it, if any")


class DeliveryOut(Schema):
    id: int
    message_id: uuid.UUID
    recipient_code: str
    recipient: str
    recipient_agency_id: int | None
    channel: str = Field(
        description='"saraban" (the Saraban exchange), "ecms" (e-CMS) or "email"')
    channel_label: str = Field(description='The channel as the tracking shows it ("e-CMS")')
    state: str
    state_label: str
    overdue: bool
    queued_at: dt.datetime
    sent_at: dt.datetime | None
    registered_at: dt.datetime | None
    closed_at: dt.datetime | None
    receipt_number: str
    reason: str
    last_error: str
    attempts: int
    replaces: uuid.UUID | None
    process_id: str | None = Field(
        None, description="e-CMS: the ProcessID the agency's own e-CMS node gave the letter")
    arrived: bool = Field(
        False, description="e-CMS: the recipient's node reported the letter arrived "
                           "(ReceiveLetterNotifier)")
    arrived_at: str | None = Field(
        None, description="e-CMS: when it arrived, as the recipient's node wrote it")
    disputed: bool = Field(
        False, description="e-CMS: the receipt number was disputed (InvalidAcceptIDNotifier "
                           "sent), a new one is awaited")
    mail: DeliveryMailOut | None = Field(None, description="Only for a delivery by e-mail")


class DeliveriesOut(Schema):
    letter_id: int
    items: list[DeliveryOut]


# ---- inbox --------------------------------------------------------------------------------


def _inbox_tenants(person: Person) -> list[int]:
    """Agencies whose electronic inbox this person handles, or ``PermissionDenied``."""
    tenants = list(
        registries_for(person).filter(is_central=True).values_list("tenant_id", flat=True)
    )
    if not tenants:
        raise PermissionDenied(
            "ท่านไม่ได้เป็นเจ้าหน้าที่สารบรรณกลางที่รับหนังสือทางระบบ", code="inbox_forbidden"
        )
    return tenants


def _inbox_rows(tenants: list[int]) -> QuerySet[InboxMessage]:
    return (
        InboxMessage.objects.filter(recipient_id__in=tenants)
        .select_related("handled_by", "entry")
        .prefetch_related("files__blob")
    )


def _message(person: Person, inbox_id: int) -> InboxMessage:
    message = _inbox_rows(_inbox_tenants(person)).filter(pk=inbox_id).first()
    if message is None:
        raise NotFound("ไม่พบหนังสือในกล่องหนังสือเข้า", code="inbox_message_not_found")
    return message


def _names(codes: set[str]) -> dict[str, str]:
    return dict(DirectoryEntry.objects.filter(code__in=codes).values_list("code", "name_th"))


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def inbox_out(message: InboxMessage, names: dict[str, str]) -> InboxMessageOut:
    letter: dict[str, Any] = message.envelope.get("letter", {}) or {}
    entry = message.entry
    return InboxMessageOut(
        id=message.pk,
        message_id=message.message_id,
        sender_code=message.sender_code,
        sender_name=names.get(message.sender_code, str(letter.get("sender_name", ""))),
        recipient_agency_id=message.recipient_id,
        number=str(letter.get("number", "")),
        letter_date=str(letter["letter_date"]) if letter.get("letter_date") else None,
        subject=str(letter.get("subject", "")),
        urgency=_int(letter.get("urgency")),
        secrecy=_int(letter.get("secrecy")),
        received_at=message.received_at,
        state=message.state,
        state_label=InState(message.state).label,
        files=[
            InboxFileOut(
                id=f.pk, role=f.role, filename=f.filename, sha256=f.blob.sha256,
                size=f.blob.size, content_type=f.blob.content_type,
            )
            for f in message.files.all()
        ],
        handled_by=message.handled_by.display_name() if message.handled_by else None,
        handled_at=message.handled_at,
        reason=message.reason,
        letter_id=entry.letter_id if entry else None,
        receipt_number=entry.formatted if entry else None,
        channel=arrival_channel(message),
        mail=_inbox_mail(message),
    )


MAILTO = "mailto:"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _when(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def _inbox_mail(message: InboxMessage) -> InboxMailOut | None:
    """The mail part of an arrival by e-mail (``envelope["mail"]``), else ``None``."""
    if arrival_channel(message) != Channel.EMAIL:
        return None
    envelope = _dict(message.envelope)
    mail = _dict(envelope.get("mail"))
    smime = _dict(mail.get("smime"))
    replied = mail.get("replied_letter")
    listed = mail.get("not_kept")
    not_kept: list[Any] = listed if isinstance(listed, list) else []
    return InboxMailOut(
        address=str(mail.get("from") or "") or message.sender_code.removeprefix(MAILTO),
        name=str(mail.get("from_name") or ""),
        to=mail_addresses(mail.get("to")),
        cc=mail_addresses(mail.get("cc")),
        date=_when(mail.get("date")),
        message_id=str(mail.get("message_id") or ""),
        mailbox=str(mail.get("mailbox") or ""),
        in_reply_to=mail_strings(mail.get("in_reply_to")),
        replied_letter_id=replied if isinstance(replied, int) else None,
        replied_number=str(mail.get("replied_number") or ""),
        text=str(_dict(envelope.get("letter")).get("body") or ""),
        not_kept=[MailNotKeptOut(name=str(n.get("name", "")), reason=str(n.get("reason", "")))
                  for n in not_kept if isinstance(n, dict)],
        smime=MailSmimeOut(signed=True, verdict=str(smime.get("verdict") or ""),
                           signer_subject=str(smime.get("signer")
                                              or smime.get("signer_subject") or ""))
        if smime.get("signed") else None,
        source=str(mail.get("source") or _dict(message.receipt).get("source") or ""),
    )


@router.get(
    "/inbox", response={200: InboxPageOut, **ERRORS}, url_name="exchange_inbox",
    summary="The electronic inbox",
)
def inbox_list(request: HttpRequest, q: Query[InboxQuery]) -> InboxPageOut:
    """Letters that arrived for the person's agencies; waiting ones most urgent, newest first."""
    person = current_person(request)
    if q.state not in InState.values:
        raise ValidationFailed("สถานะไม่ถูกต้อง", code="bad_state", field="state")
    rows = _inbox_rows(_inbox_tenants(person)).filter(state=q.state)
    total = rows.count()
    if q.state == InState.WAITING:
        rows = rows.order_by(
            F("envelope__letter__urgency").desc(nulls_last=True), "-received_at", "-pk"
        )
    else:
        rows = rows.order_by("-handled_at", "-pk")
    start = (q.page - 1) * q.page_size
    page = list(rows[start : start + q.page_size])
    names = _names({m.sender_code for m in page})
    return InboxPageOut(
        state=q.state, page=q.page, page_size=q.page_size, total=total,
        items=[inbox_out(m, names) for m in page],
    )


@router.post(
    "/inbox/{inbox_id}/register", response={201: InboxRegisteredOut, **ERRORS},
    url_name="exchange_inbox_register", summary="Register an arrived letter",
)
def inbox_register(request: HttpRequest, inbox_id: int) -> Status[InboxRegisteredOut]:
    """Register it in the incoming register; the receipt number goes back to the sender."""
    person = current_person(request)
    message = _message(person, inbox_id)
    entry = exchange_inbox_register(actor=resolve_actor(person), message=message)
    message = _message(person, inbox_id)
    return Status(201, InboxRegisteredOut(
        message=inbox_out(message, _names({message.sender_code})),
        letter_id=entry.letter_id,
        entry=entry_out(entry),
    ))


def _decline(request: HttpRequest, inbox_id: int, body: ReasonIn, *, returned: bool
             ) -> InboxMessageOut:
    person = current_person(request)
    message = _message(person, inbox_id)
    action = exchange_inbox_return if returned else exchange_inbox_reject
    action(actor=resolve_actor(person), message=message, reason=body.reason)
    message = _message(person, inbox_id)
    return inbox_out(message, _names({message.sender_code}))


@router.post(
    "/inbox/{inbox_id}/reject", response={200: InboxMessageOut, **ERRORS},
    url_name="exchange_inbox_reject", summary="Refuse an arrived letter",
)
def inbox_reject(request: HttpRequest, inbox_id: int, body: ReasonIn) -> InboxMessageOut:
    """Refuse it with a reason (required), which goes back to the sender."""
    return _decline(request, inbox_id, body, returned=False)


@router.post(
    "/inbox/{inbox_id}/return", response={200: InboxMessageOut, **ERRORS},
    url_name="exchange_inbox_return", summary="Return an arrived letter as misaddressed",
)
def inbox_return(request: HttpRequest, inbox_id: int, body: ReasonIn) -> InboxMessageOut:
    """Send it back as addressed to the wrong agency, with a reason (required)."""
    return _decline(request, inbox_id, body, returned=True)


# ---- deliveries and the outbox --------------------------------------------------------------


def deliveries_of(letter_id: int) -> QuerySet[OutboxMessage]:
    """A letter's outbox messages with ``overdue`` annotated (never a mail: no receipt comes
    back by e-mail), dispatch and replaced loaded."""
    return (
        OutboxMessage.objects.filter(letter_id=letter_id, type=MessageType.LETTER)
        .select_related("dispatch__recipient_agency", "replaces")
        .annotate(overdue=Case(When(overdue_filter() & ~Q(recipient_code__startswith=MAILTO),
                                    then=Value(True)),
                               default=Value(False), output_field=BooleanField()))
        .order_by("pk")
    )


def channel_label(channel: str) -> str:
    """The channel as the tracking shows it ("e-CMS" for e-CMS deliveries)."""
    return str(Channel(channel).label) if channel in Channel.values else channel


def delivery_out(out: OutboxMessage, names: dict[str, str]) -> DeliveryOut:
    dispatch = out.dispatch
    channel = dispatch.channel if dispatch else Channel.SARABAN.value
    recipient = names.get(out.recipient_code) or (
        dispatch.recipient_display if dispatch else out.recipient_code
    )
    return DeliveryOut(
        id=out.pk,
        message_id=out.message_id,
        recipient_code=out.recipient_code,
        recipient=recipient,
        recipient_agency_id=dispatch.recipient_agency_id if dispatch else None,
        channel=channel,
        channel_label=channel_label(channel),
        state=out.state,
        state_label=OutState(out.state).label,
        overdue=bool(getattr(out, "overdue", False)),
        queued_at=out.created_at,
        sent_at=out.sent_at,
        registered_at=out.registered_at,
        closed_at=out.closed_at,
        receipt_number=out.receipt_number,
        reason=out.reason,
        last_error=out.last_error,
        attempts=out.attempts,
        replaces=out.replaces.message_id if out.replaces else None,
        mail=_delivery_mail(out),
        **_ecms_fields(out),
    )


def _report(value: Any) -> MailReportOut | None:
    report = _dict(value)
    if not report:
        return None
    return MailReportOut(
        action=str(report.get("action") or ""), status=str(report.get("status") or ""),
        diagnostic=str(report.get("diagnostic") or ""),
        reporting_mta=str(report.get("reporting_mta") or ""),
        at=str(report.get("at") or "") or None,
    )


def _delivery_mail(out: OutboxMessage) -> DeliveryMailOut | None:
    """A delivery by e-mail: the address, our Message-ID once sent, a bounce or delay."""
    if not out.recipient_code.startswith(MAILTO):
        return None
    receipt = _dict(out.transport_receipt)
    return DeliveryMailOut(
        address=out.recipient_code.removeprefix(MAILTO),
        message_id=str(receipt.get("message_id") or "") or None,
        bounce=_report(receipt.get("bounce")),
        delayed=_report(receipt.get("delayed")),
    )


def _ecms_fields(out: OutboxMessage) -> dict[str, Any]:
    """The e-CMS part of a delivery: ProcessID, arrival and a pending dispute."""
    receipt = out.transport_receipt if isinstance(out.transport_receipt, dict) else {}
    if receipt.get("channel") != "ecms" and not isinstance(out.payload.get("ecms"), dict):
        return {}
    arrived = receipt.get("arrived")
    arrived = arrived if isinstance(arrived, dict) else None
    return {
        "process_id": str(receipt.get("process_id") or "") or None,
        "arrived": arrived is not None,
        "arrived_at": (str(arrived.get("accept_date") or "") or None) if arrived else None,
        "disputed": "disputed" in out.payload,
    }


@letters_router.get(
    "/{letter_id}/deliveries", response={200: DeliveriesOut, **ERRORS},
    url_name="letter_deliveries", summary="Where a sent letter stands with each recipient",
)
def letter_deliveries(request: HttpRequest, letter_id: int) -> DeliveriesOut:
    """Each recipient's delivery state, times and receipt number (overdue ones flagged)."""
    letter = access_letter(current_person(request), letter_id)
    rows = list(deliveries_of(letter.pk))
    names = _names({o.recipient_code for o in rows})
    return DeliveriesOut(letter_id=letter.pk, items=[delivery_out(o, names) for o in rows])


def _outbox(person: Person, message_id: uuid.UUID) -> OutboxMessage:
    out = (
        OutboxMessage.objects.filter(
            message_id=message_id, type=MessageType.LETTER,
            letter__in=visible_letters(person),
        ).first()
    )
    if out is None:
        raise NotFound("ไม่พบรายการส่งหนังสือ", code="outbox_message_not_found")
    return out


def _optional_reason(request: HttpRequest) -> str:
    if not (request.content_type or "").endswith("json") or not request.body.strip():
        return ""
    try:
        return ReasonIn.model_validate_json(request.body).reason
    except pydantic.ValidationError as exc:
        raise invalid_request(exc, loc="body") from exc


def _one(out: OutboxMessage) -> DeliveryOut:
    fresh = deliveries_of(out.letter_id or 0).get(pk=out.pk)
    return delivery_out(fresh, _names({fresh.recipient_code}))


@router.post(
    "/outbox/{message_id}/withdraw", response={200: DeliveryOut, **ERRORS},
    url_name="exchange_outbox_withdraw", summary="Withdraw a rejected, returned or failed letter",
    openapi_extra={"requestBody": {"required": False, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/ReasonIn"}}}}},
)
def outbox_withdraw(request: HttpRequest, message_id: uuid.UUID) -> DeliveryOut:
    """Withdraw it so it can be corrected and sent again (optional JSON ``{"reason"}``)."""
    person = current_person(request)
    out = _outbox(person, message_id)
    reason = _optional_reason(request)
    return _one(exchange_withdraw(actor=resolve_actor(person), out=out, reason=reason))


@router.post(
    "/outbox/{message_id}/resend", response={201: DeliveryOut, **ERRORS},
    url_name="exchange_outbox_resend", summary="Send a withdrawn letter again",
)
def outbox_resend(request: HttpRequest, message_id: uuid.UUID) -> Status[DeliveryOut]:
    """Send it again as a new message (a new message id) that replaces the withdrawn one."""
    person = current_person(request)
    out = _outbox(person, message_id)
    return Status(201, _one(exchange_resend(actor=resolve_actor(person), out=out)))


@router.post(
    "/outbox/{message_id}/requeue", response={200: DeliveryOut, **ERRORS},
    url_name="exchange_outbox_requeue", summary="Try a failed delivery again",
)
def outbox_requeue(request: HttpRequest, message_id: uuid.UUID) -> DeliveryOut:
    """Queue a failed message again with the same message id (attempts start over)."""
    person = current_person(request)
    out = _outbox(person, message_id)
    return _one(exchange_requeue(actor=resolve_actor(person), out=out))


@router.post(
    "/outbox/{message_id}/dispute", response={200: DeliveryOut, **ERRORS},
    url_name="exchange_outbox_dispute",
    summary="Dispute the receipt number an e-CMS recipient gave",
    openapi_extra={"requestBody": {"required": False, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/ReasonIn"}}}}},
)
def outbox_dispute(request: HttpRequest, message_id: uuid.UUID) -> DeliveryOut:
    """e-CMS: tell the recipient its AcceptID is wrong (``InvalidAcceptIDNotifier``,
    optional JSON ``{"reason"}``); its next AcceptLetterNotifier replaces the number.
    409 ``not_disputable`` unless the letter went by e-CMS and was registered."""
    person = current_person(request)
    out = _outbox(person, message_id)
    reason = _optional_reason(request)
    exchange_dispute_accept_id(actor=resolve_actor(person), out=out, reason=reason)
    return _one(out)
