"""The receipt-stamped copy of a registered letter's PDF, kept beside the original."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from django.db import transaction

from saraban.core.thai import Digits, bangkok, thai_date, with_digits

from . import files
from .models import DerivedFile, FileRole, RegisterEntry

if TYPE_CHECKING:
    from .endorsement_page import EndorsementLine


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
    registry = entry.series.registry
    digits: Digits = "thai" if registry.tenant.thai_digits else "arabic"
    lines = _endorsements(entry, digits)
    # The copy is remade when an endorsement is added: its purpose names what it carries.
    purpose = "receipt_stamp"
    if lines:
        key = hashlib.sha256(repr(lines).encode()).hexdigest()[:20]
        purpose = f"stamp+{key}"
    existing = DerivedFile.objects.filter(entry=entry, source=main.blob, purpose=purpose)
    found = existing.select_related("blob").first()
    if found is not None:
        return found
    from .endorsement_page import with_endorsements
    from .stamp import stamp_pdf

    local = bangkok(entry.registered_at)
    data = stamp_pdf(
        files.read_blob(main.blob),
        registry_name=registry.name_th,
        number=with_digits(entry.formatted, digits),
        date_text=thai_date(entry.registered_at, style="short", digits=digits),
        time_text=with_digits(f"{local:%H:%M} น.", digits),
    )
    data = with_endorsements(
        data, heading=with_digits(f"{entry.letter.subject} (เลขรับ {entry.formatted})", digits),
        items=lines,
    )
    blob = files.store_file(data, allowed={files.PDF})
    with transaction.atomic():
        derived, _ = DerivedFile.objects.get_or_create(
            entry=entry, source=main.blob, purpose=purpose, defaults={"blob": blob}
        )
    return derived


def _endorsements(entry: RegisterEntry, digits: Digits) -> list[EndorsementLine]:
    from saraban.routing.models import Endorsement

    from .endorsement_page import EndorsementLine

    labels = {"acting": "รักษาราชการแทน", "delegated": "ปฏิบัติราชการแทน"}
    lines = []
    for e in Endorsement.objects.filter(letter_id=entry.letter_id).order_by("created_at", "pk"):
        position = e.position_title
        if e.acting_kind and position:
            position = f"{labels.get(e.acting_kind, '')} {position}"
        signature = f"{e.person_name} ({position})" if position else e.person_name
        local = bangkok(e.created_at)
        date = f"{thai_date(e.created_at, digits=digits)} {local:%H:%M} น."
        lines.append(EndorsementLine(text=e.text, signature=signature,
                                     date=with_digits(date, digits)))
    return lines
