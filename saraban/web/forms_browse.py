"""Forms of the browsing screens: sign-in and the register filters (Thai labels and errors)."""

from __future__ import annotations

from django import forms

from saraban.core.thai import parse_be_year, today_bangkok
from saraban.letters.models import Urgency


class LoginForm(forms.Form):
    username = forms.CharField(
        label="ชื่อผู้ใช้",
        max_length=150,
        error_messages={"required": "กรุณากรอกชื่อผู้ใช้"},
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label="รหัสผ่าน",
        strip=False,
        error_messages={"required": "กรุณากรอกรหัสผ่าน"},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


URGENCY_CHOICES = [("", "ทุกชั้นความเร็ว"), *[(str(v), str(label)) for v, label in Urgency.choices]]


class RegisterFilterForm(forms.Form):
    """Year (พ.ศ., Thai or Arabic digits), urgency and free text; all optional."""

    year = forms.CharField(label="ปี พ.ศ.", required=False, max_length=8)
    urgency = forms.ChoiceField(label="ชั้นความเร็ว", required=False, choices=URGENCY_CHOICES)
    q = forms.CharField(
        label="ค้นหา",
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "เรื่อง เลขที่ หรือผู้ส่ง"}
        ),
    )

    def clean_year(self) -> int:
        text: str = self.cleaned_data.get("year") or ""
        if not text.strip():
            return today_bangkok().year + 543
        try:
            year = parse_be_year(text)
        except ValueError:
            raise forms.ValidationError("ปี พ.ศ. ไม่ถูกต้อง") from None
        if not 2400 <= year <= 2700:
            raise forms.ValidationError("ปี พ.ศ. ไม่ถูกต้อง")
        return year

    def clean_urgency(self) -> int | None:
        value: str = self.cleaned_data.get("urgency") or ""
        return int(value) if value else None
