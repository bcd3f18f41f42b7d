"""Registration screens: register incoming and outgoing letters, cancel, hand over.

Each view parses a form, calls one action from ``saraban.letters.services`` with
``resolve_actor(user, position)``, and renders. A ``SarabanError`` from the action is shown
in Thai next to the field it names (or above the form); the action has changed nothing, and
the form keeps what the clerk typed.
"""

from __future__ import annotations

from typing import IO, Any, cast

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from saraban.agencies.actors import Actor, resolve_actor
from saraban.agencies.models import Person
from saraban.core.errors import NotFound, SarabanError
from saraban.core.thai import thai_datetime
from saraban.letters.access import access_letter, can_see, registries_for, visible_letters
from saraban.letters.models import (
    INCOMING_SERIES,
    Handover,
    Letter,
    RegisterEntry,
    Registry,
    Secrecy,
)
from saraban.letters.numbering import display_number
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

from ..forms import (
    CancelForm,
    HandOverForm,
    IncomingForm,
    LetterForm,
    OutgoingForm,
    RecipientFormSet,
    lines,
)

# Fields an action may name that the form shows under another name.
_FIELD_ALIASES = {"sender": "sender_text", "series": "series_kind"}
_RECIPIENT_FIELDS = frozenset({"recipients", "channel", "address"})


def _person(request: HttpRequest) -> Person:
    return cast(Person, request.user)


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "web/register/forbidden.html", {"message": message}, status=403)


def _not_found(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "web/register/forbidden.html", {"message": message}, status=404)


def _upload(f: UploadedFile[bytes]) -> Upload:
    return Upload(filename=f.name or "file", content=cast(IO[bytes], f))


def _show_error(form: django_forms.Form, exc: SarabanError) -> None:
    """Put the action's Thai message next to its field, or above the form."""
    field = _FIELD_ALIASES.get(exc.field or "", exc.field)
    message = exc.message
    if exc.field in {"main_file", "attachments"}:
        name = exc.details.get("filename")
        if name:
            message = f"{name}: {message}"
        message += " (กรุณาเลือกไฟล์อีกครั้ง)"
    if field and field in form.fields:
        form.add_error(field, message)
    else:
        form.add_error(None, message)


def _references(person: Person, text: str) -> list[Letter | str]:
    """Each line of อ้างถึง; a line that is the number of a letter the person sees links it."""
    items = lines(text)
    if not items:
        return []
    found = {
        letter.number: letter
        for letter in visible_letters(person).filter(number__in=items).order_by("-created_at")
    }
    return [found.get(item, item) for item in items]


def _details(form: LetterForm, person: Person, **extra: Any) -> LetterDetails:
    data = form.cleaned_data
    return LetterDetails(
        kind=data["kind"],
        subkind=data["subkind"] or "",
        urgency=data["urgency"],
        secrecy=data["secrecy"],
        subject=data["subject"] or "",
        salutation=data["salutation"] or "",
        recipient_text=data["recipient_text"] or "",
        references=_references(person, data["references"] or ""),
        enclosures=lines(data["enclosures"] or ""),
        secret_readers=list(data["secret_readers"]) if data["secrecy"] > Secrecy.NORMAL else [],
        is_paper=data["main_file"] is None,
        remarks=data["remarks"] or "",
        **extra,
    )


def _files(form: LetterForm) -> tuple[Upload | None, list[Upload]]:
    main = form.cleaned_data["main_file"]
    return (_upload(main) if main else None,
            [_upload(f) for f in form.cleaned_data["attachments"]])


def _actor(request: HttpRequest, position: int | None) -> Actor:
    return resolve_actor(_person(request), position)


@login_required
@require_http_methods(["GET", "POST"])
def register_incoming(request: HttpRequest) -> HttpResponse:
    """ลงทะเบียนรับ: record a received letter and give it its receipt number."""
    person = _person(request)
    if not registries_for(person).exists():
        return _forbidden(request, "ท่านไม่มีสิทธิ์ลงทะเบียนหนังสือ (ต้องเป็นเจ้าหน้าที่สารบรรณ)")
    form = IncomingForm(request.POST or None, request.FILES or None, user=person)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        main, attachments = _files(form)
        try:
            entry = letter_register_incoming(
                actor=_actor(request, data["position"]),
                registry=data["registry"],
                details=_details(
                    form, person, number=data["number"] or "", letter_date=data["letter_date"],
                    sender_agency=data["sender_agency"], sender_text=data["sender_text"] or "",
                ),
                main_file=main,
                attachments=attachments,
            )
        except SarabanError as exc:
            _show_error(form, exc)
        else:
            messages.success(
                request,
                f"ลงทะเบียนรับเลขที่ {entry.formatted} เวลา {thai_datetime(entry.registered_at)}",
            )
            return redirect("web:letter_detail", letter_id=entry.letter_id)
    return render(request, "web/register/incoming.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def register_outgoing(request: HttpRequest) -> HttpResponse:
    """ลงทะเบียนส่ง: issue an outgoing letter its number and record its recipients."""
    person = _person(request)
    if not registries_for(person).exists():
        return _forbidden(request, "ท่านไม่มีสิทธิ์ออกเลขหนังสือ (ต้องเป็นเจ้าหน้าที่สารบรรณ)")
    form = OutgoingForm(request.POST or None, request.FILES or None, user=person)
    recipients = RecipientFormSet(request.POST or None, prefix="rcpt")
    recipient_error = ""
    if request.method == "POST" and form.is_valid() and recipients.is_valid():
        data = form.cleaned_data
        main, attachments = _files(form)
        rows = [
            Recipient(
                channel=row.cleaned_data["channel"], agency=row.cleaned_data["agency"],
                text=row.cleaned_data["text"] or "", address=row.cleaned_data["address"] or "",
            )
            for row in recipients.forms
            if row.cleaned_data and not row.is_blank
        ]
        try:
            entry = letter_register_outgoing(
                actor=_actor(request, data["position"]),
                registry=data["registry"],
                details=_details(form, person),
                series_kind=data["series_kind"],
                recipients=rows,
                main_file=main,
                attachments=attachments,
            )
        except SarabanError as exc:
            if exc.field in _RECIPIENT_FIELDS:
                recipient_error = exc.message
                form.add_error(None, "กรุณาตรวจสอบรายชื่อผู้รับ")
            else:
                _show_error(form, exc)
        else:
            shown = display_number(kind=entry.series.kind, formatted=entry.formatted)
            messages.success(
                request, f"ออกเลขหนังสือ {shown} เวลา {thai_datetime(entry.registered_at)}"
            )
            return redirect("web:letter_detail", letter_id=entry.letter_id)
    return render(
        request, "web/register/outgoing.html",
        {"form": form, "recipients": recipients, "recipient_error": recipient_error},
    )


def _entry_for(person: Person, entry_id: int) -> RegisterEntry:
    entry = (
        RegisterEntry.objects.select_related("series__registry", "letter")
        .filter(pk=entry_id)
        .first()
    )
    if entry is None or not can_see(person, entry.letter):
        raise NotFound("ไม่พบรายการทะเบียน หรือท่านไม่มีสิทธิ์เข้าถึง", code="entry_not_found")
    return entry


@login_required
@require_http_methods(["GET", "POST"])
def entry_cancel_view(request: HttpRequest, entry_id: int) -> HttpResponse:
    """Cancel a register entry after a confirmation with a reason; the number stays used."""
    person = _person(request)
    try:
        entry = _entry_for(person, entry_id)
    except NotFound as exc:
        return _not_found(request, exc.message)
    if not registries_for(person).filter(pk=entry.series.registry_id).exists():
        return _forbidden(request, "ท่านไม่มีสิทธิ์ยกเลิกรายการในทะเบียนนี้")
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            entry_cancel(
                actor=_actor(request, form.cleaned_data["position"]),
                entry=entry,
                reason=form.cleaned_data["reason"] or "",
            )
        except SarabanError as exc:
            _show_error(form, exc)
        else:
            messages.success(
                request,
                f"ยกเลิก{display_number(kind=entry.series.kind, formatted=entry.formatted)} "
                "แล้ว (เลขนี้จะไม่ถูกนำมาใช้ซ้ำ)",
            )
            return redirect("web:letter_detail", letter_id=entry.letter_id)
    return render(
        request, "web/register/cancel.html",
        {"form": form, "entry": entry, "letter": entry.letter,
         "shown_number": display_number(kind=entry.series.kind, formatted=entry.formatted)},
    )


def _from_entry(letter: Letter, person: Person) -> RegisterEntry | None:
    """The letter's live incoming entry in a registry where this person is a clerk."""
    return (
        letter.entries.filter(
            series__kind__in=INCOMING_SERIES, cancelled_at__isnull=True,
            series__registry__in=registries_for(person),
        )
        .select_related("series__registry")
        .first()
    )


@login_required
@require_http_methods(["GET", "POST"])
def letter_hand_over_view(request: HttpRequest, letter_id: int) -> HttpResponse:
    """Pass a registered letter on to one of the agency's other registries."""
    person = _person(request)
    try:
        letter = access_letter(person, letter_id)
    except NotFound as exc:
        return _not_found(request, exc.message)
    from_entry = _from_entry(letter, person)
    if from_entry is None:
        return _forbidden(request, "ท่านไม่มีสิทธิ์ส่งต่อหนังสือนี้ (ต้องลงทะเบียนรับในทะเบียนของท่าน)")
    targets = (
        Registry.objects.filter(tenant_id=letter.tenant_id)
        .exclude(pk=from_entry.series.registry_id)
        .exclude(handovers__letter=letter)
        .select_related("unit")
        .order_by("unit__path")
    )
    form = HandOverForm(request.POST or None, registries=targets)
    if request.method == "POST" and form.is_valid():
        try:
            handover = letter_hand_over(
                actor=_actor(request, form.cleaned_data["position"]),
                letter=letter,
                to_registry=form.cleaned_data["to_registry"],
                note=form.cleaned_data["note"] or "",
            )
        except SarabanError as exc:
            _show_error(form, exc)
        else:
            messages.success(request, f"ส่งต่อหนังสือให้ {handover.to_registry.name_th} แล้ว")
            return redirect("web:letter_detail", letter_id=letter.pk)
    return render(request, "web/register/hand_over.html",
                  {"form": form, "letter": letter, "from_entry": from_entry})


@login_required
def handovers(request: HttpRequest) -> HttpResponse:
    """Letters handed over to my registries and not yet registered there."""
    person = _person(request)
    mine = registries_for(person)
    pending = list(
        Handover.objects.filter(to_registry__in=mine, entry__isnull=True)
        .select_related("letter", "from_registry", "to_registry")
        .order_by("-created_at")[:200]
    )
    visible = set(
        visible_letters(person)
        .filter(pk__in=[h.letter_id for h in pending])
        .values_list("pk", flat=True)
    )
    rows = [{"handover": h, "visible": h.letter_id in visible} for h in pending]
    return render(request, "web/register/handovers.html",
                  {"rows": rows, "is_clerk": mine.exists()})


@login_required
@require_POST
def handover_register_view(request: HttpRequest, handover_id: int) -> HttpResponseBase:
    """Register a handed-over letter in the unit's own incoming register."""
    person = _person(request)
    handover = (
        Handover.objects.select_related("letter", "to_registry")
        .filter(Q(pk=handover_id) & Q(to_registry__in=registries_for(person)))
        .first()
    )
    if handover is None:
        return _not_found(request, "ไม่พบรายการส่งต่อ หรือท่านไม่มีสิทธิ์ลงทะเบียน")
    position = request.POST.get("position") or None
    try:
        entry = handover_register(
            actor=_actor(request, int(position) if position and position.isdigit() else None),
            handover=handover,
        )
    except SarabanError as exc:
        messages.error(request, exc.message)
        return redirect("web:handovers")
    messages.success(
        request,
        f"{handover.to_registry.name_th} ลงทะเบียนรับเลขที่ {entry.formatted} "
        f"เวลา {thai_datetime(entry.registered_at)}",
    )
    if can_see(person, handover.letter):
        return redirect("web:letter_detail", letter_id=handover.letter_id)
    return redirect(reverse("web:handovers"))
