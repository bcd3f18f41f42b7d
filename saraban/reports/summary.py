"""The indicators' summary as one PDF page, sealed with the agency seal (ตราอิเล็กทรอนิกส์)
where the agency has one, so the figures a provincial office collects can be checked as the
agency's own.

>>> doc = kpi_document(Scope(agency), fiscal_year(2569))        # doctest: +SKIP
>>> pdf, sealed = summary_pdf(doc, agency)                      # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Final

import typst

from saraban.agencies.models import Agency
from saraban.core.thai import thai_date, thai_digits
from saraban.letters.stamp import FONT_DIR
from saraban.signatures.pades import sign_pdf
from saraban.signatures.services import seal_for

from .export import INDICATORS, LABELS
from .service import WITHIN

__all__ = ["summary_pdf"]

TEMPLATE: Final = Path(__file__).parent / "typst" / "summary.typ"


def _pct(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.2f}%"


def summary_pdf(doc: dict[str, Any], tenant: Agency, *, today: dt.date | None = None
                ) -> tuple[bytes, bool]:
    """``doc`` (from ``kpi_document``) as a PDF; sealed with ``tenant``'s seal when it has one.
    Returns the PDF and whether it was sealed."""
    seal = seal_for(tenant)
    digits = tenant.thai_digits

    def t(value: object) -> str:
        text = str(value)
        return thai_digits(text) if digits else text

    indicators = doc["indicators"]
    shares = []
    for name, (_function, _title, names) in INDICATORS.items():
        data = indicators[name]
        total, part = data[names[0]], data[names[1]]
        shares.append({"title": data["title"], "figure": t(f"{part:,} / {total:,}"),
                       "ratio": data["share"] or 0, "percent": t(_pct(data["share"]))})
    service = doc.get("service") or {}
    rows = []
    for data in service.values():
        if "within" in data:
            rows.append([data["title"], t(data["total"]), t(data["done"]),
                         *(t(data["within"][key]) for key, _step in WITHIN)])
    pending = service.get("pending", {"total": 0, "overdue": 0})
    when = f"พิมพ์เมื่อ {thai_date(today)}" if today else ""
    data = {
        "title": "รายงานตัวชี้วัดระบบสารบรรณอิเล็กทรอนิกส์",
        "agency": doc["agency"]["name"],
        "period": t(f"{doc['period_label']} ({_span(doc)})"),
        "share_columns": ["ตัวชี้วัด", "จำนวน", "", "ร้อยละ"],
        "shares": shares,
        "channels_title": "หนังสือส่งจำแนกตามช่องทาง (ฉบับ)",
        "channels": [{"label": LABELS.get(c, c), "count": t(n)}
                     for c, n in indicators["electronic_share"]["by_channel"].items()],
        "service_title": "ความรวดเร็วในการปฏิบัติ (เรื่อง)",
        "service_columns": ["ตัวชี้วัด", "จำนวน", "ถึงขั้นนี้", "1 ชม.", "1 วัน", "3 วัน",
                            "7 วัน"],
        "service": rows,
        "pending": t(f"ค้างดำเนินการ {pending['total']} เรื่อง "
                     f"เกินกำหนด {pending['overdue']} เรื่อง"),
        "footer": " · ".join(x for x in (
            "ประทับตราอิเล็กทรอนิกส์ของส่วนราชการ" if seal is not None
            else "ยังไม่ได้ประทับตรา: ส่วนราชการยังไม่ได้ตั้งค่าตราอิเล็กทรอนิกส์",
            "นับจากทะเบียนหนังสือตามนิยามใน docs/indicators.md", when) if x),
    }
    pdf = typst.compile(str(TEMPLATE), root=str(TEMPLATE.parent), font_paths=[str(FONT_DIR)],
                        ignore_system_fonts=True, format="pdf",
                        sys_inputs={"data": json.dumps(data, ensure_ascii=False)})
    assert isinstance(pdf, bytes)
    if seal is None:
        return pdf, False
    return sign_pdf(pdf, seal, reason="รายงานตัวชี้วัด"), True


def _span(doc: dict[str, Any]) -> str:
    start, end = dt.date.fromisoformat(doc["from"]), dt.date.fromisoformat(doc["to"])
    return f"{thai_date(start, style='short')} – {thai_date(end, style='short')}"

