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
