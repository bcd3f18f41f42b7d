"""``saraban reports kpi``: the same figures as the indicators, as JSON, CSV and XLSX."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from saraban.reports import periods
from saraban.reports.indicators import Scope, electronic_share, received_share, signed_share

from .generated import build


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("reports", "kpi", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def gen(org, pki, stranger_pki):
    return build(org, pki, stranger_pki, per_registry=5)


def test_json_csv_and_xlsx_carry_the_indicators(gen, tmp_path: Path):
    org = gen.org
    period = periods.fiscal_year(2569)
    sent, _ = electronic_share(Scope(org.ministry), period)
    received, _ = received_share(Scope(org.ministry), period)
    signed, _ = signed_share(Scope(org.ministry), period)
    assert sent.total and received.total and signed.total

    doc = json.loads(run("--agency", "moi", "--fiscal-year", "2569"))
    share = doc["indicators"]["electronic_share"]
    assert (share["sent_total"], share["sent_electronic"], share["share"]) == (
        sent.total, sent.part, sent.share)
    assert share["by_channel"] == sent.by_channel
    assert doc["indicators"]["received_share"]["received_electronic"] == received.part
    assert doc["indicators"]["signed_share"]["signed"] == signed.part
    assert (doc["from"], doc["to"], doc["period_label"]) == ("2025-10-01", "2026-09-30",
                                                             "ปีงบประมาณ 2569")

    lines = list(csv.DictReader(io.StringIO(run("--agency", str(org.ministry.pk),
                                                "--fiscal-year", "2569", "--by", "month",
                                                "--format", "csv"))))
    months = [r for r in lines if r["indicator"] == "electronic_share" and r["key"] != "total"]
    assert len(months) == 12 and months[0]["key"] == "2025-10-01"
    assert sum(int(r["total"]) for r in months) == sent.total
    [total] = [r for r in lines if r["indicator"] == "electronic_share" and r["key"] == "total"]
    assert int(total["saraban"]) == sent.by_channel["saraban"]

    target = tmp_path / "kpi.xlsx"
    run("--agency", "moi", "--fiscal-year", "2569", "--format", "xlsx", "--output", str(target))
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == ["electronic_share", "received_share", "signed_share", "service"]
    service = list(book["service"].iter_rows(min_row=3, values_only=True))
    assert service[0][0] == "ระยะเวลาลงรับหนังสือที่มาทางอิเล็กทรอนิกส์"
    assert doc["service"]["time_to_first_action"]["total"] == received.total
    sheet = book["electronic_share"]
    assert sheet["A1"].value == "ร้อยละของหนังสือที่ส่งทางอิเล็กทรอนิกส์"
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    assert rows[-1][:3] == ("รวม", sent.total, sent.part)


def test_the_pdf_summary_is_sealed_with_the_agency_seal(org, pki, tmp_path: Path):
    from saraban.signatures.pades import verify_pdf
    from saraban.signatures.testing import make_seal

    unsealed, sealed = tmp_path / "unsealed.pdf", tmp_path / "sealed.pdf"
    err = io.StringIO()
    call_command("reports", "kpi", "--agency", "chiangmai", "--hosted", "--fiscal-year", "2569",
                 "--format", "pdf", "--output", str(unsealed), stdout=io.StringIO(), stderr=err)
    assert "no agency seal" in err.getvalue()
    assert unsealed.read_bytes().startswith(b"%PDF")
    assert verify_pdf(unsealed.read_bytes(), tenant=org.province).status == "unsigned"
    make_seal(org.province, pki)
    run("--agency", "chiangmai", "--fiscal-year", "2569", "--format", "pdf",
        "--output", str(sealed))
    verdict = verify_pdf(sealed.read_bytes(), tenant=org.province)
    assert verdict.status == "valid", verdict.label_th


def test_bad_arguments_are_refused(org):
    for args, said in [
        (("--agency", "nobody"), "no such agency"),
        (("--agency", "moi", "--fiscal-year", "2569", "--quarter", "7"), "bad_quarter"),
        (("--agency", "moi", "--from", "2026-13-01"), "not a date"),
        (("--agency", "moi", "--format", "xlsx"), "needs --output"),
        (("--agency", "moi", "--format", "pdf"), "needs --output"),
    ]:
        with pytest.raises(CommandError, match=said):
            run(*args)


def test_the_default_period_is_the_fiscal_year_to_date_and_a_day_has_its_name(org):
    today = timezone.localdate()  # Bangkok's today
    doc = json.loads(run("--agency", "moi"))
    assert doc["to"] == today.isoformat()
    assert doc["from"] == periods.fiscal_year(periods.fiscal_year_of(today)).start.isoformat()
    assert doc["indicators"]["electronic_share"]["share"] is None
    day = json.loads(run("--agency", "moi", "--from", "2026-01-01", "--to", "2026-01-01"))
    assert day["period_label"] == "1 มกราคม 2569"


def test_tally_folds_the_marks_and_rebuild_counts_everything_again(gen):
    """``reports tally`` does the worker's part at once; ``--rebuild`` counts every line
    again; the figures stay those counted from the registers throughout."""
    from saraban.reports.models import DayTally, MonthTally, TallyDirty

    scope, year = Scope(gen.org.ministry), periods.fiscal_year(2569)
    before = electronic_share(scope, year)[0]
    marked = TallyDirty.objects.count()
    def tally(*args: str) -> dict[str, int | None]:
        out = io.StringIO()
        call_command("reports", "tally", *args, stdout=out)
        answer: dict[str, int | None] = json.loads(out.getvalue())
        return answer

    assert marked and tally() == {
        "marked": marked, "folded": marked, "day_rows": None, "month_rows": None}
    assert not TallyDirty.objects.exists()
    days = DayTally.objects.count()
    MonthTally.objects.all().delete()  # as if lost: a rebuild brings every row back
    again = tally("--rebuild")
    assert again["day_rows"] == days == DayTally.objects.count() and again["month_rows"]
    after = electronic_share(scope, year)[0]
    assert (after.total, after.part, after.by_channel) == (before.total, before.part,
                                                           before.by_channel)
