"""e-CMS in the web UI: an agency's connection to its own e-CMS node, e-CMS agencies in the
directory, and disputing the receipt number (AcceptID) an e-CMS recipient gave.

- ``/exchange/ecms/?agency=ID``: the agency's ``EcmsAccount`` (department, ministry, node URL,
  last poll and last error) with a form to set it, and the button that imports the node's
  organisation list; for the agency admins of that agency (and superusers);
- ``/exchange/directory/ecms/add/``: list an agency reached through e-CMS by hand; for the
  people who may see the directory page (agency admins, superusers);
- ``/exchange/outbox/<id>/dispute/``: ``InvalidAcceptIDNotifier`` for a registered e-CMS
  delivery; for the clerks of the sending agency (the outbox buttons' rule).

Every change goes through an action (:mod:`saraban.exchange.ecms.admin_actions`,
:func:`saraban.exchange.outbox.exchange_dispute_accept_id`); a ``SarabanError`` is shown in
Thai and nothing is saved. GETs only read.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Agency, Person
from saraban.core.errors import SarabanError
from saraban.exchange.ecms.admin_actions import (
    ecms_account_set_by,
    ecms_agencies_for,
    ecms_entry_add_by,
    ecms_import_organizations_by,
    may_admin_directory,
)
from saraban.exchange.models import (
    DirectoryEntry,
    EcmsAccount,
    MessageType,
    OutboxMessage,
    OutState,
)
from saraban.exchange.outbox import exchange_dispute_accept_id
from saraban.letters.access import registries_for, visible_letters

from .browse import not_found, person_of

NO_AGENCY = "ไม่พบส่วนราชการ หรือท่านไม่มีสิทธิ์ตั้งค่า e-CMS ของส่วนราชการนี้"
NO_DELIVERY = "ไม่พบรายการส่งหนังสือ หรือท่านไม่มีสิทธิ์เข้าถึง"
MAX_PEM = 64 << 10


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "web/exchange/forbidden.html", {"message": message}, status=403)


def _digits(length: int, label: str) -> forms.CharField:
    return forms.CharField(
        label=label, max_length=length, required=length == 10,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off",
                                      "pattern": f"[0-9]{{{length}}}"}),
        error_messages={"required": f"กรุณาระบุ{label}",
                        "max_length": f"{label}ต้องเป็นตัวเลข {length} หลัก"},
    )


class AccountForm(forms.Form):
    department = _digits(10, "รหัสหน่วยงาน e-CMS (10 หลัก)")
    ministry = _digits(2, "รหัสกระทรวง (2 หลัก)")
    node_url = forms.CharField(
        label="ที่อยู่โหนด e-CMS ของส่วนราชการ", max_length=255,
        help_text="เช่น http://ecms.example.go.th/ecms-ws01/service2 "
                  "(ไม่ระบุรหัสกระทรวง: ใช้ 2 หลักแรกของรหัสหน่วยงาน)",
        error_messages={"required": "กรุณาระบุที่อยู่โหนด e-CMS",
                        "max_length": "ที่อยู่โหนด e-CMS ยาวเกินไป"},
    )


class EntryForm(forms.Form):
    department = _digits(10, "รหัสหน่วยงาน e-CMS (10 หลัก)")
    name = forms.CharField(label="ชื่อหน่วยงาน", max_length=255,
                           error_messages={"required": "กรุณาระบุชื่อหน่วยงาน",
                                           "max_length": "ชื่อหน่วยงานยาวเกินไป"})
    ministry = _digits(2, "รหัสกระทรวง (2 หลัก)")
    node_url = forms.CharField(
        label="ที่อยู่โหนด e-CMS ของหน่วยงาน (ถ้ามี)", max_length=255, required=False,
        help_text="เพื่อทราบเท่านั้น: ระบบส่งหนังสือผ่านโหนด e-CMS ของส่วนราชการของท่านเสมอ",
        error_messages={"max_length": "ที่อยู่โหนด e-CMS ยาวเกินไป"},
    )
    certificate = forms.FileField(
        label="ใบรับรองของหน่วยงาน (PEM, ถ้ามี)", required=False,
        help_text="ใช้ตรวจลายมือชื่อ XML-DSig ของหนังสือที่หน่วยงานนี้ส่งมา",
        error_messages={"empty": "ไฟล์ใบรับรองว่างเปล่า"},
    )

    def clean_certificate(self) -> str:
        upload = self.cleaned_data.get("certificate")
        if not upload:
            return ""
        if upload.size > MAX_PEM:
            raise forms.ValidationError("ไฟล์ใบรับรองใหญ่เกินไป")
        try:
            text: str = upload.read().decode("ascii")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError("ไฟล์ใบรับรองต้องเป็น PEM (ข้อความ)") from exc
        return text


class DisputeForm(forms.Form):
    reason = forms.CharField(
        label="เหตุผล (ถ้ามี)", max_length=500, required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": "เหตุผลยาวเกินไป"},
    )


def _add_error(form: forms.Form, exc: SarabanError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


# ---- an agency's e-CMS account -------------------------------------------------------------


def _chosen(person: Person, wanted: str | None) -> tuple[list[Agency], Agency | None]:
    """The agencies whose e-CMS settings this person manages, and the one asked for (the
    person's own, or the first, when none is asked for); ``None`` when it is not theirs."""
    agencies = ecms_agencies_for(resolve_actor(person))
    if not agencies:
        return agencies, None
    if wanted:
        return agencies, next((a for a in agencies if str(a.pk) == wanted.strip()), None)
    own = next((a for a in agencies if a.pk == person.agency_id), None)
    return agencies, own or agencies[0]


def _settings_url(agency: Agency) -> str:
    return f"{reverse('web:exchange_ecms')}?agency={agency.pk}"


@login_required
def ecms_settings(request: HttpRequest) -> HttpResponse:
    """The agency's e-CMS account and the form that sets it."""
    person = person_of(request)
    wanted = request.POST.get("agency") if request.method == "POST" else request.GET.get("agency")
    agencies, agency = _chosen(person, wanted)
    if not agencies:
        return _forbidden(request, "หน้านี้สำหรับผู้ดูแลระบบของส่วนราชการ")
    if agency is None:
        return not_found(request, NO_AGENCY)
    account = EcmsAccount.objects.filter(agency=agency).first()
    initial: dict[str, Any] = {}
    if account is not None:
        initial = {"department": account.department_id, "ministry": account.ministry_id,
                   "node_url": account.node_url}
    form = AccountForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                ecms_account_set_by(actor=resolve_actor(person), agency=agency,
                                    department=data["department"], ministry=data["ministry"],
                                    node_url=data["node_url"])
            except SarabanError as exc:
                _add_error(form, exc)
            else:
                messages.success(request, "บันทึกการเชื่อมต่อ e-CMS แล้ว")
                return redirect(_settings_url(agency))
        status = 400
    own = DirectoryEntry.objects.filter(agency=agency).first()
    return render(request, "web/exchange/ecms.html", {
        "agencies": agencies, "agency": agency, "account": account, "form": form,
        "own_entry": own,
    }, status=status)


@login_required
@require_POST
def ecms_import(request: HttpRequest) -> HttpResponse:
    """Import the organisation list of the agency's own node into the directory."""
    person = person_of(request)
    agencies, agency = _chosen(person, request.POST.get("agency", ""))
    if not agencies:
        return _forbidden(request, "หน้านี้สำหรับผู้ดูแลระบบของส่วนราชการ")
    if agency is None:
        return not_found(request, NO_AGENCY)
    try:
        counts = ecms_import_organizations_by(actor=resolve_actor(person), agency=agency)
    except SarabanError as exc:
        messages.error(request, f"นำเข้ารายชื่อหน่วยงานไม่สำเร็จ: {exc.message}")
    else:
        messages.success(
            request,
            f"นำเข้ารายชื่อหน่วยงานจากโหนด e-CMS แล้ว เพิ่ม {counts['created']} รายการ "
            f"ปรับปรุง {counts['updated']} รายการ ข้าม {counts['skipped']} รายการ",
        )
    return redirect(_settings_url(agency))


# ---- an e-CMS directory entry by hand ------------------------------------------------------


@login_required
def ecms_entry_add(request: HttpRequest) -> HttpResponse:
    """List (or update) an agency reached through e-CMS."""
    person = person_of(request)
    if not may_admin_directory(resolve_actor(person)):
        return _forbidden(request, "หน้านี้สำหรับผู้ดูแลระบบของส่วนราชการ")
    form = EntryForm(request.POST if request.method == "POST" else None,
                     request.FILES if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                entry, created = ecms_entry_add_by(
                    actor=resolve_actor(person), department=data["department"],
                    name=data["name"], ministry=data["ministry"], node_url=data["node_url"],
                    certificate_pem=data["certificate"])
            except SarabanError as exc:
                _add_error(form, exc)
            else:
                done = "เพิ่ม" if created else "ปรับปรุง"
                messages.success(request, f"{done}หน่วยงาน e-CMS {entry.ecms_department_id} "
                                          f"{entry.name_th} แล้ว")
                return redirect("web:exchange_directory")
        status = 400
    return render(request, "web/exchange/ecms_add.html", {"form": form}, status=status)


# ---- disputing an e-CMS recipient's receipt number -----------------------------------------


def _delivery(person: Person, message_id: uuid.UUID) -> OutboxMessage | None:
    """The letter's delivery, for a clerk of the sending agency who can see the letter."""
    out = OutboxMessage.objects.filter(
        message_id=message_id, type=MessageType.LETTER, letter__in=visible_letters(person)
    ).select_related("letter").first()
    if out is None or out.letter_id is None:
        return None
    if not registries_for(person).filter(tenant_id=out.sender_id).exists():
        return None
    return out


@login_required
def outbox_dispute(request: HttpRequest, message_id: uuid.UUID) -> HttpResponse:
    """Tell an e-CMS recipient that the receipt number it gave is wrong."""
    person = person_of(request)
    out = _delivery(person, message_id)
    if out is None or not isinstance(out.payload.get("ecms"), dict):
        return not_found(request, NO_DELIVERY)
    form = DisputeForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                exchange_dispute_accept_id(actor=resolve_actor(person), out=out,
                                           reason=form.cleaned_data["reason"])
            except SarabanError as exc:
                _add_error(form, exc)
                status = exc.status
            else:
                messages.success(request, f"แจ้งผู้รับว่าเลขรับ {out.receipt_number} ไม่ถูกต้องแล้ว "
                                          "รอผู้รับแจ้งเลขรับใหม่")
                return redirect(reverse("web:letter_detail", args=[out.letter_id])
                                + "#deliveries")
    name = DirectoryEntry.objects.filter(code=out.recipient_code).values_list(
        "name_th", flat=True).first()
    return render(request, "web/exchange/dispute.html", {
        "form": form, "out": out, "recipient": name or out.recipient_code,
        "disputable": out.state == OutState.REGISTERED and "disputed" not in out.payload,
    }, status=status)
