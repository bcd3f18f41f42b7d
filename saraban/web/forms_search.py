"""The search form: one box plus filters, each checked against what the person may choose.

The choices offered (registries, units, years) are those of the signed-in person, so a value
outside them (a hand-edited URL) is refused with a Thai message instead of being searched.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import Q, QuerySet

from saraban.agencies.models import Agency, Person
from saraban.core.thai import parse_be_year, today_bangkok
from saraban.letters.access import registries_for, viewable_registries, visible_letters
from saraban.letters.models import Direction, LetterKind, Registry, Urgency
from saraban.search.models import LetterStatus, SearchEntry
from saraban.search.query import Filters

from .forms import ThaiDateField

MAX_QUERY = 500  # the engine refuses longer queries (code query_too_long)

ORDER_CHOICES = [("newest", "ใหม่ล่าสุด"), ("relevance", "ตรงที่สุด")]


def searchable_registries(person: Person) -> QuerySet[Registry]:
    """Registries whose letters the person may filter by: those they browse or register in."""
    return (
        Registry.objects.filter(
            Q(pk__in=viewable_registries(person).values("pk"))
            | Q(pk__in=registries_for(person).values("pk"))
        )
        .select_related("unit")
        .order_by("unit__path", "pk")
    )


def agency_units(person: Person) -> QuerySet[Agency]:
    """The units of the person's own agency (the tenant), in tree order."""
    return Agency.objects.filter(tenant_id=person.agency_id).order_by("path")


def search_years(person: Person) -> list[int]:
    """Buddhist years of the letters the person may see, and this year, newest first."""
    years = set(
        SearchEntry.objects.filter(
            tenant_id=person.agency_id, letter_id__in=visible_letters(person).values("pk")
        )
        .order_by()
        .values_list("year_be", flat=True)
        .distinct()
    )
    years.add(today_bangkok().year + 543)
    return sorted(years, reverse=True)


def _choices(blank: str, items: list[tuple[Any, str]]) -> list[tuple[str, str]]:
    return [("", blank), *[(str(value), str(label)) for value, label in items]]


class SearchForm(forms.Form):
    """``q`` and the filters of the search page; every field is optional."""

    q = forms.CharField(
        label="คำค้น",
        required=False,
        max_length=MAX_QUERY,
        error_messages={"max_length": "คำค้นยาวเกินไป (ไม่เกิน %(limit_value)d ตัวอักษร)"},
        widget=forms.TextInput(attrs={
            "type": "search", "placeholder": "ค้นหาหนังสือ เลขที่ เรื่อง ผู้ส่ง …",
            "autocomplete": "off", "aria-label": "คำค้น",
        }),
    )
    year = forms.CharField(label="ปี พ.ศ.", required=False, max_length=8)
    registry = forms.ChoiceField(label="ทะเบียน", required=False)
    kind = forms.ChoiceField(
        label="ชนิดหนังสือ", required=False, choices=_choices("ทุกชนิด", LetterKind.choices)
    )
    urgency = forms.ChoiceField(
        label="ชั้นความเร็ว", required=False, choices=_choices("ทุกชั้นความเร็ว", Urgency.choices)
    )
    unit = forms.ChoiceField(label="หน่วยงาน", required=False)
    status = forms.ChoiceField(
        label="สถานะ", required=False, choices=_choices("ทุกสถานะ", LetterStatus.choices)
    )
    direction = forms.ChoiceField(
        label="รับ/ส่ง", required=False, choices=_choices("ทั้งรับและส่ง", Direction.choices)
    )
    date_from = ThaiDateField(label="ลงวันที่ตั้งแต่", required=False, help_text="")
    date_to = ThaiDateField(label="ถึงวันที่", required=False, help_text="")
    order = forms.ChoiceField(label="เรียงตาม", required=False, choices=ORDER_CHOICES)

    def __init__(self, data: Any, *, person: Person) -> None:
        super().__init__(data)
        registries = list(searchable_registries(person))
        self.years = search_years(person)
        self.fields["year"].widget = forms.Select(
            choices=_choices("ทุกปี", [(y, str(y)) for y in self.years])
        )
        choice_fields: dict[str, tuple[str, list[tuple[Any, str]]]] = {
            "registry": ("ทุกทะเบียน", [(r.pk, r.name_th) for r in registries]),
            "unit": ("ทุกหน่วยงาน", [(u.pk, u.name_th) for u in agency_units(person)]),
        }
        for name, (blank, items) in choice_fields.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = _choices(blank, items)
        for field in self.fields.values():
            field.error_messages["invalid_choice"] = "ค่าที่เลือกไม่ถูกต้อง"

    def clean_year(self) -> int | None:
        text: str = self.cleaned_data.get("year") or ""
        if not text.strip():
            return None
        try:
            year = parse_be_year(text)
        except ValueError:
            raise forms.ValidationError("ปี พ.ศ. ไม่ถูกต้อง") from None
        if not 2400 <= year <= 2700:
            raise forms.ValidationError("ปี พ.ศ. ไม่ถูกต้อง")
        return year

    def _int_or_none(self, name: str) -> int | None:
        value: str = self.cleaned_data.get(name) or ""
        return int(value) if value else None

    def clean_registry(self) -> int | None:
        return self._int_or_none("registry")

    def clean_urgency(self) -> int | None:
        return self._int_or_none("urgency")

    def clean_unit(self) -> int | None:
        return self._int_or_none("unit")

    def clean_order(self) -> str:
        return str(self.cleaned_data.get("order") or "newest")

    def clean(self) -> dict[str, Any] | None:
        data = super().clean() or {}
        start: dt.date | None = data.get("date_from")
        end: dt.date | None = data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "วันที่สิ้นสุดต้องไม่ก่อนวันที่เริ่มต้น")
        return data

    def filters(self) -> Filters:
        """The engine's ``Filters`` for a valid form."""
        data = self.cleaned_data
        return Filters(
            year_be=data.get("year"),
            registry_id=data.get("registry"),
            kind=data.get("kind") or "",
            urgency=data.get("urgency"),
            unit_id=data.get("unit"),
            status=data.get("status") or "",
            direction=data.get("direction") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )

    @property
    def has_filters(self) -> bool:
        """Whether any filter (not the query or the order) was given."""
        return any(self.data.get(name) for name in self.fields if name not in ("q", "order"))
