"""The central mailbox: mails taken in per second, and the time from arrival to the inbox.

    make bench-mail                          # = .venv/bin/python bench/mail.py
    .venv/bin/python bench/mail.py --db sqlite --mails 300 --arrivals 200 --rate 5

One Saraban node (saraban.exchange.testing: its own database and file store) with an agency
whose central mailbox is on a real IMAP server (Debian's Dovecot, saraban.exchange.testing_mail).
Every mail is a letter as a mail program sends it: Thai subject "ที่ … เรื่อง …", a text body,
its own one-page PDF and a second PDF attached.

1. **ingest**: ``--mails`` mails through ``intake.ingest`` in one process (what the IMAP poll
   and the pipe both call: parse, dedupe, file checks, PDF signature check, store, audit);
   mails per second and p50/p99 per mail;
2. **pipe**: ``--pipe`` mails handed over by ``saraban mail ingest --agency CODE`` as postfix's
   ``pipe`` does (a process per mail, ``--pipe-concurrency`` at once): mails per second;
3. **arrival → inbox**: ``--arrivals`` mails APPENDed to the IMAP mailbox at ``--rate`` per
   second while ``saraban mail poll --loop`` runs (poll interval ``--poll`` seconds); for each
   mail the time from its APPEND to its inbox row (``received_at``), p50/p99/max.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from saraban.exchange.testing import Node, saraban_argv, tiny_pdf
from saraban.exchange.testing_mail import DOVECOT_SKIP, Dovecot, dovecot_available
from saraban.mail import Address, build_mail

SENDER = Address("saraban@lamphun.go.th", "สำนักงานจังหวัดลำพูน")


def letter(n: int, tag: str, to: str) -> tuple[str, bytes]:
    """(Message-ID, raw mail) of letter ``n``: its own PDFs, as a real letter has."""
    message_id = f"{tag}-{n}-{uuid.uuid4().hex[:8]}@lamphun.go.th"
    subject = f"ที่ ลพ 0017.2/ว {n + 1} เรื่อง ทดสอบสมรรถนะการรับหนังสือทางอีเมล {tag} {n + 1}"
    raw = build_mail(
        sender=SENDER, to=[Address(to, "สารบรรณกลาง")], subject=subject,
        text=f"เรียน ผู้ว่าราชการจังหวัด\n\nหนังสือทดสอบฉบับที่ {n + 1}\n\nขอแสดงความนับถือ",
        attachments=[(f"หนังสือ {n + 1}.pdf", "application/pdf", tiny_pdf(subject)),
                     (f"สิ่งที่ส่งมาด้วย {n + 1}.pdf", "application/pdf",
                      tiny_pdf(f"แนบ {subject}"))],
        message_id=message_id,
    )
    return message_id, raw


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _ms(values: list[float]) -> str:
    return (f"p50 {_pct(values, 0.50) * 1000:8.1f} ms   p99 {_pct(values, 0.99) * 1000:8.1f} ms"
            f"   max {max(values) * 1000:8.1f} ms")


def _moment(value: Any) -> float:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    assert isinstance(value, dt.datetime)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return float(value.timestamp())


def _json(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else json.loads(value)


_INGEST = """
import json, time
from saraban.exchange.mail.intake import ingest
from saraban.exchange.mail.mailboxes import find_mailbox
box = find_mailbox({code!r})
times = []
outcomes = dict()
for path in sorted(__import__("pathlib").Path({folder!r}).glob("*.eml")):
    raw = path.read_bytes()
    start = time.perf_counter()
    result = ingest(box, raw, source="pipe")
    times.append(time.perf_counter() - start)
    outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
print(json.dumps({{"times": times, "outcomes": outcomes}}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--mails", type=int, default=150, help="mails through ingest")
    parser.add_argument("--pipe", type=int, default=12, help="mails through `saraban mail "
                        "ingest` (a process each)")
    parser.add_argument("--pipe-concurrency", type=int, default=2)
    parser.add_argument("--arrivals", type=int, default=100, help="mails APPENDed to IMAP")
    parser.add_argument("--rate", type=float, default=4,
                        help="arrivals per second (below the intake's rate: else they queue)")
    parser.add_argument("--poll", type=float, default=0.5, help="SARABAN_MAIL_POLL_SECONDS")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the node's files and logs")
    args = parser.parse_args()
    if not dovecot_available():
        print(DOVECOT_SKIP)
        return 2

    root = Path(tempfile.mkdtemp(prefix="saraban-bench-mail-"))
    print(f"mail bench: {args.db}; {args.mails} mails through ingest, {args.pipe} through "
          f"`saraban mail ingest` ({args.pipe_concurrency} at once), {args.arrivals} IMAP "
          f"arrivals at {args.rate}/s polled every {args.poll}s; each mail two PDFs")
    ok = True
    with Dovecot() as imap, Node("mail", root / "node", db=args.db, extra_env={
            "SARABAN_MAIL_POLL_SECONDS": str(args.poll), "SARABAN_MAIL_LEASE_SECONDS": "30",
    }) as node:
        node.setup()
        user, password = imap.add_user()
        node.run("mail", "mailbox", "add", "--agency", node.code, "--address", user,
                 "--imap-host", imap.host, "--imap-port", str(imap.port),
                 "--imap-security", "none", "--imap-password",
                 stdin=password + "\n")

        # 1. ingest in one process
        folder = root / "ingest"
        folder.mkdir()
        for n in range(args.mails):
            (folder / f"{n:06d}.eml").write_bytes(letter(n, "ingest", user)[1])
        out = node.run("shell", "-c", _INGEST.format(code=node.code, folder=str(folder)),
                       timeout=1800)
        measured = json.loads(out.strip().splitlines()[-1])
        times = measured["times"]
        total = sum(times)
        print(f"ingest:            {len(times)} mails in {total:.1f}s = "
              f"{len(times) / total:.1f} mails/s   per mail {_ms(times)}   {measured['outcomes']}")
        ok &= measured["outcomes"] == {"inbox": args.mails}

        # 2. the pipe, a process per mail
        raws = [letter(n, "pipe", user)[1] for n in range(args.pipe)]

        def pipe(raw: bytes) -> tuple[int, float]:
            start = time.perf_counter()
            done = subprocess.run(saraban_argv("mail", "ingest", "--agency", node.code,
                                               "--json"),
                                  input=raw, env=node.env(), capture_output=True, timeout=300,
                                  check=False)
            return done.returncode, time.perf_counter() - start

        start = time.perf_counter()
        with ThreadPoolExecutor(args.pipe_concurrency) as pool:
            piped = list(pool.map(pipe, raws))
        elapsed = time.perf_counter() - start
        codes = sorted({code for code, _ in piped})
        print(f"pipe:              {len(piped)} mails in {elapsed:.1f}s = "
              f"{len(piped) / elapsed:.1f} mails/s   per process "
              f"{_ms([t for _, t in piped])}   exit codes {codes}")
        ok &= codes == [0]

        # 3. arrival (APPEND) → inbox with the poll running
        poller = subprocess.Popen(saraban_argv("mail", "poll", "--loop"),
                                  env=node.env(), stdout=(root / "poll.log").open("wb"),
                                  stderr=subprocess.STDOUT, start_new_session=True)
        arrived: dict[str, float] = {}
        mails = [letter(n, "imap", user) for n in range(args.arrivals)]
        try:
            first = time.time()
            with imap.imap(user) as conn:
                for n, (message_id, raw) in enumerate(mails):
                    time.sleep(max(0.0, first + n / args.rate - time.time()))
                    conn.append('"INBOX"', "", None, raw)
                    arrived[message_id] = time.time()
            deadline = time.monotonic() + args.timeout
            stored: dict[str, float] = {}
            while time.monotonic() < deadline:
                rows = node.query("select receipt, received_at from exchange_inboxmessage")
                stored = {}
                for receipt, received_at in rows:
                    mid = _json(receipt).get("message_id", "")
                    if mid in arrived:
                        stored[mid] = _moment(received_at)
                if len(stored) >= len(arrived):
                    break
                time.sleep(0.3)
        finally:
            poller.send_signal(signal.SIGTERM)
            try:
                poller.wait(30)
            except subprocess.TimeoutExpired:
                poller.kill()
        latencies = [stored[m] - arrived[m] for m in stored]
        if latencies:
            last = max(stored.values())
            print(f"arrival → inbox:   {len(stored)}/{len(arrived)} in by {last - first:.1f}s "
                  f"({len(stored) / (last - first):.1f} mails/s)   {_ms(latencies)}")
        ok &= len(stored) == len(arrived)
        left = imap.uids(user)
        print(f"IMAP after:        INBOX {len(left)}, Saraban/Processed "
              f"{len(imap.uids(user, 'Saraban/Processed'))}")
        status = node.run("mail", "status")
        seen = json.loads(status)["mailboxes"][0]["seen"]
        print(f"mail status:       {seen}")
        if args.keep:
            print(f"files and logs kept in {root}")
            node.close()
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    threading.excepthook = lambda a: print("thread failed:", a.exc_value)
    sys.exit(main())
