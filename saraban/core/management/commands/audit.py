"""``saraban audit verify``: check every agency's hash chain."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saraban.core.audit import audit_checkpoint, audit_verify


class Command(BaseCommand):
    help = ("Audit trail tools. `audit verify` checks every agency's hash chain against its "
            "key and its latest checkpoint; `audit checkpoint` writes the chain heads that "
            "moved to the checkpoint files (the worker does it every minute).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("verb", choices=["verify", "checkpoint"])
        parser.add_argument("--agency", type=int, action="append", help="only this agency id")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "checkpoint":
            written = audit_checkpoint(options["agency"])
            self.stdout.write(f"OK {written} checkpoints written")
            return
        problems = []
        chains = 0
        events = 0
        for _agency_id, counted, problem in audit_verify(options["agency"]):
            chains += 1
            events += counted
            if problem is not None:
                problems.append(problem)
                self.stderr.write(f"FAIL {problem.describe()}")
        if problems:
            raise CommandError(f"audit chain broken in {len(problems)} of {chains} agencies")
        self.stdout.write(f"OK {chains} chains, {events} events verified")
