"""Reading the central mailbox over IMAP: store each mail, THEN move it out of the way.

Per mailbox, under a lease like the e-CMS poll (several workers may run): the mail in
``imap_folder`` is listed by UID; for each one (oldest first, at most a batch)

1. its size (``RFC822.SIZE``) and Message-ID are fetched first. A mail whose Message-ID was
   processed before is not downloaded again (a crash or a failed move left it here); a mail
   larger than ``SARABAN_MAIL_MAX_BYTES`` is refused without being downloaded;
2. otherwise it is downloaded with ``BODY.PEEK[]`` (the server's \\Seen flag stays as it was)
   and handed to ``intake.ingest``, which commits it (or its refusal) with its ``MailSeen``
   row;
3. only then is it moved to ``imap_done_folder`` (a letter) or ``imap_kept_folder`` (kept
   apart or refused), with ``MOVE`` (RFC 6851), or ``COPY`` + ``\\Deleted`` + ``UID EXPUNGE``
   where the server has no MOVE. The folders are created when missing, under the server's
   personal namespace and with its hierarchy separator ("Saraban/Processed" becomes
   "INBOX.Saraban.Processed" on Courier or Cyrus).

A crash between 2 and 3 leaves the mail in the folder; the next poll sees its Message-ID and
only moves it (a mail without a Message-ID is downloaded again and recognised by its content
digest). Nothing is processed twice and nothing is lost.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import imaplib
import logging
import ssl
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Q
from imapclient import IMAPClient  # type: ignore[import-untyped]
from imapclient.exceptions import IMAPClientError  # type: ignore[import-untyped]

from .. import leases
from ..models import Mailbox, MailOutcome, MailSecurity, MailSeen
from .intake import header_message_id, ingest, mail_limits, refuse_unread, seen_key

__all__ = ["PollResult", "claim_mailbox", "connect", "poll_claimed", "poll_due", "poll_now",
           "release_mailbox"]

log = logging.getLogger(__name__)

_HEADER = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"
_HEADER_KEY = b"BODY[HEADER.FIELDS (MESSAGE-ID)]"
#: How many UIDs one FETCH of sizes and Message-IDs asks about.
_CHUNK = 200


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def poll_interval() -> dt.timedelta:
    return dt.timedelta(seconds=_setting("SARABAN_MAIL_POLL_SECONDS", 60))


def poll_lease() -> dt.timedelta:
    """How long a claim keeps other workers off a mailbox (renewed before every mail)."""
    return dt.timedelta(seconds=_setting("SARABAN_MAIL_LEASE_SECONDS", 120))


def poll_batch() -> int:
    return int(_setting("SARABAN_MAIL_POLL_BATCH", 100))


def timeout() -> float:
    return _setting("SARABAN_MAIL_TIMEOUT_SECONDS", 30)


@dataclass
class PollResult:
    mailbox: str
    inbox: int = 0
    duplicates: int = 0
    kept_apart: int = 0
    refused: int = 0
    moved: int = 0
    move_failed: int = 0
    remaining: int = 0
    error: str = ""
    items: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.inbox + self.duplicates + self.kept_apart + self.refused

    def as_dict(self) -> dict[str, Any]:
        return {"mailbox": self.mailbox, "inbox": self.inbox, "duplicates": self.duplicates,
                "kept_apart": self.kept_apart, "refused": self.refused, "moved": self.moved,
                "move_failed": self.move_failed, "remaining": self.remaining,
                "error": self.error}


# ---- leases -------------------------------------------------------------------------------


def _pollable() -> Q:
    return Q(enabled=True) & ~Q(imap_host="")


def claim_mailbox(*, owner: str, mailbox_id: int | None = None,
                  due_only: bool = True) -> Mailbox | None:
    """Claim one mailbox to poll (IMAP set, enabled, due, not leased by another worker)."""
    where = _pollable() if mailbox_id is None else _pollable() & Q(pk=mailbox_id)
    return leases.claim(Mailbox, owner=owner, lease=poll_lease(), where=where,
                        due_only=due_only)


def _renew(mailbox: Mailbox, owner: str) -> bool:
    return leases.renew(Mailbox, mailbox.pk, owner=owner, lease=poll_lease())


def release_mailbox(mailbox: Mailbox, owner: str, *, error: str = "",
                    more: bool = False) -> None:
    """Give the mailbox back; due again after the poll interval, or at once when the batch
    ran out before the folder did (``more``)."""
    leases.release(Mailbox, mailbox.pk, owner=owner, interval=poll_interval(), error=error,
                   more=more)


# ---- the poll -----------------------------------------------------------------------------


def poll_due(*, limit: int = 10) -> int:
    """Poll the mailboxes that are due (the worker's loop); the number of mails handled."""
    owner = uuid.uuid4().hex
    handled = 0
    for _ in range(limit):
        mailbox = claim_mailbox(owner=owner)
        if mailbox is None:
            break
        handled += poll_claimed(mailbox, owner).handled
    return handled


def poll_now(*, mailbox_id: int | None = None) -> list[PollResult]:
    """Poll now (``saraban mail poll``): every mailbox with IMAP, or one, due or not; a
    mailbox another worker is polling is skipped."""
    owner = uuid.uuid4().hex
    results = []
    ids = Mailbox.objects.filter(_pollable()).order_by("pk").values_list("pk", flat=True)
    for pk in ids if mailbox_id is None else [mailbox_id]:
        mailbox = claim_mailbox(owner=owner, mailbox_id=pk, due_only=False)
        if mailbox is not None:
            results.append(poll_claimed(mailbox, owner))
    return results


@contextmanager
def connect(mailbox: Mailbox) -> Iterator[IMAPClient]:
    """A logged-in IMAP connection to the mailbox, logged out at the end."""
    context = ssl.create_default_context()
    security = mailbox.imap_security
    client = IMAPClient(mailbox.imap_host, port=mailbox.imap_port,
                        ssl=security == MailSecurity.SSL,
                        ssl_context=context if security == MailSecurity.SSL else None,
                        timeout=timeout())
    try:
        if security == MailSecurity.STARTTLS:
            client.starttls(context)
        client.login(mailbox.imap_user or mailbox.address, mailbox.imap_password())
        yield client
    finally:
        try:
            client.logout()
        except (IMAPClientError, OSError, imaplib.IMAP4.error):
            with contextlib.suppress(OSError):
                client.shutdown()


def poll_claimed(mailbox: Mailbox, owner: str) -> PollResult:
    """Work through the claimed mailbox's folder (at most a batch), then give it back."""
    result = PollResult(mailbox=mailbox.address)
    try:
        with connect(mailbox) as client:
            _poll_folder(mailbox, owner, client, result)
    except (IMAPClientError, OSError, imaplib.IMAP4.error) as exc:
        # The server away, the password wrong, the connection cut: what was stored stays
        # stored; the rest is taken at the next poll.
        log.warning("polling %s: %s", mailbox.address, exc)
        result.error = f"imap: {type(exc).__name__}: {exc}"[:500]
    except Exception as exc:  # a bug or the database away: the mail stays in the folder
        log.exception("polling %s", mailbox.address)
        result.error = f"{type(exc).__name__}: {exc}"[:500]
    release_mailbox(mailbox, owner, error=result.error, more=result.remaining > 0)
    return result


class _Folders:
    """The done and kept folders in the server's own spelling, created when missing."""

    def __init__(self, mailbox: Mailbox, client: IMAPClient) -> None:
        prefix, separator = "", "/"
        try:
            personal = client.namespace().personal
            if personal:
                prefix, separator = _text(personal[0][0]), _text(personal[0][1]) or "/"
        except (IMAPClientError, imaplib.IMAP4.error):
            listed = client.list_folders(directory="", pattern="")
            if listed and listed[0][1]:
                separator = _text(listed[0][1])
        self.done = self._name(mailbox.imap_done_folder, prefix, separator)
        self.kept = self._name(mailbox.imap_kept_folder, prefix, separator)
        for folder in (self.done, self.kept):
            if not client.folder_exists(folder):
                self._create(client, folder, separator)

    @staticmethod
    def _name(folder: str, prefix: str, separator: str) -> str:
        name = folder.strip().strip("/").replace("/", separator)
        if prefix and not name.upper().startswith(prefix.upper()) and name.upper() != "INBOX":
            name = prefix + name
        return name

    @staticmethod
    def _create(client: IMAPClient, folder: str, separator: str) -> None:
        parts = folder.split(separator)
        for n in range(1, len(parts) + 1):
            name = separator.join(parts[:n])
            if n < len(parts) and client.folder_exists(name):
                continue
            try:
                client.create_folder(name)
            except IMAPClientError:
                if not client.folder_exists(name):
                    raise
        with contextlib.suppress(IMAPClientError):  # a courtesy to the clerks' mail programs
            client.subscribe_folder(folder)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _poll_folder(mailbox: Mailbox, owner: str, client: IMAPClient, result: PollResult) -> None:
    folders = _Folders(mailbox, client)
    client.select_folder(mailbox.imap_folder)
    uids = sorted(int(u) for u in client.search(["UNDELETED"]))
    batch = uids[: poll_batch()]
    result.remaining = max(0, len(uids) - len(batch))
    limit = mail_limits().max_bytes
    move = _mover(client)
    for start in range(0, len(batch), _CHUNK):
        chunk = batch[start:start + _CHUNK]
        heads = client.fetch(chunk, ["RFC822.SIZE", _HEADER])
        for uid in chunk:
            if not _renew(mailbox, owner):
                result.error = "lease lost"
                result.remaining += 1
                return
            info = heads.get(uid)
            if info is None:  # expunged meanwhile by someone else
                continue
            size = int(info.get(b"RFC822.SIZE", 0))
            head = bytes(info.get(_HEADER_KEY) or b"")
            target = _handle(mailbox, client, uid, size, head, limit, result, folders)
            if target is None:
                continue
            try:
                move([uid], target)
                result.moved += 1
            except IMAPClientError as exc:
                # Stored and recorded: the next poll only moves it (its Message-ID is known).
                result.move_failed += 1
                result.error = f"move {uid}: {exc}"[:500]
                log.warning("moving mail %s of %s: %s", uid, mailbox.address, exc)


def _handle(mailbox: Mailbox, client: IMAPClient, uid: int, size: int, head: bytes,
            limit: int, result: PollResult, folders: _Folders) -> str | None:
    """Process one mail; the folder to move it to (None: leave it)."""
    key = seen_key(header_message_id(head))
    if key:
        known = (MailSeen.objects.filter(mailbox=mailbox, message_key=key)
                 .values_list("outcome", flat=True).first())
        if known is not None:
            result.duplicates += 1
            result.items.append(f"known {uid}")
            return folders.done if known == MailOutcome.INBOX else folders.kept
    if size > limit:
        outcome = refuse_unread(mailbox, head=head, size=size, source="imap")
    else:
        fetched = client.fetch([uid], ["BODY.PEEK[]"]).get(uid)
        if fetched is None or b"BODY[]" not in fetched:
            return None  # gone meanwhile
        outcome = ingest(mailbox, bytes(fetched[b"BODY[]"]), source="imap")
    if outcome.outcome == "duplicate":
        result.duplicates += 1
    elif outcome.outcome == MailOutcome.INBOX:
        result.inbox += 1
    elif outcome.refused:
        result.refused += 1
    else:
        result.kept_apart += 1
    result.items.append(f"{outcome.outcome} {uid}")
    return folders.done if outcome.is_letter else folders.kept


def _mover(client: IMAPClient) -> Callable[[list[int], str], object]:
    """MOVE where the server has it, else COPY, \\Deleted and (UID) EXPUNGE."""
    if client.has_capability("MOVE"):
        move: Callable[[list[int], str], object] = client.move
        return move
    return _copy_delete(client, uidplus=client.has_capability("UIDPLUS"))


def _copy_delete(client: IMAPClient, *, uidplus: bool) -> Callable[[list[int], str], None]:
    """The move of a server without MOVE. With UIDPLUS only these UIDs are expunged; without
    it a plain EXPUNGE also removes what a clerk flagged deleted in that folder (as their
    own mail program would on closing it)."""

    def copy_delete(uids: list[int], folder: str) -> None:
        client.copy(uids, folder)
        client.delete_messages(uids, silent=True)
        if uidplus:
            client.expunge(uids)
        else:
            client.expunge()

    return copy_delete
