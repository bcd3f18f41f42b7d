"""The exchange between agencies: directory, credentials, outbox and inbox.

Every message has a globally unique id; the pair (sender code, message id) is processed once
by the receiver, which keeps the signed transport receipt it gave and gives it again for a
duplicate. The sender keeps one ``OutboxMessage`` per recipient, moved through its states by
the worker and by the business receipts that come back.
"""

from __future__ import annotations

import uuid

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from saraban.agencies.models import Agency, Person
from saraban.letters.models import Blob, Dispatch, Letter, RegisterEntry

DEPARTMENT_ID = RegexValidator(r"^[0-9]{10}\Z", "รหัสหน่วยงาน e-CMS ต้องเป็นตัวเลข 10 หลัก",
                               code="bad_ecms_department")
MINISTRY_ID = RegexValidator(r"^[0-9]{2}\Z", "รหัสกระทรวง e-CMS ต้องเป็นตัวเลข 2 หลัก",
                             code="bad_ecms_ministry")


class DirectoryEntry(models.Model):
    """An agency reachable electronically: where it is hosted and how to check its signature."""

    code = models.CharField("รหัสหน่วยงาน", max_length=64, unique=True)
    name_th = models.CharField("ชื่อหน่วยงาน", max_length=255)
    node_url = models.CharField(
        "ที่อยู่โหนด", max_length=255, blank=True, help_text="Empty when hosted on this node."
    )
    certificate_pem = models.TextField(
        "ใบรับรอง (PEM)", blank=True,
        help_text="Empty only for an e-CMS entry (its letters are vouched for by its node).",
    )
    agency = models.OneToOneField(
        Agency,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="directory_entry",
        help_text="The local agency, when it is hosted on this node.",
    )
    channels = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # After a renewal: the certificate it replaced, still accepted until ``previous_until``
    # (the overlap), and the signed announcement that brought the new one (the evidence).
    previous_certificate_pem = models.TextField("ใบรับรองเดิม (PEM)", blank=True)
    previous_until = models.DateTimeField("ยอมรับใบรับรองเดิมถึง", null=True, blank=True)
    renewal = models.JSONField(null=True, blank=True,
                               help_text="The signed announcement of the current certificate.")
    # e-CMS: the agency's department (10 digits) and ministry (2 digits). An entry whose
    # channels include "ecms" is reached through the sending agency's own e-CMS node.
    ecms_department_id = models.CharField(
        "รหัสหน่วยงาน e-CMS", max_length=10, blank=True, default="",
        validators=[DEPARTMENT_ID],
    )
    ecms_ministry_id = models.CharField(
        "รหัสกระทรวง e-CMS", max_length=2, blank=True, default="", validators=[MINISTRY_ID]
    )
    # Its own e-CMS node (from GetOrganizationList's ECMS-URL): informational, written as
    # wsa:To. Not ``node_url``, which is a Saraban node that receives JSON messages.
    ecms_node_url = models.CharField("ที่อยู่โหนด e-CMS", max_length=255, blank=True, default="")

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "directory entries"
        constraints = [
            models.UniqueConstraint(
                fields=["ecms_department_id"], condition=~Q(ecms_department_id=""),
                name="directory_ecms_department_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name_th}"

    @property
    def is_local(self) -> bool:
        return self.agency_id is not None


class CredentialKind(models.TextChoices):
    SEALED = "sealed", "กุญแจเก็บในระบบ (เข้ารหัส)"
    PKCS11 = "pkcs11", "อุปกรณ์ PKCS#11 (token/HSM)"


class AgencyCredential(models.Model):
    """The signing key and certificate of an agency hosted on this node.

    The key is either stored sealed (``private_key_pem``, see ``crypto.key_to_pem``) or lives
    on a PKCS#11 token or HSM (module, token label, key label; the PIN stored sealed).
    """

    agency = models.OneToOneField(Agency, on_delete=models.PROTECT, related_name="credential")
    kind = models.CharField(max_length=16, choices=CredentialKind.choices,
                            default=CredentialKind.SEALED)
    private_key_pem = models.TextField(blank=True)
    certificate_pem = models.TextField()
    pkcs11_module = models.CharField(max_length=500, blank=True)
    pkcs11_token_label = models.CharField(max_length=255, blank=True)
    pkcs11_key_label = models.CharField(max_length=255, blank=True)
    pkcs11_pin_sealed = models.TextField(blank=True)
    # The certificate the last renewal replaced, and when.
    previous_certificate_pem = models.TextField(blank=True)
    renewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class AnnouncementState(models.TextChoices):
    PENDING = "pending", "รอแจ้ง"
    SENT = "sent", "แจ้งแล้ว"
    FAILED = "failed", "แจ้งไม่สำเร็จ"


class CertificateAnnouncement(models.Model):
    """A renewed exchange certificate announced to one other node (signed by the old key).

    Written in the renewal's transaction and delivered by the worker, retried with backoff
    until the node accepts it or refuses it for good.
    """

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    node_url = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the new certificate.")
    message = models.JSONField(help_text="announcement, signature (old key), proof (new key)")
    state = models.CharField(max_length=16, choices=AnnouncementState.choices,
                             default=AnnouncementState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "node_url", "fingerprint"],
                                    name="announcement_once_per_node")
        ]

    def __str__(self) -> str:
        return f"{self.fingerprint[:12]} → {self.node_url} ({self.state})"


class MessageType(models.TextChoices):
    LETTER = "letter", "หนังสือ"
    RECEIPT = "receipt", "ตอบรับ"
    # A request to the agency's own e-CMS node about a letter it sent (payload "ecms_op":
    # "delete_document" after a withdrawal, "invalid_accept_id" to dispute their number).
    COMMAND = "command", "คำสั่งถึงโหนด e-CMS"


class OutState(models.TextChoices):
    QUEUED = "queued", "รอส่ง"
    SENT = "sent", "ส่งถึงแล้ว"
    REGISTERED = "registered", "ลงรับแล้ว"
    REJECTED = "rejected", "ปฏิเสธการรับ"
    RETURNED = "returned", "ส่งคืน (ผิดหน่วยงาน)"
    FAILED = "failed", "ส่งไม่สำเร็จ"
    WITHDRAWN = "withdrawn", "ถอนคืนแล้ว"


FINAL_OUT_STATES = frozenset(
    {OutState.REGISTERED, OutState.REJECTED, OutState.RETURNED, OutState.FAILED,
     OutState.WITHDRAWN}
)


class OutboxMessage(models.Model):
    """One message to one recipient, from the dispatch to its final state."""

    message_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=16, choices=MessageType.choices)
    sender = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    sender_code = models.CharField(max_length=64)
    recipient_code = models.CharField(max_length=64, db_index=True)
    letter = models.ForeignKey(
        Letter, null=True, blank=True, on_delete=models.PROTECT, related_name="outbox"
    )
    dispatch = models.ForeignKey(
        Dispatch, null=True, blank=True, on_delete=models.PROTECT, related_name="outbox"
    )
    # For a receipt message: the business receipt it carries (signed when it is sent).
    payload = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=OutState.choices, default=OutState.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    transport_receipt = models.JSONField(null=True, blank=True)
    # The recipient's business receipt.
    receipt_number = models.CharField(max_length=128, blank=True)
    registered_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(
                fields=["state", "next_attempt_at"],
                name="outbox_due",
                condition=Q(state="queued"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.message_id} → {self.recipient_code} ({self.state})"


class InState(models.TextChoices):
    WAITING = "waiting", "รอลงรับ"
    REGISTERED = "registered", "ลงรับแล้ว"
    REJECTED = "rejected", "ปฏิเสธ"
    RETURNED = "returned", "ส่งคืน"


class InboxMessage(models.Model):
    """A letter that arrived for an agency on this node, waiting in its electronic inbox."""

    sender_code = models.CharField(max_length=64)
    message_id = models.UUIDField()
    recipient = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="inbox")
    content_digest = models.CharField(max_length=64)
    envelope = models.JSONField()
    signature = models.TextField()
    receipt = models.JSONField(help_text="The signed transport receipt given for it.")
    received_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=InState.choices, default=InState.WAITING)
    entry = models.OneToOneField(
        RegisterEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="inbox"
    )
    handled_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["sender_code", "message_id"], name="inbox_once")
        ]

    def __str__(self) -> str:
        return f"{self.sender_code}/{self.message_id}"


class InboxFile(models.Model):
    message = models.ForeignKey(InboxMessage, on_delete=models.CASCADE, related_name="files")
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=16)
    filename = models.CharField(max_length=255)

    class Meta:
        ordering = ["pk"]


class ReceivedReceipt(models.Model):
    """A business receipt that came back: kept once per (sender, message id)."""

    sender_code = models.CharField(max_length=64)
    message_id = models.UUIDField()
    receipt = models.JSONField()
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sender_code", "message_id"], name="receipt_once")
        ]


class EcmsAccount(models.Model):
    """An agency hosted here that talks to its own e-CMS node (ecms.md §1).

    Several workers poll: one claims an account with a lease (``lease_until``), the others
    skip it until the lease ends or is given back.
    """

    agency = models.OneToOneField(Agency, on_delete=models.PROTECT, related_name="ecms_account")
    department_id = models.CharField("รหัสหน่วยงาน (10 หลัก)", max_length=10, unique=True,
                                     validators=[DEPARTMENT_ID])
    ministry_id = models.CharField("รหัสกระทรวง (2 หลัก)", max_length=2,
                                   validators=[MINISTRY_ID])
    node_url = models.CharField("ที่อยู่โหนด e-CMS ของหน่วยงาน", max_length=255,
                                help_text="e.g. http://ecms.example.go.th/ecms-ws01/service2")
    next_poll_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["department_id"]

    def __str__(self) -> str:
        return f"{self.department_id} → {self.node_url}"


class EcmsUnmatched(models.Model):
    """A notifier from the e-CMS queue that names no letter here: kept, then deleted from
    the queue (it must not block it)."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    process_id = models.CharField(max_length=128)
    kind = models.CharField(max_length=64)
    letter_id = models.CharField(max_length=255)
    date_text = models.CharField(max_length=64)
    subject = models.CharField(max_length=1000, blank=True)
    accept_id = models.CharField(max_length=255, blank=True)
    accept_department = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=64)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "process_id", "kind"],
                                    name="ecms_unmatched_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.letter_id} ({self.reason})"
