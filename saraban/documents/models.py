"""Drafts of outgoing letters, their versions, and the approval chain that ends in a signature.

A draft is written in one of the official forms and numbered from a registry's series only when
its signer signs it (``services.draft_sign``): a letter that is not signed never gets a number.
Every save of the text is a new ``DraftVersion`` (who, when, which fields changed); the
approval chain is a list of ``ApprovalStep`` rows per submission round — reviewers initial in
order (ตรวจ/กลั่นกรอง), the last step is the signer; anyone whose turn it is can return the
draft to the drafter with a comment, which closes the round.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from saraban.agencies.models import Agency, Person, Position
from saraban.letters.models import Letter, Registry, Secrecy, SeriesKind, Urgency

from .render import FORMS

#: The forms that are composed as drafts, and the series their number comes from by default.
DEFAULT_SERIES: dict[str, str] = {
    "external": SeriesKind.OUTGOING,
    "memo": SeriesKind.OUTGOING,
    "stamped": SeriesKind.OUTGOING,
    "order": SeriesKind.ORDER,
    "announcement": SeriesKind.ANNOUNCEMENT,
    "certificate": SeriesKind.OUTGOING,
}

#: The text fields of a draft (the form's fields) that versions keep.
TEXT_FIELDS = (
    "subject",
    "salutation",
    "addressee",
    "references",
    "enclosures",
    "body",
    "closing",
    "copies_to",
    "owning_unit",
    "phone",
    "email",
)


class DraftState(models.TextChoices):
    DRAFTING = "drafting", "กำลังร่าง"
    IN_REVIEW = "in_review", "อยู่ระหว่างเสนอ"
    RETURNED = "returned", "ส่งคืนแก้ไข"
    SIGNED = "signed", "ลงนามและออกเลขแล้ว"
    CANCELLED = "cancelled", "ยกเลิก"


class Draft(models.Model):
    """A letter being written, checked and signed; becomes a registered letter when signed."""

    tenant = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    registry = models.ForeignKey(Registry, on_delete=models.PROTECT, related_name="drafts")
    form = models.CharField(max_length=16, choices=list(FORMS.items()))
    series_kind = models.CharField(max_length=32, choices=SeriesKind.choices)
    urgency = models.IntegerField(choices=Urgency.choices, default=Urgency.NORMAL)
    secrecy = models.IntegerField(choices=Secrecy.choices, default=Secrecy.NORMAL)
    state = models.CharField(max_length=16, choices=DraftState.choices,
                             default=DraftState.DRAFTING)
    subject = models.CharField(max_length=500)  # of the latest version, for lists
    #: Addressees: [{"agency": id | None, "text": str, "channel": str, "address": str}].
    recipients = models.JSONField(default=list)
    created_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="drafts")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    round = models.PositiveIntegerField(default=0)  # submission rounds so far
    letter = models.OneToOneField(
        Letter, null=True, blank=True, on_delete=models.PROTECT, related_name="draft"
    )

    class Meta:
        ordering = ["-updated_at", "-pk"]
        indexes = [models.Index(fields=["tenant", "state"], name="draft_tenant_state")]

    def __str__(self) -> str:
        return f"ร่าง {FORMS.get(self.form, self.form)}: {self.subject}"

    @property
    def latest(self) -> DraftVersion:
        version = self.versions.order_by("-number").first()
        assert version is not None  # a draft is created with its first version
        return version

    def steps_of_round(self) -> models.QuerySet[ApprovalStep]:
        return self.steps.filter(round=self.round).order_by("order")

    def current_step(self) -> ApprovalStep | None:
        if self.state != DraftState.IN_REVIEW:
            return None
        return self.steps_of_round().filter(state=StepState.CURRENT).first()


class DraftVersion(models.Model):
    """One saved state of a draft's text: who saved it, when, and what changed."""

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    fields = models.JSONField()
    changed = models.JSONField(default=list)  # names of the fields that differ from the last
    note = models.CharField(max_length=500, blank=True)
    author = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["draft", "number"]
        constraints = [
            models.UniqueConstraint(fields=["draft", "number"], name="draft_version_unique")
        ]

    def value(self, name: str) -> Any:
        return self.fields.get(name, [] if name in LIST_FIELDS else "")


LIST_FIELDS = frozenset({"references", "enclosures", "body", "copies_to"})


class StepRole(models.TextChoices):
    REVIEW = "review", "ตรวจ/กลั่นกรอง"
    SIGN = "sign", "ลงนาม"


class StepState(models.TextChoices):
    WAITING = "waiting", "รอ"
    CURRENT = "current", "อยู่ระหว่างพิจารณา"
    DONE = "done", "ผ่านแล้ว"
    RETURNED = "returned", "ส่งคืน"
    CLOSED = "closed", "ปิดรอบ"


class ApprovalStep(models.Model):
    """One person's turn in a submission round: initial (review) or sign."""

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="steps")
    round = models.PositiveIntegerField()
    order = models.PositiveIntegerField()
    role = models.CharField(max_length=8, choices=StepRole.choices)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="approval_steps")
    state = models.CharField(max_length=10, choices=StepState.choices,
                             default=StepState.WAITING)
    comment = models.TextField(blank=True)
    version = models.ForeignKey(
        DraftVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )  # the version this person initialled or signed
    acted_at = models.DateTimeField(null=True, blank=True)
    acted_position = models.ForeignKey(
        Position, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acting_kind = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["draft", "round", "order"]
        constraints = [
            models.UniqueConstraint(fields=["draft", "round", "order"], name="approval_step_unique")
        ]
        indexes = [models.Index(fields=["person", "state"], name="approval_step_person")]


class Letterhead(models.Model):
    """What an agency prints on its letters: its emblem (Garuda) image and contact lines."""

    agency = models.OneToOneField(Agency, on_delete=models.CASCADE, related_name="letterhead")
    emblem = models.BinaryField(null=True, blank=True)  # PNG or SVG bytes
    address = models.TextField(blank=True)
    phone = models.CharField(max_length=64, blank=True)
    email = models.EmailField(blank=True)
