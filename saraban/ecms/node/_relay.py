"""The relay outbox worker: POSTs each pending item to its peer's ``/ecms-relay/v1``.

Items to one peer go strictly in order (a DeleteGovernmentDocument never overtakes the
letter it deletes, nor a re-sent letter the deletion). A peer that cannot be reached is
retried forever with exponential backoff (0.25 s doubling up to ``--relay-retry-max``);
``409`` means the peer refused the item for good (``undeliverable``).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request

from ._config import RELAY_PATH, NodeConfig
from ._store import RelayJob, Store

log = logging.getLogger("saraban.ecms.node")

# Loopback and intranet peers: never through an http_proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
TIMEOUT = 15.0  # per socket operation


class RelayWorker(threading.Thread):
    """Watches the outbox and keeps one sender thread per peer, so that a peer that is down
    or hangs holds back only its own items."""

    def __init__(self, cfg: NodeConfig, store: Store) -> None:
        super().__init__(name="ecms-relay", daemon=True)
        self.cfg = cfg
        self.store = store
        self.stopping = threading.Event()
        self.senders: dict[str, _PeerSender] = {}

    def stop(self) -> None:
        self.stopping.set()
        self.store.outbox_changed.set()
        for sender in self.senders.values():
            sender.wake.set()

    def join(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        super().join(timeout)
        for sender in list(self.senders.values()):
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            sender.join(left)

    def run(self) -> None:
        while not self.stopping.is_set():
            self.store.outbox_changed.clear()
            try:
                peers = self.store.relay_peers()
            except Exception:  # the store is closing, or a bug: log, keep going
                if self.stopping.is_set():
                    return
                log.exception("relay: reading the outbox failed")
                peers = []
            for peer in peers:
                sender = self.senders.get(peer)
                if sender is None or not sender.is_alive():
                    sender = self.senders[peer] = _PeerSender(self, peer)
                    sender.start()
                sender.wake.set()
            self.store.outbox_changed.wait(5.0)


class _PeerSender(threading.Thread):
    def __init__(self, worker: RelayWorker, peer_url: str) -> None:
        super().__init__(name=f"ecms-relay {peer_url}", daemon=True)
        self.worker = worker
        self.cfg = worker.cfg
        self.store = worker.store
        self.peer_url = peer_url
        self.wake = threading.Event()

    def run(self) -> None:
        stopping = self.worker.stopping
        while not stopping.is_set():
            self.wake.clear()
            try:
                job = self.store.relay_head(self.peer_url)
                if job is None:
                    self.wake.wait(5.0)
                    continue
                due = job.next_at - time.time()
                if due > 0:
                    self.wake.wait(due)
                    continue
                self._send(job)
            except Exception:
                if stopping.is_set():
                    return
                log.exception("relay to %s failed", self.peer_url)
                self.wake.wait(1.0)

    def _url(self, job: RelayJob) -> str:
        peer = self.cfg.peer_for(job.target_dept)  # the configured URL wins (it may move)
        return peer.relay_url if peer is not None else job.peer_url.rstrip("/") + RELAY_PATH

    def _send(self, job: RelayJob) -> bool:
        """One attempt; True when the job is finished (delivered or refused for good)."""
        url = self._url(job)
        req = urllib.request.Request(  # noqa: S310 (a configured http(s) peer)
            url, data=job.payload.encode("utf-8"), method="POST",
            headers={"Content-Type": "application/json"})
        try:
            with _OPENER.open(req, timeout=TIMEOUT) as resp:
                resp.read()
            self.store.relay_done(job)
            log.info("relayed %s %s to %s", job.kind, job.relay_id, url)
            return True
        except urllib.error.HTTPError as exc:
            detail = _detail(exc)
            if exc.code == 409:
                log.warning("peer %s refused %s %s: %s", url, job.kind, job.relay_id, detail)
                self.store.relay_refused(job, detail)
                return True
            error = f"HTTP {exc.code}: {detail}"
        except (OSError, ValueError) as exc:  # URLError, timeouts, resets
            error = f"{type(exc).__name__}: {exc}"
        retry_in = min(self.cfg.relay_retry_max, 0.25 * 2 ** min(job.attempts, 20))
        retry_in *= random.uniform(0.8, 1.0)  # noqa: S311 (jitter, not security)
        log.info("relay %s %s to %s failed (%s); retry in %.1f s", job.kind, job.relay_id,
                 url, error, retry_in)
        self.store.relay_failed(job, error, retry_in)
        return False


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        body = exc.read(4096)
        data = json.loads(body)
        if isinstance(data, dict):
            return f"{data.get('code', '')}: {data.get('message', '')}"
        return body.decode("utf-8", "replace")
    except (OSError, ValueError):
        return str(exc.reason)
