"""``saraban load_demo``: load the demo organisation and letters (once), print the accounts.

Refuses to run unless ``SARABAN_DEMO`` is set (``settings.DEMO``) or ``--force`` is given, so
the well-known demo passwords are never created on a real node by accident.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError

from saraban.demo.load import DEMO_ACCOUNTS, DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = "Load the demo organisation and letters (SARABAN_DEMO=1 or --force); idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true",
            help="load even though settings.DEMO is off (never on a real node)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not (settings.DEMO or options["force"]):
            raise CommandError(
                "ไม่โหลดข้อมูลสาธิต: ตั้งค่า SARABAN_DEMO=1 หรือใช้ --force "
                "(demo data is refused unless SARABAN_DEMO=1 or --force is given)"
            )
        started = time.monotonic()
        try:
            summary = load_demo()
        except IntegrityError as exc:
            raise CommandError(
                f"this database already holds some of the demo's names ({exc}); "
                "load the demo into an empty database"
            ) from exc
        if summary.created:
            years = ", ".join(str(y) for y in summary.years)
            self.stdout.write(
                f"Demo loaded: {summary.letters} letters in พ.ศ. {years} "
                f"({time.monotonic() - started:.1f} s)"
            )
        else:
            self.stdout.write("Demo already loaded; nothing changed.")
        self.stdout.write(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
        for username, role in DEMO_ACCOUNTS:
            self.stdout.write(f"  {username:<9} {role}")
