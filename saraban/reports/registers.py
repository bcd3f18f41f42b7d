"""Register printouts as PDF: ทะเบียนหนังสือรับ (แบบที่ 12), ทะเบียนหนังสือส่ง (แบบที่ 14) and
the delivery book (สมุดส่งหนังสือ, แบบที่ 15) for any range of days, in the columns of the
regulation, one block per registration day.

The "การปฏิบัติ" column is what the registry wrote on the line or, when it wrote nothing,
what became of the letter: for an incoming letter where it was sent (มอบ … เพื่อดำเนินการ) and
whether it was done; for an outgoing letter the channels it was sent by. Only the lines of
letters the person may see are printed (the letters' access rule); a cancelled number is
printed struck through with the reason.

The delivery book is what the messenger carries and the recipient signs: one line per copy
sent on paper (by hand, post or fax: every channel that is not electronic) from the registry's
sending series (หนังสือส่ง, เวียน, คำสั่ง, ประกาศ), in number order per day, with the columns
"ผู้รับ" and "วันและเวลา" left blank for the recipient's signature and the moment of receipt;
"หมายเหตุ" says the channel (and the post or fax address). Left out, as a registry clerk
expects: copies sent electronically (Saraban, e-CMS, e-mail: nobody signs for them, their proof
of delivery is the receipt the system keeps on the letter), cancelled numbers (nothing was
sent), and secret letters (ลับ and above go under the secrecy regulation with its own receipt
form, never in an open book).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import typst
from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from saraban.agencies.models import Person
from saraban.core.errors import ValidationFailed
from saraban.core.thai import Digits, bangkok, thai_date, thai_form_date, with_digits
from saraban.letters.access import visible_letters
from saraban.letters.models import (
    ELECTRONIC_CHANNELS,
    INCOMING_SERIES,
    Channel,
    Dispatch,
    Letter,
    RegisterEntry,
    Registry,
    Secrecy,
    Series,
    SeriesKind,
)
from saraban.letters.stamp import FONT_DIR
from saraban.routing.models import Assignment, AssignmentState

from .periods import Period

__all__ = ["DELIVERY_SERIES", "DeliveryLine", "RegisterLine", "delivery_lines", "delivery_pdf",
           "evidence_lines", "register_lines", "register_pdf"]

TEMPLATE: Final = Path(__file__).parent / "typst" / "register.typ"
DELIVERY_TEMPLATE: Final = Path(__file__).parent / "typst" / "delivery.typ"
COLUMNS_IN: Final = ("เลขทะเบียนรับ", "ที่", "ลงวันที่", "จาก", "ถึง", "เรื่อง", "การปฏิบัติ",
                     "หมายเหตุ")
COLUMNS_OUT: Final = ("เลขทะเบียนส่ง", *COLUMNS_IN[1:])
COLUMNS_DELIVERY: Final = ("เลขทะเบียนส่ง", "จาก", "ถึง", "เรื่อง", "ผู้รับ", "วันและเวลา",
                            "หมายเหตุ")
#: The series whose letters leave the registry on paper (the secret ones never in this book).
DELIVERY_SERIES: Final = (SeriesKind.OUTGOING, SeriesKind.CIRCULAR, SeriesKind.ORDER,
                          SeriesKind.ANNOUNCEMENT)
#: What an evidence pack prints for the subject of a secret letter.
SECRET_SUBJECT: Final = "ลับ"  # noqa: S105 (a word printed, not a password)
#: The most lines one printout takes (a year of a busy registry; beyond it, print by month).
MAX_LINES: Final = 20_000


@dataclass(frozen=True, slots=True)
class RegisterLine:
    day: str  # ISO date of the registration (Bangkok)
    number: str
    their_number: str
    date: str
    sender: str
    recipient: str
    subject: str
    action: str
    remarks: str
    cancelled: bool


def _assigned(assignments: list[Assignment]) -> str:
    parts = []
    for a in assignments:
        to = (a.to_unit.name_th if a.to_unit else a.to_position.title_th if a.to_position
              else a.to_person.display_name() if a.to_person else "")
        text = f"มอบ {to} {a.get_purpose_display()}"
        if a.state == AssignmentState.CLOSED and a.closed_at:
            text += f" (เสร็จ {thai_date(a.closed_at, style='short')})"
        parts.append(text)
    return "; ".join(parts)


def _sent_by(channels: list[str]) -> str:
    counted = Counter(channels)
    labels = dict(Channel.choices)
    return "ส่งทาง " + ", ".join(f"{labels.get(c, c)} {n}" for c, n in counted.items()) \
        if counted else ""


def register_lines(person: Person, series: Series, period: Period) -> list[RegisterLine]:
    """The lines of ``series`` registered in ``period`` that ``person`` may see, in number
    order (three queries). More than ``MAX_LINES`` is refused (``period_too_long``), never cut."""
    return _register_lines(series, period, letters=visible_letters(person))


def evidence_lines(series: Series, period: Period) -> list[RegisterLine]:
    """Every line of ``series`` in ``period``, for an overseer's evidence pack (the register
    as the record it is, not the letters): a secret letter's subject reads "ลับ"."""
    return _register_lines(series, period, letters=None)


def _register_lines(series: Series, period: Period, *, letters: QuerySet[Letter] | None
                    ) -> list[RegisterLine]:
    lo, hi = period.bounds
    entries = RegisterEntry.objects.filter(series=series, registered_at__gte=lo,
                                           registered_at__lt=hi)
    if letters is not None:
        entries = entries.filter(letter__in=letters)
    entries = (
        entries.select_related("letter__sender_agency", "letter__recipient_agency")
        .prefetch_related(
            Prefetch("letter__assignments",
                     queryset=Assignment.objects.filter(parent__isnull=True)
                     .select_related("to_unit", "to_position", "to_person")),
            "letter__dispatches",
        )
        .order_by("year_be", "number")[:MAX_LINES + 1]
    )
    incoming = series.kind in INCOMING_SERIES
    lines = []
    if len(entries) > MAX_LINES:  # never a printout silently short of lines
        raise _too_long()
    for e in entries:
        letter = e.letter
        action = e.action_taken or (
            _assigned(list(letter.assignments.all())) if incoming
            else _sent_by([d.channel for d in letter.dispatches.all()]))
        remarks = e.remarks
        if e.cancelled_at is not None:
            remarks = f"ยกเลิก: {e.cancel_reason}" + (f" · {remarks}" if remarks else "")
        secret = letters is None and letter.secrecy > Secrecy.NORMAL
        lines.append(RegisterLine(
            day=bangkok(e.registered_at).date().isoformat(), number=e.formatted,
            their_number=letter.number,
            date=thai_date(letter.letter_date, style="short") if letter.letter_date else "",
            sender=letter.sender_display, recipient=letter.recipient_display,
            subject=SECRET_SUBJECT if secret else letter.subject, action=action,
            remarks=remarks, cancelled=e.cancelled_at is not None,
        ))
    return lines


def _too_long() -> ValidationFailed:
    return ValidationFailed(f"ช่วงวันที่นี้มีเกิน {MAX_LINES:,} รายการ กรุณาพิมพ์ทีละเดือน",
                            code="period_too_long", field="to")


@dataclass(frozen=True, slots=True)
class DeliveryLine:
    """One copy sent on paper: a line of the delivery book."""

    day: str  # ISO date of the registration (Bangkok)
    number: str
    sender: str
    recipient: str
    subject: str
    channel: str
    remarks: str


def delivery_lines(registry: Registry, period: Period, *, reader: Person | None
                   ) -> list[DeliveryLine]:
    """The delivery book of ``registry`` over ``period``: each copy of a letter numbered in a
    sending series (``DELIVERY_SERIES``) and sent by a paper channel, in the order numbered,
    of the letters ``reader`` may see (``None``: every letter, for an evidence pack).
    Cancelled numbers, secret letters and letters recorded without a channel are never in
    it. More than ``MAX_LINES`` copies is refused (``period_too_long``)."""
    lo, hi = period.bounds
    entries = RegisterEntry.objects.filter(
        series__registry=registry, series__kind__in=DELIVERY_SERIES, registered_at__gte=lo,
        registered_at__lt=hi, cancelled_at__isnull=True, letter__secrecy=Secrecy.NORMAL,
    )
    if reader is not None:
        entries = entries.filter(letter__in=visible_letters(reader))
    paper = (Dispatch.objects.exclude(channel__in=ELECTRONIC_CHANNELS)
             .select_related("recipient_agency").order_by("pk"))
    # Only lines with a paper copy, so the limit below counts lines of the book (each gives
    # at least one) and letters sent electronically cannot push a paper one past it.
    entries = entries.filter(Exists(paper.filter(letter_id=OuterRef("letter_id"))))
    found = list(
        entries.select_related("letter__sender_agency")
        .prefetch_related(Prefetch("letter__dispatches", queryset=paper, to_attr="paper"))
        .order_by("registered_at", "pk")[:MAX_LINES + 1]
    )
    labels = dict(Channel.choices)
    lines = []
    for e in found:
        letter = e.letter
        for d in letter.paper:  # type: ignore[attr-defined]
            remarks = str(labels.get(d.channel, d.channel))
            lines.append(DeliveryLine(
                day=bangkok(e.registered_at).date().isoformat(), number=e.formatted,
                sender=letter.sender_display, recipient=d.recipient_display,
                subject=letter.subject, channel=d.channel,
                remarks=f"{remarks} {d.address}" if d.address else remarks,
            ))
    if len(found) > MAX_LINES or len(lines) > MAX_LINES:
        raise _too_long()
    return lines



def register_pdf(series: Series, lines: list[RegisterLine], period: Period, *,
                 thai_digits: bool = False) -> bytes:
    """The printout of ``lines`` (from :func:`register_lines`) as a PDF."""
    incoming = series.kind in INCOMING_SERIES
    digits: Digits = "thai" if thai_digits else "arabic"

    def t(text: str) -> str:
        return with_digits(text, digits)

    days = [{"label": thai_form_date(dt.date.fromisoformat(day), digits=digits),
             "lines": [{k: t(v) if isinstance(v, str) else v for k, v in asdict(line).items()}
                       for line in group]}
            for day, group in itertools.groupby(lines, key=lambda line: line.day)]
    data = {
        "form_name": "แบบที่ 12" if incoming else "แบบที่ 14",
        "heading": "ทะเบียนหนังสือรับ" if incoming else "ทะเบียนหนังสือส่ง",
        "registry": f"{series.registry.name_th} · {series.get_kind_display()}",
        "period": t(period.label), "page_label": "หน้า",
        "columns": list(COLUMNS_IN if incoming else COLUMNS_OUT),
        "days": days, "empty": "ไม่มีรายการในช่วงเวลานี้",
    }
    return _compile(TEMPLATE, data)


def delivery_pdf(registry: Registry, lines: list[DeliveryLine], period: Period, *,
                 thai_digits: bool = False) -> bytes:
    """The delivery book of ``lines`` (from :func:`delivery_lines`) as a PDF."""
    digits: Digits = "thai" if thai_digits else "arabic"

    def t(text: str) -> str:
        return with_digits(text, digits)

    days = [{"label": thai_form_date(dt.date.fromisoformat(day), digits=digits),
             "lines": [{k: t(v) for k, v in asdict(line).items()} for line in group]}
            for day, group in itertools.groupby(lines, key=lambda line: line.day)]
    data = {
        "form_name": "แบบที่ 15", "heading": "สมุดส่งหนังสือ",
        "registry": registry.name_th, "period": t(period.label), "page_label": "หน้า",
        "columns": list(COLUMNS_DELIVERY), "days": days,
        "empty": "ไม่มีหนังสือที่ส่งทางกระดาษในช่วงเวลานี้",
    }
    return _compile(DELIVERY_TEMPLATE, data)


def _compile(template: Path, data: dict[str, Any]) -> bytes:
    result = typst.compile(str(template), root=str(template.parent), font_paths=[str(FONT_DIR)],
                           ignore_system_fonts=True, format="pdf",
                           sys_inputs={"data": json.dumps(data, ensure_ascii=False)})
    assert isinstance(result, bytes)
    return result

