"""Background jobs of the letters area, run by the worker after the action commits."""

from __future__ import annotations

from django.tasks import task

from saraban.core.errors import ValidationFailed

from .models import RegisterEntry
from .stamping import stamp_failure_record, stamped_copy


@task()
def make_receipt_stamp(entry_id: int) -> str | None:
    """Make the receipt-stamped copy of a registered letter's PDF (queued by the actions that
    make a stamp necessary: registration, registration in a unit, an endorsement)."""
    entry = RegisterEntry.objects.select_related("series__registry__tenant", "letter").get(
        pk=entry_id
    )
    try:
        derived = stamped_copy(entry)
    except ValidationFailed as exc:  # a PDF that cannot carry a stamp (FileRejected too)
        stamp_failure_record(entry=entry, code=exc.code)
        return None
    return derived.blob_id if derived else None
