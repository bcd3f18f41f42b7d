"""Template context shared by every page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def saraban(request: HttpRequest) -> dict[str, Any]:
    return {"SARABAN_DEMO": settings.DEMO}
