"""``saraban keys``: the node's key-encryption keys.

``keys generate`` prints a new key entry (or, with ``--secret-key``, a value for
``SARABAN_SECRET_KEY``); ``keys status`` counts the sealed values under each key;
``keys rotate`` re-seals everything under the first key of ``SARABAN_KEY_ENCRYPTION_KEYS``
(audited), after which older keys can be removed from the setting.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saraban.core import keys
from saraban.core.rekey import keys_rotate, keys_status


class Command(BaseCommand):
    help = "Key-encryption keys: generate, status, rotate."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("verb", choices=["generate", "status", "rotate"])
        parser.add_argument("--id", default=None, help="generate: the new key's id")
        parser.add_argument("--secret-key", action="store_true",
                            help="generate: a value for SARABAN_SECRET_KEY instead")

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        if verb == "generate":
            if options["secret_key"]:
                self.stdout.write(secrets.token_urlsafe(48))
            else:
                self.stdout.write(keys.generate_key(options["id"]))
            return
        try:
            current = keys.node_keys()[0][0]
        except keys.KeyUnavailable as exc:
            raise CommandError(exc.message) from exc
        report = keys_rotate() if verb == "rotate" else keys_status()
        for (label, kid), count in sorted(report.by_key.items()):
            mark = "" if kid == current else "  (not under the current key)"
            self.stdout.write(f"{label}: {count} under {kid}{mark}")
        if verb == "rotate":
            self.stdout.write(f"re-sealed {report.resealed} values under {current}")
        for failure in report.failed:
            self.stderr.write(f"FAIL {failure}")
        if report.failed:
            raise CommandError(f"{len(report.failed)} values could not be opened")
        stale = sum(n for (_label, kid), n in report.by_key.items() if kid != current)
        if verb == "status":
            self.stdout.write(f"current key: {current}; {stale} values under older keys")
