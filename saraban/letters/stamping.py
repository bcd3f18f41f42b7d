"""The receipt-stamped copy of a registered letter's PDF, kept beside the original."""

from __future__ import annotations

from django.db import transaction

from saraban.core.thai import Digits, bangkok, thai_date, with_digits

from . import files
from .models import DerivedFile, FileRole, RegisterEntry


def stamped_copy(entry: RegisterEntry) -> DerivedFile | None:
    """The stamped copy of the entry's main PDF, made once and then reused.

    ``None`` when the letter has no main PDF (paper only, or an image scan).
    """
    main = (
        entry.letter.files.filter(
            role=FileRole.MAIN, replaced_at__isnull=True, blob__content_type=files.PDF
        )
        .select_related("blob")
        .first()
    )
    if main is None:
        return None
    existing = DerivedFile.objects.filter(entry=entry, source=main.blob).select_related("blob")
    found = existing.first()
    if found is not None:
        return found
    from .stamp import stamp_pdf

    registry = entry.series.registry
    digits: Digits = "thai" if registry.tenant.thai_digits else "arabic"
    local = bangkok(entry.registered_at)
    data = stamp_pdf(
        files.read_blob(main.blob),
        registry_name=registry.name_th,
        number=with_digits(entry.formatted, digits),
        date_text=thai_date(entry.registered_at, style="short", digits=digits),
        time_text=with_digits(f"{local:%H:%M} น.", digits),
    )
    blob = files.store_file(data, allowed={files.PDF})
    with transaction.atomic():
        derived, _ = DerivedFile.objects.get_or_create(
            entry=entry, source=main.blob, purpose="receipt_stamp", defaults={"blob": blob}
        )
    return derived
