"""Letters, their files, the registers and the number series.

A ``Letter`` is the record of one official letter, incoming or outgoing. It appears in one or
more registers through ``RegisterEntry`` rows (the central registry's, then each unit's), each
with a number issued from a ``Series`` by ``saraban.letters.numbering.issue_number``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from saraban.agencies.models import Agency, Person, Position


class LetterKind(models.TextChoices):
    EXTERNAL = "external", "หนังสือภายนอก"
    INTERNAL = "internal", "หนังสือภายใน"
    STAMPED = "stamped", "หนังสือประทับตรา"
    DIRECTIVE = "directive", "หนังสือสั่งการ"
    PUBLIC_RELATIONS = "public_relations", "หนังสือประชาสัมพันธ์"
    EVIDENCE = "evidence", "หนังสือที่เจ้าหน้าที่ทำขึ้นหรือรับไว้เป็นหลักฐาน"


class LetterSubkind(models.TextChoices):
    ORDER = "order", "คำสั่ง"
    REGULATION = "regulation", "ระเบียบ"
    BYLAW = "bylaw", "ข้อบังคับ"
    ANNOUNCEMENT = "announcement", "ประกาศ"
    STATEMENT = "statement", "แถลงการณ์"
    NEWS = "news", "ข่าว"
    CERTIFICATE = "certificate", "หนังสือรับรอง"
    MINUTES = "minutes", "รายงานการประชุม"
    MEMO = "memo", "บันทึก"
    OTHER_EVIDENCE = "other_evidence", "หนังสืออื่น"


SUBKINDS_OF: dict[str, frozenset[str]] = {
    LetterKind.EXTERNAL: frozenset(),
    LetterKind.INTERNAL: frozenset(),
    LetterKind.STAMPED: frozenset(),
    LetterKind.DIRECTIVE: frozenset({"order", "regulation", "bylaw"}),
    LetterKind.PUBLIC_RELATIONS: frozenset({"announcement", "statement", "news"}),
    LetterKind.EVIDENCE: frozenset({"certificate", "minutes", "memo", "other_evidence"}),
}


class Urgency(models.IntegerChoices):
    NORMAL = 0, "ปกติ"
    URGENT = 1, "ด่วน"
    VERY_URGENT = 2, "ด่วนมาก"
    MOST_URGENT = 3, "ด่วนที่สุด"


class Secrecy(models.IntegerChoices):
    NORMAL = 0, "ปกติ"
    CONFIDENTIAL = 1, "ลับ"
    SECRET = 2, "ลับมาก"
    TOP_SECRET = 3, "ลับที่สุด"


class Direction(models.TextChoices):
    INCOMING = "incoming", "หนังสือรับ"
    OUTGOING = "outgoing", "หนังสือส่ง"


class Letter(models.Model):
    tenant = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(
        Agency,
        on_delete=models.PROTECT,
        related_name="letters",
        help_text="The unit that owns the letter now (its registry's unit, or the owning unit).",
    )
    direction = models.CharField(max_length=16, choices=Direction.choices)
    kind = models.CharField(max_length=32, choices=LetterKind.choices)
    subkind = models.CharField(max_length=32, choices=LetterSubkind.choices, blank=True)
    urgency = models.PositiveSmallIntegerField(choices=Urgency.choices, default=Urgency.NORMAL)
    secrecy = models.PositiveSmallIntegerField(choices=Secrecy.choices, default=Secrecy.NORMAL)
    # ที่ / ลงวันที่: the letter's own number and date (theirs for an incoming letter).
    number = models.CharField("ที่", max_length=128, blank=True)
    letter_date = models.DateField("ลงวันที่", null=True, blank=True)
    sender_agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sender_text = models.CharField("จาก", max_length=255, blank=True)
    recipient_agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recipient_text = models.CharField("ถึง", max_length=255, blank=True)
    subject = models.CharField("เรื่อง", max_length=500)
    salutation = models.CharField("คำขึ้นต้น", max_length=255, blank=True)
    body = models.TextField("ข้อความ", blank=True)
    is_circular = models.BooleanField("หนังสือเวียน", default=False)
    is_paper = models.BooleanField("ฉบับกระดาษ", default=False)
    # How an incoming letter reached the registry: a ``Channel`` value ("saraban", "ecms",
    # "email"), or empty for one handed in or scanned at the desk.
    received_via = models.CharField("ช่องทางที่ได้รับ", max_length=16, blank=True, default="")
    secret_readers = models.ManyToManyField(Person, blank=True, related_name="+")
    created_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "secrecy", "unit"], name="letter_access"),
            models.Index(fields=["tenant", "-created_at"], name="letter_recent"),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def sender_display(self) -> str:
        return self.sender_agency.name_th if self.sender_agency else self.sender_text

    @property
    def recipient_display(self) -> str:
        return self.recipient_agency.name_th if self.recipient_agency else self.recipient_text

    @property
    def received_via_label(self) -> str:
        """Short Thai name of the channel an incoming letter arrived by ("" at the desk)."""
        return RECEIVED_VIA_LABELS.get(self.received_via, self.received_via)

    @property
    def received_electronically(self) -> bool:
        """Arrived by an electronic channel (exchange, e-CMS, e-mail): what the programme's
        indicator counts on the receiving side."""
        return self.received_via in ELECTRONIC_CHANNELS


class LetterReference(models.Model):
    """อ้างถึง: an earlier letter, linked when it is in the system, else as text."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="references")
    referenced = models.ForeignKey(
        Letter, null=True, blank=True, on_delete=models.PROTECT, related_name="referenced_by"
    )
    text = models.CharField(max_length=500, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]


class Enclosure(models.Model):
    """สิ่งที่ส่งมาด้วย."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="enclosures")
    description = models.CharField(max_length=500)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]


class Blob(models.Model):
    """One stored file's content, named by its SHA-256; written once, never rewritten."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)


class FileRole(models.TextChoices):
    MAIN = "main", "ไฟล์หนังสือ"
    ATTACHMENT = "attachment", "สิ่งที่ส่งมาด้วย"
    # The message exactly as it arrived (an e-mail's raw .eml), kept beside the letter.
    ORIGINAL = "original", "ต้นฉบับที่ได้รับ"


class LetterFile(models.Model):
    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="files")
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=16, choices=FileRole.choices)
    filename = models.CharField(max_length=255)
    added_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField()
    # A correction (saraban.letters.corrections) never rewrites a file: the old one is kept,
    # marked replaced with the reason, and the new one added beside it.
    replaced_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    correction_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["role", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["letter"],
                condition=Q(role="main", replaced_at__isnull=True),
                name="letterfile_one_main",
            )
        ]


class Registry(models.Model):
    """A registry office: the central one (สารบรรณกลาง) or a unit's (สารบรรณหน่วยงาน)."""

    unit = models.OneToOneField(Agency, on_delete=models.PROTECT, related_name="registry")
    tenant = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    is_central = models.BooleanField(default=False)
    name_th = models.CharField(max_length=255)
    number_prefix = models.CharField(
        "รหัสหน้าเลขที่หนังสือ", max_length=64, blank=True, help_text="e.g. มท 0210.3"
    )

    class Meta:
        verbose_name_plural = "registries"

    def __str__(self) -> str:
        return self.name_th


class SeriesKind(models.TextChoices):
    INCOMING = "incoming", "ทะเบียนหนังสือรับ"
    OUTGOING = "outgoing", "ทะเบียนหนังสือส่ง"
    CIRCULAR = "circular", "ทะเบียนหนังสือเวียน"
    ORDER = "order", "ทะเบียนคำสั่ง"
    ANNOUNCEMENT = "announcement", "ทะเบียนประกาศ"
    SECRET_INCOMING = "secret_incoming", "ทะเบียนหนังสือรับ (ลับ)"
    SECRET_OUTGOING = "secret_outgoing", "ทะเบียนหนังสือส่ง (ลับ)"


INCOMING_SERIES = frozenset({SeriesKind.INCOMING, SeriesKind.SECRET_INCOMING})
SECRET_SERIES = frozenset({SeriesKind.SECRET_INCOMING, SeriesKind.SECRET_OUTGOING})


class Series(models.Model):
    """A number series of one registry, restarting at 1 every Buddhist year."""

    registry = models.ForeignKey(Registry, on_delete=models.PROTECT, related_name="series")
    kind = models.CharField(max_length=32, choices=SeriesKind.choices)

    class Meta:
        verbose_name_plural = "series"
        constraints = [
            models.UniqueConstraint(fields=["registry", "kind"], name="series_unique_kind")
        ]

    def __str__(self) -> str:
        return f"{self.registry} · {self.get_kind_display()}"


class SeriesYear(models.Model):
    """The counter of one series in one Buddhist year; locked while a number is issued."""

    series = models.ForeignKey(Series, on_delete=models.PROTECT, related_name="years")
    year_be = models.PositiveIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "year_be"], name="seriesyear_unique")
        ]


class RegisterEntry(models.Model):
    """One line of a register: a number issued to a letter, never reused."""

    series = models.ForeignKey(Series, on_delete=models.PROTECT, related_name="entries")
    year_be = models.PositiveIntegerField()
    number = models.PositiveIntegerField()
    formatted = models.CharField(max_length=128)
    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="entries")
    registered_at = models.DateTimeField()
    registered_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    position = models.ForeignKey(
        Position, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acting_kind = models.CharField(max_length=16, blank=True)
    action_taken = models.CharField("การปฏิบัติ", max_length=500, blank=True)
    remarks = models.CharField("หมายเหตุ", max_length=500, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancel_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["series_id", "-year_be", "-number"]
        verbose_name_plural = "register entries"
        constraints = [
            models.UniqueConstraint(
                fields=["series", "year_be", "number"], name="registerentry_unique_number"
            )
        ]
        # A register's lines by day: printouts and the indicators' counts of a day.
        indexes = [models.Index(fields=["series", "registered_at"], name="registerentry_day")]

    def __str__(self) -> str:
        return self.formatted

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None


class Handover(models.Model):
    """The central registry passing a letter on to a unit, whose registry registers it again."""

    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="handovers")
    from_registry = models.ForeignKey(Registry, on_delete=models.PROTECT, related_name="+")
    to_registry = models.ForeignKey(Registry, on_delete=models.PROTECT, related_name="handovers")
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=500, blank=True)
    entry = models.OneToOneField(
        RegisterEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="handover"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["letter", "to_registry"], name="handover_once_per_registry"
            )
        ]


class DerivedFile(models.Model):
    """A file made from a letter's file (the receipt-stamped copy); the original stays as is."""

    entry = models.ForeignKey(RegisterEntry, on_delete=models.CASCADE, related_name="derived")
    source = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+")
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(max_length=32, default="receipt_stamp")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entry", "source", "purpose"], name="derived_unique")
        ]


class Channel(models.TextChoices):
    SARABAN = "saraban", "ระบบสารบรรณอิเล็กทรอนิกส์"
    EMAIL = "email", "ไปรษณีย์อิเล็กทรอนิกส์"
    POST = "post", "ไปรษณีย์"
    HAND = "hand", "ส่งด้วยมือ"
    ECMS = "ecms", "e-CMS"
    FAX = "fax", "โทรสาร"


ELECTRONIC_CHANNELS = frozenset({Channel.SARABAN, Channel.EMAIL, Channel.ECMS})
# Badges of incoming letters in registers, search results and the letter page.
RECEIVED_VIA_LABELS: dict[str, str] = {
    Channel.SARABAN.value: "ระบบสารบรรณ", Channel.EMAIL.value: "อีเมล", Channel.ECMS.value: "e-CMS",
}


class Dispatch(models.Model):
    """One recipient of an outgoing letter and the channel it goes by."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="dispatches")
    recipient_agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recipient_text = models.CharField(max_length=255, blank=True)
    recipient_code = models.CharField(
        max_length=64, blank=True, help_text="The recipient's exchange code (Saraban channel)."
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    address = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]

    @property
    def recipient_display(self) -> str:
        return self.recipient_agency.name_th if self.recipient_agency else self.recipient_text

    @property
    def is_electronic(self) -> bool:
        return self.channel in ELECTRONIC_CHANNELS

