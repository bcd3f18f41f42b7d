from __future__ import annotations

import pytest
from django.urls import reverse

from saraban.agencies.models import Person, Position, Role, RoleGrant
from saraban.agencies.sample import make_person
from saraban.core.audit import audit_verify
from saraban.core.models import AuditEvent


@pytest.fixture
def province_admin(org):
    person = make_person("cm_admin", "ผู้ดูแล เชียงใหม่", agency=org.province, password="x")
    person.is_staff = True
    person.save()
    RoleGrant.objects.create(person=person, unit=org.province, role=Role.AGENCY_ADMIN)
    make_person("cm_clerk", "สารบรรณ เชียงใหม่", agency=org.province, password=None)
    return person


def test_province_admin_sees_only_their_people(client, org, province_admin):
    client.force_login(province_admin)
    page = client.get(reverse("admin:agencies_person_changelist"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "cm_clerk" in body
    assert ">clerk<" not in body and ">director<" not in body


def test_province_admin_cannot_open_a_ministry_person(client, org, province_admin):
    client.force_login(province_admin)
    url = reverse("admin:agencies_person_change", args=[org.clerk.pk])
    assert client.get(url).status_code in {403, 404}
    assert client.post(url, {"username": "hijacked"}).status_code in {403, 404}
    org.clerk.refresh_from_db()
    assert org.clerk.username == "clerk"


def test_province_admin_unit_choices_stay_in_their_tenant(client, org, province_admin):
    client.force_login(province_admin)
    page = client.get(reverse("admin:agencies_position_add")).content.decode()
    assert "จังหวัดเชียงใหม่" in page
    assert "ศูนย์เทคโนโลยีสารสนเทศ" not in page


def test_admin_change_is_audited_on_the_tenant_chain(client, org, province_admin):
    client.force_login(province_admin)
    response = client.post(reverse("admin:agencies_position_add"), {
        "unit": org.province.pk, "title_th": "นักวิชาการคอมพิวเตอร์", "title_en": "",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    post = Position.objects.get(title_th="นักวิชาการคอมพิวเตอร์", unit=org.province)
    event = AuditEvent.objects.get(action="admin_change", target_id=post.pk)
    assert event.agency_id == org.province.pk and event.details["op"] == "add"
    client.post(reverse("admin:agencies_position_delete", args=[post.pk]), {"post": "yes"})
    assert not Position.objects.filter(pk=post.pk).exists()
    assert AuditEvent.objects.filter(action="admin_change", details__op="delete").exists()
    assert all(problem is None for _a, _n, problem in audit_verify())


def test_staff_without_admin_grant_sees_nothing(client, org):
    org.clerk.is_staff = True
    org.clerk.save()
    client.force_login(org.clerk)
    assert client.get(reverse("admin:agencies_person_changelist")).status_code == 403


def test_superuser_sees_every_tenant(client, org, province_admin):
    root = Person.objects.create_superuser("root", password="x")
    client.force_login(root)
    body = client.get(reverse("admin:agencies_person_changelist")).content.decode()
    assert "cm_clerk" in body and ">clerk<" in body


def test_audit_events_and_letters_are_read_only(client, org):
    from saraban.agencies.actors import resolve_actor
    from saraban.letters.services import LetterDetails, letter_register_incoming

    entry = letter_register_incoming(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject="เรื่องทดสอบแอดมิน", sender_text="ก"),
    )
    root = Person.objects.create_superuser("root", password="x")
    client.force_login(root)
    event = AuditEvent.objects.first()
    assert event is not None
    url = reverse("admin:core_auditevent_change", args=[event.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"action": "tampered"}).status_code == 403
    assert client.get(reverse("admin:core_auditevent_add")).status_code == 403
    # the superuser is not named on the letter and holds no post: it is not in their list
    letters = client.get(reverse("admin:letters_letter_changelist")).content.decode()
    assert "เรื่องทดสอบแอดมิน" not in letters
    org.clerk.is_staff = True
    org.clerk.save()
    client.force_login(org.clerk)
    letters = client.get(reverse("admin:letters_letter_changelist")).content.decode()
    assert "เรื่องทดสอบแอดมิน" in letters
    url = reverse("admin:letters_letter_change", args=[entry.letter_id])
    assert client.post(url, {"subject": "แก้ไข"}).status_code == 403
