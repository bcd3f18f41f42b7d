"""e-CMS settings changed by a person (the web UI and the API), with their permission checked.

The actions in :mod:`.accounts` are the node operator's (commands): they check no person and
audit with no actor. These call them for a person:

- ``ecms_account_set_by``: an agency admin (of that agency) or a superuser connects the
  agency to its own e-CMS node;
- ``ecms_entry_add_by``: an agency admin or a superuser lists an agency reached through e-CMS
  (the directory is the node's, as on the directory page);
- ``ecms_import_organizations_by``: an agency admin of the agency whose node is asked.

Each records, besides the operator's event, ``exchange_ecms_admin`` naming the person, in the
same transaction as the change. The import is the exception: it asks the node first (no
transaction held open across the network), then writes the directory in its own transaction;
the event naming the person follows in the next one (the operator's event in the import's
transaction already records the counts).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from saraban.agencies.actors import Actor
from saraban.agencies.models import Agency, Role, RoleGrant
from saraban.core.audit import audit_record
from saraban.core.errors import PermissionDenied

from ..models import DirectoryEntry, EcmsAccount
from . import accounts


def may_admin_ecms(actor: Actor, agency_id: int) -> bool:
    """A superuser, or an agency admin whose grant lies in that agency."""
    return actor.person.is_superuser or RoleGrant.objects.filter(
        person=actor.person, role=Role.AGENCY_ADMIN, unit__tenant_id=agency_id
    ).exists()


def may_admin_directory(actor: Actor) -> bool:
    """A superuser or any agency admin (the directory page's rule)."""
    return actor.person.is_superuser or RoleGrant.objects.filter(
        person=actor.person, role=Role.AGENCY_ADMIN
    ).exists()


def ecms_agencies_for(actor: Actor) -> list[Agency]:
    """Agencies hosted here whose e-CMS settings this person manages (by name)."""
    tenants = Agency.objects.filter(is_tenant=True)
    if not actor.person.is_superuser:
        tenants = tenants.filter(pk__in=RoleGrant.objects.filter(
            person=actor.person, role=Role.AGENCY_ADMIN).values("unit__tenant_id"))
    return list(tenants.order_by("path", "pk"))


def _check_agency(actor: Actor, agency: Agency) -> None:
    if not may_admin_ecms(actor, agency.pk):
        raise PermissionDenied("ท่านไม่มีสิทธิ์ตั้งค่า e-CMS ของส่วนราชการนี้",
                               code="ecms_forbidden")


def _by(actor: Actor, agency_id: int, op: str, details: dict[str, Any]) -> None:
    audit_record(agency_id=agency_id, action="exchange_ecms_admin", actor=actor,
                 details={"op": op, **details})


def ecms_account_set_by(*, actor: Actor, agency: Agency, department: str, node_url: str,
                        ministry: str = "") -> EcmsAccount:
    """Connect the agency to its own e-CMS node (create or change its account)."""
    _check_agency(actor, agency)
    with transaction.atomic():
        account = accounts.ecms_account_set(agency=agency, department=department,
                                            node_url=node_url, ministry=ministry)
        _by(actor, agency.pk, "account",
            {"department": account.department_id, "ministry": account.ministry_id,
             "node_url": account.node_url})
    return account


def ecms_entry_add_by(*, actor: Actor, department: str, name: str, ministry: str = "",
                      node_url: str = "", certificate_pem: str = ""
                      ) -> tuple[DirectoryEntry, bool]:
    """List (or update) an agency reached through e-CMS; (entry, created)."""
    if not may_admin_directory(actor):
        raise PermissionDenied("ท่านไม่มีสิทธิ์แก้ไขทะเบียนหน่วยงาน", code="directory_forbidden")
    with transaction.atomic():
        entry, created = accounts.ecms_entry_add(
            department=department, name=name, ministry=ministry, node_url=node_url,
            certificate_pem=certificate_pem)
        if actor.person.agency_id is not None:
            _by(actor, actor.person.agency_id, "directory_add",
                {"code": entry.code, "department": entry.ecms_department_id,
                 "created": created})
    return entry, created


def ecms_import_organizations_by(*, actor: Actor, agency: Agency) -> dict[str, int]:
    """The agency's node's ministry and organisation lists into the directory."""
    _check_agency(actor, agency)
    counts = accounts.ecms_import_organizations(agency_id=agency.pk)
    with transaction.atomic():
        _by(actor, agency.pk, "import_organizations", dict(counts))
    return counts
