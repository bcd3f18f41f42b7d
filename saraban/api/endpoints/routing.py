"""Routing: endorse and assign a letter, act on an assignment, a letter's timeline, my desk.

Each endpoint looks up the ids it was given (an unknown one is refused with a stable code
before any action runs), calls the action in :mod:`saraban.routing.services` and renders.
Who may do what is decided there and in :mod:`saraban.letters.access`: a letter or an
assignment the person may not see is answered 404, as if it did not exist.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import Field

from saraban.agencies.actors import Actor, positions_for, resolve_actor
from saraban.agencies.models import Agency, Person, Position
from saraban.api.auth import current_person
from saraban.api.schemas import ErrorOut, Id, IsoDate, PageNumber
from saraban.core.audit import history
from saraban.core.errors import NotFound, PermissionDenied, ValidationFailed
from saraban.core.thai import thai_datetime
from saraban.letters.access import access_letter, visible_letters
from saraban.letters.models import Letter
from saraban.routing.models import OPEN_STATES, Assignment, AssignmentState, Endorsement, Purpose
from saraban.routing.selectors import desk_rows, pending_in_agency
from saraban.routing.services import (
    Target,
    routing_acknowledge,
    routing_assign,
    routing_close,
    routing_endorse,
    routing_return,
)

router = Router(tags=["routing"])
letters_router = Router(tags=["routing"])

ERRORS: dict[int, type[ErrorOut]] = {
    400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut,
}

_STATE_LABELS = dict(AssignmentState.choices)
_PURPOSE_LABELS = dict(Purpose.choices)


# ---- shapes -------------------------------------------------------------------------------


class EndorseIn(Schema):
    text: str = Field(max_length=2000)
    position_id: Id | None = Field(None, description="The post endorsed in (held or acted for)")


class EndorsementOut(Schema):
    id: int
    letter_id: int
    text: str
    person_id: int
    person: str
    position_id: int | None
    position: str
    acting_kind: str
    created_at: dt.datetime


class TargetIn(Schema):
    """Exactly one of ``unit_id``, ``position_id`` or ``person_id``."""

    unit_id: Id | None = None
    position_id: Id | None = None
    person_id: Id | None = None
    purpose: str = Field(Purpose.ACTION.value, description='"action" or "information"')


class AssignIn(Schema):
    targets: list[TargetIn]
    note: str = Field("", max_length=500)
    within: IsoDate | None = Field(None, description='An explicit deadline ("ภายใน")')
    endorsement_id: Id | None = None
    position_id: Id | None = Field(None, description="The post assigning (held or acted for)")


class CloseIn(Schema):
    outcome: str = Field(max_length=5000)
    reply_letter_id: Id | None = None


class ReturnIn(Schema):
    reason: str = Field(max_length=500)


class AssignmentOut(Schema):
    id: int
    letter_id: int
    subject: str
    urgency: int
    target: str
    to_unit_id: int | None
    to_position_id: int | None
    to_person_id: int | None
    purpose: str
    purpose_label: str
    note: str
    due_at: dt.datetime | None
    overdue: bool
    state: str
    state_label: str
    from_person_id: int
    from_person: str
    from_position: str
    from_acting_kind: str
    endorsement_id: int | None
    parent_id: int | None
    created_at: dt.datetime
    acknowledged_at: dt.datetime | None
    closed_at: dt.datetime | None
    outcome: str
    reply_letter_id: int | None


class AssignmentsOut(Schema):
    items: list[AssignmentOut]


class DeskOut(Schema):
    page: int
    page_size: int
    total: int
    items: list[AssignmentOut]


class DeskQuery(Schema):
    page: PageNumber = 1
    page_size: int = Field(50, ge=1, le=200)


class TimelineEventOut(Schema):
    action: str
    at: dt.datetime
    at_th: str = Field(description="The time in Bangkok, Buddhist Era")
    person: str
    position: str
    acting_kind: str
    details: dict[str, Any]


class TimelineOut(Schema):
    letter_id: int
    events: list[TimelineEventOut]
    holders: list[AssignmentOut] = Field(description="The open assignments: who holds it now")


# ---- lookups and rendering ----------------------------------------------------------------


def _endorsement_out(e: Endorsement) -> EndorsementOut:
    return EndorsementOut(
        id=e.pk, letter_id=e.letter_id, text=e.text, person_id=e.person_id,
        person=e.person_name, position_id=e.position_id, position=e.position_title,
        acting_kind=e.acting_kind, created_at=e.created_at,
    )


def _assignment_out(a: Assignment, now: dt.datetime) -> AssignmentOut:
    return AssignmentOut(
        id=a.pk, letter_id=a.letter_id, subject=a.letter.subject, urgency=a.letter.urgency,
        target=a.target_display, to_unit_id=a.to_unit_id, to_position_id=a.to_position_id,
        to_person_id=a.to_person_id, purpose=a.purpose,
        purpose_label=_PURPOSE_LABELS.get(a.purpose, a.purpose), note=a.note,
        due_at=a.due_at, overdue=a.is_open and a.due_at is not None and a.due_at < now,
        state=a.state, state_label=_STATE_LABELS.get(a.state, a.state),
        from_person_id=a.from_person_id, from_person=a.from_person.display_name(),
        from_position=a.from_position.title_th if a.from_position else "",
        from_acting_kind=a.from_acting_kind, endorsement_id=a.endorsement_id,
        parent_id=a.parent_id, created_at=a.created_at, acknowledged_at=a.acknowledged_at,
        closed_at=a.closed_at, outcome=a.outcome, reply_letter_id=a.reply_letter_id,
    )


def _rendered(assignments: QuerySet[Assignment] | list[Assignment]) -> list[AssignmentOut]:
    now = timezone.now()
    return [_assignment_out(a, now) for a in assignments]


_RELATED = ("letter", "to_unit", "to_position", "to_person", "from_person", "from_position")


def _assignment(person: Person, assignment_id: int) -> Assignment:
    """The assignment, if its letter is visible to the person; else 404 (hidden)."""
    found = (
        Assignment.objects.select_related(*_RELATED)
        .filter(pk=assignment_id, letter__in=visible_letters(person))
        .first()
    )
    if found is None:
        raise NotFound("ไม่พบรายการมอบหมาย หรือท่านไม่มีสิทธิ์เข้าถึง",
                       code="assignment_not_found")
    return found


def _actor_for(person: Person, assignment: Assignment) -> Actor:
    """Act in the assigned post when the person holds or acts for it (so an acting person's
    steps record the post), else in their own first post."""
    if assignment.to_position_id is not None and any(
        p.pk == assignment.to_position_id for p, _kind in positions_for(person)
    ):
        return resolve_actor(person, assignment.to_position_id)
    return resolve_actor(person)


def _reload(assignment: Assignment) -> Assignment:
    return Assignment.objects.select_related(*_RELATED).get(pk=assignment.pk)


def _lookup[M: Agency | Position | Person](
    model: type[M], ids: set[int], *, code: str, message: str
) -> dict[int, M]:
    found = cast("dict[int, M]", model._default_manager.in_bulk(ids))
    missing = sorted(ids - found.keys())
    if missing:
        raise ValidationFailed(message, code=code, field="targets", details={"ids": missing})
    return found


def _targets(items: list[TargetIn]) -> list[Target]:
    units = _lookup(Agency, {t.unit_id for t in items if t.unit_id is not None},
                    code="unknown_unit", message="ไม่พบหน่วยงานที่ระบุ")
    positions = _lookup(Position, {t.position_id for t in items if t.position_id is not None},
                        code="unknown_position", message="ไม่พบตำแหน่งที่ระบุ")
    people = _lookup(Person, {t.person_id for t in items if t.person_id is not None},
                     code="unknown_person", message="ไม่พบบุคลากรที่ระบุ")
    return [
        Target(
            unit=units[t.unit_id] if t.unit_id is not None else None,
            position=positions[t.position_id] if t.position_id is not None else None,
            person=people[t.person_id] if t.person_id is not None else None,
            purpose=t.purpose,
        )
        for t in items
    ]


# ---- on a letter --------------------------------------------------------------------------


@letters_router.post(
    "/{letter_id}/endorse",
    response={201: EndorsementOut, **ERRORS},
    url_name="letter_endorse",
    summary="Endorse a letter (เกษียนหนังสือ)",
)
def letter_endorse(request: HttpRequest, letter_id: int, payload: EndorseIn
                   ) -> Status[EndorsementOut]:
    """Write an executive's instruction on a registered letter, as the given post."""
    person = current_person(request)
    letter = access_letter(person, letter_id)
    endorsement = routing_endorse(actor=resolve_actor(person, payload.position_id),
                                  letter=letter, text=payload.text)
    return Status(201, _endorsement_out(endorsement))


@letters_router.post(
    "/{letter_id}/assign",
    response={201: AssignmentsOut, **ERRORS},
    url_name="letter_assign",
    summary="Assign a letter to units, posts or people",
)
def letter_assign(request: HttpRequest, letter_id: int, payload: AssignIn
                  ) -> Status[AssignmentsOut]:
    """Send the letter on, for action or for information; the deadline follows its urgency
    unless ``within`` gives one."""
    person = current_person(request)
    letter = access_letter(person, letter_id)
    endorsement: Endorsement | None = None
    if payload.endorsement_id is not None:
        endorsement = letter.endorsements.filter(pk=payload.endorsement_id).first()
        if endorsement is None:
            raise ValidationFailed("ไม่พบข้อความเกษียนของหนังสือนี้",
                                   code="unknown_endorsement", field="endorsement_id")
    made = routing_assign(
        actor=resolve_actor(person, payload.position_id), letter=letter,
        targets=_targets(payload.targets), note=payload.note, within=payload.within,
        endorsement=endorsement,
    )
    reloaded = Assignment.objects.select_related(*_RELATED).filter(
        pk__in=[a.pk for a in made]).order_by("pk")
    return Status(201, AssignmentsOut(items=_rendered(reloaded)))


@letters_router.get(
    "/{letter_id}/timeline",
    response={200: TimelineOut, **ERRORS},
    url_name="letter_timeline",
    summary="The letter's timeline and who holds it now",
)
def letter_timeline(request: HttpRequest, letter_id: int) -> TimelineOut:
    """Every recorded step on the letter, oldest first, from its audit history."""
    letter = access_letter(current_person(request), letter_id)
    events = [
        TimelineEventOut(
            action=e.action, at=e.created_at, at_th=thai_datetime(e.created_at),
            person=e.actor_name, position=e.position_title, acting_kind=e.acting_kind,
            details=e.details if isinstance(e.details, dict) else {"value": e.details},
        )
        for e in history("letter", letter.pk)
    ]
    holders = Assignment.objects.select_related(*_RELATED).filter(
        letter=letter, state__in=OPEN_STATES).order_by("created_at", "pk")
    return TimelineOut(letter_id=letter.pk, events=events, holders=_rendered(holders))


# ---- on an assignment ---------------------------------------------------------------------


@router.post(
    "/assignments/{assignment_id}/acknowledge",
    response={200: AssignmentOut, **ERRORS},
    url_name="assignment_acknowledge",
    summary="Acknowledge an assignment (รับทราบ)",
)
def assignment_acknowledge(request: HttpRequest, assignment_id: int) -> AssignmentOut:
    person = current_person(request)
    assignment = _assignment(person, assignment_id)
    done = routing_acknowledge(actor=_actor_for(person, assignment), assignment=assignment)
    return _assignment_out(_reload(done), timezone.now())


@router.post(
    "/assignments/{assignment_id}/close",
    response={200: AssignmentOut, **ERRORS},
    url_name="assignment_close",
    summary="Close an assignment (เรื่องเสร็จ) with its outcome",
)
def assignment_close(request: HttpRequest, assignment_id: int, payload: CloseIn
                     ) -> AssignmentOut:
    person = current_person(request)
    assignment = _assignment(person, assignment_id)
    reply: Letter | None = None
    if payload.reply_letter_id is not None:
        reply = Letter.objects.filter(pk=payload.reply_letter_id).first()
        if reply is None:
            raise ValidationFailed("ไม่พบหนังสือตอบ", code="reply_not_found",
                                   field="reply_letter_id")
    done = routing_close(actor=_actor_for(person, assignment), assignment=assignment,
                         outcome=payload.outcome, reply_letter=reply)
    return _assignment_out(_reload(done), timezone.now())


@router.post(
    "/assignments/{assignment_id}/return",
    response={200: AssignmentOut, **ERRORS},
    url_name="assignment_return",
    summary="Return an assignment to whoever sent it",
)
def assignment_return(request: HttpRequest, assignment_id: int, payload: ReturnIn
                      ) -> AssignmentOut:
    person = current_person(request)
    assignment = _assignment(person, assignment_id)
    done = routing_return(actor=_actor_for(person, assignment), assignment=assignment,
                          reason=payload.reason)
    return _assignment_out(_reload(done), timezone.now())


@router.get(
    "/desk", response={200: DeskOut, **ERRORS}, url_name="desk", summary="My desk"
)
def my_desk(request: HttpRequest, query: Query[DeskQuery]) -> DeskOut:
    """The open assignments I hold (to me, my posts held or acted for, my units), most
    urgent and soonest due first, a page at a time."""
    held = desk_rows(current_person(request))
    return DeskOut(page=query.page, page_size=query.page_size, total=held.count(),
                   items=_page(held, query))


def _page(rows: QuerySet[Assignment], query: DeskQuery) -> list[AssignmentOut]:
    """One page of ``rows`` (already ordered), in two steps: the page's ids (sorting the
    open rows joined only to their letters), then those rows with everything shown; sorting
    thousands of rows joined to six tables is what made a full desk slow (bench/desk.py)."""
    start = (query.page - 1) * query.page_size
    ids = list(rows.values_list("pk", flat=True)[start:start + query.page_size])
    found = Assignment.objects.select_related(*_RELATED).in_bulk(ids)
    return _rendered([found[i] for i in ids])


class UnitCountOut(Schema):
    unit: str
    count: int
    overdue: int


class PendingOut(DeskOut):
    units: list[UnitCountOut] = Field(
        description="Open assignments per unit of the agency (secret letters counted, "
                    "never listed)")


@router.get(
    "/pending", response={200: PendingOut, **ERRORS}, url_name="pending",
    summary="Pending in my agency (executives and heads of units)",
)
def pending(request: HttpRequest, query: Query[DeskQuery]) -> PendingOut:
    """Counts per unit of the open assignments in the agencies where I am an executive or
    head of a unit; ``items`` lists only those whose letter I may read."""
    found = pending_in_agency(current_person(request))
    if found is None:
        raise PermissionDenied("เฉพาะผู้บริหารหรือหัวหน้าหน่วยงาน", code="executives_only")
    return PendingOut(
        page=query.page, page_size=query.page_size, total=found.rows.count(),
        items=_page(found.rows, query),
        units=[UnitCountOut(unit=u.name, count=u.count, overdue=u.late) for u in found.units],
    )
