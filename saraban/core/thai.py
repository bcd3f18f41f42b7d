"""Buddhist-Era dates, Thai month names and Thai digits, as the official forms write them.

>>> import datetime
>>> thai_date(datetime.date(2009, 6, 5), digits="thai")
'๕ มิถุนายน ๒๕๕๒'
>>> thai_date(datetime.date(2026, 1, 1), style="short")
'1 ม.ค. 2569'
"""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo

BANGKOK = ZoneInfo("Asia/Bangkok")
BE_OFFSET = 543

MONTHS = (
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
)
MONTHS_SHORT = (
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
)

_TO_THAI = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
_TO_ARABIC = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")

Digits = Literal["arabic", "thai"]


def thai_digits(text: str) -> str:
    """Write every Arabic digit in ``text`` as a Thai digit."""
    return text.translate(_TO_THAI)


def arabic_digits(text: str) -> str:
    """Write every Thai digit in ``text`` as an Arabic digit."""
    return text.translate(_TO_ARABIC)


def with_digits(text: str, digits: Digits) -> str:
    return thai_digits(text) if digits == "thai" else text


def be_year(value: dt.date | dt.datetime) -> int:
    """The Buddhist-Era year of a date, or of an aware datetime as seen in Bangkok."""
    if isinstance(value, dt.datetime):
        value = bangkok(value).date()
    return value.year + BE_OFFSET


def bangkok(moment: dt.datetime) -> dt.datetime:
    """An aware datetime in Asia/Bangkok; naive datetimes are refused."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give an aware one")
    return moment.astimezone(BANGKOK)


def thai_date(
    value: dt.date | dt.datetime,
    *,
    style: Literal["full", "short"] = "full",
    digits: Digits = "arabic",
) -> str:
    """``5 มิถุนายน 2552`` (full) or ``5 มิ.ย. 2552`` (short)."""
    day = bangkok(value).date() if isinstance(value, dt.datetime) else value
    months = MONTHS if style == "full" else MONTHS_SHORT
    text = f"{day.day} {months[day.month - 1]} {day.year + BE_OFFSET}"
    return with_digits(text, digits)


def thai_form_date(value: dt.date | dt.datetime, *, digits: Digits = "arabic") -> str:
    """``วันที่ 5 เดือน มิถุนายน พ.ศ. 2552``: the date line of the official register forms (a
    datetime as seen in Bangkok).

    >>> thai_form_date(dt.date(2026, 1, 15), digits="thai")
    'วันที่ ๑๕ เดือน มกราคม พ.ศ. ๒๕๖๙'
    """
    day = bangkok(value).date() if isinstance(value, dt.datetime) else value
    text = f"วันที่ {day.day} เดือน {MONTHS[day.month - 1]} พ.ศ. {day.year + BE_OFFSET}"
    return with_digits(text, digits)


def thai_datetime(moment: dt.datetime, *, digits: Digits = "arabic") -> str:
    """``5 มิ.ย. 2552 เวลา 14:05 น.``: the short date and the Bangkok time."""
    local = bangkok(moment)
    text = f"{thai_date(local, style='short')} เวลา {local:%H:%M} น."
    return with_digits(text, digits)


def parse_be_year(text: str) -> int:
    """Read a year typed as พ.ศ. (Thai or Arabic digits); a Christian year is converted.

    >>> parse_be_year("๒๕๖๙")
    2569
    >>> parse_be_year("2026")
    2569
    """
    year = int(arabic_digits(text.strip()))
    if year < 2400:
        year += BE_OFFSET
    return year


def today_bangkok() -> dt.date:
    return dt.datetime.now(tz=BANGKOK).date()
