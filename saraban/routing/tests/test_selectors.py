"""The tracking lists go through the letters' access rule: counts for executives, rows only
where the person may read the letter."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Position
from saraban.agencies.sample import make_person
from saraban.letters.services import LetterDetails, letter_register_incoming
from saraban.routing.selectors import (
    desk_rows,
    executive_tenants,
    pending_in_agency,
    sent_rows,
)
from saraban.routing.services import Target, routing_assign

SECRET = "ลับ-แผนย้ายข้าราชการ-7f3a"
OPEN = "ขอข้อมูลสถิติ-ปกติ-19c2"


def _letters(org):
    """A normal letter assigned to the ICT centre, a secret one to the officer by name."""
    clerk = resolve_actor(org.clerk)
    normal = letter_register_incoming(
        actor=clerk, registry=org.central,
        details=LetterDetails(kind="external", subject=OPEN, sender_text="กรมการปกครอง"),
    ).letter
    secret = letter_register_incoming(
        actor=clerk, registry=org.central,
        details=LetterDetails(kind="external", subject=SECRET, sender_text="กรมการปกครอง",
                              secrecy=2, secret_readers=[org.officer]),
    ).letter
    routing_assign(actor=clerk, letter=normal, targets=[Target(unit=org.ict)])
    routing_assign(actor=clerk, letter=secret, targets=[Target(person=org.officer)])
    return normal, secret


def test_a_head_counts_secret_letters_but_never_lists_them(org):
    _normal, secret = _letters(org)
    head = make_person("head-group", "หัวหน้ากลุ่มงาน", agency=org.ministry,
                       password="saraban-demo")
    Position.objects.create(unit=org.ict_group, title_th="หัวหน้ากลุ่มงาน", is_head=True,
                            holder=head)
    pending = pending_in_agency(head)
    assert pending is not None
    assert sum(u.count for u in pending.units) == 2
    assert secret.pk not in {a.letter_id for a in pending.rows}

    html = _client(head).get(reverse("web:pending_agency")).content.decode()
    assert SECRET not in html
    assert org.ict.name_th in html  # the count per unit is shown

    answer = _api(head, "/api/v1/pending")
    assert answer.status_code == 200
    body = answer.json()
    assert sum(u["count"] for u in body["units"]) == 2
    assert body["items"] == []  # neither letter is in the sub-unit's sight
    assert SECRET not in answer.content.decode()


def test_the_named_reader_sees_the_secret_letter_in_their_lists(org):
    _normal, secret = _letters(org)
    assert secret.pk in {a.letter_id for a in desk_rows(org.officer)}
    assert secret.pk in {a.letter_id for a in sent_rows(org.clerk)}
    html = _client(org.officer).get(reverse("web:my_desk")).content.decode()
    assert SECRET in html


def test_the_director_sees_only_what_the_access_rule_allows(org):
    normal, _secret = _letters(org)
    pending = pending_in_agency(org.director)
    assert pending is not None
    assert {a.letter_id for a in pending.rows} == {normal.pk}
    html = _client(org.director).get(reverse("web:pending_agency")).content.decode()
    assert OPEN in html and SECRET not in html
    answer = _api(org.director, "/api/v1/pending")
    assert [i["letter_id"] for i in answer.json()["items"]] == [normal.pk]
    assert SECRET not in answer.content.decode()


def test_people_who_are_neither_executive_nor_head_get_nothing(org):
    assert executive_tenants(org.officer) == []
    assert pending_in_agency(org.officer) is None
    assert _client(org.officer).get(reverse("web:pending_agency")).status_code == 403
    answer = _api(org.officer, "/api/v1/pending")
    assert answer.status_code == 403
    assert answer.json()["code"] == "executives_only"


def _client(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def _api(person, path: str):
    client = Client()
    token = client.post("/api/v1/auth/token",
                        {"username": person.username, "password": "saraban-demo"},
                        content_type="application/json").json()["token"]
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
