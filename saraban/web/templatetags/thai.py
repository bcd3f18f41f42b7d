"""Template filters for Thai dates and digits: ``{{ d|thaidate }}``, ``{{ n|thaidigits }}``."""

from __future__ import annotations

import datetime as dt

from django import template
from django.conf import settings

from saraban.core import thai

register = template.Library()


def _digits() -> thai.Digits:
    return "thai" if settings.SARABAN_THAI_DIGITS else "arabic"


@register.filter
def thaidate(value: dt.date | dt.datetime | None, style: str = "full") -> str:
    if value is None:
        return ""
    return thai.thai_date(value, style="short" if style == "short" else "full", digits=_digits())


@register.filter
def thaidatetime(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return thai.thai_datetime(value, digits=_digits())


@register.filter
def thaidigits(value: object) -> str:
    return thai.with_digits(str(value), _digits())


@register.filter
def thaitime(value: dt.datetime | None) -> str:
    """``14:05 น.``: the Bangkok time of an aware datetime."""
    if value is None:
        return ""
    return thai.with_digits(f"{thai.bangkok(value):%H:%M} น.", _digits())


@register.filter
def thaiformdate(value: dt.date | dt.datetime | None) -> str:
    """``วันที่ 5 เดือน มิถุนายน พ.ศ. 2552``: the date line of the official register forms."""
    if value is None:
        return ""
    return thai.thai_form_date(value, digits=_digits())
