"""``saraban backfill``: queue the derived work that pages no longer do on the fly.

Pages only read: a receipt-stamped copy is made by the worker when an action queues it, and
a file's signature verdict is stored when the file arrives. Letters registered before that
(or whose copy or verdict was lost) would wait for ever, so after an upgrade run

    saraban backfill            # queue what is missing (the worker then makes it)
    saraban backfill --dry-run  # only count

It queues ``make_receipt_stamp`` for each incoming register entry whose current stamped copy
is missing, and ``check_letter_signatures`` for each letter with a current file that has no
verdict for its agency. Running it twice queues nothing the second time once the worker ran.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.db.models import Exists, OuterRef

from saraban.letters.models import INCOMING_SERIES, LetterFile, RegisterEntry
from saraban.letters.stamping import StampState, stamped_copy_state, stamps_enqueue
from saraban.signatures.models import SignatureCheck
from saraban.signatures.tasks import check_letter_signatures


class Command(BaseCommand):
    help = "Queue missing stamped copies and signature verdicts for the worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count only, queue nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        dry = bool(options["dry_run"])
        entries = (RegisterEntry.objects.filter(series__kind__in=INCOMING_SERIES)
                   .select_related("series__registry__tenant", "letter").order_by("pk"))
        stale = [e for e in entries.iterator(chunk_size=500)
                 if stamped_copy_state(e).state == StampState.PENDING]
        unchecked = (
            LetterFile.objects.filter(replaced_at__isnull=True)
            .exclude(Exists(SignatureCheck.objects.filter(blob_id=OuterRef("blob_id"),
                                                          tenant_id=OuterRef("letter__tenant_id"))))
            .values_list("letter_id", flat=True).distinct().order_by("letter_id")
        )
        letters = list(unchecked)
        if not dry:
            with transaction.atomic():
                stamps_enqueue(entries=stale)
                for letter_id in letters:
                    check_letter_signatures.enqueue(letter_id)
        verb = "to queue" if dry else "queued"
        self.stdout.write(f"stamped copies {verb}: {len(stale)}; "
                          f"letters to verify {verb}: {len(letters)}")
