"""Routing over the API: endorse, assign, acknowledge, close, return, the timeline, my desk."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import ActingAssignment, Role, RoleGrant
from saraban.agencies.sample import make_person
from saraban.core.thai import be_year
from saraban.letters.services import LetterDetails, letter_register_incoming
from saraban.routing.models import Assignment, AssignmentState, Endorsement, Purpose
from saraban.routing.services import Target, routing_assign

from .conftest import API


def register(org, subject="ขอข้อมูลด่วนที่สุด", urgency=3):
    return letter_register_incoming(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject=subject, urgency=urgency,
                              sender_text="กรมการปกครอง"),
    ).letter


def post(api, url, data, headers):
    return api.post(f"{API}{url}", data, content_type="application/json", headers=headers)


@pytest.fixture
def outsider(org):
    """A clerk of another agency (Chiang Mai): sees none of the ministry's letters."""
    person = make_person("cm-clerk", "ประเสริฐ ดอยคำ", agency=org.province,
                         password="saraban-demo")
    RoleGrant.objects.create(person=person, unit=org.province, role=Role.REGISTRY_CLERK)
    return person


def test_director_endorses_assigns_and_the_officer_closes_with_a_reply(api, org):
    letter = register(org)
    reply = register(org, subject="ตอบข้อมูล", urgency=0)
    # The reply must be one the officer can see: it is on their desk for information.
    routing_assign(actor=resolve_actor(org.director), letter=reply,
                   targets=[Target(person=org.officer, purpose=Purpose.INFORMATION)])
    director = api.as_user("director")
    endorsed = post(api, f"/letters/{letter.pk}/endorse", {"text": "มอบ ศสป. ดำเนินการ"},
                    director)
    assert endorsed.status_code == 201, endorsed.content
    body = endorsed.json()
    assert (body["person"], body["position"], body["acting_kind"]) == (
        "นายสมชาย ใจดี", org.director_post.title_th, "")
    assert body["created_at"]

    assigned = post(api, f"/letters/{letter.pk}/assign", {
        "targets": [{"person_id": org.officer.pk, "purpose": "action"},
                    {"unit_id": org.ict.pk, "purpose": "information"}],
        "note": "ด่วน", "endorsement_id": body["id"],
    }, director)
    assert assigned.status_code == 201, assigned.content
    items = assigned.json()["items"]
    assert [(i["target"], i["purpose"], i["state"]) for i in items] == [
        ("นายวิชัย ทำงาน", "action", "pending"),
        (org.ict.name_th, "information", "pending"),
    ]
    assert items[0]["due_at"] and items[1]["due_at"] is None
    assert items[0]["endorsement_id"] == body["id"]

    officer = api.as_user("officer")
    my_desk = api.get(f"{API}/desk", headers=officer).json()["items"]
    assert [i["id"] for i in my_desk if i["letter_id"] == letter.pk] == [items[0]["id"]]
    acknowledged = post(api, f"/assignments/{items[0]['id']}/acknowledge", {}, officer)
    assert acknowledged.status_code == 200, acknowledged.content
    assert acknowledged.json()["state"] == "acknowledged"
    closed = post(api, f"/assignments/{items[0]['id']}/close",
                  {"outcome": "ส่งข้อมูลแล้ว", "reply_letter_id": reply.pk}, officer)
    assert closed.status_code == 200, closed.content
    assert (closed.json()["state"], closed.json()["reply_letter_id"]) == ("closed", reply.pk)
    left = api.get(f"{API}/desk", headers=officer).json()["items"]
    assert [i["letter_id"] for i in left] == [reply.pk]

    timeline = api.get(f"{API}/letters/{letter.pk}/timeline", headers=officer)
    assert timeline.status_code == 200, timeline.content
    events = timeline.json()["events"]
    assert [e["action"] for e in events] == [
        "letter_register_incoming", "routing_endorse", "routing_assign",
        "routing_acknowledge", "routing_close"]
    assert events[1]["person"] == "นายสมชาย ใจดี"
    assert events[1]["position"] == org.director_post.title_th
    assert events[4]["person"] == "นายวิชัย ทำงาน"
    assert events[4]["details"]["outcome"] == "ส่งข้อมูลแล้ว"
    assert str(be_year(timezone.now())) in events[0]["at_th"]
    # Who holds it now: only the unit's copy is still open.
    assert [h["target"] for h in timeline.json()["holders"]] == [org.ict.name_th]


def test_an_officer_may_not_endorse_and_nothing_is_written(api, org):
    letter = register(org)
    post(api, f"/letters/{letter.pk}/assign",
         {"targets": [{"person_id": org.officer.pk, "purpose": "information"}]},
         api.as_user("director"))
    response = post(api, f"/letters/{letter.pk}/endorse", {"text": "ทราบ"},
                    api.as_user("officer"))
    assert (response.status_code, response.json()["code"]) == (403, "endorse_forbidden")
    assert not Endorsement.objects.exists()


def test_letters_and_assignments_of_another_agency_are_not_found(api, org, outsider):
    letter = register(org)
    [assignment] = post(api, f"/letters/{letter.pk}/assign",
                        {"targets": [{"person_id": org.officer.pk}]},
                        api.as_user("director")).json()["items"]
    them = api.as_user("cm-clerk")
    for response in (
        post(api, f"/letters/{letter.pk}/endorse", {"text": "ทราบ"}, them),
        post(api, f"/letters/{letter.pk}/assign", {"targets": [{"unit_id": org.ict.pk}]}, them),
        api.get(f"{API}/letters/{letter.pk}/timeline", headers=them),
    ):
        assert (response.status_code, response.json()["code"]) == (404, "letter_not_found")
    response = post(api, f"/assignments/{assignment['id']}/acknowledge", {}, them)
    assert (response.status_code, response.json()["code"]) == (404, "assignment_not_found")
    response = post(api, "/assignments/999999/close", {"outcome": "x"},
                    api.as_user("officer"))
    assert (response.status_code, response.json()["code"]) == (404, "assignment_not_found")


def test_someone_who_sees_the_letter_but_does_not_hold_it_may_not_act(api, org):
    letter = register(org)
    [assignment] = post(api, f"/letters/{letter.pk}/assign",
                        {"targets": [{"person_id": org.officer.pk}]},
                        api.as_user("director")).json()["items"]
    response = post(api, f"/assignments/{assignment['id']}/acknowledge", {},
                    api.as_user("clerk"))
    assert (response.status_code, response.json()["code"]) == (403, "not_your_assignment")


def test_unknown_targets_are_refused_before_anything_is_assigned(api, org):
    letter = register(org)
    director = api.as_user("director")
    for target, code in (({"unit_id": 999999}, "unknown_unit"),
                         ({"position_id": 999999}, "unknown_position"),
                         ({"person_id": 999999}, "unknown_person"),
                         ({}, "bad_target"),
                         ({"person_id": org.officer.pk, "purpose": "gossip"}, "bad_purpose")):
        response = post(api, f"/letters/{letter.pk}/assign", {"targets": [target]}, director)
        assert (response.status_code, response.json()["code"]) == (400, code), target
    response = post(api, f"/letters/{letter.pk}/assign",
                    {"targets": [{"person_id": org.officer.pk}], "endorsement_id": 999999},
                    director)
    assert (response.status_code, response.json()["code"]) == (400, "unknown_endorsement")
    response = post(api, f"/letters/{letter.pk}/assign",
                    {"targets": [{"person_id": org.officer.pk}], "within": "2001-01-01"},
                    director)
    assert (response.status_code, response.json()["code"]) == (400, "due_in_past")
    assert not Assignment.objects.exists()


def test_an_explicit_deadline_and_a_return_to_the_sender(api, org):
    letter = register(org, urgency=0)
    within = (timezone.localdate() + dt.timedelta(days=10)).isoformat()
    [assignment] = post(api, f"/letters/{letter.pk}/assign",
                        {"targets": [{"person_id": org.officer.pk}], "within": within},
                        api.as_user("director")).json()["items"]
    assert assignment["due_at"].startswith(within)
    officer = api.as_user("officer")
    response = post(api, f"/assignments/{assignment['id']}/return", {"reason": ""}, officer)
    assert (response.status_code, response.json()["code"]) == (400, "reason_required")
    response = post(api, f"/assignments/{assignment['id']}/return",
                    {"reason": "ไม่ใช่งานของกลุ่มงาน"}, officer)
    assert response.status_code == 200, response.content
    assert response.json()["state"] == AssignmentState.RETURNED
    again = post(api, f"/assignments/{assignment['id']}/close", {"outcome": "x"}, officer)
    assert (again.status_code, again.json()["code"]) == (409, "assignment_closed")


def test_while_the_officer_acts_for_the_director_the_api_records_both(api, org):
    letter = register(org)
    ActingAssignment.objects.create(position=org.director_post, person=org.officer,
                                    kind="acting", starts_on=dt.date(2020, 1, 1))
    officer = api.as_user("officer")
    endorsed = post(api, f"/letters/{letter.pk}/endorse",
                    {"text": "ทราบ", "position_id": org.director_post.pk}, officer)
    assert endorsed.status_code == 201, endorsed.content
    body = endorsed.json()
    assert (body["person"], body["position_id"], body["acting_kind"]) == (
        "นายวิชัย ทำงาน", org.director_post.pk, "acting")
    # An assignment to the director's post reaches the acting officer, who acts in that post.
    [assignment] = post(api, f"/letters/{letter.pk}/assign",
                        {"targets": [{"position_id": org.director_post.pk}]},
                        api.as_user("clerk")).json()["items"]
    assert assignment["id"] in [i["id"] for i in api.get(f"{API}/desk",
                                                         headers=officer).json()["items"]]
    response = post(api, f"/assignments/{assignment['id']}/acknowledge", {}, officer)
    assert response.status_code == 200, response.content
    events = api.get(f"{API}/letters/{letter.pk}/timeline", headers=officer).json()["events"]
    endorse, ack = events[1], events[-1]
    assert (endorse["person"], endorse["position"], endorse["acting_kind"]) == (
        "นายวิชัย ทำงาน", org.director_post.title_th, "acting")
    assert (ack["action"], ack["position"], ack["acting_kind"]) == (
        "routing_acknowledge", org.director_post.title_th, "acting")


def test_endorsing_in_a_post_not_held_is_refused(api, org):
    letter = register(org)
    routing_assign(actor=resolve_actor(org.director), letter=letter,
                   targets=[Target(person=org.officer, purpose=Purpose.INFORMATION)])
    response = post(api, f"/letters/{letter.pk}/endorse",
                    {"text": "ทราบ", "position_id": org.director_post.pk},
                    api.as_user("officer"))
    assert (response.status_code, response.json()["code"]) == (403, "position_not_held")


def test_routing_needs_a_token(api, org):
    response = api.get(f"{API}/desk")
    assert (response.status_code, response.json()["code"]) == (401, "unauthenticated")
