"""``saraban search reindex``: rebuild the search index, with a progress bar.

``saraban search query TEXT --user USERNAME`` runs a search as that person (for operators
checking what someone can find).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saraban.agencies.models import Person
from saraban.core.errors import SarabanError


class Command(BaseCommand):
    help = "Search index: reindex (rebuild, with a progress bar) or query as a user."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        reindex = sub.add_parser("reindex", help="rebuild the index of every letter")
        reindex.add_argument("--batch", type=int, default=500)
        query = sub.add_parser("query", help="search as a user")
        query.add_argument("text")
        query.add_argument("--user", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "reindex":
            self._reindex(options["batch"])
        else:
            self._query(options["text"], options["user"])

    def _reindex(self, batch: int) -> None:
        from saraban.search.index import reindex

        started = time.monotonic()
        err = self.stderr
        tty = err.isatty()

        def progress(done: int, total: int) -> None:
            width = 30
            filled = width * done // total if total else width
            rate = done / max(time.monotonic() - started, 1e-6)
            line = (f"[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} "
                    f"({rate:,.0f} letters/s)")
            if tty:
                err.write("\r" + line, ending="")
            elif done == total or done % (batch * 20) == 0:
                err.write(line)
            err.flush()

        total = reindex(batch=batch, progress=progress)
        if tty:
            err.write("")
        self.stdout.write(f"Indexed {total:,} letters in {time.monotonic() - started:.1f} s")

    def _query(self, text: str, username: str) -> None:
        from saraban.search.query import search

        person = Person.objects.filter(username=username).first()
        if person is None:
            raise CommandError(f"no such user: {username}")
        try:
            results = search(person, text)
        except SarabanError as exc:
            raise CommandError(exc.message) from exc
        more = "+" if results.more else ""
        self.stdout.write(f"{results.total}{more} letters")
        for hit in results.hits:
            letter = hit.letter
            self.stdout.write(f"{letter.pk:>8}  {letter.number or '-':<24} {letter.subject}")
