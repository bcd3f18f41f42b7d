"""Routing in the web UI: endorse and assign on the letter page, the assignee's buttons, and
the tracking lists (my desk, my unit, what I sent, pending in my agency).

Views are thin: they parse a form, resolve the ``Actor`` and call
``saraban.routing.services``. A ``SarabanError`` is shown in Thai next to its field on the
letter page (re-rendered with the bound forms, status 400) and nothing is saved. Lists cost a
constant number of queries (``select_related`` and one aggregate for the counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Q,
    QuerySet,
    Value,
    When,
)
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from saraban.agencies.actors import Actor, resolve_actor
from saraban.agencies.models import Agency, Person, Position
from saraban.core.errors import NotFound, SarabanError
from saraban.letters.access import access_letter, visible_letters
from saraban.letters.models import Direction, Letter, Urgency
from saraban.routing.models import OPEN_STATES, Assignment, Purpose
from saraban.routing.reminders import overdue_q
from saraban.routing.selectors import desk_rows, pending_in_agency, sent_rows, unit_rows
from saraban.routing.services import (
    COMMON_PHRASES,
    Target,
    held_filter,
    routing_acknowledge,
    routing_assign,
    routing_close,
    routing_endorse,
    routing_forward,
    routing_register_in_unit,
    routing_return,
)

from ..forms import ThaiDateField
from .browse import ACTING_LABELS, letter_detail, not_found, person_of

PAGE_SIZE = 50
ENDORSE_ROWS = 3
FORWARD_ROWS = 2
PURPOSE_CHOICES = Purpose.choices


# ---- forms --------------------------------------------------------------------------------


def target_choices(tenant_id: int) -> list[tuple[str, list[tuple[str, str]]]]:
    """Units, positions and people of the agency, as ``u:1`` / ``p:2`` / ``n:3`` options."""
    units = Agency.objects.filter(Q(pk=tenant_id) | Q(tenant_id=tenant_id)).order_by("path")
    positions = Position.objects.filter(unit__tenant_id=tenant_id).select_related("holder")
    people = Person.objects.filter(agency_id=tenant_id, is_active=True).order_by("full_name_th")
    return [
        ("หน่วยงาน", [(f"u:{u.pk}", u.name_th) for u in units]),
        ("ตำแหน่ง", [
            (f"p:{p.pk}", p.title_th + (f" ({p.holder.display_name()})" if p.holder else ""))
            for p in positions.order_by("title_th")
        ]),
        ("บุคคล", [(f"n:{p.pk}", p.display_name()) for p in people]),
    ]


class TargetsForm(forms.Form):
    """Rows of (target, purpose); blank rows are skipped."""

    rows = ENDORSE_ROWS

    def __init__(self, *args: Any, tenant_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant_id = tenant_id
        choices: list[Any] = [("", "— เลือก —"), *target_choices(tenant_id)]
        for i in range(self.rows):
            self.fields[f"target_{i}"] = forms.ChoiceField(
                label=f"ผู้รับมอบหมาย {i + 1}", choices=choices, required=False)
            self.fields[f"purpose_{i}"] = forms.ChoiceField(
                label="วัตถุประสงค์", choices=PURPOSE_CHOICES, initial=Purpose.ACTION,
                required=False)
        self.fields["note"] = forms.CharField(label="คำสั่งการ/หมายเหตุ", required=False,
                                              max_length=500)

    def target_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"target_{i}"], self[f"purpose_{i}"]) for i in range(self.rows)]

    def targets(self) -> list[Target]:
        """The chosen targets (call after ``is_valid``)."""
        data = self.cleaned_data
        out: list[Target] = []
        for i in range(self.rows):
            value = data.get(f"target_{i}") or ""
            if not value:
                continue
            kind, _, pk = value.partition(":")
            purpose = data.get(f"purpose_{i}") or Purpose.ACTION
            if kind == "u":
                out.append(Target(unit=Agency.objects.get(pk=int(pk)), purpose=purpose))
            elif kind == "p":
                out.append(Target(position=Position.objects.select_related("unit")
                                  .get(pk=int(pk)), purpose=purpose))
            else:
                out.append(Target(person=Person.objects.get(pk=int(pk)), purpose=purpose))
        return out


class EndorseForm(TargetsForm):
    def __init__(self, *args: Any, tenant_id: int, **kwargs: Any) -> None:
        super().__init__(*args, tenant_id=tenant_id, **kwargs)
        self.fields["text"] = forms.CharField(
            label="ข้อความเกษียน", required=False, max_length=2000,
            widget=forms.Textarea(attrs={"rows": 3}))
        self.fields["within"] = ThaiDateField(label="ภายใน", required=False)


class ForwardForm(TargetsForm):
    rows = FORWARD_ROWS


class CloseForm(forms.Form):
    outcome = forms.CharField(label="ผลการดำเนินการ", required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))
    reply_letter = forms.ChoiceField(label="หนังสือตอบ (หนังสือส่งล่าสุด)", required=False)
    reply_search = forms.CharField(label="หรือค้นหาเลขที่/เรื่องของหนังสือตอบ", required=False)

    def __init__(self, *args: Any, person: Person, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.person = person
        recent = (visible_letters(person).filter(direction=Direction.OUTGOING)
                  .order_by("-created_at")[:20])
        field = self.fields["reply_letter"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "— ไม่มี —")] + [
            (str(x.pk), f"{x.number or '(ไม่มีเลข)'} {x.subject}") for x in recent
        ]

    def reply(self) -> Letter | None:
        """The reply letter chosen or found (call after ``is_valid``); adds a Thai error."""
        data = self.cleaned_data
        if data.get("reply_letter"):
            return visible_letters(self.person).filter(pk=int(data["reply_letter"])).first()
        text = (data.get("reply_search") or "").strip()
        if not text:
            return None
        found = list(visible_letters(self.person).filter(
            Q(number=text) | Q(subject__icontains=text)).order_by("-created_at")[:2])
        exact = [x for x in found if x.number == text]
        if len(exact) == 1 or len(found) == 1:
            return (exact or found)[0]
        self.add_error("reply_search", "ไม่พบหนังสือตอบ" if not found
                       else "พบหนังสือหลายฉบับ กรุณาระบุเลขที่ให้ชัดเจน")
        raise _FormInvalid


class ReturnForm(forms.Form):
    reason = forms.CharField(label="เหตุผลที่ส่งคืน", required=False)


class _FormInvalid(Exception):
    """The form has errors already; re-render the letter page."""


# ---- helpers ------------------------------------------------------------------------------


def actor_for(request: HttpRequest, default: int | None = None) -> Actor:
    """The actor: the posted ``position`` (held or acted for), else ``default``, else the
    first held one."""
    raw = request.POST.get("position") or ""
    return resolve_actor(person_of(request), int(raw) if raw.isdigit() else default)


def endorsing_actors(person: Person, letter: Letter) -> list[Actor]:
    """The ways this person may endorse the letter: each position held or acted for that
    may endorse (acting for the director first), or the person alone (an executive grant)."""
    from saraban.agencies.actors import positions_for
    from saraban.routing.services import may_endorse

    actors = [Actor(person=person, position=p, acting_kind=kind)
              for p, kind in positions_for(person)] or [Actor(person=person)]
    actors.sort(key=lambda a: not (a.position is not None and a.position.is_head))
    return [a for a in actors if may_endorse(a, letter)]


def _acting_position(person: Person, assignment: Assignment) -> int | None:
    """An assignment to a position the person acts for is handled in that position."""
    from saraban.agencies.actors import positions_for

    if assignment.to_position_id is None:
        return None
    held = {p.pk for p, _kind in positions_for(person)}
    return assignment.to_position_id if assignment.to_position_id in held else None


def _show_error(form: forms.Form, exc: SarabanError) -> None:
    field = exc.field if exc.field in form.fields else None
    if exc.field == "targets" and "target_0" in form.fields:
        field = "target_0"
    form.add_error(field, exc.message)


def _again(request: HttpRequest, letter_id: int, key: str, form: forms.Form) -> HttpResponse:
    """The letter page again with this bound form and its Thai errors (nothing saved)."""
    request.routing_forms = {key: form}  # type: ignore[attr-defined]
    request.method = "GET"
    response = letter_detail(request, letter_id)
    response.status_code = 400
    return response


def _letter(request: HttpRequest, letter_id: int) -> Letter | None:
    try:
        return access_letter(person_of(request), letter_id)
    except NotFound:
        return None


def _fill_phrase(phrase: str, targets: list[Target]) -> str:
    if "{unit}" not in phrase:
        return phrase
    names = [t.unit.short_name_th or t.unit.name_th if t.unit is not None
             else t.position.title_th if t.position is not None
             else t.person.display_name() if t.person is not None else ""
             for t in targets]
    return phrase.replace("{unit}", " ".join(n for n in names if n) or "…")


# ---- letter page actions ------------------------------------------------------------------


@login_required
@require_POST
def endorse(request: HttpRequest, letter_id: int) -> HttpResponseBase:
    letter = _letter(request, letter_id)
    if letter is None:
        return not_found(request)
    form = EndorseForm(request.POST, tenant_id=letter.tenant_id)
    if not form.is_valid():
        return _again(request, letter_id, "endorse", form)
    try:
        actors = endorsing_actors(person_of(request), letter)
        actor = actor_for(request, actors[0].position.pk
                          if actors and actors[0].position is not None else None)
        targets = form.targets()
        phrase = request.POST.get("phrase", "")
        text = form.cleaned_data["text"] or ""
        if phrase in COMMON_PHRASES:
            text = _fill_phrase(phrase, targets)
        with transaction.atomic():
            endorsement = routing_endorse(actor=actor, letter=letter, text=text)
            if targets:
                routing_assign(actor=actor, letter=letter, targets=targets,
                               note=form.cleaned_data["note"] or "",
                               within=form.cleaned_data["within"], endorsement=endorsement)
    except SarabanError as exc:
        if exc.status == 403:
            return render(request, "web/routing/forbidden.html", {"message": exc.message},
                          status=403)
        _show_error(form, exc)
        return _again(request, letter_id, "endorse", form)
    messages.success(request, "เกษียนหนังสือแล้ว" + (" และมอบหมายแล้ว" if targets else ""))
    return redirect("web:letter_detail", letter_id)


ACTIONS = ("acknowledge", "close", "return", "forward", "register")


@login_required
@require_POST
def assignment_action(request: HttpRequest, assignment_id: int, action: str) -> HttpResponseBase:
    person = person_of(request)
    assignment = (Assignment.objects.filter(pk=assignment_id, letter__in=visible_letters(person))
                  .select_related("letter", "to_unit", "to_person", "to_position").first())
    if assignment is None or action not in ACTIONS:
        return not_found(request)
    letter_id = assignment.letter_id
    key = f"{action}-{assignment.pk}"
    form: forms.Form = forms.Form(request.POST)
    done = ""
    try:
        actor = actor_for(request, _acting_position(person, assignment))
        if action == "acknowledge":
            routing_acknowledge(actor=actor, assignment=assignment)
            done = "รับทราบแล้ว"
        elif action == "register":
            entry = routing_register_in_unit(actor=actor, assignment=assignment)
            done = f"ลงทะเบียนรับเข้าหน่วยงานแล้ว เลขรับ {entry.formatted}"
        elif action == "close":
            form = CloseForm(request.POST, person=person)
            if not form.is_valid():
                return _again(request, letter_id, key, form)
            reply = form.reply()
            routing_close(actor=actor, assignment=assignment,
                          outcome=form.cleaned_data["outcome"] or "", reply_letter=reply)
            done = "บันทึกเรื่องเสร็จแล้ว"
        elif action == "return":
            form = ReturnForm(request.POST)
            if not form.is_valid():
                return _again(request, letter_id, key, form)
            routing_return(actor=actor, assignment=assignment,
                           reason=form.cleaned_data["reason"] or "")
            done = "ส่งคืนแล้ว"
        else:
            form = ForwardForm(request.POST, tenant_id=assignment.tenant_id)
            if not form.is_valid():
                return _again(request, letter_id, key, form)
            routing_forward(actor=actor, assignment=assignment, targets=form.targets(),
                            note=form.cleaned_data["note"] or "")
            done = "ส่งต่อแล้ว"
    except _FormInvalid:
        return _again(request, letter_id, key, form)
    except SarabanError as exc:
        if form.fields:
            _show_error(form, exc)
            return _again(request, letter_id, key, form)
        messages.error(request, exc.message)
        return redirect("web:letter_detail", letter_id)
    messages.success(request, done)
    return redirect("web:letter_detail", letter_id)


# ---- the letter page panel (used by the routing_tags template tag) -------------------------


@dataclass(frozen=True, slots=True)
class AssignmentRow:
    assignment: Assignment
    overdue: bool
    mine: bool
    can_register: bool
    forms: dict[str, forms.Form]


def letter_panel(request: HttpRequest, letter: Letter) -> dict[str, Any]:
    """Everything the routing part of the letter page shows for this person."""
    from saraban.letters.access import registries_for
    from saraban.routing.services import holders_of

    person = person_of(request)
    bound: dict[str, forms.Form] = getattr(request, "routing_forms", {})
    endorsements = list(letter.endorsements.select_related("person"))
    assignments = list(
        letter.assignments.select_related("to_unit", "to_position__holder", "to_person",
                                          "from_person", "reply_letter", "unit_entry")
        .annotate(late=Case(When(overdue_q(), then=Value(True)), default=Value(False),
                            output_field=BooleanField()))
        .order_by("created_at", "pk")
    )
    mine = set(Assignment.objects.filter(held_filter(person), letter=letter,
                                         state__in=OPEN_STATES).values_list("pk", flat=True))
    clerk = registries_for(person).filter(tenant_id=letter.tenant_id).exists()
    rows = []
    for a in assignments:
        forms_for: dict[str, forms.Form] = {}
        if a.pk in mine:
            forms_for = {
                "close": bound.get(f"close-{a.pk}") or CloseForm(person=person),
                "return": bound.get(f"return-{a.pk}") or ReturnForm(),
                "forward": bound.get(f"forward-{a.pk}")
                or ForwardForm(tenant_id=letter.tenant_id),
            }
        rows.append(AssignmentRow(
            assignment=a, overdue=bool(getattr(a, "late", False)), mine=a.pk in mine,
            can_register=clerk and a.to_unit_id is not None and a.unit_entry_id is None
            and a.is_open, forms=forms_for))
    holders = [
        {"target": a.target_display,
         "people": ", ".join(p.display_name() for p in holders_of(a))}
        for a in assignments if a.is_open
    ]
    actors = endorsing_actors(person, letter)
    can_endorse = bool(actors)
    return {
        "letter": letter,
        "endorsements": endorsements,
        "rows": rows,
        "holders": holders,
        "can_endorse": can_endorse,
        "endorse_form": (bound.get("endorse") or EndorseForm(tenant_id=letter.tenant_id))
        if can_endorse else None,
        "phrases": [(p, p.replace("{unit}", "…")) for p in COMMON_PHRASES],
        "endorse_as": [
            (a.position.pk, (ACTING_LABELS.get(a.acting_kind, "") + " " + a.position.title_th)
             .strip())
            for a in actors if a.position is not None
        ],
    }


# ---- tracking lists -----------------------------------------------------------------------


def _late() -> Case:
    return Case(When(overdue_q(), then=Value(True)), default=Value(False),
                output_field=BooleanField())


def _rows(qs: QuerySet[Assignment]) -> QuerySet[Assignment]:
    return qs.select_related(
        "letter", "to_unit", "to_position__holder", "to_person", "from_person", "reply_letter"
    ).annotate(late=_late())


def _list(request: HttpRequest, qs: QuerySet[Assignment], **context: Any) -> HttpResponse:
    """One page of ``qs`` (already ordered): the page's ids first, then only those rows with
    their joins, so a desk of thousands costs what a desk of fifty does."""
    page = Paginator(qs.values_list("pk", flat=True), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    ids = list(page.object_list)
    by_id = {a.pk: a for a in _rows(Assignment.objects.filter(pk__in=ids))}
    return render(request, "web/routing/list.html",
                  {"page": page, "rows": [by_id[pk] for pk in ids], **context})


def _urgency_counts(qs: QuerySet[Assignment]) -> tuple[list[dict[str, Any]], int]:
    rows = (qs.order_by().values("letter__urgency")
            .annotate(n=Count("pk"), late=Count("pk", filter=overdue_q())))
    counts: dict[int, int] = {}
    late = 0
    for r in rows:
        counts[r["letter__urgency"]] = r["n"]
        late += r["late"]
    return ([{"label": label, "value": value, "count": counts.get(value, 0)}
             for value, label in reversed(Urgency.choices)], late)


@login_required
@require_GET
def my_desk(request: HttpRequest) -> HttpResponse:
    held = desk_rows(person_of(request))
    by_urgency, late = _urgency_counts(held)
    return _list(request, held, title="โต๊ะทำงานของฉัน", by_urgency=by_urgency,
                 late_total=late, show_from=True)


@login_required
@require_GET
def my_unit(request: HttpRequest) -> HttpResponse:
    qs = unit_rows(person_of(request))
    by_urgency, late = _urgency_counts(qs)
    return _list(request, qs, title="หน่วยงานของฉัน", by_urgency=by_urgency, late_total=late,
                 show_from=True)


@login_required
@require_GET
def my_sent(request: HttpRequest) -> HttpResponse:
    return _list(request, sent_rows(person_of(request)), title="หนังสือที่ส่ง",
                 show_state=True)


@login_required
@require_GET
def pending_agency(request: HttpRequest) -> HttpResponse:
    """Counts per unit for the executive's agencies; rows only of letters they may read."""
    pending = pending_in_agency(person_of(request))
    if pending is None:
        return render(request, "web/routing/forbidden.html",
                      {"message": "เฉพาะผู้บริหารหรือหัวหน้าหน่วยงาน"}, status=403)
    return _list(request, pending.rows, title="ค้างในส่วนราชการ", units=pending.units,
                 show_from=True, late_total=pending.late_total)
