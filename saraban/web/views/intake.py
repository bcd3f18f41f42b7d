"""ลงทะเบียนรับจากภาพสแกน: upload a scan, watch it being read, check and register it.

The flow: the upload page keeps the scan and queues OCR (``intake_upload``); the scan's page
polls its status with htmx every two seconds until the worker has read it, then shows the
incoming-registration form filled with the proposed fields (each marked "อ่านจากภาพ — โปรด
ตรวจ") beside the searchable PDF; the clerk corrects and confirms (``intake_register``).
"""

from __future__ import annotations

from typing import IO, Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRefresh

from saraban.agencies.actors import positions_for, resolve_actor
from saraban.agencies.models import ActingKind, Person
from saraban.core.errors import NotFound, SarabanError
from saraban.core.thai import BE_OFFSET, thai_datetime
from saraban.intake.models import ScanIntake
from saraban.intake.services import access_intake, intake_register, intake_upload, intakes_pending
from saraban.letters import files
from saraban.letters.access import registries_for
from saraban.letters.models import Registry
from saraban.letters.services import Upload

from ..forms import IncomingForm
from .register import _details, _show_error

#: Proposed field → the form field it fills.
_FORM_FIELDS = {
    "number": "number", "letter_date": "letter_date", "subject": "subject",
    "salutation": "salutation", "recipient_text": "recipient_text",
    "sender_agency_id": "sender_agency", "sender_text": "sender_text", "urgency": "urgency",
    "kind": "kind",
}
_SCAN_TYPES = "application/pdf,image/png,image/jpeg,image/tiff"


def _person(request: HttpRequest) -> Person:
    return cast(Person, request.user)


def _forbidden(request: HttpRequest, message: str, status: int = 403) -> HttpResponse:
    return render(request, "web/register/forbidden.html", {"message": message}, status=status)


class ScanUploadForm(forms.Form):
    registry = forms.ModelChoiceField(queryset=Registry.objects.none(), label="ทะเบียนของ",
                                      empty_label=None)
    position = forms.TypedChoiceField(label="ปฏิบัติในตำแหน่ง", coerce=int, required=False)
    scan = forms.FileField(
        label="ภาพสแกนหนังสือ", required=False,
        help_text="PDF, PNG, JPEG หรือ TIFF ระบบจะอ่านข้อความจากภาพและกรอกรายละเอียดให้ตรวจ",
        widget=forms.ClearableFileInput(attrs={"accept": _SCAN_TYPES}),
    )

    def __init__(self, *args: Any, user: Person, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        registry = self.fields["registry"]
        assert isinstance(registry, forms.ModelChoiceField)
        registry.queryset = registries_for(user).order_by("-is_central", "unit__path")
        position = self.fields["position"]
        assert isinstance(position, forms.ChoiceField)
        choices = positions_for(user)
        acting = dict(ActingKind.choices)
        position.choices = [
            (p.pk, f"{acting[kind]} {p.title_th}" if kind else f"{p.title_th} ({p.unit.name_th})")
            for p, kind in choices
        ]
        if len(choices) <= 1:
            position.widget = forms.HiddenInput()

    def clean_position(self) -> int | None:
        value = self.cleaned_data.get("position")
        return int(value) if value not in (None, "") else None

    def clean_scan(self) -> UploadedFile[bytes]:
        scan = self.cleaned_data.get("scan")
        if not scan:
            raise forms.ValidationError("กรุณาเลือกไฟล์ภาพสแกนของหนังสือ", code="scan_required")
        return cast(UploadedFile[bytes], scan)


class IntakeRegisterForm(IncomingForm):
    """The incoming-registration form for one scan: its registry is fixed, its file is the
    scan (no file field is shown)."""

    def __init__(self, *args: Any, user: Person, intake: ScanIntake, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        registry = self.fields["registry"]
        assert isinstance(registry, forms.ModelChoiceField)
        registry.queryset = Registry.objects.filter(pk=intake.registry_id)
        registry.initial = intake.registry_id
        registry.widget = forms.HiddenInput()
        self.fields["main_file"].widget = forms.HiddenInput()


def _initial(intake: ScanIntake) -> dict[str, Any]:
    """The form's starting values: what OCR proposed (a date as วว/ดด/ปปปป พ.ศ.)."""
    initial: dict[str, Any] = {}
    for name, value in intake.proposed.items():
        target = _FORM_FIELDS.get(name)
        if target is None:
            continue
        if name == "letter_date":
            year, month, day = (int(x) for x in str(value).split("-"))
            value = f"{day}/{month}/{year + BE_OFFSET}"
        initial[target] = value
    if "sender_agency" in initial:
        initial.pop("sender_text", None)
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def intake_start(request: HttpRequest) -> HttpResponse:
    """Upload a scan, and the list of scans still waiting to be registered."""
    person = _person(request)
    if not registries_for(person).exists():
        return _forbidden(request, "ท่านไม่มีสิทธิ์ลงทะเบียนหนังสือ (ต้องเป็นเจ้าหน้าที่สารบรรณ)")
    form = ScanUploadForm(request.POST or None, request.FILES or None, user=person)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        scan = data["scan"]
        try:
            intake = intake_upload(
                actor=resolve_actor(person, data["position"]),
                registry=data["registry"],
                upload=Upload(filename=scan.name or "scan", content=cast(IO[bytes], scan)),
            )
        except SarabanError as exc:
            message = exc.message
            if exc.field == "scan":
                message += " (กรุณาเลือกไฟล์อีกครั้ง)"
            form.add_error("scan" if exc.field == "scan" else None, message)
        else:
            return redirect("web:intake_detail", intake_id=intake.pk)
    pending = list(intakes_pending(person)[:50])
    return render(request, "intake/start.html", {"form": form, "pending": pending})


@login_required
@require_http_methods(["GET", "POST"])
def intake_detail(request: HttpRequest, intake_id: int) -> HttpResponse:
    """The scan: its progress while it is read, then the form to check and register it."""
    person = _person(request)
    try:
        intake = access_intake(person, intake_id)
    except NotFound as exc:
        return _forbidden(request, exc.message, status=404)
    if intake.letter_id is not None:
        return redirect("web:letter_detail", letter_id=intake.letter_id)
    if not intake.is_finished and request.method == "GET":
        return render(request, "intake/progress.html", {"intake": intake})
    form = IntakeRegisterForm(
        request.POST or None, request.FILES or None, user=person, intake=intake,
        initial=_initial(intake),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            entry = intake_register(
                actor=resolve_actor(person, data["position"]),
                intake=intake,
                details=_details(
                    form, person, number=data["number"] or "", letter_date=data["letter_date"],
                    sender_agency=data["sender_agency"], sender_text=data["sender_text"] or "",
                ),
                attachments=[Upload(filename=f.name or "file", content=cast(IO[bytes], f))
                             for f in data["attachments"]],
            )
        except SarabanError as exc:
            _show_error(form, exc)
        else:
            messages.success(
                request,
                f"ลงทะเบียนรับเลขที่ {entry.formatted} เวลา {thai_datetime(entry.registered_at)}",
            )
            return redirect("web:letter_detail", letter_id=entry.letter_id)
    proposed = {_FORM_FIELDS[name] for name in intake.proposed if name in _FORM_FIELDS}
    return render(request, "intake/detail.html", {
        "intake": intake, "form": form, "proposed": proposed,
        "image_preview": intake.original.content_type in {files.PNG, files.JPEG},
    })


@login_required
@require_GET
def intake_status(request: HttpRequest, intake_id: int) -> HttpResponse:
    """The progress box (polled by htmx); once the scan is read, the page reloads."""
    try:
        intake = access_intake(_person(request), intake_id)
    except NotFound as exc:
        return _forbidden(request, exc.message, status=404)
    if intake.is_finished and request.headers.get("HX-Request"):
        return HttpResponseClientRefresh()
    return render(request, "intake/_status.html", {"intake": intake})


@login_required
@require_GET
def intake_file(request: HttpRequest, intake_id: int, which: str) -> HttpResponseBase:
    """The original scan or the searchable PDF, shown inline to the registry's clerks."""
    try:
        intake = access_intake(_person(request), intake_id)
    except NotFound as exc:
        return _forbidden(request, exc.message, status=404)
    blob = intake.searchable if which == "searchable" else intake.original
    if blob is None or which not in {"original", "searchable"}:
        return _forbidden(request, "ไม่พบไฟล์", status=404)
    name = f"ocr-{intake.pk}.pdf" if which == "searchable" else intake.filename
    response = FileResponse(files.open_blob(blob), content_type=blob.content_type,
                            as_attachment=False, filename=name)
    response["Cache-Control"] = "private, no-store"
    return response
