"""Two Saraban nodes exchange letters through e-CMS: each talks only to its own local e-CMS
node process (``saraban ecms node``), and the two e-CMS nodes relay to each other.

Everything is real: separate processes, separate databases, the operator commands for the
set-up (``saraban exchange ecms account`` / ``add``), the API for sending and the inbox API
for registering, rejecting, withdrawing and sending again. Midway one e-CMS node and one
worker are killed (SIGKILL) and started again: nothing is lost or arrives twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from saraban.exchange.testing import (
    EcmsNode,
    Node,
    running_ecms_pair,
    tiny_pdf,
    wait_until,
)

pytestmark = pytest.mark.slow

TIMEOUT = 45


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ecms_pair(request, tmp_path: Path):
    """Saraban nodes A, B and their own e-CMS nodes, wired; always cleaned up."""
    with running_ecms_pair(tmp_path, db=request.param) as nodes:
        yield nodes


def _arrivals(node: Node) -> Counter[str]:
    """How many inbox rows each sent letter (by its number) has at ``node``."""
    return Counter(m["letter_number"] for m in node.inbox_letters())


def _arrived(node: Node, numbers: set[str]) -> Callable[[], bool]:
    return lambda: numbers <= set(_arrivals(node))


def _register_all(node: Node) -> Callable[[], bool]:
    def check() -> bool:
        node.register_waiting()
        return all(m["state"] != "waiting" for m in node.inbox_letters())

    return check


def _delivery(sender: Node, letter_id: int) -> dict[str, Any]:
    current = [d for d in sender.deliveries(letter_id) if d["state"] != "withdrawn"]
    assert len(current) == 1, current
    return current[0]


def _registered(sender: Node, letter_ids: list[int]) -> Callable[[], bool]:
    return lambda: all(_delivery(sender, i)["state"] == "registered" for i in letter_ids)


def _digests(node: Node, subject: str) -> list[str]:
    rows = node.query(
        "select f.blob_id from letters_letterfile f join letters_letter l on l.id = f.letter_id "
        "where l.subject = %s order by f.blob_id",
        [subject],
    )
    return [str(r[0]) for r in rows]


def _send(sender: Node, to: Node, subject: str, pdf: bytes) -> dict[str, Any]:
    return sender.send_ecms_letter(to, subject, pdf=pdf, attachment=tiny_pdf(f"แนบ {subject}"))


def test_letters_go_both_ways_through_two_ecms_nodes(ecms_pair):
    a, b, ea, eb = ecms_pair
    pdf = tiny_pdf("ทดสอบ e-CMS")
    sent: dict[str, list[dict[str, Any]]] = {a.name: [], b.name: []}
    for i in range(2):
        sent[a.name].append(_send(a, b, f"ขอความร่วมมือทาง e-CMS ฉบับที่ {i + 1} จาก A", pdf))
        sent[b.name].append(_send(b, a, f"ตอบทาง e-CMS ฉบับที่ {i + 1} จาก B", pdf))

    # Midway: B's e-CMS node and A's worker die (SIGKILL); the third letters are sent while
    # they are down, then both come back.
    eb.kill()
    a.kill_worker()
    sent[a.name].append(_send(a, b, "ขอความร่วมมือทาง e-CMS ฉบับที่ 3 จาก A", pdf))
    sent[b.name].append(_send(b, a, "ตอบทาง e-CMS ฉบับที่ 3 จาก B", pdf))
    eb.start()
    a.start_worker()

    numbers = {n: {s["letter"]["number"] for s in sent[n]} for n in sent}
    wait_until(_arrived(b, numbers[a.name]), timeout=TIMEOUT, what="A's letters at B")
    wait_until(_arrived(a, numbers[b.name]), timeout=TIMEOUT, what="B's letters at A")

    # B rejects A's third letter; the others are registered on both sides.
    third = sent[a.name][2]
    [waiting] = [m for m in b.inbox_waiting() if m["number"] == third["letter"]["number"]]
    b.reject(waiting["id"], "แนบเอกสารไม่ครบ")
    for receiver in (a, b):
        wait_until(_register_all(receiver), timeout=TIMEOUT, what=f"{receiver.name} registers")

    ids = {n: [s["letter"]["id"] for s in sent[n]] for n in sent}
    wait_until(_registered(a, ids[a.name][:2]), timeout=TIMEOUT, what="A sees its receipts")
    wait_until(_registered(b, ids[b.name]), timeout=TIMEOUT, what="B sees its receipts")
    wait_until(lambda: _delivery(a, third["letter"]["id"])["state"] == "rejected",
               timeout=TIMEOUT, what="A sees the rejection")
    rejected = _delivery(a, third["letter"]["id"])
    # A RejectLetterNotifier carries no reason on the wire (ecms.md §5.4): a generic one.
    assert rejected["reason"] and rejected["channel_label"] == "e-CMS"

    # A withdraws it (DeleteGovernmentDocument on its node) and sends the same letter, the
    # same number, again; B registers it this time.
    a.withdraw(rejected["message_id"], "แก้ไขแล้วส่งใหม่")
    again = a.resend(rejected["message_id"])
    assert again["replaces"] == rejected["message_id"]
    wait_until(lambda: _arrivals(b)[third["letter"]["number"]] == 2, timeout=TIMEOUT,
               what="the resent letter at B")
    wait_until(_register_all(b), timeout=TIMEOUT, what="B registers the resent letter")
    wait_until(_registered(a, ids[a.name]), timeout=TIMEOUT, what="A sees every receipt")

    for sender, receiver in ((a, b), (b, a)):
        inbox = receiver.inbox_letters()
        by_number: dict[str, list[dict[str, Any]]] = {}
        for m in inbox:
            by_number.setdefault(m["letter_number"], []).append(m)
        assert set(by_number) == numbers[sender.name]
        for answer in sent[sender.name]:
            number = answer["letter"]["number"]
            rows = by_number[number]
            registered = [m for m in rows if m["state"] == "registered"]
            # Once each, except the rejected one, which came once more after the resend.
            assert len(rows) == (2 if answer is third else 1), rows
            assert len(registered) == 1 and registered[0]["number"], rows
            assert registered[0]["subject"] == answer["letter"]["subject"]
            # The sender's tracking shows the recipient's receipt number (AcceptID).
            delivery = _delivery(sender, answer["letter"]["id"])
            assert delivery["state"] == "registered"
            assert delivery["channel"] == "ecms"
            assert delivery.get("channel_label", "e-CMS") == "e-CMS"
            assert delivery["receipt_number"] == registered[0]["number"]
            # The PDF and the attachment came across intact.
            theirs = _digests(receiver, answer["letter"]["subject"])
            assert len(theirs) == 2 and theirs == _digests(sender, answer["letter"]["subject"])
        # Each arrival registered became exactly one incoming letter.
        incoming = Counter(r[0] for r in receiver.query(
            "select l.subject from letters_letter l join letters_registerentry e "
            "on e.letter_id = l.id where l.direction = 'incoming'"))
        assert incoming == Counter(s["letter"]["subject"] for s in sent[sender.name])
    assert a.status()["inbox"] == {"registered": 3}
    assert b.status()["inbox"] == {"registered": 3, "rejected": 1}
    assert ea.starts == 1 and eb.starts == 2


def test_an_ecms_node_keeps_its_queue_across_a_kill(tmp_path: Path):
    """The harness's e-CMS node alone: a letter queued for a department survives SIGKILL,
    and the queue head stays until deleted by its ProcessID."""
    from saraban.ecms import (
        Binary,
        Letter,
        Operation,
        Party,
        delete_request,
        letter_request,
        parse_message,
        simple_request,
    )

    node = EcmsNode(name="solo", root=tmp_path / "solo",
                    departments={"1500100000": "กรมทดสอบ", "2100200000": "กรมปลายทาง"})
    pdf = tiny_pdf("คงอยู่")
    letter = Letter(
        letter_id="มท 0210.3/ว 1795", date_text="2026-12-07", subject="ทดสอบ & คงอยู่",
        sender=Party(ministry_id="15", department_id="1500100000"),
        receiver=Party(ministry_id="21", department_id="2100200000"),
        main=Binary("application/pdf", pdf),
    )
    with node:
        node.start()
        posted = parse_message(node.soap(letter_request(letter), "1500100000"))
        assert posted.process_id and not posted.errors
        node.kill()  # SIGKILL: no chance to flush anything more
        node.start()
        assert node.starts == 2
        polls = [parse_message(node.soap(simple_request(Operation.INBOUND), "2100200000"))
                 for _ in range(2)]
        for head in polls:  # the head stays until it is deleted
            assert head.letter is not None and head.letter.subject == "ทดสอบ & คงอยู่"
            assert head.letter.main is not None and head.letter.main.data == pdf
        assert polls[0].process_id == polls[1].process_id
        node.soap(delete_request(polls[0].process_id), "2100200000")
        node.restart()
        empty = parse_message(node.soap(simple_request(Operation.INBOUND), "2100200000"))
        assert empty.is_empty_queue
