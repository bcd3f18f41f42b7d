"""Issued evidence documents: certificates (หนังสือรับรอง) and licences (ใบอนุญาต).

An ``IssuedDocument`` is the record of one sealed PDF the agency issued: its number comes from
the registry's outgoing series (through the letters area's ``register_entry_new``), it is also
a ``Letter`` of the kind "หนังสือที่เจ้าหน้าที่ทำขึ้นหรือรับไว้เป็นหลักฐานในราชการ" so it appears in
the registers, and it carries an unguessable public token: the QR code printed on it opens
``/verify/<token>/``, which anyone can use to check a copy against the stored hash.
"""

from __future__ import annotations

import datetime as dt

from django.db import models

from saraban.agencies.models import Agency, Person, Position
from saraban.letters.models import Blob, Letter, RegisterEntry, Registry


class EvidenceKind(models.TextChoices):
    CERTIFICATE = "certificate", "หนังสือรับรอง"
    LICENCE = "licence", "ใบอนุญาต"


class Validity(models.TextChoices):
    """What the public page says about a document on a given day."""

    VALID = "valid", "ใช้ได้"
    EXPIRED = "expired", "หมดอายุ"
    REVOKED = "revoked", "ถูกเพิกถอน"


class IssuedDocument(models.Model):
    tenant = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    registry = models.ForeignKey(Registry, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("ชนิด", max_length=16, choices=EvidenceKind.choices)
    number = models.CharField("เลขที่", max_length=128)
    entry = models.OneToOneField(RegisterEntry, on_delete=models.PROTECT, related_name="+")
    letter = models.OneToOneField(Letter, on_delete=models.PROTECT, related_name="evidence")
    holder = models.CharField("ผู้ได้รับ", max_length=255)
    title = models.CharField("เรื่อง", max_length=500)
    body = models.TextField("ข้อความ")
    # The issuing office as printed on the document, kept as it was on the day of issue.
    issuer_name = models.CharField("ส่วนราชการผู้ออก", max_length=255)
    issued_on = models.DateField("วันที่ออก")
    valid_until = models.DateField("ใช้ได้ถึง", null=True, blank=True)
    token = models.CharField(max_length=64, unique=True, editable=False)
    # The sealed PDF; the blob's key is its SHA-256.
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField()
    issued_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    issued_position = models.ForeignKey(
        Position, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    issued_acting_kind = models.CharField(max_length=16, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoke_reason = models.CharField("เหตุผลที่เพิกถอน", max_length=500, blank=True)

    class Meta:
        verbose_name = "หนังสือรับรอง/ใบอนุญาตที่ออก"
        verbose_name_plural = "หนังสือรับรอง/ใบอนุญาตที่ออก"
        ordering = ["-issued_at", "-pk"]
        indexes = [models.Index(fields=["tenant", "-issued_at"], name="evidence_recent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    @property
    def sha256(self) -> str:
        """The SHA-256 of the sealed PDF as issued (hex)."""
        return self.blob_id

    def validity(self, on: dt.date) -> Validity:
        """Valid, expired (after ``valid_until``) or revoked, as of the day ``on``."""
        if self.revoked_at is not None:
            return Validity.REVOKED
        if self.valid_until is not None and on > self.valid_until:
            return Validity.EXPIRED
        return Validity.VALID
