"""The agency tree, the people, their positions, role grants and acting assignments.

One ``Agency`` row per node of the tree: ministries, departments, divisions and sub-units,
provinces and districts, local administrative organisations. A node with ``is_tenant`` set is
administered on its own (its own registries, people, series and settings); every node records
the tenant it belongs to, which is the boundary of the access rule.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q


class AgencyKind(models.TextChoices):
    MINISTRY = "ministry", "กระทรวง"
    DEPARTMENT = "department", "กรม/สำนักงาน"
    DIVISION = "division", "กอง/ศูนย์"
    SUBUNIT = "subunit", "กลุ่ม/ฝ่าย"
    PROVINCE = "province", "จังหวัด"
    DISTRICT = "district", "อำเภอ"
    PAO = "pao", "องค์การบริหารส่วนจังหวัด"
    CITY_MUNICIPALITY = "city_municipality", "เทศบาลนคร"
    TOWN_MUNICIPALITY = "town_municipality", "เทศบาลเมือง"
    SUBDISTRICT_MUNICIPALITY = "subdistrict_municipality", "เทศบาลตำบล"
    SAO = "sao", "องค์การบริหารส่วนตำบล"
    OFFICE = "office", "สำนักงาน/หน่วยงานอื่น"


LAO_KINDS = frozenset(
    {
        AgencyKind.PAO,
        AgencyKind.CITY_MUNICIPALITY,
        AgencyKind.TOWN_MUNICIPALITY,
        AgencyKind.SUBDISTRICT_MUNICIPALITY,
        AgencyKind.SAO,
    }
)


class Agency(models.Model):
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    tenant = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The separately administered agency this node belongs to (itself for one).",
    )
    is_tenant = models.BooleanField(default=False)
    # Materialised path of ids ("/1/4/9/") so a subtree is one prefix match.
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    kind = models.CharField(max_length=32, choices=AgencyKind.choices)
    name_th = models.CharField("ชื่อภาษาไทย", max_length=255)
    name_en = models.CharField("ชื่อภาษาอังกฤษ", max_length=255, blank=True)
    short_name_th = models.CharField("ชื่อย่อ", max_length=64, blank=True)
    letter_code = models.CharField(
        "รหัสตัวพยัญชนะ", max_length=16, blank=True, help_text="e.g. มท, นร, ชม"
    )
    office_code = models.CharField("รหัสส่วนราชการ", max_length=32, blank=True)
    address = models.TextField("ที่อยู่", blank=True)
    phone = models.CharField("โทรศัพท์", max_length=64, blank=True)
    email = models.EmailField("ไปรษณีย์อิเล็กทรอนิกส์", blank=True)
    has_registry = models.BooleanField("มีงานสารบรรณของตนเอง", default=False)
    exchange_code = models.CharField(
        "รหัสรับส่งหนังสือระหว่างหน่วยงาน",
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text="The agency's address in the exchange directory, unique across all nodes.",
    )
    thai_digits = models.BooleanField("ใช้เลขไทย", default=False)
    require_two_factor = models.BooleanField(
        "บังคับยืนยันตัวตนสองขั้นตอนสำหรับผู้บริหาร/ผู้ลงนามและผู้ดูแลระบบ",
        default=False,
        help_text="People holding the executive or agency-admin role in this agency must enrol "
        "a TOTP authenticator before they can work.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_tenant=False) | Q(tenant__isnull=True) | Q(tenant=models.F("id")),
                name="agency_tenant_is_self",
            )
        ]

    def __str__(self) -> str:
        return self.name_th

    @property
    def code_prefix(self) -> str:
        """The ``มท 0210.3`` part of a letter number."""
        return " ".join(p for p in (self.letter_code, self.office_code) if p)

    def is_within(self, other: Agency) -> bool:
        return self.path.startswith(other.path)

    def subtree(self) -> models.QuerySet[Agency]:
        return Agency.objects.filter(path__startswith=self.path)

    def ancestors(self) -> list[Agency]:
        ids = [int(p) for p in self.path.strip("/").split("/") if p]
        by_id = Agency.objects.in_bulk(ids)
        return [by_id[i] for i in ids if i in by_id]


class Person(AbstractUser):
    """A person who logs in: an official of one or more agencies on this node."""

    title_th = models.CharField("คำนำหน้า", max_length=32, blank=True)
    full_name_th = models.CharField("ชื่อ-สกุล", max_length=255, blank=True)
    agency = models.ForeignKey(
        Agency,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="people",
        help_text="The tenant agency this person belongs to.",
    )
    must_change_password = models.BooleanField(
        "ต้องเปลี่ยนรหัสผ่านเมื่อเข้าสู่ระบบครั้งถัดไป",
        default=False,
        help_text="Set for a password someone else chose (onboarding, an admin's reset).",
    )
    password_changed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "บุคลากร"
        verbose_name_plural = "บุคลากร"

    def display_name(self) -> str:
        name = self.full_name_th or self.get_full_name() or self.username
        return f"{self.title_th}{name}" if self.title_th else name


class Position(models.Model):
    """A post in a unit (ผู้อำนวยการศูนย์…), held by at most one person at a time."""

    unit = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="positions")
    title_th = models.CharField("ตำแหน่ง", max_length=255)
    title_en = models.CharField(max_length=255, blank=True)
    is_head = models.BooleanField("หัวหน้าหน่วยงาน", default=False)
    holder = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="positions"
    )

    class Meta:
        ordering = ["unit__path", "-is_head", "title_th"]

    def __str__(self) -> str:
        return self.title_th


class Role(models.TextChoices):
    REGISTRY_CLERK = "registry_clerk", "เจ้าหน้าที่สารบรรณ"
    EXECUTIVE = "executive", "ผู้บริหาร"
    OFFICER = "officer", "เจ้าหน้าที่ผู้ปฏิบัติ"
    AGENCY_ADMIN = "agency_admin", "ผู้ดูแลระบบของส่วนราชการ"


class RoleGrant(models.Model):
    """A role a person holds over a unit and everything below it."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="grants")
    unit = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="grants")
    role = models.CharField(max_length=32, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "unit", "role"], name="rolegrant_unique")
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.get_role_display()} · {self.unit}"


class ActingKind(models.TextChoices):
    ACTING = "acting", "รักษาราชการแทน"
    DELEGATED = "delegated", "ปฏิบัติราชการแทน"


class ActingAssignment(models.Model):
    """A person acting for a position between two dates (both inclusive, Bangkok days)."""

    position = models.ForeignKey(Position, on_delete=models.CASCADE, related_name="acting")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="acting_for")
    kind = models.CharField(max_length=16, choices=ActingKind.choices)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="acting_dates_in_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.get_kind_display()} {self.position}"

    def is_active_on(self, day: dt.date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


class SignInSession(models.Model):
    """A signed-in web session of a person, listed on their account security page.

    The Django session holds the sign-in itself; this row says where and when it is used, so
    the person can see it and end it (``saraban.agencies.security.session_revoke``).
    """

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="sign_in_sessions")
    session_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.person} · {self.ip or '-'} · {self.created_at:%Y-%m-%d %H:%M}"
