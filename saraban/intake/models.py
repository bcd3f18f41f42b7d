"""A scanned paper letter on its way to registration (``ScanIntake``).

The original scan is kept as it came (a content-addressed ``Blob``); the worker adds the
searchable PDF made by ocrmypdf, the normalised OCR text and the fields it proposes. Once the
clerk registers the letter, ``letter`` links the registered record.
"""

from __future__ import annotations

from django.db import models

from saraban.agencies.models import Agency, Person
from saraban.letters.models import Blob, Letter, Registry


class IntakeState(models.TextChoices):
    QUEUED = "queued", "รอคิวอ่านข้อความ"
    RUNNING = "running", "กำลังอ่านข้อความจากภาพ"
    DONE = "done", "อ่านข้อความแล้ว"
    NO_TEXT = "no_text", "ไม่มีข้อความ"
    FAILED = "failed", "อ่านข้อความไม่สำเร็จ"


#: States the worker will not change any more: the clerk can check the proposals.
FINISHED_STATES = frozenset({IntakeState.DONE, IntakeState.NO_TEXT, IntakeState.FAILED})


class ScanIntake(models.Model):
    tenant = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    registry = models.ForeignKey(Registry, on_delete=models.PROTECT, related_name="+")
    original = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=255)
    state = models.CharField(max_length=16, choices=IntakeState.choices,
                             default=IntakeState.QUEUED)
    # NFC, ำ composed, zero-width characters removed (saraban.intake.text.normalise_ocr).
    ocr_text = models.TextField(blank=True)
    searchable = models.ForeignKey(
        Blob, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # What the text proposes: {"number": …, "letter_date": "yyyy-mm-dd", "subject": …, …}.
    proposed = models.JSONField(default=dict, blank=True)
    message = models.CharField(max_length=500, blank=True)
    pages = models.PositiveSmallIntegerField(default=0)
    duration = models.DurationField(null=True, blank=True)
    created_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    letter = models.ForeignKey(
        Letter, null=True, blank=True, on_delete=models.PROTECT, related_name="scan_intakes"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["registry", "letter", "-created_at"], name="intake_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_state_display()})"

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED_STATES
