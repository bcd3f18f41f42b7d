"""``saraban routing remind``: send the reminders for overdue assignments now.

The worker runs the same pass every few minutes; running it by hand (or from cron) as well is
safe: each reminder is claimed by a conditional update, so it goes out once per day.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from saraban.routing.reminders import send_reminders


class Command(BaseCommand):
    help = "Routing tools. `routing remind` sends reminders for overdue assignments."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("verb", choices=["remind"])

    def handle(self, *args: Any, **options: Any) -> None:
        sent = send_reminders()
        self.stdout.write(f"OK {sent} reminders sent")
