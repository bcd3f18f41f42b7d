"""``saraban backup``: the database, the file store and the audit checkpoints in one tar file.

The key-encryption keys are not in it (see ``saraban.core.backup``): keep them apart.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from saraban.core.backup import backup_create
from saraban.core.errors import SarabanError


class Command(BaseCommand):
    help = "Back the node up: database, files and audit checkpoints (not the keys)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("-o", "--output", default=None,
                            help="the backup file (.tar, or .tar.gz to compress); default "
                                 "SARABAN_VAR_DIR/backups/saraban-<time>.tar")

    def handle(self, *args: Any, **options: Any) -> None:
        out = options["output"]
        if out is None:
            stamp = dt.datetime.now(tz=dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            folder = Path(settings.VAR_DIR) / "backups"
            folder.mkdir(parents=True, exist_ok=True)
            out = folder / f"saraban-{stamp}.tar"
        try:
            report = backup_create(Path(out))
        except SarabanError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        counts = report.manifest["counts"]
        self.stdout.write(
            f"OK {report.path}: {counts['letters']} letters, {counts['blobs']} files, "
            f"{counts['audit_events']} audit events; needs keys "
            f"{', '.join(report.manifest['key_ids']) or '-'}"
        )
