"""The exchange in the web UI: the electronic inbox, outbox buttons and the directory.

The inbox belongs to the registry clerks of an agency's central registry (the same rule as
``saraban.exchange.inbox``); registering, rejecting and returning call its actions. The
outbox buttons on the letter page call the actions in ``saraban.exchange.outbox``, which
check that the person clerks for the sending agency. A ``SarabanError`` is shown in Thai and
nothing is saved.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import F, Prefetch, QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Person, Role, RoleGrant
from saraban.core.audit import audit_record
from saraban.core.errors import SarabanError
from saraban.exchange import crypto
from saraban.exchange.directory import directory_import, export_entries
from saraban.exchange.inbox import (
    exchange_inbox_register,
    exchange_inbox_reject,
    exchange_inbox_return,
)
from saraban.exchange.models import (
    DirectoryEntry,
    InboxFile,
    InboxMessage,
    InState,
    MessageType,
    OutboxMessage,
)
from saraban.exchange.outbox import exchange_requeue, exchange_resend, exchange_withdraw
from saraban.letters.access import registries_for, visible_letters
from saraban.letters.files import open_blob
from saraban.letters.models import Urgency
from saraban.letters.numbering import display_number

from .browse import not_found, person_of

PAGE_SIZE = 50
NO_MESSAGE = "ไม่พบหนังสือในกล่องหนังสือเข้า หรือท่านไม่มีสิทธิ์เข้าถึง"
HANDLED = (InState.REGISTERED, InState.REJECTED, InState.RETURNED)


def inbox_tenants(person: Person) -> list[int]:
    """Agencies whose electronic inbox this person handles (central registry clerks)."""
    return list(
        registries_for(person).filter(is_central=True).values_list("tenant_id", flat=True)
    )


def waiting_count(person: Person) -> int | None:
    """Letters waiting in this person's inboxes, or ``None`` when they handle no inbox."""
    tenants = inbox_tenants(person)
    if not tenants:
        return None
    return InboxMessage.objects.filter(recipient_id__in=tenants, state=InState.WAITING).count()


def _rows(tenants: list[int]) -> QuerySet[InboxMessage]:
    return InboxMessage.objects.filter(recipient_id__in=tenants).select_related(
        "handled_by", "entry__series", "recipient"
    ).prefetch_related(Prefetch("files", queryset=InboxFile.objects.select_related("blob")))


@dataclass(frozen=True, slots=True)
class InboxItem:
    """One arrived letter as the inbox shows it (fields read from the signed envelope)."""

    message: InboxMessage
    sender_name: str
    number: str
    letter_date: dt.date | None
    subject: str
    urgency: int
    urgency_label: str
    files: list[InboxFile]
    receipt_number: str


def _item(message: InboxMessage, names: dict[str, str]) -> InboxItem:
    data: dict[str, Any] = message.envelope.get("letter", {}) or {}
    urgency = data.get("urgency", 0)
    urgency = urgency if urgency in Urgency.values else Urgency.NORMAL
    try:
        letter_date = dt.date.fromisoformat(str(data.get("letter_date") or ""))
    except ValueError:
        letter_date = None
    entry = message.entry
    return InboxItem(
        message=message,
        sender_name=names.get(message.sender_code) or str(data.get("sender_name", "")),
        number=str(data.get("number", "")),
        letter_date=letter_date,
        subject=str(data.get("subject", "")),
        urgency=urgency,
        urgency_label=Urgency(urgency).label,
        files=list(message.files.all()),
        receipt_number=(
            display_number(kind=entry.series.kind, formatted=entry.formatted) if entry else ""
        ),
    )


def _items(messages_: list[InboxMessage]) -> list[InboxItem]:
    codes = {m.sender_code for m in messages_}
    names = dict(
        DirectoryEntry.objects.filter(code__in=codes).values_list("code", "name_th")
    ) if codes else {}
    return [_item(m, names) for m in messages_]


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "web/exchange/forbidden.html", {"message": message}, status=403)


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    """Waiting letters (most urgent, then newest first) or the handled ones, by tab."""
    person = person_of(request)
    tenants = inbox_tenants(person)
    if not tenants:
        return _forbidden(request, "หน้านี้สำหรับเจ้าหน้าที่สารบรรณกลางที่รับหนังสือทางระบบ")
    tab = "handled" if request.GET.get("tab") == "handled" else "waiting"
    rows = _rows(tenants)
    if tab == "waiting":
        rows = rows.filter(state=InState.WAITING).order_by(
            F("envelope__letter__urgency").desc(nulls_last=True), "-received_at", "-pk"
        )
    else:
        rows = rows.filter(state__in=HANDLED).order_by("-handled_at", "-pk")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "web/exchange/inbox.html",
        {"tab": tab, "page": page, "items": _items(list(page.object_list))},
    )


def _message(person: Person, message_id: int) -> InboxMessage | None:
    tenants = inbox_tenants(person)
    if not tenants:
        return None
    return _rows(tenants).filter(pk=message_id).first()


@login_required
@require_POST
def inbox_register(request: HttpRequest, message_id: int) -> HttpResponse:
    """Register the letter in the incoming register, then open its new letter page."""
    person = person_of(request)
    message = _message(person, message_id)
    if message is None:
        return not_found(request, NO_MESSAGE)
    try:
        entry = exchange_inbox_register(actor=resolve_actor(person), message=message)
    except SarabanError as exc:
        messages.error(request, exc.message)
        return redirect("web:exchange_inbox")
    shown = display_number(kind=entry.series.kind, formatted=entry.formatted)
    messages.success(request, f"ลงรับหนังสือแล้ว {shown}")
    return redirect("web:letter_detail", letter_id=entry.letter_id)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="เหตุผล", max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "กรุณาระบุเหตุผล", "max_length": "เหตุผลยาวเกินไป"},
    )


DECLINES = {
    "reject": ("ปฏิเสธการรับหนังสือ", "ปฏิเสธการรับหนังสือแล้ว", exchange_inbox_reject),
    "return": ("ส่งคืนหนังสือ (ส่งผิดหน่วยงาน)", "ส่งคืนหนังสือแล้ว", exchange_inbox_return),
}


@login_required
def inbox_decline(request: HttpRequest, message_id: int, action: str) -> HttpResponse:
    """Reject or return an arrived letter; the reason is required and goes to the sender."""
    person = person_of(request)
    message = _message(person, message_id)
    if message is None or action not in DECLINES:
        return not_found(request, NO_MESSAGE)
    title, done, act = DECLINES[action]
    form = ReasonForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                act(actor=resolve_actor(person), message=message,
                    reason=form.cleaned_data["reason"])
            except SarabanError as exc:
                form.add_error("reason" if exc.field == "reason" else None, exc.message)
            else:
                messages.success(request, done)
                return redirect("web:exchange_inbox")
        status = 400
    return render(
        request,
        "web/exchange/decline.html",
        {"form": form, "title": title, "action": action, "item": _items([message])[0]},
        status=status,
    )


@login_required
@require_GET
def inbox_file(request: HttpRequest, message_id: int, file_id: int) -> HttpResponseBase:
    """A file of an arrived letter, for the clerks who handle that inbox only."""
    message = _message(person_of(request), message_id)
    found = (
        InboxFile.objects.filter(message=message, pk=file_id).select_related("blob").first()
        if message is not None else None
    )
    if found is None:
        return not_found(request, "ไม่พบไฟล์ หรือท่านไม่มีสิทธิ์เข้าถึง")
    response = FileResponse(
        open_blob(found.blob), content_type=found.blob.content_type, as_attachment=False,
        filename=found.filename,
    )
    response["Cache-Control"] = "private, no-store"
    return response


# ---- outbox buttons on the letter page -------------------------------------------------------

OUTBOX_ACTIONS = {
    "withdraw": "ถอนคืนหนังสือแล้ว",
    "resend": "ส่งหนังสือใหม่แล้ว",
    "requeue": "นำเข้าคิวส่งซ้ำแล้ว",
}


@login_required
@require_POST
def outbox_action(request: HttpRequest, message_id: uuid.UUID, action: str) -> HttpResponse:
    """Withdraw, resend or requeue one recipient's delivery, then back to the letter page."""
    person = person_of(request)
    out = OutboxMessage.objects.filter(
        message_id=message_id, type=MessageType.LETTER, letter__in=visible_letters(person)
    ).first()
    if out is None or out.letter_id is None or action not in OUTBOX_ACTIONS:
        return not_found(request, "ไม่พบรายการส่งหนังสือ หรือท่านไม่มีสิทธิ์เข้าถึง")
    actor = resolve_actor(person)
    try:
        if action == "withdraw":
            exchange_withdraw(actor=actor, out=out, reason=request.POST.get("reason", "")[:500])
        elif action == "resend":
            exchange_resend(actor=actor, out=out)
        else:
            exchange_requeue(actor=actor, out=out)
    except SarabanError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, OUTBOX_ACTIONS[action])
    return redirect(reverse("web:letter_detail", args=[out.letter_id]) + "#deliveries")


# ---- the directory ----------------------------------------------------------------------------


def may_admin_directory(person: Person) -> bool:
    return person.is_superuser or RoleGrant.objects.filter(
        person=person, role=Role.AGENCY_ADMIN
    ).exists()


@dataclass(frozen=True, slots=True)
class DirectoryRow:
    entry: DirectoryEntry
    subject: str
    not_before: dt.datetime | None
    not_after: dt.datetime | None
    fingerprint: str
    expired: bool

    @property
    def ecms(self) -> bool:
        """Reached through e-CMS (its channels name "ecms", or it has a department id)."""
        return "ecms" in (self.entry.channels or []) or bool(self.entry.ecms_department_id)

    @property
    def saraban(self) -> bool:
        """Reached through the Saraban exchange (it has a certificate to check letters by)."""
        return bool(self.entry.certificate_pem.strip())


def _row(entry: DirectoryEntry, now: dt.datetime) -> DirectoryRow:
    if not entry.certificate_pem.strip() and entry.ecms_department_id:
        # An e-CMS agency: its letters are vouched for by its e-CMS node, no certificate.
        return DirectoryRow(entry, "", None, None, "", False)
    try:
        cert = crypto.load_certificate(entry.certificate_pem)
    except ValueError:
        return DirectoryRow(entry, "ใบรับรองอ่านไม่ได้", None, None, "", True)
    fingerprint = cert.fingerprint(hashes.SHA256()).hex().upper()
    return DirectoryRow(
        entry=entry,
        subject=cert.subject.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        fingerprint=":".join(fingerprint[i : i + 2] for i in range(0, len(fingerprint), 2)),
        expired=not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc),
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label="ไฟล์ทะเบียนหน่วยงาน (JSON)",
        error_messages={"required": "กรุณาเลือกไฟล์", "empty": "ไฟล์ว่างเปล่า"},
    )

    def clean_file(self) -> list[dict[str, Any]]:
        upload = self.cleaned_data["file"]
        if upload.size > 5 << 20:
            raise forms.ValidationError("ไฟล์ใหญ่เกินไป")
        try:
            data = json.loads(upload.read().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise forms.ValidationError("ไฟล์ไม่ใช่ JSON ที่อ่านได้") from exc
        if isinstance(data, dict):
            data = data.get("entries", [])
        if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
            raise forms.ValidationError("ไฟล์ต้องเป็นรายการของหน่วยงาน (JSON array)")
        return data


def _import(person: Person, entries: list[dict[str, Any]]) -> tuple[int, int]:
    """Load the entries and record who did it, in one transaction."""
    with transaction.atomic():
        created, updated = directory_import(entries)
        if person.agency_id is not None:
            audit_record(
                agency_id=person.agency_id, action="exchange_directory_import",
                actor=resolve_actor(person),
                details={"created": created, "updated": updated,
                         "codes": sorted(str(e.get("code", "")) for e in entries)[:200]},
            )
    return created, updated


@login_required
def directory(request: HttpRequest) -> HttpResponse:
    """Directory entries with their certificates; import another node's published file."""
    person = person_of(request)
    if not may_admin_directory(person):
        return _forbidden(request, "หน้านี้สำหรับผู้ดูแลระบบของส่วนราชการ")
    form = ImportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                created, updated = _import(person, form.cleaned_data["file"])
            except SarabanError as exc:
                form.add_error("file", exc.message)
            else:
                messages.success(
                    request, f"นำเข้าทะเบียนหน่วยงานแล้ว เพิ่ม {created} รายการ ปรับปรุง {updated} รายการ"
                )
                return redirect("web:exchange_directory")
        status = 400
    now = timezone.now()
    rows = [_row(e, now) for e in DirectoryEntry.objects.select_related("agency")]
    return render(request, "web/exchange/directory.html", {"rows": rows, "form": form},
                  status=status)


@login_required
@require_GET
def directory_export(request: HttpRequest) -> HttpResponse:
    """The directory as JSON (``?local=1``: only the agencies hosted here, to publish)."""
    person = person_of(request)
    if not may_admin_directory(person):
        return _forbidden(request, "หน้านี้สำหรับผู้ดูแลระบบของส่วนราชการ")
    local_only = request.GET.get("local") == "1"
    node_url = request.build_absolute_uri("/").rstrip("/")
    body = json.dumps(export_entries(local_only=local_only, node_url=node_url),
                      ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    name = "directory-local.json" if local_only else "directory.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
