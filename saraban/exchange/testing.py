"""Real Saraban nodes for tests and benchmarks of the exchange between nodes.

A ``Node`` is one Saraban installation on this machine: its own database (a scratch SQLite
file, or a PostgreSQL database created fresh and dropped afterwards), its own
``SARABAN_VAR_DIR``, file store and secret key, and its own processes: the web server
(``saraban serve --no-worker``, gunicorn) and the worker (``saraban worker``), each a
subprocess in its own process group so it can be killed outright (SIGKILL) and started again.

Everything goes through the node's real interfaces, as an operator and a clerk would use
them: ``saraban migrate``, ``saraban onboard_agency``, ``saraban exchange enrol`` and
``directory export/import`` for the set-up, the JSON API for sending letters, the electronic
inbox's API (or ``saraban exchange inbox register-all`` where the API has no inbox) for
registering what arrived. Only the checks read the node's database directly.

An ``EcmsNode`` is a local e-CMS node (``saraban ecms node``) as its own process with its data
directory: the agency's "own node" of the government's e-CMS. ``connect_ecms`` gives each
Saraban node an e-CMS account on its own e-CMS node and lists the other side's department in
its directory, so the two talk only through their e-CMS nodes, which relay to each other.

This module never imports Django: it drives nodes from outside, like the other node would.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PG_SERVER = os.environ.get("SARABAN_NODE_PG", "postgres://postgres@127.0.0.1:5432")

# Fast retries for tests: a message that could not be delivered is tried again within
# seconds, and the fault test never gives a letter up as failed.
FAST_RETRIES: dict[str, str] = {
    "SARABAN_EXCHANGE_RETRY_BASE": "0.2",
    "SARABAN_EXCHANGE_RETRY_MAX": "2",
    "SARABAN_EXCHANGE_LEASE": "10",
    "SARABAN_EXCHANGE_RETRY_LIMIT": "1000",
    "SARABAN_EXCHANGE_TIMEOUT": "10",
}

# The worker polls its agency's own e-CMS node this often (seconds) in tests, gives up a
# request to it after this long (a blackholed connection in the fault test), and a killed
# worker's claim on an account's queue lapses after this long (shorter than a request may
# take: a harness node runs one worker, so no other one polls meanwhile).
FAST_ECMS: dict[str, str] = {
    "SARABAN_ECMS_POLL_SECONDS": "0.3",
    "SARABAN_ECMS_TIMEOUT_SECONDS": "10",
    "SARABAN_ECMS_LEASE_SECONDS": "5",
}

FINAL_STATES = frozenset({"registered", "rejected", "returned", "failed", "withdrawn"})


class NodeError(RuntimeError):
    """A node did not do what was asked (a command failed, a server did not come up)."""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def saraban_argv(*args: str) -> list[str]:
    """The ``saraban`` console command, run by this interpreter."""
    return [sys.executable, "-c", "from saraban.cli import main; main()", *args]


def tiny_pdf(text: str = "Saraban") -> bytes:
    """A small valid one-page PDF (the main file of a letter must be a PDF)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": text})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def wait_until(check: Callable[[], bool], *, timeout: float, interval: float = 0.2,
               what: str = "condition") -> None:
    """Poll ``check`` until it is true; ``TimeoutError`` naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def _multipart(fields: Mapping[str, str], files: Sequence[tuple[str, str, bytes, str]]
               ) -> tuple[bytes, str]:
    """Encode form fields and files (name, filename, content, type) as multipart/form-data."""
    boundary = "saraban-" + uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'
                  f"Content-Type: application/json; charset=utf-8\r\n\r\n".encode())
        out.write(value.encode() + b"\r\n")
    for name, filename, content, content_type in files:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                  f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode())
        out.write(content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


@dataclass
class ApiAnswer:
    status: int
    body: Any


def http_json(method: str, url: str, *, body: bytes | None = None,
              headers: Mapping[str, str] | None = None, timeout: float = 30) -> ApiAnswer:
    """One HTTP request; the status and the decoded JSON body (``None`` if not JSON)."""
    request = urllib.request.Request(url, data=body, method=method,  # noqa: S310
                                     headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        decoded: Any = json.loads(raw) if raw else None
    except ValueError:
        decoded = None
    return ApiAnswer(status, decoded)


@dataclass
class Node:
    """One Saraban node with one agency on it, enrolled for the exchange under ``code``."""

    name: str
    root: Path
    code: str = ""
    db: str = "sqlite"  # or "postgres"
    letter_code: str = "ทส"
    office_code: str = "0001"
    pg_server: str = PG_SERVER
    web_workers: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    clerk: str = ""
    clerk_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(40))
    key_encryption_keys: str = field(
        default_factory=lambda: f"t1:{base64.b64encode(secrets.token_bytes(32)).decode()}")
    agency_id: int = 0
    registry_id: int = 0
    port: int = 0
    # The agency's e-CMS identity (10-digit department id, 2-digit ministry id), set by
    # ``ecms_account``.
    ecms_department: str = ""
    ecms_ministry: str = ""
    web: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    _pg_name: str = ""
    _token: str = ""
    _token_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _inbox_api: bool | None = None
    _logs: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.code = self.code or f"node-{self.name}"
        self.clerk = self.clerk or f"{self.name}_clerk"
        self.root.mkdir(parents=True, exist_ok=True)
        if self.db == "postgres":
            self._pg_name = f"saraban_node_{self.name}_{secrets.token_hex(4)}".lower()
        elif self.db != "sqlite":
            raise ValueError(f"unknown database kind {self.db!r}")

    # ---- environment and commands ------------------------------------------------------

    @property
    def database_url(self) -> str:
        if self.db == "postgres":
            return f"{self.pg_server}/{self._pg_name}"
        return f"sqlite:///{self.root / 'node.sqlite3'}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items()
                     if not k.startswith("SARABAN_") and k != "DATABASE_URL"}
        return {
            **inherited,
            "DJANGO_SETTINGS_MODULE": "saraban.settings",
            "DATABASE_URL": self.database_url,
            "SARABAN_VAR_DIR": str(self.root / "var"),
            "SARABAN_FILES_DIR": str(self.root / "files"),
            "SARABAN_SECRET_KEY": self.secret_key,
            "SARABAN_KEY_ENCRYPTION_KEYS": self.key_encryption_keys,
            "PYTHONWARNINGS": "ignore",
            **FAST_RETRIES,
            **self.extra_env,
        }

    def run(self, *args: str, stdin: str | None = None, timeout: float = 180) -> str:
        """Run ``saraban ARGS`` against this node; its standard output."""
        done = subprocess.run(  # noqa: S603
            saraban_argv(*args), env=self.env(), input=stdin, capture_output=True, text=True,
            timeout=timeout, check=False,
        )
        if done.returncode != 0:
            raise NodeError(f"node {self.name}: saraban {' '.join(args)} failed "
                            f"({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done.stdout

    # ---- database ----------------------------------------------------------------------

    def _pg_admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(f"{self.pg_server}/postgres", autocommit=True) as conn:
            conn.execute(sql)  # names are ours, not input

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query on the node's database (``%s`` placeholders)."""
        if self.db == "postgres":
            import psycopg

            with psycopg.connect(self.database_url) as conn:
                return list(conn.execute(sql, params).fetchall())
        with contextlib.closing(sqlite3.connect(self.root / "node.sqlite3", timeout=30)) as c:
            return list(c.execute(sql.replace("%s", "?"), tuple(params)).fetchall())

    # ---- set-up ------------------------------------------------------------------------

    def setup(self) -> Node:
        """Create the database, migrate, onboard the agency with its clerk, enrol it."""
        if self.db == "postgres":
            self._pg_admin(f'CREATE DATABASE "{self._pg_name}"')
        self.run("migrate", "--no-input", "-v", "0")
        spec = {
            "name_th": f"จังหวัดทดสอบ {self.name.upper()}",
            "name_en": f"Test Province {self.name.upper()}",
            "kind": "province",
            "letter_code": self.letter_code,
            "office_code": self.office_code,
            "registry_officer": {"username": self.clerk, "full_name_th": "สมศรี รับส่ง",
                                 "password": self.clerk_password},
            "it_officer": {"username": f"{self.name}_it", "full_name_th": "สมชาย ดูแลระบบ"},
        }
        spec_path = self.root / "agency.json"
        spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        out = self.run("onboard_agency", str(spec_path),
                       "--password-file", str(self.root / "passwords.tsv"))
        found = re.search(r"\bid (\d+)", out)
        if found is None:
            raise NodeError(f"node {self.name}: no agency id in {out!r}")
        self.agency_id = int(found.group(1))
        self.run("exchange", "enrol", "--agency", str(self.agency_id), "--code", self.code)
        [(registry_id,)] = self.query(
            "select id from letters_registry where tenant_id = %s and is_central",
            [self.agency_id],
        )
        self.registry_id = int(registry_id)
        return self

    # ---- processes ---------------------------------------------------------------------

    def _spawn(self, kind: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (self.root / f"{kind}.log").open("ab")
        self._logs.append(log)
        return subprocess.Popen(  # noqa: S603
            argv, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def log_tail(self, kind: str, lines: int = 40) -> str:
        path = self.root / f"{kind}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def start_web(self, port: int | None = None, *, wait: bool = True) -> None:
        """Start the web server (gunicorn via ``saraban serve --no-worker``) on ``port``."""
        if self.web is not None and self.web.poll() is None:
            raise NodeError(f"node {self.name}: the web server is already running")
        self.port = port or self.port or free_port()
        self.web = self._spawn("web", saraban_argv(
            "serve", "--no-worker", "--port", str(self.port), "--workers", str(self.web_workers)
        ))
        if wait:
            self.wait_web()

    def wait_web(self, timeout: float = 90) -> None:
        """Wait until the web server answers a request that reads its database."""
        def ready() -> bool:
            if self.web is None or self.web.poll() is not None:
                raise NodeError(f"node {self.name}: the web server ended:\n"
                                f"{self.log_tail('web')}")
            try:
                return http_json("GET", f"{self.url}/exchange/v1/directory",
                                 timeout=10).status == 200
            except OSError:
                return False

        wait_until(ready, timeout=timeout, what=f"node {self.name}'s web server")

    def start_worker(self) -> None:
        """Start ``saraban worker`` (the job queue and the exchange delivery loop)."""
        if self.worker is not None and self.worker.poll() is None:
            raise NodeError(f"node {self.name}: the worker is already running")
        self.worker = self._spawn("worker", saraban_argv("worker", "--interval", "0.2"))

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes] | None, sig: int) -> None:
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)  # the process and its children (gunicorn's workers)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if sig != signal.SIGKILL:
            return
        # gunicorn's workers may outlive a killed master for a moment: reap the group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    def kill_web(self, sig: int = signal.SIGKILL) -> None:
        self._kill(self.web, sig)
        self.web = None

    def kill_worker(self, sig: int = signal.SIGKILL) -> None:
        self._kill(self.worker, sig)
        self.worker = None

    def stop(self) -> None:
        """Stop both processes (politely, then by force)."""
        self.kill_worker(signal.SIGTERM)
        self.kill_web(signal.SIGTERM)

    def close(self, *, remove: bool = False) -> None:
        """Stop the processes, drop the PostgreSQL database; ``remove`` deletes the files."""
        try:
            self.stop()
        finally:
            for log in self._logs:
                log.close()
            self._logs.clear()
            if self.db == "postgres" and self._pg_name:
                with contextlib.suppress(Exception):
                    self._pg_admin(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')
            if remove:
                shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the directory -----------------------------------------------------------------

    def export_directory(self, node_url: str | None = None) -> list[dict[str, Any]]:
        """This node's own entries, published under ``node_url`` (its web server's URL)."""
        out = self.run("exchange", "directory", "export", "--local",
                       "--node-url", node_url or self.url)
        entries: list[dict[str, Any]] = json.loads(out)["entries"]
        return entries

    def import_directory(self, entries: list[dict[str, Any]]) -> None:
        self.run("exchange", "directory", "import", "-",
                 stdin=json.dumps({"entries": entries}, ensure_ascii=False))

    # ---- the API, as a clerk -----------------------------------------------------------

    def api(self, method: str, path: str, *, body: bytes | None = None,
            content_type: str = "application/json", timeout: float = 60) -> ApiAnswer:
        """An authenticated API call as the registry clerk."""
        with self._token_lock:  # one sign-in (and password change) for all threads
            self._sign_in(timeout)
        headers = {"Authorization": f"Bearer {self._token}"}
        if body is not None:
            headers["Content-Type"] = content_type
        return http_json(method, f"{self.url}/api/v1{path}", body=body, headers=headers,
                         timeout=timeout)

    def _sign_in(self, timeout: float) -> None:
        if not self._token:
            answer = http_json(
                "POST", f"{self.url}/api/v1/auth/token",
                body=json.dumps({"username": self.clerk,
                                 "password": self.clerk_password}).encode(),
                headers={"Content-Type": "application/json"}, timeout=timeout,
            )
            if answer.status != 201:
                raise NodeError(f"node {self.name}: no token ({answer.status} {answer.body})")
            token = str(answer.body["token"])
            self._token = token
            try:
                self._first_password_change(timeout)
            except BaseException:
                self._token = ""
                raise

    def _first_password_change(self, timeout: float) -> None:
        """Onboarding gave the clerk a password someone else chose: change it, as the API
        requires before anything else (``password_change_required``)."""
        new = secrets.token_urlsafe(16)
        answer = http_json(
            "POST", f"{self.url}/api/v1/auth/password",
            body=json.dumps({"current_password": self.clerk_password,
                             "new_password": new}).encode(),
            headers={"Content-Type": "application/json",
                     "Authorization": f"Bearer {self._token}"}, timeout=timeout,
        )
        if answer.status == 200:
            self.clerk_password = new
        elif not (answer.status == 400 and isinstance(answer.body, dict)
                  and answer.body.get("code") == "password_unchanged"):
            raise NodeError(f"node {self.name}: password change ({answer.status} {answer.body})")

    def send_letter(self, to: Node | str, subject: str, *, pdf: bytes | None = None,
                    attachment: bytes | None = None, timeout: float = 60,
                    channel: str = "saraban") -> dict[str, Any]:
        """Register an outgoing letter to another node's agency.

        ``channel`` "saraban" (the default) addresses ``to`` by its exchange code; "ecms"
        by the code of its e-CMS entry in this node's directory (``ecms_code(to)``).
        Returns the API's answer (``letter``, ``entry``); raises ``NodeError`` on a refusal.
        """
        if channel == "ecms":
            code = ecms_code(to.ecms_department) if isinstance(to, Node) else to
        else:
            code = to.code if isinstance(to, Node) else to
        data = {
            "registry_id": self.registry_id, "kind": "external", "subject": subject,
            "recipients": [{"channel": channel, "code": code, "text": f"หน่วยงาน {code}"}],
        }
        files = []
        if pdf is not None:
            files.append(("file", "letter.pdf", pdf, "application/pdf"))
        if attachment is not None:
            files.append(("attachments", "attachment.pdf", attachment, "application/pdf"))
        body, content_type = _multipart({"data": json.dumps(data, ensure_ascii=False)}, files)
        answer = self.api("POST", "/letters/outgoing", body=body, content_type=content_type,
                          timeout=timeout)
        if answer.status != 201:
            raise NodeError(f"node {self.name}: sending refused ({answer.status} {answer.body})")
        result: dict[str, Any] = answer.body
        return result

    def send_ecms_letter(self, to: Node | str, subject: str, **kwargs: Any) -> dict[str, Any]:
        """``send_letter`` through e-CMS (channel "ecms")."""
        return self.send_letter(to, subject, channel="ecms", **kwargs)

    def deliveries(self, letter_id: int) -> list[dict[str, Any]]:
        """What the sender sees of a sent letter: each recipient's state and receipt number."""
        answer = self.api("GET", f"/letters/{letter_id}/deliveries")
        if answer.status != 200:
            raise NodeError(f"node {self.name}: deliveries ({answer.status} {answer.body})")
        items: list[dict[str, Any]] = answer.body["items"]
        return items

    def has_inbox_api(self) -> bool:
        """Whether this node's API has the electronic inbox (``GET /api/v1/exchange/inbox``)."""
        if self._inbox_api is None:
            self._inbox_api = self.api("GET", "/exchange/inbox").status == 200
        return self._inbox_api

    def register_waiting(self) -> int:
        """Register every letter waiting in the electronic inbox, as the clerk; how many.

        Through the API's inbox when the node has one, else with the operator command
        ``saraban exchange inbox register-all --as CLERK``.
        """
        if not self.has_inbox_api():
            out = self.run("exchange", "inbox", "register-all", "--as", self.clerk)
            found = re.search(r"registered (\d+)", out)
            return int(found.group(1)) if found else 0
        done = 0
        while True:
            answer = self.api("GET", "/exchange/inbox?state=waiting&page_size=200")
            if answer.status != 200:
                raise NodeError(f"node {self.name}: inbox ({answer.status} {answer.body})")
            items = answer.body["items"]
            progress = 0
            for item in items:
                result = self.api("POST", f"/exchange/inbox/{item['id']}/register")
                if result.status == 201:
                    progress += 1
                elif result.status != 409:  # 409: someone registered it first
                    raise NodeError(f"node {self.name}: register {item['id']} refused "
                                    f"({result.status} {result.body})")
            done += progress
            if not items or not progress:
                return done

    def inbox_waiting(self) -> list[dict[str, Any]]:
        """The inbox API's waiting items (first page of 200)."""
        answer = self.api("GET", "/exchange/inbox?state=waiting&page_size=200")
        if answer.status != 200:
            raise NodeError(f"node {self.name}: inbox ({answer.status} {answer.body})")
        items: list[dict[str, Any]] = answer.body["items"]
        return items

    def _act(self, path: str, expected: int, reason: str | None = None) -> dict[str, Any]:
        body = None if reason is None else json.dumps({"reason": reason}).encode()
        answer = self.api("POST", path, body=body)
        if answer.status != expected:
            raise NodeError(f"node {self.name}: POST {path} ({answer.status} {answer.body})")
        result: dict[str, Any] = answer.body
        return result

    def reject(self, inbox_id: int, reason: str) -> dict[str, Any]:
        """Reject an arrived letter as the clerk (the sender sees "rejected" and the reason)."""
        return self._act(f"/exchange/inbox/{inbox_id}/reject", 200, reason)

    def withdraw(self, message_id: str, reason: str = "") -> dict[str, Any]:
        """Withdraw a rejected, returned or failed delivery of a sent letter."""
        return self._act(f"/exchange/outbox/{message_id}/withdraw", 200, reason)

    def resend(self, message_id: str) -> dict[str, Any]:
        """Send a withdrawn letter again (the same number); the new delivery."""
        return self._act(f"/exchange/outbox/{message_id}/resend", 201)

    # ---- e-CMS -------------------------------------------------------------------------

    def ecms_account(self, department: str, node_url: str, *, ministry: str = "") -> None:
        """Give the agency its e-CMS account: its department id and its own node's URL."""
        self.ecms_department = department
        self.ecms_ministry = ministry or department[:2]
        self.run("exchange", "ecms", "account", "--agency", str(self.agency_id),
                 "--department", department, "--ministry", self.ecms_ministry,
                 "--node-url", node_url)

    def ecms_add(self, department: str, name: str, *, node_url: str = "",
                 code: str = "") -> str:
        """List an agency reached through e-CMS in this node's directory; its code."""
        code = code or ecms_code(department)
        args = ["exchange", "ecms", "add", "--department", department, "--name", name,
                "--code", code]
        if node_url:
            args += ["--node-url", node_url]
        self.run(*args)
        return code

    def ecms_poll(self) -> str:
        """``saraban exchange ecms poll``: poll the agency's own e-CMS node once."""
        return self.run("exchange", "ecms", "poll", "--agency", str(self.agency_id))

    def ecms_status(self) -> str:
        return self.run("exchange", "ecms", "status")

    def inbox_letters(self) -> list[dict[str, Any]]:
        """Every inbox row with the letter it carries (number, subject from the envelope)
        and the register entry it became: how e-CMS arrivals are matched to sent letters
        (their message ids are the receiver's own)."""
        rows = self.query(
            "select m.id, m.sender_code, m.message_id, m.state, m.envelope, e.formatted, "
            "m.entry_id from exchange_inboxmessage m left join letters_registerentry e "
            "on e.id = m.entry_id order by m.id"
        )
        out = []
        for pk, sender, mid, state, envelope, number, entry_id in rows:
            data = json.loads(envelope) if isinstance(envelope, str) else envelope
            letter = (data or {}).get("letter", {})
            out.append({"id": pk, "sender_code": sender, "message_id": str(mid),
                        "state": state, "letter_number": str(letter.get("number", "")),
                        "subject": str(letter.get("subject", "")), "number": number,
                        "entry_id": entry_id})
        return out

    def sent_letters(self) -> list[dict[str, Any]]:
        """Every outbox letter row with the sent letter's number and subject."""
        rows = self.query(
            "select o.message_id, o.recipient_code, o.state, o.receipt_number, o.letter_id, "
            "o.attempts, o.created_at, o.sent_at, o.registered_at, o.closed_at, "
            "o.replaces_id, l.number, l.subject, o.id from exchange_outboxmessage o "
            "join letters_letter l on l.id = o.letter_id where o.type = 'letter' order by o.id"
        )
        names = ("message_id", "recipient_code", "state", "receipt_number", "letter_id",
                 "attempts", "created_at", "sent_at", "registered_at", "closed_at",
                 "replaces_id", "number", "subject", "id")
        return [dict(zip(names, row, strict=True)) for row in rows]

    # ---- reading the node's state (checks only) ----------------------------------------

    def status(self) -> dict[str, dict[str, int]]:
        """Outbox and inbox counts by state (``saraban exchange status``)."""
        counts: dict[str, dict[str, int]] = json.loads(self.run("exchange", "status"))
        return counts

    def outbox(self, kind: str = "letter") -> list[dict[str, Any]]:
        rows = self.query(
            "select message_id, recipient_code, state, receipt_number, letter_id, attempts, "
            "created_at, sent_at, registered_at, closed_at from exchange_outboxmessage "
            "where type = %s order by id", [kind],
        )
        names = ("message_id", "recipient_code", "state", "receipt_number", "letter_id",
                 "attempts", "created_at", "sent_at", "registered_at", "closed_at")
        return [dict(zip(names, row, strict=True)) for row in rows]

    def inbox(self) -> list[dict[str, Any]]:
        """Every inbox row with the register entry it became (``number``)."""
        rows = self.query(
            "select m.sender_code, m.message_id, m.state, e.formatted, m.entry_id "
            "from exchange_inboxmessage m left join letters_registerentry e "
            "on e.id = m.entry_id order by m.id"
        )
        names = ("sender_code", "message_id", "state", "number", "entry_id")
        return [dict(zip(names, row, strict=True)) for row in rows]


def connect(a: Node, b: Node, *, a_url: str | None = None, b_url: str | None = None) -> None:
    """Load each node's entries into the other's directory (``a_url``: how B reaches A)."""
    b.import_directory(a.export_directory(a_url))
    a.import_directory(b.export_directory(b_url))


def ecms_code(department: str) -> str:
    """The directory code the harness gives an agency reached through e-CMS."""
    return f"ecms-{department}"


ECMS_READY = "e-CMS node listening on"


@dataclass
class EcmsNode:
    """A local e-CMS node (``saraban ecms node``) as its own process, with its data directory.

    ``departments`` (10-digit id → name) are the agencies it hosts, ``peers`` (department id
    → URL) the other nodes it relays to. ``kill`` is SIGKILL; ``start`` again on the same
    port and data directory brings it back with everything it had stored.
    """

    name: str
    root: Path
    departments: dict[str, str] = field(default_factory=dict)
    peers: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 0
    extra_args: list[str] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    _logs: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        """The node's base URL (what a peer relays to)."""
        return f"http://{self.host}:{self.port}"

    def service_url(self, department: str | None = None) -> str:
        """The SOAP endpoint of one hosted department (the first one without ``department``)."""
        if department is None:
            return f"{self.url}/ecms-ws01/service2"
        return f"{self.url}/{department}/ecms-ws01/service2"

    def argv(self) -> list[str]:
        args = ["ecms", "node", "--host", self.host, "--port", str(self.port),
                "--data", str(self.data)]
        for dept, name in self.departments.items():
            args += ["--department", f"{dept}={name}"]
        for dept, url in self.peers.items():
            args += ["--peer", f"{dept}={url}"]
        return saraban_argv(*args, *self.extra_args)

    def env(self) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items()
                     if not k.startswith("SARABAN_") and k != "DATABASE_URL"}
        return {**inherited, "DJANGO_SETTINGS_MODULE": "saraban.settings",
                "SARABAN_VAR_DIR": str(self.root / "var"), "PYTHONWARNINGS": "ignore",
                **self.extra_env}

    @property
    def log_path(self) -> Path:
        return self.root / "ecms-node.log"

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, *, wait: bool = True, timeout: float = 60) -> None:
        """Start the node on its port; ``wait``: until it prints its ready line."""
        if self.running:
            raise NodeError(f"e-CMS node {self.name} is already running")
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self._logs.append(log)
        self.proc = subprocess.Popen(  # noqa: S603
            self.argv(), env=self.env(), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.starts += 1
        if wait:
            self.wait_ready(offset, timeout=timeout)

    def wait_ready(self, offset: int = 0, *, timeout: float = 60) -> None:
        def ready() -> bool:
            if self.proc is None or self.proc.poll() is not None:
                raise NodeError(f"e-CMS node {self.name} ended:\n{self.log_tail()}")
            with self.log_path.open("rb") as f:
                f.seek(offset)
                return ECMS_READY.encode() in f.read()

        wait_until(ready, timeout=timeout, interval=0.05, what=f"e-CMS node {self.name}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        Node._kill(self.proc, sig)
        self.proc = None

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def restart(self, *, pause: float = 0.0, sig: int = signal.SIGKILL) -> None:
        """Kill (SIGKILL by default) and start again on the same port and data."""
        self.kill(sig)
        if pause:
            time.sleep(pause)
        for attempt in range(5):
            try:
                self.start()
                return
            except (NodeError, TimeoutError):  # the port not free yet: try again
                self.kill()
                if attempt == 4:
                    raise
                time.sleep(1)

    def soap(self, body: bytes, department: str | None = None,
             timeout: float = 30) -> bytes:
        """POST one SOAP envelope to a department's endpoint; the answer's body."""
        request = urllib.request.Request(  # noqa: S310
            self.service_url(department), data=body, method="POST",
            headers={"Content-Type": "text/xml; charset=utf-8"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            answer: bytes = response.read()
            return answer

    def close(self, *, remove: bool = False) -> None:
        try:
            self.stop()
        finally:
            for log in self._logs:
                log.close()
            self._logs.clear()
            if remove:
                shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> EcmsNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect_ecms(a: Node, a_ecms: EcmsNode, b: Node, b_ecms: EcmsNode, *,
                 a_department: str, b_department: str,
                 a_node_url: str | None = None, b_node_url: str | None = None) -> None:
    """Wire two Saraban nodes through their own e-CMS nodes.

    Each agency gets an e-CMS account on its own node (``a_node_url``: how A's worker reaches
    A's e-CMS node, default its service URL; a proxy's URL in the fault test) and the other
    agency in its directory as an e-CMS entry (department, ministry, the other node's URL as
    its published ``ECMS-URL``). The e-CMS nodes must host the departments and name each
    other as peers (``EcmsNode.departments``/``peers``).
    """
    a.ecms_account(a_department, a_node_url or a_ecms.service_url(a_department))
    b.ecms_account(b_department, b_node_url or b_ecms.service_url(b_department))
    a.ecms_add(b_department, b_ecms.departments.get(b_department, f"Agency {b.name}"),
               node_url=b_ecms.service_url(b_department))
    b.ecms_add(a_department, a_ecms.departments.get(a_department, f"Agency {a.name}"),
               node_url=a_ecms.service_url(a_department))


@contextlib.contextmanager
def running_nodes(root: Path, names: Sequence[str], *, db: str = "sqlite",
                  extra_env: Mapping[str, str] | None = None) -> Iterator[list[Node]]:
    """Set up nodes in parallel (each in ``root/NAME``) and close them all afterwards."""
    from concurrent.futures import ThreadPoolExecutor

    nodes = [
        Node(name=n, root=root / n, db=db, office_code=f"{i + 1:04d}",
             letter_code=("ทก", "ทข", "ทค", "ทง")[i % 4], extra_env=dict(extra_env or {}))
        for i, n in enumerate(names)
    ]
    try:
        with ThreadPoolExecutor(len(nodes)) as pool:
            list(pool.map(Node.setup, nodes))
        yield nodes
    finally:
        for node in nodes:
            node.close()


# Two departments of different ministries (มหาดไทย 15, สาธารณสุข 21): 10-digit e-CMS ids.
ECMS_DEPARTMENTS = ("1500100000", "2100200000")


def ecms_node_pair(root: Path, departments: Sequence[str] = ECMS_DEPARTMENTS,
                   names: Sequence[str] = ("a", "b")) -> tuple[EcmsNode, EcmsNode]:
    """Two e-CMS nodes (not started), each hosting one department and relaying to the other
    directly (point ``peers`` at a proxy before starting to put one in between)."""
    first, second = (
        EcmsNode(name=f"ecms-{n}", root=root / f"ecms-{n}",
                 departments={d: f"ส่วนราชการทดสอบ {n.upper()} ({d})"})
        for n, d in zip(names, departments, strict=True)
    )
    first.peers = {departments[1]: second.url}
    second.peers = {departments[0]: first.url}
    return first, second


@contextlib.contextmanager
def running_ecms_pair(root: Path, *, db: str = "sqlite",
                      extra_env: Mapping[str, str] | None = None,
                      departments: Sequence[str] = ECMS_DEPARTMENTS, web_workers: int = 2,
                      ) -> Iterator[tuple[Node, Node, EcmsNode, EcmsNode]]:
    """Saraban nodes A and B (web server and worker each) and their own e-CMS nodes, relaying
    to each other, wired with ``connect_ecms``; everything stopped afterwards."""
    env = {**FAST_ECMS, **(extra_env or {})}
    ea, eb = ecms_node_pair(root, departments)
    try:
        with running_nodes(root, ["a", "b"], db=db, extra_env=env) as (a, b):
            for node in (a, b):
                node.web_workers = web_workers
                node.start_web(wait=False)
            for e in (ea, eb):
                e.start(wait=False)
            for e in (ea, eb):
                e.wait_ready()
            for node in (a, b):
                node.wait_web()
            connect_ecms(a, ea, b, eb, a_department=departments[0],
                         b_department=departments[1])
            for node in (a, b):
                node.start_worker()
            yield a, b, ea, eb
    finally:
        for e in (ea, eb):
            e.close()
