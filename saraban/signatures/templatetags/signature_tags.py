"""The signature badge of a letter's file.

``{% load signature_tags %}{% signature_badge letter f %}``

Shown on the letter page (after ``access_letter``). The verdicts of all the letter's files are
read in one query, the first time the tag runs for that letter, and kept on the letter object.
The tag only reads stored verdicts (a file not verified yet shows "ยังไม่ได้ตรวจ"); the
verification itself runs in the action that stores the file, or in the worker.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template

from saraban.letters.models import Letter, LetterFile

from ..models import SignatureCheck
from ..services import letter_checks

register = template.Library()

#: status -> (CSS modifier, short Thai label)
LOOKS: dict[str, tuple[str, str]] = {
    "valid": ("valid", "ลงนามถูกต้อง"),
    "untrusted": ("untrusted", "ไม่รู้จักผู้ออกใบรับรอง"),
    "modified": ("bad", "เอกสารถูกแก้ไขหลังลงนาม"),
    "invalid": ("bad", "ลายมือชื่อไม่ถูกต้อง"),
    "unsigned": ("none", "ไม่มีลายมือชื่ออิเล็กทรอนิกส์"),
    "unreadable": ("none", "ตรวจลายมือชื่อไม่ได้"),
    "unchecked": ("none", "ยังไม่ได้ตรวจลายมือชื่อ"),
}


def _checks(letter: Letter) -> dict[str, SignatureCheck]:
    cached: dict[str, SignatureCheck] | None = getattr(letter, "_signature_checks", None)
    if cached is None:
        cached = letter_checks(letter)
        letter._signature_checks = cached  # type: ignore[attr-defined]
    return cached


def _when(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def signature_rows(check: SignatureCheck) -> list[dict[str, Any]]:
    """The stored signatures, ready to show: who, issued by whom, when, and any problem."""
    rows = []
    for sig in check.signatures:
        if not isinstance(sig, dict):
            continue
        stamped = _when(sig.get("timestamp_time"))
        rows.append({
            "signer": sig.get("signer_name", ""),
            "issuer": sig.get("issuer", ""),
            "at": stamped or _when(sig.get("signing_time")),
            "stamped": stamped is not None,
            "level": sig.get("level", ""),
            "problem": sig.get("problem", ""),
            "added_after": bool(sig.get("modified_after")) and not sig.get("problem"),
        })
    return rows


@register.inclusion_tag("signatures/_badge.html")
def signature_badge(letter: Letter, file: LetterFile) -> dict[str, Any]:
    check = _checks(letter).get(file.blob_id)
    if check is None or check.status not in LOOKS:
        return {"shown": False}
    look, label = LOOKS[check.status]
    return {
        "shown": True,
        "status": check.status,
        "look": look,
        "label": label,
        "detail": check.label_th,
        "rows": signature_rows(check),
        "checked_at": check.checked_at,
    }
