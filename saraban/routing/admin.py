"""Routing in the Django admin: delegation rules per agency, and read-only routing records.

An agency admin sets who may endorse for whom (``DelegationRule``) for their own tenant only,
through the same ``TenantScopedAdmin`` as the organisation set-up (rows of another tenant are
404, every save is audited as ``admin_change``). A rule's tenant is the principal post's
agency; both posts must belong to it. Endorsements and assignments are written only by the
routing actions: superusers may look at them here, nobody may change them.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from saraban.agencies.admin import TenantScopedAdmin

from .models import Assignment, DelegationRule, Endorsement


class DelegationRuleForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = DelegationRule
        fields = ("principal", "delegate")

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        principal, delegate = data.get("principal"), data.get("delegate")
        if principal is not None and delegate is not None:
            if principal.pk == delegate.pk:
                raise forms.ValidationError("ตำแหน่งผู้มอบและผู้รับมอบต้องไม่ใช่ตำแหน่งเดียวกัน")
            if principal.unit.tenant_id != delegate.unit.tenant_id:
                raise forms.ValidationError("มอบอำนาจได้เฉพาะภายในส่วนราชการเดียวกัน")
        return data


@admin.register(DelegationRule)
class DelegationRuleAdmin(TenantScopedAdmin):
    """Who may endorse for whom (ผู้รับมอบอำนาจเกษียนแทน), per agency."""

    form = DelegationRuleForm
    tenant_field = "tenant_id"
    list_display = ("principal", "delegate", "tenant")
    list_select_related = ("principal", "delegate", "tenant")
    search_fields = ("principal__title_th", "delegate__title_th")

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool
                   ) -> None:
        obj.tenant_id = obj.principal.unit.tenant_id
        super().save_model(request, obj, form, change)


class SuperuserReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Visible to superusers only, and never editable: the actions write these rows."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Endorsement)
class EndorsementAdmin(SuperuserReadOnlyAdmin):
    list_display = ("letter", "text", "person_name", "position_title", "acting_kind",
                    "created_at")
    list_select_related = ("letter",)
    search_fields = ("text", "person_name")


@admin.register(Assignment)
class AssignmentAdmin(SuperuserReadOnlyAdmin):
    list_display = ("letter", "target_display", "purpose", "state", "due_at", "created_at")
    list_filter = ("state", "purpose")
    list_select_related = ("letter", "to_unit", "to_position", "to_person")
