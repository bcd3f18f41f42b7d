"""Bringing a new agency onto a node: one action that sets up everything it needs to work.

``agency_onboard`` creates, in one transaction, the agency with its names and codes, its
units, its central registry (and unit registries where asked), its responsible people (the
registry officer, ผู้รับผิดชอบงานสารบรรณ, and the IT officer, ผู้รับผิดชอบด้านเทคโนโลยีสารสนเทศ,
as the Ministry of Interior asks every province to name), its other users, and the first
numbers of the current year per series, so an agency that joins mid-year continues its paper
numbering. Everything is validated before anything is written; a bad spec raises a
``SarabanError`` with a stable code and creates nothing.

The screen (``web:onboarding``) and the command (``saraban onboard_agency``) both call it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from saraban.core.audit import audit_record
from saraban.core.errors import PermissionDenied, ValidationFailed
from saraban.core.thai import be_year
from saraban.letters.models import Registry, Series, SeriesKind
from saraban.letters.numbering import series_set_start
from saraban.letters.registries import UNIT_SERIES, registry_open

from .actors import Actor
from .models import Agency, AgencyKind, Person, Position, Role, RoleGrant
from .services import agency_create

__all__ = [
    "OnboardingSpec",
    "PersonSpec",
    "StartNumber",
    "UnitSpec",
    "agency_onboard",
    "onboarding_validate",
    "spec_from_dict",
    "with_generated_passwords",
]

REGISTRY_OFFICER_TITLE = "ผู้รับผิดชอบงานสารบรรณ"
IT_OFFICER_TITLE = "ผู้รับผิดชอบด้านเทคโนโลยีสารสนเทศ"


@dataclass(frozen=True)
class UnitSpec:
    """A unit of the new agency; ``units`` nests the ones below it."""

    name_th: str
    kind: str = AgencyKind.DIVISION
    name_en: str = ""
    short_name_th: str = ""
    office_code: str = ""
    has_registry: bool = False
    units: Sequence[UnitSpec] = ()

    @property
    def key(self) -> str:
        """How people and start numbers name this unit: its office code, else its name."""
        return self.office_code or self.name_th


@dataclass(frozen=True)
class PersonSpec:
    """A user of the new agency, the post they hold and the roles they get."""

    username: str
    full_name_th: str
    title_th: str = ""
    email: str = ""
    position_title: str = ""
    unit: str = ""  # a unit's key; empty for the agency itself
    roles: Sequence[str] = ()
    password: str | None = None  # None: no usable password until one is set


@dataclass(frozen=True)
class StartNumber:
    """The next number a series issues this year (the paper register's last number + 1)."""

    series: str
    next_number: int
    unit: str = ""  # a registry's unit key; empty for the central registry


@dataclass(frozen=True)
class OnboardingSpec:
    name_th: str
    kind: str
    letter_code: str
    office_code: str
    registry_officer: PersonSpec
    it_officer: PersonSpec
    name_en: str = ""
    short_name_th: str = ""
    address: str = ""
    phone: str = ""
    email: str = ""
    parent: Agency | None = None
    thai_digits: bool = False
    central_registry_name: str = ""
    units: Sequence[UnitSpec] = ()
    users: Sequence[PersonSpec] = ()
    start_numbers: Sequence[StartNumber] = ()

    def people(self) -> list[PersonSpec]:
        return [self.registry_officer, self.it_officer, *self.users]


def _walk(units: Sequence[UnitSpec]) -> Iterator[UnitSpec]:
    for unit in units:
        yield unit
        yield from _walk(unit.units)


def _invalid(message: str, code: str, field: str | None = None) -> ValidationFailed:
    return ValidationFailed(message, code=code, field=field)


def _check_permission(actor: Actor | None, parent: Agency | None) -> None:
    """The node operator (no actor) or a superuser may onboard anywhere; an agency admin
    only below an agency they administer."""
    if actor is None or actor.person.is_superuser:
        return
    if parent is None:
        raise PermissionDenied("เฉพาะผู้ดูแลระบบกลางเท่านั้นที่เพิ่มส่วนราชการระดับบนสุดได้",
                               code="onboard_forbidden")
    admin_paths = RoleGrant.objects.filter(
        person=actor.person, role=Role.AGENCY_ADMIN
    ).values_list("unit__path", flat=True)
    if not any(parent.path.startswith(path) for path in admin_paths):
        raise PermissionDenied("ท่านไม่มีสิทธิ์เพิ่มส่วนราชการภายใต้หน่วยงานนี้",
                               code="onboard_forbidden")


def _validate_person(person: PersonSpec, unit_keys: set[str], label: str) -> None:
    if not person.username.strip():
        raise _invalid(f"กรุณาระบุชื่อผู้ใช้ของ{label}", "username_required", "username")
    if not person.full_name_th.strip():
        raise _invalid(f"กรุณาระบุชื่อ-สกุลของ{label}", "full_name_required", "full_name_th")
    if person.unit and person.unit not in unit_keys:
        raise _invalid(f"ไม่พบหน่วยงาน {person.unit} ของ{label}", "unknown_unit", "unit")
    for role in person.roles:
        if role not in Role.values:
            raise _invalid(f"บทบาทไม่ถูกต้อง: {role}", "bad_role", "roles")
    if person.email:
        try:
            validate_email(person.email)
        except ValidationError:
            raise _invalid(f"ไปรษณีย์อิเล็กทรอนิกส์ของ{label}ไม่ถูกต้อง", "bad_email",
                           "email") from None


def onboarding_validate(*, actor: Actor | None, spec: OnboardingSpec) -> None:
    """Check a spec without writing anything; raises the error ``agency_onboard`` would."""
    _check_permission(actor, spec.parent)
    if spec.kind not in AgencyKind.values:
        raise _invalid(f"ประเภทส่วนราชการไม่ถูกต้อง: {spec.kind}", "bad_agency_kind", "kind")
    if not spec.name_th.strip():
        raise _invalid("กรุณาระบุชื่อส่วนราชการ", "name_required", "name_th")
    if not spec.letter_code.strip():
        raise _invalid("กรุณาระบุรหัสตัวพยัญชนะ (เช่น มท ชม)", "letter_code_required",
                       "letter_code")
    if not spec.office_code.strip():
        raise _invalid("กรุณาระบุรหัสส่วนราชการ (เช่น 0017)", "office_code_required",
                       "office_code")
    if spec.email:
        try:
            validate_email(spec.email)
        except ValidationError:
            raise _invalid("ไปรษณีย์อิเล็กทรอนิกส์ไม่ถูกต้อง", "bad_email", "email") from None
    if Agency.objects.filter(letter_code=spec.letter_code.strip(),
                             office_code=spec.office_code.strip()).exists():
        raise _invalid("มีส่วนราชการที่ใช้รหัสนี้อยู่แล้ว", "duplicate_agency_code", "office_code")
    keys: set[str] = set()
    for unit in _walk(spec.units):
        if not unit.name_th.strip():
            raise _invalid("กรุณาระบุชื่อหน่วยงานย่อย", "unit_name_required", "units")
        if unit.kind not in AgencyKind.values:
            raise _invalid(f"ประเภทหน่วยงานย่อยไม่ถูกต้อง: {unit.kind}", "bad_agency_kind",
                           "units")
        if unit.key in keys:
            raise _invalid(f"หน่วยงานย่อยซ้ำกัน: {unit.key}", "duplicate_unit", "units")
        keys.add(unit.key)
    registry_keys = {u.key for u in _walk(spec.units) if u.has_registry}
    _validate_person(spec.registry_officer, keys, REGISTRY_OFFICER_TITLE)
    _validate_person(spec.it_officer, keys, IT_OFFICER_TITLE)
    for person in spec.users:
        _validate_person(person, keys, f"ผู้ใช้ {person.username}")
    usernames = [p.username.strip() for p in spec.people()]
    duplicates = sorted({u for u in usernames if usernames.count(u) > 1})
    if duplicates:
        raise _invalid(f"ชื่อผู้ใช้ซ้ำกัน: {', '.join(duplicates)}", "duplicate_username",
                       "username")
    taken = sorted(Person.objects.filter(username__in=usernames)
                   .values_list("username", flat=True))
    if taken:
        raise _invalid(f"มีชื่อผู้ใช้นี้ในระบบแล้ว: {', '.join(taken)}", "duplicate_username",
                       "username")
    seen: set[tuple[str, str]] = set()
    for start in spec.start_numbers:
        if start.series not in SeriesKind.values:
            raise _invalid(f"ชุดเลขไม่ถูกต้อง: {start.series}", "bad_series", "start_numbers")
        if start.unit and start.unit not in registry_keys:
            raise _invalid(f"หน่วยงาน {start.unit} ไม่มีทะเบียนของตนเอง", "unknown_registry",
                           "start_numbers")
        if start.unit and start.series not in UNIT_SERIES:
            raise _invalid("ทะเบียนของหน่วยงานย่อยไม่มีชุดเลขนี้", "bad_series", "start_numbers")
        if isinstance(start.next_number, bool) or not isinstance(start.next_number, int) \
                or start.next_number < 1:
            raise _invalid("เลขเริ่มต้นต้องไม่น้อยกว่า 1", "bad_start_number", "start_numbers")
        if (start.unit, start.series) in seen:
            raise _invalid("กำหนดเลขเริ่มต้นของชุดเลขเดียวกันซ้ำ", "duplicate_start_number",
                           "start_numbers")
        seen.add((start.unit, start.series))



def _make_person(spec: PersonSpec, *, agency: Agency, is_staff: bool = False) -> Person:
    person = Person(
        username=spec.username.strip(), full_name_th=spec.full_name_th.strip(),
        title_th=spec.title_th.strip(), email=spec.email.strip(), agency=agency,
        is_staff=is_staff,
    )
    if spec.password:
        person.set_password(spec.password)
        # Someone else chose it (or it was generated): the person changes it at first sign-in.
        person.must_change_password = True
    else:
        person.set_unusable_password()
    person.save()
    return person


def agency_onboard(*, actor: Actor | None, spec: OnboardingSpec) -> Agency:
    """Create a new agency with its units, registries, people, grants and first numbers.

    ``actor`` is ``None`` for the node operator (the command line). Raises ``ValidationFailed``
    or ``PermissionDenied`` and creates nothing when the spec is wrong.
    """
    onboarding_validate(actor=actor, spec=spec)
    with transaction.atomic():
        agency = agency_create(
            kind=spec.kind, name_th=spec.name_th, parent=spec.parent, is_tenant=True,
            name_en=spec.name_en.strip(), short_name_th=spec.short_name_th.strip(),
            letter_code=spec.letter_code.strip(), office_code=spec.office_code.strip(),
            address=spec.address.strip(), phone=spec.phone.strip(), email=spec.email.strip(),
            thai_digits=spec.thai_digits,
        )
        units: dict[str, Agency] = {"": agency}
        registries: dict[str, Registry] = {
            "": registry_open(unit=agency, is_central=True,
                              name_th=spec.central_registry_name.strip()
                              or f"สารบรรณกลาง {agency.short_name_th or agency.name_th}")
        }

        def create_units(specs: Sequence[UnitSpec], parent: Agency) -> None:
            for unit_spec in specs:
                unit = agency_create(
                    kind=unit_spec.kind, name_th=unit_spec.name_th, parent=parent,
                    name_en=unit_spec.name_en.strip(),
                    short_name_th=unit_spec.short_name_th.strip(),
                    office_code=unit_spec.office_code.strip(),
                )
                units[unit_spec.key] = unit
                if unit_spec.has_registry:
                    registries[unit_spec.key] = registry_open(unit=unit, is_central=False)
                create_units(unit_spec.units, unit)

        create_units(spec.units, agency)

        people: list[dict[str, Any]] = []

        def add_person(person_spec: PersonSpec, *, default_title: str,
                       default_roles: Sequence[str]) -> None:
            roles = list(dict.fromkeys([*default_roles, *person_spec.roles]))
            person = _make_person(person_spec, agency=agency,
                                  is_staff=Role.AGENCY_ADMIN in roles)
            unit = units[person_spec.unit]
            title = person_spec.position_title.strip() or default_title
            if title:
                Position.objects.create(unit=unit, title_th=title, holder=person)
            grant_unit = agency if person_spec is spec.registry_officer else unit
            RoleGrant.objects.bulk_create(
                RoleGrant(person=person, unit=agency if role == Role.AGENCY_ADMIN else grant_unit,
                          role=role)
                for role in roles
            )
            people.append({"username": person.username, "roles": roles, "position": title})

        add_person(spec.registry_officer, default_title=REGISTRY_OFFICER_TITLE,
                   default_roles=[Role.REGISTRY_CLERK])
        add_person(spec.it_officer, default_title=IT_OFFICER_TITLE,
                   default_roles=[Role.AGENCY_ADMIN])
        for user in spec.users:
            add_person(user, default_title="", default_roles=[])

        year = be_year(timezone.now())
        starts: list[dict[str, Any]] = []
        for start in spec.start_numbers:
            series = Series.objects.get(registry=registries[start.unit], kind=start.series)
            series_set_start(series=series, year_be=year, next_number=start.next_number)
            starts.append({"registry": registries[start.unit].name_th, "series": start.series,
                           "next_number": start.next_number})

        audit_record(
            agency_id=agency.pk,
            action="agency_onboard",
            actor=actor,
            target_type="agency",
            target_id=agency.pk,
            details={
                "name_th": agency.name_th,
                "code": agency.code_prefix,
                "parent": spec.parent.name_th if spec.parent else None,
                "units": [u.name_th for key, u in units.items() if key],
                "registries": [r.name_th for r in registries.values()],
                "people": people,
                "start_numbers": starts,
                "year": year,
            },
        )
    return agency


# --- reading a spec from JSON (the command) -------------------------------------------------


def _str(data: Mapping[str, Any], key: str, default: str = "") -> str:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str | int):
        raise _invalid(f"ค่า {key} ต้องเป็นข้อความ", "bad_spec", key)
    return str(value)


def _unit_from(data: Any) -> UnitSpec:
    if not isinstance(data, Mapping):
        raise _invalid("หน่วยงานย่อยต้องเป็น object", "bad_spec", "units")
    return UnitSpec(
        name_th=_str(data, "name_th"), kind=_str(data, "kind", AgencyKind.DIVISION),
        name_en=_str(data, "name_en"), short_name_th=_str(data, "short_name_th"),
        office_code=_str(data, "office_code"), has_registry=bool(data.get("has_registry")),
        units=tuple(_unit_from(u) for u in data.get("units") or ()),
    )


def _person_from(data: Any, label: str) -> PersonSpec:
    if not isinstance(data, Mapping):
        raise _invalid(f"กรุณาระบุ{label}", "person_required", label)
    roles = data.get("roles") or ()
    if isinstance(roles, str) or not all(isinstance(r, str) for r in roles):
        raise _invalid("roles ต้องเป็นรายการ", "bad_spec", "roles")
    password = data.get("password")
    return PersonSpec(
        username=_str(data, "username"), full_name_th=_str(data, "full_name_th"),
        title_th=_str(data, "title_th"), email=_str(data, "email"),
        position_title=_str(data, "position_title"), unit=_str(data, "unit"),
        roles=tuple(roles), password=str(password) if password else None,
    )


def _start_from(data: Any) -> StartNumber:
    if not isinstance(data, Mapping):
        raise _invalid("เลขเริ่มต้นต้องเป็น object", "bad_spec", "start_numbers")
    number = data.get("next_number")
    if isinstance(number, bool) or not isinstance(number, int):
        raise _invalid("เลขเริ่มต้นต้องเป็นจำนวนเต็ม", "bad_start_number", "start_numbers")
    return StartNumber(series=_str(data, "series"), next_number=number, unit=_str(data, "unit"))


def resolve_parent(ref: object) -> Agency | None:
    """The parent agency named by id, by Thai name, or by "letter_code office_code"."""
    if ref in (None, ""):
        return None
    if isinstance(ref, int) and not isinstance(ref, bool):
        found = Agency.objects.filter(pk=ref).first()
    elif isinstance(ref, str):
        text = ref.strip()
        query = Q(name_th=text)
        if " " in text:
            letter, _, office = text.partition(" ")
            query |= Q(letter_code=letter, office_code=office.strip())
        found = Agency.objects.filter(query).order_by("path").first()
    else:
        found = None
    if found is None:
        raise _invalid(f"ไม่พบหน่วยงานต้นสังกัด: {ref}", "unknown_parent", "parent")
    return found


def spec_from_dict(data: Mapping[str, Any]) -> OnboardingSpec:
    """Read a spec from the JSON form documented in ``saraban onboard_agency --help``."""
    if not isinstance(data, Mapping):
        raise _invalid("ข้อมูลต้องเป็น JSON object", "bad_spec")
    return OnboardingSpec(
        name_th=_str(data, "name_th"), kind=_str(data, "kind"),
        letter_code=_str(data, "letter_code"), office_code=_str(data, "office_code"),
        name_en=_str(data, "name_en"), short_name_th=_str(data, "short_name_th"),
        address=_str(data, "address"), phone=_str(data, "phone"), email=_str(data, "email"),
        parent=resolve_parent(data.get("parent")), thai_digits=bool(data.get("thai_digits")),
        central_registry_name=_str(data, "central_registry_name"),
        registry_officer=_person_from(data.get("registry_officer"), "registry_officer"),
        it_officer=_person_from(data.get("it_officer"), "it_officer"),
        units=tuple(_unit_from(u) for u in data.get("units") or ()),
        users=tuple(_person_from(u, "users") for u in data.get("users") or ()),
        start_numbers=tuple(_start_from(s) for s in data.get("start_numbers") or ()),
    )



def with_generated_passwords(spec: OnboardingSpec) -> tuple[OnboardingSpec, dict[str, str]]:
    """The spec with a random initial password for every person who has none, and the
    passwords by username (to be handed to their owners once)."""
    passwords: dict[str, str] = {}

    def fill(person: PersonSpec) -> PersonSpec:
        password = person.password or secrets.token_urlsafe(12)
        passwords[person.username.strip()] = password
        return replace(person, password=password)

    filled = replace(
        spec, registry_officer=fill(spec.registry_officer), it_officer=fill(spec.it_officer),
        users=tuple(fill(u) for u in spec.users),
    )
    return filled, passwords
