"""The node's storage (SQLite, WAL, ``synchronous=FULL``) and every state change it makes.

Each operation is one transaction under one lock: a letter's acceptance, its queue item and
its relay outbox row are committed together, so a node killed at any moment either has all of
them or none (the client then posts again and idempotency answers with the same ProcessID).
"""

from __future__ import annotations

import base64
import datetime as dt
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._config import NodeConfig, base_url

# Letter statuses (OutboundStatusResponse/ProcessStatus), in the order they advance.
QUEUED = "queued"            # stored; waiting in the receiver's queue or in the relay outbox
RELAYED = "relayed"          # the receiver's node has it
RECEIVED = "received"        # ReceiveLetterNotifier came back
ACCEPTED = "accepted"        # AcceptLetterNotifier (registered)
REJECTED = "rejected"        # RejectLetterNotifier
INVALID = "invalid"          # InvalidLetterNotifier
DELETED = "deleted"          # CorrespondenceDeleteGovernmentDocumentRequest
UNDELIVERABLE = "undeliverable"  # the receiver's node refused it for good (see last_error)
_RANK = {QUEUED: 0, RELAYED: 1, RECEIVED: 2, ACCEPTED: 3, REJECTED: 3, INVALID: 3,
         UNDELIVERABLE: 4, DELETED: 5}
_NOTIFIER_STATUS = {
    "ReceiveLetterNotifier": RECEIVED,
    "AcceptLetterNotifier": ACCEPTED,
    "RejectLetterNotifier": REJECTED,
    "InvalidLetterNotifier": INVALID,
}
INVALID_ACCEPT_ID = "InvalidAcceptIDNotifier"
NOTIFIER_KINDS = frozenset({*_NOTIFIER_STATUS, INVALID_ACCEPT_ID})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS letter (
    pk INTEGER PRIMARY KEY,
    process_id TEXT NOT NULL UNIQUE,
    sender_dept TEXT NOT NULL,
    receiver_dept TEXT NOT NULL,
    letter_id TEXT NOT NULL,
    date_text TEXT NOT NULL,
    subject TEXT NOT NULL,
    digest TEXT NOT NULL,
    document_xml BLOB NOT NULL,
    origin_node TEXT NOT NULL DEFAULT '',
    remote_url TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    delete_process_id TEXT NOT NULL DEFAULT '',
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS letter_identity
    ON letter (sender_dept, receiver_dept, letter_id, date_text) WHERE active = 1;
CREATE INDEX IF NOT EXISTS letter_by_receiver ON letter (receiver_dept, letter_id, date_text);
CREATE INDEX IF NOT EXISTS letter_by_sender ON letter (sender_dept, letter_id, date_text);

CREATE TABLE IF NOT EXISTS notifier (
    pk INTEGER PRIMARY KEY,
    process_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    letter_pk INTEGER NOT NULL REFERENCES letter (pk),
    letter_id TEXT NOT NULL,
    date_text TEXT NOT NULL,
    subject TEXT NOT NULL,
    accept_id TEXT NOT NULL,
    accept_date TEXT NOT NULL,
    accept_department TEXT NOT NULL,
    target_dept TEXT NOT NULL,
    origin_node TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    superseded INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS notifier_live
    ON notifier (kind, letter_pk, accept_id) WHERE superseded = 0;

CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    process_id TEXT NOT NULL UNIQUE,
    dept TEXT NOT NULL,
    letter_pk INTEGER REFERENCES letter (pk),
    notifier_pk INTEGER REFERENCES notifier (pk),
    queued_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE INDEX IF NOT EXISTS queue_head ON queue (dept, deleted_at, seq);

CREATE TABLE IF NOT EXISTS relay_out (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    relay_id TEXT NOT NULL UNIQUE,
    target_dept TEXT NOT NULL,
    peer_url TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    letter_pk INTEGER,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    done_at TEXT
);
CREATE INDEX IF NOT EXISTS relay_pending ON relay_out (state, peer_url, seq);

CREATE TABLE IF NOT EXISTS relay_in (
    origin_node TEXT NOT NULL,
    relay_id TEXT NOT NULL,
    result TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (origin_node, relay_id)
);
"""


class NodeError(Exception):
    """A refusal answered as ``ErrorDetail`` (``code`` is stable)."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


_ZONE: list[dt.tzinfo | None] = [None]  # the node's time zone (None = the process's)


def set_zone(name: str) -> None:
    """Write times in zone ``name`` (``Asia/Bangkok`` by default: where e-CMS nodes are);
    "" = the process's local zone."""
    from zoneinfo import ZoneInfo

    _ZONE[0] = ZoneInfo(name) if name else None


def node_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).astimezone(_ZONE[0])


def now_text() -> str:
    """The node's local time, ISO without zone (the form clients write SendDate in)."""
    return node_now().strftime("%Y-%m-%dT%H:%M:%S")


def new_process_id() -> str:
    return f"{node_now():%Y%m%d%H%M%S}-{_token()}"


def _token() -> str:
    import secrets

    return secrets.token_hex(6)


@dataclass(frozen=True, slots=True)
class NewLetter:
    """A letter as posted: its identity, subject, content digest and GovernmentDocument."""

    sender_dept: str
    receiver_dept: str
    letter_id: str
    date_text: str
    subject: str
    digest: str
    document_xml: bytes


@dataclass(frozen=True, slots=True)
class NotifierValues:
    kind: str
    letter_id: str
    date_text: str
    subject: str
    accept_id: str = ""
    accept_date: str = ""
    accept_department: str = ""


@dataclass(frozen=True, slots=True)
class Accepted:
    """What the node answers a poster with (ProcessID, ProcessTime, the echo)."""

    process_id: str
    process_time: str
    document_xml: bytes = b""
    notifier: NotifierValues | None = None


@dataclass(frozen=True, slots=True)
class QueueItem:
    process_id: str
    queued_at: str
    document_xml: bytes = b""
    notifier: NotifierValues | None = None


@dataclass(frozen=True, slots=True)
class RelayJob:
    seq: int
    relay_id: str
    target_dept: str
    peer_url: str
    kind: str
    payload: str
    attempts: int
    next_at: float = 0.0


class Store:
    def __init__(self, cfg: NodeConfig, *, node_url: Callable[[], str]) -> None:
        self.cfg = cfg
        self._node_url = node_url   # this node's public base URL (known once listening)
        self._lock = threading.RLock()
        path = Path(cfg.data_dir) / "node.sqlite3"
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                   timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._upgrade()
        self._db.executescript(_SCHEMA)
        self.outbox_changed = threading.Event()

    def _upgrade(self) -> None:
        """Bring a data directory of an earlier version up to the schema."""
        cols = [r[1] for r in self._db.execute("PRAGMA table_info(notifier)")]
        if cols and "superseded" not in cols:
            self._db.execute("ALTER TABLE notifier ADD COLUMN superseded INTEGER NOT NULL "
                             "DEFAULT 0")
            self._db.execute("DROP INDEX IF EXISTS notifier_identity")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # --- routing -------------------------------------------------------------------------

    def _hosted(self, dept: str) -> bool:
        return dept in self.cfg.departments

    def _route(self, dept: str, remembered_url: str = "") -> str:
        """The base URL of the node serving ``dept`` ("" = this node)."""
        if self._hosted(dept):
            return ""
        peer = self.cfg.peer_for(dept)
        if peer is not None:
            return peer.base_url
        if remembered_url:
            return remembered_url
        raise NodeError("unknown_department",
                        f"department {dept!r} is neither served here nor a known peer")

    def _enqueue(self, db: sqlite3.Connection, dept: str, *, letter_pk: int | None = None,
                 notifier_pk: int | None = None) -> str:
        pid = new_process_id()
        db.execute("INSERT INTO queue (process_id, dept, letter_pk, notifier_pk, queued_at) "
                   "VALUES (?, ?, ?, ?, ?)", (pid, dept, letter_pk, notifier_pk, now_text()))
        return pid

    def _relay(self, db: sqlite3.Connection, target_dept: str, peer_url: str, kind: str,
               payload: dict[str, Any], letter_pk: int | None) -> None:
        import json

        relay_id = new_process_id()
        body = {"v": 1, "origin": self.cfg.node_id, "origin_url": self._node_url(),
                "relay_id": relay_id, "kind": kind, **payload}
        db.execute(
            "INSERT INTO relay_out (relay_id, target_dept, peer_url, kind, payload, letter_pk,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (relay_id, target_dept, peer_url, kind, json.dumps(body, ensure_ascii=False),
             letter_pk, now_text()))

    @staticmethod
    def _advance(db: sqlite3.Connection, letter_pk: int, status: str, error: str = "") -> None:
        row = db.execute("SELECT status FROM letter WHERE pk = ?", (letter_pk,)).fetchone()
        if row is None or _RANK.get(status, 0) <= _RANK.get(row["status"], 0):
            return
        db.execute("UPDATE letter SET status = ?, updated_at = ?, last_error = ? WHERE pk = ?",
                   (status, now_text(), error, letter_pk))

    @staticmethod
    def _supersede(db: sqlite3.Connection, kind: str, letter_pk: int, accept_id: str) -> None:
        """An AcceptLetterNotifier and an InvalidAcceptIDNotifier with the same AcceptID
        answer each other: once one is recorded, the other is no longer the latest word, and
        posting it again (the receiver confirming its number after a complaint, the sender
        complaining again) is a new notifier, not a repeat."""
        other = {"AcceptLetterNotifier": INVALID_ACCEPT_ID,
                 INVALID_ACCEPT_ID: "AcceptLetterNotifier"}.get(kind)
        if other is not None:
            db.execute("UPDATE notifier SET superseded = 1 WHERE kind = ? AND letter_pk = ? "
                       "AND accept_id = ? AND superseded = 0", (other, letter_pk, accept_id))

    @staticmethod
    def _purge_queue(db: sqlite3.Connection, letter_pk: int) -> None:
        """Drop the letter's queue items nobody has fetched and deleted yet."""
        db.execute("UPDATE queue SET deleted_at = ? WHERE letter_pk = ? AND deleted_at IS NULL",
                   (now_text(), letter_pk))

    # --- letters ---------------------------------------------------------------------------

    def post_letter(self, caller: str, new: NewLetter) -> Accepted:
        if new.sender_dept != caller:
            raise NodeError("sender_mismatch",
                            f"the letter's SenderParty department {new.sender_dept!r} is not "
                            f"the department this URL serves ({caller})")
        with self._tx() as db:
            row = db.execute(
                "SELECT * FROM letter WHERE sender_dept = ? AND receiver_dept = ? AND "
                "letter_id = ? AND date_text = ? AND active = 1",
                (new.sender_dept, new.receiver_dept, new.letter_id, new.date_text)).fetchone()
            if row is not None:
                if row["digest"] != new.digest:
                    raise NodeError(
                        "duplicate_letter",
                        f"letter {new.letter_id!r} of {new.date_text} to {new.receiver_dept} "
                        "was already sent with other content; delete it "
                        "(CorrespondenceDeleteGovernmentDocumentRequest) to send it again")
                return Accepted(row["process_id"], row["created_at"], bytes(row["document_xml"]))
            peer = self._route(new.receiver_dept)
            pid, at = new_process_id(), now_text()
            cur = db.execute(
                "INSERT INTO letter (process_id, sender_dept, receiver_dept, letter_id, "
                "date_text, subject, digest, document_xml, remote_url, status, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (pid, new.sender_dept, new.receiver_dept, new.letter_id, new.date_text,
                 new.subject, new.digest, new.document_xml, peer, QUEUED, at, at))
            letter_pk = int(cur.lastrowid or 0)
            if peer:
                self._relay(db, new.receiver_dept, peer, "letter", {
                    **_identity(new.sender_dept, new.receiver_dept, new.letter_id,
                                new.date_text),
                    "subject": new.subject, "digest": new.digest,
                    "document_xml": base64.b64encode(new.document_xml).decode("ascii"),
                }, letter_pk)
            else:
                self._enqueue(db, new.receiver_dept, letter_pk=letter_pk)
        if peer:
            self.outbox_changed.set()
        return Accepted(pid, at, new.document_xml)

    # --- notifiers -------------------------------------------------------------------------

    def post_notifier(self, caller: str, posted: NotifierValues) -> Accepted:
        if posted.kind not in NOTIFIER_KINDS:
            raise NodeError("unknown_operation", f"{posted.kind} is not a notifier")
        by_sender = posted.kind == INVALID_ACCEPT_ID
        side = "sender_dept" if by_sender else "receiver_dept"
        relay = False
        with self._tx() as db:
            rows = _matching(db, f"{side} = ?", (caller,), posted.letter_id, posted.date_text)
            if not rows:
                raise NodeError("unknown_letter",
                                f"no letter {posted.letter_id!r} of {posted.date_text} was "
                                f"{'sent by' if by_sender else 'received by'} {caller}")
            active = [r for r in rows if r["active"]]
            pool = active or rows[:1]
            letter = next((r for r in pool if r["subject"] == posted.subject), pool[0])
            existing = db.execute(
                "SELECT * FROM notifier WHERE kind = ? AND letter_pk = ? AND accept_id = ? "
                "AND superseded = 0",
                (posted.kind, letter["pk"], posted.accept_id)).fetchone()
            if existing is not None:
                return Accepted(existing["process_id"], existing["created_at"],
                                notifier=_echo(posted, existing))
            if not letter["active"]:
                raise NodeError("letter_deleted",
                                f"letter {posted.letter_id!r} of {posted.date_text} was deleted "
                                "by its sender (CorrespondenceDeleteGovernmentDocumentRequest)")
            target = letter["receiver_dept"] if by_sender else letter["sender_dept"]
            peer = self._route(target, letter["remote_url"])
            pid, at = new_process_id(), now_text()
            values = NotifierValues(posted.kind, letter["letter_id"], letter["date_text"],
                                    letter["subject"], posted.accept_id, at,
                                    letter["receiver_dept"])
            cur = db.execute(
                "INSERT INTO notifier (process_id, kind, letter_pk, letter_id, date_text, "
                "subject, accept_id, accept_date, accept_department, target_dept, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (pid, values.kind, letter["pk"], values.letter_id, values.date_text,
                 values.subject, values.accept_id, values.accept_date,
                 values.accept_department, target, at))
            self._supersede(db, values.kind, letter["pk"], values.accept_id)
            if peer:
                relay = True
                self._relay(db, target, peer, "notifier", {
                    **_identity(letter["sender_dept"], letter["receiver_dept"],
                                letter["letter_id"], letter["date_text"]),
                    "notifier": values.kind, "subject": values.subject,
                    "digest": letter["digest"],  # which edition of the letter it answers
                    "accept_id": values.accept_id, "accept_date": values.accept_date,
                    "accept_department": values.accept_department,
                }, None)
            else:
                self._enqueue(db, target, notifier_pk=int(cur.lastrowid or 0))
            if posted.kind in _NOTIFIER_STATUS:
                self._advance(db, letter["pk"], _NOTIFIER_STATUS[posted.kind])
            row = db.execute("SELECT * FROM notifier WHERE process_id = ?", (pid,)).fetchone()
        if relay:
            self.outbox_changed.set()
        return Accepted(pid, at, notifier=_echo(posted, row))

    # --- queue -----------------------------------------------------------------------------

    def poll(self, caller: str) -> QueueItem | None:
        with self._lock:
            row = self._db.execute(
                "SELECT q.process_id, q.queued_at, q.letter_pk, q.notifier_pk, "
                "l.document_xml FROM queue q LEFT JOIN letter l ON l.pk = q.letter_pk "
                "WHERE q.dept = ? AND q.deleted_at IS NULL ORDER BY q.seq LIMIT 1",
                (caller,)).fetchone()
            if row is None:
                return None
            if row["notifier_pk"] is not None:
                n = self._db.execute("SELECT * FROM notifier WHERE pk = ?",
                                     (row["notifier_pk"],)).fetchone()
                return QueueItem(row["process_id"], row["queued_at"], notifier=_values(n))
            return QueueItem(row["process_id"], row["queued_at"],
                             document_xml=bytes(row["document_xml"]))

    def delete_item(self, caller: str, process_id: str) -> tuple[str, str]:
        with self._tx() as db:
            row = db.execute("SELECT * FROM queue WHERE process_id = ? AND dept = ?",
                             (process_id.strip(), caller)).fetchone()
            if row is None:
                raise NodeError("unknown_process",
                                f"no item {process_id!r} in the queue of {caller}")
            if row["deleted_at"] is not None:
                return row["process_id"], row["deleted_at"]  # already deleted: same answer
            at = now_text()
            db.execute("UPDATE queue SET deleted_at = ? WHERE seq = ?", (at, row["seq"]))
        return row["process_id"], at

    # --- delete government document --------------------------------------------------------

    def delete_document(self, caller: str, letter_id: str, date_text: str, sender: str,
                        receiver: str) -> tuple[str, str, str]:
        """Purge the letter so its number can be sent again; answers (ProcessID, LetterID,
        ProcessTime)."""
        if sender != caller:
            raise NodeError("sender_mismatch",
                            f"only the sender may delete a letter; SenderDepartment {sender!r} "
                            f"is not the department this URL serves ({caller})")
        relay = False
        with self._tx() as db:
            rows = _matching(db, "sender_dept = ? AND receiver_dept = ?", (sender, receiver),
                             letter_id, date_text)
            if not rows:
                raise NodeError("unknown_letter",
                                f"no letter {letter_id!r} of {date_text} from {sender} to "
                                f"{receiver}")
            letter = rows[0]
            if not letter["active"]:   # deleted before: the same answer again
                return letter["delete_process_id"], letter["letter_id"], letter["updated_at"]
            pid, at = new_process_id(), now_text()
            db.execute("UPDATE letter SET active = 0, status = ?, updated_at = ?, "
                       "delete_process_id = ? WHERE pk = ?", (DELETED, at, pid, letter["pk"]))
            self._purge_queue(db, letter["pk"])
            if not self._hosted(receiver):
                peer = self._route(receiver, letter["remote_url"])
                relay = True
                self._relay(db, receiver, peer, "delete_document",
                            _identity(sender, receiver, letter_id, date_text), None)
        if relay:
            self.outbox_changed.set()
        return pid, letter["letter_id"], at

    # --- special re-request ----------------------------------------------------------------

    def special(self, caller: str, kind: str, letter_id: str, date_text: str, sender: str,
                receiver: str) -> tuple[str, str]:
        """Queue a fresh copy of a letter (kind GovernmentDocument, for its receiver) or of
        the newest notifier of ``kind`` addressed to the caller."""
        with self._tx() as db:
            found = _matching(db, "sender_dept = ? AND receiver_dept = ?", (sender, receiver),
                              letter_id, date_text)
            letter = found[0] if found and found[0]["active"] else None
            if letter is None:
                raise NodeError("unknown_letter",
                                f"no letter {letter_id!r} of {date_text} from {sender} to "
                                f"{receiver}")
            if kind == "GovernmentDocument":
                if receiver != caller:
                    raise NodeError("unknown_letter",
                                    f"letter {letter_id!r} is not addressed to {caller}")
                pid = self._enqueue(db, caller, letter_pk=letter["pk"])
            elif kind in NOTIFIER_KINDS:
                n = db.execute("SELECT pk FROM notifier WHERE letter_pk = ? AND kind = ? AND "
                               "target_dept = ? ORDER BY pk DESC LIMIT 1",
                               (letter["pk"], kind, caller)).fetchone()
                if n is None:
                    raise NodeError("unknown_notifier",
                                    f"no {kind} for letter {letter_id!r} came to {caller}")
                pid = self._enqueue(db, caller, notifier_pk=n["pk"])
            else:
                raise NodeError("bad_value", f"cannot re-request {kind!r}")
        return pid, now_text()

    # --- outbound status -------------------------------------------------------------------

    def outbound_status(self, caller: str, limit: int = 1000) -> list[tuple[str, str, str]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT process_id, letter_id, status FROM letter WHERE sender_dept = ? "
                "ORDER BY pk DESC LIMIT ?", (caller, limit)).fetchall()
        return [(r["process_id"], r["letter_id"], r["status"]) for r in reversed(rows)]

    # --- relay: the sending side -----------------------------------------------------------

    def relay_peers(self) -> list[str]:
        """The peers that have pending items."""
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT peer_url FROM relay_out "
                                    "WHERE state = 'pending'").fetchall()
        return [str(r[0]) for r in rows]

    def relay_head(self, peer_url: str) -> RelayJob | None:
        """The oldest pending item for ``peer_url`` (items to one peer go strictly in order:
        a deletion never overtakes its letter, nor a re-sent letter the deletion)."""
        with self._lock:
            r = self._db.execute("SELECT * FROM relay_out WHERE state = 'pending' AND "
                                 "peer_url = ? ORDER BY seq LIMIT 1", (peer_url,)).fetchone()
        if r is None:
            return None
        return RelayJob(r["seq"], r["relay_id"], r["target_dept"], r["peer_url"], r["kind"],
                        r["payload"], r["attempts"], float(r["next_at"]))

    def relay_done(self, job: RelayJob) -> None:
        with self._tx() as db:
            db.execute("UPDATE relay_out SET state = 'done', done_at = ?, last_error = '', "
                       "payload = '' WHERE seq = ?", (now_text(), job.seq))
            row = db.execute("SELECT letter_pk FROM relay_out WHERE seq = ?",
                             (job.seq,)).fetchone()
            if job.kind == "letter" and row and row["letter_pk"] is not None:
                self._advance(db, int(row["letter_pk"]), RELAYED)

    def relay_refused(self, job: RelayJob, error: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE relay_out SET state = 'refused', done_at = ?, last_error = ?, "
                       "payload = '' WHERE seq = ?", (now_text(), error[:500], job.seq))
            row = db.execute("SELECT letter_pk FROM relay_out WHERE seq = ?",
                             (job.seq,)).fetchone()
            if job.kind == "letter" and row and row["letter_pk"] is not None:
                self._advance(db, int(row["letter_pk"]), UNDELIVERABLE, error[:500])

    def relay_failed(self, job: RelayJob, error: str, retry_in: float) -> None:
        with self._tx() as db:
            db.execute("UPDATE relay_out SET attempts = attempts + 1, next_at = ?, "
                       "last_error = ? WHERE seq = ?",
                       (time.time() + retry_in, error[:500], job.seq))

    def relay_pending_count(self) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) AS n FROM relay_out WHERE state = 'pending'").fetchone()
        return int(row["n"])

    # --- relay: the receiving side ---------------------------------------------------------

    def receive_relay(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Store one relayed item, idempotently by (origin node, relay id); answers
        (HTTP status, JSON). 200 only after the commit; 409 = refused for good."""
        try:
            origin = _text(body, "origin")
            relay_id = _text(body, "relay_id")
            kind = _text(body, "kind")
            sender, receiver = _text(body, "sender"), _text(body, "receiver")
            letter_id, date_text = _text(body, "letter_id"), _text(body, "date_text")
        except (KeyError, TypeError) as exc:
            return 400, {"ok": False, "code": "bad_relay", "message": f"missing {exc}"}
        if not origin or not relay_id:
            return 400, {"ok": False, "code": "bad_relay", "message": "origin/relay_id empty"}
        origin_url = base_url(str(body.get("origin_url") or ""))
        try:
            with self._tx() as db:
                seen = db.execute("SELECT result FROM relay_in WHERE origin_node = ? AND "
                                  "relay_id = ?", (origin, relay_id)).fetchone()
                if seen is not None:
                    return 200, {"ok": True, "result": seen["result"], "repeat": True}
                if kind == "letter":
                    result = self._relayed_letter(db, body, origin, origin_url, sender,
                                                  receiver, letter_id, date_text)
                elif kind == "notifier":
                    result = self._relayed_notifier(db, body, origin, sender, receiver,
                                                    letter_id, date_text)
                elif kind == "delete_document":
                    result = self._relayed_delete(db, sender, receiver, letter_id, date_text)
                else:
                    raise NodeError("bad_relay", f"unknown relay kind {kind!r}")
                db.execute("INSERT INTO relay_in (origin_node, relay_id, result, received_at) "
                           "VALUES (?, ?, ?, ?)", (origin, relay_id, result, now_text()))
        except NodeError as exc:
            return 409, {"ok": False, "code": exc.code, "message": exc.description}
        except (KeyError, TypeError, ValueError) as exc:
            return 400, {"ok": False, "code": "bad_relay", "message": str(exc)}
        return 200, {"ok": True, "result": result}

    def _relayed_letter(self, db: sqlite3.Connection, body: dict[str, Any], origin: str,
                        origin_url: str, sender: str, receiver: str, letter_id: str,
                        date_text: str) -> str:
        if not self._hosted(receiver):
            raise NodeError("unknown_department", f"department {receiver!r} is not served here")
        digest = _text(body, "digest")
        document = base64.b64decode(_text(body, "document_xml"), validate=True)
        row = db.execute(
            "SELECT digest FROM letter WHERE sender_dept = ? AND receiver_dept = ? AND "
            "letter_id = ? AND date_text = ? AND active = 1",
            (sender, receiver, letter_id, date_text)).fetchone()
        if row is not None:
            if row["digest"] != digest:
                raise NodeError("duplicate_letter",
                                f"letter {letter_id!r} of {date_text} from {sender} is here "
                                "with other content")
            return "duplicate"
        at = now_text()
        cur = db.execute(
            "INSERT INTO letter (process_id, sender_dept, receiver_dept, letter_id, date_text, "
            "subject, digest, document_xml, origin_node, remote_url, status, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (new_process_id(), sender, receiver, letter_id, date_text,
             _text(body, "subject"), digest, document, origin, origin_url, QUEUED, at, at))
        self._enqueue(db, receiver, letter_pk=int(cur.lastrowid or 0))
        return "stored"

    def _relayed_notifier(self, db: sqlite3.Connection, body: dict[str, Any], origin: str,
                          sender: str, receiver: str, letter_id: str, date_text: str) -> str:
        kind = _text(body, "notifier")
        if kind not in NOTIFIER_KINDS:
            raise NodeError("bad_relay", f"{kind!r} is not a notifier")
        target = receiver if kind == INVALID_ACCEPT_ID else sender
        if not self._hosted(target):
            raise NodeError("unknown_department", f"department {target!r} is not served here")
        letter = db.execute(
            "SELECT * FROM letter WHERE sender_dept = ? AND receiver_dept = ? AND "
            "letter_id = ? AND date_text = ? AND active = 1",
            (sender, receiver, letter_id, date_text)).fetchone()
        if letter is None:
            return "dropped: unknown_letter"  # deleted here meanwhile: nothing to tell
        digest = body.get("digest")
        if isinstance(digest, str) and digest and digest != letter["digest"]:
            # It answers an edition deleted here and sent again since: not this letter.
            return "dropped: other_edition"
        accept_id = _text(body, "accept_id")
        if db.execute("SELECT 1 FROM notifier WHERE kind = ? AND letter_pk = ? AND "
                      "accept_id = ? AND superseded = 0",
                      (kind, letter["pk"], accept_id)).fetchone():
            return "duplicate"
        cur = db.execute(
            "INSERT INTO notifier (process_id, kind, letter_pk, letter_id, date_text, subject, "
            "accept_id, accept_date, accept_department, target_dept, origin_node, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (new_process_id(), kind, letter["pk"], letter["letter_id"], letter["date_text"],
             letter["subject"], accept_id, _text(body, "accept_date"),
             _text(body, "accept_department"), target, origin, now_text()))
        self._supersede(db, kind, letter["pk"], accept_id)
        self._enqueue(db, target, notifier_pk=int(cur.lastrowid or 0))
        if kind in _NOTIFIER_STATUS:
            self._advance(db, letter["pk"], _NOTIFIER_STATUS[kind])
        return "stored"

    def _relayed_delete(self, db: sqlite3.Connection, sender: str, receiver: str,
                        letter_id: str, date_text: str) -> str:
        letter = db.execute(
            "SELECT pk FROM letter WHERE sender_dept = ? AND receiver_dept = ? AND "
            "letter_id = ? AND date_text = ? AND active = 1",
            (sender, receiver, letter_id, date_text)).fetchone()
        if letter is None:
            return "dropped: unknown_letter"
        at = now_text()
        db.execute("UPDATE letter SET active = 0, status = ?, updated_at = ? WHERE pk = ?",
                   (DELETED, at, letter["pk"]))
        self._purge_queue(db, letter["pk"])
        return "deleted"

    def counts(self) -> dict[str, int]:
        """For the health page."""
        with self._lock:
            q = self._db.execute("SELECT COUNT(*) FROM queue WHERE deleted_at IS NULL")
            queued = int(q.fetchone()[0])
            letters = int(self._db.execute("SELECT COUNT(*) FROM letter").fetchone()[0])
        return {"queued": queued, "letters": letters, "relay_pending": self.relay_pending_count()}


def _matching(db: sqlite3.Connection, where: str, args: tuple[str, ...], letter_id: str,
              date_text: str) -> list[sqlite3.Row]:
    """The letters a client's (LetterID, CorrespondenceDate) names, live ones first, newest
    first: the exact echo if there is one, else tolerating surrounding spaces in LetterID and
    a time after the date (``2026-12-07T00:00:00`` for ``2026-12-07``)."""
    rows = db.execute(
        f"SELECT * FROM letter WHERE {where} AND trim(letter_id) = ? "  # noqa: S608 (fixed column conditions)
        "ORDER BY active DESC, pk DESC", (*args, letter_id.strip())).fetchall()
    day = date_text.strip()[:10]
    for fits in (lambda r: r["letter_id"] == letter_id and r["date_text"] == date_text,
                 lambda r: r["date_text"] == date_text,
                 lambda r: str(r["date_text"]).strip()[:10] == day):
        found = [r for r in rows if fits(r)]
        if found:
            return found
    return []


def _identity(sender: str, receiver: str, letter_id: str, date_text: str) -> dict[str, str]:
    return {"sender": sender, "receiver": receiver, "letter_id": letter_id,
            "date_text": date_text}


def _text(body: dict[str, Any], key: str) -> str:
    value = body[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} is not a string")
    return value


def _values(row: sqlite3.Row) -> NotifierValues:
    return NotifierValues(row["kind"], row["letter_id"], row["date_text"], row["subject"],
                          row["accept_id"], row["accept_date"], row["accept_department"])


def _echo(posted: NotifierValues, row: sqlite3.Row) -> NotifierValues:
    """The notifier response: the poster's own values back, with the node's AcceptDate and
    AcceptDepartment."""
    return NotifierValues(posted.kind, posted.letter_id, posted.date_text, posted.subject,
                          posted.accept_id, row["accept_date"], row["accept_department"])
