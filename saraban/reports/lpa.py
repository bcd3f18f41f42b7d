"""The LPA evidence pack (หลักฐานประกอบการประเมินประสิทธิภาพขององค์กรปกครองส่วนท้องถิ่น):
what a provincial office collects from each LAO it oversees for one fiscal year, as one ZIP.

- ``indicators/``: the one-page summary (sealed with the LAO's seal where it has one) and
  the XLSX workbook of the indicators, by month;
- ``lists/``: the register lines behind the three counts, as CSV (UTF-8 with a byte-order
  mark, so Excel reads the Thai) and as one XLSX: the copies sent electronically, the copies
  sent otherwise (post, hand, fax, or no channel recorded; the two together are every copy
  sent) and the letters received, each with its number, date, subject and channel;
- ``registers/``: for every registry of the LAO, ทะเบียนหนังสือรับ (แบบที่ 12),
  ทะเบียนหนังสือส่ง (แบบที่ 14, and the circular, order and announcement registers that have
  lines) and the delivery book (สมุดส่งหนังสือ, แบบที่ 15) for the year, one PDF each; a
  register over ``MAX_LINES`` lines is printed by month (by day if a month is still too long)
  rather than refused;
- ``manifest.json``: each file's SHA-256, size and what it is, the counts, the period;
  ``README.txt``: the same in Thai for the people who open it.

The pack shows the registers as records, not the letters: no body, no file. Its reader is an
overseer (``access.access_scope``), who may not read the LAO's letters, so the subject of every
secret letter (ลับ and above) is printed as "ลับ" and the number of such lines is counted in the
manifest; the secret registers themselves are not printed (their lines are in the lists).

>>> pack = lpa_pack(lao, 2569, today=dt.date(2026, 10, 5))        # doctest: +SKIP
>>> zipfile.ZipFile(io.BytesIO(pack.data)).namelist()[:2]          # doctest: +SKIP
['README.txt', 'manifest.json']
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

from saraban.agencies.models import LAO_KINDS, Agency
from saraban.core.errors import ValidationFailed
from saraban.core.thai import BE_OFFSET, MONTHS, bangkok, thai_date
from saraban.letters.models import (
    ELECTRONIC_CHANNELS,
    Dispatch,
    RegisterEntry,
    Registry,
    Secrecy,
    Series,
    SeriesKind,
)

from .export import LABELS, kpi_document, to_xlsx
from .indicators import PAPER, UNRECORDED, Scope, lines_behind
from .periods import Period, fiscal_year, months_in
from .registers import (
    SECRET_SUBJECT,
    delivery_lines,
    delivery_pdf,
    evidence_lines,
    register_pdf,
)
from .summary import summary_pdf

__all__ = ["LIST_COLUMNS", "Pack", "PackFile", "lpa_pack"]

FORMAT: Final = "saraban-lpa-pack/1"
LIST_COLUMNS: Final = ("ลำดับ", "เลขทะเบียน", "วันที่ลงทะเบียน", "ที่", "ลงวันที่", "จาก", "ถึง",
                       "เรื่อง", "ช่องทาง", "ทะเบียน")
#: list name -> (file stem, Thai title)
LISTS: Final = {
    "sent_electronic": ("sent-electronic", "หนังสือส่งทางอิเล็กทรอนิกส์ (ฉบับ)"),
    "sent_other": ("sent-other", "หนังสือส่งทางอื่น: ไปรษณีย์ ส่งด้วยมือ โทรสาร (ฉบับ)"),
    "received": ("received", "หนังสือรับ (เรื่อง)"),
}
#: Besides the incoming and outgoing registers, these are printed when they have lines.
OTHER_SENDING: Final = (SeriesKind.CIRCULAR, SeriesKind.ORDER, SeriesKind.ANNOUNCEMENT)

@dataclass(frozen=True, slots=True)
class PackFile:
    name: str  # path inside the ZIP (ASCII)
    what: str  # what it is, in Thai
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True, slots=True)
class Pack:
    """The ZIP and its manifest (also inside it)."""

    data: bytes
    manifest: dict[str, Any]

    @property
    def filename(self) -> str:
        agency = self.manifest["agency"]
        return f"lpa-{agency['code'] or agency['id']}-{self.manifest['fiscal_year']}.zip"


def lpa_pack(agency: Agency, fiscal_year_be: int, *, today: dt.date) -> Pack:
    """The evidence pack of the LAO ``agency`` for ปีงบประมาณ ``fiscal_year_be``, as it
    stands on ``today``. The caller has checked that the person oversees it. Raises
    ``ValidationFailed``: ``not_a_lao`` for an agency that is not an LAO, ``bad_year`` for a
    year out of range or not yet begun."""
    if agency.kind not in LAO_KINDS or (agency.tenant_id not in (None, agency.pk)):
        raise ValidationFailed("หลักฐาน LPA จัดทำได้เฉพาะองค์กรปกครองส่วนท้องถิ่น",
                               code="not_a_lao", field="agency")
    period = fiscal_year(fiscal_year_be)
    if period.start > today:
        raise ValidationFailed(f"ปีงบประมาณ {fiscal_year_be} ยังไม่เริ่ม", code="bad_year",
                               field="fiscal_year")
    scope = Scope(agency)
    doc = kpi_document(scope, period, by="month")
    summary, sealed = summary_pdf(doc, agency, today=today)
    files = [
        PackFile("indicators/summary.pdf",
                 "สรุปตัวชี้วัด (PDF" + (" ประทับตราอิเล็กทรอนิกส์)" if sealed
                                         else " ยังไม่ได้ประทับตรา)"), summary),
        PackFile("indicators/indicators.xlsx", "ตัวชี้วัดรายเดือน (Excel)", to_xlsx(doc)),
    ]
    lists, secret = _lists(scope, period)
    for name, (stem, title) in LISTS.items():
        files.append(PackFile(f"lists/{stem}.csv", f"{title} (CSV)", _csv(lists[name])))
    files.append(PackFile("lists/lists.xlsx", "บัญชีหนังสือที่นับทั้งสามรายการ (Excel)",
                          _lists_xlsx(lists, agency, period)))
    files += _registers(agency, period)
    sent = doc["indicators"]["electronic_share"]
    received = doc["indicators"]["received_share"]
    counts = {
        "sent_total": sent["sent_total"], "sent_electronic": sent["sent_electronic"],
        "received_total": received["received_total"],
        "received_electronic": received["received_electronic"],
        **{f"{name}_lines": len(rows) for name, rows in lists.items()},
        "secret_lines": secret,
    }
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "agency": {"id": agency.pk, "code": agency.exchange_code, "name": agency.name_th,
                   "kind": agency.kind},
        "fiscal_year": fiscal_year_be, "from": period.start.isoformat(),
        "to": period.end.isoformat(), "as_of": today.isoformat(), "sealed": sealed,
        "counts": counts,
        "files": [{"name": f.name, "sha256": f.sha256, "bytes": len(f.data), "what": f.what}
                  for f in files],
    }
    readme = _readme(agency, fiscal_year_be, today, counts, files, sealed)
    out = io.BytesIO()
    stamp = (today.year, today.month, today.day, 0, 0, 0)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as pack:
        for name, data in (("README.txt", readme.encode()),
                           ("manifest.json", json.dumps(manifest, ensure_ascii=False,
                                                        indent=2).encode()),
                           *((f.name, f.data) for f in files)):
            pack.writestr(zipfile.ZipInfo(name, date_time=stamp), data,
                          compress_type=zipfile.ZIP_DEFLATED)
    return Pack(data=out.getvalue(), manifest=manifest)


# ---- the lists behind the counts -----------------------------------------------------------


def _row(entry: RegisterEntry, recipient: str, channel: str) -> tuple[list[str], bool]:
    letter = entry.letter
    secret = letter.secrecy > Secrecy.NORMAL
    return [
        entry.formatted, thai_date(bangkok(entry.registered_at), style="short"), letter.number,
        thai_date(letter.letter_date, style="short") if letter.letter_date else "",
        letter.sender_display, recipient, SECRET_SUBJECT if secret else letter.subject,
        LABELS.get(channel, channel), entry.series.registry.name_th,
    ], secret


def _lists(scope: Scope, period: Period) -> tuple[dict[str, list[list[str]]], int]:
    """The rows of the three lists (one per copy sent, one per letter received, in the order
    registered) and how many of them are of secret letters."""
    lists: dict[str, list[list[str]]] = {name: [] for name in LISTS}
    secret = 0
    sent = (lines_behind(scope, period, indicator="sent").order_by("registered_at", "pk")
            .select_related("letter__sender_agency", "letter__recipient_agency",
                            "series__registry")
            .prefetch_related("letter__dispatches__recipient_agency"))
    for entry in sent:
        copies: Sequence[Dispatch | None] = list(entry.letter.dispatches.all()) or [None]
        for d in copies:
            if d is None:  # counted as one copy by an unrecorded channel
                row, hidden = _row(entry, entry.letter.recipient_display, UNRECORDED)
            else:
                row, hidden = _row(entry, d.recipient_display, d.channel)
            electronic = d is not None and d.channel in ELECTRONIC_CHANNELS
            lists["sent_electronic" if electronic else "sent_other"].append(row)
            secret += hidden
    received = (lines_behind(scope, period, indicator="received")
                .order_by("registered_at", "pk")
                .select_related("letter__sender_agency", "letter__recipient_agency",
                                "series__registry"))
    for entry in received:
        via = entry.letter.received_via
        row, hidden = _row(entry, entry.letter.recipient_display,
                           via if via in ELECTRONIC_CHANNELS else PAPER)
        lists["received"].append(row)
        secret += hidden
    for rows in lists.values():
        for n, row in enumerate(rows, start=1):
            row.insert(0, str(n))
    return lists, secret


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(LIST_COLUMNS)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def _lists_xlsx(lists: dict[str, list[list[str]]], agency: Agency, period: Period) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for name, (_stem, title) in LISTS.items():
        sheet = book.create_sheet(name)
        sheet.append([title])
        sheet.append([f"{agency.name_th} · {period.label} · {len(lists[name]):,} รายการ"])
        sheet.append(list(LIST_COLUMNS))
        for cell in (sheet["A1"], *sheet[3]):
            cell.font = Font(bold=True)
        for row in lists[name]:
            sheet.append([int(row[0]), *row[1:]])
        sheet.column_dimensions["H"].width = 50
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ---- the registers -------------------------------------------------------------------------


def _pieces(period: Period) -> list[Period] | None:
    """A period cut into months, or a month into days; ``None`` for a single day."""
    if period.start == period.end:
        return None
    firsts = [first for first, _label in months_in(period)]
    if len(firsts) > 1:
        ends = [nxt - dt.timedelta(days=1) for nxt in firsts[1:]] + [period.end]
        return [Period(max(first, period.start), end) for first, end in zip(firsts, ends,
                                                                             strict=True)]
    days = (period.end - period.start).days + 1
    return [Period(period.start + dt.timedelta(days=n), period.start + dt.timedelta(days=n))
            for n in range(days)]


def _printed[T](period: Period, lines_of: Callable[[Period], list[T]]
                ) -> list[tuple[Period, list[T]]]:
    """The lines of ``period`` in one piece, or by month (by day) when too many for one."""
    try:
        return [(period, lines_of(period))]
    except ValidationFailed as exc:
        pieces = _pieces(period)
        if exc.code != "period_too_long" or pieces is None:
            raise
    return [part for piece in pieces for part in _printed(piece, lines_of)]


def _suffix(part: Period, whole: Period, fiscal: int) -> tuple[str, str]:
    """The file name's ending and the Thai words for ``part`` of the fiscal year ``whole``."""
    if part == whole:
        return f"fy{fiscal}", f"ปีงบประมาณ {fiscal}"
    be = part.start.year + BE_OFFSET
    if part.start == part.end:
        return (f"{be}-{part.start.month:02d}-{part.start.day:02d}",
                thai_date(part.start))
    return f"{be}-{part.start.month:02d}", f"{MONTHS[part.start.month - 1]} {be}"


def _registers(agency: Agency, period: Period) -> list[PackFile]:
    fiscal = period.end.year + BE_OFFSET
    digits = agency.thai_digits
    files: list[PackFile] = []
    registries = Registry.objects.filter(Scope(agency).registries()).order_by("unit__path")
    for registry in registries:
        series = {s.kind: s for s in Series.objects.filter(registry=registry)}
        lo, hi = period.bounds
        for kind in (SeriesKind.INCOMING, SeriesKind.OUTGOING, *OTHER_SENDING):
            one = series.get(kind)
            if one is None or (kind in OTHER_SENDING and not one.entries.filter(
                    registered_at__gte=lo, registered_at__lt=hi).exists()):
                continue
            one.registry = registry
            form = "แบบที่ 12" if kind == SeriesKind.INCOMING else "แบบที่ 14"
            for part, lines in _printed(period, partial(evidence_lines, one)):
                suffix, words = _suffix(part, period, fiscal)
                files.append(PackFile(
                    f"registers/r{registry.pk}/{kind}-{suffix}.pdf",
                    f"{one.get_kind_display()} ({form}) {registry.name_th} {words}",
                    register_pdf(one, lines, part, thai_digits=digits)))
        for part, copies in _printed(period, partial(delivery_lines, registry, reader=None)):
            suffix, words = _suffix(part, period, fiscal)
            files.append(PackFile(
                f"registers/r{registry.pk}/delivery-{suffix}.pdf",
                f"สมุดส่งหนังสือ (แบบที่ 15) {registry.name_th} {words}",
                delivery_pdf(registry, copies, part, thai_digits=digits)))
    return files


# ---- README --------------------------------------------------------------------------------


def _readme(agency: Agency, fiscal: int, today: dt.date, counts: dict[str, int],
            files: list[PackFile], sealed: bool) -> str:
    lines = [
        "หลักฐานประกอบการประเมินประสิทธิภาพขององค์กรปกครองส่วนท้องถิ่น (LPA)",
        f"{agency.name_th} ปีงบประมาณ {fiscal} (ข้อมูล ณ วันที่ {thai_date(today)})",
        "จัดทำโดยระบบสารบรรณอิเล็กทรอนิกส์ Saraban จากทะเบียนหนังสือ ไม่นับเลขที่ยกเลิก",
        "",
        "ตัวเลขสำคัญ",
        f"- หนังสือส่งทั้งหมด {counts['sent_total']:,} ฉบับ "
        f"ส่งทางอิเล็กทรอนิกส์ {counts['sent_electronic']:,} ฉบับ",
        f"- หนังสือรับทั้งหมด {counts['received_total']:,} เรื่อง "
        f"รับทางอิเล็กทรอนิกส์ {counts['received_electronic']:,} เรื่อง",
        f"- รายการของหนังสือลับในบัญชี {counts['secret_lines']:,} รายการ: "
        "ไม่แสดงชื่อเรื่อง แสดงว่า \"ลับ\" และไม่พิมพ์ทะเบียนหนังสือลับ",
        "",
        "สิ่งที่อยู่ในแฟ้มนี้",
        *(f"- {f.name}: {f.what}" for f in files),
        "- manifest.json: รายการแฟ้มทั้งหมดพร้อมค่า SHA-256 และตัวเลขข้างต้น",
        "",
        "บัญชีหนังสือส่ง (sent-electronic และ sent-other) นับหนึ่งรายการต่อหนึ่งฉบับที่ส่ง",
        "(หนังสือเรื่องเดียวส่งผู้รับหลายรายนับตามจำนวนผู้รับ) รวมกันเท่ากับหนังสือส่งทั้งหมด",
        "บัญชีหนังสือรับนับหนึ่งรายการต่อหนึ่งเรื่อง ไม่นับการลงรับซ้ำเมื่อส่งต่อให้หน่วยงานภายใน",
        "ทะเบียนที่มีรายการเกินกว่าจะพิมพ์ได้ในแฟ้มเดียวแยกพิมพ์เป็นรายเดือน",
        "",
        "การตรวจสอบ: เปรียบเทียบค่า SHA-256 ของแต่ละแฟ้ม (เช่น คำสั่ง sha256sum) กับ manifest.json",
        ("สรุปตัวชี้วัดประทับตราอิเล็กทรอนิกส์ของหน่วยงาน ตรวจสอบลายมือชื่อได้ด้วยโปรแกรมอ่าน PDF"
         if sealed else "สรุปตัวชี้วัดยังไม่ได้ประทับตรา: หน่วยงานยังไม่ได้ตั้งค่าตราอิเล็กทรอนิกส์"),
        "นิยามตัวชี้วัด: docs/indicators.md ของระบบ Saraban",
    ]
    return "\r\n".join(lines) + "\r\n"
