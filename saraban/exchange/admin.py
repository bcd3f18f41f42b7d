"""The exchange in the Django admin: for superusers only (it spans every tenant on the node).

The directory can be corrected here (a remote node's URL or certificate); an agency hosted
on this node keeps its code, agency and certificate, which ``agency_enrol`` set with its key.
Outbox and inbox are read-only lists for looking into a delivery; people act on them through
the UI, the API or ``saraban exchange``. A credential shows its certificate, never its key.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.forms import ModelForm
from django.http import HttpRequest

from saraban.agencies.actors import Actor
from saraban.agencies.models import Person
from saraban.core.audit import audit_record

from .models import (
    AgencyCredential,
    CertificateAnnouncement,
    DirectoryEntry,
    EcmsAccount,
    EcmsUnmatched,
    InboxMessage,
    OutboxMessage,
    ReceivedReport,
)


def _superuser(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


class SuperuserOnly(admin.ModelAdmin[Any]):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return _superuser(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _superuser(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DirectoryEntry)
class DirectoryEntryAdmin(SuperuserOnly):
    list_display = ("code", "name_th", "node_url", "agency", "updated_at")
    search_fields = ("code", "name_th", "node_url")
    fields = ("code", "name_th", "node_url", "agency", "certificate_pem", "channels",
              "ecms_department_id", "ecms_ministry_id", "ecms_node_url", "reports_to")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _superuser(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _superuser(request)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if isinstance(obj, DirectoryEntry) and obj.is_local:
            return ("code", "agency", "certificate_pem", "node_url", "ecms_department_id",
                    "ecms_ministry_id")
        return ("agency",)

    def save_model(self, request: HttpRequest, obj: DirectoryEntry, form: ModelForm[Any],
                   change: bool) -> None:
        user = request.user
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            agency_id = obj.agency_id or (user.agency_id if isinstance(user, Person) else None)
            if agency_id is not None and isinstance(user, Person):
                audit_record(
                    agency_id=agency_id, action="admin_change", actor=Actor(person=user),
                    target_type="directory_entry", target_id=obj.pk,
                    details={"code": obj.code, "node_url": obj.node_url,
                             "fields": sorted(form.changed_data), "created": not change},
                )


@admin.register(AgencyCredential)
class AgencyCredentialAdmin(SuperuserOnly):
    list_display = ("agency", "kind", "created_at", "renewed_at")
    fields = ("agency", "kind", "certificate_pem", "pkcs11_module", "pkcs11_token_label",
              "pkcs11_key_label", "previous_certificate_pem", "created_at", "renewed_at")
    readonly_fields = fields


@admin.register(CertificateAnnouncement)
class CertificateAnnouncementAdmin(SuperuserOnly):
    list_display = ("agency", "node_url", "fingerprint", "state", "attempts", "created_at",
                    "sent_at")
    list_filter = ("state",)
    fields = ("agency", "node_url", "fingerprint", "state", "attempts", "last_error",
              "created_at", "sent_at", "next_attempt_at")
    readonly_fields = fields


@admin.register(OutboxMessage)
class OutboxMessageAdmin(SuperuserOnly):
    list_display = ("message_id", "type", "sender_code", "recipient_code", "state", "attempts",
                    "created_at", "sent_at", "receipt_number")
    list_filter = ("state", "type")
    search_fields = ("message_id", "recipient_code", "sender_code", "receipt_number")
    exclude = ("payload",)
    list_select_related = ("sender",)


@admin.register(InboxMessage)
class InboxMessageAdmin(SuperuserOnly):
    list_display = ("message_id", "sender_code", "recipient", "state", "received_at",
                    "handled_by", "handled_at")
    list_filter = ("state",)
    search_fields = ("message_id", "sender_code")
    list_select_related = ("recipient", "handled_by")


@admin.register(ReceivedReport)
class ReceivedReportAdmin(SuperuserOnly):
    """Monthly indicator reports other agencies sent to agencies hosted here (read-only)."""

    list_display = ("sender_code", "recipient", "month", "current", "generated_at",
                    "received_at", "message_id")
    list_filter = ("current", "month")
    search_fields = ("sender_code", "message_id")
    fields = ("sender_code", "recipient", "month", "current", "figures", "generated_at",
              "received_at", "message_id", "envelope_digest")
    readonly_fields = fields
    list_select_related = ("recipient",)


@admin.register(EcmsAccount)
class EcmsAccountAdmin(SuperuserOnly):
    """Read-only: an account is set with ``saraban exchange ecms account`` (audited)."""

    list_display = ("agency", "department_id", "ministry_id", "node_url", "last_polled_at",
                    "last_error")
    fields = ("agency", "department_id", "ministry_id", "node_url", "next_poll_at",
              "lease_until", "lease_owner", "last_polled_at", "last_error", "created_at",
              "updated_at")
    readonly_fields = fields
    list_select_related = ("agency",)


@admin.register(EcmsUnmatched)
class EcmsUnmatchedAdmin(SuperuserOnly):
    """Notifiers from an e-CMS queue that named no letter here (kept, then deleted from the
    queue so that it moves on)."""

    list_display = ("agency", "kind", "letter_id", "date_text", "accept_id", "reason",
                    "received_at")
    list_filter = ("kind", "reason")
    search_fields = ("letter_id", "process_id")
    fields = ("agency", "process_id", "kind", "letter_id", "date_text", "subject", "accept_id",
              "accept_department", "reason", "received_at")
    readonly_fields = fields
