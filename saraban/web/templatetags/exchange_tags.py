"""Exchange pieces shown on pages of other parts of the UI.

``{% exchange_nav %}``: the nav links (the inbox with its waiting count for central registry
clerks; the directory for admins). ``{% letter_deliveries letter %}``: the tracking table on
the letter page (only the letter page calls it, after ``access_letter``).
``{% delivery_summaries entries as d %}`` and ``d|delivery_for:letter.pk``: one query for a
whole page of a register, "ลงรับแล้ว 2/3" per line.
``{% inbox_mail item.message as mail %}``: what an arrival by e-mail carries (sender address,
mail date, text, files not kept, S/MIME, the letter it answers), read from its envelope with
no query; ``{% inbox_checks items as checks %}`` and ``checks|check_for:f.pk``: the stored
PDF signature verdicts of a page of arrivals' files, in one query.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django import template
from django.db.models import BooleanField, Case, Count, Exists, OuterRef, Q, Value, When
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from saraban.agencies.models import Person
from saraban.exchange.inbox import arrival_channel, mail_addresses, mail_strings
from saraban.exchange.models import (
    DirectoryEntry,
    InboxFile,
    InboxMessage,
    Mailbox,
    MessageType,
    OutboxMessage,
    OutState,
)
from saraban.exchange.outbox import overdue_filter
from saraban.letters.access import registries_for
from saraban.letters.models import Channel, Letter, RegisterEntry
from saraban.signatures.models import SignatureCheck
from saraban.signatures.templatetags.signature_tags import LOOKS

from ..views.exchange import inbox_tenants, waiting_count

register = template.Library()

PROBLEM_STATES = (OutState.REJECTED, OutState.RETURNED, OutState.FAILED)
MAILTO = "mailto:"


@register.inclusion_tag("web/exchange/_nav_link.html", takes_context=True)
def exchange_nav(context: template.Context) -> dict[str, Any]:
    user = context.get("user")
    if not isinstance(user, Person) or not user.is_authenticated:
        return {"shown": False, "directory": False}
    waiting = waiting_count(user)
    return {
        "shown": waiting is not None,
        "waiting": waiting or 0,
        "directory": user.is_superuser or bool(context.get("web_is_agency_admin")),
    }


def _overdue() -> Case:
    """Sent and not registered in time; never a mail (no receipt comes back by e-mail)."""
    return Case(When(overdue_filter() & ~Q(recipient_code__startswith=MAILTO),
                     then=Value(True)), default=Value(False), output_field=BooleanField())


def _wire_time(text: str) -> dt.datetime | None:
    """A date-time as an e-CMS notifier writes it (ISO, naive = Bangkok time)."""
    when = parse_datetime(text.strip()) if text.strip() else None
    if when is not None and timezone.is_naive(when):
        when = timezone.make_aware(when)
    return when


def _ecms(out: OutboxMessage) -> dict[str, Any] | None:
    """e-CMS deliveries: the ProcessID from the own node, whether the recipient's node
    reported the letter arrived (``ReceiveLetterNotifier``), and a pending dispute."""
    receipt = out.transport_receipt if isinstance(out.transport_receipt, dict) else {}
    wire = out.payload.get("ecms") if isinstance(out.payload, dict) else None
    if receipt.get("channel") != "ecms" and not isinstance(wire, dict):
        return None
    arrived = receipt.get("arrived")
    arrived = arrived if isinstance(arrived, dict) else None
    text = str((arrived or {}).get("accept_date") or "")
    try:
        arrived_at = _wire_time(text)
    except ValueError:
        arrived_at = None
    return {
        "process_id": str(receipt.get("process_id") or ""),
        "arrived": arrived is not None,
        "arrived_at": arrived_at,
        "arrived_text": "" if arrived_at else text,
        "disputed": "disputed" in out.payload,
        "registered": out.state == OutState.REGISTERED and isinstance(wire, dict),
    }


@register.inclusion_tag("web/exchange/_deliveries.html", takes_context=True)
def letter_deliveries(context: template.Context, letter: Letter) -> dict[str, Any]:
    rows = list(
        OutboxMessage.objects.filter(letter=letter, type=MessageType.LETTER)
        .select_related("dispatch__recipient_agency")
        .annotate(overdue=_overdue(),
                  replaced=Exists(OutboxMessage.objects.filter(replaces=OuterRef("pk"))))
        .order_by("pk")
    )
    if not rows:
        return {"rows": []}
    names = dict(
        DirectoryEntry.objects.filter(code__in={o.recipient_code for o in rows})
        .values_list("code", "name_th")
    )
    user = context.get("user")
    can_act = isinstance(user, Person) and registries_for(user).filter(
        tenant_id=letter.tenant_id
    ).exists()
    return {
        "rows": [
            {
                "out": o,
                "recipient": names.get(o.recipient_code)
                or (o.dispatch.recipient_display if o.dispatch else o.recipient_code),
                "channel": o.dispatch.get_channel_display() if o.dispatch else "Saraban",
                "replaced": getattr(o, "replaced", False),
                "ecms": _ecms(o),
                "mail": _mail_delivery(o),
            }
            for o in rows
        ],
        "can_act": can_act,
        "csrf_token": context.get("csrf_token"),
    }


@dataclass(slots=True)
class DeliverySummary:
    total: int = 0
    registered: int = 0
    mailed: int = 0  # sent by e-mail: as far as a mail goes (no receipt number comes back)
    problems: int = 0
    overdue: int = 0
    states: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.total > 0 and self.registered + self.mailed == self.total


@register.simple_tag
def delivery_summaries(entries: Iterable[RegisterEntry]) -> dict[int, DeliverySummary]:
    """Per letter on the page: current deliveries (not the withdrawn-and-resent ones)."""
    ids = {e.letter_id for e in entries}
    if not ids:
        return {}
    by_mail = Q(recipient_code__startswith=MAILTO)
    rows = (
        OutboxMessage.objects.filter(letter_id__in=ids, type=MessageType.LETTER)
        .exclude(Exists(OutboxMessage.objects.filter(replaces=OuterRef("pk"))))
        .order_by()
        .values("letter_id", "state")
        .annotate(n=Count("pk"), late=Count("pk", filter=Q(overdue_filter()) & ~by_mail),
                  mailed=Count("pk", filter=by_mail & Q(state=OutState.SENT)))
    )
    summaries: dict[int, DeliverySummary] = defaultdict(DeliverySummary)
    for row in rows:
        s = summaries[row["letter_id"]]
        s.total += row["n"]
        s.overdue += row["late"]
        s.mailed += row["mailed"]
        s.states[row["state"]] = row["n"]
        if row["state"] == OutState.REGISTERED:
            s.registered += row["n"]
        elif row["state"] in PROBLEM_STATES:
            s.problems += row["n"]
    return dict(summaries)


@register.filter
def delivery_for(summaries: dict[int, DeliverySummary], letter_id: int) -> DeliverySummary | None:
    return summaries.get(letter_id)


# ---- e-mail: arrivals and deliveries ---------------------------------------------------------

#: S/MIME verdict -> (CSS modifier, Thai label)
SMIME_LOOKS: dict[str, tuple[str, str]] = {
    "valid": ("valid", "ลายมือชื่อ S/MIME ถูกต้อง"),
    "unverified": ("untrusted", "มีลายมือชื่อ S/MIME (ไม่รู้จักผู้ออกใบรับรอง)"),
    "invalid": ("bad", "ลายมือชื่อ S/MIME ไม่ถูกต้อง"),
}


def _aware(text: object) -> dt.datetime | None:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return timezone.make_aware(when) if timezone.is_naive(when) else when


#: Why an attachment of a mail was not kept as a file (codes from the intake and the file
#: checks of ``saraban.letters.files``); the original mail still holds it.
NOT_KEPT_REASONS: dict[str, str] = {
    "forwarded_message": "ไปรษณีย์อิเล็กทรอนิกส์ที่ส่งต่อมา (ไฟล์ของฉบับนั้นแสดงแยกไว้แล้ว)",
    "file_type_not_allowed": "ชนิดไฟล์ที่ระบบไม่รับ",
    "file_too_large": "ไฟล์ใหญ่เกินกำหนด",
    "file_empty": "ไฟล์ว่างเปล่า",
    "file_bomb": "ไฟล์บีบอัดที่ขยายตัวผิดปกติ",
    "file_too_complex": "ไฟล์ซับซ้อนเกินกว่าจะตรวจได้",
    "pdf_unreadable": "ไฟล์ PDF เสียหายหรืออ่านไม่ได้",
    "pdf_empty": "ไฟล์ PDF ไม่มีหน้าเอกสาร",
    "image_unreadable": "ไฟล์ภาพเสียหายหรืออ่านไม่ได้",
    "office_invalid": "ไฟล์ Office ไม่ถูกต้องหรือไม่ปลอดภัย",
    "zip_unsafe_name": "ไฟล์บีบอัดมีชื่อรายการที่ไม่ปลอดภัย",
    "mail_dangerous_attachment": "ไฟล์ที่อาจเป็นอันตราย",
    "mail_attachment_too_large": "ไฟล์แนบใหญ่เกินกำหนด",
}


@register.simple_tag
def inbox_mail(message: InboxMessage) -> dict[str, Any] | None:
    """An e-mail arrival's mail part as the inbox shows it, or ``None`` for other arrivals.

    Reads the envelope the intake wrote and the files already loaded with the message
    (``prefetch_related("files")``): no query.
    """
    if arrival_channel(message) != Channel.EMAIL:
        return None
    envelope = message.envelope if isinstance(message.envelope, dict) else {}
    mail = envelope.get("mail")
    mail = mail if isinstance(mail, dict) else {}
    letter = envelope.get("letter")
    letter = letter if isinstance(letter, dict) else {}
    smime = mail.get("smime")
    smime = smime if isinstance(smime, dict) and smime.get("signed") else None
    look = SMIME_LOOKS.get(str((smime or {}).get("verdict", "")), ("untrusted", "มีลายมือชื่อ S/MIME"))
    files: list[InboxFile] = list(message.files.all())
    listed = mail.get("not_kept")
    not_kept = [
        {"name": str(n.get("name", "")),
         "reason": NOT_KEPT_REASONS.get(str(n.get("reason", "")), str(n.get("reason", "")))}
        for n in (listed if isinstance(listed, list) else []) if isinstance(n, dict)
    ]
    address = str(mail.get("from") or "") or message.sender_code.removeprefix(MAILTO)
    replied = mail.get("replied_letter")
    return {
        "channel_label": Channel.EMAIL.label,
        "address": address,
        "name": str(mail.get("from_name") or ""),
        "to": mail_addresses(mail.get("to")),
        "cc": mail_addresses(mail.get("cc")),
        "date": _aware(mail.get("date")),
        "message_id": str(mail.get("message_id") or ""),
        "mailbox": str(mail.get("mailbox") or ""),
        "text": str(letter.get("body") or ""),
        "not_kept": not_kept,
        "smime": {"look": look[0], "label": look[1],
                  "signer": str(smime.get("signer") or smime.get("signer_subject") or "")}
        if smime else None,
        "replied_letter": replied if isinstance(replied, int) else None,
        "replied_number": str(mail.get("replied_number") or ""),
        "defects": mail_strings(mail.get("defects")),
        "original": next((f for f in files if f.role == "original"), None),
        "files": [f for f in files if f.role != "original"],
    }


@register.simple_tag
def inbox_checks(items: Iterable[Any]) -> dict[int, dict[str, str]]:
    """The stored PDF signature verdict of each file on a page of arrivals, by file id, as
    the recipient agency sees it (one query; files never verified are left out)."""
    wanted: dict[tuple[str, int], list[int]] = defaultdict(list)
    for item in items:
        message = getattr(item, "message", item)
        for f in message.files.all():
            if f.role != "original":
                wanted[(f.blob_id, message.recipient_id)].append(f.pk)
    if not wanted:
        return {}
    blobs = {blob for blob, _ in wanted}
    tenants = {tenant for _, tenant in wanted}
    found: dict[int, dict[str, str]] = {}
    for check in SignatureCheck.objects.filter(blob_id__in=blobs, tenant_id__in=tenants):
        if check.status not in LOOKS:
            continue
        look, label = LOOKS[check.status]
        for file_id in wanted.get((check.blob_id, check.tenant_id), []):
            found[file_id] = {"status": check.status, "look": look, "label": label,
                              "detail": check.label_th}
    return found


@register.filter
def check_for(checks: dict[int, dict[str, str]] | None, file_id: int) -> dict[str, str] | None:
    return (checks or {}).get(file_id)


def _mail_delivery(out: OutboxMessage) -> dict[str, Any] | None:
    """A delivery by e-mail: the recipient's address, our Message-ID once sent, and the
    bounce (status, diagnostic, reporting server) or delay a DSN reported."""
    if not out.recipient_code.startswith(MAILTO):
        return None
    receipt = out.transport_receipt if isinstance(out.transport_receipt, dict) else {}
    bounce = receipt.get("bounce")
    bounce = bounce if isinstance(bounce, dict) else None
    delayed = receipt.get("delayed")
    delayed = delayed if isinstance(delayed, dict) else None
    return {
        "address": out.recipient_code.removeprefix(MAILTO),
        "message_id": str(receipt.get("message_id") or ""),
        "bounce": bounce and {**bounce, "at": _aware(bounce.get("at"))},
        "delayed": delayed and {**delayed, "at": _aware(delayed.get("at"))},
    }


@register.simple_tag(takes_context=True)
def mail_kept_shown(context: template.Context) -> bool:
    """Whether one of the agencies whose inbox this person handles has a central mailbox
    (so the inbox links to the mails it kept apart)."""
    user = context.get("user")
    if not isinstance(user, Person) or not user.is_authenticated:
        return False
    return Mailbox.objects.filter(agency_id__in=inbox_tenants(user)).exists()
