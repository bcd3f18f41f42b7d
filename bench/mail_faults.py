"""Fault test of the central mailbox: 500 mails read over IMAP while the intake is killed.

    make fault-mail                           # = .venv/bin/python bench/mail_faults.py
    .venv/bin/python bench/mail_faults.py --db sqlite --mails 300 --seed 7 --keep

One Saraban node (saraban.exchange.testing: its own database and file store) with an agency
whose central mailbox is on a real IMAP server (Debian's Dovecot, saraban.exchange.testing_mail).
``--mails`` mails (500) are put into its INBOX first: letters, each with its own PDF, and
``--auto`` of them (5 %) out-of-office replies that must be kept apart. ``--pollers``
intake processes (``saraban mail poll --loop``, 2: like two workers, one lease) read them, and
at random moments while they work this script kills one (SIGKILL: mid-download, mid-
transaction, mid-MOVE, wherever it is) and starts it again. ``--both`` of the letters are
also handed over by the mail server's pipe (``saraban mail ingest``) at the same time, as a
mailbox that is both polled and piped to would get them.

Then the kills stop, the intake runs until the INBOX is empty, and the script checks and
prints: letters lost (a letter's Message-ID with no inbox item), duplicated (two inbox items,
two processed records, or two copies in the IMAP folders for one mail), auto-replies that
reached the inbox, what is left in the INBOX, the kills, and the time. The exit status is
non-zero on any loss or duplicate.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from saraban.exchange.testing import Node, saraban_argv, tiny_pdf
from saraban.exchange.testing_mail import DOVECOT_SKIP, Dovecot, dovecot_available
from saraban.mail import Address, build_mail

SENDER = Address("saraban@lamphun.go.th", "สำนักงานจังหวัดลำพูน")


def mails(count: int, auto: int, to: str, seed: int) -> list[tuple[str, str, bytes]]:
    """(kind, Message-ID, raw) for ``count`` mails, ``auto`` of them auto-replies."""
    rng = random.Random(seed)
    autos = set(rng.sample(range(count), auto))
    made = []
    for n in range(count):
        message_id = f"fault-{seed}-{n}@lamphun.go.th"
        if n in autos:
            raw = build_mail(sender=SENDER, to=[Address(to)], message_id=message_id,
                             subject=f"Automatic reply: ไม่อยู่สำนักงาน {n}",
                             text="ขณะนี้ไม่อยู่สำนักงาน จะตอบกลับเมื่อกลับมา",
                             extra_headers=[("Auto-Submitted", "auto-replied")])
            made.append(("auto", message_id, raw))
            continue
        subject = f"ที่ ลพ 0017.2/{n + 1} เรื่อง ทดสอบการรับหนังสือทางอีเมลเมื่อระบบล่ม {n + 1}"
        raw = build_mail(sender=SENDER, to=[Address(to, "สารบรรณกลาง")], subject=subject,
                         text=f"เรียน ผู้ว่าราชการจังหวัด\n\nหนังสือทดสอบฉบับที่ {n + 1}",
                         attachments=[(f"หนังสือ {n + 1}.pdf", "application/pdf",
                                       tiny_pdf(subject))],
                         message_id=message_id)
        made.append(("letter", message_id, raw))
    return made


class Poller:
    """One ``saraban mail poll --loop`` process, killed and started again."""

    def __init__(self, node: Node, name: str) -> None:
        self.node = node
        self.name = name
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = (node.root / f"{name}.log").open("ab")

    def start(self) -> None:
        self.proc = subprocess.Popen(saraban_argv("mail", "poll", "--loop"),
                                     env=self.node.env(), stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)


def _json(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else json.loads(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--mails", type=int, default=500)
    parser.add_argument("--auto", type=int, default=None, help="auto-replies (default 5 %%)")
    parser.add_argument("--both", type=int, default=20,
                        help="letters also handed over by the pipe at the same time")
    parser.add_argument("--pollers", type=int, default=2)
    parser.add_argument("--kill-every", type=float, nargs=2, default=(1.5, 5.0),
                        metavar=("MIN", "MAX"), help="seconds between kills")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--keep", action="store_true", help="keep the node's files and logs")
    args = parser.parse_args()
    if not dovecot_available():
        print(DOVECOT_SKIP)
        return 2
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    auto = args.auto if args.auto is not None else args.mails // 20
    root = Path(tempfile.mkdtemp(prefix="saraban-fault-mail-"))
    print(f"mail fault test: {args.mails} mails ({auto} auto-replies) in IMAP, {args.pollers} "
          f"intake processes killed every {args.kill_every[0]}-{args.kill_every[1]}s, "
          f"{args.both} letters also piped; {args.db}; seed {seed}")
    env = {"SARABAN_MAIL_POLL_SECONDS": "0.3", "SARABAN_MAIL_LEASE_SECONDS": "4",
           "SARABAN_MAIL_POLL_BATCH": "60"}
    ok = True
    with Dovecot() as imap, Node("mailfault", root / "node", db=args.db,
                                 extra_env=env) as node:
        node.setup()
        user, password = imap.add_user()
        node.run("mail", "mailbox", "add", "--agency", node.code, "--address", user,
                 "--imap-host", imap.host, "--imap-port", str(imap.port),
                 "--imap-security", "none", "--imap-password", stdin=password + "\n")
        made = mails(args.mails, auto, user, seed)
        imap.append_many(user, [raw for _k, _m, raw in made])
        letters = {m for k, m, _r in made if k == "letter"}
        autos = {m for k, m, _r in made if k == "auto"}
        piped = [raw for k, _m, raw in made if k == "letter"][: args.both]
        print(f"in the INBOX: {len(imap.uids(user))} mails")

        pollers = [Poller(node, f"poll{n}") for n in range(args.pollers)]
        start = time.time()
        for p in pollers:
            p.start()
        pipe_codes: Counter[int] = Counter()

        def pipe() -> None:
            for raw in piped:
                time.sleep(rng.uniform(0, 0.5))
                done = subprocess.run(saraban_argv("mail", "ingest", "--agency",
                                                   node.code, "--json"),
                                      input=raw, env=node.env(), capture_output=True,
                                      timeout=300, check=False)
                pipe_codes[done.returncode] += 1

        piper = threading.Thread(target=pipe)
        piper.start()

        def processed() -> int:
            return int(node.query("select count(*) from exchange_mailseen")[0][0])

        kills = 0
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(*args.kill_every))
            if processed() >= len(made) and not imap.uids(user):
                break
            victim = rng.choice(pollers)
            victim.kill()
            kills += 1
            victim.start()
        print(f"kills: {kills} (SIGKILL) in {time.time() - start:.1f}s; "
              "now running undisturbed until the INBOX is empty")
        while time.monotonic() < deadline:
            if processed() >= len(made) and not imap.uids(user):
                break
            time.sleep(0.5)
        elapsed = time.time() - start
        piper.join(300)
        for p in pollers:
            p.kill(signal.SIGTERM)

        rows = node.query("select receipt from exchange_inboxmessage")
        inbox = Counter(_json(r[0]).get("message_id", "") for r in rows)
        seen = Counter(str(r[0]) for r in node.query("select message_id from exchange_mailseen"))
        lost = sorted(letters - set(inbox))
        duplicated = sorted(m for m, n in inbox.items() if n > 1)
        seen_twice = sorted(m for m, n in seen.items() if n > 1)
        unseen = sorted((letters | autos) - set(seen))
        autos_in = sorted(autos & set(inbox))
        outcomes = Counter(str(r[0]) for r in node.query("select outcome from exchange_mailseen"))
        left = imap.uids(user)
        done_ids = Counter(imap.message_ids(user, "Saraban/Processed"))
        kept_ids = Counter(imap.message_ids(user, "Saraban/Kept"))
        copies = sorted(m for m, n in (done_ids + kept_ids).items() if n > 1)
        store = node.root / "files"
        blob_files = sum(1 for p in store.rglob("*")
                         if p.is_file() and p.relative_to(store).parts[0] != "tmp")
        blob_rows = int(node.query("select count(*) from letters_blob")[0][0])

        print(f"processed:      {sum(seen.values())} of {len(made)} mails in {elapsed:.1f}s "
              f"({sum(seen.values()) / elapsed:.1f} mails/s) {dict(outcomes)}")
        print(f"inbox items:    {sum(inbox.values())} for {len(letters)} letters")
        print(f"lost:           {len(lost)} {lost[:5]}")
        print(f"duplicated:     {len(duplicated)} inbox, {len(seen_twice)} processed records, "
              f"{len(copies)} IMAP copies {(duplicated + seen_twice + copies)[:5]}")
        print(f"auto-replies:   {outcomes.get('auto_reply', 0)} kept apart, "
              f"{len(autos_in)} in the inbox")
        print(f"IMAP folders:   INBOX {len(left)}, Processed {sum(done_ids.values())}, "
              f"Kept {sum(kept_ids.values())}")
        print(f"pipe:           exit codes {dict(pipe_codes)}")
        print(f"file store:     {blob_files} files, {blob_rows} blob rows "
              f"({blob_files - blob_rows} left by killed transactions)")
        ok = not (lost or duplicated or seen_twice or copies or unseen or autos_in or left) \
            and set(pipe_codes) <= {0}
        if args.keep:
            print(f"files and logs kept in {root}")
            node.close()
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    print("OK: 0 lost, 0 duplicated" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
