"""No letter leaks: every (person, letter) pair of a generated matrix against an oracle.

People hold each role on each unit of two ministries' worth of tree (the ministry, its
department, the ICT centre and its sub-unit) and of two other tenants (the province and the
LAO under it), plus people who only hold or act for positions. Letters of every secrecy
level are registered, handed over and re-registered through the real actions. The oracle
below restates the rule of ``saraban/letters/access.py`` from its docstring, in plain Python
over what this test itself created (no database query), and every pair must agree with
``access_letter`` and ``visible_letters``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import time_machine

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import ActingAssignment, ActingKind, Person, Position, Role, RoleGrant
from saraban.agencies.sample import make_person
from saraban.core.errors import NotFound, PermissionDenied
from saraban.core.thai import BANGKOK, today_bangkok
from saraban.letters.access import (
    access_letter,
    registries_for,
    viewable_registries,
    visible_letters,
)
from saraban.letters.models import Letter, Registry
from saraban.letters.registries import registry_open
from saraban.letters.services import (
    LetterDetails,
    Recipient,
    handover_register,
    letter_hand_over,
    letter_register_incoming,
    letter_register_outgoing,
)

# The tree as this test knows it: unit -> parent, unit -> tenant.
PARENT: dict[str, str | None] = {
    "ministry": None, "ops": "ministry", "ict": "ops", "ict_group": "ict",
    "province": None, "lao": "province",
}
TENANT = {
    "ministry": "ministry", "ops": "ministry", "ict": "ministry", "ict_group": "ministry",
    "province": "province", "lao": "lao",
}
REGISTRY_UNITS = ("ops", "ict", "ict_group", "province", "lao")
CENTRAL = {"ops", "province", "lao"}


def subtree(unit: str) -> set[str]:
    """The unit and everything below it, by the tree (tenants are not considered here)."""
    found = {unit}
    changed = True
    while changed:
        below = {u for u, p in PARENT.items() if p in found} - found
        changed = bool(below)
        found |= below
    return found


@dataclass
class Someone:
    tenant: str | None
    wide: set[str] = field(default_factory=set)  # registry clerk / executive grant units
    narrow: set[str] = field(default_factory=set)  # officer grant units
    heads: set[str] = field(default_factory=set)  # units of head positions held/acted for
    posts: set[str] = field(default_factory=set)  # units of other positions held/acted for
    active: bool = True


@dataclass
class Expected:
    tenant: str
    secrecy: int
    owner: str
    registered: set[str] = field(default_factory=set)
    handed_to: set[str] = field(default_factory=set)
    readers: set[str] = field(default_factory=set)


def oracle(who: Someone, key: str, letter: Expected) -> bool:
    """The access rule, as the docstring of access.py states it."""
    if not who.active or letter.tenant != who.tenant:
        return False
    if letter.secrecy > 0:
        return key in letter.readers
    scope = set().union(*(subtree(u) for u in who.wide | who.heads), who.posts, who.narrow)
    return bool(({letter.owner} | letter.registered | letter.handed_to) & scope)


@dataclass
class Matrix:
    people: dict[str, Person]
    someone: dict[str, Someone]
    letters: dict[str, int]
    expected: dict[str, Expected]


def build_matrix(org) -> Matrix:
    units = {"ministry": org.ministry, "ops": org.ops, "ict": org.ict,
             "ict_group": org.ict_group, "province": org.province, "lao": org.lao}
    tenants = {"ministry": org.ministry, "province": org.province, "lao": org.lao}
    registries: dict[str, Registry] = {
        "ops": org.central, "ict": org.ict_registry,
        "ict_group": registry_open(unit=org.ict_group, is_central=False),
        "province": org.province_registry, "lao": org.lao_registry,
    }
    people: dict[str, Person] = {}
    someone: dict[str, Someone] = {}

    def person(key: str, tenant: str, *, active: bool = True) -> Person:
        p = make_person(key.replace("@", "-"), f"บุคคล {key}", agency=tenants[tenant],
                        password=None)
        if not active:
            p.is_active = False
            p.save(update_fields=["is_active"])
        people[key] = p
        someone[key] = Someone(tenant=tenant, active=active)
        return p

    # Every role on every unit.
    for role, unit in itertools.product(Role.values, units):
        key = f"{role}@{unit}"
        RoleGrant.objects.create(person=person(key, TENANT[unit]), unit=units[unit], role=role)
        if role in (Role.REGISTRY_CLERK, Role.EXECUTIVE):
            someone[key].wide.add(unit)
        elif role == Role.OFFICER:
            someone[key].narrow.add(unit)
        # an agency admin manages the organisation and gives no sight of letters
    # The sample's named people, as build_sample_org sets them up.
    for key, tenant in (("admin", "ministry"), ("clerk", "ministry"),
                        ("director", "ministry"), ("officer", "ministry")):
        people[key] = getattr(org, key)
        someone[key] = Someone(tenant=tenant)
    someone["clerk"].wide |= {"ops"}
    someone["clerk"].posts |= {"ops"}
    someone["director"].wide |= {"ops"}
    someone["director"].heads |= {"ict"}
    someone["officer"].narrow |= {"ict_group"}
    someone["officer"].posts |= {"ict_group"}
    # Positions only, no role grant.
    Position.objects.create(unit=org.ict_group, title_th="หัวหน้ากลุ่มงาน", is_head=True,
                            holder=person("head@ict_group", "ministry"))
    someone["head@ict_group"].heads.add("ict_group")
    Position.objects.create(unit=org.ict, title_th="นักจัดการงานทั่วไป",
                            holder=person("staff@ict", "ministry"))
    someone["staff@ict"].posts.add("ict")
    # Acting for the head of the ICT centre: from today (counts) and until yesterday (over).
    today = today_bangkok()
    ActingAssignment.objects.create(person=person("acting@ict", "ministry"),
                                    position=org.director_post, kind=ActingKind.ACTING,
                                    starts_on=today)
    someone["acting@ict"].heads.add("ict")
    someone["acting@ict"].wide.add("ops")  # the director's executive grant comes with the post
    ActingAssignment.objects.create(person=person("acted@ict", "ministry"),
                                    position=org.director_post, kind=ActingKind.DELEGATED,
                                    starts_on=today - dt.timedelta(days=30),
                                    ends_on=today - dt.timedelta(days=1))
    ActingAssignment.objects.create(person=person("future@ict", "ministry"),
                                    position=org.director_post, kind=ActingKind.ACTING,
                                    starts_on=today + dt.timedelta(days=1))
    # Nobody in particular; a disabled account with a wide grant; a province person wrongly
    # granted a role in the ministry's tree.
    person("nobody@ministry", "ministry")
    RoleGrant.objects.create(person=person("disabled@ministry", "ministry", active=False),
                             unit=org.ministry, role=Role.EXECUTIVE)
    someone["disabled@ministry"].wide.add("ministry")
    RoleGrant.objects.create(person=person("outsider@ops", "province"), unit=org.ops,
                             role=Role.EXECUTIVE)
    someone["outsider@ops"].wide.add("ops")

    letters: dict[str, int] = {}
    expected: dict[str, Expected] = {}

    def clerk_of(unit: str):
        return resolve_actor(people[f"registry_clerk@{unit}"])

    def readers_for(unit: str) -> list[str]:
        """Named readers of a secret letter: the unit's executive and one officer."""
        return [f"executive@{unit}", f"officer@{TENANT[unit]}"]

    for unit, secrecy in itertools.product(REGISTRY_UNITS, range(4)):
        named = readers_for(unit) if secrecy else []
        key = f"in/{unit}/s{secrecy}"
        entry = letter_register_incoming(
            actor=clerk_of(unit), registry=registries[unit],
            details=LetterDetails(kind="external", subject=key, sender_text="กรมการปกครอง",
                                  secrecy=secrecy,
                                  secret_readers=[people[n] for n in named]),
        )
        letters[key] = entry.letter_id
        expected[key] = Expected(
            tenant=TENANT[unit], secrecy=secrecy, owner=unit, registered={unit},
            readers=(set(named) | {f"registry_clerk@{unit}"}) if secrecy else set(),
        )
        # Outgoing: normal from every registry; secret ones where a secret register exists.
        if secrecy and unit not in CENTRAL:
            continue
        key = f"out/{unit}/s{secrecy}"
        entry = letter_register_outgoing(
            actor=clerk_of(unit), registry=registries[unit],
            details=LetterDetails(kind="external", subject=key, secrecy=secrecy,
                                  secret_readers=[people[n] for n in named]),
            recipients=[Recipient(channel="post", text="ผู้รับภายนอก")],
        )
        letters[key] = entry.letter_id
        expected[key] = Expected(
            tenant=TENANT[unit], secrecy=secrecy, owner=unit, registered={unit},
            readers=(set(named) | {f"registry_clerk@{unit}"}) if secrecy else set(),
        )

    entry = letter_register_incoming(
        actor=clerk_of("ops"), registry=registries["ops"],
        details=LetterDetails(kind="internal", subject="in/ops/waiting", sender_text="กองคลัง"),
    )
    letters["in/ops/waiting"] = entry.letter_id
    expected["in/ops/waiting"] = Expected(tenant="ministry", secrecy=0, owner="ops",
                                          registered={"ops"})
    # The central registry passes letters on: one registered again by the ICT centre (it
    # becomes the centre's), one still waiting at the sub-unit, one secret to the centre.
    for key, to, register in (("in/ops/s0", "ict", True), ("in/ops/waiting", "ict_group", False),
                              ("in/ops/s2", "ict", True)):
        letter = Letter.objects.get(pk=letters[key])
        handover = letter_hand_over(actor=resolve_actor(org.clerk), letter=letter,
                                    to_registry=registries[to])
        expected[key].handed_to.add(to)
        if register:
            handover_register(actor=clerk_of(to), handover=handover)
            expected[key].registered.add(to)
            expected[key].owner = to
    return Matrix(people=people, someone=someone, letters=letters, expected=expected)


@pytest.fixture
def matrix(org) -> Iterator[Matrix]:
    """The matrix, built and checked at noon of one Bangkok day: "today", "yesterday" and
    "tomorrow" of the acting assignments must not move under a run that crosses midnight."""
    noon = dt.datetime.combine(today_bangkok(), dt.time(12), tzinfo=BANGKOK)
    with time_machine.travel(noon, tick=True):
        yield build_matrix(org)


def fresh(person: Person) -> Person:
    """A new instance, so nothing cached on the object carries between checks."""
    return Person.objects.get(pk=person.pk)


def test_every_person_sees_exactly_the_letters_the_rule_allows(matrix):
    wrong: list[str] = []
    for pkey, person in matrix.people.items():
        who = matrix.someone[pkey]
        allowed = {
            matrix.letters[lkey] for lkey, exp in matrix.expected.items()
            if oracle(who, pkey, exp)
        }
        person = fresh(person)  # one instance per person, as in a request
        listed = set(visible_letters(person).values_list("pk", flat=True))
        if listed != allowed:
            extra = sorted(k for k, i in matrix.letters.items() if i in listed - allowed)
            missing = sorted(k for k, i in matrix.letters.items() if i in allowed - listed)
            wrong.append(f"{pkey}: sees too much {extra}, misses {missing}")
        count = visible_letters(person).count()
        if count != len(allowed):
            wrong.append(f"{pkey}: count {count} != {len(allowed)}")
        for lkey, letter_id in matrix.letters.items():
            try:
                got = access_letter(person, letter_id).pk == letter_id
            except NotFound:
                got = False
            if got != (letter_id in allowed):
                wrong.append(f"{pkey} × {lkey}: access_letter says {got}")
    assert not wrong, "\n".join(wrong)


def test_the_matrix_covers_every_case(matrix):
    """The oracle must not be trivially false: each kind of access occurs in the matrix."""
    seen_secret = seen_open = seen_handed = seen_acting = 0
    for pkey, who in matrix.someone.items():
        for exp in matrix.expected.values():
            if oracle(who, pkey, exp):
                seen_secret += exp.secrecy > 0
                seen_open += exp.secrecy == 0
                seen_handed += bool(exp.handed_to) and exp.owner not in (
                    who.wide | who.narrow | who.posts | who.heads)
                seen_acting += pkey == "acting@ict"
    assert min(seen_secret, seen_open, seen_handed, seen_acting) > 0
    assert {e.secrecy for e in matrix.expected.values()} == {0, 1, 2, 3}
    assert len(matrix.people) * len(matrix.letters) > 1000


def test_nobody_sees_another_tenants_letter(matrix):
    leaks = []
    for pkey, person in matrix.people.items():
        tenant = matrix.someone[pkey].tenant
        for letter in visible_letters(fresh(person)):
            if letter.tenant.pk != person.agency_id:
                leaks.append(f"{pkey} ({tenant}) sees {letter.subject}")
    assert not leaks, "\n".join(leaks)


def test_secret_letters_only_for_named_readers(matrix):
    seen = {k: set(visible_letters(fresh(p)).values_list("pk", flat=True))
            for k, p in matrix.people.items()}
    for lkey, exp in matrix.expected.items():
        if exp.secrecy:
            seers = {k for k, ids in seen.items() if matrix.letters[lkey] in ids}
            assert seers == exp.readers, lkey


def test_a_province_role_does_not_reach_into_the_lao_below_it(matrix):
    for role in Role.values:
        province_person = fresh(matrix.people[f"{role}@province"])
        with pytest.raises(NotFound):
            access_letter(province_person, matrix.letters["in/lao/s0"])


def test_a_province_clerk_cannot_register_in_the_lao_registry(matrix, org):
    clerk = resolve_actor(fresh(matrix.people["registry_clerk@province"]))
    with pytest.raises(PermissionDenied):
        letter_register_incoming(
            actor=clerk, registry=org.lao_registry,
            details=LetterDetails(kind="external", subject="ผิดที่", sender_text="อำเภอ"),
        )
    assert org.lao_registry not in registries_for(clerk.person)
    assert org.lao_registry not in viewable_registries(clerk.person)


def test_a_grant_outside_ones_own_tenant_gives_nothing(org):
    outsider = make_person("outsider", "ผู้อื่น", agency=org.province, password=None)
    for role in Role.values:
        RoleGrant.objects.create(person=outsider, unit=org.ops, role=role)
    assert list(registries_for(outsider)) == []
    assert list(viewable_registries(outsider)) == []
    with pytest.raises(PermissionDenied):
        letter_register_incoming(
            actor=resolve_actor(outsider), registry=org.central,
            details=LetterDetails(kind="external", subject="ผิดที่", sender_text="อำเภอ"),
        )


def test_disabled_accounts_and_ended_acting_see_nothing(matrix):
    for key in ("disabled@ministry", "acted@ict", "future@ict", "nobody@ministry"):
        assert visible_letters(fresh(matrix.people[key])).count() == 0, key
