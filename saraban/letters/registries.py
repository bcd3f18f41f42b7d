"""Setting up registries and their number series (onboarding and the demo use these)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from saraban.agencies.models import Agency

from .models import Registry, Series, SeriesKind

CENTRAL_SERIES = tuple(SeriesKind.values)
UNIT_SERIES = (SeriesKind.INCOMING, SeriesKind.OUTGOING, SeriesKind.SECRET_INCOMING)


def number_prefix_for(unit: Agency) -> str:
    """``มท 0210.3``: the nearest letter code and office code up the tree."""
    letter_code = ""
    office_code = ""
    for node in reversed([*unit.ancestors()]):
        letter_code = letter_code or node.letter_code
        office_code = office_code or node.office_code
    return " ".join(p for p in (letter_code, office_code) if p)


@transaction.atomic
def registry_open(
    *,
    unit: Agency,
    is_central: bool,
    name_th: str = "",
    series: Iterable[str] | None = None,
    number_prefix: str | None = None,
) -> Registry:
    """Open a registry for a unit with its series (all seven for a central registry)."""
    if unit.tenant_id is None:
        raise ValueError("unit has no tenant")
    registry, _ = Registry.objects.get_or_create(
        unit=unit,
        defaults={
            "tenant_id": unit.tenant_id,
            "is_central": is_central,
            "name_th": name_th or unit.name_th,
            "number_prefix": number_prefix if number_prefix is not None
            else number_prefix_for(unit),
        },
    )
    kinds = list(series) if series is not None else list(
        CENTRAL_SERIES if is_central else UNIT_SERIES
    )
    for kind in kinds:
        Series.objects.get_or_create(registry=registry, kind=kind)
    if not unit.has_registry:
        unit.has_registry = True
        unit.save(update_fields=["has_registry"])
    return registry
