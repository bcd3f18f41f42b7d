"""Forms of the drafting screens: compose, recipients, submit, approve and sign.

As with the registration forms, they only turn what was typed into the values the actions of
``saraban.documents.services`` take; the rules (required subject, known agencies, who may be in
the chain …) live in the actions, so the API and the web give the same answers in Thai.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import (
    Case,
    Exists,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)

from saraban.agencies.actors import Actor, positions_for
from saraban.agencies.models import ActingKind, Agency, Person, Position, Role, RoleGrant
from saraban.documents.models import DEFAULT_SERIES, Draft
from saraban.documents.render import FORMS
from saraban.letters.models import Channel, Registry, Secrecy, Urgency

from .forms import AgencyChoiceField, agency_choices, lines

#: The forms a draft can be written in (the six of the regulation), with their Thai names.
FORM_CHOICES = [(name, FORMS[name]) for name in DEFAULT_SERIES]

#: Channels of a recipient: "auto" lets signing pick the exchange, e-mail or post.
CHANNEL_CHOICES = [("auto", "อัตโนมัติ (ระบบสารบรรณก่อน)"), *Channel.choices]

#: Thai names of the draft's fields, for the versions list and the comparison.
FIELD_LABELS = {
    "subject": "เรื่อง",
    "salutation": "เรียน",
    "addressee": "ถึง",
    "references": "อ้างถึง",
    "enclosures": "สิ่งที่ส่งมาด้วย",
    "body": "ข้อความ",
    "closing": "คำลงท้าย",
    "copies_to": "สำเนาส่ง",
    "owning_unit": "ส่วนราชการเจ้าของเรื่อง",
    "phone": "โทรศัพท์",
    "email": "ไปรษณีย์อิเล็กทรอนิกส์",
    "recipients": "ผู้รับ",
    "urgency": "ชั้นความเร็ว",
}

_LINES_HELP = "บรรทัดละหนึ่งรายการ"


def paragraphs(text: str) -> list[str]:
    """Paragraphs of the body: separated by a blank line; lines inside one are joined.

    >>> paragraphs("ด้วย...\\nต่อ\\n\\nจึงเรียนมา")
    ['ด้วย... ต่อ', 'จึงเรียนมา']
    """
    result: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.strip():
            current.append(line.strip())
        elif current:
            result.append(" ".join(current))
            current = []
    if current:
        result.append(" ".join(current))
    return result


def position_choices(person: Person) -> list[tuple[int, str]]:
    """The positions a person may act in (held, then acted for), as Thai labels."""
    acting = dict(ActingKind.choices)
    return [
        (p.pk, f"{acting[kind]} {p.title_th}" if kind else f"{p.title_th} ({p.unit.name_th})")
        for p, kind in positions_for(person)
    ]


class PositionMixin:
    """A ``position`` field: the post the person acts in, hidden when there is only one."""

    fields: dict[str, forms.Field]

    def setup_position(self, person: Person) -> None:
        choices = position_choices(person)
        field = forms.TypedChoiceField(label="ปฏิบัติในตำแหน่ง", coerce=int, required=False,
                                       choices=choices)
        if len(choices) <= 1:
            field.widget = forms.HiddenInput()
        self.fields["position"] = field

    @property
    def has_position_choice(self) -> bool:
        return not isinstance(self.fields["position"].widget, forms.HiddenInput)


def agency_registries(person: Person) -> QuerySet[Registry]:
    """The registries of the person's agency (a draft is numbered from one of them)."""
    return (Registry.objects.filter(tenant_id=person.agency_id or 0)
            .select_related("unit").order_by("unit__path"))


def nearest_registry(person: Person, actor: Actor) -> Registry | None:
    """The registry of the person's unit, or of the nearest unit above it; else the central."""
    registries = list(agency_registries(person))
    if not registries:
        return None
    if actor.position is not None:
        path = actor.position.unit.path
        above = [r for r in registries if path.startswith(r.unit.path)]
        if above:
            return max(above, key=lambda r: len(r.unit.path))
    central = [r for r in registries if r.is_central]
    return (central or registries)[0]


class DraftForm(PositionMixin, forms.Form):
    """The compose form. ``form``, ``registry`` and ``secrecy`` are chosen once, when the
    draft is started; the text, the urgency and the recipients can change in every version."""

    form = forms.ChoiceField(label="แบบหนังสือ", choices=FORM_CHOICES, initial="external")
    registry = forms.ModelChoiceField(queryset=Registry.objects.none(), label="ออกเลขจากทะเบียน",
                                      empty_label=None,
                                      help_text="เลขที่หนังสือออกเมื่อผู้ลงนามลงนามแล้วเท่านั้น")
    urgency = forms.TypedChoiceField(label="ชั้นความเร็ว", choices=Urgency.choices, coerce=int,
                                     initial=Urgency.NORMAL)
    secrecy = forms.TypedChoiceField(label="ชั้นความลับ", choices=Secrecy.choices, coerce=int,
                                     initial=Secrecy.NORMAL)
    subject = forms.CharField(label="เรื่อง", required=False)
    salutation = forms.CharField(label="เรียน", required=False)
    addressee = forms.CharField(label="ถึง (สำหรับบันทึกข้อความ/หนังสือประทับตรา)",
                                required=False)
    references = forms.CharField(label="อ้างถึง", required=False, help_text=_LINES_HELP,
                                 widget=forms.Textarea(attrs={"rows": 2}))
    enclosures = forms.CharField(label="สิ่งที่ส่งมาด้วย", required=False, help_text=_LINES_HELP,
                                 widget=forms.Textarea(attrs={"rows": 2}))
    body = forms.CharField(label="ข้อความ", required=False,
                           help_text="เว้นบรรทัดว่างหนึ่งบรรทัดระหว่างย่อหน้า",
                           widget=forms.Textarea(attrs={"rows": 12}))
    closing = forms.CharField(label="คำลงท้าย", required=False, initial="ขอแสดงความนับถือ")
    copies_to = forms.CharField(label="สำเนาส่ง", required=False, help_text=_LINES_HELP,
                                widget=forms.Textarea(attrs={"rows": 2}))
    owning_unit = forms.CharField(label="ส่วนราชการเจ้าของเรื่อง", required=False,
                                  help_text="เว้นว่างไว้เพื่อใช้ชื่อหน่วยงานของทะเบียน")
    phone = forms.CharField(label="โทรศัพท์", required=False)
    email = forms.CharField(label="ไปรษณีย์อิเล็กทรอนิกส์", required=False)
    note = forms.CharField(label="หมายเหตุการแก้ไข", required=False, max_length=500,
                           help_text="บันทึกไว้กับฉบับแก้ไขนี้ เช่น แก้ตามที่ผู้บังคับบัญชาสั่ง")

    TEXT = ("subject", "salutation", "addressee", "closing", "owning_unit", "phone", "email")
    LINES = ("references", "enclosures", "copies_to")

    def __init__(self, *args: Any, person: Person, actor: Actor, draft: Draft | None = None,
                 **kwargs: Any) -> None:
        if draft is not None and not args and "initial" not in kwargs:
            kwargs["initial"] = initial_of(draft)
        super().__init__(*args, **kwargs)
        self.draft = draft
        self.setup_position(person)
        registry = self.fields["registry"]
        assert isinstance(registry, forms.ModelChoiceField)
        registry.queryset = agency_registries(person)
        if draft is None:
            nearest = nearest_registry(person, actor)
            if nearest is not None:
                registry.initial = nearest.pk
            del self.fields["note"]
        else:
            # Fixed once the draft exists: shown on the page, not posted.
            for name in ("form", "registry", "secrecy"):
                del self.fields[name]
        if actor.position is not None and "position" in self.fields:
            self.fields["position"].initial = actor.position.pk

    def text_fields(self) -> dict[str, Any]:
        """The draft's text fields, as ``clean_fields`` takes them (call after is_valid)."""
        data = self.cleaned_data
        fields: dict[str, Any] = {name: data.get(name) or "" for name in self.TEXT}
        for name in self.LINES:
            fields[name] = lines(data.get(name) or "")
        fields["body"] = paragraphs(data.get("body") or "")
        return fields

    def clean_position(self) -> int | None:
        value = self.cleaned_data.get("position")
        return int(value) if value not in (None, "") else None


def initial_of(draft: Draft) -> dict[str, Any]:
    """The form's initial values from the latest version of a draft."""
    latest = draft.latest
    initial: dict[str, Any] = {"urgency": draft.urgency}
    for name in DraftForm.TEXT:
        initial[name] = latest.value(name)
    for name in DraftForm.LINES:
        initial[name] = "\n".join(latest.value(name))
    initial["body"] = "\n\n".join(latest.value("body"))
    return initial


class RecipientForm(forms.Form):
    """One addressee: an agency of the directory, or a name typed in; an empty row is skipped."""

    agency = AgencyChoiceField(queryset=Agency.objects.none(), required=False,
                               label="หน่วยงานในระบบ", empty_label="— พิมพ์ชื่อแทน —")
    text = forms.CharField(label="หรือพิมพ์ชื่อผู้รับ", max_length=255, required=False)
    channel = forms.ChoiceField(label="ช่องทาง", choices=CHANNEL_CHOICES, initial="auto")
    address = forms.CharField(label="อีเมล", max_length=255, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        agency = self.fields["agency"]
        assert isinstance(agency, forms.ModelChoiceField)
        agency.queryset = agency_choices()

    def as_recipient(self) -> dict[str, Any] | None:
        data = getattr(self, "cleaned_data", {})
        agency = data.get("agency")
        text = (data.get("text") or "").strip()
        if agency is None and not text:
            return None
        return {"agency": agency.pk if agency else None, "text": text,
                "channel": data.get("channel") or "auto", "address": data.get("address") or ""}


RecipientFormSet = forms.formset_factory(RecipientForm, extra=2, max_num=50)


def recipient_initial(draft: Draft) -> list[dict[str, Any]]:
    return [{"agency": r.get("agency"), "text": r.get("text", ""),
             "channel": r.get("channel", "auto"), "address": r.get("address", "")}
            for r in draft.recipients]


def recipients_of(formset: Any) -> list[dict[str, Any]]:
    """The recipients typed in a bound, valid formset, in order, without empty rows."""
    return [r for r in (row.as_recipient() for row in formset.forms) if r is not None]


class PersonChoiceField(forms.ModelChoiceField[Person]):
    """A person of the agency: name and position."""

    def label_from_instance(self, obj: Person) -> str:
        title = getattr(obj, "post_title", "") or ""
        return f"{obj.display_name()} ({title})" if title else obj.display_name()


def chain_people(tenant_id: int) -> QuerySet[Person]:
    """People of the agency who can be in a chain, executives first, then by name."""
    executive = RoleGrant.objects.filter(person=OuterRef("pk"), role=Role.EXECUTIVE)
    head = Position.objects.filter(holder=OuterRef("pk"), is_head=True)
    first_post = Position.objects.filter(holder=OuterRef("pk")).order_by("-is_head", "pk")
    return (
        Person.objects.filter(agency_id=tenant_id, is_active=True)
        .annotate(
            rank=Case(When(Exists(head) | Exists(executive), then=Value(0)), default=Value(1),
                      output_field=IntegerField()),
            post_title=Subquery(first_post.values("title_th")[:1]),
        )
        .order_by("rank", "full_name_th", "username")
    )


REVIEWER_ROWS = 3
MAX_REVIEWERS = 20


class SubmitForm(forms.Form):
    """Reviewers in order (empty rows are skipped) and the signer."""

    def __init__(self, *args: Any, tenant_id: int, rows: int = REVIEWER_ROWS,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = chain_people(tenant_id)
        posted = args[0] if args else kwargs.get("data")
        raw = str(posted.get("reviewer_rows") or "") if posted is not None else ""
        if raw.isdigit():  # rows added in the browser beyond the default ones
            rows = max(rows, min(int(raw), MAX_REVIEWERS))
        self.rows = rows
        for i in range(rows):
            self.fields[f"reviewer_{i}"] = PersonChoiceField(
                queryset=people, required=False, label=f"ผู้ตรวจ/กลั่นกรอง ลำดับที่ {i + 1}",
                empty_label="— ไม่มี —")
        self.fields["signer"] = PersonChoiceField(
            queryset=people, required=False, label="ผู้ลงนาม", empty_label="— เลือกผู้ลงนาม —")

    def reviewer_fields(self) -> list[forms.BoundField]:
        return [self[f"reviewer_{i}"] for i in range(self.rows)]

    def reviewers(self) -> list[Person]:
        data = self.cleaned_data
        return [p for p in (data.get(f"reviewer_{i}") for i in range(self.rows)) if p]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("signer") and not self.errors:
            self.add_error("signer", "กรุณาเลือกผู้ลงนาม")
        return data


class StepForm(PositionMixin, forms.Form):
    """Initial, return or sign: a comment, the password of the signing certificate."""

    comment = forms.CharField(label="ความเห็น", required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 2}))
    secret = forms.CharField(label="รหัสผ่านใบรับรอง (PIN)", required=False, strip=False,
                             widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
                             help_text="เว้นว่างได้เมื่อระบบเก็บรหัสของใบรับรองไว้แล้ว")

    def __init__(self, *args: Any, person: Person, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_position(person)

    def clean_position(self) -> int | None:
        value = self.cleaned_data.get("position")
        return int(value) if value not in (None, "") else None


class CancelDraftForm(forms.Form):
    reason = forms.CharField(label="เหตุผลที่ยกเลิก", required=False, max_length=500)
