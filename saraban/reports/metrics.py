"""The operators' metrics: queues, delivery latency, refusals, OCR backlog and sign-in failures,
in the Prometheus text format (``GET /metrics``, see docs/operations.md).

Every figure is read from the database when Prometheus scrapes, by a fixed number of aggregate
queries (one per family group, ten in all) whatever the size of the tables, and exported by a
collector registered in a private ``CollectorRegistry`` per scrape, so nothing of the process
(or of another test) leaks in. Label values are bounded: states, channels, stable codes and
kinds, never a letter, an address or free text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    Count,
    DurationField,
    F,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from saraban.agencies.throttle import cool_off, failure_limit
from saraban.core.models import AuditEvent
from saraban.exchange.models import (
    EcmsAccount,
    InboxMessage,
    InState,
    Mailbox,
    MessageType,
    OutboxMessage,
    OutState,
)
from saraban.intake.models import IntakeState, ScanIntake
from saraban.letters.models import Channel

__all__ = ["LATENCY_BUCKETS", "SarabanCollector", "render_metrics"]

#: Upper bounds (seconds) of the delivery latency histogram: a second to a day.
LATENCY_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 21600, 86400)
#: How far back the latency histogram and the refusal counts look.
WINDOW = dt.timedelta(hours=24)

CHANNELS = (str(Channel.SARABAN), str(Channel.ECMS), str(Channel.EMAIL))
#: Outbox states still needing something (a delivery, a business receipt, or a person):
#: registered and withdrawn rows are settled history and are not scanned.
OPEN_OUT_STATES = (OutState.QUEUED, OutState.SENT, OutState.FAILED, OutState.REJECTED,
                   OutState.RETURNED)
OCR_PENDING = (IntakeState.QUEUED, IntakeState.RUNNING)
MAILTO = "mailto:"
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")
#: Label value for a refusal code that is not a stable code (never exported as free text).
OTHER = "other"


def _outbox_channel() -> Case:
    """The channel an outbox row goes by, as ``outbox.deliver`` and ``ecms.send.is_ecms``
    decide it: a ``mailto:`` recipient is a mail; a command, a letter dispatched by e-CMS and
    a receipt carrying the e-CMS wire values go through e-CMS; the rest node to node."""
    return Case(
        When(recipient_code__startswith=MAILTO, then=Value(str(Channel.EMAIL))),
        When(type=MessageType.COMMAND, then=Value(str(Channel.ECMS))),
        When(type=MessageType.LETTER, dispatch__channel=Channel.ECMS,
             then=Value(str(Channel.ECMS))),
        When(type=MessageType.RECEIPT, payload__has_key="ecms", then=Value(str(Channel.ECMS))),
        default=Value(str(Channel.SARABAN)),
        output_field=CharField(),
    )


def _inbox_channel() -> Case:
    """How an inbox row arrived, as ``saraban.exchange.inbox.arrival_channel`` says."""
    return Case(
        When(receipt__channel=str(Channel.EMAIL), then=Value(str(Channel.EMAIL))),
        When(receipt__channel=str(Channel.ECMS), then=Value(str(Channel.ECMS))),
        When(sender_code__startswith=MAILTO, then=Value(str(Channel.EMAIL))),
        When(envelope__has_key="ecms", then=Value(str(Channel.ECMS))),
        default=Value(str(Channel.SARABAN)),
        output_field=CharField(),
    )


def _age(now: dt.datetime, since: dt.datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0


def _code_label(code: Any) -> str:
    text = str(code or "")
    return text if _CODE.match(text) else OTHER


class SarabanCollector(Collector):
    """Reads the figures at scrape time; ``now`` fixes the clock of one scrape."""

    def __init__(self, *, now: dt.datetime | None = None) -> None:
        self.now = now or timezone.now()

    def collect(self) -> Iterable[Metric]:
        yield from self._outbox()
        yield self._latency()
        yield from self._inbox()
        yield self._refusals()
        yield from self._ocr()
        yield from self._logins()
        yield from self._pollers()

    # ---- exchange ---------------------------------------------------------------------------

    def _outbox(self) -> Iterator[Metric]:
        rows = (
            OutboxMessage.objects.filter(state__in=OPEN_OUT_STATES)
            .annotate(channel=_outbox_channel())
            .values("state", "channel")
            .annotate(n=Count("pk"), oldest=Min("created_at"))
            .order_by()
        )
        counts: dict[tuple[str, str], int] = {}
        oldest: dict[str, dt.datetime] = {}
        for row in rows:
            counts[(row["state"], row["channel"])] = row["n"]
            if row["state"] == OutState.QUEUED and row["oldest"] is not None:
                oldest[row["channel"]] = row["oldest"]
        depth = GaugeMetricFamily(
            "saraban_exchange_outbox_messages",
            "Outbox messages (letters, receipts, e-CMS commands) not yet settled, by state and "
            "channel; failed, rejected and returned ones wait for a person.",
            labels=["state", "channel"],
        )
        for state in OPEN_OUT_STATES:
            for channel in CHANNELS:
                depth.add_metric([str(state), channel], counts.get((state, channel), 0))
        yield depth
        age = GaugeMetricFamily(
            "saraban_exchange_outbox_oldest_queued_seconds",
            "Age of the oldest queued outbox message by channel (0 when none is queued).",
            labels=["channel"],
        )
        for channel in CHANNELS:
            age.add_metric([channel], _age(self.now, oldest.get(channel)))
        yield age

    def _latency(self) -> Metric:
        bounds = {
            f"le_{i}": Count("pk", filter=Q(
                sent_at__lte=F("created_at") + dt.timedelta(seconds=bound)))
            for i, bound in enumerate(LATENCY_BUCKETS)
        }
        rows = (
            OutboxMessage.objects.filter(type=MessageType.LETTER,
                                         sent_at__gte=self.now - WINDOW)
            .annotate(channel=_outbox_channel())
            .values("channel")
            .annotate(total=Count("pk"),
                      seconds=Sum(F("sent_at") - F("created_at"), output_field=DurationField()),
                      **bounds)
            .order_by()
        )
        by_channel: dict[str, dict[str, Any]] = {row["channel"]: dict(row) for row in rows}
        family = HistogramMetricFamily(
            "saraban_exchange_delivery_latency_seconds",
            "Seconds from dispatch to the transport receipt (or the relay's acceptance) of the "
            "letters sent in the last 24 hours, by channel.",
            labels=["channel"],
        )
        for channel in CHANNELS:
            row = by_channel.get(channel, {})
            buckets = [(str(float(bound)), float(row.get(f"le_{i}", 0)))
                       for i, bound in enumerate(LATENCY_BUCKETS)]
            buckets.append(("+Inf", float(row.get("total", 0))))
            total: dt.timedelta | None = row.get("seconds")
            family.add_metric([channel], buckets,
                              total.total_seconds() if total is not None else 0.0)
        return family

    def _inbox(self) -> Iterator[Metric]:
        rows = (
            InboxMessage.objects.filter(state=InState.WAITING)
            .annotate(channel=_inbox_channel())
            .values("channel")
            .annotate(n=Count("pk"), oldest=Min("received_at"))
            .order_by()
        )
        by_channel: dict[str, dict[str, Any]] = {row["channel"]: dict(row) for row in rows}
        waiting = GaugeMetricFamily(
            "saraban_exchange_inbox_waiting",
            "Letters that arrived electronically and wait for a registry to register them, by "
            "channel.",
            labels=["channel"],
        )
        age = GaugeMetricFamily(
            "saraban_exchange_inbox_oldest_waiting_seconds",
            "Age of the oldest letter waiting in an electronic inbox, by channel (0 when none).",
            labels=["channel"],
        )
        for channel in CHANNELS:
            row = by_channel.get(channel, {})
            waiting.add_metric([channel], row.get("n", 0))
            age.add_metric([channel], _age(self.now, row.get("oldest")))
        yield waiting
        yield age

    def _refusals(self) -> Metric:
        rows = (
            AuditEvent.objects.filter(action="exchange_refuse", created_at__gte=self.now - WINDOW)
            .values(code=KeyTextTransform("code", "details"),
                    channel=KeyTextTransform("channel", "details"))
            .annotate(n=Count("pk"))
            .order_by()
        )
        counts: dict[tuple[str, str], int] = {}
        for row in rows:
            channel = row["channel"] if row["channel"] in CHANNELS else str(Channel.SARABAN)
            key = (channel, _code_label(row["code"]))
            counts[key] = counts.get(key, 0) + row["n"]
        family = GaugeMetricFamily(
            "saraban_exchange_refusals",
            "Arrivals refused in the last 24 hours (node to node, e-CMS, e-mail), by channel and "
            "stable refusal code.",
            labels=["channel", "code"],
        )
        for (channel, code), n in sorted(counts.items()):
            family.add_metric([channel, code], n)
        return family

    # ---- OCR --------------------------------------------------------------------------------

    def _ocr(self) -> Iterator[Metric]:
        rows = (
            ScanIntake.objects.filter(state__in=OCR_PENDING)
            .values("state")
            .annotate(n=Count("pk"), oldest=Min("created_at"))
            .order_by()
        )
        by_state: dict[str, dict[str, Any]] = {row["state"]: dict(row) for row in rows}
        backlog = GaugeMetricFamily(
            "saraban_ocr_backlog",
            "Uploaded scans waiting for OCR (queued) or being read (running).",
            labels=["state"],
        )
        for state in OCR_PENDING:
            backlog.add_metric([str(state)], by_state.get(state, {}).get("n", 0))
        yield backlog
        starts = [row["oldest"] for row in by_state.values() if row["oldest"] is not None]
        yield GaugeMetricFamily(
            "saraban_ocr_oldest_pending_seconds",
            "Age of the oldest scan not yet read (0 when none).",
            value=_age(self.now, min(starts) if starts else None),
        )

    # ---- sign-in ----------------------------------------------------------------------------

    def _logins(self) -> Iterator[Metric]:
        recent = AccessAttempt.objects.filter(attempt_time__gte=self.now - cool_off())
        pairs = recent.aggregate(
            failures=Sum("failures_since_start"),
            locked=Count("pk", filter=Q(failures_since_start__gte=failure_limit())),
        )
        users = (recent.exclude(username=None).values("username")
                 .annotate(n=Sum("failures_since_start")).order_by()
                 .filter(n__gte=int(settings.SARABAN_LOGIN_USER_MAX_FAILURES)).count())
        addresses = (recent.exclude(ip_address=None).values("ip_address")
                     .annotate(n=Sum("failures_since_start")).order_by()
                     .filter(n__gte=int(settings.SARABAN_LOGIN_ADDRESS_MAX_FAILURES)).count())
        yield GaugeMetricFamily(
            "saraban_login_failures",
            "Failed sign-ins (web, API, admin) the throttle counts now: those of username and "
            "address pairs whose last failure is within SARABAN_LOGIN_WINDOW_SECONDS.",
            value=int(pairs["failures"] or 0),
        )
        locked = GaugeMetricFamily(
            "saraban_login_locked",
            "Sign-in locks in force: username+address pairs, usernames (from any address) and "
            "addresses over their failure limits.",
            labels=["scope"],
        )
        locked.add_metric(["pair"], int(pairs["locked"] or 0))
        locked.add_metric(["username"], users)
        locked.add_metric(["address"], addresses)
        yield locked

    # ---- pollers ----------------------------------------------------------------------------

    def _pollers(self) -> Iterator[Metric]:
        def figures(rows: QuerySet[Any]) -> dict[str, Any]:
            return rows.aggregate(
                ok=Count("pk", filter=Q(last_error="")),
                error=Count("pk", filter=~Q(last_error="")),
                oldest=Min(Coalesce("last_polled_at", "created_at")),
            )

        # Only mailboxes read over IMAP are polled; piped ones are handed their mail.
        kinds = {
            "mailbox": figures(Mailbox.objects.filter(enabled=True).exclude(imap_host="")),
            "ecms": figures(EcmsAccount.objects.all()),
        }
        pollers = GaugeMetricFamily(
            "saraban_exchange_pollers",
            "Central mailboxes (IMAP, enabled) and e-CMS accounts this node polls, by whether "
            "their last poll ended in an error.",
            labels=["kind", "status"],
        )
        age = GaugeMetricFamily(
            "saraban_exchange_poll_oldest_seconds",
            "Seconds since the least recently polled mailbox or e-CMS account was last polled "
            "(since it was added, if never; 0 when there is none).",
            labels=["kind"],
        )
        for kind, found in kinds.items():
            pollers.add_metric([kind, "ok"], found["ok"])
            pollers.add_metric([kind, "error"], found["error"])
            age.add_metric([kind], _age(self.now, found["oldest"]))
        yield pollers
        yield age


def render_metrics(*, now: dt.datetime | None = None) -> bytes:
    """The metrics in the Prometheus text format, from a registry made for this scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SarabanCollector(now=now))
    return generate_latest(registry)
