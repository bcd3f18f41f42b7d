"""Numbers under real concurrency: many connections register into one series at once.

Each thread has its own database connection (Django keeps one per thread) and goes through
the real actions, so the row lock in ``issue_number`` (PostgreSQL) or ``BEGIN IMMEDIATE``
(SQLite) is what keeps the numbers 1..N. The threads start together at a barrier.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections, transaction

from saraban.agencies.actors import resolve_actor
from saraban.core.audit import audit_verify
from saraban.letters.models import RegisterEntry, SeriesKind
from saraban.letters.services import (
    LetterDetails,
    Recipient,
    letter_register_incoming,
    letter_register_outgoing,
)


class RolledBack(Exception):
    """Raised on purpose after an action, to roll back its whole outer transaction."""


def run_threads(threads: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(i)`` in ``threads`` threads started together; return what they raised."""
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def body(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            work(i)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    pool = [threading.Thread(target=body, args=(i,), name=f"reg-{i}") for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in pool), "a registering thread hung"
    return errors


def numbers_of(org, kind: str) -> list[int]:
    return sorted(
        RegisterEntry.objects.filter(series__registry=org.central, series__kind=kind)
        .values_list("number", flat=True)
    )


def assert_chain_intact() -> None:
    problems = [p for _a, _n, p in audit_verify() if p is not None]
    assert problems == []


def register_incoming_concurrently(org, *, threads: int, per_thread: int) -> None:
    actor = resolve_actor(org.clerk)

    def work(i: int) -> None:
        for j in range(per_thread):
            letter_register_incoming(
                actor=actor, registry=org.central,
                details=LetterDetails(kind="external", subject=f"หนังสือ {i}-{j}",
                                      sender_text="กรมการปกครอง"),
            )

    errors = run_threads(threads, work)
    assert errors == []
    n = threads * per_thread
    numbers = numbers_of(org, SeriesKind.INCOMING)
    assert len(numbers) == len(set(numbers)), "duplicate numbers"
    assert numbers == list(range(1, n + 1))
    assert_chain_intact()


def register_outgoing_with_rollbacks(org, *, threads: int, per_thread: int) -> int:
    """Every third registration rolls back after the action; return how many committed."""
    actor = resolve_actor(org.clerk)
    committed = [0] * threads

    def work(i: int) -> None:
        for j in range(per_thread):
            try:
                with transaction.atomic():
                    letter_register_outgoing(
                        actor=actor, registry=org.central,
                        details=LetterDetails(kind="external", subject=f"ส่ง {i}-{j}"),
                        recipients=[Recipient(channel="post", text="จังหวัดเชียงใหม่")],
                    )
                    if (i + j) % 3 == 0:
                        raise RolledBack
                committed[i] += 1
            except RolledBack:
                pass

    errors = run_threads(threads, work)
    assert errors == []
    n = sum(committed)
    numbers = numbers_of(org, SeriesKind.OUTGOING)
    assert n < threads * per_thread  # some really rolled back
    assert numbers == list(range(1, n + 1)), "a rolled-back registration left a gap"
    assert_chain_intact()
    return n


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_1024_incoming_from_32_connections_are_numbered_1_to_n_on_postgres(org):
    assert connection.vendor == "postgresql"
    register_incoming_concurrently(org, threads=32, per_thread=32)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_rolled_back_outgoing_leave_no_gap_on_postgres(org):
    assert register_outgoing_with_rollbacks(org, threads=32, per_thread=12) > 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_incoming_are_numbered_1_to_n(org):
    """The same proof on whichever database the pass runs (SQLite: 8 writers, 25 each)."""
    register_incoming_concurrently(org, threads=8, per_thread=25)


@pytest.mark.django_db(transaction=True)
def test_rolled_back_outgoing_leave_no_gap(org):
    register_outgoing_with_rollbacks(org, threads=8, per_thread=12)
