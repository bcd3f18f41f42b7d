"""Writing and verifying the audit trail.

``audit_record`` is called by every action inside its transaction. ``audit_verify`` walks each
chain and reports the first event that was altered, inserted, deleted or cut off.

Each chain has its own HMAC key, sealed under the node's key-encryption key: someone with
the database alone can change events but cannot compute hashes that verify. To catch the
newest events deleted with the head rewound, ``audit_checkpoint`` writes each chain's head,
MAC'd with the chain key, to a file outside the database (the worker does it every
``SARABAN_AUDIT_CHECKPOINT_SECONDS``); ``audit_verify`` checks the chain reaches its latest
checkpoint with the same hash.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import keys
from .models import AuditChain, AuditEvent

if TYPE_CHECKING:
    from saraban.agencies.actors import Actor


def _canonical(event: AuditEvent) -> bytes:
    created = event.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    payload = {
        "agency": event.agency_id,
        "seq": event.seq,
        "action": event.action,
        "created_at": created,
        "actor": event.actor_id,
        "actor_name": event.actor_name,
        "position": event.position_id,
        "position_title": event.position_title,
        "acting_kind": event.acting_kind,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "details": event.details,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


log = logging.getLogger(__name__)


def chain_key_purpose(agency_id: int, keyed_from_seq: int) -> str:
    """What a chain key is sealed for: its agency and the first event it applies to."""
    return f"audit-chain:{agency_id}:{keyed_from_seq}"


@functools.lru_cache(maxsize=4096)
def _open_chain_key(sealed: str, purpose: str) -> bytes:
    return keys.unseal(sealed, purpose=purpose)


def chain_key(chain: AuditChain) -> bytes:
    """The HMAC key of a chain; ``KeyUnavailable`` when its seal was changed or is missing."""
    if not chain.key_sealed:
        raise keys.KeyUnavailable("ห่วงโซ่บันทึกการตรวจสอบไม่มีกุญแจ", code="audit_key_missing")
    return _open_chain_key(chain.key_sealed,
                           chain_key_purpose(chain.agency_id, chain.keyed_from_seq))


def event_hash(event: AuditEvent, key: bytes | None = None) -> str:
    """The event's hash: HMAC-SHA256 under its chain's key, or plain SHA-256 for events written
    before the chain had a key (``key`` None)."""
    if key is None:
        return hashlib.sha256(_canonical(event)).hexdigest()
    return hmac.new(key, _canonical(event), hashlib.sha256).hexdigest()


def _give_key(head: AuditChain) -> None:
    """Key a chain that has none yet (a new chain, from its first event on)."""
    head.keyed_from_seq = head.last_seq + 1
    head.key_sealed = keys.seal(
        secrets.token_bytes(32), purpose=chain_key_purpose(head.agency_id, head.keyed_from_seq)
    )
    head.save(update_fields=["key_sealed", "keyed_from_seq"])


def audit_record(
    *,
    agency_id: int,
    action: str,
    actor: Actor | None,
    target_type: str = "",
    target_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the agency's chain; must run inside the action's transaction."""
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        raise RuntimeError("audit_record must be called inside the action's transaction")
    AuditChain.objects.get_or_create(agency_id=agency_id)
    head = AuditChain.objects.select_for_update().get(agency_id=agency_id)
    if not head.key_sealed:
        _give_key(head)
    event = AuditEvent(
        agency_id=agency_id,
        seq=head.last_seq + 1,
        action=action,
        created_at=timezone.now(),
        target_type=target_type,
        target_id=target_id,
        details=json.loads(json.dumps(details or {}, ensure_ascii=False, default=str)),
        prev_hash=head.last_hash,
    )
    if actor is not None:
        event.actor = actor.person
        event.actor_name = actor.person.display_name()
        if actor.position is not None:
            event.position = actor.position
            event.position_title = actor.position.title_th
        event.acting_kind = actor.acting_kind
    event.hash = event_hash(event, chain_key(head))
    event.save(force_insert=True)
    head.last_seq = event.seq
    head.last_hash = event.hash
    head.save(update_fields=["last_seq", "last_hash"])
    return event


class Breach(StrEnum):
    ALTERED = "altered"
    INSERTED = "inserted"
    DELETED = "deleted"
    TRUNCATED = "truncated"  # events the latest checkpoint saw are gone, the head rewound
    KEY = "key"  # the chain key is missing or its seal was changed


@dataclass(frozen=True, slots=True)
class ChainProblem:
    agency_id: int
    seq: int
    kind: Breach
    event_id: int | None
    note: str = ""

    def describe(self) -> str:
        where = f"agency {self.agency_id}, event #{self.seq}"
        if self.event_id is not None:
            where += f" (id {self.event_id})"
        text = f"{where}: {self.kind.value}"
        return f"{text} ({self.note})" if self.note else text


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A chain head seen at a moment, kept outside the database."""

    agency_id: int
    seq: int
    hash: str
    at: str


def _walk(
    agency_id: int,
    events: Iterable[AuditEvent],
    head: AuditChain | None,
    checkpoint: Checkpoint | None = None,
) -> ChainProblem | None:
    key: bytes | None = None
    keyed_from = 1
    if head is not None:
        try:
            key = chain_key(head)
        except keys.KeyUnavailable:
            if head.last_seq or head.key_sealed:
                return ChainProblem(agency_id, head.keyed_from_seq, Breach.KEY, None,
                                    "the chain key is missing or its seal does not open")
        keyed_from = head.keyed_from_seq
    expected_seq = 1
    prev_hash = ""
    for event in events:
        if event.seq > expected_seq:
            return ChainProblem(agency_id, expected_seq, Breach.DELETED, None)
        if event.seq < expected_seq:  # cannot happen with the unique constraint, but be sure
            return ChainProblem(agency_id, event.seq, Breach.INSERTED, event.pk)
        if head is not None and event.seq > head.last_seq:
            return ChainProblem(agency_id, event.seq, Breach.INSERTED, event.pk)
        if event_hash(event, key if event.seq >= keyed_from else None) != event.hash:
            return ChainProblem(agency_id, event.seq, Breach.ALTERED, event.pk)
        if event.prev_hash != prev_hash:
            return ChainProblem(agency_id, event.seq, Breach.INSERTED, event.pk)
        if checkpoint is not None and event.seq == checkpoint.seq and event.hash != checkpoint.hash:
            return ChainProblem(agency_id, event.seq, Breach.ALTERED, event.pk,
                                f"differs from the checkpoint of {checkpoint.at}")
        prev_hash = event.hash
        expected_seq += 1
    last_seq = expected_seq - 1
    if checkpoint is not None and checkpoint.seq > last_seq:
        return ChainProblem(
            agency_id, last_seq + 1, Breach.TRUNCATED, None,
            f"events #{last_seq + 1}-#{checkpoint.seq} are missing; the checkpoint of "
            f"{checkpoint.at} saw #{checkpoint.seq}",
        )
    if head is None:
        if last_seq:
            return ChainProblem(agency_id, last_seq, Breach.INSERTED, None)
        return None
    if head.last_seq > last_seq:
        return ChainProblem(agency_id, last_seq + 1, Breach.DELETED, None)
    if head.last_hash != prev_hash:
        return ChainProblem(agency_id, head.last_seq, Breach.ALTERED, None)
    return None


def audit_verify(
    agency_ids: Iterable[int] | None = None,
) -> Iterator[tuple[int, int, ChainProblem | None]]:
    """Yield ``(agency_id, events_checked, first_problem_or_None)`` for each chain."""
    heads = {h.agency_id: h for h in AuditChain.objects.all()}
    ids = set(heads) | set(AuditEvent.objects.values_list("agency_id", flat=True).distinct())
    ids |= set(checkpoint_agencies())
    if agency_ids is not None:
        ids &= set(agency_ids)
    for agency_id in sorted(ids):
        events = AuditEvent.objects.filter(agency_id=agency_id).order_by("seq").iterator(2000)
        counted = 0

        def counting(it: Iterator[AuditEvent]) -> Iterator[AuditEvent]:
            nonlocal counted
            for e in it:
                counted += 1
                yield e

        head = heads.get(agency_id)
        if head is not None and (head.last_seq or head.key_sealed):
            try:
                chain_key(head)
            except keys.KeyUnavailable:
                yield agency_id, 0, ChainProblem(
                    agency_id, head.keyed_from_seq, Breach.KEY, None,
                    "the chain key is missing or its seal does not open")
                continue
        try:
            checkpoint = latest_checkpoint(agency_id, head)
        except CheckpointForged as exc:
            yield agency_id, 0, ChainProblem(agency_id, exc.seq, Breach.ALTERED, None,
                                             f"checkpoint file: {exc}")
            continue
        problem = _walk(agency_id, counting(events), head, checkpoint)
        yield agency_id, counted, problem


# --- Checkpoints outside the database -------------------------------------------------------


class CheckpointForged(Exception):
    def __init__(self, message: str, seq: int) -> None:
        super().__init__(message)
        self.seq = seq


def checkpoint_dir() -> Path:
    return Path(settings.SARABAN_AUDIT_CHECKPOINT_DIR)


def _checkpoint_file(agency_id: int) -> Path:
    return checkpoint_dir() / f"agency-{agency_id}.jsonl"


def _checkpoint_mac(key: bytes, agency_id: int, seq: int, hash_: str, at: str) -> str:
    message = f"audit-checkpoint|{agency_id}|{seq}|{hash_}|{at}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def checkpoint_agencies() -> list[int]:
    folder = checkpoint_dir()
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("agency-*.jsonl"):
        number = path.stem.removeprefix("agency-")
        if number.isdigit():
            found.append(int(number))
    return found


def _tail_lines(path: Path, size: int = 65536) -> list[str]:
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        end = handle.tell()
        handle.seek(max(0, end - size))
        data = handle.read()
    lines = data.decode("utf-8", "replace").splitlines()
    return lines[1:] if end > size else lines  # the first may be cut


def latest_checkpoint(agency_id: int, head: AuditChain | None = None) -> Checkpoint | None:
    """The newest checkpoint of a chain whose MAC verifies; ``CheckpointForged`` when a line
    does not verify (the file was written by someone without the chain key)."""
    path = _checkpoint_file(agency_id)
    if not path.is_file():
        return None
    head = head or AuditChain.objects.filter(agency_id=agency_id).first()
    best: Checkpoint | None = None
    key: bytes | None = None
    for line in _tail_lines(path):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            point = Checkpoint(int(data["agency"]), int(data["seq"]), str(data["hash"]),
                               str(data["at"]))
            mac = str(data["mac"])
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointForged("a line is not a checkpoint", 0) from exc
        if key is None:
            if head is None:
                raise CheckpointForged("checkpoints exist for a chain that is gone", point.seq)
            try:
                key = chain_key(head)
            except keys.KeyUnavailable as exc:
                raise CheckpointForged("the chain key does not open", point.seq) from exc
        expected = _checkpoint_mac(key, point.agency_id, point.seq, point.hash, point.at)
        if point.agency_id != agency_id or not hmac.compare_digest(expected, mac):
            raise CheckpointForged(f"checkpoint #{point.seq} does not verify", point.seq)
        if best is None or point.seq > best.seq:
            best = point
    return best


def audit_checkpoint(agency_ids: Iterable[int] | None = None) -> int:
    """Append the head of every chain that moved since its last checkpoint; how many written.

    Run by the worker every ``SARABAN_AUDIT_CHECKPOINT_SECONDS`` and by ``saraban audit
    checkpoint``. A line is MAC'd with the chain key, so the database alone cannot forge one.
    """
    folder = checkpoint_dir()
    folder.mkdir(parents=True, exist_ok=True)
    heads = AuditChain.objects.exclude(key_sealed="").filter(last_seq__gt=0)
    if agency_ids is not None:
        heads = heads.filter(agency_id__in=list(agency_ids))
    written = 0
    for head in heads:
        try:
            previous = latest_checkpoint(head.agency_id, head)
        except CheckpointForged:
            log.error("audit checkpoint file of agency %s does not verify", head.agency_id)
            previous = None
        if previous is not None and previous.seq >= head.last_seq:
            continue
        at = timezone.now().astimezone(dt.UTC).isoformat(timespec="seconds")
        line = {"agency": head.agency_id, "seq": head.last_seq, "hash": head.last_hash,
                "at": at,
                "mac": _checkpoint_mac(chain_key(head), head.agency_id, head.last_seq,
                                       head.last_hash, at)}
        encoded = (json.dumps(line, separators=(",", ":")) + "\n").encode()
        fd = os.open(_checkpoint_file(head.agency_id),
                     os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, encoded)  # one write with O_APPEND: lines never interleave
            os.fsync(fd)
        finally:
            os.close(fd)
        written += 1
    return written


def history(target_type: str, target_id: int) -> list[AuditEvent]:
    """The events about one thing, oldest first: what its history page shows."""
    return list(
        AuditEvent.objects.filter(target_type=target_type, target_id=target_id)
        .order_by("created_at", "seq")
    )
