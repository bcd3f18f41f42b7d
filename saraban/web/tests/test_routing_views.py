"""The routing web UI: endorse and assign on the letter page, the assignee's buttons, and the
tracking lists with a constant number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from saraban.agencies.actors import resolve_actor
from saraban.letters.services import LetterDetails, letter_register_incoming
from saraban.routing.models import Assignment, AssignmentState, Endorsement, Purpose
from saraban.routing.services import Target, routing_assign


def register(org, subject="ขอข้อมูลสถิติการใช้ระบบ", urgency=1):
    return letter_register_incoming(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject=subject, urgency=urgency,
                              sender_text="กรมการปกครอง"),
    ).letter


def outgoing(org, subject="ตอบข้อมูลสถิติ"):
    """A reply registered by the central clerk; the officer also works on the central office's
    letters (an officer grant there), so the reply is among the letters they may see."""
    from saraban.agencies.models import Role, RoleGrant
    from saraban.letters.services import Recipient, letter_register_outgoing

    RoleGrant.objects.get_or_create(person=org.officer, unit=org.ops, role=Role.OFFICER)

    result = letter_register_outgoing(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject=subject, urgency=0,
                              recipient_text="กรมการปกครอง"),
        recipients=[Recipient(channel="post", text="กรมการปกครอง")],
    )
    return result.letter


def client_for(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def assign(org, letter, **target):
    return routing_assign(actor=resolve_actor(org.director), letter=letter,
                          targets=[Target(**target)])[0]


def test_director_endorses_with_text_and_assigns_to_a_person(org):
    letter = register(org)
    client = client_for(org.director)
    page = client.get(reverse("web:letter_detail", args=[letter.pk]))
    assert "endorse-form" in page.content.decode()
    response = client.post(reverse("web:routing_endorse", args=[letter.pk]), {
        "text": "มอบ ศสป. ดำเนินการ", "target_0": f"n:{org.officer.pk}",
        "purpose_0": "action", "within": "30/12/2569", "note": "ด่วน",
    })
    assert response.status_code == 302
    endorsement = Endorsement.objects.get()
    assert endorsement.text == "มอบ ศสป. ดำเนินการ"
    [assignment] = Assignment.objects.all()
    assert assignment.to_person == org.officer
    assert assignment.endorsement == endorsement
    assert assignment.due_at is not None and assignment.due_at.year == 2026
    html = client.get(reverse("web:letter_detail", args=[letter.pk])).content.decode()
    assert "มอบ ศสป. ดำเนินการ" in html
    assert "ผู้อำนวยการศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร" in html
    assert "เกษียนหนังสือ" in html and "มอบหมาย" in html


def test_phrase_button_endorses_and_fills_the_unit(org):
    letter = register(org)
    client = client_for(org.director)
    response = client.post(reverse("web:routing_endorse", args=[letter.pk]), {
        "phrase": "มอบ {unit} ดำเนินการ", "target_0": f"u:{org.ict.pk}", "purpose_0": "action",
    })
    assert response.status_code == 302
    assert Endorsement.objects.get().text == "มอบ ศสป. ดำเนินการ"
    assert Assignment.objects.get().to_unit == org.ict
    client.post(reverse("web:routing_endorse", args=[letter.pk]), {"phrase": "ทราบ"})
    assert list(Endorsement.objects.values_list("text", flat=True)) == [
        "มอบ ศสป. ดำเนินการ", "ทราบ"]


def test_errors_are_shown_in_thai_next_to_the_fields_and_nothing_is_saved(org):
    letter = register(org)
    client = client_for(org.director)
    response = client.post(reverse("web:routing_endorse", args=[letter.pk]), {"text": ""})
    assert response.status_code == 400
    assert "กรุณาระบุข้อความเกษียน" in response.content.decode()
    response = client.post(reverse("web:routing_endorse", args=[letter.pk]), {
        "text": "ทราบ", "target_0": f"n:{org.officer.pk}", "within": "31/02/2569"})
    assert response.status_code == 400
    assert "วันที่ไม่ถูกต้อง" in response.content.decode()
    response = client.post(reverse("web:routing_endorse", args=[letter.pk]), {
        "text": "ทราบ", "target_0": f"n:{org.officer.pk}", "purpose_0": "action",
        "within": "01/01/2560"})
    assert response.status_code == 400
    assert "กำหนดเสร็จต้องไม่ก่อนวันนี้" in response.content.decode()
    assert not Endorsement.objects.exists()
    assert not Assignment.objects.exists()


def test_officer_cannot_endorse(org):
    letter = register(org)
    assign(org, letter, person=org.officer, purpose=Purpose.INFORMATION)
    client = client_for(org.officer)
    html = client.get(reverse("web:letter_detail", args=[letter.pk])).content.decode()
    assert "endorse-form" not in html
    response = client.post(reverse("web:routing_endorse", args=[letter.pk]), {"text": "ทราบ"})
    assert response.status_code == 403
    assert not Endorsement.objects.exists()


def test_officer_sees_it_on_the_desk_acknowledges_and_closes_with_a_reply(org):
    letter = register(org, subject="ขอรายงานผลด่วน")
    reply = outgoing(org, subject="รายงานผลตามที่ขอ")
    assignment = assign(org, letter, person=org.officer)
    client = client_for(org.officer)
    desk = client.get(reverse("web:my_desk")).content.decode()
    assert "ขอรายงานผลด่วน" in desk
    html = client.get(reverse("web:letter_detail", args=[letter.pk])).content.decode()
    assert "รับทราบ" in html and "ผู้ถือเรื่องปัจจุบัน" in html
    url = reverse("web:routing_action", args=[assignment.pk, "acknowledge"])
    assert client.post(url).status_code == 302
    assignment.refresh_from_db()
    assert assignment.state == AssignmentState.ACKNOWLEDGED

    close = reverse("web:routing_action", args=[assignment.pk, "close"])
    response = client.post(close, {"outcome": ""})
    assert response.status_code == 400
    assert "กรุณาระบุผลการดำเนินการ" in response.content.decode()
    response = client.post(close, {"outcome": "ส่งรายงานแล้ว", "reply_search": reply.number})
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.state == AssignmentState.CLOSED
    assert assignment.reply_letter == reply
    html = client.get(reverse("web:letter_detail", args=[letter.pk])).content.decode()
    assert "ส่งรายงานแล้ว" in html and "เรื่องเสร็จ" in html
    assert "ขอรายงานผลด่วน" not in client.get(reverse("web:my_desk")).content.decode()


def test_close_with_a_recent_outgoing_letter_from_the_select(org):
    letter = register(org)
    reply = outgoing(org)
    assignment = assign(org, letter, person=org.clerk)
    client = client_for(org.clerk)
    response = client.post(reverse("web:routing_action", args=[assignment.pk, "close"]),
                           {"outcome": "ตอบแล้ว", "reply_letter": str(reply.pk)})
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.reply_letter == reply


def test_return_and_forward(org):
    letter = register(org)
    first = assign(org, letter, person=org.officer)
    client = client_for(org.officer)
    url = reverse("web:routing_action", args=[first.pk, "return"])
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400
    assert "กรุณาระบุเหตุผล" in response.content.decode()
    assert client.post(url, {"reason": "ไม่ใช่เรื่องของกลุ่มงาน"}).status_code == 302
    first.refresh_from_db()
    assert first.state == AssignmentState.RETURNED

    second = assign(org, letter, person=org.officer)
    url = reverse("web:routing_action", args=[second.pk, "forward"])
    response = client.post(url, {"target_0": f"n:{org.clerk.pk}", "purpose_0": "information"})
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.state == AssignmentState.FORWARDED
    forwarded = Assignment.objects.get(parent=second)
    assert forwarded.to_person == org.clerk and forwarded.purpose == Purpose.INFORMATION
    html = client.get(reverse("web:letter_detail", args=[letter.pk])).content.decode()
    assert "ส่งคืน" in html and "ส่งต่อ" in html and "ไม่ใช่เรื่องของกลุ่มงาน" in html


def test_unit_registry_clerk_registers_a_unit_assignment(org):
    from saraban.agencies.models import Role, RoleGrant

    RoleGrant.objects.create(person=org.officer, unit=org.ict, role=Role.REGISTRY_CLERK)
    letter = register(org)
    assignment = assign(org, letter, unit=org.ict)
    client = client_for(org.officer)
    html = client.get(reverse("web:letter_detail", args=[letter.pk])).content.decode()
    assert "ลงทะเบียนรับเข้าหน่วยงาน" in html
    response = client.post(reverse("web:routing_action", args=[assignment.pk, "register"]))
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.unit_entry is not None
    assert "หน่วยงานของฉัน" in client.get(reverse("web:my_unit")).content.decode()


def _many(org, n):
    for i in range(n):
        letter = register(org, subject=f"เรื่องที่ {i}", urgency=i % 4)
        routing_assign(actor=resolve_actor(org.director), letter=letter,
                       targets=[Target(person=org.officer), Target(unit=org.ict_group),
                                Target(position=org.officer_post)])


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(("name", "who"), [
    ("web:my_desk", "officer"), ("web:my_unit", "director"), ("web:my_sent", "director"),
    ("web:pending_agency", "director"),
])
def test_lists_cost_the_same_queries_for_5_and_50(org, name, who):
    client = client_for(getattr(org, who))
    _many(org, 5)
    small = _queries(client, reverse(name))
    _many(org, 45)
    assert _queries(client, reverse(name)) == small


def test_pending_agency_is_for_executives_only(org):
    assert client_for(org.officer).get(reverse("web:pending_agency")).status_code == 403
    letter = register(org)
    assign(org, letter, unit=org.ict_group)
    html = client_for(org.director).get(reverse("web:pending_agency")).content.decode()
    assert org.ict_group.name_th in html


def test_officer_acting_for_the_director_endorses_and_both_names_show(org):
    import datetime as dt

    from saraban.agencies.models import ActingAssignment

    letter = register(org)
    ActingAssignment.objects.create(position=org.director_post, person=org.officer,
                                    kind="acting", starts_on=dt.date(2020, 1, 1))
    client = client_for(org.officer)
    html = client.get(reverse("web:letter_detail", args=[letter.pk])).content.decode()
    assert "endorse-form" in html
    response = client.post(reverse("web:routing_endorse", args=[letter.pk]),
                           {"text": "ทราบ", "position": str(org.director_post.pk)})
    assert response.status_code == 302
    endorsement = Endorsement.objects.get()
    assert (endorsement.person, endorsement.position, endorsement.acting_kind) == (
        org.officer, org.director_post, "acting")
    html = client.get(reverse("web:letter_detail", args=[letter.pk])).content.decode()
    assert "รักษาราชการแทน ผู้อำนวยการศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร" in html
    assert "วิชัย ทำงาน" in html


def test_the_position_holder_or_the_acting_person_works_a_position_assignment(org):
    import datetime as dt

    from saraban.agencies.models import ActingAssignment

    letter = register(org)
    ActingAssignment.objects.create(position=org.director_post, person=org.officer,
                                    kind="acting", starts_on=dt.date(2020, 1, 1))
    assignment = assign(org, letter, position=org.director_post)
    client = client_for(org.officer)
    assert "ขอข้อมูลสถิติ" in client.get(reverse("web:my_desk")).content.decode()
    url = reverse("web:routing_action", args=[assignment.pk, "acknowledge"])
    assert client.post(url).status_code == 302
    from saraban.core.audit import history

    event = next(e for e in history("letter", letter.pk) if e.action == "routing_acknowledge")
    assert (event.actor, event.position, event.acting_kind) == (
        org.officer, org.director_post, "acting")


def test_overdue_is_counted_on_the_dashboard_and_flagged_on_the_desk(org):
    import datetime as dt

    from django.utils import timezone

    letter = register(org, subject="เรื่องที่เลยกำหนด")
    assignment = assign(org, letter, person=org.officer)
    Assignment.objects.filter(pk=assignment.pk).update(
        due_at=timezone.now() - dt.timedelta(days=2))
    client = client_for(org.officer)
    html = client.get(reverse("web:dashboard")).content.decode()
    assert "เกินกำหนด (ของฉัน)" in html
    assert '<div class="stat late">1</div>' in html
    desk = client.get(reverse("web:my_desk")).content.decode()
    assert 'class="overdue"' in desk and "(เกินกำหนด)" in desk
    page = client.get(reverse("web:letter_detail", args=[letter.pk])).content.decode()
    assert "assignment state-pending overdue" in page


def test_an_overdue_assignment_can_still_be_forwarded_keeping_its_deadline(org):
    import datetime as dt

    from django.utils import timezone

    letter = register(org)
    assignment = assign(org, letter, person=org.officer)
    late = timezone.now() - dt.timedelta(days=3)
    Assignment.objects.filter(pk=assignment.pk).update(due_at=late)
    client = client_for(org.officer)
    response = client.post(reverse("web:routing_action", args=[assignment.pk, "forward"]),
                           {"target_0": f"n:{org.clerk.pk}", "purpose_0": "action"})
    assert response.status_code == 302
    forwarded = Assignment.objects.get(parent=assignment)
    assert forwarded.due_at is not None
    assert timezone.localdate(forwarded.due_at) == timezone.localdate(late)
