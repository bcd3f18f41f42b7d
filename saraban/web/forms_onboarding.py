"""The onboarding screen's form: one long form in five sections, read into an
``OnboardingSpec`` for ``saraban.agencies.onboarding.agency_onboard``.

Units and extra users are typed one per line (columns separated by ``|``), which keeps the
page light and works the same on a phone:

* units: ``ชื่อหน่วยงาน | รหัสส่วนราชการ | ทะเบียน`` — a leading ``-`` per level nests a unit
  under the one above it; the third column (any text, e.g. "ทะเบียน") opens its own registry;
* users: ``ชื่อผู้ใช้ | ชื่อ-สกุล | ตำแหน่ง | รหัสหน่วยงาน | บทบาท`` (roles separated by
  commas: registry_clerk, executive, officer, agency_admin).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q

from saraban.agencies.models import Agency, AgencyKind, Person, Role, RoleGrant
from saraban.agencies.onboarding import OnboardingSpec, PersonSpec, StartNumber, UnitSpec
from saraban.letters.models import SeriesKind

_ROLE_LABELS = {label: value for value, label in Role.choices}
TOP_KINDS = [
    (k, label) for k, label in AgencyKind.choices
    if k not in {AgencyKind.DIVISION, AgencyKind.SUBUNIT}
]


def _columns(line: str, count: int) -> list[str]:
    parts = [p.strip() for p in line.split("|")]
    return (parts + [""] * count)[:count]


def parse_units(text: str) -> list[UnitSpec]:
    """Read the units box into nested ``UnitSpec``s (``-`` per level of nesting)."""
    roots: list[dict[str, Any]] = []
    stack: list[dict[str, Any]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        depth = len(line) - len(line.lstrip("-"))
        name, code, registry = _columns(line.lstrip("-").strip(), 3)
        if not name:
            raise forms.ValidationError(f"บรรทัดที่ {number}: กรุณาระบุชื่อหน่วยงาน")
        if depth > len(stack):
            raise forms.ValidationError(
                f"บรรทัดที่ {number}: ลำดับชั้นข้ามระดับ (ใช้ - เพิ่มทีละหนึ่งระดับ)"
            )
        node: dict[str, Any] = {
            "name_th": name, "office_code": code, "has_registry": bool(registry),
            "kind": AgencyKind.DIVISION if depth == 0 else AgencyKind.SUBUNIT, "units": [],
        }
        del stack[depth:]
        (stack[-1]["units"] if stack else roots).append(node)
        stack.append(node)

    def build(node: dict[str, Any]) -> UnitSpec:
        return UnitSpec(name_th=node["name_th"], office_code=node["office_code"],
                        has_registry=node["has_registry"], kind=node["kind"],
                        units=tuple(build(n) for n in node["units"]))

    return [build(n) for n in roots]


def parse_users(text: str) -> list[PersonSpec]:
    users: list[PersonSpec] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        username, full_name, position, unit, roles_text = _columns(raw, 5)
        if not username or not full_name:
            raise forms.ValidationError(f"บรรทัดที่ {number}: กรุณาระบุชื่อผู้ใช้และชื่อ-สกุล")
        roles = [_ROLE_LABELS.get(r.strip(), r.strip())
                 for r in roles_text.replace("،", ",").split(",") if r.strip()]
        users.append(PersonSpec(username=username, full_name_th=full_name,
                                position_title=position, unit=unit, roles=tuple(roles)))
    return users


class OnboardingForm(forms.Form):
    # 1 ข้อมูลส่วนราชการ
    name_th = forms.CharField(label="ชื่อส่วนราชการ (ภาษาไทย)", max_length=255)
    name_en = forms.CharField(label="ชื่อภาษาอังกฤษ", max_length=255, required=False)
    short_name_th = forms.CharField(label="ชื่อย่อ", max_length=64, required=False)
    kind = forms.ChoiceField(label="ประเภท", choices=TOP_KINDS)
    letter_code = forms.CharField(label="รหัสตัวพยัญชนะ", max_length=16,
                                  help_text="เช่น มท นร ชม")
    office_code = forms.CharField(label="รหัสส่วนราชการ", max_length=32, help_text="เช่น 0017")
    parent = forms.ModelChoiceField(label="หน่วยงานต้นสังกัด", queryset=Agency.objects.none(),
                                    required=False, empty_label="— ไม่มี —")
    address = forms.CharField(label="ที่อยู่", required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))
    phone = forms.CharField(label="โทรศัพท์", max_length=64, required=False)
    email = forms.EmailField(label="ไปรษณีย์อิเล็กทรอนิกส์", required=False)
    # 2 หน่วยงานย่อย
    units = forms.CharField(
        label="หน่วยงานย่อย", required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text="บรรทัดละหนึ่งหน่วยงาน: ชื่อ | รหัส | ทะเบียน (ถ้ามีทะเบียนของตนเอง); "
                  "ขึ้นต้นด้วย - สำหรับหน่วยงานในสังกัดของบรรทัดก่อนหน้า",
    )
    # 3 ผู้รับผิดชอบ
    ro_username = forms.CharField(label="ชื่อผู้ใช้", max_length=150)
    ro_title = forms.CharField(label="คำนำหน้า", max_length=32, required=False)
    ro_full_name = forms.CharField(label="ชื่อ-สกุล", max_length=255)
    ro_position = forms.CharField(label="ตำแหน่ง", max_length=255, required=False)
    ro_email = forms.EmailField(label="ไปรษณีย์อิเล็กทรอนิกส์", required=False)
    it_username = forms.CharField(label="ชื่อผู้ใช้", max_length=150)
    it_title = forms.CharField(label="คำนำหน้า", max_length=32, required=False)
    it_full_name = forms.CharField(label="ชื่อ-สกุล", max_length=255)
    it_position = forms.CharField(label="ตำแหน่ง", max_length=255, required=False)
    it_email = forms.EmailField(label="ไปรษณีย์อิเล็กทรอนิกส์", required=False)
    # 5 ผู้ใช้งาน
    users = forms.CharField(
        label="ผู้ใช้งานอื่น", required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text="บรรทัดละหนึ่งคน: ชื่อผู้ใช้ | ชื่อ-สกุล | ตำแหน่ง | รหัสหน่วยงาน | บทบาท "
                  "(registry_clerk, executive, officer, agency_admin คั่นด้วย ,)",
    )

    def __init__(self, *args: Any, person: Person, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parent = self.fields["parent"]
        assert isinstance(parent, forms.ModelChoiceField)
        if person.is_superuser:
            parent.queryset = Agency.objects.all()
            parent.help_text = "เว้นว่างสำหรับส่วนราชการระดับบนสุด"
        else:
            paths = RoleGrant.objects.filter(person=person, role=Role.AGENCY_ADMIN).values_list(
                "unit__path", flat=True)
            within = Q(pk__in=[])
            for path in paths:
                within |= Q(path__startswith=path)
            parent.queryset = Agency.objects.filter(within)
            parent.required = True
        # 4 เลขเริ่มต้น: the next number of each series of the central registry this year
        for kind, label in SeriesKind.choices:
            self.fields[f"start_{kind}"] = forms.IntegerField(
                label=label, required=False, min_value=1,
                help_text="เลขถัดไปที่จะออก (ต่อจากทะเบียนกระดาษ); เว้นว่าง = เริ่มที่ 1",
            )

    def start_fields(self) -> list[forms.BoundField]:
        return [self[f"start_{kind}"] for kind in SeriesKind.values]

    def clean_units(self) -> list[UnitSpec]:
        return parse_units(self.cleaned_data.get("units") or "")

    def clean_users(self) -> list[PersonSpec]:
        return parse_users(self.cleaned_data.get("users") or "")

    def spec(self) -> OnboardingSpec:
        data = self.cleaned_data
        return OnboardingSpec(
            name_th=data["name_th"], name_en=data["name_en"],
            short_name_th=data["short_name_th"], kind=data["kind"],
            letter_code=data["letter_code"], office_code=data["office_code"],
            parent=data["parent"], address=data["address"], phone=data["phone"],
            email=data["email"], units=tuple(data["units"]), users=tuple(data["users"]),
            registry_officer=PersonSpec(
                username=data["ro_username"], title_th=data["ro_title"],
                full_name_th=data["ro_full_name"], position_title=data["ro_position"],
                email=data["ro_email"],
            ),
            it_officer=PersonSpec(
                username=data["it_username"], title_th=data["it_title"],
                full_name_th=data["it_full_name"], position_title=data["it_position"],
                email=data["it_email"],
            ),
            start_numbers=tuple(
                StartNumber(series=kind, next_number=data[f"start_{kind}"])
                for kind in SeriesKind.values if data.get(f"start_{kind}")
            ),
        )
