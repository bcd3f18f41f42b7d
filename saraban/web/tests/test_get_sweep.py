"""Every GET of the node, as every kind of person: no canary leaks, nothing is written.

The test walks the whole URLconf (``saraban.urls``: the web UI, the admin, the exchange
endpoints) and every GET operation of the API's OpenAPI document. Path parameters are filled
with the ids of real objects: a secret letter, letters of two other tenant agencies and an
ordinary letter, with their files, register entries, assignments, hand-overs, drafts,
notifications, circular receipts and exchange messages. Each URL is requested by each person
of the access-matrix oracle (``saraban/letters/tests/test_access_matrix.py``): the registry
clerk, the director, the officer, an officer acting for the director, the head of a sub-unit,
the agency admin, and registry clerks of the province and of the LAO below it.

* The subjects of the secret and other-tenant letters are canaries: unique strings that must
  not appear in any answer (200, 403, 404 alike) to a person who may not read that letter.
* A GET changes nothing: no INSERT, UPDATE or DELETE is sent while it runs, every table has
  the same rows afterwards, and the file store holds the same files.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import ActingAssignment, ActingKind, Person, Position, RoleGrant
from saraban.agencies.sample import make_person
from saraban.core.thai import today_bangkok
from saraban.letters.access import can_see
from saraban.letters.models import Letter
from saraban.letters.services import (
    LetterDetails,
    Recipient,
    Upload,
    letter_hand_over,
    letter_register_incoming,
    letter_register_outgoing,
)
from saraban.letters.tests.jobs import run_queued_jobs
from saraban.letters.tests.test_register import tiny_pdf

pytestmark = pytest.mark.django_db

PASSWORD = "saraban-demo"
API = "/api/v1"

# ASCII tokens inside the subjects, so they are found in HTML, in JSON (which may escape
# Thai letters) and in CSV alike.
SECRET = "CANARY7secret1f0a"
PROVINCE = "CANARY7province2b1c"
LAO = "CANARY7lao3d2e"
#: Words beside each canary in its subject, searched for (a search page repeats its query).
SEEK = {SECRET: "seekmove", PROVINCE: "seekprovince", LAO: "seekcity"}

#: Writes a GET may make, each with the reason. Keep this short.
ALLOWED_WRITES: dict[str, str] = {
    # TODO(LOGIN): saraban/api/auth.py stamps ``last_used_at`` on the token of every API
    # request (GET included); move it out of the request or into a throttled job.
    "api_apitoken": "API token last-used time (saraban/api/auth.py, owner LOGIN)",
}

#: Values for path parameters that are not object ids.
WORDS: dict[str, list[str]] = {
    "kind": ["incoming", "secret_incoming"],
    "action": ["acknowledge"],
    "which": ["original", "text"],
    "key": ["no-such-preview"],
    "token": ["no-such-token"],
}

NOT_FOUND_ID = 987654321


@dataclass
class World:
    people: dict[str, Person]
    readers: dict[str, set[str]]  # canary -> keys of the people who may read it
    groups: list[dict[str, Any]]  # path parameter values, one dict per probe
    letters: dict[str, Letter] = field(default_factory=dict)


def _person(key: str, agency, **grants) -> Person:
    person = make_person(key, f"บุคคล {key}", agency=agency, password=PASSWORD)
    for role, unit in grants.items():
        RoleGrant.objects.create(person=person, unit=unit, role=role)
    return person


def build_world(org) -> World:
    """The sample organisation plus the people and objects the sweep probes with."""
    from saraban.documents.services import draft_create
    from saraban.exchange.worker import drain
    from saraban.routing.models import CircularRecipient, Notification
    from saraban.routing.services import Target, circular_distribute, routing_assign
    from saraban.search.index import index_dirty

    clerk = resolve_actor(org.clerk)
    acting = _person("acting-officer", org.ministry)
    ActingAssignment.objects.create(person=acting, position=org.director_post,
                                    kind=ActingKind.ACTING, starts_on=today_bangkok())
    head = _person("head-group", org.ministry)
    Position.objects.create(unit=org.ict_group, title_th="หัวหน้ากลุ่มงาน", is_head=True,
                            holder=head)
    province_clerk = _person("province-clerk", org.province, registry_clerk=org.province)
    lao_clerk = _person("lao-clerk", org.lao, registry_clerk=org.lao)
    org.admin.is_staff = True  # as onboarding makes an agency admin
    org.admin.save(update_fields=["is_staff"])
    people = {"clerk": org.clerk, "director": org.director, "officer": org.officer,
              "acting": acting, "head": head, "admin": org.admin,
              "province_clerk": province_clerk, "lao_clerk": lao_clerk}

    def incoming(actor, registry, subject: str, **kw: Any):
        return letter_register_incoming(
            actor=actor, registry=registry,
            details=LetterDetails(kind="external", subject=subject, sender_text="กรมการปกครอง",
                                  **kw),
            main_file=Upload("scan.pdf", tiny_pdf()),
        )

    secret = incoming(clerk, org.central, f"ขอย้ายข้าราชการ {SEEK[SECRET]} {SECRET}", secrecy=2,
                      secret_readers=[org.officer])
    normal = incoming(clerk, org.central, "ขอเชิญประชุมคณะทำงาน")
    province = incoming(resolve_actor(province_clerk), org.province_registry,
                        f"ขอข้อมูลจังหวัด {SEEK[PROVINCE]} {PROVINCE}")
    lao = incoming(resolve_actor(lao_clerk), org.lao_registry, f"ขอข้อมูลเทศบาล {SEEK[LAO]} {LAO}")

    secret_task = routing_assign(actor=clerk, letter=secret.letter,
                                 targets=[Target(person=org.officer)])[0]
    normal_task = routing_assign(actor=resolve_actor(org.director), letter=normal.letter,
                                 targets=[Target(unit=org.ict_group)])[0]
    handover = letter_hand_over(actor=clerk, letter=normal.letter, to_registry=org.ict_registry)
    circular = letter_register_outgoing(
        actor=clerk, registry=org.central,
        details=LetterDetails(kind="external", subject="แจ้งเวียนการประชุม"),
        recipients=[Recipient(channel="post", text="ผู้รับภายนอก")],
    )
    receipt = circular_distribute(actor=clerk, letter=circular.letter, units=[org.ict_group],
                                  people=[org.officer])[0]
    sent = letter_register_outgoing(
        actor=clerk, registry=org.central,
        details=LetterDetails(kind="external", subject="ขอความร่วมมือจังหวัด"),
        recipients=[Recipient(channel="saraban", agency=org.province)],
        main_file=Upload("letter.pdf", tiny_pdf()),
    )
    drain()
    draft = draft_create(actor=resolve_actor(org.officer), registry=org.ict_registry,
                         form="external", fields={"subject": "ร่างหนังสือทดสอบ"},
                         recipients=[{"text": "ผู้รับ"}])
    run_queued_jobs()  # the stamped copies and other jobs, as the worker would
    index_dirty()  # the search index, as the worker would
    from saraban.exchange.models import InboxMessage, OutboxMessage

    inbox = InboxMessage.objects.order_by("pk").first()
    outbox = OutboxMessage.objects.filter(letter=sent.letter).order_by("pk").first()
    secret_note = Notification.objects.filter(letter=secret.letter).order_by("pk").first()
    assert inbox is not None and outbox is not None and secret_note is not None
    assert CircularRecipient.objects.filter(pk=receipt.pk).exists()

    def group(entry, task=None, registry=None) -> dict[str, Any]:
        letter = entry.letter
        return {
            "letter_id": letter.pk, "file_id": letter.files.get().pk, "entry_id": entry.pk,
            "registry_id": (registry or entry.series.registry).pk,
            "assignment_id": (task or normal_task).pk,
        }

    common = {
        "handover_id": handover.pk, "draft_id": draft.pk, "number": 1,
        "notification_id": secret_note.pk, "recipient_id": receipt.pk,
        "message_id": inbox.pk, "message_uuid": outbox.message_id, "doc_id": NOT_FOUND_ID,
        "intake_id": NOT_FOUND_ID, "session_id": NOT_FOUND_ID, "token_id": NOT_FOUND_ID,
        "object_id": secret.letter_id,
    }
    groups = [
        {**common, **group(secret, secret_task)},
        {**common, **group(province)},
        {**common, **group(normal, normal_task), "object_id": normal.letter_id},
        # Mixed: the LAO's letter with the secret letter's file and entry.
        {**common, **group(lao), "file_id": secret.letter.files.get().pk,
         "entry_id": secret.pk, "notification_id": NOT_FOUND_ID},
    ]
    readers = {SECRET: {"clerk", "officer"}, PROVINCE: {"province_clerk"}, LAO: {"lao_clerk"}}
    letters = {SECRET: secret.letter, PROVINCE: province.letter, LAO: lao.letter}
    # The oracle and the access rule agree on who reads each canary letter.
    for canary, letter in letters.items():
        seers = {k for k, p in people.items() if can_see(Person.objects.get(pk=p.pk), letter)}
        assert seers == readers[canary], canary
    return World(people=people, readers=readers, groups=groups, letters=letters)


# ---- the URLs --------------------------------------------------------------------------


_PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>|\(\?P<(?P<rname>\w+)>[^)]*\)")


def _patterns(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for item in resolver.url_patterns:
        route = prefix + str(item.pattern)
        if isinstance(item, URLResolver):
            yield from _patterns(item, route)
        else:
            yield route, item


def _fill(route: str, values: dict[str, Any]) -> str | None:
    """The route with its parameters replaced, or ``None`` when one has no value."""
    missing = False

    def one(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group("name") or match.group("rname")
        conv = match.group("conv")
        if conv == "uuid":
            name = "message_uuid"
        if name in values:
            return str(values[name])
        if name in WORDS:
            return WORDS[name][0]
        missing = True
        return ""

    path = _PARAM.sub(one, route)
    if missing:
        return None
    path = path.lstrip("^").rstrip("$").replace("\\.", ".").replace("\\Z", "")
    return "/" + path.lstrip("/")


def web_urls(world: World) -> list[str]:
    """Every route of the URLconf with each probe's values (the admin: its model pages)."""
    urls: set[str] = set()
    for route, _pattern in _patterns(get_resolver()):
        if route.startswith("admin/") or route.startswith(f"{API[1:]}/"):
            continue  # the admin below; the API from its OpenAPI document
        for values, words in itertools.product(world.groups, _word_choices(route)):
            url = _fill(route, {**values, **words})
            if url is not None:
                urls.add(url)
    return sorted(urls)


def skipped_routes(world: World) -> list[str]:
    """Routes the sweep cannot fill (a parameter without a value): there must be none."""
    return [
        route for route, _pattern in _patterns(get_resolver())
        if not (route.startswith("admin/") or route.startswith(f"{API[1:]}/"))
        and all(_fill(route, {**g, **w}) is None
                for g in world.groups for w in _word_choices(route))
    ]


def _word_choices(route: str) -> list[dict[str, str]]:
    names = [n for n in WORDS if f":{n}>" in route]
    if not names:
        return [{}]
    return [dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(WORDS[n] for n in names))]


def admin_urls(world: World) -> list[str]:
    from django.contrib import admin

    urls = ["/admin/"]
    for model in admin.site._registry:
        meta = model._meta
        base = f"/admin/{meta.app_label}/{meta.model_name}/"
        urls += [f"/admin/{meta.app_label}/", base, f"{base}add/"]
        ids = {g["object_id"] for g in world.groups} if model is Letter else {NOT_FOUND_ID}
        first = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        if first is not None and model is not Letter:
            ids.add(first)
        for pk in ids:
            urls += [f"{base}{pk}/change/", f"{base}{pk}/history/", f"{base}{pk}/delete/"]
    return sorted(set(urls))


def api_urls(world: World, client: Client) -> list[str]:
    doc = client.get(f"{API}/openapi.json").json()
    urls: set[str] = set()
    for template, operations in doc["paths"].items():
        if "get" not in operations:
            continue
        route = re.sub(r"\{(\w+)\}", r"<\1>", template)
        for values in world.groups:
            url = _fill(route, values)
            if url is not None:
                urls.add(url)
    # The searches, with each canary as the query.
    urls |= {f"{API}/search?q={word}" for word in SEEK.values()}
    return sorted(urls)


# ---- what a GET may not do -------------------------------------------------------------


_WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+"?(\w+)"?',
                    re.IGNORECASE)


class WriteWatch:
    """Notes every INSERT, UPDATE or DELETE sent to the database, with the current request."""

    def __init__(self) -> None:
        self.current = ""
        self.found: list[str] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        match = _WRITE.match(sql)
        if match and match.group(2) not in ALLOWED_WRITES:
            self.found.append(f"{self.current}: {match.group(1).split()[0].upper()} "
                              f"{match.group(2)}")
        return execute(sql, params, many, context)


def _table_digest() -> dict[str, str]:
    """A digest of every table's rows (order-independent)."""
    digests: dict[str, str] = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table in ALLOWED_WRITES or table.startswith("sqlite_"):
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows = sorted(repr(r) for r in cursor.fetchall())
            digests[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return digests


def _files() -> set[str]:
    root = Path(settings.SARABAN_FILES_DIR)
    return {str(p.relative_to(root)) for p in root.rglob("*")} if root.exists() else set()


def _body(response: Any) -> bytes:
    """The whole body; reading a streamed one to its end also closes it (the test client
    closes it then, without ending the test's database connection)."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


@dataclass
class Findings:
    leaks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)  # canary -> times shown to a reader
    answered: dict[str, int] = field(default_factory=dict)  # person -> pages answered 200
    requests: int = 0

    def check(self, who: str, url: str, response: Any, readers: dict[str, set[str]]) -> None:
        self.requests += 1
        status = response.status_code
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status == 200:
            self.answered[who] = self.answered.get(who, 0) + 1
        if status >= 500:
            self.errors.append(f"{who} GET {url}: {status}")
        body = _body(response)
        for canary, allowed in readers.items():
            if canary.encode() in body:
                if who in allowed:
                    self.seen[canary] = self.seen.get(canary, 0) + 1
                else:
                    self.leaks.append(f"{who} GET {url} ({status}) shows {canary}")


def test_no_get_leaks_a_canary_or_writes_anything(org):
    world = build_world(org)
    anonymous = Client(raise_request_exception=False)
    api_paths = api_urls(world, anonymous)
    web_paths = web_urls(world)
    assert not skipped_routes(world)
    admin_paths = admin_urls(world)
    tokens: dict[str, str] = {}
    clients: dict[str, Client] = {}
    for key, person in world.people.items():
        client = Client(raise_request_exception=False)
        client.force_login(person)
        clients[key] = client
        answer = anonymous.post(f"{API}/auth/token",
                                {"username": person.username, "password": PASSWORD},
                                content_type="application/json")
        assert answer.status_code == 201, (key, answer.content)
        tokens[key] = answer.json()["token"]
    searches = [f"/search/?q={word}" for word in SEEK.values()]

    tables, files = _table_digest(), _files()
    found = Findings()
    watch = WriteWatch()
    timings: dict[str, float] = {}

    def sweep(part: str, who: str, client: Client, urls: list[str], **extra: Any) -> None:
        began = time.monotonic()
        for url in urls:
            watch.current = f"{who} GET {url}"
            found.check(who, url, client.get(url, **extra), world.readers)
        timings[part] = timings.get(part, 0.0) + time.monotonic() - began

    with connection.execute_wrapper(watch):
        for key, client in [*clients.items(), ("anonymous", anonymous)]:
            sweep("web", key, client, [*web_paths, *searches])
            if key in ("admin", "clerk"):  # staff, and one who is not (the rest alike)
                sweep("admin", key, client, admin_paths)
            headers = {"HTTP_AUTHORIZATION": f"Bearer {tokens[key]}"} if key in tokens else {}
            sweep("api", key, anonymous, api_paths, **headers)
    print(f"sweep: {found.requests} GETs, {len(web_paths)} web, {len(admin_paths)} admin, "
          f"{len(api_paths)} API paths; seconds {timings}; statuses {found.statuses}")

    assert not found.leaks, "\n".join(found.leaks)
    assert not watch.found, "\n".join(sorted(set(watch.found)))
    assert not found.errors, "\n".join(found.errors)
    assert _table_digest() == tables, "a GET changed the database"
    assert _files() == files, "a GET wrote a file"
    # The sweep is real: every canary was shown to its readers, and most pages answered.
    assert set(found.seen) == set(world.readers), found.seen
    # (a login or password-change wall in front of every page would make the sweep vacuous)
    assert all(found.answered.get(key, 0) >= 20 for key in world.people), found.answered
