"""``saraban reports kpi``: an agency's indicators for a period, for the operator.

    saraban reports kpi --agency CODE [--fiscal-year 2569 [--quarter 1]
            | --year 2569 [--month 1] | --from 2025-10-01 --to 2026-09-30]
            [--hosted] [--by channel|unit|month|agency] [--format json|csv|xlsx|pdf]
            [--output FILE]
    saraban reports lpa --agency CODE --fiscal-year 2569 --output FILE.zip

CODE is the agency's (or unit's) exchange code or id. Without a period: the fiscal year to
date. JSON and CSV go to standard output unless ``--output`` names a file; XLSX and PDF
(the summary, sealed with the agency seal where there is one) need ``--output``.
``lpa`` writes the LPA evidence pack of an LAO for a fiscal year (``saraban.reports.lpa``).
Definitions: ``docs/indicators.md``. Exit status 2 on a bad argument (the reason on standard
error).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from saraban.agencies.models import Agency
from saraban.core.errors import NotFound, SarabanError

from ...access import agency_by_code
from ...export import kpi_document, to_csv, to_xlsx
from ...indicators import BY, Scope
from ...lpa import lpa_pack
from ...periods import parse_period
from ...summary import summary_pdf


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"not a date (YYYY-MM-DD): {text}") from exc


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

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "lpa":
            self._lpa(options)
            return
        agency = _agency(str(options["agency"]))
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
