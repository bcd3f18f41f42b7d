"""Fault test of e-CMS: letters both ways through two e-CMS nodes while things break.

    make fault-ecms                           # = .venv/bin/python bench/ecms_faults.py
    .venv/bin/python bench/ecms_faults.py --db sqlite --letters 100 --seed 7 --keep

Two Saraban nodes A and B (saraban.exchange.testing: each its own database, web server and
worker) each talk only to their own local e-CMS node process (``saraban ecms node``: EA, EB),
and EA and EB relay to each other. Every one of those four paths goes through a TCP proxy in
this script:

    A's worker → [proxy a↔EA] → EA → [proxy EA→EB] → EB ← [proxy b↔EB] ← B's worker
                                EA ← [proxy EB→EA] ← EB

``--letters`` letters each way (200), each with its own one-page PDF and attachment, are sent
through each node's API (channel "ecms"); a clerk bot on each node registers what arrives
through its inbox API (so an AcceptLetterNotifier with the receipt number goes back). While
that happens, at random moments, this script

* kills (SIGKILL) an e-CMS node and starts it again on its port and data;
* kills (SIGKILL) a Saraban node's worker (the one that posts to and polls its e-CMS node)
  or its web server (gunicorn and all its workers), and starts it again;
* cuts connections: every proxy drops ``--drop-rate`` of its connections (mid-request, after
  the request got through but before the answer, or halfway through the answer), and now
  and then a proxy refuses every new connection (nothing listens) or blackholes them
  (accepts and forwards nothing, then resets them) for a few seconds.

Then the faults stop, every process runs again, and the script waits until every letter is
final and nothing is queued. It prints the letters sent, registered by their recipients,
AcceptID receipts back at the senders, lost (sent but never in the recipient's inbox),
duplicated (two inbox rows for one sent letter, an inbox row registered twice, a letter
registered twice by a recipient, an outgoing letter queued twice), receipt numbers that differ
from the recipient's register, the final states, and whether the e-CMS nodes' queues are
empty. The exit status is non-zero on any loss, duplicate, mismatch or unfinished letter.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import select
import signal
import socket
import struct
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
    ECMS_DEPARTMENTS,
    FAST_ECMS,
    FINAL_STATES,
    EcmsNode,
    Node,
    NodeError,
    connect_ecms,
    ecms_node_pair,
    free_port,
    running_nodes,
    tiny_pdf,
)


class _Cut(Exception):
    pass


def _abort(sock: socket.socket) -> None:
    """Close with a reset (RST), as a dropped connection looks to the other side."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class Proxy:
    """A threaded TCP proxy that can cut connections, refuse them (outage) or swallow them
    (blackhole). One thread accepts; one thread per connection pumps both directions."""

    def __init__(self, name: str, target_port: Callable[[], int], *, seed: int) -> None:
        self.name = name
        self.target_port = target_port
        self.port = free_port()
        self.drop_rate = 0.0
        self.stats: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._outage_until = 0.0
        self._blackhole_until = 0.0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True,
                                        name=f"proxy-{name}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def outage(self, seconds: float) -> None:
        """Refuse every new connection (nothing listens) for ``seconds``."""
        self.stats["outages"] += 1
        with self._lock:
            self._outage_until = time.monotonic() + seconds

    def blackhole(self, seconds: float) -> None:
        """Accept new connections but forward nothing for ``seconds``, then reset them."""
        self.stats["blackholes"] += 1
        with self._lock:
            self._blackhole_until = time.monotonic() + seconds

    def heal(self) -> None:
        with self._lock:
            self._outage_until = self._blackhole_until = 0.0
        self.drop_rate = 0.0

    # ---- accepting ---------------------------------------------------------------------

    def _listen(self) -> socket.socket | None:
        try:
            listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        except OSError:
            return None
        listener.settimeout(0.1)
        return listener

    def _accept_loop(self) -> None:
        listener: socket.socket | None = None
        while not self._stopped.is_set():
            with self._lock:
                down = time.monotonic() < self._outage_until
            if down:
                if listener is not None:
                    listener.close()  # new connections are refused
                    listener = None
                time.sleep(0.05)
                continue
            if listener is None:
                listener = self._listen()
                if listener is None:
                    time.sleep(0.1)
                    continue
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                continue
            conn.settimeout(None)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()
        if listener is not None:
            listener.close()

    # ---- one connection ----------------------------------------------------------------

    def _swallow(self, conn: socket.socket) -> None:
        """Blackhole: read and drop what the client sends until the hole closes."""
        self.stats["blackholed"] += 1
        try:
            while not self._stopped.is_set():
                with self._lock:
                    if time.monotonic() >= self._blackhole_until:
                        break
                ready, _, _ = select.select([conn], [], [], 0.2)
                if ready and not conn.recv(65536):
                    break
        except OSError:
            pass
        _abort(conn)

    def _serve(self, conn: socket.socket) -> None:
        with self._lock:
            hole = time.monotonic() < self._blackhole_until
            roll = self._rng.random()
            cut_at = self._rng.randint(1, 3000)
        if hole:
            self._swallow(conn)
            return
        try:
            up = socket.create_connection(("127.0.0.1", self.target_port()), timeout=5)
        except OSError:  # the target is down: the client sees the connection reset
            self.stats["target_down"] += 1
            _abort(conn)
            return
        up.settimeout(None)
        mode = "ok"
        if roll < self.drop_rate / 3:
            mode = "cut_request"
        elif roll < 2 * self.drop_rate / 3:
            mode = "cut_answer"
        elif roll < self.drop_rate:
            mode = "cut_answer_midway"
        self.stats["connections"] += 1
        sockets = [conn, up]
        sent = 0
        first_answer = True
        try:
            while sockets and not self._stopped.is_set():
                ready, _, _ = select.select(sockets, [], [], 1.0)
                for sock in ready:
                    data = sock.recv(65536)
                    if sock is conn:
                        if not data:  # the client finished sending
                            with contextlib.suppress(OSError):
                                up.shutdown(socket.SHUT_WR)
                            sockets.remove(conn)
                            continue
                        if mode == "cut_request" and sent + len(data) >= cut_at:
                            up.sendall(data[: max(0, cut_at - sent)])
                            raise _Cut
                        sent += len(data)
                        up.sendall(data)
                    else:
                        if not data:  # the server closed: done
                            return
                        if mode == "cut_answer":  # the request got through; the answer not
                            raise _Cut
                        if mode == "cut_answer_midway" and first_answer:
                            conn.sendall(data[: max(1, len(data) // 2)])
                            raise _Cut
                        first_answer = False
                        conn.sendall(data)
        except _Cut:
            self.stats[mode] += 1
            _abort(conn)
            _abort(up)
        except OSError:
            _abort(conn)
            _abort(up)
        finally:
            for sock in (conn, up):
                with contextlib.suppress(OSError):
                    sock.close()


class Run:
    """The senders, the registering clerks and the chaos, each in its own thread."""

    def __init__(self, nodes: tuple[Node, Node], ecms: tuple[EcmsNode, EcmsNode],
                 proxies: dict[str, Proxy], args: argparse.Namespace) -> None:
        self.nodes = nodes
        self.ecms = ecms
        self.proxies = proxies
        self.args = args
        self.rng = random.Random(args.seed)
        self.faults: Counter[str] = Counter()
        self.sent: dict[str, list[str]] = {n.name: [] for n in nodes}  # subjects per sender
        self.api_errors: Counter[str] = Counter()
        self.sending_done = threading.Event()
        self.stop = threading.Event()

    # ---- sending through the API -------------------------------------------------------

    def send_all(self, sender: Node, to: Node, count: int) -> None:
        for i in range(count):
            subject = f"ทดสอบความทนทาน e-CMS {sender.name}→{to.name} ฉบับที่ {i + 1:05d}"
            # Each letter its own PDF and attachment, as in real life.
            pdf, attachment = tiny_pdf(subject), tiny_pdf(f"แนบ {subject}")
            while True:
                try:
                    sender.send_ecms_letter(to, subject, pdf=pdf, attachment=attachment,
                                            timeout=30)
                    break
                except (OSError, NodeError) as exc:
                    # The web server was killed under the call: did the letter get in?
                    self.api_errors[type(exc).__name__] += 1
                    time.sleep(0.3)
                    with contextlib.suppress(Exception):
                        if sender.query("select 1 from letters_letter where subject = %s",
                                        [subject]):
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

    @staticmethod
    def restart_web(node: Node) -> None:
        for _ in range(5):
            try:
                node.start_web(node.port)
                return
            except (NodeError, TimeoutError):  # the port not free yet: try again
                node.kill_web()
                time.sleep(1)
        raise RuntimeError(f"node {node.name}'s web server does not come back")

    def accepted(self) -> int:
        try:
            return sum(int(n.query("select count(*) from exchange_outboxmessage where "
                                   "type = 'letter' and state = 'registered'")[0][0])
                       for n in self.nodes)
        except Exception:  # a count is only a hint for when to stop
            return 0

    def chaos(self) -> None:
        started = time.monotonic()
        for proxy in self.proxies.values():
            proxy.drop_rate = self.args.drop_rate
        total = 2 * self.args.letters
        actions = ["ecms", "ecms", "worker", "worker", "web", "outage", "blackhole"]
        while not (self.sending_done.is_set()
                   and time.monotonic() - started > self.args.chaos_min
                   and self.accepted() >= self.args.chaos_until * total):
            if time.monotonic() - started > self.args.timeout:
                break
            self.stop.wait(self.rng.uniform(0.5, 3.0))
            action = self.rng.choice(actions)
            pause = self.rng.uniform(0.2, 3.0)
            if action == "ecms":
                node = self.rng.choice(self.ecms)
                node.kill()
                self.faults[f"kill {node.name}"] += 1
                time.sleep(pause)
                node.restart()
            elif action == "worker":
                saraban = self.rng.choice(self.nodes)
                saraban.kill_worker(signal.SIGKILL)
                self.faults[f"kill worker {saraban.name}"] += 1
                time.sleep(pause)
                saraban.start_worker()
            elif action == "web":
                saraban = self.rng.choice(self.nodes)
                saraban.kill_web(signal.SIGKILL)
                self.faults[f"kill web {saraban.name}"] += 1
                time.sleep(pause)
                self.restart_web(saraban)
            else:
                name = self.rng.choice(sorted(self.proxies))
                seconds = self.rng.uniform(1.0, 6.0)
                getattr(self.proxies[name], action)(seconds)
                self.faults[f"{action} {name}"] += 1
        for proxy in self.proxies.values():
            proxy.heal()


# ---- waiting and checking ----------------------------------------------------------------


def quiet(node: Node) -> tuple[bool, str]:
    """Every letter final, nothing queued in any outbox row, nothing waiting in the inbox."""
    rows = node.query("select type, state, count(*) from exchange_outboxmessage "
                      "group by type, state")
    waiting = node.query("select count(*) from exchange_inboxmessage where state = 'waiting'")
    letters_final = all(state in FINAL_STATES for kind, state, _ in rows if kind == "letter")
    nothing_queued = all(state != "queued" for _, state, _ in rows)
    counts = {f"{kind}:{state}": int(n) for kind, state, n in rows}
    done = letters_final and nothing_queued and not waiting[0][0]
    return done, f"{counts} inbox waiting {waiting[0][0]}"


def wait_quiet(nodes: tuple[Node, Node], timeout: float,
               progress: Callable[[str], None]) -> bool:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        states = {n.name: quiet(n) for n in nodes}
        line = "  ".join(f"{k}: {v[1]}" for k, v in states.items())
        if line != last:
            progress(f"  waiting: {line}")
            last = line
        if all(v[0] for v in states.values()):
            return True
        time.sleep(2)
    return False


def queue_empty(node: EcmsNode, department: str) -> str:
    """Ask the e-CMS node, as the agency's saraban would, whether anything is still queued
    (``CorrespondenceLetterInboundRequest`` leaves the head in place until deleted)."""
    try:
        from saraban.ecms import Operation, parse_message, simple_request

        answer = parse_message(node.soap(simple_request(Operation.INBOUND), department))
    except Exception as exc:
        return f"unknown ({type(exc).__name__}: {exc})"
    if answer.errors:
        return f"error {answer.errors[0].code}"
    return "empty" if answer.is_empty_queue else f"NOT EMPTY (head {answer.process_id})"


def check(sender: Node, receiver: Node, subjects: list[str]) -> dict[str, Any]:
    """Lost, duplicated and receipt figures for the letters ``sender`` sent through e-CMS."""
    outbox = sender.sent_letters()
    inbox = receiver.inbox_letters()
    arrivals = Counter(m["letter_number"] for m in inbox)
    entries = Counter(m["entry_id"] for m in inbox if m["entry_id"] is not None)
    registered = {m["letter_number"]: m for m in inbox if m["state"] == "registered"}
    incoming = Counter(row[0] for row in receiver.query(
        "select l.subject from letters_letter l join letters_registerentry e "
        "on e.letter_id = l.id where l.direction = 'incoming'"))
    per_letter = Counter(o["letter_id"] for o in outbox if o["replaces_id"] is None)
    sent_subjects = {o["subject"] for o in outbox}
    lost = [o["number"] for o in outbox if o["number"] not in arrivals]
    receipts = [o for o in outbox if o["state"] == "registered" and o["receipt_number"]]
    mismatched = [o["number"] for o in receipts
                  if o["number"] not in registered
                  or o["receipt_number"] != registered[o["number"]]["number"]]
    wrong_subject = [n for n, m in registered.items()
                     if m["subject"] not in sent_subjects]
    return {
        "sent_by_api": len(subjects),
        "in_outbox": len(outbox),
        "not_in_outbox": len(set(subjects) - sent_subjects),
        "arrived": len(arrivals),
        "registered": len(registered),
        "receipts_back": len(receipts),
        "lost": len(lost),
        "duplicated": (
            sum(n - 1 for n in arrivals.values() if n > 1)
            + sum(n - 1 for n in entries.values() if n > 1)
            + sum(n - 1 for n in incoming.values() if n > 1)
            + sum(n - 1 for n in per_letter.values() if n > 1)
        ),
        "receipt_number_mismatch": len(mismatched) + len(wrong_subject),
        "sender_states": dict(Counter(o["state"] for o in outbox)),
        "inbox_states": dict(Counter(m["state"] for m in inbox)),
        "attempts_max": max((o["attempts"] for o in outbox), default=0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--letters", type=int, default=200, help="letters each way")
    parser.add_argument("--drop-rate", type=float, default=0.10,
                        help="share of proxied connections cut during the chaos")
    parser.add_argument("--chaos-min", type=float, default=60,
                        help="keep the faults coming at least this many seconds")
    parser.add_argument("--chaos-until", type=float, default=0.8,
                        help="and until this share of the letters is accepted")
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds to wait for quiescence after the chaos")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the nodes' files and logs")
    args = parser.parse_args()
    args.seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    say = print

    root = Path(tempfile.mkdtemp(prefix="saraban-ecms-faults-"))
    dept_a, dept_b = ECMS_DEPARTMENTS
    say(f"e-CMS fault test: {args.letters} letters each way (PDF + attachment), {args.db}, "
        f"seed {args.seed}, files in {root}")
    started = time.monotonic()
    ea, eb = ecms_node_pair(root)
    proxies = {
        "a↔EA": Proxy("a↔EA", lambda: ea.port, seed=args.seed + 1),
        "b↔EB": Proxy("b↔EB", lambda: eb.port, seed=args.seed + 2),
        "EA→EB": Proxy("EA→EB", lambda: eb.port, seed=args.seed + 3),
        "EB→EA": Proxy("EB→EA", lambda: ea.port, seed=args.seed + 4),
    }
    # The e-CMS nodes relay to each other only through the proxies.
    ea.peers = {dept_b: proxies["EA→EB"].url}
    eb.peers = {dept_a: proxies["EB→EA"].url}
    for proxy in proxies.values():
        proxy.start()
    results: dict[str, dict[str, Any]] = {}
    try:
        with running_nodes(root, ["a", "b"], db=args.db, extra_env=FAST_ECMS) as (a, b):
            for node in (a, b):
                node.start_web(wait=False)
            for e in (ea, eb):
                e.start(wait=False)
            for e in (ea, eb):
                e.wait_ready()
            for node in (a, b):
                node.wait_web()
            # Each Saraban node reaches its own e-CMS node only through its proxy.
            connect_ecms(a, ea, b, eb, a_department=dept_a, b_department=dept_b,
                         a_node_url=f"{proxies['a↔EA'].url}/{dept_a}/ecms-ws01/service2",
                         b_node_url=f"{proxies['b↔EB'].url}/{dept_b}/ecms-ws01/service2")
            for node in (a, b):
                node.start_worker()
            say(f"  nodes up in {time.monotonic() - started:.1f}s; sending under faults")
            run = Run((a, b), (ea, eb), proxies, args)
            t0 = time.monotonic()
            senders = [threading.Thread(target=run.send_all, args=(a, b, args.letters)),
                       threading.Thread(target=run.send_all, args=(b, a, args.letters))]
            bots = [threading.Thread(target=run.register_bot, args=(n,), daemon=True)
                    for n in (a, b)]
            chaos = threading.Thread(target=run.chaos)
            for t in (*senders, *bots, chaos):
                t.start()
            for t in senders:
                t.join()
            sent_at = time.monotonic() - t0
            run.sending_done.set()
            say(f"  all letters accepted by the APIs in {sent_at:.1f}s; faults continue")
            chaos.join()
            chaos_at = time.monotonic() - t0
            say(f"  faults stopped at {chaos_at:.1f}s with {run.accepted()} letters accepted;"
                " recovering")
            for e in (ea, eb):  # everything running again after the last fault
                if not e.running:
                    e.restart()
            for node in (a, b):
                if node.web is None or node.web.poll() is not None:
                    run.restart_web(node)
                if node.worker is None or node.worker.poll() is not None:
                    node.start_worker()
            all_quiet = wait_quiet((a, b), args.timeout, say)
            done_at = time.monotonic() - t0
            run.stop.set()
            for t in bots:
                t.join(timeout=30)
            results = {"A→B": check(a, b, run.sent[a.name]),
                       "B→A": check(b, a, run.sent[b.name])}
            queues = {f"{ea.name} {dept_a}": queue_empty(ea, dept_a),
                      f"{eb.name} {dept_b}": queue_empty(eb, dept_b)}
            audits = {}
            for node in (a, b):
                try:
                    node.run("audit", "verify")
                    audits[node.name] = "ok"
                except NodeError as exc:
                    audits[node.name] = f"FAILED: {str(exc)[-300:]}"
    finally:
        for e in (ea, eb):
            e.close()
        for proxy in proxies.values():
            proxy.stop()

    total_sent = sum(r["sent_by_api"] for r in results.values())
    lost = sum(r["lost"] + r["not_in_outbox"] for r in results.values())
    duplicated = sum(r["duplicated"] for r in results.values())
    mismatched = sum(r["receipt_number_mismatch"] for r in results.values())
    not_final = sum(n for r in results.values() for s, n in r["sender_states"].items()
                    if s not in FINAL_STATES)
    cuts = Counter[str]()
    for proxy in proxies.values():
        cuts.update(proxy.stats)
    say("")
    say(f"letters sent:        {total_sent}  "
        f"({', '.join(f'{k} {r['sent_by_api']}' for k, r in results.items())})")
    say(f"registered:          {sum(r['registered'] for r in results.values())} "
        f"(by the recipients' clerks)")
    say(f"AcceptID back:       {sum(r['receipts_back'] for r in results.values())} "
        f"(senders' deliveries registered with the recipient's number)")
    say(f"lost:                {lost}")
    say(f"duplicated:          {duplicated}")
    say(f"receipt mismatches:  {mismatched}")
    for direction, r in results.items():
        say(f"{direction} final states (sender's outbox): {r['sender_states']}; "
            f"recipient's inbox: {r['inbox_states']}; max attempts {r['attempts_max']}")
    say(f"not final:           {not_final}")
    say(f"e-CMS queues:        {queues}")
    say(f"time:                {done_at:.1f}s (API sending {sent_at:.1f}s, faults until "
        f"{chaos_at:.1f}s, quiet at {done_at:.1f}s)")
    say(f"kills and cuts:      {sum(run.faults.values())} {dict(sorted(run.faults.items()))}")
    say(f"e-CMS node starts:   {ea.name} {ea.starts}, {eb.name} {eb.starts}")
    say(f"proxies:             {cuts['connections']} connections, "
        f"{cuts['cut_request']} cut mid-request, {cuts['cut_answer']} answers dropped, "
        f"{cuts['cut_answer_midway']} answers cut midway, {cuts['outages']} outages, "
        f"{cuts['blackholes']} blackholes ({cuts['blackholed']} connections swallowed), "
        f"{cuts['target_down']} refused while the target was down")
    say(f"API calls retried:   {sum(run.api_errors.values())} {dict(run.api_errors)}")
    say(f"audit chains:        {audits}")
    ok = (lost == 0 and duplicated == 0 and mismatched == 0 and not_final == 0 and all_quiet
          and all(v == "ok" for v in audits.values())
          and all(v == "empty" for v in queues.values()))
    say("RESULT: " + ("PASS" if ok else "FAIL"))
    if not args.keep:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    else:
        say(f"files and logs kept in {root}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
