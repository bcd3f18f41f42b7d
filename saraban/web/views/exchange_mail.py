"""The agency's central e-mail address (saraban@…) in the web UI.

- ``/exchange/mail/?agency=ID``: the agency's mailbox (address, display name, accepted
  senders, acknowledgements, IMAP and SMTP, S/MIME) with the form that sets it, and its status
  (last poll, last error, mails taken in, kept apart and refused) with "poll now"; for the
  agency admins of that agency (and superusers). Passwords and the S/MIME key are never shown
  back, only "ตั้งไว้แล้ว"; a field left empty keeps what is set.
- ``/exchange/mail/kept/?agency=ID``: the mails the mailbox kept apart (auto-replies, bounces,
  loops, refused, senders not accepted), with the reason and date and the raw mail to
  download (``/exchange/mail/kept/original/?seen=ID``), so nothing that came in is invisible;
  for the agency's central registry clerks and its admins.
- ``/exchange/mail/inbox/<id>/original/``: the raw mail (.eml) of an arrival by e-mail, for
  the clerks who handle that inbox.

Every change goes through an action of :mod:`saraban.exchange.mail.mailboxes`; a
``SarabanError`` is shown in Thai and nothing is saved. GETs only read.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from saraban.agencies.actors import Actor, resolve_actor
from saraban.agencies.models import Agency, Person, Role, RoleGrant
from saraban.core.errors import SarabanError
from saraban.exchange.mail import imap, mailboxes
from saraban.exchange.models import (
    InboxFile,
    Mailbox,
    MailOutcome,
    MailSecurity,
    MailSeen,
)
from saraban.letters.files import open_blob

from .browse import not_found, person_of
from .exchange import inbox_tenants

NO_AGENCY = "ไม่พบส่วนราชการ หรือท่านไม่มีสิทธิ์ตั้งค่าไปรษณีย์อิเล็กทรอนิกส์กลางของส่วนราชการนี้"
NO_MAILBOX = "ส่วนราชการนี้ยังไม่ได้ตั้งค่าไปรษณีย์อิเล็กทรอนิกส์กลาง"
NO_MAIL = "ไม่พบไปรษณีย์อิเล็กทรอนิกส์ หรือท่านไม่มีสิทธิ์เข้าถึง"
ADMINS_ONLY = "หน้านี้สำหรับผู้ดูแลระบบของส่วนราชการ"
PAGE_SIZE = 50
MAX_PEM = 64 << 10

#: How the status panel groups the outcomes of the mails the mailbox processed.
TAKEN_IN = (MailOutcome.INBOX,)
KEPT_APART = (MailOutcome.AUTO_REPLY, MailOutcome.BOUNCE, MailOutcome.LOOP)
REFUSED = (MailOutcome.REFUSED, MailOutcome.SENDER_REFUSED)
NOT_IN_INBOX = (*KEPT_APART, *REFUSED)


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "web/exchange/forbidden.html", {"message": message}, status=403)


# ---- who may see what ----------------------------------------------------------------------


def admin_agencies(person: Person) -> list[Agency]:
    """Agencies hosted here whose mailbox this person sets (their agency admins, superusers)."""
    tenants = Agency.objects.filter(is_tenant=True)
    if not person.is_superuser:
        tenants = tenants.filter(pk__in=RoleGrant.objects.filter(
            person=person, role=Role.AGENCY_ADMIN).values("unit__tenant_id"))
    return list(tenants.order_by("path", "pk"))


def kept_agencies(person: Person) -> list[Agency]:
    """Agencies whose kept-apart mail this person may read: their central registry clerks
    (who handle the electronic inbox) and their admins."""
    ids = {a.pk for a in admin_agencies(person)} | set(inbox_tenants(person))
    return list(Agency.objects.filter(pk__in=ids, mailbox__isnull=False).order_by("path", "pk"))


def _pick(agencies: list[Agency], person: Person, wanted: str | None) -> Agency | None:
    """The agency asked for (by id) among ``agencies``, else the person's own, else the
    first; ``None`` when the one asked for is not theirs."""
    if not agencies:
        return None
    if wanted and wanted.strip():
        return next((a for a in agencies if str(a.pk) == wanted.strip()), None)
    return next((a for a in agencies if a.pk == person.agency_id), agencies[0])


# ---- the settings form ---------------------------------------------------------------------


def _text(label: str, *, max_length: int = 255, required: bool = False, help_text: str = "",
          widget: forms.Widget | None = None) -> forms.CharField:
    return forms.CharField(
        label=label, max_length=max_length, required=required, help_text=help_text,
        widget=widget,
        error_messages={"required": f"กรุณาระบุ{label}", "max_length": f"{label}ยาวเกินไป"},
    )


def _port(label: str, initial: int) -> forms.IntegerField:
    return forms.IntegerField(
        label=label, min_value=1, max_value=65535, initial=initial, required=False,
        error_messages={"invalid": f"{label}ต้องเป็นตัวเลข", "min_value": f"{label}ไม่ถูกต้อง",
                        "max_value": f"{label}ไม่ถูกต้อง"},
    )


def _secret(label: str) -> forms.CharField:
    return forms.CharField(
        label=label, max_length=500, required=False, strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        error_messages={"max_length": f"{label}ยาวเกินไป"},
    )


def _security(label: str) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, choices=MailSecurity.choices,
                             error_messages={"invalid_choice": f"{label}ไม่ถูกต้อง"})


def _pem_upload(upload: Any, what: str) -> str:
    if not upload:
        return ""
    if upload.size > MAX_PEM:
        raise forms.ValidationError(f"ไฟล์{what}ใหญ่เกินไป")
    try:
        text: str = upload.read().decode("ascii")
    except UnicodeDecodeError as exc:
        raise forms.ValidationError(f"ไฟล์{what}ต้องเป็น PEM (ข้อความ)") from exc
    if "-----BEGIN" not in text:
        raise forms.ValidationError(f"ไฟล์{what}ต้องเป็น PEM (ข้อความ)")
    return text


class MailboxForm(forms.Form):
    address = _text("ที่อยู่ไปรษณีย์อิเล็กทรอนิกส์กลาง", max_length=254, required=True,
                    help_text="เช่น saraban@example.go.th",
                    widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    display_name = _text("ชื่อที่แสดง", help_text="เช่น สารบรรณกลาง กรมตัวอย่าง")
    accept_senders = _text(
        "ผู้ส่งที่รับ", max_length=10_000,
        help_text="บรรทัดละหนึ่งรายการ: * (ทุกคน), *.go.th (ทุกโดเมนภายใต้ go.th), "
                  "@mail.go.th (เฉพาะโดเมนนี้), someone@example.com (เฉพาะที่อยู่นี้), "
                  "!รายการ (ไม่รับ)",
        widget=forms.Textarea(attrs={"rows": 4}))
    acknowledge = forms.BooleanField(
        label="ตอบผู้ส่งทางไปรษณีย์อิเล็กทรอนิกส์เมื่อลงรับ ปฏิเสธ หรือส่งคืน", required=False)
    enabled = forms.BooleanField(label="เปิดใช้ (รับและส่งหนังสือทางไปรษณีย์อิเล็กทรอนิกส์)",
                                 required=False)
    imap_host = _text("เซิร์ฟเวอร์ IMAP",
                      help_text="เว้นว่าง: เซิร์ฟเวอร์อีเมลส่งต่อให้ระบบเอง (saraban mail ingest)")
    imap_port = _port("พอร์ต IMAP", 993)
    imap_security = _security("การเข้ารหัส IMAP")
    imap_user = _text("ชื่อผู้ใช้ IMAP")
    imap_password = _secret("รหัสผ่าน IMAP")
    imap_password_clear = forms.BooleanField(label="ลบรหัสผ่าน IMAP ที่ตั้งไว้", required=False)
    imap_folder = _text("โฟลเดอร์ที่อ่าน", help_text="ปกติ INBOX")
    imap_done_folder = _text("โฟลเดอร์เก็บที่รับเข้าแล้ว")
    imap_kept_folder = _text("โฟลเดอร์เก็บที่แยกไว้")
    smtp_host = _text("เซิร์ฟเวอร์ SMTP",
                      help_text="เว้นว่าง: หนังสือที่ส่งทางไปรษณีย์อิเล็กทรอนิกส์จะบันทึกไว้เท่านั้น "
                                "ไม่ส่งออก")
    smtp_port = _port("พอร์ต SMTP", 587)
    smtp_security = _security("การเข้ารหัส SMTP")
    smtp_user = _text("ชื่อผู้ใช้ SMTP")
    smtp_password = _secret("รหัสผ่าน SMTP")
    smtp_password_clear = forms.BooleanField(label="ลบรหัสผ่าน SMTP ที่ตั้งไว้", required=False)
    smime_certificate = forms.FileField(
        label="ใบรับรอง S/MIME (PEM)", required=False,
        help_text="ลงนามไปรษณีย์อิเล็กทรอนิกส์ที่ส่งออก (ใบรับรองตามด้วยใบรับรองผู้ออก ถ้ามี)",
        error_messages={"empty": "ไฟล์ใบรับรองว่างเปล่า"})
    smime_key = forms.FileField(label="กุญแจส่วนตัว S/MIME (PEM)", required=False,
                                error_messages={"empty": "ไฟล์กุญแจว่างเปล่า"})
    smime_clear = forms.BooleanField(label="เลิกลงนาม S/MIME (ลบใบรับรองและกุญแจ)",
                                     required=False)

    def clean_smime_certificate(self) -> str:
        return _pem_upload(self.cleaned_data.get("smime_certificate"), "ใบรับรอง")

    def clean_smime_key(self) -> str:
        return _pem_upload(self.cleaned_data.get("smime_key"), "กุญแจ")


def _initial(box: Mailbox | None) -> dict[str, Any]:
    if box is None:
        return {"accept_senders": "*", "enabled": True, "imap_port": 993,
                "imap_security": MailSecurity.SSL, "imap_folder": "INBOX",
                "imap_done_folder": "Saraban/Processed", "imap_kept_folder": "Saraban/Kept",
                "smtp_port": 587, "smtp_security": MailSecurity.STARTTLS}
    return {name: getattr(box, name) for name in (
        "address", "display_name", "accept_senders", "acknowledge", "enabled", "imap_host",
        "imap_port", "imap_security", "imap_user", "imap_folder", "imap_done_folder",
        "imap_kept_folder", "smtp_host", "smtp_port", "smtp_security", "smtp_user")}


def _changes(data: dict[str, Any], initial: dict[str, Any]) -> dict[str, Any]:
    """The form's values as the actions take them: a secret only when typed (or cleared)."""
    fields = {name: data[name] for name in (
        "address", "display_name", "accept_senders", "acknowledge", "enabled", "imap_host",
        "imap_security", "imap_user", "imap_folder", "imap_done_folder", "imap_kept_folder",
        "smtp_host", "smtp_security", "smtp_user")}
    fields["imap_port"] = data["imap_port"] or initial.get("imap_port") or 993
    fields["smtp_port"] = data["smtp_port"] or initial.get("smtp_port") or 587
    for kind in ("imap", "smtp"):
        if data[f"{kind}_password_clear"]:
            fields[f"{kind}_password"] = ""
        elif data[f"{kind}_password"]:
            fields[f"{kind}_password"] = data[f"{kind}_password"]
    if data["smime_clear"]:
        fields["smime_certificate_pem"] = ""
        fields["smime_key_pem"] = ""
    else:
        if data["smime_certificate"]:
            fields["smime_certificate_pem"] = data["smime_certificate"]
        if data["smime_key"]:
            fields["smime_key_pem"] = data["smime_key"]
    return fields


def _save(actor: Actor, agency: Agency, box: Mailbox | None,
          changes: dict[str, Any]) -> Mailbox:
    if box is None:
        return mailboxes.mailbox_add(actor=actor, agency=agency, **changes)
    return mailboxes.mailbox_set(actor=actor, mailbox=box, **changes)


def certificate_summary(pem: str) -> dict[str, Any] | None:
    """Who the S/MIME certificate names and until when it is valid (``None``: unreadable)."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        return None
    return {"subject": cert.subject.rfc4514_string(), "not_after": cert.not_valid_after_utc}


def _add_error(form: forms.Form, exc: SarabanError) -> None:
    field = exc.field if exc.field in form.fields else None
    aliases = {"smime_certificate_pem": "smime_certificate", "smime_key_pem": "smime_key"}
    form.add_error(aliases.get(exc.field or "", field), exc.message)


# ---- the status panel ----------------------------------------------------------------------


def mailbox_status(box: Mailbox) -> dict[str, Any]:
    """Counts of what the mailbox processed (taken in, kept apart, refused) and the last one."""
    counts = dict(
        MailSeen.objects.filter(mailbox=box).order_by().values("outcome")
        .annotate(n=Count("pk")).values_list("outcome", "n")
    )
    return {
        "taken_in": sum(counts.get(o, 0) for o in TAKEN_IN),
        "kept_apart": sum(counts.get(o, 0) for o in KEPT_APART),
        "refused": sum(counts.get(o, 0) for o in REFUSED),
        "by_outcome": [(MailOutcome(o).label, counts[o]) for o in MailOutcome.values
                       if counts.get(o)],
        "last_seen": MailSeen.objects.filter(mailbox=box).order_by("-received_at", "-pk")
        .values_list("received_at", flat=True).first(),
    }


def _settings_url(agency: Agency) -> str:
    return f"{reverse('web:exchange_mail')}?agency={agency.pk}"


@login_required
def mail_settings(request: HttpRequest) -> HttpResponse:
    """The agency's central mailbox: its settings form and its status."""
    person = person_of(request)
    agencies = admin_agencies(person)
    if not agencies:
        return _forbidden(request, ADMINS_ONLY)
    wanted = request.POST.get("agency") if request.method == "POST" else request.GET.get("agency")
    agency = _pick(agencies, person, wanted)
    if agency is None:
        return not_found(request, NO_AGENCY)
    box = Mailbox.objects.filter(agency=agency).first()
    initial = _initial(box)
    posted = request.method == "POST"
    form = MailboxForm(request.POST if posted else None, request.FILES if posted else None,
                       initial=initial)
    status = 200
    if posted:
        if form.is_valid():
            try:
                _save(resolve_actor(person), agency, box, _changes(form.cleaned_data, initial))
            except SarabanError as exc:
                _add_error(form, exc)
                status = exc.status if exc.status >= 400 else 400
            else:
                messages.success(request, "บันทึกการตั้งค่าไปรษณีย์อิเล็กทรอนิกส์กลางแล้ว")
                return redirect(_settings_url(agency))
        status = max(status, 400)
    return render(request, "web/exchange/mail_settings.html", {
        "agencies": agencies, "agency": agency, "box": box, "form": form,
        "status": mailbox_status(box) if box is not None else None,
        "secrets": {
            "imap": bool(box and box.imap_password_sealed),
            "smtp": bool(box and box.smtp_password_sealed),
            "smime_key": bool(box and box.smime_key_sealed),
        },
        "certificate": certificate_summary(box.smime_certificate_pem)
        if box is not None and box.smime_certificate_pem else None,
    }, status=status)


@login_required
@require_POST
def mail_poll(request: HttpRequest) -> HttpResponse:
    """Read the mailbox now (IMAP), then back to its page with what came of it."""
    person = person_of(request)
    agencies = admin_agencies(person)
    if not agencies:
        return _forbidden(request, ADMINS_ONLY)
    agency = _pick(agencies, person, request.POST.get("agency", ""))
    if agency is None:
        return not_found(request, NO_AGENCY)
    box = Mailbox.objects.filter(agency=agency).first()
    if box is None or not box.imap_host or not box.enabled:
        messages.error(request, "กล่องนี้ไม่ได้รับไปรษณีย์อิเล็กทรอนิกส์ทาง IMAP หรือปิดใช้อยู่")
        return redirect(_settings_url(agency))
    results = imap.poll_now(mailbox_id=box.pk)
    if not results:
        messages.info(request, "กำลังอ่านกล่องจดหมายนี้อยู่แล้ว (งานเบื้องหลัง) ลองดูอีกครั้งในอีกสักครู่")
    elif results[0].error:
        messages.error(request, f"อ่านไปรษณีย์อิเล็กทรอนิกส์ไม่สำเร็จ: {results[0].error}")
    else:
        done = results[0]
        messages.success(
            request,
            f"อ่านไปรษณีย์อิเล็กทรอนิกส์แล้ว เข้ากล่องหนังสือเข้า {done.inbox} ฉบับ "
            f"แยกไว้ {done.kept_apart} ฉบับ ปฏิเสธ {done.refused} ฉบับ ซ้ำ {done.duplicates} ฉบับ"
            + (f" เหลืออีก {done.remaining} ฉบับ (อ่านต่อในรอบถัดไป)" if done.remaining else ""),
        )
    return redirect(_settings_url(agency))


# ---- what was kept apart -------------------------------------------------------------------


@login_required
@require_GET
def mail_kept(request: HttpRequest) -> HttpResponse:
    """Mails the mailbox did not put in the inbox, newest first, with the reason."""
    person = person_of(request)
    agencies = kept_agencies(person)
    if not agencies:
        if inbox_tenants(person) or admin_agencies(person):
            return not_found(request, NO_MAILBOX)
        return _forbidden(request, "หน้านี้สำหรับเจ้าหน้าที่สารบรรณกลางและผู้ดูแลระบบของส่วนราชการ")
    agency = _pick(agencies, person, request.GET.get("agency"))
    if agency is None:
        return not_found(request, NO_AGENCY)
    box = Mailbox.objects.get(agency=agency)
    outcome = request.GET.get("outcome", "")
    outcome = outcome if outcome in NOT_IN_INBOX else ""
    rows = MailSeen.objects.filter(mailbox=box, outcome__in=[outcome] if outcome
                                   else NOT_IN_INBOX).order_by("-received_at", "-pk")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "web/exchange/mail_kept.html", {
        "agencies": agencies, "agency": agency, "box": box, "page": page,
        "outcome": outcome,
        "outcomes": [(o, MailOutcome(o).label) for o in NOT_IN_INBOX],
    })


def _eml(blob: Any, subject: str) -> FileResponse:
    name = "".join(c for c in subject if c.isprintable() and c not in '/\\:*?"<>|')[:100]
    response = FileResponse(open_blob(blob), content_type="message/rfc822", as_attachment=True,
                            filename=f"{name.strip() or 'mail'}.eml")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def mail_kept_original(request: HttpRequest) -> HttpResponseBase:
    """The raw mail of a kept-apart item (``?seen=<id>``; a download, never shown inline)."""
    person = person_of(request)
    seen_id = request.GET.get("seen", "")
    seen = MailSeen.objects.filter(
        pk=int(seen_id), mailbox__agency__in=[a.pk for a in kept_agencies(person)],
        blob__isnull=False,
    ).select_related("blob").first() if seen_id.isdigit() and len(seen_id) < 19 else None
    if seen is None or seen.blob is None:
        return not_found(request, NO_MAIL)
    return _eml(seen.blob, seen.subject)


@login_required
@require_GET
def mail_original(request: HttpRequest, message_id: int) -> HttpResponseBase:
    """The raw mail (.eml) an inbox item came in, for the clerks who handle that inbox."""
    person = person_of(request)
    found = InboxFile.objects.filter(
        message_id=message_id, message__recipient_id__in=inbox_tenants(person),
        role="original",
    ).select_related("blob", "message").first()
    if found is None:
        return not_found(request, NO_MAIL)
    subject = str((found.message.envelope.get("letter") or {}).get("subject") or "")
    return _eml(found.blob, found.filename.removesuffix(".eml") or subject)
