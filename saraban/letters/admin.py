"""Registries and series in the scoped admin; letters only as a read-only list.

Registered records are immutable and every letter is read through the access rule, so the
letter list is ``visible_letters(user)`` and nobody may add, change or delete one here. Number
series are view-only: numbers are issued by ``issue_number`` and first numbers are set at
onboarding (``series_set_start``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from saraban.agencies.admin import TenantScopedAdmin

from .access import visible_letters
from .models import Letter, Registry, Series, SeriesYear


@admin.register(Registry)
class RegistryAdmin(TenantScopedAdmin):
    tenant_field = "tenant_id"
    can_add = False  # opened by onboarding (registry_open), with its series
    can_delete = False
    list_display = ("name_th", "unit", "is_central", "number_prefix")
    list_select_related = ("unit",)
    fields = ("unit", "is_central", "name_th", "number_prefix")
    readonly_fields = ("unit", "is_central")


class SeriesYearInline(admin.TabularInline):  # type: ignore[type-arg]
    model = SeriesYear
    fields = ("year_be", "last_number")
    readonly_fields = ("year_be", "last_number")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Series)
class SeriesAdmin(TenantScopedAdmin):
    tenant_field = "registry__tenant_id"
    read_only = True
    list_display = ("registry", "kind")
    list_filter = ("kind",)
    list_select_related = ("registry",)
    inlines = (SeriesYearInline,)


@admin.register(Letter)
class LetterAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A read-only list of the letters the user may see (the same rule as everywhere)."""

    list_display = ("subject", "direction", "kind", "number", "letter_date", "unit")
    list_filter = ("direction", "kind", "urgency")
    search_fields = ("subject", "number")
    list_select_related = ("unit",)
    exclude = ("secret_readers",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Letter]:
        user = request.user
        if not user.is_authenticated:
            return Letter.objects.none()
        return visible_letters(user).select_related("unit")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Letter._meta.fields]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
