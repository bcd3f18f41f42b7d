"""Fault test of the exchange: ≥1,000 letters between two real nodes while things break.

    make fault-exchange                       # = .venv/bin/python bench/exchange_faults.py
    .venv/bin/python bench/exchange_faults.py --db sqlite --a-to-b 300 --b-to-a 200

Two Saraban nodes (each its own database, web server and worker: saraban.exchange.testing)
send letters both ways through their API while, at random moments, this script

* kills (SIGKILL) a node's worker, the process that delivers its outbox, and restarts it;
* kills (SIGKILL) a node's web server, the one receiving the other node's deliveries, and
  restarts it;
* cuts the network path: each node's worker reaches the other node only through a TCP proxy
  (the directory entry's node URL points at it) that drops connections mid-request and
  mid-answer at random, and now and then refuses every new connection for a while.

The recipients' clerks keep registering what arrives (a bot on each node's inbox API) during
all of it. Then the faults stop, everything recovers, and the script waits until every letter
is in a final state. It prints the letters sent, lost (sent but never in the recipient's
inbox), duplicated (more than one inbox row or register entry for a message, or a letter
registered twice), the final-state counts, the time taken and the faults made; the exit
status is non-zero if anything was lost or duplicated or is not final.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from saraban.exchange.testing import (
    FINAL_STATES,
    Node,
    NodeError,
    connect,
    free_port,
    running_nodes,
    tiny_pdf,
)


class ChaosProxy:
    """A TCP proxy in front of a node's web server that can drop and refuse connections."""

    def __init__(self, name: str, target: Node, *, seed: int) -> None:
        self.name = name
        self.target = target
        self.port = free_port()
        self.drop_rate = 0.0
        self.stats: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # handlers, kept referenced
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name=f"proxy-{name}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()
        self._call(self._listen())

    def stop(self) -> None:
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)

    def outage(self, seconds: float) -> None:
        """Refuse every new connection (nothing listens) for ``seconds``."""
        self.stats["outages"] += 1
        self._call(self._outage(seconds), wait=False)

    def _call(self, coro: Any, *, wait: bool = True) -> None:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        if wait:
            future.result(timeout=30)

    async def _listen(self) -> None:
        for _ in range(100):
            try:
                self._server = await asyncio.start_server(
                    self._handle, "127.0.0.1", self.port, reuse_address=True
                )
                return
            except OSError:
                await asyncio.sleep(0.1)
        raise RuntimeError(f"proxy {self.name} cannot listen on {self.port}")

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _outage(self, seconds: float) -> None:
        await self._close()
        await asyncio.sleep(seconds)
        await self._listen()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target.port)
        except OSError:  # the web server is down: the client sees the connection reset
            writer.transport.abort()
            return
        roll = self._rng.random()
        mode = "ok"
        if roll < self.drop_rate / 3:
            mode = "cut_request"
        elif roll < 2 * self.drop_rate / 3:
            mode = "cut_answer"
        elif roll < self.drop_rate:
            mode = "cut_answer_midway"
        cut_at = self._rng.randint(1, 3000)
        self.stats["connections"] += 1

        def cut() -> None:
            self.stats[mode] += 1
            writer.transport.abort()
            up_writer.transport.abort()

        async def upstream() -> None:
            sent = 0
            while data := await reader.read(65536):
                if mode == "cut_request" and sent + len(data) >= cut_at:
                    up_writer.write(data[: max(0, cut_at - sent)])
                    with contextlib.suppress(OSError):
                        await up_writer.drain()
                    cut()
                    return
                sent += len(data)
                up_writer.write(data)
                await up_writer.drain()
            if up_writer.can_write_eof():
                up_writer.write_eof()

        async def downstream() -> None:
            first = True
            while data := await up_reader.read(65536):
                if mode == "cut_answer":  # the request got through; its answer does not
                    cut()
                    return
                if mode == "cut_answer_midway" and first:
                    writer.write(data[: max(1, len(data) // 2)])
                    with contextlib.suppress(OSError):
                        await writer.drain()
                    cut()
                    return
                first = False
                writer.write(data)
                await writer.drain()

        up = asyncio.ensure_future(upstream())
        self._tasks.add(up)
        up.add_done_callback(self._tasks.discard)
        try:
            await downstream()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            up.cancel()
            for w in (writer, up_writer):
                with contextlib.suppress(Exception):
                    w.close()


class Run:
    """The senders, the registering clerks and the chaos, each in its own thread."""

    def __init__(self, a: Node, b: Node, proxies: dict[str, ChaosProxy], args: argparse.Namespace
                 ) -> None:
        self.a, self.b = a, b
        self.proxies = proxies
        self.args = args
        self.rng = random.Random(args.seed)
        self.faults: Counter[str] = Counter()
        self.sent: dict[str, list[str]] = {a.name: [], b.name: []}  # subjects, per sender
        self.api_errors: Counter[str] = Counter()
        self.sending_done = threading.Event()
        self.stop = threading.Event()
        self.lock = threading.Lock()  # a node's processes are restarted by one thread at once
        self.pdf = tiny_pdf("fault test")

    # ---- sending through the API -------------------------------------------------------

    def _letter_exists(self, node: Node, subject: str) -> bool:
        return bool(node.query("select 1 from letters_letter where subject = %s", [subject]))

    def send_all(self, sender: Node, to: Node, count: int) -> None:
        for i in range(count):
            subject = f"ทดสอบความทนทาน {sender.name}→{to.name} ฉบับที่ {i + 1:05d}"
            while True:
                try:
                    sender.send_letter(to, subject, pdf=self.pdf, timeout=30)
                    break
                except (OSError, NodeError) as exc:
                    # The web server was killed under the call: did the letter get in?
                    self.api_errors[type(exc).__name__] += 1
                    time.sleep(0.3)
                    with contextlib.suppress(Exception):
                        if self._letter_exists(sender, subject):
                            break
            self.sent[sender.name].append(subject)

    # ---- the clerks --------------------------------------------------------------------

    def register_bot(self, node: Node) -> None:
        while not self.stop.is_set():
            try:
                done = node.register_waiting()
            except (OSError, NodeError, ValueError, KeyError, TypeError):
                done = 0  # the web server is down for a moment
            if not done:
                self.stop.wait(0.5)

    # ---- the chaos ---------------------------------------------------------------------

    def _restart_web(self, node: Node) -> None:
        for _ in range(5):
            try:
                node.start_web(node.port)
                return
            except (NodeError, TimeoutError):  # the port not free yet: try again
                node.kill_web()
                time.sleep(1)
        raise RuntimeError(f"node {node.name}'s web server does not come back")

    def registered(self) -> int:
        try:
            return sum(int(n.query("select count(*) from exchange_outboxmessage where "
                                   "type = 'letter' and state = 'registered'")[0][0])
                       for n in (self.a, self.b))
        except Exception:  # a count is only a hint for when to stop
            return 0

    def chaos(self) -> None:
        nodes = (self.a, self.b)
        started = time.monotonic()
        for proxy in self.proxies.values():
            proxy.drop_rate = self.args.drop_rate
        total = self.args.a_to_b + self.args.b_to_a
        while not (self.sending_done.is_set()
                   and time.monotonic() - started > self.args.chaos_min
                   and self.registered() >= self.args.chaos_until * total):
            if time.monotonic() - started > self.args.timeout:
                break
            self.stop.wait(self.rng.uniform(0.5, 3.0))
            node = self.rng.choice(nodes)
            action = self.rng.choice(["worker", "worker", "web", "outage"])
            if action == "worker":
                with self.lock:
                    node.kill_worker(signal.SIGKILL)
                    self.faults[f"kill worker {node.name}"] += 1
                    time.sleep(self.rng.uniform(0.2, 3.0))
                    node.start_worker()
            elif action == "web":
                with self.lock:
                    node.kill_web(signal.SIGKILL)
                    self.faults[f"kill web {node.name}"] += 1
                    time.sleep(self.rng.uniform(0.2, 3.0))
                    self._restart_web(node)
            else:
                seconds = self.rng.uniform(1.0, 6.0)
                self.proxies[node.name].outage(seconds)
                self.faults[f"network outage to {node.name}"] += 1
        for proxy in self.proxies.values():
            proxy.drop_rate = 0.0


def final(node: Node) -> bool:
    return all(o["state"] in FINAL_STATES for o in node.outbox())


def wait_all_final(nodes: tuple[Node, Node], timeout: float,
                   progress: Callable[[str], None]) -> bool:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        counts = {n.name: Counter(o["state"] for o in n.outbox()) for n in nodes}
        line = "  ".join(f"{k}: {dict(v)}" for k, v in counts.items())
        if line != last:
            progress(f"  waiting: {line}")
            last = line
        if all(final(n) for n in nodes):
            return True
        time.sleep(2)
    return False


def check(sender: Node, receiver: Node, subjects: list[str]) -> dict[str, Any]:
    """Lost, duplicated and final-state figures for the letters ``sender`` sent."""
    outbox = sender.outbox()
    by_id = {str(o["message_id"]).replace("-", ""): o for o in outbox}
    inbox = receiver.inbox()
    arrivals = Counter(str(m["message_id"]).replace("-", "") for m in inbox
                       if m["sender_code"] == sender.code)
    entries = Counter(m["entry_id"] for m in inbox if m["entry_id"] is not None)
    incoming = Counter(row[0] for row in receiver.query(
        "select l.subject from letters_letter l join letters_registerentry e "
        "on e.letter_id = l.id where l.direction = 'incoming'"))
    outgoing = Counter(row[0] for row in sender.query(
        "select l.subject from exchange_outboxmessage o join letters_letter l "
        "on l.id = o.letter_id where o.type = 'letter'"))
    numbers = {str(m["message_id"]).replace("-", ""): m["number"] for m in inbox}
    lost = [mid for mid in by_id if mid not in arrivals]
    mismatched = [mid for mid, o in by_id.items()
                  if o["state"] == "registered" and o["receipt_number"] != numbers.get(mid)]
    return {
        "sent_by_api": len(subjects),
        "in_outbox": len(outbox),
        "not_in_outbox": len(set(subjects) - set(outgoing)),
        "arrived": len(arrivals),
        "lost": len(lost),
        "duplicated": (
            sum(n - 1 for n in arrivals.values() if n > 1)
            + sum(n - 1 for n in entries.values() if n > 1)
            + sum(n - 1 for n in incoming.values() if n > 1)
            + sum(n - 1 for n in outgoing.values() if n > 1)
        ),
        "receipt_number_mismatch": len(mismatched),
        "sender_states": dict(Counter(o["state"] for o in outbox)),
        "inbox_states": dict(Counter(m["state"] for m in inbox
                                     if m["sender_code"] == sender.code)),
        "attempts_max": max((o["attempts"] for o in outbox), default=0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--a-to-b", type=int, default=600)
    parser.add_argument("--b-to-a", type=int, default=400)
    parser.add_argument("--drop-rate", type=float, default=0.15,
                        help="share of proxied connections cut during the chaos")
    parser.add_argument("--chaos-min", type=float, default=60,
                        help="keep the faults coming at least this many seconds")
    parser.add_argument("--chaos-until", type=float, default=0.9,
                        help="and until this share of the letters is registered")
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds to wait for every letter to be final after the chaos")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the nodes' files and logs")
    args = parser.parse_args()
    args.seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    say = print

    root = Path(tempfile.mkdtemp(prefix="saraban-faults-"))
    say(f"exchange fault test: {args.a_to_b} letters A→B, {args.b_to_a} B→A, {args.db}, "
        f"seed {args.seed}, files in {root}")
    started = time.monotonic()
    with running_nodes(root, ["a", "b"], db=args.db) as (a, b):
        proxies = {n.name: ChaosProxy(n.name, n, seed=args.seed + i)
                   for i, n in enumerate((a, b))}
        for node in (a, b):
            node.start_web(wait=False)
        for node in (a, b):
            node.wait_web()
        for proxy in proxies.values():
            proxy.start()
        # Each node's worker reaches the other node only through the other's proxy.
        connect(a, b, a_url=proxies[a.name].url, b_url=proxies[b.name].url)
        for node in (a, b):
            node.start_worker()
        say(f"  nodes up in {time.monotonic() - started:.1f}s; sending under faults")
        run = Run(a, b, proxies, args)
        t0 = time.monotonic()
        senders = [threading.Thread(target=run.send_all, args=(a, b, args.a_to_b)),
                   threading.Thread(target=run.send_all, args=(b, a, args.b_to_a))]
        bots = [threading.Thread(target=run.register_bot, args=(n,), daemon=True)
                for n in (a, b)]
        chaos = threading.Thread(target=run.chaos)
        for t in (*senders, *bots, chaos):
            t.start()
        for t in senders:
            t.join()
        sent_at = time.monotonic() - t0
        run.sending_done.set()
        say(f"  all letters accepted by the API in {sent_at:.1f}s; faults continue")
        chaos.join()
        chaos_at = time.monotonic() - t0
        say(f"  faults stopped at {chaos_at:.1f}s with {run.registered()} letters registered;"
            " recovering")
        for node in (a, b):  # everything running again after the last fault
            if node.web is None or node.web.poll() is not None:
                run._restart_web(node)
            if node.worker is None or node.worker.poll() is not None:
                node.start_worker()
        all_final = wait_all_final((a, b), args.timeout, say)
        # The clerks finish what is left, then the business receipts come home.
        done_at = time.monotonic() - t0
        run.stop.set()
        for t in bots:
            t.join(timeout=30)
        results = {
            "A→B": check(a, b, run.sent[a.name]),
            "B→A": check(b, a, run.sent[b.name]),
        }
        audits = {}
        for node in (a, b):
            try:
                node.run("audit", "verify")
                audits[node.name] = "ok"
            except NodeError as exc:
                audits[node.name] = f"FAILED: {str(exc)[-300:]}"
        for proxy in proxies.values():
            proxy.stop()
        if args.keep:
            say(f"  files and logs kept in {root}")

    total_sent = sum(r["sent_by_api"] for r in results.values())
    lost = sum(r["lost"] + r["not_in_outbox"] for r in results.values())
    duplicated = sum(r["duplicated"] for r in results.values())
    mismatched = sum(r["receipt_number_mismatch"] for r in results.values())
    not_final = sum(n for r in results.values() for s, n in r["sender_states"].items()
                    if s not in FINAL_STATES)
    drops = Counter[str]()
    for proxy in proxies.values():
        drops.update(proxy.stats)
    say("")
    say(f"letters sent:        {total_sent}  "
        f"({', '.join(f'{k} {r['sent_by_api']}' for k, r in results.items())})")
    say(f"lost:                {lost}")
    say(f"duplicated:          {duplicated}")
    say(f"receipt mismatches:  {mismatched}")
    for direction, r in results.items():
        say(f"{direction} final states (sender's outbox): {r['sender_states']}; "
            f"recipient's inbox: {r['inbox_states']}; max attempts {r['attempts_max']}")
    say(f"not final:           {not_final}")
    say(f"time:                {done_at:.1f}s (API sending {sent_at:.1f}s, faults until "
        f"{chaos_at:.1f}s, all final at {done_at:.1f}s)")
    say(f"kills and outages:   {sum(run.faults.values())} {dict(sorted(run.faults.items()))}")
    say(f"proxy:               {drops['connections']} connections, "
        f"{drops['cut_request']} cut mid-request, {drops['cut_answer']} answers dropped, "
        f"{drops['cut_answer_midway']} answers cut midway, {drops['outages']} outages")
    say(f"API calls retried:   {sum(run.api_errors.values())} {dict(run.api_errors)}")
    say(f"audit chains:        {audits}")
    ok = (lost == 0 and duplicated == 0 and mismatched == 0 and not_final == 0 and all_final
          and all(v == "ok" for v in audits.values()))
    say("RESULT: " + ("PASS" if ok else "FAIL"))
    if not args.keep:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
