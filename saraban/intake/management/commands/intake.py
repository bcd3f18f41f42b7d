"""``saraban intake accuracy --scans 20``: per-field accuracy of the OCR intake.

Generates letters in the official forms (varied numbers, Thai or Arabic digits, dates,
subjects, senders, urgencies), scans them turned and noisy, reads them with the same OCR and
field proposal the worker uses, and prints how many of each field were proposed exactly as
printed, overall and by digit style, with the OCR time per page. Writes nothing to the
database.
"""

from __future__ import annotations

import statistics
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saraban.core.thai import today_bangkok


class Command(BaseCommand):
    help = "OCR intake: accuracy (per-field accuracy on generated scans)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        accuracy = sub.add_parser("accuracy", help="per-field accuracy on generated scans")
        accuracy.add_argument("--scans", type=int, default=20, help="how many scans (20)")
        accuracy.add_argument("--seed", type=int, default=2569, help="the set's random seed")
        accuracy.add_argument("--show-misses", action="store_true",
                              help="print each wrong field: what was read, what was printed")

    def handle(self, *args: Any, **options: Any) -> None:
        from saraban.intake.accuracy import FIELDS, Outcome, run
        from saraban.intake.ocr import missing_tools

        if missing := missing_tools():
            raise CommandError(f"OCR is not installed here (missing: {', '.join(missing)}); "
                               "run `make ocr-deps`")
        count = max(1, options["scans"])
        show = options["show_misses"]
        out = self.stdout

        def progress(outcome: Outcome) -> None:
            letter = outcome.letter
            wrong = [name for name, ok in outcome.right.items() if not ok]
            out.write(f"  {len(report_rows) + 1:>3}/{count} {letter.form:<8} "
                      f"{'thai' if letter.thai_digits else 'arabic':<6} "
                      f"{letter.angle:+.1f}° {outcome.seconds:5.1f} s  "
                      f"{'all right' if not wrong else 'wrong: ' + ', '.join(wrong)}")
            if show:
                for name in wrong:
                    read, printed = _values(outcome, name)
                    out.write(f"        {name}: read {read!r}, printed {printed!r}")
            report_rows.append(outcome)

        report_rows: list[Outcome] = []
        out.write(f"OCR intake accuracy: {count} generated scans (300 dpi, turned up to 3°, "
                  "noise), tesseract tha+eng via ocrmypdf")
        report = run(count, seed=options["seed"], today=today_bangkok(), progress=progress)
        out.write("")
        out.write(f"{'field':<11} {'all':>13} {'arabic digits':>15} {'thai digits':>13}")
        for name in FIELDS:
            cells = [report.accuracy(name),
                     report.accuracy(name, thai_digits=False),
                     report.accuracy(name, thai_digits=True)]
            out.write(f"{name:<11} " + " ".join(
                f"{_percent(*cell):>{width}}" for cell, width in zip(cells, (13, 15, 13),
                                                                      strict=True)))
        seconds = report.seconds
        out.write("")
        out.write(f"time per page: mean {statistics.mean(seconds):.1f} s, "
                  f"median {statistics.median(seconds):.1f} s, max {max(seconds):.1f} s")


def _percent(right: int, scored: int) -> str:
    if not scored:
        return "-"
    return f"{100 * right / scored:.0f}% ({right}/{scored})"


def _values(outcome: Any, name: str) -> tuple[object, object]:
    proposed, letter = outcome.proposed, outcome.letter
    read: dict[str, object] = {
        "number": proposed.number, "date": proposed.letter_date, "subject": proposed.subject,
        "salutation": proposed.salutation or proposed.recipient_text,
        "sender": proposed.sender_text, "urgency": proposed.urgency,
    }
    printed: dict[str, object] = {
        "number": letter.number, "date": letter.date, "subject": letter.subject,
        "salutation": letter.salutation, "sender": letter.sender, "urgency": letter.urgency,
    }
    return read[name], printed[name]
