"""The audit trail in the admin: read-only for everyone, scoped to the user's tenants."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from saraban.agencies.admin import TenantScopedAdmin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(TenantScopedAdmin):
    tenant_field = "agency_id"
    read_only = True
    list_display = ("created_at", "agency", "seq", "action", "actor_name", "position_title",
                    "target_type", "target_id")
    list_filter = ("action", "target_type")
    search_fields = ("action", "actor_name", "target_type")
    list_select_related = ("agency",)
    ordering = ("-created_at",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in AuditEvent._meta.fields]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
