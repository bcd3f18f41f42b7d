"""Signing identities, trust roots and the stored verdicts of signature checks.

A ``SigningIdentity`` is a certificate and the way to reach its private key: a PKCS#12 file
kept encrypted under a key derived from the node's secret, or a key on a PKCS#11 token or HSM
(module, token label, key label). A person's identity has ``person`` set; the agency seal
(ตราส่วนราชการ) has none. The passphrase or PIN is stored (encrypted) only when
``store_secret`` was asked for, which is how the system applies a seal unattended; a person
types theirs when they sign.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from saraban.agencies.models import Agency, Person


class IdentityKind(models.TextChoices):
    PKCS12 = "pkcs12", "ไฟล์ PKCS#12"
    PKCS11 = "pkcs11", "อุปกรณ์ PKCS#11 (token/HSM)"


class SigningIdentity(models.Model):
    tenant = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="+", verbose_name="ส่วนราชการ"
    )
    person = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="signing_identities",
        verbose_name="ผู้ลงนาม",
        help_text="เว้นว่างสำหรับตราส่วนราชการ (agency seal)",
    )
    kind = models.CharField("ชนิด", max_length=16, choices=IdentityKind.choices)
    label = models.CharField("ชื่อเรียก", max_length=255, blank=True)
    active = models.BooleanField("ใช้งาน", default=True)
    created_at = models.DateTimeField("สร้างเมื่อ")
    created_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The certificate, read from the PKCS#12 file or the token when the identity was added.
    certificate_pem = models.TextField(editable=False)
    chain_pem = models.TextField(blank=True, editable=False, help_text="Intermediate CAs.")
    subject_name = models.CharField("ชื่อในใบรับรอง", max_length=255, editable=False)
    issuer_name = models.CharField("ผู้ออกใบรับรอง", max_length=255, editable=False)
    serial = models.CharField("หมายเลขใบรับรอง", max_length=80, editable=False)
    fingerprint = models.CharField("SHA-256", max_length=64, editable=False, db_index=True)
    not_before = models.DateTimeField("ใช้ได้ตั้งแต่", editable=False)
    not_after = models.DateTimeField("หมดอายุ", editable=False)
    # PKCS#12: the file, encrypted (Fernet) under a key derived from the node's secret.
    p12_encrypted = models.BinaryField(null=True, blank=True, editable=False)
    # PKCS#11: where the key lives.
    pkcs11_module = models.CharField(max_length=500, blank=True)
    pkcs11_token_label = models.CharField(max_length=255, blank=True)
    pkcs11_key_label = models.CharField(max_length=255, blank=True)
    pkcs11_cert_label = models.CharField(max_length=255, blank=True)
    # The passphrase or PIN, encrypted, only when store_secret was asked for.
    store_secret = models.BooleanField("เก็บรหัสผ่านไว้ในระบบ", default=False, editable=False)
    secret_encrypted = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "ใบรับรองสำหรับลงนาม"
        verbose_name_plural = "ใบรับรองสำหรับลงนาม"
        ordering = ["tenant_id", "person_id", "-created_at"]
        indexes = [models.Index(fields=["tenant", "person", "active"], name="identity_lookup")]
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(active=True, person__isnull=False),
                name="identity_one_active_per_person",
            ),
            models.UniqueConstraint(
                fields=["tenant"],
                condition=Q(active=True, person__isnull=True),
                name="identity_one_active_seal",
            ),
        ]

    def __str__(self) -> str:
        return self.label or self.subject_name

    @property
    def is_seal(self) -> bool:
        return self.person_id is None


class TrustRoot(models.Model):
    """A root CA certificate trusted for verification: the node's (tenant None) or a tenant's."""

    tenant = models.ForeignKey(
        Agency,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="ส่วนราชการ",
        help_text="เว้นว่าง: ใช้กับทุกส่วนราชการบนระบบนี้",
    )
    label = models.CharField("ชื่อเรียก", max_length=255, blank=True)
    certificate_pem = models.TextField("ใบรับรอง (PEM)")
    fingerprint = models.CharField("SHA-256", max_length=64, editable=False)
    added_at = models.DateTimeField("เพิ่มเมื่อ")
    added_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "ใบรับรองหลักที่เชื่อถือ"
        verbose_name_plural = "ใบรับรองหลักที่เชื่อถือ"
        ordering = ["tenant_id", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "fingerprint"], name="trustroot_unique_per_tenant"
            ),
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=Q(tenant__isnull=True),
                name="trustroot_unique_node",
            ),
        ]

    def __str__(self) -> str:
        return self.label or self.fingerprint[:16]


class CheckStatus(models.TextChoices):
    UNSIGNED = "unsigned", "ไม่มีลายมือชื่ออิเล็กทรอนิกส์"
    VALID = "valid", "ลายมือชื่อถูกต้อง"
    UNTRUSTED = "untrusted", "ไม่รู้จักผู้ออกใบรับรอง"
    MODIFIED = "modified", "เอกสารถูกแก้ไขหลังลงนาม"
    INVALID = "invalid", "ลายมือชื่อไม่ถูกต้อง"
    UNREADABLE = "unreadable", "อ่านไฟล์ไม่ได้"
    NOT_PDF = "not_pdf", "ไม่ใช่ไฟล์ PDF"


#: The verdicts flagged red: recorded in the audit log when a file arrives with one.
RED_STATUSES = frozenset({CheckStatus.INVALID, CheckStatus.MODIFIED, CheckStatus.UNTRUSTED})


class SignatureCheck(models.Model):
    """The last verification of one stored file, as seen by one tenant (its trust roots)."""

    blob = models.ForeignKey("letters.Blob", on_delete=models.PROTECT, related_name="+")
    tenant = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    checked_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=CheckStatus.choices)
    label_th = models.CharField(max_length=500, blank=True)
    signatures = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blob", "tenant"], name="signaturecheck_unique")
        ]

    def __str__(self) -> str:
        return f"{self.blob_id[:12]} {self.status}"

    @property
    def is_red(self) -> bool:
        return self.status in RED_STATUSES


class CertificateSource(models.TextChoices):
    IDENTITY = "identity", "ใบรับรองสำหรับลงนาม"
    SEAL = "seal", "ตราส่วนราชการ"
    EXCHANGE = "exchange", "ใบรับรองรับส่งหนังสือระหว่างหน่วยงาน"


class CertificateWarning(models.Model):
    """One warning sent about one certificate at one threshold (60, 30 or 7 days before it
    expires). The unique row is the claim: of several workers checking at once, the one that
    inserts it sends the warning, so each threshold is announced once per certificate."""

    tenant = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=16, choices=CertificateSource.choices)
    fingerprint = models.CharField("SHA-256", max_length=64)
    threshold_days = models.PositiveSmallIntegerField()
    subject = models.CharField(max_length=255)
    not_after = models.DateTimeField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "fingerprint", "threshold_days"],
                                    name="certificate_warning_once")
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.threshold_days}d"
