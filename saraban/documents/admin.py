"""The letterhead (emblem image and contact lines) of an agency, set up by its agency admin."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from saraban.agencies.admin import TenantScopedAdmin

from .models import Letterhead

_MAX_EMBLEM = 2 * 1024 * 1024


class LetterheadForm(forms.ModelForm):  # type: ignore[type-arg]
    emblem_file = forms.FileField(
        label="ภาพตราครุฑ/ตราส่วนราชการ (PNG หรือ SVG)", required=False,
        help_text="พิมพ์สูง 3 ซม. กลางหน้ากระดาษ (1.5 ซม. บนบันทึกข้อความ)",
    )

    class Meta:
        model = Letterhead
        fields = ["agency", "address", "phone", "email"]

    def clean_emblem_file(self) -> bytes | None:
        upload = self.cleaned_data.get("emblem_file")
        if upload is None:
            return None
        if upload.size > _MAX_EMBLEM:
            raise forms.ValidationError("ไฟล์ภาพใหญ่เกิน 2 MB")
        data: bytes = upload.read()
        head = data[:512].lstrip()
        if not (data.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith((b"<svg", b"<?xml"))):
            raise forms.ValidationError("รองรับเฉพาะไฟล์ PNG หรือ SVG")
        return data

    def save(self, commit: bool = True) -> Letterhead:
        head: Letterhead = super().save(commit=False)
        emblem = self.cleaned_data.get("emblem_file")
        if emblem is not None:
            head.emblem = emblem
        if commit:
            head.save()
        return head


@admin.register(Letterhead)
class LetterheadAdmin(TenantScopedAdmin):
    form = LetterheadForm
    tenant_field = "agency__tenant_id"
    list_display = ["agency", "phone", "email", "has_emblem"]

    @admin.display(boolean=True, description="มีภาพตรา")
    def has_emblem(self, obj: Letterhead) -> bool:
        return bool(obj.emblem)

