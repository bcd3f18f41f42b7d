"""Background jobs of the OCR intake, run by the worker after the upload commits."""

from __future__ import annotations

from django.tasks import task


@task()
def read_scan(intake_id: int) -> str:
    """OCR one uploaded scan and propose its registration fields; returns the new state."""
    from .services import intake_process

    return intake_process(intake_id).state
