"""The audit log: append-only events, one hash chain per tenant agency.

Each event's ``hash`` covers its own content and the previous event's hash, so editing,
inserting or deleting an event breaks the chain from that point; ``AuditChain`` holds the
head of each agency's chain (its last sequence number and hash) so that deleting the newest
events is caught too. Agencies never wait on each other: the row lock is per chain.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditChain(models.Model):
    agency = models.OneToOneField(
        "agencies.Agency", primary_key=True, on_delete=models.PROTECT, related_name="+"
    )
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="")


class AuditEvent(models.Model):
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    seq = models.PositiveBigIntegerField()
    action = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(max_length=255, blank=True)
    position = models.ForeignKey(
        "agencies.Position", null=True, on_delete=models.PROTECT, related_name="+"
    )
    position_title = models.CharField(max_length=255, blank=True)
    acting_kind = models.CharField(max_length=16, blank=True)
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.BigIntegerField(null=True)
    details = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["agency_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "seq"], name="auditevent_chain_seq")
        ]
        indexes = [models.Index(fields=["target_type", "target_id"], name="auditevent_target")]

    def __str__(self) -> str:
        return f"{self.agency_id}#{self.seq} {self.action}"
