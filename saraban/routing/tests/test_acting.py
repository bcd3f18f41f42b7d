"""Acting for a post and delegation: who may endorse, whose desk a post's letters reach, and
that what an acting person does records both the person and the post."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import ActingAssignment, Person, Position, Role, RoleGrant
from saraban.agencies.sample import make_person
from saraban.core.audit import history
from saraban.core.errors import PermissionDenied
from saraban.core.models import AuditEvent
from saraban.letters.services import LetterDetails, letter_register_incoming
from saraban.routing.models import DelegationRule, Endorsement, Purpose
from saraban.routing.services import (
    Target,
    desk,
    may_endorse,
    routing_acknowledge,
    routing_assign,
    routing_endorse,
)

BANGKOK_NOON = dt.time(5, 0, tzinfo=dt.UTC)  # 12:00 in Bangkok


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, BANGKOK_NOON)


def register(org, urgency=0):
    return letter_register_incoming(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject="ขอเชิญประชุม", urgency=urgency,
                              sender_text="กรมการปกครอง"),
    ).letter


def test_while_officer_acts_for_director_the_endorsement_records_both(org):
    letter = register(org)
    ActingAssignment.objects.create(position=org.director_post, person=org.officer,
                                    kind="acting", starts_on=dt.date.today())
    actor = resolve_actor(org.officer, org.director_post)
    assert (actor.position, actor.acting_kind) == (org.director_post, "acting")
    endorsement = routing_endorse(actor=actor, letter=letter, text="ทราบ ดำเนินการ")
    stored = Endorsement.objects.get(pk=endorsement.pk)
    assert stored.person == org.officer and stored.person_name == "นายวิชัย ทำงาน"
    assert stored.position == org.director_post
    assert stored.position_title == org.director_post.title_th
    assert stored.acting_kind == "acting"
    [event] = [e for e in history("letter", letter.pk) if e.action == "routing_endorse"]
    assert (event.actor, event.actor_name, event.position, event.acting_kind) == (
        org.officer, "นายวิชัย ทำงาน", org.director_post, "acting")
    assert actor.signature_line() == (
        f"นายวิชัย ทำงาน (รักษาราชการแทน {org.director_post.title_th})")


def test_performing_duties_for_the_director_is_recorded_as_delegated(org):
    letter = register(org)
    ActingAssignment.objects.create(position=org.director_post, person=org.officer,
                                    kind="delegated", starts_on=dt.date(2020, 1, 1))
    actor = resolve_actor(org.officer, org.director_post)
    endorsement = routing_endorse(actor=actor, letter=letter, text="เห็นชอบ")
    assert (endorsement.person, endorsement.position, endorsement.acting_kind) == (
        org.officer, org.director_post, "delegated")
    event = AuditEvent.objects.get(action="routing_endorse", target_id=letter.pk)
    assert (event.actor, event.position, event.acting_kind) == (
        org.officer, org.director_post, "delegated")


def test_a_post_assignment_reaches_the_acting_officer_only_while_acting(org):
    with time_machine.travel(at(dt.date(2026, 3, 2)), tick=False):
        letter = register(org)
        ActingAssignment.objects.create(position=org.director_post, person=org.officer,
                                        kind="acting", starts_on=dt.date(2026, 3, 2),
                                        ends_on=dt.date(2026, 3, 6))
        [assignment] = routing_assign(actor=resolve_actor(org.clerk), letter=letter,
                                      targets=[Target(position=org.director_post)])
        assert list(desk(org.officer)) == [assignment]
        assert list(desk(org.director)) == [assignment]
    with time_machine.travel(at(dt.date(2026, 3, 6)), tick=False):
        officer = Person.objects.get(pk=org.officer.pk)  # a fresh scope for the new day
        assert list(desk(officer)) == [assignment]
    with time_machine.travel(at(dt.date(2026, 3, 7)), tick=False):
        officer = Person.objects.get(pk=org.officer.pk)
        assert list(desk(officer)) == []
        assert list(desk(Person.objects.get(pk=org.director.pk))) == [assignment]
        with pytest.raises(PermissionDenied):
            resolve_actor(officer, org.director_post)
        with pytest.raises(PermissionDenied):
            routing_acknowledge(actor=resolve_actor(officer), assignment=assignment)


def test_the_acting_officer_acknowledges_in_the_directors_post(org):
    letter = register(org)
    ActingAssignment.objects.create(position=org.director_post, person=org.officer,
                                    kind="acting", starts_on=dt.date(2020, 1, 1))
    [assignment] = routing_assign(actor=resolve_actor(org.clerk), letter=letter,
                                  targets=[Target(position=org.director_post)])
    done = routing_acknowledge(actor=resolve_actor(org.officer, org.director_post),
                               assignment=assignment)
    assert done.acknowledged_by == org.officer
    event = AuditEvent.objects.get(action="routing_acknowledge", target_id=letter.pk)
    assert (event.actor, event.position, event.acting_kind) == (
        org.officer, org.director_post, "acting")


# ---- delegation rules ---------------------------------------------------------------------


@pytest.fixture
def deputy(org):
    """A deputy in the ICT centre: not its head, and with no executive grant."""
    person = make_person("deputy", "ประภา รองผอ.", agency=org.ministry, password="x",
                         title="นางสาว")
    post = Position.objects.create(unit=org.ict, title_th="รองผู้อำนวยการศูนย์", holder=person)
    RoleGrant.objects.create(person=person, unit=org.ict, role=Role.OFFICER)
    return person, post


def test_a_delegation_rule_lets_the_deputy_endorse_for_the_director(org, deputy):
    person, post = deputy
    letter = register(org)
    routing_assign(actor=resolve_actor(org.director), letter=letter,
                   targets=[Target(unit=org.ict, purpose=Purpose.INFORMATION)])
    actor = resolve_actor(person, post)
    assert not may_endorse(actor, letter)
    with pytest.raises(PermissionDenied):
        routing_endorse(actor=actor, letter=letter, text="ทราบ")
    DelegationRule.objects.create(tenant=org.ministry, principal=org.director_post,
                                  delegate=post)
    assert may_endorse(actor, letter)
    endorsement = routing_endorse(actor=actor, letter=letter, text="ทราบ")
    assert (endorsement.person, endorsement.position) == (person, post)


def test_a_delegation_rule_does_not_open_letters_the_deputy_cannot_see(org, deputy):
    person, post = deputy
    letter = register(org)  # registered centrally, never sent to the ICT centre
    DelegationRule.objects.create(tenant=org.ministry, principal=org.director_post,
                                  delegate=post)
    assert not may_endorse(resolve_actor(person, post), letter)


@pytest.fixture
def province_admin(org):
    person = make_person("cm_admin", "ผู้ดูแล เชียงใหม่", agency=org.province, password="x")
    person.is_staff = True
    person.save()
    RoleGrant.objects.create(person=person, unit=org.province, role=Role.AGENCY_ADMIN)
    return person


def test_an_agency_admin_adds_a_delegation_rule_for_their_own_agency(client, org, deputy):
    org.admin.is_staff = True
    org.admin.save()
    client.force_login(org.admin)
    _person, post = deputy
    response = client.post(reverse("admin:routing_delegationrule_add"),
                           {"principal": org.director_post.pk, "delegate": post.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = DelegationRule.objects.get()
    assert (rule.tenant, rule.principal, rule.delegate) == (org.ministry, org.director_post,
                                                            post)
    event = AuditEvent.objects.get(action="admin_change", target_type="delegationrule")
    assert event.agency_id == org.ministry.pk


def test_another_agencys_admin_neither_sees_nor_edits_the_rule(client, org, deputy,
                                                              province_admin):
    _person, post = deputy
    rule = DelegationRule.objects.create(tenant=org.ministry, principal=org.director_post,
                                         delegate=post)
    client.force_login(province_admin)
    listing = client.get(reverse("admin:routing_delegationrule_changelist"))
    assert listing.status_code == 200
    assert "รองผู้อำนวยการศูนย์" not in listing.content.decode()
    url = reverse("admin:routing_delegationrule_change", args=[rule.pk])
    assert client.get(url).status_code in {403, 404}
    add_page = client.get(reverse("admin:routing_delegationrule_add")).content.decode()
    assert "รองผู้อำนวยการศูนย์" not in add_page
    response = client.post(reverse("admin:routing_delegationrule_add"),
                           {"principal": org.director_post.pk, "delegate": post.pk})
    assert response.status_code == 200  # the form refuses posts outside their agency
    assert DelegationRule.objects.count() == 1


def test_routing_records_are_read_only_and_for_superusers(client, org):
    letter = register(org)
    routing_assign(actor=resolve_actor(org.director), letter=letter,
                   targets=[Target(person=org.officer)])
    org.admin.is_staff = True
    org.admin.save()
    client.force_login(org.admin)
    assert client.get(reverse("admin:routing_assignment_changelist")).status_code == 403
    root = Person.objects.create_superuser("root", password="x")
    client.force_login(root)
    assert client.get(reverse("admin:routing_assignment_changelist")).status_code == 200
    assert client.get(reverse("admin:routing_endorsement_changelist")).status_code == 200
    assert client.get(reverse("admin:routing_assignment_add")).status_code == 403
