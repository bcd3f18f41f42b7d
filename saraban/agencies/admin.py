"""A scoped Django admin for setting up an agency: its units, people, posts and roles.

A superuser sees everything. A staff member with an ``agency_admin`` role grant sees and edits
only the rows of the tenant agencies they administer (``TenantScopedAdmin``); a row of another
tenant is answered with 404, as if it did not exist. Writes here bypass the action layer, so
the admin edits only the organisation set-up models, and every save or delete writes an
``admin_change`` audit event on the tenant's chain in the same transaction.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db import models, transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponse

from saraban.core.audit import audit_record

from .actors import Actor
from .models import ActingAssignment, Agency, Person, Position, Role, RoleGrant
from .security import password_reset_by_admin
from .services import agency_create

__all__ = ["TenantScopedAdmin", "admin_tenant_ids"]


def _person(request: HttpRequest) -> Person:
    user = request.user
    assert isinstance(user, Person)
    return user


def admin_tenant_ids(request: HttpRequest) -> frozenset[int] | None:
    """The tenants this request's user administers; ``None`` for a superuser (all of them)."""
    user = request.user
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return None
    cached: frozenset[int] | None = getattr(request, "_saraban_admin_tenants", None)
    if cached is None:
        cached = frozenset(
            tid
            for tid in RoleGrant.objects.filter(person=user, role=Role.AGENCY_ADMIN)
            .values_list("unit__tenant_id", flat=True)
            if tid is not None
        )
        request._saraban_admin_tenants = cached  # type: ignore[attr-defined]
    return cached


# How to reach a related model's tenant, for limiting foreign-key choices.
_TENANT_OF_RELATED: dict[type[models.Model], str] = {
    Agency: "tenant_id",
    Person: "agency_id",
    Position: "unit__tenant_id",
}


class TenantScopedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows limited to the user's tenants; writes audited as ``admin_change``.

    ``tenant_field`` is the lookup from the model to its tenant's id. Set ``read_only`` for a
    model nobody may add, change or delete here.
    """

    tenant_field: str = "tenant_id"
    read_only: bool = False
    can_add: bool = True
    can_delete: bool = True

    # --- scope ----------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        tenants = admin_tenant_ids(request)
        if tenants is None:
            return qs
        return qs.filter(**{f"{self.tenant_field}__in": tenants})

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None
                   ) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("ไม่พบรายการ หรือท่านไม่มีสิทธิ์เข้าถึง")
        return obj

    def _allowed(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        tenants = admin_tenant_ids(request)
        if tenants is None:
            return True
        if not tenants:
            return False
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self.read_only and self._allowed(request, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return not self.read_only and self.can_add and self._allowed(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self.read_only and self.can_delete and self._allowed(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any
                                 ) -> Any:
        tenants = admin_tenant_ids(request)
        related = db_field.related_model
        if tenants is not None and related in _TENANT_OF_RELATED:
            lookup = _TENANT_OF_RELATED[related]
            kwargs["queryset"] = related._default_manager.filter(**{f"{lookup}__in": tenants})
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # --- audit ----------------------------------------------------------------------------

    def tenant_of(self, obj: Any) -> int | None:
        value = obj
        for part in self.tenant_field.split("__"):
            if value is None:
                return None
            value = getattr(value, part)
        return value if isinstance(value, int) else None

    def _audit(self, request: HttpRequest, obj: Any, tenant_id: int | None, op: str,
               fields: list[str]) -> None:
        if tenant_id is None:
            return
        audit_record(
            agency_id=tenant_id, action="admin_change", actor=Actor(person=_person(request)),
            target_type=obj._meta.model_name, target_id=obj.pk,
            details={"op": op, "model": obj._meta.label, "object": str(obj)[:200],
                     "fields": fields},
        )

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool
                   ) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            self._audit(request, obj, self.tenant_of(obj), "change" if change else "add",
                        sorted(form.changed_data))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            tenant_id, pk = self.tenant_of(obj), obj.pk
            super().delete_model(request, obj)
            obj.pk = pk
            self._audit(request, obj, tenant_id, "delete", [])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)


@admin.register(Agency)
class AgencyAdmin(TenantScopedAdmin):
    """Names, codes and contacts of agencies; a new unit goes through ``agency_create`` so
    its path and tenant are right. A new tenant agency is onboarded (web:onboarding)."""

    tenant_field = "tenant_id"
    can_delete = False
    list_display = ("name_th", "kind", "letter_code", "office_code", "is_tenant", "has_registry")
    list_filter = ("kind", "is_tenant")
    search_fields = ("name_th", "name_en", "letter_code", "office_code")
    fields = ("parent", "kind", "name_th", "name_en", "short_name_th", "letter_code",
              "office_code", "address", "phone", "email", "thai_digits", "require_two_factor",
              "is_active")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("parent", "kind") if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool
                   ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = {f: form.cleaned_data[f] for f in self.fields if f not in {"parent", "kind",
                                                                          "name_th"}}
        with transaction.atomic():
            created = agency_create(kind=obj.kind, name_th=obj.name_th, parent=obj.parent,
                                    **data)
            obj.pk = created.pk
            obj.path, obj.tenant_id = created.path, created.tenant_id
            self._audit(request, obj, created.tenant_id, "add", sorted(form.changed_data))

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False,
                 **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None and "parent" in form.base_fields:
            form.base_fields["parent"].required = True  # a root is onboarded, not added here
        return form


@admin.register(Person)
class PersonAdmin(TenantScopedAdmin, UserAdmin):  # type: ignore[type-arg]
    tenant_field = "agency_id"
    list_display = ("username", "full_name_th", "agency", "is_active", "is_staff")
    list_filter = ("is_active", "is_staff")
    search_fields = ("username", "full_name_th", "email")
    ordering = ("username",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("ข้อมูลบุคคล", {"fields": ("title_th", "full_name_th", "first_name", "last_name",
                                     "email", "agency")}),
        ("สิทธิ์", {"fields": ("is_active", "must_change_password", "is_staff", "is_superuser",
                               "groups", "user_permissions")}),
        ("วันที่", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"fields": ("username", "password1", "password2", "title_th", "full_name_th",
                           "agency")}),
    )
    readonly_fields = ("last_login", "date_joined")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if admin_tenant_ids(request) is not None:
            qs = qs.filter(is_superuser=False)
        return qs

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool
                   ) -> None:
        if not change and obj.has_usable_password():
            obj.must_change_password = True  # the admin chose it: changed at first sign-in
        super().save_model(request, obj, form, change)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = ""
                             ) -> HttpResponse:
        response: HttpResponse = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            person = self.get_object(request, id)
            if person is not None:
                password_reset_by_admin(actor=Actor(person=_person(request)), person=person)
        return response

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False,
                 **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if admin_tenant_ids(request) is not None and "agency" in form.base_fields:
            form.base_fields["agency"].required = True  # else the person leaves their scope
        return form

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if admin_tenant_ids(request) is None:
            return fieldsets
        hidden = {"is_superuser", "groups", "user_permissions"}
        return tuple(
            (name, {**opts, "fields": tuple(f for f in opts["fields"] if f not in hidden)})
            for name, opts in fieldsets
        )


@admin.register(Position)
class PositionAdmin(TenantScopedAdmin):
    tenant_field = "unit__tenant_id"
    list_display = ("title_th", "unit", "holder", "is_head")
    search_fields = ("title_th", "unit__name_th", "holder__username", "holder__full_name_th")
    list_select_related = ("unit", "holder")


@admin.register(RoleGrant)
class RoleGrantAdmin(TenantScopedAdmin):
    tenant_field = "unit__tenant_id"
    list_display = ("person", "role", "unit")
    list_filter = ("role",)
    list_select_related = ("person", "unit")


@admin.register(ActingAssignment)
class ActingAssignmentAdmin(TenantScopedAdmin):
    tenant_field = "position__unit__tenant_id"
    list_display = ("person", "kind", "position", "starts_on", "ends_on")
    list_filter = ("kind",)
    list_select_related = ("person", "position")
