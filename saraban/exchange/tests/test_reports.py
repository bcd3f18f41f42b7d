"""Monthly indicator reports over the exchange: signed by the sending agency, read strictly,
kept once per message, the newest report of a month the current one.

Each case posts to the real HTTP endpoint, as another node would, a report from a remote
agency known here only through its directory entry, addressed to the province hosted here;
the round trip between two agencies of this node goes through the outbox, the worker and the
local transport.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
import uuid
from typing import Any

import pytest
import time_machine
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st

from saraban.core.errors import ValidationFailed
from saraban.core.models import AuditEvent
from saraban.exchange import crypto
from saraban.exchange.directory import directory_set_reports_to
from saraban.exchange.models import (
    AgencyCredential,
    DirectoryEntry,
    MessageType,
    OutboxMessage,
    OutState,
    ReceivedReport,
)
from saraban.exchange.outbox import enqueue_report
from saraban.exchange.worker import drain

from .test_exchange_fuzz import CODES, FUZZ, dumps, hostile
from .test_receive_security import SENDER, Remote, post, refusals, remote_agency

MONTH = "2025-10-01"


@pytest.fixture
def remote(org) -> Remote:
    return remote_agency()


def figures(**changes: Any) -> dict[str, Any]:
    """A report that adds up: 10 copies sent (7 electronically) of 8 letters, 5 received
    (3 electronically), 6 of the 8 letters signed."""
    report: dict[str, Any] = {
        "month": MONTH,
        "generated_at": "2025-11-02T01:00:00.000000+00:00",
        "sent": {"total": 10, "electronic": 7, "letters": 8,
                 "by_channel": {"saraban": 4, "ecms": 2, "email": 1, "post": 3}},
        "received": {"total": 5, "electronic": 3,
                     "by_channel": {"saraban": 2, "email": 1, "paper": 2}},
        "signed": {"total": 8, "signed": 6},
    }
    report.update(changes)
    return report


def envelope(report: dict[str, Any], *, sender: str = SENDER, to: str = "chiangmai",
             message_id: str | None = None) -> dict[str, Any]:
    return {
        "v": 1, "type": "report", "id": message_id or str(uuid.uuid4()), "from": sender,
        "to": to, "sent_at": dt.datetime.now(tz=dt.UTC).isoformat(timespec="microseconds"),
        "report": report,
    }


def signed_message(remote: Remote, env: dict[str, Any]) -> dict[str, Any]:
    return {"envelope": env, "signature": crypto.sign(remote.key_pem, env), "files": {}}


def snapshot() -> tuple[Any, ...]:
    return (ReceivedReport.objects.count(),
            AuditEvent.objects.filter(action="exchange_report_receive").count())


def assert_refused(client, org, data: dict[str, Any], code: str) -> None:
    """Refused with ``code``, nothing stored; audited by the recipient once it is known (a
    message refused for its shape is refused before it is read that far)."""
    before = snapshot()
    seen = refusals(org.province.pk)
    response = post(client, data)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code, response.json()
    assert snapshot() == before, "a refused report must store nothing"
    shape = code in ("bad_report", "malformed_envelope")
    assert refusals(org.province.pk) == (seen if shape else [*seen, code])


# ---- the good case ------------------------------------------------------------------------


def test_a_report_is_stored_once_and_answered_with_a_signed_receipt(client, org, remote):
    env = envelope(figures())
    response = post(client, signed_message(remote, env))
    assert response.status_code == 201, response.content
    answer = response.json()
    cert = AgencyCredential.objects.get(agency=org.province).certificate_pem
    assert crypto.verify(cert, answer["receipt"], answer["signature"])
    assert answer["receipt"]["id"] == env["id"]
    assert answer["receipt"]["files"] == {}
    assert answer["receipt"]["envelope_digest"] == crypto.digest(
        {k: v for k, v in env.items() if k != "sent_at"})

    [report] = ReceivedReport.objects.all()
    assert (report.sender_code, str(report.message_id)) == (SENDER, env["id"])
    assert report.recipient == org.province and report.current
    assert report.month == dt.date(2025, 10, 1)
    assert report.figures == {k: env["report"][k] for k in ("sent", "received", "signed")}
    assert crypto.verify(remote.entry.certificate_pem, report.envelope, report.signature)
    assert AuditEvent.objects.filter(agency=org.province,
                                     action="exchange_report_receive").count() == 1

    again = post(client, signed_message(remote, {**env, "sent_at": dt.datetime.now(
        tz=dt.UTC).isoformat(timespec="microseconds")}))
    assert again.status_code == 200
    assert again.json() == answer, "a replay is answered with the first receipt"
    assert ReceivedReport.objects.count() == 1


def test_a_newer_report_replaces_the_older_one_and_an_older_one_does_not(client, org, remote):
    first = envelope(figures())
    newer = envelope(figures(generated_at="2025-11-05T01:00:00+00:00",
                             signed={"total": 8, "signed": 8}))
    late = envelope(figures(generated_at="2025-11-03T01:00:00+00:00"))
    for env in (first, newer, late):
        assert post(client, signed_message(remote, env)).status_code == 201

    reports = {str(r.message_id): r for r in ReceivedReport.objects.all()}
    assert len(reports) == 3, "every message is kept once, as evidence"
    [current] = [r for r in reports.values() if r.current]
    assert str(current.message_id) == newer["id"]
    assert current.figures["signed"] == {"total": 8, "signed": 8}
    replaced = AuditEvent.objects.get(action="exchange_report_receive",
                                      details__id=newer["id"])
    assert replaced.details["replaces"] == first["id"]


def test_another_month_and_another_recipient_are_reports_of_their_own(client, org, remote):
    for env in (envelope(figures()), envelope(figures(month="2025-09-01")),
                envelope(figures(), to="moi")):
        assert post(client, signed_message(remote, env)).status_code == 201
    assert ReceivedReport.objects.filter(current=True).count() == 3


def test_the_same_id_with_other_figures_is_refused(client, org, remote):
    env = envelope(figures())
    assert post(client, signed_message(remote, env)).status_code == 201
    other = copy.deepcopy(env)
    other["report"]["sent"]["letters"] = 9
    assert_refused(client, org, signed_message(remote, other), "message_id_reused")


# ---- refused ------------------------------------------------------------------------------


def test_figures_changed_after_signing_are_refused(client, org, remote):
    data = signed_message(remote, envelope(figures()))
    # Still adds up (one copy moved from post to the exchange): only the signature tells.
    data["envelope"]["report"]["sent"].update(electronic=8, by_channel={
        "saraban": 5, "ecms": 2, "email": 1, "post": 2})
    assert_refused(client, org, data, "bad_signature")


def test_a_report_signed_by_another_agency_is_refused(client, org, remote):
    impostor = remote_agency("other-lao")
    env = envelope(figures())  # "from" the remote agency, signed with another key
    assert_refused(client, org, signed_message(impostor, env), "bad_signature")


def test_a_report_to_an_agency_not_hosted_here_is_refused(client, org, remote):
    response = post(client, signed_message(remote, envelope(figures(), to="somewhere-else")))
    assert (response.status_code, response.json()["code"]) == (400, "unknown_recipient")
    assert ReceivedReport.objects.count() == 0


def test_a_report_to_an_agency_known_only_as_remote_is_refused(client, org, remote):
    other = remote_agency("remote-province")
    response = post(client, signed_message(remote, envelope(figures(), to=other.code)))
    assert (response.status_code, response.json()["code"]) == (400, "unknown_recipient")
    assert ReceivedReport.objects.count() == 0


def _sent(**changes: Any) -> dict[str, Any]:
    return {**figures()["sent"], **changes}


BAD_REPORTS = {
    "an unknown field": figures(rank=1),
    "an unknown field inside": figures(sent=_sent(copies=10)),
    "a negative count": figures(signed={"total": 8, "signed": -1}),
    "electronic above the total": figures(received={
        "total": 5, "electronic": 6, "by_channel": {"saraban": 5}}),
    "letters above the copies": figures(sent=_sent(letters=11)),
    "signed above the letters": figures(signed={"total": 8, "signed": 9}),
    "channels that do not add up": figures(sent=_sent(
        by_channel={"saraban": 4, "ecms": 2, "email": 1, "post": 2})),
    "electronic channels that do not add up": figures(sent=_sent(electronic=6)),
    "an unknown channel": figures(received={
        "total": 5, "electronic": 3, "by_channel": {"saraban": 2, "email": 1, "pigeon": 2}}),
    "a paper channel among the sent": figures(sent=_sent(
        by_channel={"saraban": 4, "ecms": 2, "email": 1, "paper": 3})),
    "a count as a string": figures(signed={"total": "8", "signed": 6}),
    "a count as a boolean": figures(signed={"total": 8, "signed": True}),
    "a count as a float": figures(signed={"total": 8.0, "signed": 6}),
    "a month that is not a first day": figures(month="2025-10-15"),
    "a month without its day": figures(month="2025-10"),
    "a month in the Buddhist era": figures(month="2568-10-01"),
    "a month too long ago": figures(month="1850-01-01"),
    "a generated_at without a zone": figures(generated_at="2025-11-02T01:00:00"),
    "a generated_at in the future": figures(generated_at="2999-01-01T00:00:00+00:00"),
    "the sent figures missing": {k: v for k, v in figures().items() if k != "sent"},
}


@pytest.mark.parametrize("report", BAD_REPORTS.values(), ids=BAD_REPORTS.keys())
def test_a_report_that_does_not_add_up_is_refused(client, org, remote, report):
    assert_refused(client, org, signed_message(remote, envelope(report)), "bad_report")


def test_a_report_for_a_month_that_has_not_begun_is_refused(client, org):
    with time_machine.travel(dt.datetime(2026, 2, 28, 16, 50, tzinfo=dt.UTC), tick=False):
        remote = remote_agency()  # its certificate valid from then on
        # 23:50 on 28 February in Bangkok: March is still ahead.
        assert_refused(client, org, signed_message(remote, envelope(figures(
            month="2026-03-01"))), "bad_report")
        assert post(client, signed_message(remote, envelope(figures(
            month="2026-02-01")))).status_code == 201
    with time_machine.travel(dt.datetime(2026, 2, 28, 17, 1, tzinfo=dt.UTC), tick=False):
        # 00:01 on 1 March in Bangkok (still February in UTC): March has begun.
        assert post(client, signed_message(remote, envelope(figures(
            month="2026-03-01")))).status_code == 201


def test_a_report_with_files_is_refused(client, org, remote):
    env = envelope(figures())
    env["files"] = [{"name": "a.pdf", "role": "main", "sha256": "0" * 64, "size": 1,
                     "content_type": "application/pdf"}]
    assert_refused(client, org, signed_message(remote, env), "malformed_envelope")


def test_a_report_message_without_its_report_is_refused(client, org, remote):
    env = envelope(figures())
    del env["report"]
    assert_refused(client, org, signed_message(remote, env), "malformed_envelope")


# ---- between two agencies of this node ------------------------------------------------------


def test_a_queued_report_goes_out_signed_and_is_kept_by_the_overseer(org):
    with transaction.atomic():
        out = enqueue_report(sender=org.lao, to_code="chiangmai", report=figures())
    assert (out.type, out.state, out.sender_code) == (MessageType.REPORT, OutState.QUEUED,
                                                      "chiangmai-city")
    drain()
    out.refresh_from_db()
    assert out.state == OutState.SENT
    receipt = out.transport_receipt
    assert receipt is not None
    assert crypto.verify(DirectoryEntry.objects.get(code="chiangmai").certificate_pem,
                         receipt["receipt"], receipt["signature"])
    [report] = ReceivedReport.objects.all()
    assert (report.sender_code, report.recipient, report.message_id) == (
        "chiangmai-city", org.province, out.message_id)
    assert crypto.verify(AgencyCredential.objects.get(agency=org.lao).certificate_pem,
                         report.envelope, report.signature)
    assert report.figures["sent"] == figures()["sent"]


def test_a_report_that_would_be_refused_is_not_queued(org):
    with pytest.raises(ValidationFailed) as exc, transaction.atomic():
        enqueue_report(sender=org.lao, to_code="chiangmai",
                       report=figures(signed={"total": 8, "signed": 9}))
    assert exc.value.code == "bad_report"
    with pytest.raises(ValidationFailed) as exc, transaction.atomic():
        enqueue_report(sender=org.lao, to_code="nowhere", report=figures())
    assert exc.value.code == "unknown_exchange_recipient"
    assert OutboxMessage.objects.count() == 0


def test_the_overseer_is_named_once_and_checked(org):
    entry = directory_set_reports_to(agency=org.lao, code="chiangmai")
    assert entry.reports_to == "chiangmai"
    assert AuditEvent.objects.filter(agency=org.lao, action="exchange_reports_to").exists()
    for code, error in (("chiangmai-city", "recipient_is_sender"),
                        ("nowhere", "unknown_exchange_recipient")):
        with pytest.raises(ValidationFailed) as exc:
            directory_set_reports_to(agency=org.lao, code=code)
        assert exc.value.code == error
    assert directory_set_reports_to(agency=org.lao, code="").reports_to == ""


# ---- hostile figures ------------------------------------------------------------------------

REPORT_FIELDS = ["month", "generated_at", "sent", "received", "signed", "extra"]
COUNT_FIELDS = ["total", "electronic", "letters", "by_channel", "signed", "extra"]


@st.composite
def hostile_report(draw: st.DrawFn) -> dict[str, Any]:
    report = figures()
    part = draw(st.sampled_from(["report", "sent", "received", "signed"]))
    target = report if part == "report" else report[part]
    fields = REPORT_FIELDS if part == "report" else COUNT_FIELDS
    target.update(draw(st.dictionaries(st.sampled_from(fields), hostile, min_size=1,
                                       max_size=3)))
    return report


def test_signed_hostile_figures_are_refused_with_a_code_and_store_nothing(client, org):
    remote = remote_agency("fuzz-lao")

    @FUZZ
    @given(report=hostile_report())
    def run(report: dict[str, Any]) -> None:
        env = envelope(report, sender=remote.code)
        try:
            signature = crypto.sign(remote.key_pem, env)
        except (UnicodeEncodeError, ValueError):
            signature = "AAAA"
        before = snapshot()
        response = client.post("/exchange/v1/messages", content_type="application/json",
                               data=dumps({"envelope": env, "signature": signature}))
        assert response.status_code in (201, 400), response.content
        if response.status_code == 400:
            assert response.json()["code"] in CODES, response.json()
            assert snapshot() == before, "a refused report must store nothing"

    run()


# ---- at the same time -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_reports_of_one_month_arriving_at_once_leave_one_current(org):
    from django.db import connection

    from saraban.exchange.receive import receive_message

    remote = remote_agency("busy-lao")
    hours = range(1, 7)
    messages = [signed_message(remote, envelope(
        figures(generated_at=f"2025-11-02T{h:02d}:00:00+00:00"), sender=remote.code))
        for h in hours]
    messages += messages[:2]  # and two of them twice
    barrier = threading.Barrier(len(messages))
    answers: list[int] = []

    def arrive(data: dict[str, Any]) -> None:
        try:
            barrier.wait(timeout=30)
            answers.append(receive_message(copy.deepcopy(data))[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=arrive, args=(m,)) for m in messages]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(answers) == [200, 200] + [201] * len(hours)
    assert ReceivedReport.objects.count() == len(hours)
    [current] = ReceivedReport.objects.filter(current=True)
    assert current.generated_at == dt.datetime(2025, 11, 2, 6, tzinfo=dt.UTC)
