"""The delivery loop the worker runs beside the job queue: due outbox rows (mail included),
certificate announcements, the poll of each agency's own e-CMS node (every
``SARABAN_ECMS_POLL_SECONDS``) and of each central mailbox over IMAP (every
``SARABAN_MAIL_POLL_SECONDS``)."""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections, connections

from .ecms.poll import poll_due
from .mail.imap import poll_due as mail_poll_due
from .models import OutboxMessage, OutState
from .outbox import deliver_due
from .renewal import announcement_deliver_due

log = logging.getLogger(__name__)


def run_loop(stop: threading.Event, *, interval: float = 0.5, batch: int = 20) -> None:
    """Deliver due messages until ``stop`` is set; sleeps only when nothing was due."""
    try:
        while not stop.is_set():
            close_old_connections()
            try:
                worked = (deliver_due(limit=batch) + announcement_deliver_due(limit=batch)
                          + poll_due() + mail_poll_due())
            except Exception:  # the database may be away for a moment: try again
                log.exception("exchange delivery loop")
                connections.close_all()
                worked = 0
            if not worked:
                stop.wait(interval)
    finally:
        connections.close_all()


def start_delivery_thread(*, interval: float = 0.5) -> threading.Event:
    stop = threading.Event()
    thread = threading.Thread(
        target=run_loop, args=(stop,), kwargs={"interval": interval},
        name="saraban-exchange", daemon=True,
    )
    thread.start()
    return stop


def drain(*, timeout: float = 60.0) -> int:
    """Deliver until nothing is due now (for ``--batch`` runs and tests)."""
    total = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worked = (deliver_due(limit=50) + announcement_deliver_due(limit=50) + poll_due()
                  + mail_poll_due())
        total += worked
        if not worked:
            break
    return total


def pending() -> int:
    return OutboxMessage.objects.filter(state=OutState.QUEUED).count()
