"""Drafting in the web UI: compose a letter in an official form, see it as a PDF while typing,
keep its versions, send it up the approval chain, initial, return and sign it.

Views are thin: they parse a form from ``saraban.web.forms_drafts``, resolve the ``Actor``
(the posted position, held or acted for) and call one action of
``saraban.documents.services``. A ``SarabanError`` is shown in Thai next to the field it
names, the page is rendered again with what was typed (status 400), and nothing is saved.
A draft a person may not see answers the Thai 404 page, like one that does not exist.

The live preview: the compose form posts itself (htmx, while typing) to ``draft_preview``,
which checks the fields, keeps them in the session under a fresh key and answers with a new
``<iframe>`` whose ``src`` is ``draft_preview_pdf`` for that key; the PDF is rendered from the
unsaved fields when the frame loads. Nothing of the preview is stored with the draft.
"""

from __future__ import annotations

import copy
import difflib
import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from saraban.agencies.actors import Actor, resolve_actor
from saraban.agencies.models import Agency
from saraban.core.errors import SarabanError, ValidationFailed
from saraban.documents.models import (
    LIST_FIELDS,
    TEXT_FIELDS,
    ApprovalStep,
    Draft,
    DraftState,
    DraftVersion,
    StepRole,
    StepState,
)
from saraban.documents.render import FORMS, render_form
from saraban.documents.services import (
    awaiting,
    clean_fields,
    draft_cancel,
    draft_create,
    draft_initial,
    draft_return,
    draft_sign,
    draft_submit,
    draft_update,
    drafts_for,
    form_data,
    may_edit,
    preview_pdf,
)
from saraban.letters.models import Urgency

from ..forms_drafts import (
    FIELD_LABELS,
    CancelDraftForm,
    DraftForm,
    RecipientFormSet,
    StepForm,
    SubmitForm,
    agency_registries,
    recipient_initial,
    recipients_of,
)
from .browse import not_found, person_of

PAGE_SIZE = 50
RECIPIENT_PREFIX = "rcpt"
#: How many unsaved previews a session keeps (one per open compose page is enough).
PREVIEWS_KEPT = 6
_PREVIEWS = "draft_previews"

#: Fields an action may name that the compose form shows under another name.
_RECIPIENT_FIELDS = frozenset({"recipients", "channel", "address"})


# ---- helpers ------------------------------------------------------------------------------


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "drafts/forbidden.html", {"message": message}, status=403)


def _draft(request: HttpRequest, draft_id: int) -> Draft | None:
    """The draft if the signed-in person may see it (``drafts_for``), else None."""
    return drafts_for(person_of(request)).filter(pk=draft_id).first()


def _actor(request: HttpRequest, position: int | None) -> Actor:
    return resolve_actor(person_of(request), position)


def _show_error(form: Any, exc: SarabanError) -> None:
    """The action's Thai message next to its field, or above the form."""
    if exc.field and exc.field in form.fields:
        form.add_error(exc.field, exc.message)
    else:
        form.add_error(None, exc.message)


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


# ---- lists --------------------------------------------------------------------------------


@login_required
@require_GET
def draft_list(request: HttpRequest) -> HttpResponse:
    """ร่างหนังสือ: drafts awaiting me (to initial or to sign), then my own drafts."""
    person = person_of(request)
    my_step = ApprovalStep.objects.filter(draft=OuterRef("pk"), person=person,
                                          state=StepState.CURRENT)
    waiting = list(
        awaiting(person).select_related("registry", "created_by")
        .annotate(my_role=Subquery(my_step.values("role")[:1])).order_by("-updated_at", "-pk")
    )
    mine = Paginator(
        Draft.objects.filter(created_by=person).select_related("registry", "letter")
        .order_by("-updated_at", "-pk"),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    return render(request, "drafts/list.html", {
        "waiting": waiting, "page": mine, "forms": FORMS,
        "can_compose": person.agency_id is not None,
    })


# ---- compose ------------------------------------------------------------------------------


def _compose_page(request: HttpRequest, form: DraftForm, recipients: Any, *,
                  draft: Draft | None, status: int = 200,
                  recipient_error: str = "") -> HttpResponse:
    preview_url = (reverse("web:draft_preview_edit", args=[draft.pk]) if draft
                   else reverse("web:draft_preview"))
    return render(request, "drafts/compose.html", {
        "form": form, "recipients": recipients, "draft": draft, "forms": FORMS,
        "preview_url": preview_url, "recipient_error": recipient_error,
        "initial_pdf": reverse("web:draft_pdf", args=[draft.pk]) if draft else "",
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def draft_new(request: HttpRequest) -> HttpResponseBase:
    """Start a draft: choose the form and the registry, write, preview, save version 1."""
    person = person_of(request)
    if person.agency_id is None:
        return _forbidden(request, "ท่านยังไม่ได้สังกัดส่วนราชการใด จึงร่างหนังสือไม่ได้")
    actor = resolve_actor(person)
    post = request.POST if request.method == "POST" else None
    form = DraftForm(post, person=person, actor=actor)
    recipients = RecipientFormSet(post, prefix=RECIPIENT_PREFIX)
    if post is None:
        return _compose_page(request, form, recipients, draft=None)
    recipient_error = ""
    if form.is_valid() and recipients.is_valid():
        data = form.cleaned_data
        try:
            draft = draft_create(
                actor=_actor(request, data["position"]), registry=data["registry"],
                form=data["form"], fields=form.text_fields(),
                recipients=recipients_of(recipients), urgency=data["urgency"],
                secrecy=data["secrecy"],
            )
        except SarabanError as exc:
            if exc.field in _RECIPIENT_FIELDS:
                recipient_error = exc.message
                form.add_error(None, "ยังบันทึกไม่ได้ กรุณาแก้ไขผู้รับ")
            else:
                _show_error(form, exc)
        else:
            messages.success(request, "บันทึกร่างหนังสือแล้ว (ฉบับที่ 1)")
            return redirect("web:draft_detail", draft_id=draft.pk)
    return _compose_page(request, form, recipients, draft=None, status=400,
                         recipient_error=recipient_error)


@login_required
@require_http_methods(["GET", "POST"])
def draft_edit(request: HttpRequest, draft_id: int) -> HttpResponseBase:
    """Edit the text: each save is a new version; an unchanged save says so."""
    draft = _draft(request, draft_id)
    if draft is None:
        return not_found(request, "ไม่พบร่างหนังสือ หรือท่านไม่มีสิทธิ์เข้าถึง")
    person = person_of(request)
    if not may_edit(person, draft):
        return _forbidden(request, "ท่านแก้ไขร่างนี้ไม่ได้ในขั้นตอนนี้")
    actor = resolve_actor(person)
    if request.method != "POST":
        form = DraftForm(person=person, actor=actor, draft=draft)
        recipients = RecipientFormSet(prefix=RECIPIENT_PREFIX,
                                      initial=recipient_initial(draft))
        return _compose_page(request, form, recipients, draft=draft)
    form = DraftForm(request.POST, person=person, actor=actor, draft=draft)
    recipients = RecipientFormSet(request.POST, prefix=RECIPIENT_PREFIX)
    recipient_error = ""
    if form.is_valid() and recipients.is_valid():
        data = form.cleaned_data
        try:
            version = draft_update(
                actor=_actor(request, data["position"]), draft=draft,
                fields=form.text_fields(), recipients=recipients_of(recipients),
                urgency=data["urgency"], note=data["note"] or "",
            )
        except SarabanError as exc:
            if exc.field in _RECIPIENT_FIELDS:
                recipient_error = exc.message
                form.add_error(None, "ยังบันทึกไม่ได้ กรุณาแก้ไขผู้รับ")
            elif exc.status == 403:
                return _forbidden(request, exc.message)
            else:
                _show_error(form, exc)
        else:
            if version is None:
                messages.info(request, "ไม่มีการเปลี่ยนแปลง")
            else:
                messages.success(request, f"บันทึกฉบับแก้ไขที่ {version.number} แล้ว")
            return redirect("web:draft_detail", draft_id=draft.pk)
    return _compose_page(request, form, recipients, draft=draft, status=400,
                         recipient_error=recipient_error)


# ---- preview ------------------------------------------------------------------------------


def _preview_spec(request: HttpRequest, draft: Draft | None) -> dict[str, Any] | str:
    """What to render from the posted compose form, or a Thai message why it cannot be."""
    person = person_of(request)
    form = DraftForm(request.POST, person=person, actor=resolve_actor(person), draft=draft)
    if not form.is_valid():
        return "ยังแสดงตัวอย่างไม่ได้: " + " ".join(
            str(e) for errors in form.errors.values() for e in errors)
    fields = form.text_fields()
    try:
        cleaned = clean_fields(fields)
    except ValidationFailed as exc:
        if exc.code != "subject_required":  # a preview without a subject is still useful
            return f"ยังแสดงตัวอย่างไม่ได้: {FIELD_LABELS.get(exc.field or '', '')} {exc.message}"
        cleaned = fields
    data = form.cleaned_data
    if draft is None:
        return {"draft": None, "registry": data["registry"].pk, "form": data["form"],
                "urgency": data["urgency"], "fields": cleaned}
    return {"draft": draft.pk, "registry": draft.registry_id, "form": draft.form,
            "urgency": data["urgency"], "fields": cleaned}


@login_required
@require_POST
def draft_preview(request: HttpRequest, draft_id: int | None = None) -> HttpResponse:
    """htmx: keep the unsaved fields under a new key; answer with the frame that shows them."""
    draft = None
    if draft_id is not None:
        draft = _draft(request, draft_id)
        if draft is None:
            return not_found(request)
    spec = _preview_spec(request, draft)
    if isinstance(spec, str):
        return render(request, "drafts/_preview.html", {"error": spec})
    key = secrets.token_urlsafe(12)
    kept: dict[str, Any] = request.session.get(_PREVIEWS) or {}
    kept[key] = spec
    request.session[_PREVIEWS] = dict(list(kept.items())[-PREVIEWS_KEPT:])
    return render(request, "drafts/_preview.html",
                  {"src": reverse("web:draft_preview_pdf", args=[key])})


@login_required
@require_GET
def draft_preview_pdf(request: HttpRequest, key: str) -> HttpResponse:
    """The PDF of unsaved fields kept by ``draft_preview`` (no number or date yet)."""
    spec = (request.session.get(_PREVIEWS) or {}).get(key)
    if not spec:
        return not_found(request, "ตัวอย่างนี้หมดอายุแล้ว กรุณาแก้ไขข้อความเพื่อสร้างใหม่")
    person = person_of(request)
    registry = agency_registries(person).filter(pk=spec["registry"]).first()
    if registry is None:
        return not_found(request)
    if spec["draft"] is not None:
        saved = _draft(request, spec["draft"])
        if saved is None:
            return not_found(request)
        draft = copy.copy(saved)  # the saved chain prints its signer; nothing is saved
    else:
        draft = Draft(tenant_id=registry.tenant_id, registry=registry, form=spec["form"])
    draft.urgency = spec["urgency"] if spec["urgency"] in Urgency.values else Urgency.NORMAL
    version = DraftVersion(draft=draft, number=0, fields=spec["fields"])
    try:
        pdf = render_form(draft.form, form_data(draft, version))
    except SarabanError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    return _pdf(pdf, "preview.pdf")


@login_required
@require_GET
def draft_pdf(request: HttpRequest, draft_id: int, number: int | None = None) -> HttpResponse:
    """A saved version (the latest by default) as it would print, without number or date."""
    draft = _draft(request, draft_id)
    if draft is None:
        return not_found(request)
    version = draft.latest if number is None else draft.versions.filter(number=number).first()
    if version is None:
        return not_found(request, "ไม่พบฉบับแก้ไขนี้")
    return _pdf(preview_pdf(draft, version), f"draft-{draft.pk}-v{version.number}.pdf")


# ---- the draft page and the chain ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecipientLine:
    name: str
    channel: str
    address: str


def _recipient_lines(draft: Draft) -> list[RecipientLine]:
    agencies = Agency.objects.in_bulk([r["agency"] for r in draft.recipients if r.get("agency")])
    channels = dict(_channel_labels())
    out = []
    for r in draft.recipients:
        agency = agencies.get(r["agency"]) if r.get("agency") else None
        name = agency.name_th if agency else r.get("text", "")
        if agency and r.get("text"):
            name = f"{name} ({r['text']})"
        out.append(RecipientLine(name=name, channel=channels.get(r.get("channel", ""), ""),
                                 address=r.get("address", "")))
    return out


def _channel_labels() -> list[tuple[str, str]]:
    from ..forms_drafts import CHANNEL_CHOICES

    return [(str(k), str(v)) for k, v in CHANNEL_CHOICES]


def _rounds(draft: Draft) -> list[tuple[int, list[ApprovalStep]]]:
    steps = (draft.steps.select_related("person", "acted_position", "version")
             .order_by("-round", "order"))
    rounds: dict[int, list[ApprovalStep]] = {}
    for step in steps:
        rounds.setdefault(step.round, []).append(step)
    return list(rounds.items())


def _render_detail(request: HttpRequest, draft: Draft, *, step_form: StepForm | None = None,
                   cancel_form: CancelDraftForm | None = None,
                   status: int = 200) -> HttpResponse:
    person = person_of(request)
    step = draft.current_step()
    my_step = step if step is not None and step.person_id == person.pk else None
    if my_step is not None and step_form is None:
        step_form = StepForm(person=person)
    is_drafter = draft.created_by_id == person.pk
    open_ = draft.state in (DraftState.DRAFTING, DraftState.RETURNED)
    return render(request, "drafts/detail.html", {
        "draft": draft,
        "latest": draft.latest,
        "form_name": FORMS.get(draft.form, draft.form),
        "recipients": _recipient_lines(draft),
        "rounds": _rounds(draft),
        "my_step": my_step,
        "step_form": step_form,
        "cancel_form": cancel_form or CancelDraftForm(),
        "can_edit": may_edit(person, draft),
        "can_submit": is_drafter and open_,
        "can_cancel": is_drafter and draft.state not in (DraftState.SIGNED,
                                                         DraftState.CANCELLED),
        "versions": draft.versions.count(),
    }, status=status)


@login_required
@require_GET
def draft_detail(request: HttpRequest, draft_id: int) -> HttpResponse:
    draft = _draft(request, draft_id)
    if draft is None:
        return not_found(request, "ไม่พบร่างหนังสือ หรือท่านไม่มีสิทธิ์เข้าถึง")
    return _render_detail(request, draft)


STEP_ACTIONS = ("initial", "return", "sign")


@login_required
@require_POST
def draft_step(request: HttpRequest, draft_id: int, action: str) -> HttpResponseBase:
    """The current step holder: ลงชื่อย่อ (initial), ส่งคืนแก้ไข (return) or ลงนาม (sign)."""
    draft = _draft(request, draft_id)
    if draft is None or action not in STEP_ACTIONS:
        return not_found(request)
    person = person_of(request)
    form = StepForm(request.POST, person=person)
    if not form.is_valid():
        return _render_detail(request, draft, step_form=form, status=400)
    data = form.cleaned_data
    try:
        actor = _actor(request, data["position"])
        if action == "initial":
            draft_initial(actor=actor, draft=draft, comment=data["comment"] or "")
            messages.success(request, "ลงชื่อย่อแล้ว ส่งต่อผู้พิจารณาลำดับถัดไป")
        elif action == "return":
            draft_return(actor=actor, draft=draft, comment=data["comment"] or "")
            messages.success(request, "ส่งคืนผู้ร่างเพื่อแก้ไขแล้ว")
        else:
            letter = draft_sign(actor=actor, draft=draft, secret=data["secret"] or None)
            messages.success(request, f"ลงนามแล้ว หนังสือเลขที่ {letter.number}")
            return redirect("web:letter_detail", letter_id=letter.pk)
    except SarabanError as exc:
        if exc.status == 403:  # not this person's turn (or a position they do not hold)
            return _forbidden(request, exc.message)
        draft.refresh_from_db()
        if exc.field in ("secret", "comment", "position"):
            form.add_error(exc.field, exc.message)
        elif exc.code.startswith("signing_secret"):
            form.add_error("secret", exc.message)
        else:
            form.add_error(None, exc.message)
        return _render_detail(request, draft, step_form=form, status=400)
    return redirect("web:draft_list")


@login_required
@require_http_methods(["GET", "POST"])
def draft_submit_view(request: HttpRequest, draft_id: int) -> HttpResponseBase:
    """เสนอ: reviewers in order, then the signer."""
    draft = _draft(request, draft_id)
    if draft is None:
        return not_found(request)
    person = person_of(request)
    if draft.created_by_id != person.pk or draft.state not in (DraftState.DRAFTING,
                                                               DraftState.RETURNED):
        return _forbidden(request, "เสนอร่างนี้ไม่ได้: ผู้ร่างเท่านั้นที่เสนอได้ ก่อนเสนอหรือหลังถูกส่งคืน")
    if request.method != "POST":
        initial: dict[str, Any] = {}
        last = list(draft.steps_of_round())  # after a return, offer the same chain again
        for i, step in enumerate(s for s in last if s.role == StepRole.REVIEW):
            initial[f"reviewer_{i}"] = step.person_id
        signer = next((s for s in last if s.role == StepRole.SIGN), None)
        if signer is not None:
            initial["signer"] = signer.person_id
        form = SubmitForm(initial=initial, tenant_id=draft.tenant_id)
        return render(request, "drafts/submit.html", {"form": form, "draft": draft})
    form = SubmitForm(request.POST, tenant_id=draft.tenant_id)
    if form.is_valid():
        try:
            draft_submit(actor=_actor(request, None), draft=draft, reviewers=form.reviewers(),
                         signer=form.cleaned_data["signer"])
        except SarabanError as exc:
            if exc.field == "reviewers":
                form.add_error("reviewer_0" if form.rows else "signer", exc.message)
            else:
                form.add_error(None, exc.message)
        else:
            messages.success(request, "เสนอร่างหนังสือแล้ว")
            return redirect("web:draft_detail", draft_id=draft.pk)
    return render(request, "drafts/submit.html", {"form": form, "draft": draft}, status=400)


@login_required
@require_POST
def draft_cancel_view(request: HttpRequest, draft_id: int) -> HttpResponseBase:
    draft = _draft(request, draft_id)
    if draft is None:
        return not_found(request)
    form = CancelDraftForm(request.POST)
    if form.is_valid():
        try:
            draft_cancel(actor=_actor(request, None), draft=draft,
                         reason=form.cleaned_data["reason"] or "")
        except SarabanError as exc:
            _show_error(form, exc)
            return _render_detail(request, draft, cancel_form=form,
                                  status=403 if exc.status == 403 else 400)
        messages.success(request, "ยกเลิกร่างหนังสือแล้ว")
        return redirect("web:draft_detail", draft_id=draft.pk)
    return _render_detail(request, draft, cancel_form=form, status=400)


# ---- versions -----------------------------------------------------------------------------


@login_required
@require_GET
def draft_versions(request: HttpRequest, draft_id: int) -> HttpResponse:
    draft = _draft(request, draft_id)
    if draft is None:
        return not_found(request)
    versions = list(draft.versions.select_related("author").order_by("-number"))
    for v in versions:
        v.changed_labels = [FIELD_LABELS.get(name, name) for name in v.changed]  # type: ignore[attr-defined]
    return render(request, "drafts/versions.html", {"draft": draft, "versions": versions})


@dataclass(frozen=True, slots=True)
class DiffLine:
    text: str
    kind: str  # "same", "del" (only in the older), "ins" (only in the newer)


@dataclass(frozen=True, slots=True)
class FieldDiff:
    label: str
    old: list[DiffLine]
    new: list[DiffLine]
    changed: bool


def _as_lines(version: DraftVersion, name: str) -> list[str]:
    value = version.value(name)
    if name in LIST_FIELDS:
        return [str(v) for v in value]
    return [str(value)] if value else []


def compare(older: DraftVersion, newer: DraftVersion) -> list[FieldDiff]:
    """Field by field, line by line (paragraph by paragraph for the body)."""
    result = []
    for name in TEXT_FIELDS:
        a, b = _as_lines(older, name), _as_lines(newer, name)
        old: list[DiffLine] = []
        new: list[DiffLine] = []
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b,
                                                           autojunk=False).get_opcodes():
            if tag == "equal":
                old += [DiffLine(t, "same") for t in a[i1:i2]]
                new += [DiffLine(t, "same") for t in b[j1:j2]]
            else:
                old += [DiffLine(t, "del") for t in a[i1:i2]]
                new += [DiffLine(t, "ins") for t in b[j1:j2]]
        result.append(FieldDiff(label=FIELD_LABELS[name], old=old, new=new, changed=a != b))
    return result


@login_required
@require_GET
def draft_compare(request: HttpRequest, draft_id: int) -> HttpResponse:
    """Two versions side by side, field by field (default: the one before the latest)."""
    draft = _draft(request, draft_id)
    if draft is None:
        return not_found(request)
    versions = {v.number: v for v in draft.versions.select_related("author")}
    latest = max(versions)

    def pick(name: str, default: int) -> int:
        raw = request.GET.get(name, "")
        return int(raw) if raw.isdigit() and int(raw) in versions else default

    b = pick("b", latest)
    a = pick("a", max(b - 1, 1))
    older, newer = versions[min(a, b)], versions[max(a, b)]
    return render(request, "drafts/compare.html", {
        "draft": draft, "older": older, "newer": newer, "rows": compare(older, newer),
        "numbers": sorted(versions),
    })
