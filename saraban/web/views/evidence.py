"""Issued evidence documents: the staff screens and the public verification page.

Staff (registry clerks, agency admins) issue a certificate or licence, list what was issued,
download the sealed PDF and revoke one; each screen calls one action or selector from
``saraban.evidence.services``.

The public page ``/verify/<token>/`` needs no login and sets no cookie: it reads no session,
renders no CSRF token, and is served with a short public cache lifetime, so a proxy in front
of the node can cache and rate-limit it per address. Checking an uploaded copy is CSRF-exempt
on purpose: it changes nothing on the server and carries no one's authority, so there is
nothing for a forged request to abuse; uploads are throttled per address instead.
``/verify/<token>.json`` (or ``Accept: application/json``) gives machines the same answers.
"""

from __future__ import annotations

import datetime as dt
from typing import IO, Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from saraban.agencies.actors import positions_for, resolve_actor
from saraban.agencies.models import ActingKind, Person
from saraban.core.errors import NotFound, SarabanError
from saraban.core.thai import thai_date, today_bangkok
from saraban.evidence.models import EvidenceKind, IssuedDocument, Validity
from saraban.evidence.services import (
    MAX_COPY_BYTES,
    CopyCheck,
    access_evidence,
    copy_too_large,
    evidence_by_token,
    evidence_check_copy,
    evidence_issue,
    evidence_registries,
    evidence_revoke,
    verification_url,
    visible_evidence,
)
from saraban.letters.files import open_blob
from saraban.letters.models import Registry

from ..forms import ThaiDateField

PAGE_SIZE = 50
#: Uploads to the public page per address per minute.
VERIFY_UPLOADS_PER_MINUTE = 20
#: Room for the multipart envelope around an uploaded copy.
_FORM_OVERHEAD = 64 * 1024

NO_RIGHTS = "ท่านไม่มีสิทธิ์ออกหนังสือรับรองหรือใบอนุญาต (ต้องเป็นเจ้าหน้าที่สารบรรณหรือผู้ดูแลระบบ)"
NOT_FOUND = "ไม่พบเอกสาร หรือท่านไม่มีสิทธิ์เข้าถึง"


# --- forms ---------------------------------------------------------------------------------


class _PositionMixin(forms.Form):
    position = forms.TypedChoiceField(label="ปฏิบัติในตำแหน่ง", coerce=int, required=False)

    def _set_positions(self, user: Person) -> None:
        field = self.fields["position"]
        assert isinstance(field, forms.ChoiceField)
        choices = positions_for(user)
        acting = dict(ActingKind.choices)
        field.choices = [
            (p.pk, f"{acting[kind]} {p.title_th}" if kind else f"{p.title_th} ({p.unit.name_th})")
            for p, kind in choices
        ]
        if len(choices) <= 1:
            field.widget = forms.HiddenInput()

    def clean_position(self) -> int | None:
        value = self.cleaned_data.get("position")
        return int(value) if value not in (None, "") else None


class IssueForm(_PositionMixin):
    """What the clerk types; the rules (required text, dates, seal) are the action's."""

    registry = forms.ModelChoiceField(
        queryset=Registry.objects.none(), label="ออกเลขจากทะเบียน", empty_label=None
    )
    kind = forms.ChoiceField(label="ชนิดเอกสาร", choices=EvidenceKind.choices,
                             initial=EvidenceKind.CERTIFICATE)
    holder = forms.CharField(
        label="ชื่อผู้ได้รับ", max_length=255, required=False,
        help_text="บุคคลหรือนิติบุคคลที่ได้รับการรับรองหรืออนุญาต",
    )
    title = forms.CharField(
        label="เรื่อง", max_length=500, required=False,
        help_text="เช่น รับรองการเป็นข้าราชการ, อนุญาตให้จำหน่ายสินค้าในที่หรือทางสาธารณะ",
    )
    body = forms.CharField(
        label="ข้อความ", required=False, widget=forms.Textarea(attrs={"rows": 6}),
        help_text=(
            "ย่อหน้าแรกต่อท้ายคำว่า \"หนังสือฉบับนี้ให้ไว้เพื่อรับรองว่า [ชื่อผู้ได้รับ]\" "
            "(หนังสือรับรอง) หรือ \"อนุญาตให้ [ชื่อผู้ได้รับ]\" (ใบอนุญาต) "
            "ขึ้นบรรทัดใหม่เพื่อเริ่มย่อหน้าใหม่"
        ),
    )
    valid_until = ThaiDateField(label="ใช้ได้ถึงวันที่", required=False)

    field_order = ["registry", "position", "kind", "holder", "title", "body", "valid_until"]

    def __init__(self, *args: Any, user: Person, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        registries = evidence_registries(user).order_by("-is_central", "unit__path")
        field = self.fields["registry"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = registries
        first = registries.first()
        if first is not None:
            field.initial = first.pk
        valid_until = self.fields["valid_until"]
        valid_until.help_text = "เว้นว่างได้หากไม่มีกำหนดอายุ · วัน/เดือน/ปี พ.ศ. เช่น 23/11/2570"
        self._set_positions(user)


class RevokeForm(forms.Form):
    reason = forms.CharField(label="เหตุผลที่เพิกถอน", max_length=500, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))


class CopyForm(forms.Form):
    file = forms.FileField(
        label="ไฟล์ PDF ที่ต้องการตรวจสอบ", required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )


# --- helpers -------------------------------------------------------------------------------


def _person(request: HttpRequest) -> Person:
    return cast(Person, request.user)


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "evidence/forbidden.html", {"message": message}, status=403)


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "evidence/forbidden.html", {"message": NOT_FOUND}, status=404)


def _show_error(form: forms.Form, exc: SarabanError) -> None:
    if exc.field and exc.field in form.fields:
        form.add_error(exc.field, exc.message)
    else:
        form.add_error(None, exc.message)


def _client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def _throttled(request: HttpRequest) -> bool:
    """Count an upload from this address; true once it passed the limit for this minute."""
    minute = int(dt.datetime.now(tz=dt.UTC).timestamp() // 60)
    key = f"evidence-verify:{_client_ip(request)}:{minute}"
    if cache.add(key, 1, timeout=90):
        return False
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=90)
        count = 1
    return count > VERIFY_UPLOADS_PER_MINUTE


# --- the public verification page ----------------------------------------------------------


def _public_facts(doc: IssuedDocument, today: dt.date) -> dict[str, Any]:
    """What anyone may read about a document: the same for the page and the JSON."""
    validity = doc.validity(today)
    return {
        "number": doc.number,
        "kind": doc.kind,
        "kind_th": doc.get_kind_display(),
        "title": doc.title,
        "holder": doc.holder,
        "issuer": doc.issuer_name,
        "agency": doc.tenant.name_th,
        "issued_on": doc.issued_on.isoformat(),
        "issued_on_th": thai_date(doc.issued_on),
        "valid_until": doc.valid_until.isoformat() if doc.valid_until else None,
        "valid_until_th": thai_date(doc.valid_until) if doc.valid_until else "",
        "status": validity.value,
        "status_th": validity.label,
        "revoked_at": doc.revoked_at.isoformat() if doc.revoked_at else None,
        "revoked_on_th": thai_date(doc.revoked_at) if doc.revoked_at else "",
        "revoke_reason": doc.revoke_reason,
        "sha256": doc.sha256,
        "url": verification_url(doc.token),
    }


def _check_json(check: CopyCheck) -> dict[str, Any]:
    return {
        "sha256": check.sha256,
        "matches": check.matches,
        "verdict_th": "ตรงกับต้นฉบับ" if check.matches else "ไม่ตรงกับต้นฉบับที่ออกโดยระบบ",
        "signature": {"status": check.signature_status, "label_th": check.signature_label_th},
    }


def _copy_form_with_error(field: str | None, message: str) -> CopyForm:
    """An empty copy form showing ``message`` (a file input cannot be shown filled in)."""
    form = CopyForm(data={})
    form.is_valid()
    form.add_error(field, message)
    return form


def _public(response: HttpResponse, *, cacheable: bool) -> HttpResponse:
    if cacheable:
        patch_cache_control(response, public=True, max_age=60)
    else:
        patch_cache_control(response, private=True, no_store=True)
    patch_vary_headers(response, ["Accept"])
    return response


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _uploaded(request: HttpRequest) -> IO[bytes] | bytes | None:
    """The uploaded copy: the form's ``file``, or a raw ``application/pdf`` body (machines)."""
    upload = request.FILES.get("file")
    if upload is not None:
        return cast(IO[bytes], upload)
    if request.content_type == "application/pdf":
        return request.body
    return None


def _verify(request: HttpRequest, token: str, *, as_json: bool) -> HttpResponse:
    try:
        doc = evidence_by_token(token)
    except NotFound as exc:
        if as_json:
            return _public(JsonResponse(exc.as_dict(), status=404), cacheable=False)
        return _public(render(request, "evidence/verify_not_found.html", status=404),
                       cacheable=False)
    facts = _public_facts(doc, today_bangkok())
    if request.method != "POST":
        if as_json:
            return _public(JsonResponse(facts), cacheable=True)
        context = {"doc": doc, "facts": facts, "form": CopyForm()}
        return _public(render(request, "evidence/verify.html", context), cacheable=True)

    if _throttled(request):
        message = "ส่งไฟล์ตรวจสอบบ่อยเกินไป กรุณารอสักครู่แล้วลองใหม่"
        if as_json:
            response: HttpResponse = JsonResponse(
                {"code": "too_many_requests", "message": message}, status=429
            )
        else:
            response = render(request, "evidence/verify.html",
                              {"doc": doc, "facts": facts,
                               "form": _copy_form_with_error(None, message)}, status=429)
        response["Retry-After"] = "60"
        return _public(response, cacheable=False)

    form = CopyForm()
    check: CopyCheck | None = None
    error: SarabanError | None = None
    try:
        # Refuse an oversized body before reading it, by its declared length.
        if _declared_length(request) > MAX_COPY_BYTES + _FORM_OVERHEAD:
            raise copy_too_large()
        check = evidence_check_copy(doc, _uploaded(request))
    except SarabanError as exc:
        error = exc
    if as_json:
        if error is not None:
            return _public(JsonResponse(error.as_dict(), status=error.status),
                           cacheable=False)
        assert check is not None
        return _public(JsonResponse({**facts, "check": _check_json(check)}), cacheable=False)
    status = 200
    if error is not None:
        form = _copy_form_with_error("file", error.message)
        status = 400
    context = {"doc": doc, "facts": facts, "form": form, "check": check}
    return _public(render(request, "evidence/verify.html", context, status=status),
                   cacheable=False)


def _wants_json(request: HttpRequest) -> bool:
    preferred = request.get_preferred_type(["text/html", "application/json"])
    return preferred == "application/json"


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def verify_page(request: HttpRequest, token: str) -> HttpResponse:
    """ตรวจสอบเอกสาร: the page the QR code opens (JSON when the client asks for it)."""
    return _verify(request, token, as_json=_wants_json(request))


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def verify_json(request: HttpRequest, token: str) -> HttpResponse:
    """The verification page's answers as JSON, for machines."""
    return _verify(request, token, as_json=True)


# --- staff screens -------------------------------------------------------------------------


@login_required
def evidence_list(request: HttpRequest) -> HttpResponse:
    """หนังสือรับรอง/ใบอนุญาตที่ออก: newest first, 50 a page."""
    person = _person(request)
    if not evidence_registries(person).exists():
        return _forbidden(request, NO_RIGHTS)
    docs = visible_evidence(person).order_by("-issued_at", "-pk")
    page = Paginator(docs, PAGE_SIZE).get_page(request.GET.get("page"))
    today = today_bangkok()
    rows = [(doc, doc.validity(today)) for doc in page.object_list]
    return render(request, "evidence/list.html", {"page": page, "rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def evidence_issue_view(request: HttpRequest) -> HttpResponse:
    """ออกหนังสือรับรอง/ใบอนุญาต: number, render, seal and store in one step."""
    person = _person(request)
    if not evidence_registries(person).exists():
        return _forbidden(request, NO_RIGHTS)
    form = IssueForm(request.POST or None, user=person)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            doc = evidence_issue(
                actor=resolve_actor(person, data["position"]),
                registry=data["registry"],
                kind=data["kind"],
                holder=data["holder"] or "",
                title=data["title"] or "",
                body=data["body"] or "",
                valid_until=data["valid_until"],
            )
        except SarabanError as exc:
            _show_error(form, exc)
        else:
            messages.success(
                request, f"ออก{doc.get_kind_display()}เลขที่ {doc.number} และประทับตราแล้ว"
            )
            return redirect("web:evidence_detail", doc_id=doc.pk)
    return render(request, "evidence/issue.html", {"form": form})


@login_required
def evidence_detail(request: HttpRequest, doc_id: int) -> HttpResponse:
    person = _person(request)
    try:
        doc = access_evidence(person, doc_id)
    except NotFound:
        return _not_found(request)
    context = {
        "doc": doc,
        "validity": doc.validity(today_bangkok()),
        "url": verification_url(doc.token),
        "revoke_form": RevokeForm(),
        "Validity": Validity,
    }
    return render(request, "evidence/detail.html", context)


@login_required
def evidence_pdf(request: HttpRequest, doc_id: int) -> HttpResponseBase:
    """The sealed PDF as issued, byte for byte."""
    try:
        doc = access_evidence(_person(request), doc_id)
    except NotFound:
        return _not_found(request)
    response = FileResponse(
        open_blob(doc.blob), content_type="application/pdf", as_attachment=False,
        filename=f"{doc.kind}-{doc.entry.year_be}-{doc.entry.number}.pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def evidence_revoke_view(request: HttpRequest, doc_id: int) -> HttpResponse:
    person = _person(request)
    try:
        doc = access_evidence(person, doc_id)
    except NotFound:
        return _not_found(request)
    form = RevokeForm(request.POST)
    if form.is_valid():
        try:
            evidence_revoke(
                actor=resolve_actor(person), doc=doc, reason=form.cleaned_data["reason"] or ""
            )
        except SarabanError as exc:
            _show_error(form, exc)
        else:
            messages.success(request, f"เพิกถอน{doc.get_kind_display()}เลขที่ {doc.number} แล้ว")
            return redirect("web:evidence_detail", doc_id=doc.pk)
    context = {
        "doc": doc,
        "validity": doc.validity(today_bangkok()),
        "url": verification_url(doc.token),
        "revoke_form": form,
        "Validity": Validity,
    }
    return render(request, "evidence/detail.html", context, status=400)


__all__ = [
    "evidence_detail",
    "evidence_issue_view",
    "evidence_list",
    "evidence_pdf",
    "evidence_revoke_view",
    "verify_json",
    "verify_page",
]
