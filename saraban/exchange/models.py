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
from saraban.core import keys
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
    # For an agency hosted here: the exchange code of its overseer (a province for its LAOs),
    # to which ``saraban reports send-monthly`` sends its monthly figures by default.
    reports_to = models.CharField(
        "ส่งรายงานตัวชี้วัดรายเดือนถึง", max_length=64, blank=True, default="",
        help_text="The overseer's exchange code (only for an agency hosted on this node).",
    )

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
    # An agency's monthly indicator figures, to its overseer (payload: ``envelope.report``).
    REPORT = "report", "รายงานตัวชี้วัดรายเดือน"


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
    recipient_code = models.CharField(max_length=320, db_index=True)
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

    sender_code = models.CharField(max_length=320)
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


class ReceivedReport(models.Model):
    """A monthly indicator report another agency sent to an agency hosted here.

    Kept once per (sender, message id), with the signed envelope and the transport receipt
    given for it. Of the reports of one sender to one recipient for one month, the one
    generated last is ``current`` (the one the indicators count); the others stay as history.
    """

    sender_code = models.CharField(max_length=64)
    message_id = models.UUIDField()
    recipient = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    month = models.DateField(help_text="The first day of the month reported.")
    figures = models.JSONField(help_text="sent, received and signed, as in the envelope.")
    generated_at = models.DateTimeField()
    envelope_digest = models.CharField(max_length=64)
    envelope = models.JSONField(help_text="The signed envelope as it arrived.")
    signature = models.TextField()
    receipt = models.JSONField(help_text="The signed transport receipt given for it.")
    received_at = models.DateTimeField()
    current = models.BooleanField(default=True)

    class Meta:
        ordering = ["-month", "sender_code", "-generated_at"]
        constraints = [
            models.UniqueConstraint(fields=["sender_code", "message_id"], name="report_once"),
            models.UniqueConstraint(fields=["sender_code", "recipient", "month"],
                                    condition=Q(current=True), name="report_current_once"),
        ]
        indexes = [models.Index(fields=["recipient", "month"], name="report_recipient_month")]

    def __str__(self) -> str:
        return f"{self.sender_code} {self.month:%Y-%m} → {self.recipient_id}"


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


# ---- e-mail: the agency's central mailbox (saraban@…) ----------------------------------------


class MailSecurity(models.TextChoices):
    SSL = "ssl", "SSL/TLS"
    STARTTLS = "starttls", "STARTTLS"
    NONE = "none", "ไม่เข้ารหัส (เฉพาะเครือข่ายภายใน)"


#: The purposes (``saraban.core.keys``) the mailbox's secrets are sealed for, + ":<agency id>".
MAIL_IMAP_PURPOSE = "mail-imap-password"
MAIL_SMTP_PURPOSE = "mail-smtp-password"
MAIL_SMIME_PURPOSE = "mail-smime-key"


class Mailbox(models.Model):
    """An agency's central e-mail address: read over IMAP, or handed over by the mail server
    (``saraban mail ingest``), and the SMTP relay its letters by e-mail go out through.

    Passwords and the S/MIME key are stored sealed (``saraban.core.keys``). Several workers
    poll: one claims a mailbox with a lease, the others skip it until the lease ends.
    """

    agency = models.OneToOneField(Agency, on_delete=models.PROTECT, related_name="mailbox")
    address = models.CharField("ที่อยู่ไปรษณีย์อิเล็กทรอนิกส์กลาง", max_length=254, unique=True)
    display_name = models.CharField("ชื่อที่แสดง", max_length=255, blank=True)
    accept_senders = models.TextField(
        "ผู้ส่งที่รับ", blank=True, default="*",
        help_text='One pattern a line: "*", "*.go.th", "@mail.go.th", "someone@x.com".',
    )
    acknowledge = models.BooleanField("ตอบผู้ส่งทางไปรษณีย์อิเล็กทรอนิกส์", default=False)
    enabled = models.BooleanField("เปิดใช้", default=True)
    imap_host = models.CharField(max_length=255, blank=True,
                                 help_text="Empty: mail is handed over by `saraban mail ingest`.")
    imap_port = models.PositiveIntegerField(default=993)
    imap_security = models.CharField(max_length=16, choices=MailSecurity.choices,
                                     default=MailSecurity.SSL)
    imap_user = models.CharField(max_length=255, blank=True)
    imap_password_sealed = models.TextField(blank=True)
    imap_folder = models.CharField(max_length=255, default="INBOX")
    imap_done_folder = models.CharField(max_length=255, default="Saraban/Processed")
    imap_kept_folder = models.CharField(max_length=255, default="Saraban/Kept")
    smtp_host = models.CharField(max_length=255, blank=True,
                                 help_text="Empty: letters by e-mail are only recorded.")
    smtp_port = models.PositiveIntegerField(default=587)
    smtp_security = models.CharField(max_length=16, choices=MailSecurity.choices,
                                     default=MailSecurity.STARTTLS)
    smtp_user = models.CharField(max_length=255, blank=True)
    smtp_password_sealed = models.TextField(blank=True)
    smime_certificate_pem = models.TextField(blank=True)
    smime_key_sealed = models.TextField(blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["address"]

    def __str__(self) -> str:
        return self.address

    def _open(self, field: str, purpose: str) -> str:
        value = getattr(self, field)
        if not value:
            return ""
        return keys.unseal(value, purpose=mail_purpose(purpose, self.agency_id)).decode()

    def imap_password(self) -> str:
        return self._open("imap_password_sealed", MAIL_IMAP_PURPOSE)

    def smtp_password(self) -> str:
        return self._open("smtp_password_sealed", MAIL_SMTP_PURPOSE)

    def smime_key_pem(self) -> str:
        return self._open("smime_key_sealed", MAIL_SMIME_PURPOSE)


def mail_purpose(kind: str, agency_id: int) -> str:
    """The purpose a mailbox secret of ``kind`` is sealed for (bound to its agency)."""
    return f"{kind}:{agency_id}"


class MailOutcome(models.TextChoices):
    INBOX = "inbox", "เข้ากล่องหนังสือเข้า"
    AUTO_REPLY = "auto_reply", "ตอบกลับอัตโนมัติ"
    BOUNCE = "bounce", "แจ้งส่งไม่สำเร็จ"
    LOOP = "loop", "วนซ้ำ"
    REFUSED = "refused", "ปฏิเสธ"
    SENDER_REFUSED = "sender_refused", "ผู้ส่งไม่อยู่ในรายชื่อที่รับ"


class MailSource(models.TextChoices):
    IMAP = "imap", "IMAP"
    PIPE = "pipe", "ส่งต่อจากเซิร์ฟเวอร์อีเมล"


class MailSeen(models.Model):
    """Every mail the mailbox processed, even one that yields nothing: the same mail (by its
    Message-ID, or by its content) is processed once."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="seen")
    message_key = models.CharField(max_length=64, blank=True,
                                   help_text="SHA-256 of the normalised Message-ID, or empty.")
    message_id = models.TextField(blank=True)
    digest = models.CharField(max_length=64)
    outcome = models.CharField(max_length=16, choices=MailOutcome.choices)
    code = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    inbox = models.ForeignKey(InboxMessage, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    blob = models.ForeignKey(Blob, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+", help_text="The raw mail.")
    sender = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    size = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=8, choices=MailSource.choices)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "digest"], name="mail_seen_digest_once"),
            models.UniqueConstraint(fields=["mailbox", "message_key"],
                                    condition=~Q(message_key=""),
                                    name="mail_seen_message_once"),
        ]

    def __str__(self) -> str:
        return f"{self.mailbox_id}: {self.outcome} {self.message_id or self.digest[:12]}"
