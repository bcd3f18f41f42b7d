"""Routing actions: endorse, assign, register in the unit, acknowledge, return, forward, close,
and circulars' read receipts. Each is one transaction with its audit event (the letter's
timeline) and the notifications it causes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from saraban.agencies.actors import Actor, positions_for
from saraban.agencies.models import Agency, Person, Position, Role, RoleGrant
from saraban.core.audit import audit_record
from saraban.core.errors import Conflict, PermissionDenied, ValidationFailed
from saraban.letters.access import can_see, registries_for, scope_unit_ids
from saraban.letters.models import (
    Letter,
    RegisterEntry,
    Registry,
    Secrecy,
    SeriesKind,
    Urgency,
)
from saraban.letters.signals import letters_changed
from saraban.letters.stamping import stamps_enqueue

from .deadlines import due_for
from .models import (
    OPEN_STATES,
    Assignment,
    AssignmentState,
    CircularRecipient,
    DelegationRule,
    Endorsement,
    NotificationKind,
    Purpose,
)
from .notify import notifications_mark_read, notify

COMMON_PHRASES = (
    "ทราบ",
    "ทราบ ดำเนินการ",
    "เพื่อโปรดพิจารณา",
    "มอบ {unit} ดำเนินการ",
    "มอบ {unit} พิจารณาเสนอ",
    "เห็นชอบ",
    "อนุมัติ",
    "แจ้งเวียนให้ทราบ",
)


@dataclass(frozen=True, slots=True)
class Target:
    """Where an assignment goes: exactly one of unit, position or person."""

    unit: Agency | None = None
    position: Position | None = None
    person: Person | None = None
    purpose: str = Purpose.ACTION


def _audit(actor: Actor, letter: Letter, action: str, **details: object) -> None:
    audit_record(agency_id=letter.tenant_id, action=action, actor=actor, target_type="letter",
                 target_id=letter.pk, details=details)


def _require_sight(actor: Actor, letter: Letter) -> None:
    if not can_see(actor.person, letter):
        raise PermissionDenied("ท่านไม่มีสิทธิ์เข้าถึงหนังสือนี้", code="letter_forbidden")


def may_endorse(actor: Actor, letter: Letter) -> bool:
    """Executives (by grant, or a head-of-unit position held or acted for) and their delegates."""
    if not can_see(actor.person, letter):
        return False
    if actor.position is not None and actor.position.is_head:
        return True
    if RoleGrant.objects.filter(person=actor.person, role=Role.EXECUTIVE,
                                unit__tenant_id=letter.tenant_id).exists():
        return True
    return actor.position is not None and DelegationRule.objects.filter(
        tenant_id=letter.tenant_id, delegate=actor.position
    ).exists()


def routing_endorse(*, actor: Actor, letter: Letter, text: str) -> Endorsement:
    """Write an executive's instruction (เกษียน) on a registered letter."""
    if not text.strip():
        raise ValidationFailed("กรุณาระบุข้อความเกษียน", code="text_required", field="text")
    if len(text) > 2000:
        raise ValidationFailed("ข้อความเกษียนยาวเกินไป", code="text_too_long", field="text")
    if not may_endorse(actor, letter):
        raise PermissionDenied("ท่านไม่มีสิทธิ์เกษียนหนังสือนี้", code="endorse_forbidden")
    if not letter.entries.filter(cancelled_at__isnull=True).exists():
        raise Conflict("หนังสือนี้ยังไม่ได้ลงทะเบียน", code="not_registered")
    with transaction.atomic():
        endorsement = Endorsement.objects.create(
            letter=letter, text=text.strip(), person=actor.person,
            person_name=actor.person.display_name(), position=actor.position,
            position_title=actor.position.title_th if actor.position else "",
            acting_kind=actor.acting_kind, created_at=timezone.now(),
        )
        _audit(actor, letter, "routing_endorse", text=endorsement.text)
        # The stamped copy carries the endorsements: the worker makes the new version.
        stamps_enqueue(letter=letter)
    return endorsement


def _check_target(letter: Letter, target: Target) -> None:
    chosen = [t for t in (target.unit, target.position, target.person) if t is not None]
    if len(chosen) != 1:
        raise ValidationFailed("เลือกผู้รับมอบหมายหนึ่งราย (หน่วยงาน ตำแหน่ง หรือบุคคล)",
                               code="bad_target", field="targets")
    if target.purpose not in Purpose.values:
        raise ValidationFailed("วัตถุประสงค์ไม่ถูกต้อง", code="bad_purpose", field="purpose")
    tenant = (
        target.unit.tenant_id if target.unit is not None
        else target.position.unit.tenant_id if target.position is not None
        else target.person.agency_id if target.person is not None else None
    )
    if tenant != letter.tenant_id:
        raise ValidationFailed("มอบหมายได้เฉพาะภายในส่วนราชการเดียวกัน",
                               code="target_outside_agency", field="targets")
    if letter.secrecy > Secrecy.NORMAL and target.person is None:
        raise ValidationFailed("หนังสือลับมอบหมายได้เฉพาะตัวบุคคล", code="secret_to_person_only",
                               field="targets")


def routing_assign(
    *,
    actor: Actor,
    letter: Letter,
    targets: Sequence[Target],
    note: str = "",
    within: dt.date | None = None,
    endorsement: Endorsement | None = None,
    parent: Assignment | None = None,
) -> list[Assignment]:
    """Send the letter to units, positions or people, for action or for information."""
    _require_sight(actor, letter)
    if parent is None and not (may_endorse(actor, letter)
                               or registries_for(actor.person).filter(
                                   tenant_id=letter.tenant_id).exists()):
        raise PermissionDenied("ท่านไม่มีสิทธิ์มอบหมายหนังสือนี้", code="assign_forbidden")
    if not targets:
        raise ValidationFailed("กรุณาเลือกผู้รับมอบหมาย", code="targets_required",
                               field="targets")
    for target in targets:
        _check_target(letter, target)
    now = timezone.now()
    # A forward keeps its parent's deadline, even one already passed.
    if within is not None and parent is None and within < timezone.localdate(now):
        raise ValidationFailed("กำหนดเสร็จต้องไม่ก่อนวันนี้", code="due_in_past", field="within")
    due = due_for(urgency=letter.urgency, start=now, within=within)
    with transaction.atomic():
        made = []
        for target in targets:
            made.append(Assignment.objects.create(
                letter=letter, tenant_id=letter.tenant_id, parent=parent,
                endorsement=endorsement, from_person=actor.person,
                from_position=actor.position, from_acting_kind=actor.acting_kind,
                to_unit=target.unit, to_position=target.position, to_person=target.person,
                purpose=target.purpose, note=note.strip()[:500],
                due_at=due if target.purpose == Purpose.ACTION else None, created_at=now,
            ))
            if target.person is not None and letter.secrecy > Secrecy.NORMAL:
                letter.secret_readers.add(target.person)
        _audit(actor, letter, "routing_assign", note=note.strip(),
               to=[{"to": a.target_display, "purpose": a.purpose} for a in made],
               due=due.isoformat() if due else None)
        for a in made:
            kind = (NotificationKind.URGENT if letter.urgency >= Urgency.VERY_URGENT
                    else NotificationKind.ASSIGNED)
            notify(people=holders_of(a), kind=kind, letter=letter,
                   text=f"ได้รับมอบหมาย: {letter.subject}")
    return made


def holders_of(assignment: Assignment) -> list[Person]:
    """The people who hold an assignment now (its person, the position's holder or acting
    person today, or the unit's head and registry clerks)."""
    if assignment.to_person is not None:
        return [assignment.to_person]
    if assignment.to_position is not None:
        today = timezone.localdate()
        people = [assignment.to_position.holder] if assignment.to_position.holder else []
        acting = Person.objects.filter(
            acting_for__position=assignment.to_position, acting_for__starts_on__lte=today,
        ).filter(Q(acting_for__ends_on__isnull=True) | Q(acting_for__ends_on__gte=today))
        return [*people, *acting.distinct()]
    assert assignment.to_unit is not None
    heads = Person.objects.filter(positions__unit=assignment.to_unit, positions__is_head=True)
    clerks = Person.objects.filter(grants__unit=assignment.to_unit,
                                   grants__role=Role.REGISTRY_CLERK)
    return list((heads | clerks).distinct())


def held_filter(person: Person) -> Q:
    """Assignments this person holds: to them, to a position they hold or act for today, or
    to a unit in their scope."""
    positions = [p.pk for p, _kind in positions_for(person)]
    return (Q(to_person=person) | Q(to_position__in=positions)
            | Q(to_unit__in=scope_unit_ids(person)))


def desk(person: Person) -> QuerySet[Assignment]:
    """"My desk": the open assignments this person holds, most urgent and soonest due first."""
    return (
        Assignment.objects.filter(held_filter(person), state__in=OPEN_STATES)
        .select_related("letter", "to_unit", "to_position", "to_person", "from_person")
        .order_by("-letter__urgency", "due_at", "created_at")
    )


def _holding(actor: Actor, assignment: Assignment) -> Assignment:
    locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if not Assignment.objects.filter(held_filter(actor.person), pk=locked.pk).exists():
        raise PermissionDenied("หนังสือนี้ไม่ได้มอบหมายให้ท่าน", code="not_your_assignment")
    if locked.state not in OPEN_STATES:
        raise Conflict("รายการนี้ดำเนินการเสร็จแล้ว", code="assignment_closed")
    return locked


def routing_register_in_unit(*, actor: Actor, assignment: Assignment) -> RegisterEntry:
    """The receiving unit's registry registers an assignment in its own incoming register."""
    from saraban.letters.services import register_entry_new, series_of

    if assignment.to_unit is None:
        raise Conflict("มอบหมายให้บุคคลหรือตำแหน่ง ไม่ต้องลงทะเบียนหน่วยงาน",
                       code="not_for_a_unit")
    unit = assignment.to_unit
    registry = (
        Registry.objects.filter(unit__in=[a.pk for a in unit.ancestors()])
        .order_by("-unit__path").first()
    )
    if registry is None or not registries_for(actor.person).filter(pk=registry.pk).exists():
        raise PermissionDenied("ท่านไม่ใช่เจ้าหน้าที่สารบรรณของหน่วยงานนี้",
                               code="registry_forbidden")
    kind = (SeriesKind.SECRET_INCOMING if assignment.letter.secrecy > 0
            else SeriesKind.INCOMING)
    series = series_of(registry, kind)
    with transaction.atomic():
        locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if locked.unit_entry_id is not None:
            raise Conflict("หน่วยงานลงทะเบียนรับแล้ว", code="already_registered")
        entry = register_entry_new(actor=actor, series=series, letter=locked.letter,
                                   now=timezone.now())
        locked.unit_entry = entry
        locked.save(update_fields=["unit_entry"])
        _audit(actor, locked.letter, "letter_register_in_unit", registry=registry.name_th,
               number=entry.formatted, year=entry.year_be)
        stamps_enqueue(entries=[entry])
    return entry


def routing_acknowledge(*, actor: Actor, assignment: Assignment) -> Assignment:
    """The assignee acknowledges (รับทราบ) and starts work."""
    with transaction.atomic():
        locked = _holding(actor, assignment)
        if locked.state != AssignmentState.PENDING:
            raise Conflict("รับทราบแล้ว", code="already_acknowledged")
        locked.state = AssignmentState.ACKNOWLEDGED
        locked.acknowledged_at = timezone.now()
        locked.acknowledged_by = actor.person
        locked.save(update_fields=["state", "acknowledged_at", "acknowledged_by"])
        _audit(actor, locked.letter, "routing_acknowledge", to=locked.target_display)
    return locked


def routing_close(
    *, actor: Actor, assignment: Assignment, outcome: str, reply_letter: Letter | None = None
) -> Assignment:
    """Close the matter (เรื่องเสร็จ) with its outcome, linking the reply letter if any."""
    if not outcome.strip():
        raise ValidationFailed("กรุณาระบุผลการดำเนินการ", code="outcome_required",
                               field="outcome")
    if reply_letter is not None and not can_see(actor.person, reply_letter):
        raise ValidationFailed("ไม่พบหนังสือตอบ", code="reply_not_found", field="reply_letter")
    with transaction.atomic():
        locked = _holding(actor, assignment)
        now = timezone.now()
        if locked.state == AssignmentState.PENDING:
            locked.acknowledged_at = now
            locked.acknowledged_by = actor.person
        locked.state = AssignmentState.CLOSED
        locked.closed_at = now
        locked.closed_by = actor.person
        locked.outcome = outcome.strip()
        locked.reply_letter = reply_letter
        locked.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "closed_at",
                                   "closed_by", "outcome", "reply_letter"])
        _audit(actor, locked.letter, "routing_close", outcome=locked.outcome,
               reply=reply_letter.number if reply_letter else None)
    return locked


def routing_return(*, actor: Actor, assignment: Assignment, reason: str) -> Assignment:
    """Send the letter back to whoever assigned it (e.g. not this unit's matter)."""
    if not reason.strip():
        raise ValidationFailed("กรุณาระบุเหตุผล", code="reason_required", field="reason")
    with transaction.atomic():
        locked = _holding(actor, assignment)
        locked.state = AssignmentState.RETURNED
        locked.closed_at = timezone.now()
        locked.closed_by = actor.person
        locked.outcome = reason.strip()
        locked.save(update_fields=["state", "closed_at", "closed_by", "outcome"])
        _audit(actor, locked.letter, "routing_return", reason=locked.outcome,
               to=locked.from_person.display_name())
        notify(people=[locked.from_person], kind=NotificationKind.RETURNED,
               letter=locked.letter, text=f"ส่งคืน: {locked.letter.subject}")
    return locked


def routing_forward(
    *, actor: Actor, assignment: Assignment, targets: Sequence[Target], note: str = ""
) -> list[Assignment]:
    """Pass the assignment on (e.g. a unit head to an officer)."""
    with transaction.atomic():
        locked = _holding(actor, assignment)
        made = routing_assign(actor=actor, letter=locked.letter, targets=targets, note=note,
                              parent=locked,
                              within=(timezone.localdate(locked.due_at) if locked.due_at
                                      else None))
        locked.state = AssignmentState.FORWARDED
        locked.closed_at = timezone.now()
        locked.closed_by = actor.person
        locked.save(update_fields=["state", "closed_at", "closed_by"])
        _audit(actor, locked.letter, "routing_forward", held_by=locked.target_display,
               to=[a.target_display for a in made])
    return made


# ---- circulars -------------------------------------------------------------------------


def circular_distribute(
    *, actor: Actor, letter: Letter, units: Sequence[Agency] = (),
    people: Sequence[Person] = (),
) -> list[CircularRecipient]:
    """Send a circular to many units or people inside the agency, each with a read receipt."""
    _require_sight(actor, letter)
    if not registries_for(actor.person).filter(tenant_id=letter.tenant_id).exists():
        raise PermissionDenied("ท่านไม่มีสิทธิ์เวียนหนังสือนี้", code="circular_forbidden")
    if not units and not people:
        raise ValidationFailed("กรุณาเลือกผู้รับหนังสือเวียน", code="targets_required",
                               field="targets")
    if any(u.tenant_id != letter.tenant_id for u in units) or any(
        p.agency_id != letter.tenant_id for p in people
    ):
        raise ValidationFailed("เวียนได้เฉพาะภายในส่วนราชการเดียวกัน",
                               code="target_outside_agency", field="targets")
    if letter.secrecy > Secrecy.NORMAL:
        raise ValidationFailed("หนังสือลับเวียนไม่ได้", code="secret_not_circular")
    now = timezone.now()
    with transaction.atomic():
        made = CircularRecipient.objects.bulk_create(
            [CircularRecipient(letter=letter, unit=u, created_at=now) for u in units]
            + [CircularRecipient(letter=letter, person=p, created_at=now) for p in people],
            ignore_conflicts=False,
        )
        letters_changed.send(sender=CircularRecipient, letter_ids=[letter.pk])
        _audit(actor, letter, "circular_distribute",
               to=[u.name_th for u in units] + [p.display_name() for p in people])
        notified: list[Person] = list(people)
        for unit in units:
            notified += list(Person.objects.filter(
                Q(positions__unit=unit, positions__is_head=True)
                | Q(grants__unit=unit, grants__role=Role.REGISTRY_CLERK)).distinct())
        notify(people=notified, kind=NotificationKind.CIRCULAR, letter=letter,
               text=f"หนังสือเวียน: {letter.subject}")
    return made


def circular_acknowledge(*, actor: Actor, recipient: CircularRecipient) -> CircularRecipient:
    """"รับทราบแล้ว": the addressee (or someone for the unit) acknowledges the circular."""
    allowed = (recipient.person_id == actor.person.pk
               or (recipient.unit_id is not None
                   and recipient.unit_id in scope_unit_ids(actor.person)))
    if not allowed:
        raise PermissionDenied("หนังสือเวียนนี้ไม่ได้ส่งถึงท่าน", code="not_your_circular")
    with transaction.atomic():
        locked = CircularRecipient.objects.select_for_update().get(pk=recipient.pk)
        if locked.acknowledged_at is not None:
            raise Conflict("รับทราบแล้ว", code="already_acknowledged")
        locked.acknowledged_at = timezone.now()
        locked.acknowledged_by = actor.person
        locked.save(update_fields=["acknowledged_at", "acknowledged_by"])
        _audit(actor, locked.letter, "circular_acknowledge",
               recipient=locked.unit.name_th if locked.unit else actor.person.display_name())
        # Once acknowledged, the person's bell notifications of this circular are read.
        notifications_mark_read(person=actor.person, letter=locked.letter,
                                kind=NotificationKind.CIRCULAR)
    return locked
