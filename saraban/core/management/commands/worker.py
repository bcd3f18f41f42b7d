"""``saraban worker``: run the background worker (django-tasks-db's ``db_worker``).

Jobs written by actions in their transaction (the receipt stamp, …) are run here after the
action commits, and a delivery loop sends the exchange outbox (saraban.exchange.worker);
a second small loop sends routing reminders every few minutes (saraban.routing.reminders),
a third indexes the letters marked for the search index (saraban.search.index), and a daily
one warns agency admins of certificates about to lapse and drops previous exchange
certificates whose overlap has ended (``certificate_checks``).
``--batch`` runs what is queued and exits (tests, cron); the other options are passed
through to ``db_worker``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connections

from saraban.core.audit import audit_checkpoint
from saraban.core.keys import require_node_secrets

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the background worker (django-tasks-db). --batch: run queued jobs and exit."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", action="store_true",
                            help="run every queued job, then exit")
        parser.add_argument("--queue-name", default="*",
                            help="queues to process, comma-separated ('*': all)")
        parser.add_argument("--interval", type=float, default=1.0,
                            help="seconds between polls for new jobs")
        parser.add_argument("--max-tasks", type=int, default=None,
                            help="exit after this many jobs")
        parser.add_argument("--worker-id", default=None, help="unique id of this worker")
        parser.add_argument("--startup-delay", action="store_true",
                            help="wait a moment before the first poll (many workers)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            require_node_secrets()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        argv = ["--queue-name", options["queue_name"], "--interval", str(options["interval"]),
                "--no-reload"]
        if options["batch"]:
            argv.append("--batch")
        if options["max_tasks"] is not None:
            argv += ["--max-tasks", str(options["max_tasks"])]
        if options["worker_id"]:
            argv += ["--worker-id", options["worker_id"]]
        if not options["startup_delay"]:
            argv.append("--no-startup-delay")
        from saraban.exchange.worker import drain, start_delivery_thread
        from saraban.reports.tallies import fold_dirty
        from saraban.search.index import index_dirty

        if options["batch"]:
            drain()
            call_command("db_worker", *argv, verbosity=options["verbosity"])
            drain()
            index_dirty()
            fold_dirty()
            audit_checkpoint()
            certificate_checks()
            return
        stop = start_delivery_thread(interval=min(options["interval"], 0.5))
        stop_reminders = start_reminder_thread(interval=REMINDER_INTERVAL)
        stop_index = start_loop_thread(index_dirty, name="saraban-search-index",
                                       interval=INDEX_INTERVAL)
        stop_tallies = start_loop_thread(fold_dirty, name="saraban-report-tallies",
                                         interval=TALLY_INTERVAL)
        stop_checkpoints = start_loop_thread(
            audit_checkpoint, name="saraban-audit-checkpoints",
            interval=float(settings.SARABAN_AUDIT_CHECKPOINT_SECONDS))
        stop_certificates = start_loop_thread(
            certificate_checks, name="saraban-certificates",
            interval=float(getattr(settings, "SARABAN_CERT_CHECK_SECONDS", 86400)))
        try:
            call_command("db_worker", *argv, verbosity=options["verbosity"])
        finally:
            stop.set()
            stop_reminders.set()
            stop_index.set()
            stop_tallies.set()
            stop_checkpoints.set()
            stop_certificates.set()


def certificate_checks() -> None:
    """The daily certificate pass: expiry warnings (each threshold once per certificate,
    however many workers run it) and the end of renewal overlaps."""
    from saraban.exchange.renewal import directory_prune_previous
    from saraban.signatures.expiry import expiry_check

    expiry_check()
    directory_prune_previous()


REMINDER_INTERVAL = 300.0  # seconds between reminder passes (routing deadlines)
INDEX_INTERVAL = 1.0  # seconds between passes over the letters marked for the search index
TALLY_INTERVAL = 2.0  # ... and over those marked for the indicators' figures


def run_reminders(stop: threading.Event, *, interval: float) -> None:
    """Send overdue reminders every ``interval`` seconds until ``stop`` is set.

    Several workers may run this at once: ``send_reminders`` claims each reminder with a
    conditional update, so a reminder still goes out once.
    """
    from saraban.routing.reminders import send_reminders

    try:
        while not stop.is_set():
            close_old_connections()
            try:
                send_reminders()
            except Exception:  # the database may be away for a moment: try next time
                log.exception("routing reminders")
                connections.close_all()
            stop.wait(interval)
    finally:
        connections.close_all()


def start_reminder_thread(*, interval: float) -> threading.Event:
    stop = threading.Event()
    threading.Thread(target=run_reminders, args=(stop,), kwargs={"interval": interval},
                     name="saraban-reminders", daemon=True).start()
    return stop


def run_loop(job: Callable[[], object], stop: threading.Event, *, interval: float) -> None:
    """Run ``job`` every ``interval`` seconds until ``stop`` is set; errors are logged and the
    next pass tries again (the database may be away for a moment)."""
    try:
        while not stop.is_set():
            close_old_connections()
            try:
                job()
            except Exception:
                log.exception("background loop %s", getattr(job, "__name__", job))
                connections.close_all()
            stop.wait(interval)
    finally:
        connections.close_all()


def start_loop_thread(job: Callable[[], object], *, name: str, interval: float) -> threading.Event:
    stop = threading.Event()
    threading.Thread(target=run_loop, args=(job, stop), kwargs={"interval": interval},
                     name=name, daemon=True).start()
    return stop
