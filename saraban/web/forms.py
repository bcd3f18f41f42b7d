"""Forms of the registration screens: they parse what the clerk typed, nothing more.

The rules (required sender, subkind of a kind, secret series, file types by content …) live in
``saraban.letters.services``; a form only turns text into the values an action takes, so the
API and the web give the same answers. Dates are typed as พ.ศ. (``23/11/2569``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet

from saraban.agencies.actors import positions_for
from saraban.agencies.models import ActingKind, Agency, Person
from saraban.core.thai import BE_OFFSET, arabic_digits
from saraban.letters.access import registries_for
from saraban.letters.models import (
    SUBKINDS_OF,
    Channel,
    LetterKind,
    LetterSubkind,
    Registry,
    Secrecy,
    SeriesKind,
    Urgency,
)

_DATE_BE = re.compile(r"^\s*(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})\s*$")
_DATE_ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")


def parse_thai_date(text: str) -> dt.date:
    """A date typed as วัน/เดือน/ปี พ.ศ. (Thai or Arabic digits), or ISO ``yyyy-mm-dd``.

    A year below 2400 is taken as ค.ศ.

    >>> parse_thai_date("23/11/2569")
    datetime.date(2026, 11, 23)
    >>> parse_thai_date("๒๓/๑๑/๒๕๖๙")
    datetime.date(2026, 11, 23)
    >>> parse_thai_date("2026-11-23")
    datetime.date(2026, 11, 23)
    """
    value = arabic_digits(text)
    if m := _DATE_BE.match(value):
        day, month, year = int(m[1]), int(m[2]), int(m[3])
    elif m := _DATE_ISO.match(value):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    else:
        raise ValueError(text)
    if year >= 2400:
        year -= BE_OFFSET
    return dt.date(year, month, day)


class ThaiDateField(forms.Field):
    """A text field for a date in พ.ศ.; cleans to a ``datetime.date`` (ค.ศ.)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"placeholder": "วว/ดด/ปปปป (พ.ศ.) เช่น 23/11/2569",
                                   "inputmode": "numeric", "autocomplete": "off"}),
        )
        kwargs.setdefault("help_text", "วัน/เดือน/ปี พุทธศักราช เช่น 23/11/2569")
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> dt.date | None:
        if isinstance(value, dt.date):
            return value
        text = str(value or "").strip()
        if not text:
            return None
        try:
            return parse_thai_date(text)
        except ValueError:
            raise forms.ValidationError(
                "วันที่ไม่ถูกต้อง กรุณาพิมพ์เป็น วัน/เดือน/ปี พ.ศ. เช่น 23/11/2569",
                code="bad_date",
            ) from None


class SubkindSelect(forms.Select):
    """Each option carries ``data-kind`` so register.js can show only the kind's subkinds."""

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        value = str(option["value"])
        kinds = [k for k, subs in SUBKINDS_OF.items() if value in subs]
        if kinds:
            option["attrs"]["data-kind"] = " ".join(kinds)
        return option


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one ``<input type=file multiple>``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile[bytes]]:
        items = data if isinstance(data, list | tuple) else [data]
        return [f for f in (super(MultipleFileField, self).clean(d, initial) for d in items) if f]


def agency_choices() -> QuerySet[Agency]:
    return Agency.objects.filter(is_active=True).order_by("path")


class AgencyChoiceField(forms.ModelChoiceField[Agency]):
    """An agency of the tree, indented by its depth."""

    def label_from_instance(self, obj: Agency) -> str:
        depth = max(obj.path.count("/") - 2, 0)
        return "\u00a0\u00a0" * depth + obj.name_th


class PeopleField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    """People of the agency, by their Thai names."""

    def label_from_instance(self, obj: Person) -> str:
        return obj.display_name()


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class LetterForm(forms.Form):
    """What incoming and outgoing registrations share."""

    registry = forms.ModelChoiceField(queryset=Registry.objects.none(), label="ทะเบียนของ",
                                      empty_label=None)
    position = forms.TypedChoiceField(label="ปฏิบัติในตำแหน่ง", coerce=int, required=False)
    kind = forms.ChoiceField(label="ชนิดหนังสือ", choices=LetterKind.choices,
                             initial=LetterKind.EXTERNAL)
    subkind = forms.ChoiceField(
        label="ประเภทย่อย", required=False,
        choices=[("", "—"), *LetterSubkind.choices], widget=SubkindSelect,
    )
    urgency = forms.TypedChoiceField(label="ชั้นความเร็ว", choices=Urgency.choices, coerce=int,
                                     initial=Urgency.NORMAL)
    secrecy = forms.TypedChoiceField(label="ชั้นความลับ", choices=Secrecy.choices, coerce=int,
                                     initial=Secrecy.NORMAL)
    secret_readers = PeopleField(
        queryset=Person.objects.none(), required=False, label="ผู้มีสิทธิ์อ่านหนังสือลับ",
        help_text="เฉพาะหนังสือลับ: ผู้ลงทะเบียนมีสิทธิ์อ่านเสมอ",
    )
    recipient_text = forms.CharField(label="ถึง", max_length=255, required=False)
    subject = forms.CharField(label="เรื่อง", max_length=500, required=False)
    salutation = forms.CharField(label="เรียน", max_length=255, required=False)
    references = forms.CharField(label="อ้างถึง", required=False,
                                 widget=forms.Textarea(attrs={"rows": 2}),
                                 help_text="บรรทัดละหนึ่งรายการ")
    enclosures = forms.CharField(label="สิ่งที่ส่งมาด้วย", required=False,
                                 widget=forms.Textarea(attrs={"rows": 2}),
                                 help_text="บรรทัดละหนึ่งรายการ")
    main_file = forms.FileField(
        label="ไฟล์หนังสือ (PDF หรือภาพสแกน)", required=False,
        help_text="ไม่แนบไฟล์ก็ได้: บันทึกเป็นหนังสือฉบับกระดาษ (เฉพาะรายละเอียด)",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/*"}),
    )
    attachments = MultipleFileField(label="ไฟล์สิ่งที่ส่งมาด้วย")
    remarks = forms.CharField(label="หมายเหตุ", max_length=500, required=False)

    def __init__(self, *args: Any, user: Person, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        registries = registries_for(user).order_by("-is_central", "unit__path")
        registry_field = self.fields["registry"]
        assert isinstance(registry_field, forms.ModelChoiceField)
        registry_field.queryset = registries
        first = registries.first()
        if first is not None:
            registry_field.initial = first.pk
        position_field = self.fields["position"]
        assert isinstance(position_field, forms.ChoiceField)
        choices = positions_for(user)
        acting = dict(ActingKind.choices)
        position_field.choices = [
            (p.pk, f"{acting[kind]} {p.title_th}" if kind else f"{p.title_th} ({p.unit.name_th})")
            for p, kind in choices
        ]
        if len(choices) <= 1:
            position_field.widget = forms.HiddenInput()
        readers = self.fields["secret_readers"]
        assert isinstance(readers, forms.ModelMultipleChoiceField)
        readers.queryset = Person.objects.filter(
            agency_id=user.agency_id or 0, is_active=True
        ).order_by("full_name_th", "username")

    def clean_position(self) -> int | None:
        value = self.cleaned_data.get("position")
        return int(value) if value not in (None, "") else None

    @property
    def has_position_choice(self) -> bool:
        return not isinstance(self.fields["position"].widget, forms.HiddenInput)


class IncomingForm(LetterForm):
    number = forms.CharField(label="ที่", max_length=128, required=False,
                             help_text="เลขที่หนังสือของผู้ส่ง เช่น มท 0307/123")
    letter_date = ThaiDateField(label="ลงวันที่", required=False)
    sender_agency = AgencyChoiceField(queryset=Agency.objects.none(), required=False,
                                      label="จาก (หน่วยงานในระบบ)", empty_label="— ไม่ระบุ —")
    sender_text = forms.CharField(label="จาก (พิมพ์ชื่อ)", max_length=255, required=False,
                                  help_text="ใช้เมื่อผู้ส่งไม่อยู่ในรายชื่อหน่วยงาน")

    field_order = [
        "registry", "position", "kind", "subkind", "urgency", "secrecy", "secret_readers",
        "number", "letter_date", "sender_agency", "sender_text", "recipient_text", "subject",
        "salutation", "references", "enclosures", "main_file", "attachments", "remarks",
    ]

    def __init__(self, *args: Any, user: Person, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        sender = self.fields["sender_agency"]
        assert isinstance(sender, forms.ModelChoiceField)
        sender.queryset = agency_choices()


SERIES_CHOICES = [
    (SeriesKind.OUTGOING.value, "หนังสือส่ง"),
    (SeriesKind.CIRCULAR.value, "หนังสือเวียน (ว)"),
    (SeriesKind.ORDER.value, "คำสั่ง"),
    (SeriesKind.ANNOUNCEMENT.value, "ประกาศ"),
]


class OutgoingForm(LetterForm):
    series_kind = forms.ChoiceField(
        label="ออกเลขจากทะเบียน", choices=SERIES_CHOICES, initial=SeriesKind.OUTGOING,
        help_text="หนังสือลับออกเลขจากทะเบียนหนังสือส่ง (ลับ) โดยอัตโนมัติ",
    )

    field_order = [
        "registry", "position", "series_kind", "kind", "subkind", "urgency", "secrecy",
        "secret_readers", "recipient_text", "subject", "salutation", "references",
        "enclosures", "main_file", "attachments", "remarks",
    ]


class RecipientForm(forms.Form):
    """One row of the recipients of an outgoing letter; an empty row is ignored."""

    agency = AgencyChoiceField(queryset=Agency.objects.none(), required=False, label="หน่วยงาน",
                               empty_label="— พิมพ์ชื่อแทน —")
    text = forms.CharField(label="ชื่อผู้รับ", max_length=255, required=False)
    channel = forms.ChoiceField(label="ช่องทาง", choices=Channel.choices,
                                initial=Channel.SARABAN)
    address = forms.CharField(label="อีเมล", max_length=255, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        agency = self.fields["agency"]
        assert isinstance(agency, forms.ModelChoiceField)
        agency.queryset = agency_choices()

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return data.get("agency") is None and not (data.get("text") or "").strip()


RecipientFormSet = forms.formset_factory(RecipientForm, extra=3, max_num=50)


class CancelForm(forms.Form):
    reason = forms.CharField(label="เหตุผลที่ยกเลิก", max_length=500, required=False,
                             widget=forms.Textarea(attrs={"rows": 3}))
    position = forms.IntegerField(required=False, widget=forms.HiddenInput)


class HandOverForm(forms.Form):
    to_registry = forms.ModelChoiceField(queryset=Registry.objects.none(),
                                         label="ส่งต่อให้หน่วยงาน", empty_label=None)
    note = forms.CharField(label="หมายเหตุ", max_length=500, required=False)
    position = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, registries: QuerySet[Registry], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["to_registry"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = registries
