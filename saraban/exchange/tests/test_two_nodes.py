"""Two real Saraban nodes exchange letters: separate processes, separate databases.

Each node is set up as an operator would (migrate, onboard the agency, enrol it, load the
other node's published directory entry), runs its own web server (gunicorn) and worker, and
is used through its API by its clerk: the letters go out over HTTP between the nodes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from saraban.exchange.testing import Node, connect, running_nodes, tiny_pdf, wait_until


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_nodes(request, tmp_path: Path):
    """Nodes A and B with web server and worker each, knowing each other; always cleaned up."""
    with running_nodes(tmp_path, ["a", "b"], db=request.param) as (a, b):
        for node in (a, b):
            node.start_web(wait=False)
            node.start_worker()
        for node in (a, b):
            node.wait_web()
        connect(a, b)
        yield a, b


def _inbox_by_message(node: Node) -> dict[str, dict[str, Any]]:
    rows = node.inbox()
    ids = Counter(str(r["message_id"]).replace("-", "") for r in rows)
    assert all(n == 1 for n in ids.values()), f"a message arrived twice at {node.name}: {ids}"
    return {str(r["message_id"]).replace("-", ""): r for r in rows}


def _arrived(node: Node, count: int) -> bool:
    return len(node.inbox()) >= count


def _registers_all(node: Node) -> Callable[[], bool]:
    def check() -> bool:
        node.register_waiting()
        return all(m["state"] == "registered" for m in node.inbox())

    return check


def _sees_registered(node: Node) -> Callable[[], bool]:
    return lambda: all(o["state"] == "registered" for o in node.outbox())


@pytest.mark.slow
def test_letters_go_both_ways_arrive_once_and_come_back_registered(two_nodes):
    a, b = two_nodes
    pdf = tiny_pdf("ทดสอบ")
    sent: dict[str, list[dict[str, Any]]] = {a.name: [], b.name: []}
    for i in range(3):
        answer = a.send_letter(b, f"ขอความร่วมมือ ฉบับที่ {i + 1} จาก A", pdf=pdf,
                               attachment=tiny_pdf("แนบ") if i == 0 else None)
        sent[a.name].append(answer)
    for i in range(2):
        sent[b.name].append(b.send_letter(a, f"ตอบกลับ ฉบับที่ {i + 1} จาก B", pdf=pdf))

    wait_until(lambda: _arrived(b, 3) and _arrived(a, 2), timeout=60,
               what="the letters to arrive")
    for receiver in (a, b):
        wait_until(_registers_all(receiver), timeout=60, interval=0.5,
                   what=f"{receiver.name} to register")

    for sender, receiver, count in ((a, b, 3), (b, a, 2)):
        wait_until(_sees_registered(sender), timeout=60,
                   what=f"{sender.name} to see its letters registered")
        arrived = _inbox_by_message(receiver)
        assert len(arrived) == count
        outbox = sender.outbox()
        assert len(outbox) == count
        for out in outbox:
            their = arrived[str(out["message_id"]).replace("-", "")]
            assert their["state"] == "registered" and their["number"]
            assert out["receipt_number"] == their["number"]
        # What the sender's clerk sees through the API, letter by letter.
        for answer in sent[sender.name]:
            [delivery] = sender.deliveries(answer["letter"]["id"])
            their = arrived[delivery["message_id"].replace("-", "")]
            assert delivery["state"] == "registered"
            assert delivery["receipt_number"] == their["number"]
            assert delivery["recipient_code"] == receiver.code
        # Each arrival became exactly one letter in the recipient's incoming register.
        entries = receiver.query(
            "select e.formatted, l.subject, l.number from letters_registerentry e "
            "join letters_letter l on l.id = e.letter_id where l.direction = 'incoming'"
        )
        assert sorted(e[1] for e in entries) == sorted(
            s["letter"]["subject"] for s in sent[sender.name]
        )
        assert sorted(e[2] for e in entries) == sorted(
            s["entry"]["formatted"] for s in sent[sender.name]
        )

    assert a.status()["inbox"] == {"registered": 2}
    assert b.status()["inbox"] == {"registered": 3}
    # The files came across intact: B's letter holds the PDFs A sent (same digests).
    files = "select f.blob_id from letters_letterfile f join letters_letter l " \
            "on l.id = f.letter_id where l.subject = %s order by f.blob_id"
    subject = sent[a.name][0]["letter"]["subject"]
    theirs = b.query(files, [subject])
    assert len(theirs) == 2 and theirs == a.query(files, [subject])

def test_the_api_addresses_a_remote_agency_by_its_exchange_code(org, client):
    """``recipients[].code`` names an agency on another node (it has no id here)."""
    from saraban.exchange import crypto
    from saraban.exchange.directory import directory_import
    from saraban.exchange.models import OutboxMessage

    key = crypto.new_key()
    pem = crypto.certificate_pem(crypto.certificate_for(key, code="lamphun", name="Lamphun"))
    directory_import([{"code": "lamphun", "name_th": "จังหวัดลำพูน",
                       "node_url": "https://saraban.lamphun.go.th", "certificate_pem": pem}])
    token = client.post("/api/v1/auth/token", {"username": "clerk", "password": "saraban-demo"},
                        content_type="application/json").json()["token"]
    data = {"registry_id": org.central.pk, "kind": "external", "subject": "ขอเชิญประชุม",
            "recipients": [{"channel": "saraban", "code": "lamphun",
                            "text": "ผู้ว่าราชการจังหวัดลำพูน"}]}
    response = client.post("/api/v1/letters/outgoing", {"data": json.dumps(data)},
                           headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.content
    [out] = OutboxMessage.objects.all()
    assert (out.recipient_code, out.state, out.letter_id) == (
        "lamphun", "queued", response.json()["letter"]["id"]
    )

    data["recipients"][0]["code"] = "nowhere"
    response = client.post("/api/v1/letters/outgoing", {"data": json.dumps(data)},
                           headers={"authorization": f"Bearer {token}"})
    assert (response.status_code, response.json()["code"]) == (400, "unknown_exchange_recipient")
    assert OutboxMessage.objects.count() == 1


def _serve_once(answer: bytes) -> int:
    """A server that reads one request and sends ``answer`` raw, then hangs up; its port."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(answer)
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return int(listener.getsockname()[1])


@pytest.mark.parametrize("status", [b"201 Created", b"400 Bad Request"])
def test_an_answer_cut_off_midway_is_a_failed_attempt_to_retry(status):
    """The network dropped the receipt halfway: the worker retries later (with backoff)
    instead of tripping over the error and leaving the message claimed until its lease ends."""
    from saraban.exchange.transport import DeliveryFailed, SarabanTransport

    port = _serve_once(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
                       b"Content-Length: 400\r\n\r\n{\"receipt\": {\"id\"")
    with pytest.raises(DeliveryFailed) as caught:
        SarabanTransport(f"http://127.0.0.1:{port}").deliver({"envelope": {}})
    assert not caught.value.permanent
    assert caught.value.code in {"unreachable", "http_error"}
