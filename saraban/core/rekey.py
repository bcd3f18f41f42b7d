"""Re-sealing every stored secret under the node's current key-encryption key.

``keys_rotate`` walks the fields the areas registered (``saraban.core.keys.SealedField``),
opens each value with whichever configured key (or legacy scheme) sealed it and seals it
again under the first key, one row per transaction with an audit event in its agency's chain.
After it reports nothing left under an old key, that key can be removed from the setting.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.apps import apps
from django.db import transaction

from . import keys
from .audit import audit_record
from .errors import Conflict


@dataclass
class KeyReport:
    """Counts of sealed values by field and key id (``legacy`` for pre-KEK values)."""

    by_key: Counter[tuple[str, str]] = field(default_factory=Counter)
    resealed: int = 0
    failed: list[str] = field(default_factory=list)


def _kid(value: str | bytes) -> str:
    return keys.key_id_of(value) if keys.is_sealed(value) else "legacy"


def _stored(value: object) -> str | bytes | None:
    if value is None:
        return None
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, bytes | str):
        return value or None
    return None


def keys_status() -> KeyReport:
    """How many sealed values each key (or the legacy scheme) holds, per field."""
    report = KeyReport()
    for spec in keys.sealed_fields():
        model = apps.get_model(spec.model)
        for value in model.objects.values_list(spec.field, flat=True).iterator(500):
            stored = _stored(value)
            if stored is not None:
                report.by_key[(f"{spec.model}.{spec.field}", _kid(stored))] += 1
    return report


def keys_rotate() -> KeyReport:
    """Re-seal every value not sealed under the current key; audited per row."""
    current = keys.node_keys()[0][0]
    report = KeyReport()
    for spec in keys.sealed_fields():
        model = apps.get_model(spec.model)
        label = f"{spec.model}.{spec.field}"
        for pk in model.objects.values_list("pk", flat=True).order_by("pk").iterator(500):
            with transaction.atomic():
                row = model.objects.select_for_update().filter(pk=pk).first()
                stored = _stored(getattr(row, spec.field, None)) if row is not None else None
                if row is None or stored is None:
                    continue
                old = _kid(stored)
                if old == current:
                    report.by_key[(label, current)] += 1
                    continue
                try:
                    plain = spec.open_stored(row, stored)
                except Conflict as exc:
                    report.failed.append(f"{label} #{pk}: {exc.message}")
                    report.by_key[(label, old)] += 1
                    continue
                sealed = keys.seal(plain, purpose=spec.purpose(row))
                setattr(row, spec.field, sealed.encode() if spec.as_bytes else sealed)
                row.save(update_fields=[spec.field])
                audit_record(
                    agency_id=int(getattr(row, spec.agency_field)),
                    action="keys_rotate",
                    actor=None,
                    target_type=model._meta.model_name or "",
                    target_id=int(pk),
                    details={"field": label, "from_key": old, "to_key": current},
                )
                report.resealed += 1
                report.by_key[(label, current)] += 1
    return report
