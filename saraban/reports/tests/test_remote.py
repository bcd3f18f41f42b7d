"""Remote figures: an agency's monthly report to its overseer (``send_monthly``, the
``send-monthly`` command) and the overseer's view adding what agencies hosted elsewhere
reported (``add_remote``), for the months entirely inside the period."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Role, RoleGrant
from saraban.agencies.sample import make_person
from saraban.core.errors import ValidationFailed
from saraban.core.models import AuditEvent
from saraban.core.thai import BANGKOK
from saraban.exchange import crypto
from saraban.exchange.directory import directory_set_reports_to
from saraban.exchange.models import (
    DirectoryEntry,
    MessageType,
    OutboxMessage,
    OutState,
    ReceivedReport,
)
from saraban.exchange.worker import drain
from saraban.letters.services import (
    LetterDetails,
    Recipient,
    Upload,
    letter_register_incoming,
    letter_register_outgoing,
)
from saraban.letters.tests.test_register import tiny_pdf
from saraban.reports import periods
from saraban.reports.indicators import (
    RECEIVED_CHANNELS,
    SENT_CHANNELS,
    Figures,
    Scope,
    electronic_share,
    received_share,
    signed_share,
)
from saraban.reports.remote import add_remote
from saraban.reports.remote_send import monthly_report, previous_month, send_monthly

OCTOBER = dt.date(2025, 10, 1)  # ตุลาคม 2568


# ---- reports that arrived ---------------------------------------------------------------


def remote_entry(code: str, name: str) -> DirectoryEntry:
    cert = crypto.certificate_for(crypto.new_key(), code=code, name=code)
    return DirectoryEntry.objects.create(code=code, name_th=name, node_url="http://lao.example",
                                         certificate_pem=crypto.certificate_pem(cert),
                                         channels=["saraban"])


def report_figures(sent: tuple[int, int, int], received: tuple[int, int],
                   signed: tuple[int, int]) -> dict[str, Any]:
    """Figures that add up: ``sent`` (copies, electronic, letters) split between the exchange
    and post; ``received`` (letters, electronic) between the exchange and paper."""
    copies, electronic, letters = sent
    got, got_electronic = received
    return {
        "sent": {"total": copies, "electronic": electronic, "letters": letters,
                 "by_channel": {"saraban": electronic, "post": copies - electronic}},
        "received": {"total": got, "electronic": got_electronic,
                     "by_channel": {"saraban": got_electronic, "paper": got - got_electronic}},
        "signed": {"total": signed[0], "signed": signed[1]},
    }


def arrived(code: str, recipient, month: dt.date, figures: dict[str, Any], *,
            generated: dt.datetime | None = None, current: bool = True) -> ReceivedReport:
    moment = generated or dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    return ReceivedReport.objects.create(
        sender_code=code, message_id=uuid.uuid4(), recipient=recipient, month=month,
        figures=figures, generated_at=moment, envelope_digest="0" * 64, envelope={},
        signature="", receipt={}, received_at=moment, current=current,
    )


@pytest.fixture
def remote(org):
    """Two LAOs of Chiang Mai hosted on another node, reporting to the province."""
    remote_entry("lao-far", "อบต.ไกล")
    remote_entry("lao-away", "เทศบาลตำบลห่าง")
    arrived("lao-far", org.province, dt.date(2025, 10, 1),
            report_figures((10, 7, 8), (5, 3), (8, 6)))
    arrived("lao-far", org.province, dt.date(2025, 11, 1),
            report_figures((4, 4, 4), (2, 0), (4, 1)))
    arrived("lao-away", org.province, dt.date(2025, 11, 1),
            report_figures((3, 1, 2), (6, 6), (2, 2)))
    return org


def empty(indicator: str, scope: Scope, period: periods.Period, by: str
          ) -> tuple[Figures, list[Figures]]:
    """An indicator's total and rows with nothing counted from the registers yet: the local
    rows of ``by`` (two agencies, two units, or every month of the period)."""
    channels = {"sent": SENT_CHANNELS, "received": RECEIVED_CHANNELS,
                "signed": ("signed", "unsigned")}[indicator]

    def blank(key: str, label: str) -> Figures:
        return Figures(key=key, label=label, by_channel=dict.fromkeys(channels, 0))

    if by == "month":
        rows = [blank(first.isoformat(), label) for first, label in periods.months_in(period)]
    elif by in ("agency", "unit"):
        rows = [blank(str(a.pk), a.name_th) for a in (scope.agency, scope.agency.children.first())
                if a is not None]
    else:
        rows = [blank("total", "รวม")]
    return blank("total", "รวม"), rows


def province(org) -> Scope:
    return Scope(org.province, hosted=True)


OCT_NOV = periods.Period(dt.date(2025, 10, 1), dt.date(2025, 11, 30))


def test_by_channel_the_reports_go_into_the_channel_totals(remote):
    total, rows = add_remote("sent", province(remote), OCT_NOV, "channel",
                             *empty("sent", province(remote), OCT_NOV, "channel"))
    assert (total.total, total.part, total.letters) == (17, 12, 14)
    assert total.by_channel["saraban"] == 12 and total.by_channel["post"] == 5
    [row] = rows
    assert (row.total, row.part, row.by_channel["saraban"]) == (17, 12, 12)
    assert total.share == round(12 / 17, 4)


def test_by_month_the_reports_go_into_their_month(remote):
    total, rows = add_remote("received", province(remote), OCT_NOV, "month",
                             *empty("received", province(remote), OCT_NOV, "month"))
    assert [(r.key, r.total, r.part, r.letters) for r in rows] == [
        ("2025-10-01", 5, 3, 5), ("2025-11-01", 8, 6, 8)]
    assert (total.total, total.part, total.by_channel["paper"]) == (13, 9, 4)


def test_by_agency_each_remote_agency_is_a_row_of_its_own(remote):
    scope = province(remote)
    local_total, local_rows = empty("signed", scope, OCT_NOV, "agency")
    local = [r.key for r in local_rows]
    total, rows = add_remote("signed", scope, OCT_NOV, "agency", local_total, local_rows)
    assert [r.key for r in rows] == [*local, "remote:lao-away", "remote:lao-far"]
    extra = {r.key: r for r in rows[len(local):]}
    assert extra["remote:lao-far"].label == "อบต.ไกล"
    assert (extra["remote:lao-far"].total, extra["remote:lao-far"].part) == (12, 7)
    assert extra["remote:lao-far"].by_channel == {"signed": 7, "unsigned": 5}
    assert (extra["remote:lao-away"].label, extra["remote:lao-away"].total) == (
        "เทศบาลตำบลห่าง", 2)
    assert (total.total, total.part) == (14, 9)


def test_by_unit_the_reports_go_into_the_total_only(remote):
    scope = province(remote)
    local_total, local_rows = empty("sent", scope, OCT_NOV, "unit")
    before = [(r.key, r.total) for r in local_rows]
    total, rows = add_remote("sent", scope, OCT_NOV, "unit", local_total, local_rows)
    assert [(r.key, r.total) for r in rows] == before
    assert (total.total, total.part) == (17, 12)


def test_only_the_months_entirely_inside_the_period_are_counted(remote):
    scope = province(remote)
    assert periods.whole_months(dt.date(2025, 10, 2), dt.date(2025, 11, 30)) == [
        dt.date(2025, 11, 1)]
    assert periods.whole_months(dt.date(2025, 10, 1), dt.date(2025, 10, 30)) == []
    assert periods.whole_months(dt.date(2024, 2, 1), dt.date(2024, 2, 29)) == [
        dt.date(2024, 2, 1)]
    for period, copies in ((periods.Period(dt.date(2025, 10, 2), dt.date(2025, 11, 30)), 7),
                           (periods.Period(dt.date(2025, 10, 1), dt.date(2025, 11, 29)), 10),
                           (periods.month(2568, 10), 10), (periods.fiscal_year(2569), 17),
                           (periods.fiscal_quarter(2569, 2), 0)):
        total, _ = add_remote("sent", scope, period, "channel",
                              *empty("sent", scope, period, "channel"))
        assert total.total == copies, period


def test_only_the_overseers_view_counts_reports(remote):
    for scope in (Scope(remote.province), Scope(remote.ministry, hosted=True)):
        total, _ = add_remote("sent", scope, OCT_NOV, "channel",
                              *empty("sent", scope, OCT_NOV, "channel"))
        assert total.total == 0, scope


def test_only_the_current_report_counts_and_once_per_sender_and_month(remote):
    org = remote
    ReceivedReport.objects.filter(sender_code="lao-away").update(current=False)
    arrived("lao-away", org.province, dt.date(2025, 11, 1),
            report_figures((5, 5, 5), (0, 0), (5, 0)))
    # The same month also reported to an agency below the province: counted once, the one
    # generated last.
    arrived("lao-away", org.lao, dt.date(2025, 11, 1),
            report_figures((9, 0, 9), (0, 0), (9, 0)),
            generated=dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
    _total, rows = add_remote("sent", province(org), OCT_NOV, "agency",
                              *empty("sent", province(org), OCT_NOV, "agency"))
    assert {r.key: r.total for r in rows if r.key.startswith("remote:")} == {
        "remote:lao-away": 9, "remote:lao-far": 14}


def test_an_agency_hosted_here_is_counted_from_its_registers_not_its_reports(remote):
    org = remote
    arrived("chiangmai-city", org.province, dt.date(2025, 10, 1),
            report_figures((100, 100, 100), (0, 0), (100, 0)))
    total, rows = add_remote("sent", province(org), OCT_NOV, "agency",
                             *empty("sent", province(org), OCT_NOV, "agency"))
    assert "remote:chiangmai-city" not in {r.key for r in rows}
    assert total.total == 17


def test_an_unknown_indicator_is_a_programming_error(remote):
    with pytest.raises(ValueError, match="unknown indicator"):
        add_remote("pending", province(remote), OCT_NOV, "channel",
                   *empty("sent", province(remote), OCT_NOV, "channel"))


# ---- sending ------------------------------------------------------------------------------


@pytest.fixture
def lao_letters(org):
    """In October 2568 the LAO sent a letter to the province by the exchange and one by post
    (to two recipients), and received one on paper and one by e-mail."""
    clerk = make_person("lao-clerk", "เสมียน เทศบาล", agency=org.lao, password=None)
    RoleGrant.objects.create(person=clerk, unit=org.lao, role=Role.REGISTRY_CLERK)
    actor = resolve_actor(clerk)
    with time_machine.travel(dt.datetime(2025, 10, 15, 10, 0, tzinfo=BANGKOK), tick=False):
        letter_register_outgoing(
            actor=actor, registry=org.lao_registry,
            details=LetterDetails(kind="external", subject="รายงานผลการดำเนินงาน"),
            recipients=[Recipient(channel="saraban", agency=org.province)],
            main_file=Upload("letter.pdf", tiny_pdf()))
        letter_register_outgoing(
            actor=actor, registry=org.lao_registry,
            details=LetterDetails(kind="external", subject="แจ้งประชาสัมพันธ์"),
            recipients=[Recipient(channel="post", text="ห้างหุ้นส่วนจำกัด ทดสอบ"),
                        Recipient(channel="hand", text="นายสมศักดิ์ ประชาชน")])
        for via in ("", "email"):
            letter_register_incoming(
                actor=actor, registry=org.lao_registry,
                details=LetterDetails(kind="external", subject="ขอเชิญประชุม",
                                      sender_text="อำเภอเมือง", received_via=via))
    return org


def test_send_monthly_sends_the_agencys_own_figures_signed_to_its_overseer(lao_letters):
    org = lao_letters
    directory_set_reports_to(agency=org.lao, code="chiangmai")
    out = send_monthly(agency=org.lao, month=dt.date(2025, 10, 20))
    assert (out.type, out.recipient_code, out.sender_code) == (
        MessageType.REPORT, "chiangmai", "chiangmai-city")
    assert AuditEvent.objects.filter(agency=org.lao, action="report_send_monthly").exists()

    month = periods.month(2568, 10)
    sent, _ = electronic_share(Scope(org.lao), month)
    received, _ = received_share(Scope(org.lao), month)
    signed, _ = signed_share(Scope(org.lao), month)
    report = out.payload
    assert report["month"] == "2025-10-01"
    assert report["sent"] == {"total": sent.total, "electronic": sent.part,
                              "letters": sent.letters,
                              "by_channel": {"saraban": 1, "post": 1, "hand": 1}}
    assert (sent.total, sent.part, sent.letters) == (3, 1, 2)
    assert report["received"] == {"total": received.total, "electronic": received.part,
                                  "by_channel": {"paper": 1, "email": 1}}
    assert report["signed"] == {"total": signed.total, "signed": signed.part} == {
        "total": 2, "signed": 0}

    drain()
    out.refresh_from_db()
    assert out.state == OutState.SENT and out.transport_receipt is not None
    [kept] = ReceivedReport.objects.all()
    assert (kept.sender_code, kept.recipient, kept.message_id, kept.current) == (
        "chiangmai-city", org.province, out.message_id, True)
    assert kept.figures == {k: report[k] for k in ("sent", "received", "signed")}
    lao_cert = DirectoryEntry.objects.get(code="chiangmai-city").certificate_pem
    assert crypto.verify(lao_cert, kept.envelope, kept.signature)

    # Sent again (a correction): the newer report replaces the older one at the province.
    again = send_monthly(agency=org.lao, month=dt.date(2025, 10, 1), to_code="chiangmai")
    drain()
    [current] = ReceivedReport.objects.filter(current=True)
    assert current.message_id == again.message_id
    assert ReceivedReport.objects.count() == 2
    # Hosted here, the LAO is already in the province's view from its registers.
    total, _ = add_remote("sent", Scope(org.province, hosted=True), month, "channel",
                          *electronic_share(Scope(org.province, hosted=True), month))
    assert total.total == electronic_share(Scope(org.province, hosted=True), month)[0].total


def test_send_monthly_refuses_without_an_overseer_or_for_a_month_not_begun(org):
    with pytest.raises(ValidationFailed) as exc:
        send_monthly(agency=org.lao, month=OCTOBER)
    assert exc.value.code == "no_overseer"
    next_month = (timezone.localdate().replace(day=28) + dt.timedelta(days=5)).replace(day=1)
    with pytest.raises(ValidationFailed) as exc:
        send_monthly(agency=org.lao, month=next_month, to_code="chiangmai")
    assert exc.value.code == "bad_month"
    with pytest.raises(ValidationFailed) as exc:
        send_monthly(agency=org.ops, month=OCTOBER, to_code="chiangmai")
    assert exc.value.code == "not_an_agency"
    assert OutboxMessage.objects.count() == 0


def test_a_report_is_generated_when_it_is_sent(org):
    moment = dt.datetime(2025, 11, 3, 1, 2, 3, tzinfo=dt.UTC)
    report = monthly_report(org.lao, OCTOBER, now=moment)
    assert report["generated_at"] == "2025-11-03T01:02:03.000000+00:00"
    assert previous_month(dt.date(2025, 11, 3)) == OCTOBER


# ---- the command --------------------------------------------------------------------------


def run(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("reports", *args, stdout=out)
    data: dict[str, Any] = json.loads(out.getvalue())
    return data


def test_the_command_sends_to_the_overseer_named_once(lao_letters):
    assert run("overseer", "--agency", "chiangmai-city") == {
        "agency": "chiangmai-city", "overseer": ""}
    assert run("overseer", "--agency", "chiangmai-city", "--set", "chiangmai")["overseer"] == (
        "chiangmai")
    done = run("send-monthly", "--agency", "chiangmai-city", "--month", "2568-10")
    assert (done["to"], done["from"], done["state"]) == ("chiangmai", "chiangmai-city", "queued")
    assert done["report"]["month"] == "2025-10-01"
    assert done["report"]["sent"]["total"] == 3
    out = OutboxMessage.objects.get(message_id=done["id"])
    assert out.type == MessageType.REPORT

    other = run("send-monthly", "--agency", "chiangmai-city", "--month", "2568-10",
                "--to", "moi")
    assert other["to"] == "moi"
    drain()
    assert set(ReceivedReport.objects.values_list("recipient__exchange_code", flat=True)) == {
        "chiangmai", "moi"}
    assert run("overseer", "--agency", "chiangmai-city", "--clear")["overseer"] == ""


def test_the_command_reports_last_month_by_default(org):
    with time_machine.travel(dt.datetime(2026, 1, 2, 9, 0, tzinfo=BANGKOK), tick=False):
        done = run("send-monthly", "--agency", "chiangmai-city", "--to", "chiangmai")
    assert done["report"]["month"] == "2025-12-01"


@pytest.mark.parametrize(("args", "error"), [
    (("send-monthly", "--agency", "chiangmai-city", "--month", "2568-10"), "no_overseer"),
    (("send-monthly", "--agency", "chiangmai-city", "--month", "2025-10-01"), "not a month"),
    (("send-monthly", "--agency", "chiangmai-city", "--month", "2568-13"), "bad_month"),
    (("send-monthly", "--agency", "nowhere", "--month", "2568-10"), "no such agency"),
    (("send-monthly", "--agency", "chiangmai-city", "--month", "2568-10", "--to", "nowhere"),
     "unknown_exchange_recipient"),
    (("overseer", "--agency", "chiangmai-city", "--set", "chiangmai-city"),
     "recipient_is_sender"),
])
def test_the_command_refuses_bad_arguments(org, args, error):
    with pytest.raises(CommandError, match=error):
        run(*args)
    assert OutboxMessage.objects.count() == 0
