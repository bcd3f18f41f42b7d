"""The receiving endpoint refuses every bad message with a stable code and stores nothing.

Each case posts to the real HTTP endpoint, as another node would, a message from a remote
agency known here only through its directory entry, addressed to the province hosted here.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings

from saraban.core.models import AuditEvent
from saraban.exchange import crypto
from saraban.exchange.models import (
    AgencyCredential,
    DirectoryEntry,
    InboxFile,
    InboxMessage,
    OutboxMessage,
)
from saraban.letters.models import Blob, Letter
from saraban.letters.tests.test_register import tiny_pdf

URL = "/exchange/v1/messages"
SENDER = "remote-dept"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


@dataclass
class Remote:
    code: str
    key_pem: str
    entry: DirectoryEntry


def remote_agency(code: str = SENDER, *, issuer: tuple[Any, Any] | None = None) -> Remote:
    key = crypto.new_key()
    if issuer is None:
        cert = crypto.certificate_for(key, code=code, name="Remote Department")
    else:
        cert = crypto.certificate_for(key, code=code, name="Remote Department",
                                      issuer_key=issuer[0], issuer=issuer[1])
    entry = DirectoryEntry.objects.create(
        code=code, name_th="กรมปลายทาง", node_url="http://sender.example",
        certificate_pem=crypto.certificate_pem(cert), channels=["saraban"],
    )
    return Remote(code=code, key_pem=crypto.key_to_pem(key), entry=entry)


@pytest.fixture
def remote(org) -> Remote:
    return remote_agency()


def envelope_for(
    sender: str = SENDER,
    *,
    to: str = "chiangmai",
    subject: str = "ขอเชิญประชุมคณะกรรมการ",
    files: list[tuple[str, str, bytes]] | None = None,
    sent_at: dt.datetime | None = None,
    message_id: str | None = None,
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """An envelope and its file contents, shaped like ``outbox.build_message`` makes them."""
    files = [("letter.pdf", "main", tiny_pdf())] if files is None else files
    moment = sent_at or dt.datetime.now(tz=dt.UTC)
    envelope: dict[str, Any] = {
        "v": 1,
        "type": "letter",
        "id": message_id or str(uuid.uuid4()),
        "from": sender,
        "to": to,
        "sent_at": moment.isoformat(timespec="microseconds"),
        "letter": {
            "kind": "external", "subkind": "", "urgency": 1, "secrecy": 0,
            "number": "กข 0101/77", "letter_date": "2026-11-20", "subject": subject,
            "salutation": "เรียน ผู้ว่าราชการจังหวัดเชียงใหม่", "body": "", "sender_name":
            "กรมปลายทาง", "recipient_name": "จังหวัดเชียงใหม่", "references": [],
            "enclosures": [], "is_circular": False,
        },
        "files": [
            {"name": name, "role": role, "sha256": hashlib.sha256(data).hexdigest(),
             "size": len(data), "content_type": "application/pdf"}
            for name, role, data in files
        ],
    }
    return envelope, {hashlib.sha256(data).hexdigest(): data for _n, _r, data in files}


def message(key_pem: str, envelope: dict[str, Any], contents: dict[str, bytes]) -> dict[str, Any]:
    return {
        "envelope": envelope,
        "signature": crypto.sign(key_pem, envelope),
        "files": {sha: base64.b64encode(data).decode() for sha, data in contents.items()},
    }


def signed(remote: Remote, **kw: Any) -> dict[str, Any]:
    envelope, contents = envelope_for(remote.code, **kw)
    return message(remote.key_pem, envelope, contents)


def post(client, data: object):
    raw = data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False).encode()
    return client.post(URL, data=raw, content_type="application/json")


def stored_files() -> set[Path]:
    root = Path(settings.SARABAN_FILES_DIR)
    if not root.exists():
        return set()
    return {p for p in root.rglob("*") if p.is_file() and "tmp" not in p.relative_to(root).parts}


def snapshot() -> tuple[Any, ...]:
    return (
        InboxMessage.objects.count(), InboxFile.objects.count(), Blob.objects.count(),
        Letter.objects.count(), frozenset(stored_files()),
    )


def refusals(agency_id: int) -> list[str]:
    return [
        e.details["code"]
        for e in AuditEvent.objects.filter(agency_id=agency_id, action="exchange_refuse")
    ]


def assert_refused(client, org, data: object, code: str, *, status: int = 400,
                   audited: bool = True) -> None:
    before = snapshot()
    seen_before = refusals(org.province.pk)
    response = post(client, data)
    assert response.status_code == status, response.content
    assert response.json()["code"] == code, response.json()
    assert snapshot() == before, "a refused message must store nothing"
    if audited:
        assert refusals(org.province.pk) == [*seen_before, code], response.json()
    else:
        assert refusals(org.province.pk) == seen_before


# ---- the good case --------------------------------------------------------------------


def check_receipt(org, answer: dict[str, Any], contents: dict[str, bytes]) -> None:
    cert = AgencyCredential.objects.get(agency=org.province).certificate_pem
    assert cert == DirectoryEntry.objects.get(code="chiangmai").certificate_pem
    assert crypto.verify(cert, answer["receipt"], answer["signature"])
    assert answer["receipt"]["files"] == {sha: len(data) for sha, data in contents.items()}
    assert (answer["receipt"]["from"], answer["receipt"]["to"]) == (SENDER, "chiangmai")


def test_a_good_letter_is_stored_once_and_answered_with_a_signed_receipt(client, org, remote):
    attachment = tiny_pdf() + b"\n% another\n"
    envelope, contents = envelope_for(files=[("letter.pdf", "main", tiny_pdf()),
                                             ("annex.pdf", "attachment", attachment)])
    response = post(client, message(remote.key_pem, envelope, contents))
    assert response.status_code == 201
    answer = response.json()
    check_receipt(org, answer, contents)
    assert answer["receipt"]["id"] == envelope["id"]
    assert answer["receipt"]["envelope_digest"] == crypto.digest(
        {k: v for k, v in envelope.items() if k != "sent_at"}
    )
    [arrived] = InboxMessage.objects.all()
    assert (arrived.sender_code, str(arrived.message_id)) == (SENDER, envelope["id"])
    assert arrived.recipient == org.province
    assert {f.blob.sha256 for f in arrived.files.all()} == set(contents)
    assert sorted(f.role for f in arrived.files.all()) == ["attachment", "main"]
    assert Letter.objects.count() == 0, "registering is the clerk's decision, not the node's"
    assert AuditEvent.objects.filter(agency=org.province, action="exchange_receive").count() == 1


def test_a_sender_with_a_ca_issued_certificate_is_accepted(client, org):
    ca_key = crypto.new_key()
    ca_cert = crypto.certificate_for(ca_key, code="th-gov-ca", name="Test Government CA")
    remote = remote_agency(issuer=(ca_key, ca_cert))
    cert = crypto.load_certificate(remote.entry.certificate_pem)
    assert cert.issuer == ca_cert.subject != cert.subject
    envelope, contents = envelope_for()
    response = post(client, message(remote.key_pem, envelope, contents))
    assert response.status_code == 201
    check_receipt(org, response.json(), contents)


# ---- signatures ------------------------------------------------------------------------


def test_an_envelope_changed_after_signing_is_refused(client, org, remote):
    data = signed(remote)
    data["envelope"]["letter"]["subject"] = "ขอเชิญประชุม (แก้ไขแล้ว)"
    assert_refused(client, org, data, "bad_signature")


def test_a_signature_by_another_key_is_refused(client, org, remote):
    envelope, contents = envelope_for()
    impostor = crypto.key_to_pem(crypto.new_key())
    assert_refused(client, org, message(impostor, envelope, contents), "bad_signature")


def test_a_signature_that_is_not_base64_is_refused(client, org, remote):
    data = signed(remote)
    data["signature"] = "not base64 at all!"
    assert_refused(client, org, data, "bad_signature")


def test_a_sender_whose_certificate_has_expired_is_refused(client, org):
    key = crypto.new_key()
    with time_machine.travel(dt.datetime(2024, 1, 1, tzinfo=dt.UTC), tick=False):
        cert = crypto.certificate_for(key, code="old-dept", name="Old Department", days=30)
    DirectoryEntry.objects.create(
        code="old-dept", name_th="กรมเก่า", node_url="http://sender.example",
        certificate_pem=crypto.certificate_pem(cert),
    )
    envelope, contents = envelope_for("old-dept")
    assert_refused(client, org, message(crypto.key_to_pem(key), envelope, contents),
                   "bad_signature")


# ---- files -----------------------------------------------------------------------------


def test_a_file_changed_after_signing_is_refused(client, org, remote):
    data = signed(remote)
    [(sha, content)] = data["files"].items()
    tampered = base64.b64decode(content) + b"\n% appended\n"
    data["files"][sha] = base64.b64encode(tampered).decode()
    assert_refused(client, org, data, "digest_mismatch")


def test_a_missing_file_is_refused(client, org, remote):
    data = signed(remote)
    data["files"] = {}
    assert_refused(client, org, data, "digest_mismatch")


def test_an_extra_unsigned_file_is_refused(client, org, remote):
    data = signed(remote)
    extra = tiny_pdf() + b"\n% smuggled\n"
    data["files"][hashlib.sha256(extra).hexdigest()] = base64.b64encode(extra).decode()
    assert_refused(client, org, data, "digest_mismatch")


def test_a_file_of_a_type_not_allowed_is_refused_even_when_signed(client, org, remote):
    data = signed(remote, files=[("letter.pdf", "main", EXE)])
    assert_refused(client, org, data, "file_rejected")


def test_a_bad_attachment_after_a_good_main_file_leaves_no_file_behind(client, org, remote):
    data = signed(remote, files=[("letter.pdf", "main", tiny_pdf()),
                                 ("annex.pdf", "attachment", EXE)])
    assert_refused(client, org, data, "file_rejected")


# ---- who it is from and for ------------------------------------------------------------


def test_an_unknown_sender_is_refused(client, org, remote):
    stranger = crypto.key_to_pem(crypto.new_key())
    envelope, contents = envelope_for("nobody-knows")
    assert_refused(client, org, message(stranger, envelope, contents), "unknown_sender")


def test_a_recipient_not_hosted_here_is_refused(client, org, remote):
    remote_agency("elsewhere")  # in the directory, but on another node
    data = signed(remote, to="elsewhere")
    assert_refused(client, org, data, "unknown_recipient", audited=False)
    data = signed(remote, to="not-in-the-directory")
    assert_refused(client, org, data, "unknown_recipient", audited=False)


# ---- shape, version, size --------------------------------------------------------------


def _malformed(remote: Remote) -> list[object]:
    good = signed(remote)
    cases: list[object] = [b"{not json", b"\xff\xfe", [], "a string", {"envelope": None}]
    no_signature = json.loads(json.dumps(good))
    del no_signature["signature"]
    cases.append(no_signature)
    numeric_signature = json.loads(json.dumps(good))
    numeric_signature["signature"] = 42
    cases.append(numeric_signature)
    for field in ("id", "from", "to", "sent_at", "letter", "type"):
        broken = json.loads(json.dumps(good))
        del broken["envelope"][field]
        cases.append(broken)
    changes: list[tuple[str, object]] = [
        ("id", "not-a-uuid"), ("from", ""), ("to", 7), ("sent_at", "yesterday"),
        ("sent_at", "2026-11-20T10:00:00"), ("type", "parcel"), ("letter", "text"),
        ("files", {"a": 1}),
    ]
    for field, value in changes:
        broken = json.loads(json.dumps(good))
        broken["envelope"][field] = value
        cases.append(broken)
    no_subject = json.loads(json.dumps(good))
    no_subject["envelope"]["letter"]["subject"] = ""
    cases.append(no_subject)
    short_digest = json.loads(json.dumps(good))
    short_digest["envelope"]["files"][0]["sha256"] = "abc"
    cases.append(short_digest)
    bad_role = json.loads(json.dumps(good))
    bad_role["envelope"]["files"][0]["role"] = "cover"
    cases.append(bad_role)
    bad_base64 = json.loads(json.dumps(good))
    [sha] = bad_base64["files"]
    bad_base64["files"][sha] = "!!! not base64 !!!"
    cases.append(bad_base64)
    files_list = json.loads(json.dumps(good))
    files_list["files"] = ["x"]
    cases.append(files_list)
    return cases


def test_malformed_messages_are_refused(client, org, remote):
    for case in _malformed(remote):
        before = snapshot()
        response = post(client, case)
        assert response.status_code == 400, case
        assert response.json()["code"] == "malformed_envelope", case
        assert snapshot() == before


def test_a_receipt_for_something_that_is_not_a_message_id_is_malformed(client, org, remote):
    envelope = {
        "v": 1, "type": "receipt", "id": str(uuid.uuid4()), "from": SENDER, "to": "chiangmai",
        "sent_at": dt.datetime.now(tz=dt.UTC).isoformat(),
        "receipt": {"for": "not-a-uuid", "status": "registered", "number": "1"},
    }
    # Refused while reading the shape: the addressee named inside is not trusted yet.
    assert_refused(client, org, message(remote.key_pem, envelope, {}), "malformed_envelope",
                   audited=False)


def test_a_receipt_for_an_unknown_message_is_refused(client, org, remote):
    envelope = {
        "v": 1, "type": "receipt", "id": str(uuid.uuid4()), "from": SENDER, "to": "chiangmai",
        "sent_at": dt.datetime.now(tz=dt.UTC).isoformat(),
        "receipt": {"for": str(uuid.uuid4()), "status": "registered", "number": "1"},
    }
    assert_refused(client, org, message(remote.key_pem, envelope, {}), "unknown_message")
    assert OutboxMessage.objects.count() == 0


def test_an_unsupported_version_is_refused(client, org, remote):
    envelope, contents = envelope_for()
    envelope["v"] = 2
    before = snapshot()
    response = post(client, message(remote.key_pem, envelope, contents))
    assert (response.status_code, response.json()["code"]) == (400, "unsupported_version")
    assert snapshot() == before


def test_an_oversized_message_is_refused_before_it_is_read(client, org, remote, settings):
    settings.SARABAN_EXCHANGE_MAX_BYTES = 4096
    data = signed(remote, files=[("letter.pdf", "main", tiny_pdf() + b"%" * 8192)])
    before = snapshot()
    response = post(client, data)
    assert (response.status_code, response.json()["code"]) == (413, "envelope_too_large")
    assert snapshot() == before


# ---- replays ---------------------------------------------------------------------------


def test_the_same_message_twice_gets_the_same_receipt_and_is_stored_once(client, org, remote):
    data = signed(remote)
    first = post(client, data)
    assert first.status_code == 201
    after_first = snapshot()
    second = post(client, data)
    assert second.status_code == 200
    assert second.content == first.content, "the duplicate gets the very receipt given first"
    assert snapshot() == after_first
    assert InboxMessage.objects.count() == 1


def test_a_retry_with_a_new_send_time_gets_the_first_receipt(client, org, remote):
    envelope, contents = envelope_for()
    first = post(client, message(remote.key_pem, envelope, contents))
    later = dict(envelope, sent_at=(dt.datetime.now(tz=dt.UTC)
                                    + dt.timedelta(seconds=30)).isoformat())
    second = post(client, message(remote.key_pem, later, contents))
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.content == first.content
    assert InboxMessage.objects.count() == 1


def test_the_same_message_id_with_other_content_is_refused(client, org, remote):
    envelope, contents = envelope_for()
    assert post(client, message(remote.key_pem, envelope, contents)).status_code == 201
    other = json.loads(json.dumps(envelope))
    other["letter"]["subject"] = "เรื่องอื่นที่ใช้เลขซองเดิม"
    assert_refused(client, org, message(remote.key_pem, other, contents), "message_id_reused")


def test_an_old_captured_message_never_seen_before_is_refused(client, org, remote, settings):
    settings.SARABAN_EXCHANGE_MAX_AGE_SECONDS = 600
    old = dt.datetime.now(tz=dt.UTC) - dt.timedelta(seconds=601)
    assert_refused(client, org, signed(remote, sent_at=old), "stale_message")
    future = dt.datetime.now(tz=dt.UTC) + dt.timedelta(hours=1)
    assert_refused(client, org, signed(remote, sent_at=future), "stale_message")
