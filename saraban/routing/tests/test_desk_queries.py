""""My desk" costs the same number of queries for 5 assignments as for 50."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Person
from saraban.api.tests.conftest import API, ApiClient
from saraban.letters.services import LetterDetails, letter_register_incoming
from saraban.routing.services import Target, desk, routing_assign


def give_officer(org, count: int, start: int = 0) -> None:
    """``count`` assignments to the officer, their post and their unit, three per letter."""
    director = resolve_actor(org.director)
    kinds = (Target(person=org.officer), Target(position=org.officer_post),
             Target(unit=org.ict_group))
    for n in range(start, start + count, 3):
        letter = letter_register_incoming(
            actor=resolve_actor(org.clerk), registry=org.central,
            details=LetterDetails(kind="external", subject=f"หนังสือ {n}", urgency=n % 4,
                                  sender_text="กรมการปกครอง"),
        ).letter
        routing_assign(actor=director, letter=letter,
                       targets=kinds[: min(3, start + count - n)])


def desk_queries(org) -> tuple[int, int]:
    """(rows, queries) for reading and rendering the officer's desk as a fresh request."""
    person = Person.objects.get(pk=org.officer.pk)
    with CaptureQueriesContext(connection) as ctx:
        rows = [
            (a.letter.subject, a.target_display, a.from_person.display_name(), a.due_at)
            for a in desk(person)
        ]
    return len(rows), len(ctx.captured_queries)


def test_desk_queries_do_not_grow_with_the_assignments(org):
    give_officer(org, 5)
    few = desk_queries(org)
    give_officer(org, 45, start=5)
    many = desk_queries(org)
    assert (few[0], many[0]) == (5, 50)
    assert few[1] == many[1], (few, many)


def api_desk_queries(client: ApiClient, headers: dict[str, str]) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"{API}/desk", headers=headers)
    assert response.status_code == 200, response.content
    return len(response.json()["items"]), len(ctx.captured_queries)


def test_api_desk_queries_do_not_grow_with_the_assignments(org):
    client = ApiClient()
    headers = client.as_user("officer")
    give_officer(org, 5)
    api_desk_queries(client, headers)  # the token's first use writes last_used_at once
    few = api_desk_queries(client, headers)
    give_officer(org, 45, start=5)
    many = api_desk_queries(client, headers)
    assert (few[0], many[0]) == (5, 50)
    assert few[1] == many[1], (few, many)


def test_the_api_desk_comes_a_page_at_a_time(org):
    client = ApiClient()
    headers = client.as_user("officer")
    give_officer(org, 7)
    body = client.get(f"{API}/desk?page=2&page_size=5", headers=headers).json()
    assert (body["total"], body["page"], len(body["items"])) == (7, 2, 2)
    everything = client.get(f"{API}/desk", headers=headers).json()["items"]
    assert [i["id"] for i in everything][5:] == [i["id"] for i in body["items"]]
