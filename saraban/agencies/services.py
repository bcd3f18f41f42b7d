"""Actions on the agency tree and its people (writes go through here)."""

from __future__ import annotations

from django.db import transaction

from saraban.core.errors import ValidationFailed

from .models import Agency, AgencyKind


@transaction.atomic
def agency_create(
    *,
    kind: str,
    name_th: str,
    parent: Agency | None = None,
    is_tenant: bool = False,
    **fields: object,
) -> Agency:
    """Add a node to the agency tree, keeping its materialised path and tenant right.

    A node that is not a tenant belongs to its parent's tenant; a root must be a tenant.
    """
    if kind not in AgencyKind.values:
        raise ValidationFailed(f"ประเภทหน่วยงานไม่ถูกต้อง: {kind}", code="bad_agency_kind")
    if not name_th.strip():
        raise ValidationFailed("กรุณาระบุชื่อหน่วยงาน", code="name_required", field="name_th")
    if parent is None and not is_tenant:
        raise ValidationFailed(
            "หน่วยงานระดับบนสุดต้องเป็นส่วนราชการที่บริหารแยก", code="root_must_be_tenant"
        )
    agency = Agency(kind=kind, name_th=name_th.strip(), parent=parent, is_tenant=is_tenant)
    for name, value in fields.items():
        setattr(agency, name, value)
    if not is_tenant and parent is not None:
        agency.tenant_id = parent.tenant_id
    agency.save()
    agency.path = f"{parent.path if parent else '/'}{agency.pk}/"
    update = ["path"]
    if is_tenant:
        agency.tenant_id = agency.pk
        update.append("tenant")
    agency.save(update_fields=update)
    return agency
