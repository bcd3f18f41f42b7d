"""Exchange throughput and latency between two real Saraban nodes on this machine.

    make bench-exchange                     # = .venv/bin/python bench/exchange.py
    .venv/bin/python bench/exchange.py --letters 1000 --senders 4 --db sqlite

Two nodes (saraban.exchange.testing: each its own database, gunicorn web server and
worker) are set up and know each other. ``--senders`` threads on node A send ``--letters``
letters, each with a small PDF, to node B's agency through A's API; a clerk bot on B keeps
registering what arrives through B's inbox API, and the business receipts flow back to A.

For every letter it takes the moment A's API answered (the letter registered and queued) and
the moment A's outbox row became ``registered`` (``closed_at``, set when B's business
receipt arrived), and prints letters per second from the first send to the last
registration, p50/p99 of that send-to-registered latency, and the same for delivery alone
(until the letter was in B's inbox, ``received_at``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from saraban.exchange.testing import NodeError, connect, running_nodes, tiny_pdf


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--letters", type=int, default=500)
    parser.add_argument("--senders", type=int, default=4, help="threads sending through A's API")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn workers per node")
    parser.add_argument("--rate", type=float, default=0,
                        help="letters per second to send (0: as fast as the API takes them)")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="saraban-bench-exchange-"))
    print(f"exchange bench: {args.letters} letters A→B, {args.senders} senders, {args.db}, "
          f"rate {args.rate or 'unlimited'}")
    with running_nodes(root, ["a", "b"], db=args.db) as (a, b):
        for node in (a, b):
            node.web_workers = args.web_workers
            node.start_web(wait=False)
        for node in (a, b):
            node.wait_web()
            node.start_worker()
        connect(a, b)
        pdf = tiny_pdf("bench")
        sent_at: dict[int, float] = {}  # letter id → when A's API answered
        lock = threading.Lock()
        counter = iter(range(args.letters))
        errors: list[str] = []

        def sender() -> None:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                if args.rate:  # letter i leaves at first + i/rate (an open-loop load)
                    time.sleep(max(0.0, first + i / args.rate - time.time()))
                try:
                    answer = a.send_letter(b, f"ทดสอบสมรรถนะ ฉบับที่ {i + 1:05d}", pdf=pdf)
                except (OSError, NodeError) as exc:
                    errors.append(str(exc))
                    continue
                with lock:
                    sent_at[int(answer["letter"]["id"])] = time.time()

        stop = threading.Event()

        def clerk() -> None:
            while not stop.is_set():
                if not b.register_waiting():
                    stop.wait(0.1)

        bot = threading.Thread(target=clerk, daemon=True)
        bot.start()
        first = time.time()
        threads = [threading.Thread(target=sender) for _ in range(args.senders)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        api_done = time.time()
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            done = a.query("select count(*) from exchange_outboxmessage "
                           "where type = 'letter' and state = 'registered'")[0][0]
            if done >= len(sent_at):
                break
            time.sleep(0.5)
        stop.set()
        bot.join(timeout=30)
        outbox = {row[0]: row[1:] for row in a.query(
            "select letter_id, message_id, state, closed_at from exchange_outboxmessage "
            "where type = 'letter'")}
        received = {str(row[0]).replace("-", ""): _moment(row[1]) for row in b.query(
            "select message_id, received_at from exchange_inboxmessage")}

    registered = {lid: _moment(o[2]) for lid, o in outbox.items()
                  if o[1] == "registered" and lid in sent_at}
    delivered = {lid: received[str(o[0]).replace("-", "")] for lid, o in outbox.items()
                 if str(o[0]).replace("-", "") in received and lid in sent_at}
    if not registered:
        print("nothing was registered", errors[:3])
        return 1
    to_registered = [registered[lid] - sent_at[lid] for lid in registered]
    to_inbox = [delivered[lid] - sent_at[lid] for lid in delivered]
    last_registered = max(registered.values())
    last_delivered = max(delivered.values())
    print(f"letters sent by the API:   {len(sent_at)} in {api_done - first:.1f}s "
          f"({len(sent_at) / (api_done - first):.1f}/s), {len(errors)} refused")
    print(f"delivered to B's inbox:    {len(delivered)} by {last_delivered - first:.1f}s "
          f"({len(delivered) / (last_delivered - first):.1f} letters/s)")
    print(f"  send → in B's inbox:     {_ms(to_inbox)}")
    print(f"registered, seen by A:     {len(registered)} by {last_registered - first:.1f}s "
          f"({len(registered) / (last_registered - first):.1f} letters/s)")
    print(f"  send → registered:       {_ms(to_registered)}")
    print(f"  mean send → registered:  {statistics.fmean(to_registered) * 1000:.1f} ms")
    ok = len(registered) == args.letters and not errors
    import shutil

    shutil.rmtree(root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
