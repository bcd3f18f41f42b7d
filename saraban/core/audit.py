"""Writing and verifying the audit trail.

``audit_record`` is called by every action inside its transaction. ``audit_verify`` walks each
chain and reports the first event that was altered, inserted or deleted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

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


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


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
    event.hash = event_hash(event)
    event.save(force_insert=True)
    head.last_seq = event.seq
    head.last_hash = event.hash
    head.save(update_fields=["last_seq", "last_hash"])
    return event


class Breach(StrEnum):
    ALTERED = "altered"
    INSERTED = "inserted"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class ChainProblem:
    agency_id: int
    seq: int
    kind: Breach
    event_id: int | None

    def describe(self) -> str:
        where = f"agency {self.agency_id}, event #{self.seq}"
        if self.event_id is not None:
            where += f" (id {self.event_id})"
        return f"{where}: {self.kind.value}"


def _walk(
    agency_id: int, events: Iterable[AuditEvent], head: AuditChain | None
) -> ChainProblem | None:
    expected_seq = 1
    prev_hash = ""
    for event in events:
        if event.seq > expected_seq:
            return ChainProblem(agency_id, expected_seq, Breach.DELETED, None)
        if event.seq < expected_seq:  # cannot happen with the unique constraint, but be sure
            return ChainProblem(agency_id, event.seq, Breach.INSERTED, event.pk)
        if head is not None and event.seq > head.last_seq:
            return ChainProblem(agency_id, event.seq, Breach.INSERTED, event.pk)
        if event_hash(event) != event.hash:
            return ChainProblem(agency_id, event.seq, Breach.ALTERED, event.pk)
        if event.prev_hash != prev_hash:
            return ChainProblem(agency_id, event.seq, Breach.INSERTED, event.pk)
        prev_hash = event.hash
        expected_seq += 1
    last_seq = expected_seq - 1
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

        problem = _walk(agency_id, counting(events), heads.get(agency_id))
        yield agency_id, counted, problem


def history(target_type: str, target_id: int) -> list[AuditEvent]:
    """The events about one thing, oldest first: what its history page shows."""
    return list(
        AuditEvent.objects.filter(target_type=target_type, target_id=target_id)
        .order_by("created_at", "seq")
    )
