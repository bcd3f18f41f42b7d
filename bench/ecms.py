"""e-CMS throughput and latency: two Saraban nodes through two local e-CMS nodes.

    make bench-ecms                         # = .venv/bin/python bench/ecms.py
    .venv/bin/python bench/ecms.py --letters 500 --senders 2 --db sqlite

Two Saraban nodes (saraban.exchange.testing: each its own database, gunicorn web server and
worker) each talk only to their own local e-CMS node process (``saraban ecms node``), and
the two e-CMS nodes relay to each other. ``--senders`` threads per node send ``--letters``
letters each way, flat out (``--rate``: paced), each with its own one-page PDF and one-page
attachment (``--same-files``: the same two with every letter), through the node's API
(channel "ecms"); a clerk bot on each node registers what arrives through the inbox API, so
an AcceptLetterNotifier with the receipt number (AcceptID) goes back.

For every letter it takes the moment the sender's API answered and the moment the sender's
delivery became ``registered`` with the AcceptID (its ``registered_at``, set when the
notifier arrived), and prints letters per second from the first send to the last
acceptance, p50/p99 of that send→accepted latency, and the same for delivery alone (until
the letter was in the recipient's inbox, ``received_at``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from saraban.exchange.testing import Node, NodeError, running_ecms_pair, tiny_pdf


def _moment(value: Any) -> float:
    """A timestamp from either database as POSIX seconds (SQLite gives naive UTC text)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    assert isinstance(value, dt.datetime)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return float(value.timestamp())


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _ms(values: list[float]) -> str:
    return (f"p50 {_pct(values, 0.50) * 1000:8.1f} ms   p99 {_pct(values, 0.99) * 1000:8.1f} ms"
            f"   max {max(values) * 1000:8.1f} ms")


def _accepted(node: Node) -> int:
    return int(node.query("select count(*) from exchange_outboxmessage where type = 'letter' "
                          "and state = 'registered' and receipt_number <> ''")[0][0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--letters", type=int, default=200, help="letters each way")
    parser.add_argument("--senders", type=int, default=2, help="sending threads per node")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn workers per node")
    parser.add_argument("--poll", type=float, default=0.3,
                        help="SARABAN_ECMS_POLL_SECONDS: how often a worker polls its node")
    parser.add_argument("--rate", type=float, default=0,
                        help="letters per second each node sends (0: as fast as the API takes)")
    parser.add_argument("--same-files", action="store_true",
                        help="send the same PDF and attachment with every letter")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--keep", action="store_true", help="keep the nodes' files and logs")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="saraban-bench-ecms-"))
    print(f"e-CMS bench: {args.letters} letters each way (PDF + attachment), "
          f"{args.senders} senders per node, {args.db}, rate {args.rate or 'unlimited'} "
          "per node, two e-CMS nodes relaying")
    env = {"SARABAN_ECMS_POLL_SECONDS": str(args.poll)}
    with running_ecms_pair(root, db=args.db, extra_env=env,
                           web_workers=args.web_workers) as (a, b, _ea, _eb):
        pdf = tiny_pdf("bench")
        attachment = tiny_pdf("แนบ")
        sent_at: dict[tuple[str, int], float] = {}  # (sender, letter id) → API answered
        numbers: dict[tuple[str, int], str] = {}
        lock = threading.Lock()
        errors: list[str] = []
        counters = {a.name: iter(range(args.letters)), b.name: iter(range(args.letters))}

        def sender(node: Node, to: Node) -> None:
            while True:
                with lock:
                    i = next(counters[node.name], None)
                if i is None:
                    return
                if args.rate:  # letter i leaves at first + i/rate (an open-loop load)
                    time.sleep(max(0.0, first + i / args.rate - time.time()))
                subject = f"ทดสอบสมรรถนะ e-CMS {node.name}→{to.name} ฉบับที่ {i + 1:05d}"
                if args.same_files:
                    files = (pdf, attachment)
                else:  # each letter its own PDF and attachment, as in real life
                    files = (tiny_pdf(subject), tiny_pdf(f"แนบ {subject}"))
                try:
                    answer = node.send_ecms_letter(to, subject, pdf=files[0],
                                                   attachment=files[1])
                except (OSError, NodeError) as exc:
                    errors.append(str(exc))
                    continue
                with lock:
                    key = (node.name, int(answer["letter"]["id"]))
                    sent_at[key] = time.time()
                    numbers[key] = str(answer["letter"]["number"])

        stop = threading.Event()

        def clerk(node: Node) -> None:
            while not stop.is_set():
                try:
                    done = node.register_waiting()
                except (OSError, NodeError) as exc:
                    errors.append(f"clerk {node.name}: {exc}")
                    done = 0
                if not done:
                    stop.wait(0.1)

        bots = [threading.Thread(target=clerk, args=(n,), daemon=True) for n in (a, b)]
        for t in bots:
            t.start()
        first = time.time()
        threads = [threading.Thread(target=sender, args=pair)
                   for pair in ((a, b), (b, a)) for _ in range(args.senders)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        api_done = time.time()
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            if _accepted(a) + _accepted(b) >= len(sent_at):
                break
            time.sleep(0.5)
        stop.set()
        for t in bots:
            t.join(timeout=30)
        accepted: dict[tuple[str, int], float] = {}
        received: dict[tuple[str, int], float] = {}
        for node, other in ((a, b), (b, a)):
            arrivals = {str(row[0]): _moment(row[1]) for row in other.query(
                "select m.id, m.received_at from exchange_inboxmessage m")}
            by_number = {m["letter_number"]: arrivals[str(m["id"])]
                         for m in other.inbox_letters()}
            for o in node.sent_letters():
                key = (node.name, int(o["letter_id"]))
                if key not in sent_at:
                    continue
                if o["state"] == "registered" and o["receipt_number"]:
                    accepted[key] = _moment(o["registered_at"])
                if numbers[key] in by_number:
                    received[key] = by_number[numbers[key]]
        status = {n.name: n.status() for n in (a, b)}
        if args.keep:
            print(f"files and logs kept in {root}")

    if not accepted:
        print("nothing was accepted", errors[:3])
        return 1
    to_accepted = [accepted[k] - sent_at[k] for k in accepted]
    to_inbox = [received[k] - sent_at[k] for k in received]
    last_accepted = max(accepted.values())
    last_received = max(received.values())
    total = 2 * args.letters
    print(f"letters sent by the APIs:  {len(sent_at)} in {api_done - first:.1f}s "
          f"({len(sent_at) / (api_done - first):.1f}/s), {len(errors)} errors")
    print(f"in the recipients' inbox:  {len(received)} by {last_received - first:.1f}s "
          f"({len(received) / (last_received - first):.1f} letters/s)")
    print(f"  send → in inbox:         {_ms(to_inbox)}")
    print(f"accepted (AcceptID back):  {len(accepted)} by {last_accepted - first:.1f}s "
          f"({len(accepted) / (last_accepted - first):.1f} letters/s)")
    print(f"  send → accepted:         {_ms(to_accepted)}")
    print(f"  mean send → accepted:    {statistics.fmean(to_accepted) * 1000:.1f} ms")
    print(f"exchange status:           {status}")
    ok = len(accepted) == total and not errors
    if errors:
        print("errors:", errors[:5])
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
