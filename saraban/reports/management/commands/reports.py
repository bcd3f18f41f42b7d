"""``saraban reports …``: an agency's indicators for a period, for the operator.

    saraban reports kpi --agency CODE [--fiscal-year 2569 [--quarter 1]
            | --year 2569 [--month 1] | --from 2025-10-01 --to 2026-09-30]
            [--hosted] [--by channel|unit|month|agency] [--format json|csv|xlsx|pdf]
            [--output FILE]
    saraban reports lpa --agency CODE --fiscal-year 2569 --output FILE.zip
    saraban reports send-monthly --agency CODE [--month 2569-10] [--to CODE]
    saraban reports overseer --agency CODE [--set CODE | --clear]

CODE is the agency's (or unit's) exchange code or id. Without a period: the fiscal year to
date. JSON and CSV go to standard output unless ``--output`` names a file; XLSX and PDF
(the summary, sealed with the agency seal where there is one) need ``--output``.
``lpa`` writes the LPA evidence pack of an LAO for a fiscal year (``saraban.reports.lpa``).

``send-monthly`` queues the agency's own figures for a month (พ.ศ. year and month; by default
last month, so a timer early each month sends the month just ended) as a signed report to
its overseer, or to ``--to``; the worker delivers it. ``overseer`` shows or sets the exchange
code of that overseer. Both print JSON.

Definitions: ``docs/indicators.md``. Exit status 2 on a bad argument (the reason on standard
error).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from saraban.agencies.models import Agency
from saraban.core.errors import NotFound, SarabanError
from saraban.exchange.directory import directory_set_reports_to
from saraban.exchange.models import DirectoryEntry

from ... import tallies
from ...access import agency_by_code
from ...export import kpi_document, to_csv, to_xlsx
from ...indicators import BY, Scope
from ...lpa import lpa_pack
from ...models import MonthTally, TallyDirty
from ...periods import month, parse_period
from ...remote_send import previous_month, send_monthly
from ...summary import summary_pdf

BE_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"not a date (YYYY-MM-DD): {text}") from exc


def _month(text: str) -> dt.date:
    """"2569-10" (พ.ศ. year and month) as the first day of that month."""
    found = BE_MONTH.match(text.strip())
    if found is None:
        raise argparse.ArgumentTypeError(f"not a month (พ.ศ. YYYY-MM, e.g. 2569-10): {text}")
    try:
        return month(int(found[1]), int(found[2])).start
    except SarabanError as exc:
        raise argparse.ArgumentTypeError(f"{exc.code}: {exc.message}") from exc


def _agency(text: str) -> Agency:
    """The agency named by exchange code or id (the one lookup of the reports' screens)."""
    try:
        return agency_by_code(text)
    except NotFound as exc:
        raise CommandError(f"{exc.code}: no such agency: {text.strip()}",
                           returncode=2) from exc


class Command(BaseCommand):
    help = "The indicators of an agency (share of letters sent electronically, …)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        kpi = sub.add_parser("kpi", help="an agency's indicators for a period")
        kpi.add_argument("--agency", required=True, help="exchange code or id")
        kpi.add_argument("--fiscal-year", type=int, default=None, help="ปีงบประมาณ (พ.ศ.)")
        kpi.add_argument("--quarter", type=int, default=None, help="1-4, with --fiscal-year")
        kpi.add_argument("--year", type=int, default=None, help="calendar year (พ.ศ.)")
        kpi.add_argument("--month", type=int, default=None, help="1-12, with --year")
        kpi.add_argument("--from", dest="date_from", type=_date, default=None)
        kpi.add_argument("--to", dest="date_to", type=_date, default=None)
        kpi.add_argument("--by", choices=BY, default="channel")
        kpi.add_argument("--hosted", action="store_true",
                         help="with the agencies hosted below it (a province's LAOs)")
        kpi.add_argument("--format", choices=("json", "csv", "xlsx", "pdf"), default="json")
        kpi.add_argument("--output", type=Path, default=None, help="write here")
        lpa = sub.add_parser("lpa", help="an LAO's LPA evidence pack for a fiscal year (ZIP)")
        lpa.add_argument("--agency", required=True, help="exchange code or id of the LAO")
        lpa.add_argument("--fiscal-year", type=int, required=True, help="ปีงบประมาณ (พ.ศ.)")
        lpa.add_argument("--output", type=Path, required=True, help="the ZIP to write")
        send = sub.add_parser("send-monthly",
                              help="send the agency's figures for a month to its overseer")
        send.add_argument("--agency", required=True, help="exchange code or id")
        send.add_argument("--month", type=_month, default=None,
                          help="พ.ศ. year and month, e.g. 2569-10 (default: last month)")
        send.add_argument("--to", default=None, help="exchange code (default: the overseer)")
        overseer = sub.add_parser("overseer", help="show or set where send-monthly sends")
        overseer.add_argument("--agency", required=True, help="exchange code or id")
        change = overseer.add_mutually_exclusive_group()
        change.add_argument("--set", dest="overseer", default=None, help="exchange code")
        change.add_argument("--clear", action="store_true")
        tally = sub.add_parser("tally", help="count the indicators ahead: fold the letters "
                               "marked as changed, or count everything again")
        tally.add_argument("--rebuild", action="store_true",
                           help="count every register line again (after a bulk load)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "tally":
            self._tally(rebuild=options["rebuild"])
            return
        if options["action"] == "lpa":
            self._lpa(options)
            return
        agency = _agency(str(options["agency"]))
        try:
            if options["action"] == "send-monthly":
                self._send_monthly(agency, options)
                return
            if options["action"] == "overseer":
                self._overseer(agency, options)
                return
        except SarabanError as exc:
            raise CommandError(f"{exc.code}: {exc.message}", returncode=2) from exc
        try:
            period = parse_period(start=options["date_from"], end=options["date_to"],
                                  fiscal=options["fiscal_year"], quarter=options["quarter"],
                                  year=options["year"], month_number=options["month"],
                                  today=timezone.localdate())
        except SarabanError as exc:
            raise CommandError(f"{exc.code}: {exc.message}", returncode=2) from exc
        doc = kpi_document(Scope(agency, hosted=options["hosted"]), period, by=options["by"])
        output: Path | None = options["output"]
        if options["format"] in ("xlsx", "pdf"):
            if output is None:
                raise CommandError(f"--format {options['format']} needs --output FILE",
                                   returncode=2)
            if options["format"] == "xlsx":
                output.write_bytes(to_xlsx(doc))
            else:
                tenant = agency.tenant or agency
                pdf, sealed = summary_pdf(doc, tenant, today=timezone.localdate())
                output.write_bytes(pdf)
                if not sealed:
                    self.stderr.write(f"{tenant.name_th} has no agency seal: the PDF is not "
                                      "sealed (saraban signatures …)")
            return
        data = (json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
                if options["format"] == "json" else to_csv(doc))
        if output is not None:
            output.write_text(data, encoding="utf-8")
        else:
            self.stdout.write(data, ending="")

    def _send_monthly(self, agency: Agency, options: dict[str, Any]) -> None:
        first = options["month"] or previous_month(timezone.localdate())
        out = send_monthly(agency=agency, month=first, to_code=options["to"])
        self._json({"id": str(out.message_id), "from": out.sender_code,
                    "to": out.recipient_code, "state": out.state, "report": out.payload})

    def _overseer(self, agency: Agency, options: dict[str, Any]) -> None:
        if options["overseer"] is not None or options["clear"]:
            entry = directory_set_reports_to(agency=agency, code=options["overseer"] or "")
        else:
            found = DirectoryEntry.objects.filter(agency=agency).first()
            if found is None:
                raise CommandError(f"{agency.exchange_code or agency.pk} is not enrolled for "
                                   "the exchange (saraban exchange enrol)", returncode=2)
            entry = found
        self._json({"agency": entry.code, "overseer": entry.reports_to})

    def _tally(self, *, rebuild: bool) -> None:
        marked = TallyDirty.objects.count()
        rows = tallies.rebuild() if rebuild else None
        folded = tallies.fold_dirty()
        self._json({"marked": marked, "folded": folded, "day_rows": rows,
                    "month_rows": MonthTally.objects.count() if rebuild else None})

    def _json(self, data: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))

    def _lpa(self, options: dict[str, Any]) -> None:
        try:
            agency = _agency(str(options["agency"]))
            pack = lpa_pack(agency, options["fiscal_year"], today=timezone.localdate())
        except SarabanError as exc:
            raise CommandError(f"{exc.code}: {exc.message}", returncode=2) from exc
        output: Path = options["output"]
        output.write_bytes(pack.data)
        counts = pack.manifest["counts"]
        self.stdout.write(f"{output}: {len(pack.manifest['files']) + 2} files, "
                          f"sent {counts['sent_total']} ({counts['sent_electronic']} "
                          f"electronically), received {counts['received_total']}, "
                          f"secret lines {counts['secret_lines']}")
