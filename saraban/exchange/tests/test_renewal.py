"""Renewing an exchange certificate without a gap: announced signed by the old key, both
certificates accepted during the overlap, the old one dropped after it."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from saraban.core.models import AuditEvent
from saraban.exchange import crypto
from saraban.exchange.models import (
    AgencyCredential,
    AnnouncementState,
    CertificateAnnouncement,
    DirectoryEntry,
    InboxMessage,
    OutboxMessage,
    OutState,
)
from saraban.exchange.renewal import (
    RENEWAL_PATH,
    announcement_deliver_due,
    announcement_for,
    directory_prune_previous,
    exchange_renew,
)
from saraban.exchange.views import RENEWAL_MAX_BYTES
from saraban.exchange.worker import drain
from saraban.letters.services import Recipient

from .test_local import send
from .test_receive_security import Remote, envelope_for, message, post, remote_agency

pytestmark = pytest.mark.django_db


@pytest.fixture
def remote(org) -> Remote:
    """An agency on another node, known here through its directory entry."""
    return remote_agency()


def renewal_of(who: Remote, *, old_key: str | None = None, new_key: str | None = None,
               previous_pem: str | None = None, until_days: int = 30,
               code: str | None = None) -> tuple[dict[str, Any], str]:
    """The announcement a remote node makes when ``who`` renews: (message, new key)."""
    key = crypto.new_key()
    new_pem = crypto.certificate_pem(crypto.certificate_for(key, code=code or who.code,
                                                            name="Remote Department"))
    new_key_pem = crypto.key_to_pem(key)
    now = timezone.now()
    announcement = announcement_for(
        code=code or who.code, old_pem=previous_pem or who.entry.certificate_pem,
        new_pem=new_pem, until=now + dt.timedelta(days=until_days), now=now,
    )
    return {
        "announcement": announcement,
        "signature": crypto.sign(old_key or who.key_pem, announcement),
        "proof": crypto.sign(new_key or new_key_pem, announcement),
    }, new_key_pem


def post_renewal(client, data: object):
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return client.post(RENEWAL_PATH, data=raw, content_type="application/json")


def test_renewal_switches_the_key_keeps_the_old_certificate_and_queues_announcements(org):
    remote_agency()  # another node in the directory
    remote_agency("remote-two")  # on the same node: announced once
    old = AgencyCredential.objects.get(agency=org.ministry)
    old_pem, old_key = old.certificate_pem, old.private_key_pem

    [queued] = exchange_renew(agency=org.ministry)

    new = AgencyCredential.objects.get(agency=org.ministry)
    assert new.certificate_pem != old_pem and new.private_key_pem != old_key
    assert new.previous_certificate_pem == old_pem
    entry = DirectoryEntry.objects.get(code="moi")
    assert (entry.certificate_pem, entry.previous_certificate_pem) == (new.certificate_pem,
                                                                      old_pem)
    assert entry.previous_until is not None
    assert dt.timedelta(days=29) < entry.previous_until - timezone.now() <= dt.timedelta(days=30)
    assert (queued.node_url, queued.state) == ("http://sender.example", "pending")
    sent = queued.message
    assert crypto.verify(old_pem, sent["announcement"], sent["signature"])  # the old key
    assert crypto.verify(new.certificate_pem, sent["announcement"], sent["proof"])
    assert not crypto.verify(new.certificate_pem, sent["announcement"], sent["signature"])
    event = AuditEvent.objects.get(agency_id=org.ministry.pk, action="exchange_renew")
    assert event.details["previous_fingerprint"] == crypto.fingerprint(old_pem)

    # From the switch on, letters go out signed with the new key and still arrive.
    send(org, Recipient(channel="saraban", agency=org.province))
    drain()
    assert OutboxMessage.objects.get(type="letter").state == OutState.SENT
    arrived = InboxMessage.objects.get()
    assert crypto.verify(new.certificate_pem, arrived.envelope, arrived.signature)
    assert not crypto.verify(old_pem, arrived.envelope, arrived.signature)


def test_a_node_takes_the_announcement_and_accepts_both_keys_until_the_overlap_ends(
    client, org, remote,
):
    old_pem = remote.entry.certificate_pem
    renewal, new_key = renewal_of(remote)
    response = post_renewal(client, renewal)
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "accepted"
    entry = DirectoryEntry.objects.get(code=remote.code)
    assert entry.certificate_pem == renewal["announcement"]["certificate_pem"]
    assert entry.previous_certificate_pem == old_pem
    assert entry.renewal is not None
    assert entry.renewal["signature"] == renewal["signature"]  # the evidence is kept
    again = post_renewal(client, renewal)
    assert (again.status_code, again.json()["status"]) == (200, "already")

    old_remote = Remote(code=remote.code, key_pem=remote.key_pem, entry=entry)
    new_remote = Remote(code=remote.code, key_pem=new_key, entry=entry)
    for who in (old_remote, new_remote):  # during the overlap: both
        envelope, contents = envelope_for(remote.code)
        assert post(client, message(who.key_pem, envelope, contents)).status_code == 201

    with time_machine.travel(timezone.now() + dt.timedelta(days=31), tick=False):
        envelope, contents = envelope_for(remote.code)
        refused = post(client, message(remote.key_pem, envelope, contents))
        assert (refused.status_code, refused.json()["code"]) == (400, "bad_signature")
        envelope, contents = envelope_for(remote.code)
        assert post(client, message(new_key, envelope, contents)).status_code == 201
        assert directory_prune_previous() == 1
    entry.refresh_from_db()
    assert (entry.previous_certificate_pem, entry.previous_until) == ("", None)
    assert InboxMessage.objects.count() == 3


def test_forged_and_mismatched_announcements_are_refused_and_change_nothing(client, org, remote):
    stranger = remote_agency("stranger-dept")
    before = DirectoryEntry.objects.get(code=remote.code).certificate_pem

    forged, _ = renewal_of(remote, old_key=stranger.key_pem)  # not the key held here
    wrong_proof, _ = renewal_of(remote, new_key=stranger.key_pem)
    not_following, _ = renewal_of(remote, previous_pem=stranger.entry.certificate_pem)
    unknown, _ = renewal_of(remote, code="no-such-agency")
    local, _ = renewal_of(remote, code="chiangmai")  # hosted here: only its own node decides
    shapes: list[tuple[object, str]] = [
        (forged, "bad_signature"), (wrong_proof, "bad_signature"),
        (not_following, "renewal_mismatch"), (unknown, "unknown_sender"),
        (local, "local_agency"),
        (b"[1, 2]", "malformed_announcement"),
        ({**forged, "signature": 5}, "malformed_announcement"),
        ({**forged, "announcement": {**forged["announcement"], "type": "x"}},
         "malformed_announcement"),
        ({**forged, "announcement": {**forged["announcement"], "fingerprint": "0" * 64}},
         "malformed_announcement"),
        ({**forged, "announcement": {**forged["announcement"], "certificate_pem": "x"}},
         "bad_certificate"),
        ({**forged, "announcement": {**forged["announcement"], "overlap_until": "soon"}},
         "malformed_envelope"),
        (b"{not json", "malformed_envelope"),
    ]
    for data, code in shapes:
        response = post_renewal(client, data)
        assert response.status_code == 400, (code, response.content)
        assert response.json()["code"] == code, response.json()
    assert DirectoryEntry.objects.get(code=remote.code).certificate_pem == before
    assert not DirectoryEntry.objects.exclude(previous_certificate_pem="").exists()
    assert client.get(RENEWAL_PATH).status_code == 405
    too_big = post_renewal(client, b" " * (RENEWAL_MAX_BYTES + 1))
    assert (too_big.status_code, too_big.json()["code"]) == (413, "envelope_too_large")


class _Answer(http.server.BaseHTTPRequestHandler):
    """A node that answers every announcement with a fixed status and code."""

    status = 503
    code = "unavailable"
    bodies: list[bytes] = []

    def log_message(self, format: str, *args: object) -> None:
        del format, args

    def do_POST(self) -> None:
        self.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps({"code": self.code, "status": "accepted"}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def far_node(url: str) -> DirectoryEntry:
    cert = crypto.certificate_for(crypto.new_key(), code="far-dept", name="Far Department")
    return DirectoryEntry.objects.create(code="far-dept", name_th="กรมไกล", node_url=url,
                                         certificate_pem=crypto.certificate_pem(cert))


@pytest.fixture
def other_node() -> Iterator[tuple[str, type[_Answer]]]:
    handler = type("Handler", (_Answer,), {"bodies": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_announcements_are_retried_until_accepted_and_dropped_when_refused(org, other_node):
    url, handler = other_node
    far_node(url)
    [row] = exchange_renew(agency=org.ministry)
    assert announcement_deliver_due() == 1
    row.refresh_from_db()
    assert (row.state, row.attempts) == (AnnouncementState.PENDING, 1)
    assert row.last_error.startswith("unavailable")  # 503: tried again later
    assert json.loads(handler.bodies[0]) == row.message

    CertificateAnnouncement.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    handler.status, handler.code = 201, "ok"
    assert announcement_deliver_due() == 1
    row.refresh_from_db()
    assert (row.state, row.attempts) == (AnnouncementState.SENT, 2)
    assert announcement_deliver_due() == 0  # nothing more to do

    handler.status, handler.code = 400, "renewal_mismatch"
    [second] = exchange_renew(agency=org.ministry)
    announcement_deliver_due()
    second.refresh_from_db()
    assert second.state == AnnouncementState.FAILED
    assert second.last_error.startswith("renewal_mismatch")


def test_renew_command_announces_at_once(org, other_node, capsys):
    url, handler = other_node
    handler.status = 201
    far_node(url)
    call_command("exchange", "renew", "--agency", str(org.ministry.pk))
    out = capsys.readouterr().out
    assert "announcing it to 1 nodes" in out and f"{url}: sent" in out
    assert len(handler.bodies) == 1
