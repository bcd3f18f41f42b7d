"""The small named organisation shared by the test suite and the demo.

Ministry of Interior (มท) → สำนักงานปลัดกระทรวงมหาดไทย (central registry) →
ศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร (unit registry) → กลุ่มงานระบบสารบรรณ; the province of
Chiang Mai with its own registry; and a city municipality (an LAO) as a separate agency.
Each agency is enrolled for the exchange (codes ``moi``, ``chiangmai``, ``chiangmai-city``).
Named people: ``admin`` (agency admin), ``clerk`` (central registry clerk), ``director``
(head of the ICT centre, an executive) and ``officer`` (an officer in the centre).

Codes and names are for demonstration; the real ones are loaded by each agency at onboarding.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from saraban.letters.models import Registry
from saraban.letters.registries import registry_open

from .models import Agency, AgencyKind, Person, Position, Role, RoleGrant
from .services import agency_create


@dataclass(frozen=True)
class SampleOrg:
    ministry: Agency
    ops: Agency  # สำนักงานปลัดกระทรวงมหาดไทย
    ict: Agency  # ศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร
    ict_group: Agency
    province: Agency
    lao: Agency
    central: Registry
    ict_registry: Registry
    province_registry: Registry
    lao_registry: Registry
    admin: Person
    clerk: Person
    director: Person
    officer: Person
    director_post: Position
    officer_post: Position
    clerk_post: Position


def make_person(
    username: str, full_name: str, *, agency: Agency, password: str | None, title: str = "นาย"
) -> Person:
    person = Person(username=username, full_name_th=full_name, title_th=title, agency=agency)
    if password is None:
        person.set_unusable_password()
    else:
        person.set_password(password)
    person.save()
    return person


@transaction.atomic
def build_sample_org(*, password: str | None = None) -> SampleOrg:
    ministry = agency_create(
        kind=AgencyKind.MINISTRY, name_th="กระทรวงมหาดไทย", name_en="Ministry of Interior",
        is_tenant=True, letter_code="มท", short_name_th="มท.",
        address="ถนนอัษฎางค์ แขวงวัดราชบพิธ เขตพระนคร กรุงเทพฯ 10200", phone="0 2222 1141",
    )
    ops = agency_create(
        kind=AgencyKind.DEPARTMENT, name_th="สำนักงานปลัดกระทรวงมหาดไทย",
        name_en="Office of the Permanent Secretary for Interior", parent=ministry,
        office_code="0200", short_name_th="สป.มท.",
    )
    ict = agency_create(
        kind=AgencyKind.DIVISION, name_th="ศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร",
        name_en="Information and Communication Technology Center", parent=ops,
        office_code="0212", short_name_th="ศสป.",
    )
    ict_group = agency_create(
        kind=AgencyKind.SUBUNIT, name_th="กลุ่มงานระบบสารบรรณอิเล็กทรอนิกส์",
        name_en="e-Saraban Systems Group", parent=ict, office_code="0212.3",
    )
    province = agency_create(
        kind=AgencyKind.PROVINCE, name_th="จังหวัดเชียงใหม่", name_en="Chiang Mai Province",
        is_tenant=True, letter_code="ชม", office_code="0017",
        address="ศาลากลางจังหวัดเชียงใหม่ ถนนโชตนา อำเภอเมืองเชียงใหม่ 50300",
    )
    lao = agency_create(
        kind=AgencyKind.CITY_MUNICIPALITY, name_th="เทศบาลนครเชียงใหม่",
        name_en="Chiang Mai City Municipality", parent=province, is_tenant=True,
        letter_code="ชม", office_code="52001",
    )
    from saraban.exchange.directory import agency_enrol

    for agency, code in ((ministry, "moi"), (province, "chiangmai"), (lao, "chiangmai-city")):
        agency_enrol(agency=agency, code=code)
    ministry.refresh_from_db()
    province.refresh_from_db()
    lao.refresh_from_db()
    central = registry_open(unit=ops, is_central=True, name_th="สารบรรณกลาง สป.มท.")
    ict_registry = registry_open(unit=ict, is_central=False, name_th="สารบรรณ ศสป.")
    province_registry = registry_open(unit=province, is_central=True)
    lao_registry = registry_open(unit=lao, is_central=True)

    admin = make_person("admin", "ผู้ดูแล ระบบ", agency=ministry, password=password)
    clerk = make_person("clerk", "สมศรี รับส่ง", agency=ministry, password=password,
                        title="นาง")
    director = make_person("director", "สมชาย ใจดี", agency=ministry, password=password)
    officer = make_person("officer", "วิชัย ทำงาน", agency=ministry, password=password)

    clerk_post = Position.objects.create(unit=ops, title_th="เจ้าพนักงานธุรการชำนาญงาน",
                                         holder=clerk)
    director_post = Position.objects.create(
        unit=ict, title_th="ผู้อำนวยการศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร", is_head=True,
        holder=director,
    )
    officer_post = Position.objects.create(
        unit=ict_group, title_th="นักวิชาการคอมพิวเตอร์ชำนาญการ", holder=officer
    )
    RoleGrant.objects.bulk_create(
        [
            RoleGrant(person=admin, unit=ministry, role=Role.AGENCY_ADMIN),
            RoleGrant(person=clerk, unit=ops, role=Role.REGISTRY_CLERK),
            RoleGrant(person=director, unit=ops, role=Role.EXECUTIVE),
            RoleGrant(person=officer, unit=ict_group, role=Role.OFFICER),
        ]
    )
    return SampleOrg(
        ministry=ministry, ops=ops, ict=ict, ict_group=ict_group, province=province, lao=lao,
        central=central, ict_registry=ict_registry, province_registry=province_registry,
        lao_registry=lao_registry, admin=admin, clerk=clerk, director=director, officer=officer,
        director_post=director_post, officer_post=officer_post, clerk_post=clerk_post,
    )
