"""The indicators of one scope and period as one document, and that document as JSON, CSV
or an XLSX workbook (one sheet per indicator), for the command line and the screens.

>>> doc = kpi_document(Scope(agency), fiscal_year(2569))      # doctest: +SKIP
>>> to_csv(doc).splitlines()[0]                               # doctest: +SKIP
'indicator,key,label,total,part,share,letters,saraban,email,…'
"""

from __future__ import annotations

import csv
import io
from typing import Any, Final

from . import tallies
from .indicators import (
    CHANNEL_LABELS,
    By,
    Scope,
    electronic_share,
    received_share,
    signed_share,
)
from .periods import Period
from .service import WITHIN, service_document

__all__ = ["INDICATORS", "kpi_document", "to_csv", "to_xlsx"]

#: name -> (function, Thai title, the names of its total and its part)
INDICATORS: Final = {
    "electronic_share": (electronic_share, "ร้อยละของหนังสือที่ส่งทางอิเล็กทรอนิกส์",
                         ("sent_total", "sent_electronic")),
    "received_share": (received_share, "ร้อยละของหนังสือที่รับทางอิเล็กทรอนิกส์",
                       ("received_total", "received_electronic")),
    "signed_share": (signed_share, "ร้อยละของหนังสือที่ลงนามด้วยใบรับรองอิเล็กทรอนิกส์",
                     ("sent_letters", "signed")),
}
LABELS: Final = {**CHANNEL_LABELS, "signed": "ลงนามด้วยใบรับรอง", "unsigned": "ไม่ได้ลงนาม"}


def kpi_document(scope: Scope, period: Period, *, by: By = "channel") -> dict[str, Any]:
    """Every indicator of ``scope`` over ``period``, with the rows of ``by``."""
    with tallies.shared():
        return _kpi_document(scope, period, by=by)


def _kpi_document(scope: Scope, period: Period, *, by: By) -> dict[str, Any]:
    agency = scope.agency
    indicators: dict[str, Any] = {}
    for name, (function, title, names) in INDICATORS.items():
        total, rows = function(scope, period, by=by)
        indicators[name] = {
            "title": title, names[0]: total.total, names[1]: total.part, "share": total.share,
            "letters": total.letters, "by_channel": total.by_channel,
            "rows": [r.as_dict(("total", "part")) for r in rows] if by != "channel" else [],
            "total": total.as_dict(("total", "part")),
        }
    return {
        "agency": {"id": agency.pk, "code": agency.exchange_code, "name": agency.name_th},
        "from": period.start.isoformat(), "to": period.end.isoformat(),
        "period_label": period.label, "by": by, "indicators": indicators,
        "service": service_document(scope, period),
    }


def _channels(doc: dict[str, Any]) -> list[str]:
    seen: list[str] = []
    for data in doc["indicators"].values():
        seen += [c for c in data["by_channel"] if c not in seen]
    return seen


def _lines(doc: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    channels = _channels(doc)
    header = ["indicator", "key", "label", "total", "part", "share", "letters", *channels]
    lines = []
    for name, data in doc["indicators"].items():
        for row in [*data["rows"], data["total"]]:
            lines.append([name, row["key"], row["label"], row["total"], row["part"],
                          row["share"], row["letters"],
                          *(row["by_channel"].get(c, "") for c in channels)])
    return header, lines


def to_csv(doc: dict[str, Any]) -> str:
    """One line per indicator and row (the total last), a column per channel."""
    header, lines = _lines(doc)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in line] for line in lines)
    return out.getvalue()


def to_xlsx(doc: dict[str, Any]) -> bytes:
    """A workbook: a sheet per indicator, Thai headings, shares as percentages."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    header, lines = _lines(doc)
    channels = header[7:]
    for name, data in doc["indicators"].items():
        sheet = book.create_sheet(name[:31])
        sheet.append([data["title"]])
        sheet.append([f"{doc['agency']['name']} · {doc['period_label']} "
                      f"({doc['from']} ถึง {doc['to']})"])
        sheet.append(["รายการ", "ทั้งหมด", "ส่วนที่นับ", "ร้อยละ", "จำนวนหนังสือ",
                      *(LABELS.get(c, c) for c in channels)])
        for cell in (sheet["A1"], *sheet[3]):
            cell.font = Font(bold=True)
        for line in lines:
            if line[0] != name:
                continue
            share = line[5]
            sheet.append([line[2], line[3], line[4],
                          None if share is None else round(share * 100, 2), line[6],
                          *(v if v != "" else None for v in line[7:])])
        sheet.column_dimensions["A"].width = 40
    service = doc.get("service")
    if service:
        sheet = book.create_sheet("service")
        sheet.append(["ความรวดเร็วในการปฏิบัติ"])
        sheet.append(["ตัวชี้วัด", "จำนวน", "ถึงขั้นนี้แล้ว",
                      *(f"ภายใน {key}" for key, _step in WITHIN)])
        for data in service.values():
            if "within" in data:
                sheet.append([data["title"], data["total"], data["done"],
                              *(data["within"][key] for key, _step in WITHIN)])
        pending = service["pending"]
        sheet.append(["ค้างดำเนินการ", pending["total"], None])
        sheet.append(["เกินกำหนด", pending["overdue"], None])
        sheet["A1"].font = Font(bold=True)
        sheet.column_dimensions["A"].width = 45
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
