"""``saraban onboard_agency spec.json``: bring a new agency onto this node.

The spec (JSON)::

    {"name_th": "จังหวัดลำพูน", "name_en": "Lamphun Province", "kind": "province",
     "letter_code": "ลพ", "office_code": "0023", "address": "…", "phone": "…", "email": "…",
     "parent": null,                      # an id, a Thai name, or "มท 0200"
     "units": [{"name_th": "สำนักงานจังหวัด", "office_code": "0023.1", "kind": "division",
                "has_registry": true, "units": [...]}],
     "registry_officer": {"username": "lp_saraban", "full_name_th": "…", "position_title": "…"},
     "it_officer": {"username": "lp_it", "full_name_th": "…"},
     "users": [{"username": "…", "full_name_th": "…", "unit": "0023.1",
                "position_title": "…", "roles": ["officer"]}],
     "start_numbers": [{"series": "outgoing", "next_number": 1532},
                       {"series": "incoming", "next_number": 2210, "unit": "0023.1"}]}

Initial passwords are generated (``secrets``) and printed once, or written to
``--password-file``; ``--interactive`` asks the questions one by one instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saraban.agencies.models import AgencyKind, Role
from saraban.agencies.onboarding import (
    OnboardingSpec,
    PersonSpec,
    StartNumber,
    UnitSpec,
    agency_onboard,
    resolve_parent,
    spec_from_dict,
    with_generated_passwords,
)
from saraban.core.errors import SarabanError
from saraban.letters.models import Registry, SeriesKind


class Command(BaseCommand):
    help = "Bring a new agency onto this node from a JSON spec (or --interactive)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("spec", nargs="?", help="path to the JSON spec")
        parser.add_argument("--interactive", action="store_true",
                            help="ask question by question (ถามทีละข้อ)")
        parser.add_argument("--password-file", type=Path,
                            help="write the initial passwords here instead of printing them")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["interactive"]:
                spec = self.ask()
            elif options["spec"]:
                try:
                    data = json.loads(Path(options["spec"]).read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise CommandError(f"cannot read spec: {exc}") from exc
                spec = spec_from_dict(data)
            else:
                raise CommandError("give a spec file or --interactive")
            spec, passwords = with_generated_passwords(spec)
            agency = agency_onboard(actor=None, spec=spec)
        except SarabanError as exc:
            raise CommandError(f"[{exc.code}] {exc.message}") from exc
        self.report(agency.pk, passwords, options["password_file"])

    def report(self, agency_id: int, passwords: dict[str, str], password_file: Path | None
               ) -> None:
        from saraban.agencies.models import Agency

        agency = Agency.objects.get(pk=agency_id)
        out = self.stdout
        out.write(f"Onboarded: {agency.name_th} ({agency.code_prefix}), id {agency.pk}")
        for unit in agency.subtree().exclude(pk=agency.pk):
            depth = unit.path.count("/") - agency.path.count("/")
            out.write(f"  {'  ' * depth}unit: {unit.name_th} {unit.office_code}".rstrip())
        for registry in Registry.objects.filter(tenant=agency).prefetch_related("series__years"):
            out.write(f"  registry: {registry.name_th}")
            for series in registry.series.all():
                for year in series.years.all():
                    out.write(f"    {series.get_kind_display()} {year.year_be}: "
                              f"next number {year.last_number + 1}")
        for person in agency.people.prefetch_related("grants").order_by("pk"):
            roles = ", ".join(sorted(g.role for g in person.grants.all()))
            out.write(f"  user: {person.username} ({person.display_name()}) {roles}".rstrip())
        if password_file is not None:
            password_file.write_text(
                "".join(f"{u}\t{p}\n" for u, p in passwords.items()), encoding="utf-8"
            )
            password_file.chmod(0o600)
            out.write(f"Initial passwords written to {password_file}")
        else:
            out.write("Initial passwords (give each to its owner; shown once):")
            for username, password in passwords.items():
                out.write(f"  {username}\t{password}")

    # --- interactive ---------------------------------------------------------------------

    def q(self, prompt: str, default: str = "") -> str:
        suffix = f" [{default}]" if default else ""
        answer = input(f"{prompt}{suffix}: ").strip()
        return answer or default

    def ask_person(self, label: str) -> PersonSpec:
        self.stdout.write(label)
        return PersonSpec(
            username=self.q("  ชื่อผู้ใช้ / username"),
            title_th=self.q("  คำนำหน้า / title", "นาย"),
            full_name_th=self.q("  ชื่อ-สกุล / full name"),
            email=self.q("  อีเมล / e-mail"),
            position_title=self.q("  ตำแหน่ง / position"),
        )

    def ask(self) -> OnboardingSpec:
        kinds = ", ".join(AgencyKind.values)
        name_th = self.q("ชื่อส่วนราชการ (ภาษาไทย) / Thai name")
        name_en = self.q("ชื่อภาษาอังกฤษ / English name")
        kind = self.q(f"ประเภท / kind ({kinds})", AgencyKind.PROVINCE)
        letter_code = self.q("รหัสตัวพยัญชนะ / letter code (เช่น ชม)")
        office_code = self.q("รหัสส่วนราชการ / office code (เช่น 0017)")
        address = self.q("ที่อยู่ / address")
        phone = self.q("โทรศัพท์ / phone")
        email = self.q("อีเมล / e-mail")
        parent = resolve_parent(self.q("หน่วยงานต้นสังกัด / parent (id, name or code; blank: none)"))
        units: list[UnitSpec] = []
        while True:
            unit_name = self.q("หน่วยงานย่อย / unit name (blank: done)")
            if not unit_name:
                break
            units.append(UnitSpec(
                name_th=unit_name,
                office_code=self.q("  รหัสหน่วยงาน / office code"),
                has_registry=self.q("  มีทะเบียนของตนเอง / own registry? (y/n)", "n")
                .lower().startswith("y"),
            ))
        registry_officer = self.ask_person("ผู้รับผิดชอบงานสารบรรณ / registry officer")
        it_officer = self.ask_person("ผู้รับผิดชอบด้านเทคโนโลยีสารสนเทศ / IT officer")
        starts: list[StartNumber] = []
        for kind_value, label in SeriesKind.choices:
            text = self.q(f"เลขถัดไปของ{label} / next {kind_value} number (blank: 1)")
            if text:
                if not text.isdigit():
                    raise CommandError(f"not a number: {text}")
                starts.append(StartNumber(series=kind_value, next_number=int(text)))
        users: list[PersonSpec] = []
        while True:
            username = self.q("ผู้ใช้งานเพิ่มเติม / another user's username (blank: done)")
            if not username:
                break
            users.append(PersonSpec(
                username=username, full_name_th=self.q("  ชื่อ-สกุล / full name"),
                position_title=self.q("  ตำแหน่ง / position"),
                unit=self.q("  หน่วยงาน (รหัส) / unit office code (blank: the agency)"),
                roles=tuple(r for r in self.q(
                    f"  บทบาท / roles ({', '.join(Role.values)})", Role.OFFICER
                ).replace(",", " ").split() if r),
            ))
        return OnboardingSpec(
            name_th=name_th, name_en=name_en, kind=kind, letter_code=letter_code,
            office_code=office_code, address=address, phone=phone, email=email, parent=parent,
            units=units, registry_officer=registry_officer, it_officer=it_officer,
            users=users, start_numbers=starts,
        )
