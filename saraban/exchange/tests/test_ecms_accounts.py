"""e-CMS accounts and directory: the commands, the look-ups on a real local node, and the
poll lease that keeps two workers off one account."""

from __future__ import annotations

import json
import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from saraban.exchange.ecms.poll import claim_account, release_account
from saraban.exchange.models import DirectoryEntry, EcmsAccount
from saraban.exchange.tests.test_ecms_exchange import MOI, OTHER, PROVINCE, Node


def run(*args: str) -> str:
    out = StringIO()
    call_command("exchange", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def node(tmp_path):
    n = Node(tmp_path / "ecms", {MOI: "สป.มท.", PROVINCE: "จังหวัดเชียงใหม่"},
             {OTHER: "http://127.0.0.1:9/"}).start()
    yield n
    n.stop()


def test_account_add_import_status_time_and_codes(org, node, tmp_path):
    assert "e-CMS account 1500100000 (ministry 15)" in run(
        "ecms", "account", "--agency", str(org.ministry.pk), "--department", MOI,
        "--node-url", node.url(MOI))
    own = DirectoryEntry.objects.get(agency=org.ministry)
    assert (own.ecms_department_id, own.ecms_ministry_id) == (MOI, "15")
    assert "ecms" in own.channels

    out = run("ecms", "add", "--department", "0300100000", "--name", "กรมบัญชีกลาง",
              "--node-url", "http://ecms.cgd.example/ecms-ws01/service2")
    assert out.startswith("added 0300100000")
    entry = DirectoryEntry.objects.get(code="0300100000")
    assert (entry.channels, entry.ecms_ministry_id, entry.certificate_pem) == (["ecms"], "03", "")
    with pytest.raises(CommandError, match="bad_ecms_department"):
        run("ecms", "add", "--department", "03001", "--name", "x")

    imported = json.loads(run("ecms", "import-organizations", "--agency", str(org.ministry.pk)))
    # The node lists MOI (hosted here: never overwritten), PROVINCE and the peer OTHER.
    assert (imported["created"], imported["skipped"]) == (2, 1)
    province = DirectoryEntry.objects.get(ecms_department_id=PROVINCE, agency__isnull=True)
    assert province.name_th == "จังหวัดเชียงใหม่"
    assert province.ecms_node_url == node.url(PROVINCE)
    assert DirectoryEntry.objects.get(agency=org.ministry).name_th == org.ministry.name_th
    again = json.loads(run("ecms", "import-organizations", "--agency", str(org.ministry.pk)))
    assert (again["created"], again["updated"]) == (0, 2)

    status = json.loads(run("ecms", "status"))
    assert status["accounts"][0]["department"] == MOI
    skew = json.loads(run("ecms", "time", "--agency", str(org.ministry.pk)))
    assert abs(skew["skew_seconds"]) < 5
    codes = json.loads(run("ecms", "codes", "--agency", str(org.ministry.pk)))
    assert [c["value"] for c in codes["secret"]] == ["001", "002", "003", "004"]
    assert {"extension": "pdf", "content_type": "application/pdf"} in codes["mime"]
    assert json.loads(run("ecms", "outbound", "--agency", str(org.ministry.pk))) == {
        "outbound": []}
    polled = json.loads(run("ecms", "poll", "--agency", str(org.ministry.pk)))
    assert polled["polled"][0]["error"] == ""

    # A dead node is an error with a code, nothing changed.
    EcmsAccount.objects.filter(agency=org.ministry).update(node_url="http://127.0.0.1:9/x")
    with pytest.raises(CommandError, match="ecms_unreachable"):
        run("ecms", "time", "--agency", str(org.ministry.pk))
    from saraban.core.models import AuditEvent

    assert AuditEvent.objects.filter(action="exchange_ecms_account").count() == 1
    assert AuditEvent.objects.filter(action="exchange_ecms_import_organizations").count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_poll_one_account_at_once():
    from saraban.agencies.sample import build_sample_org
    from saraban.exchange.ecms.accounts import ecms_account_set

    org = build_sample_org()
    ecms_account_set(agency=org.ministry, department=MOI, node_url="http://127.0.0.1:9/a")
    barrier = threading.Barrier(8)
    got: list[str] = []

    def worker(n: int) -> None:
        from django.db import connection

        try:
            barrier.wait()
            account = claim_account(owner=f"w{n}")
            if account is not None:
                got.append(f"w{n}")
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 1
    account = EcmsAccount.objects.get()
    assert account.lease_owner == got[0]
    assert claim_account(owner="late") is None  # leased
    release_account(account, got[0])
    account.refresh_from_db()
    assert account.lease_until is None and account.next_poll_at is not None


def test_an_unreadable_queue_item_is_recorded_and_deleted_by_its_process_id(org, settings):
    """The node never queues hostile XML (it refuses it at the door), so a small server
    stands in for a broken node here: its queue head has a DOCTYPE (refused by the parser)."""
    import http.server

    from saraban.core.models import AuditEvent
    from saraban.ecms import delete_response, inbound_response, parse_message
    from saraban.exchange.ecms.accounts import ecms_account_set
    from saraban.exchange.ecms.poll import poll_now

    hostile = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
               b'<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">'
               b"<SOAP-ENV:Body><CorrespondenceLetterInboundResponse><ProcessID>P-77</ProcessID>"
               b"<ProcessTime>t</ProcessTime>&a;</CorrespondenceLetterInboundResponse>"
               b"</SOAP-ENV:Body></SOAP-ENV:Envelope>")
    deleted: list[str] = []

    class Broken(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = parse_message(body)
            if request.operation == "CorrespondenceLetterDeleteRequest":
                deleted.append(request.process_id)
                answer = delete_response(process_id=request.process_id, process_time="t")
            else:
                answer = hostile if not deleted else inbound_response()
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Broken)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/ecms-ws01/service2"
        ecms_account_set(agency=org.province, department=PROVINCE, node_url=url)
        [result] = poll_now(agency_id=org.province.pk)
    finally:
        server.shutdown()
        server.server_close()
    assert (result.refused, result.error, deleted) == (1, "", ["P-77"])
    event = AuditEvent.objects.get(agency=org.province, action="exchange_refuse")
    assert event.details["code"] == "xml_dtd_refused" and event.details["channel"] == "ecms"


def test_a_signed_draft_goes_by_e_cms_to_an_agency_reached_only_through_e_cms(org):
    from saraban.agencies.models import AgencyKind
    from saraban.agencies.services import agency_create
    from saraban.documents.models import Draft
    from saraban.documents.services import _recipients_for_dispatch
    from saraban.exchange.ecms.accounts import ecms_account_set, ecms_entry_add

    cgd = agency_create(kind=AgencyKind.DEPARTMENT, name_th="กรมบัญชีกลาง", is_tenant=True,
                        exchange_code="0300100000")
    ecms_entry_add(department="0300100000", name="กรมบัญชีกลาง")

    def channels(secrecy: int = 0) -> list[str]:
        draft = Draft(tenant=org.ministry, secrecy=secrecy, recipients=[
            {"agency": a.pk, "channel": "auto", "text": "", "address": ""}
            for a in (cgd, org.province)])
        return [r.channel for r in _recipients_for_dispatch(draft)]

    assert channels() == ["post", "saraban"]  # no e-CMS account: not by e-CMS
    ecms_account_set(agency=org.ministry, department=MOI, node_url="http://127.0.0.1:9/x")
    assert channels() == ["ecms", "saraban"]
    assert channels(secrecy=3) == ["hand", "hand"]
