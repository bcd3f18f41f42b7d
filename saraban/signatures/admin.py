"""Signing identities and trust roots in the scoped admin (agency admins see their tenant's).

Adding goes through the actions (``identity_add_pkcs12``, ``trust_root_add``): the file and
passphrase are checked first and nothing is stored when they are wrong; the passphrase is
never shown again. An identity is never deleted (its signatures name it): it is deactivated.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.forms import ModelForm
from django.http import HttpRequest

from saraban.agencies.actors import Actor
from saraban.agencies.admin import TenantScopedAdmin, admin_tenant_ids
from saraban.agencies.models import Person
from saraban.core.errors import SarabanError

from ._signers import load_p12
from .models import SigningIdentity, TrustRoot
from .services import MAX_P12_BYTES, check_root, identity_add_pkcs12, trust_root_add


def _actor(request: HttpRequest) -> Actor:
    user = request.user
    assert isinstance(user, Person)
    return Actor(person=user)


class IdentityAddForm(forms.ModelForm):  # type: ignore[type-arg]
    """A PKCS#12 file and its passphrase; checked before anything is stored."""

    p12_file = forms.FileField(label="ไฟล์ใบรับรอง (.p12/.pfx)")
    passphrase = forms.CharField(label="รหัสผ่านของไฟล์", widget=forms.PasswordInput,
                                 strip=False, max_length=256)
    keep_secret = forms.BooleanField(
        label="เก็บรหัสผ่านไว้ในระบบ (เฉพาะตราส่วนราชการที่ระบบประทับเอง)", required=False
    )

    class Meta:
        model = SigningIdentity
        fields = ("tenant", "person", "label")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        tenant, person = data.get("tenant"), data.get("person")
        if tenant is not None and not tenant.is_tenant:
            self.add_error("tenant", "ต้องเป็นส่วนราชการที่ดูแลตนเอง")
        elif tenant is not None and person is not None and person.agency_id != tenant.pk:
            self.add_error("person", "ผู้ลงนามต้องเป็นบุคลากรของส่วนราชการนี้")
        upload = data.get("p12_file")
        passphrase = data.get("passphrase") or ""
        if upload is None:
            return data
        if upload.size > MAX_P12_BYTES:
            self.add_error("p12_file", "ไฟล์ใบรับรองใหญ่เกินไป")
            return data
        content = upload.read()
        data["p12_bytes"] = content
        try:
            load_p12(content, passphrase)
        except SarabanError as exc:
            self.add_error("passphrase" if exc.field == "secret" else "p12_file", exc.message)
        return data


class TrustRootAddForm(forms.ModelForm):  # type: ignore[type-arg]
    certificate_file = forms.FileField(label="ไฟล์ใบรับรองหลัก (PEM หรือ DER)")

    class Meta:
        model = TrustRoot
        fields = ("tenant", "label")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("certificate_file")
        if upload is None:
            return data
        if upload.size > 64 * 1024:
            self.add_error("certificate_file", "ไฟล์ใบรับรองใหญ่เกินไป")
            return data
        data["pem"] = upload.read()
        try:
            check_root(data["pem"], tenant=data.get("tenant"))
        except SarabanError as exc:
            self.add_error("certificate_file", exc.message)
        return data


@admin.register(SigningIdentity)
class SigningIdentityAdmin(TenantScopedAdmin):
    tenant_field = "tenant_id"
    can_delete = False
    list_display = ("__str__", "person", "kind", "subject_name", "issuer_name", "not_after",
                    "active")
    list_filter = ("kind", "active")
    search_fields = ("label", "subject_name", "issuer_name", "person__username",
                     "person__full_name_th", "fingerprint")
    list_select_related = ("person", "tenant")
    readonly_fields = ("tenant", "person", "kind", "subject_name", "issuer_name", "serial",
                       "fingerprint", "not_before", "not_after", "created_at", "created_by",
                       "store_secret", "pkcs11_module", "pkcs11_token_label",
                       "pkcs11_key_label", "pkcs11_cert_label")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("tenant", "person", "label", "p12_file", "passphrase", "keep_secret")
        return ("label", "active", *self.readonly_fields)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.readonly_fields

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False,
                 **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = IdentityAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool
                   ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        with transaction.atomic():
            created = identity_add_pkcs12(
                actor=_actor(request), tenant=data["tenant"], person=data.get("person"),
                p12=data["p12_bytes"], passphrase=data["passphrase"],
                store_secret=bool(data.get("keep_secret")), label=data.get("label") or "",
            )
        obj.pk = created.pk
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if k != "_state"})


@admin.register(TrustRoot)
class TrustRootAdmin(TenantScopedAdmin):
    tenant_field = "tenant_id"
    list_display = ("__str__", "tenant", "fingerprint", "added_at")
    search_fields = ("label", "fingerprint")
    list_select_related = ("tenant",)
    readonly_fields = ("tenant", "certificate_pem", "fingerprint", "added_at", "added_by")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("tenant", "label", "certificate_file")
        return ("label", *self.readonly_fields)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.readonly_fields

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False,
                 **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = TrustRootAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None and admin_tenant_ids(request) is not None:
            form.base_fields["tenant"].required = True  # node-wide roots: superusers only
        return form

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool
                   ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = trust_root_add(
            actor=_actor(request), tenant=data.get("tenant"),
            pem=data["pem"], label=data.get("label") or "",
        )
        obj.pk = created.pk
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if k != "_state"})
