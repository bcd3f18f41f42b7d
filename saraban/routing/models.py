"""Moving a registered letter to the people who act on it, and following where it is.

An ``Endorsement`` (เกษียนหนังสือ) is an executive's instruction on a letter. An
``Assignment`` sends the letter to a unit, a position or a person, for action or for
information; it is acknowledged, then closed (เรื่องเสร็จ), returned or forwarded (a new
assignment whose ``parent`` is the forwarded one). Circular letters carry one
``CircularRecipient`` per addressee with its read receipt. ``Notification`` rows are the
in-app bell; each person chooses which kinds also go by e-mail.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from saraban.agencies.models import Agency, Person, Position
from saraban.letters.models import Letter, RegisterEntry


class Endorsement(models.Model):
    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="endorsements")
    text = models.TextField("ข้อความเกษียน")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    person_name = models.CharField(max_length=255)
    position = models.ForeignKey(
        Position, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    position_title = models.CharField(max_length=255, blank=True)
    acting_kind = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.text[:60]


class Purpose(models.TextChoices):
    ACTION = "action", "เพื่อดำเนินการ"
    INFORMATION = "information", "เพื่อทราบ"


class AssignmentState(models.TextChoices):
    PENDING = "pending", "รอรับทราบ"
    ACKNOWLEDGED = "acknowledged", "กำลังดำเนินการ"
    RETURNED = "returned", "ส่งคืน"
    FORWARDED = "forwarded", "ส่งต่อแล้ว"
    CLOSED = "closed", "เรื่องเสร็จ"


OPEN_STATES = frozenset({AssignmentState.PENDING, AssignmentState.ACKNOWLEDGED})


class Assignment(models.Model):
    """The letter sent to a unit, a position or a person (exactly one of the three)."""

    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="assignments")
    tenant = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="forwards"
    )
    endorsement = models.ForeignKey(
        Endorsement, null=True, blank=True, on_delete=models.PROTECT, related_name="assignments"
    )
    from_person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    from_position = models.ForeignKey(
        Position, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_acting_kind = models.CharField(max_length=16, blank=True)
    to_unit = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="assignments"
    )
    to_position = models.ForeignKey(
        Position, null=True, blank=True, on_delete=models.PROTECT, related_name="assignments"
    )
    to_person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="assignments"
    )
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.ACTION)
    note = models.CharField("คำสั่งการ/หมายเหตุ", max_length=500, blank=True)
    due_at = models.DateTimeField("กำหนดเสร็จ", null=True, blank=True)
    state = models.CharField(
        max_length=16, choices=AssignmentState.choices, default=AssignmentState.PENDING
    )
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.TextField("ผลการดำเนินการ", blank=True)
    reply_letter = models.ForeignKey(
        Letter, null=True, blank=True, on_delete=models.PROTECT, related_name="replies_to"
    )
    unit_entry = models.ForeignKey(
        RegisterEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(to_unit__isnull=False, to_position__isnull=True, to_person__isnull=True)
                    | Q(to_unit__isnull=True, to_position__isnull=False, to_person__isnull=True)
                    | Q(to_unit__isnull=True, to_position__isnull=True, to_person__isnull=False)
                ),
                name="assignment_one_target",
            )
        ]
        indexes = [
            models.Index(fields=["to_person", "state"], name="assignment_person_open"),
            models.Index(fields=["to_position", "state"], name="assignment_position_open"),
            models.Index(fields=["to_unit", "state"], name="assignment_unit_open"),
            models.Index(fields=["tenant", "state", "due_at"], name="assignment_due"),
        ]

    def __str__(self) -> str:
        return f"{self.letter_id} → {self.target_display}"

    @property
    def target_display(self) -> str:
        if self.to_person is not None:
            return self.to_person.display_name()
        if self.to_position is not None:
            return self.to_position.title_th
        return self.to_unit.name_th if self.to_unit is not None else ""

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class CircularRecipient(models.Model):
    """One addressee of a circular inside the agency, with its read receipt (รับทราบแล้ว)."""

    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="circular_to")
    unit = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(unit__isnull=False, person__isnull=True)
                | Q(unit__isnull=True, person__isnull=False),
                name="circular_one_target",
            ),
            models.UniqueConstraint(fields=["letter", "unit"], name="circular_once_per_unit"),
            models.UniqueConstraint(fields=["letter", "person"], name="circular_once_per_person"),
        ]


class NotificationKind(models.TextChoices):
    ASSIGNED = "assigned", "ได้รับมอบหมายหนังสือ"
    URGENT = "urgent", "หนังสือด่วน"
    OVERDUE = "overdue", "หนังสือเกินกำหนด"
    RETURNED = "returned", "หนังสือถูกส่งคืน"
    CIRCULAR = "circular", "หนังสือเวียน"
    APPROVAL = "approval", "ร่างหนังสือรอพิจารณา/ลงนาม"
    CERTIFICATE = "certificate", "ใบรับรองใกล้หมดอายุ"


class Notification(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    letter = models.ForeignKey(
        Letter, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["person", "read_at"], name="notification_unread")]


class NotificationPreference(models.Model):
    """Per person and kind: in the app (the bell) and/or by e-mail. No row: both on."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "kind"], name="notification_pref_unique")
        ]


class DelegationRule(models.Model):
    """Within an agency: the holder of ``delegate`` may endorse for ``principal``."""

    tenant = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    principal = models.ForeignKey(Position, on_delete=models.CASCADE, related_name="+")
    delegate = models.ForeignKey(Position, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "delegate"], name="delegation_unique")
        ]
