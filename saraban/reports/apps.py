from __future__ import annotations

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "saraban.reports"
    label = "reports"
    verbose_name = "รายงานและตัวชี้วัด"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (marks letters whose figures are to be counted again)
