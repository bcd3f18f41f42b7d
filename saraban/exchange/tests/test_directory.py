"""The directory of agencies, enrolment, import/export and the ``saraban exchange`` command."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import AgencyKind
from saraban.agencies.services import agency_create
from saraban.core.errors import ValidationFailed
from saraban.exchange import crypto
from saraban.exchange.directory import agency_enrol, directory_import, export_entries
from saraban.exchange.models import (
    AgencyCredential,
    DirectoryEntry,
    InboxMessage,
    OutboxMessage,
    OutState,
)
from saraban.letters.models import RegisterEntry
from saraban.letters.services import LetterDetails, Recipient, Upload, letter_register_outgoing
from saraban.letters.tests.test_register import tiny_pdf


def remote_entry(code: str, url: str = "http://node-b.example") -> dict[str, object]:
    cert = crypto.certificate_for(crypto.new_key(), code=code, name=code)
    return {"code": code, "name_th": f"หน่วยงาน {code}", "node_url": url,
            "certificate_pem": crypto.certificate_pem(cert), "channels": ["saraban"]}


def new_tenant(name: str = "องค์การบริหารส่วนตำบลสุเทพ", parent=None):
    return agency_create(kind=AgencyKind.SAO, name_th=name, parent=parent, is_tenant=True,
                         letter_code="ชม")


# ---- enrolment -------------------------------------------------------------------------


def test_enrolment_gives_a_key_a_certificate_and_a_local_entry(org):
    sao = new_tenant(parent=org.province)
    entry = agency_enrol(agency=sao, code="suthep")
    sao.refresh_from_db()
    credential = AgencyCredential.objects.get(agency=sao)
    assert (entry.code, entry.node_url, entry.agency, sao.exchange_code) == (
        "suthep", "", sao, "suthep")
    assert entry.certificate_pem == credential.certificate_pem
    assert crypto.certificate_code(entry.certificate_pem) == "suthep"
    assert crypto.verify(entry.certificate_pem, {"x": 1},
                         crypto.sign(credential.private_key_pem, {"x": 1}))


def test_enrolment_takes_a_ca_issued_certificate_and_key(org):
    ca_key = crypto.new_key()
    ca = crypto.certificate_for(ca_key, code="ca", name="CA")
    key = crypto.new_key()
    cert = crypto.certificate_pem(crypto.certificate_for(key, code="suthep", name="Suthep",
                                                         issuer_key=ca_key, issuer=ca))
    entry = agency_enrol(agency=new_tenant(parent=org.province), code="suthep",
                         certificate_pem=cert, private_key_pem=crypto.key_to_pem(key))
    assert entry.certificate_pem == cert
    with pytest.raises(ValidationFailed) as exc:
        agency_enrol(agency=new_tenant("อบต.อื่น", parent=org.province), code="other",
                     certificate_pem=cert)
    assert exc.value.code == "key_and_certificate"


def test_an_exchange_code_is_given_once(org):
    directory_import([remote_entry("remote-dept")])
    for taken in ("chiangmai", "remote-dept"):
        with pytest.raises(ValidationFailed) as exc:
            agency_enrol(agency=new_tenant(parent=org.province), code=taken)
        assert exc.value.code == "exchange_code_taken"
    for bad in ("", "   ", "x" * 65):
        with pytest.raises(ValidationFailed) as exc:
            agency_enrol(agency=new_tenant(parent=org.province), code=bad)
        assert exc.value.code == "bad_exchange_code"
    # Enrolling again under its own code renews the key, keeping the one entry.
    old = AgencyCredential.objects.get(agency=org.province).private_key_pem
    agency_enrol(agency=org.province, code="chiangmai")
    assert AgencyCredential.objects.get(agency=org.province).private_key_pem != old
    assert DirectoryEntry.objects.filter(code="chiangmai").count() == 1


def test_only_an_agency_not_a_unit_is_enrolled(org):
    with pytest.raises(ValidationFailed) as exc:
        agency_enrol(agency=org.ict, code="ict")
    assert exc.value.code == "not_an_agency"
    assert not DirectoryEntry.objects.filter(code="ict").exists()


# ---- import and export -----------------------------------------------------------------


def test_export_then_import_on_another_node_round_trips(org):
    directory_import([remote_entry("remote-a"), remote_entry("remote-b")])
    published = export_entries(local_only=True, node_url="http://node-a.example")
    assert {e["code"] for e in published} == {"moi", "chiangmai", "chiangmai-city"}
    assert {e["node_url"] for e in published} == {"http://node-a.example"}
    everything = export_entries()
    remote_rows = [e for e in everything if e["code"].startswith("remote-")]
    DirectoryEntry.objects.filter(code__startswith="remote-").delete()
    assert directory_import(remote_rows) == (2, 0)
    assert [e for e in export_entries() if e["code"].startswith("remote-")] == remote_rows
    assert directory_import(remote_rows) == (0, 2)


def test_an_import_never_overwrites_an_agency_hosted_here(org):
    before = DirectoryEntry.objects.get(code="chiangmai")
    forged = remote_entry("chiangmai", url="http://attacker.example")
    assert directory_import([forged]) == (0, 0)
    after = DirectoryEntry.objects.get(code="chiangmai")
    assert (after.node_url, after.certificate_pem, after.agency_id) == (
        "", before.certificate_pem, org.province.pk)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"certificate_pem": "-----BEGIN CERTIFICATE-----\nnope\n"}, "bad_certificate"),
        ({"certificate_pem": ""}, "bad_certificate"),
        ({"node_url": "ftp://node-b.example"}, "bad_directory_entry"),
        ({"node_url": ""}, "bad_directory_entry"),
        ({"node_url": "javascript:alert(1)"}, "bad_directory_entry"),
        ({"code": ""}, "bad_directory_entry"),
    ],
)
def test_a_bad_entry_refuses_the_whole_import(org, change, code):
    rows = [remote_entry("remote-a"), {**remote_entry("remote-b"), **change}]
    with pytest.raises(ValidationFailed) as exc:
        directory_import(rows)
    assert exc.value.code == code
    assert not DirectoryEntry.objects.filter(code__startswith="remote-").exists()


def test_the_node_publishes_its_own_part_of_the_directory(client, org):
    directory_import([remote_entry("remote-a")])
    response = client.get("/exchange/v1/directory")
    assert response.status_code == 200
    entries = response.json()["entries"]
    assert {e["code"] for e in entries} == {"moi", "chiangmai", "chiangmai-city"}
    assert {e["node_url"] for e in entries} == {"http://testserver"}


# ---- the command -----------------------------------------------------------------------


def run(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("exchange", *args, stdout=out)
    return out.getvalue()


def test_command_enrols_and_moves_the_directory_through_a_file(org, tmp_path):
    sao = new_tenant(parent=org.province)
    assert "enrolled suthep" in run("enrol", "--agency", str(sao.pk), "--code", "suthep")
    with pytest.raises(CommandError, match="exchange_code_taken"):
        run("enrol", "--agency", str(new_tenant("อื่น", parent=org.province).pk),
            "--code", "suthep")
    with pytest.raises(CommandError, match="no such agency"):
        run("enrol", "--agency", "999999", "--code", "ghost")

    exported = tmp_path / "directory.json"
    run("directory", "export", "--local", "--node-url", "http://node-a.example",
        "-o", str(exported))
    data = json.loads(exported.read_text(encoding="utf-8"))
    assert "suthep" in {e["code"] for e in data["entries"]}

    incoming = tmp_path / "other-node.json"
    incoming.write_text(json.dumps({"entries": [remote_entry("remote-a")]}), encoding="utf-8")
    assert "1 new, 0 updated" in run("directory", "import", str(incoming))
    assert DirectoryEntry.objects.get(code="remote-a").node_url == "http://node-b.example"
    incoming.write_text("not json", encoding="utf-8")
    with pytest.raises(CommandError, match="not JSON"):
        run("directory", "import", str(incoming))


def send(org, recipient: Recipient) -> RegisterEntry:
    return letter_register_outgoing(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject="แจ้งเวียนเพื่อทราบ"),
        recipients=[recipient], main_file=Upload("letter.pdf", tiny_pdf()),
    )


def test_command_delivers_reports_status_and_registers_the_inbox(org, province_clerk):
    entry = send(org, Recipient(channel="saraban", agency=org.province))
    assert json.loads(run("status")) == {"inbox": {}, "outbox": {"queued": 1}}
    assert "attempted 1 messages" in run("deliver")
    assert json.loads(run("status")) == {"inbox": {"waiting": 1}, "outbox": {"sent": 1}}
    assert "registered 1" in run("inbox", "register-all", "--as", "cm-clerk")
    run("deliver")
    out = OutboxMessage.objects.get(letter=entry.letter, type="letter")
    assert out.state == OutState.REGISTERED
    registered = InboxMessage.objects.get().entry
    assert registered is not None and out.receipt_number == registered.formatted
    assert json.loads(run("status")) == {
        "inbox": {"registered": 1}, "outbox": {"registered": 1, "sent": 1},
    }
    # The ministry's clerk cannot register the province's letters.
    send(org, Recipient(channel="saraban", agency=org.province))
    run("deliver")
    assert "registered 0" in run("inbox", "register-all", "--as", "clerk")


def test_command_requeues_a_failed_message(org, settings):
    settings.SARABAN_EXCHANGE_RETRY_LIMIT = 1
    directory_import([remote_entry("remote-a", url="http://127.0.0.1:9")])  # nothing listens
    entry = send(org, Recipient(channel="saraban", code="remote-a", text="กรมปลายทาง"))
    run("deliver")
    out = OutboxMessage.objects.get(letter=entry.letter)
    assert (out.state, out.attempts) == (OutState.FAILED, 1)
    assert out.last_error.startswith("unreachable")
    with pytest.raises(CommandError, match="no active user"):
        run("requeue", str(out.message_id), "--as", "nobody")
    with pytest.raises(CommandError, match="no such message"):
        run("requeue", "00000000-0000-0000-0000-000000000000", "--as", "clerk")
    assert "requeued" in run("requeue", str(out.message_id), "--as", "clerk")
    out.refresh_from_db()
    assert (out.state, out.attempts, out.closed_at) == (OutState.QUEUED, 0, None)
    with pytest.raises(CommandError, match="not_failed"):
        run("requeue", str(out.message_id), "--as", "clerk")
