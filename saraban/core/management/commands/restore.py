"""``saraban restore FILE``: put a backup back into this node (stopped), then verify it.

Refuses a database that already holds letters unless ``--replace`` is given, and a node whose
key-encryption keys do not include the ones the backup names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saraban.core.backup import backup_restore
from saraban.core.errors import SarabanError


class Command(BaseCommand):
    help = "Restore a backup made by `saraban backup` (stop the node first)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--replace", action="store_true",
                            help="replace a database that already holds letters")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = backup_restore(Path(options["file"]), replace=options["replace"])
        except SarabanError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        counts = report.manifest["counts"]
        self.stdout.write(
            f"restored {counts['letters']} letters, {report.files} files, "
            f"{report.checkpoints} checkpoint files"
        )
        for problem in report.problems:
            self.stderr.write(f"FAIL {problem}")
        if report.problems:
            raise CommandError(f"audit chain broken in {len(report.problems)} agencies")
        self.stdout.write(f"OK {report.chains} chains, {report.events} events verified")
