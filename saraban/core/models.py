"""The audit log: append-only events, one hash chain per tenant agency.

Each event's ``hash`` is an HMAC, under the chain's own key, of its content and the previous
event's hash, so editing, inserting or deleting an event breaks the chain from that point,
and recomputing the hashes needs the key. The chain key is stored sealed under the node's
key-encryption key (``saraban.core.keys``), which is not in the database. ``AuditChain``
holds the head of each agency's chain (its last sequence number and hash); checkpoints of
the head, written outside the database (``saraban.core.audit.audit_checkpoint``), catch a
truncated tail with a rewound head. Agencies never wait on each other: the row lock is per
chain.
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
    # The chain's HMAC key, sealed for "audit-chain:<agency>:<keyed_from_seq>". Events before
    # ``keyed_from_seq`` were written before chains had keys and carry plain SHA-256 hashes.
    key_sealed = models.TextField(blank=True, default="")
    keyed_from_seq = models.PositiveBigIntegerField(default=1)


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
