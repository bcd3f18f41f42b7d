"""A local e-CMS node (``saraban ecms node``): what an agency's e-CMS node does, for tests,
demos and pilots without DGA's servers.

``saraban ecms node --host H --port P --data DIR [--department ID=NAME]... [--peer ID=URL]...
[--ministry ID=NAME]... [--public-url URL]``

* ``POST /ecms-ws01/service2`` (the first department) and ``/<dept>/ecms-ws01/service2``
  (each department served here; the URL names the caller, the protocol carries no caller
  identity): every operation of ``docs/ecms.md``, either client dialect, answers in the
  response forms the clients read, refusals as ``ErrorDetail`` with HTTP 200.
* Queues per department (letters and notifiers, FIFO; the inbound request answers the head
  until it is deleted by ProcessID). Letters route by ReceiverParty department, notifiers by
  the letter they name. Departments of other nodes (``--peer``) are reached through a durable
  relay outbox: ``POST <peer>/ecms-relay/v1`` (JSON), retried forever, idempotent.
* SQLite in ``DIR`` (WAL, ``synchronous=FULL``) and ``DIR/node.json``: a restart, or a kill
  at any moment, loses nothing committed.

Django-free: standard library + ``saraban.ecms``.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from ._config import ConfigError, load_config

__all__ = ["main"]


def main(argv: list[str]) -> int:
    """Run the node until SIGTERM/SIGINT; 0 on a clean stop, 2 on a bad configuration."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = load_config(argv)
    except ConfigError as exc:
        print(f"saraban ecms node: {exc}", file=sys.stderr)
        return 2

    from ._http import NodeServer
    from ._relay import RelayWorker
    from ._service import Service
    from ._store import Store, set_zone

    set_zone(cfg.timezone)
    holder: dict[str, str] = {"url": cfg.public_url}
    store = Store(cfg, node_url=lambda: holder["url"])
    service = Service(cfg, store)
    try:
        server = NodeServer(cfg, store, service)
    except OSError as exc:
        store.close()
        print(f"saraban ecms node: cannot listen on {cfg.host}:{cfg.port}: {exc}",
              file=sys.stderr)
        return 2
    port = int(server.server_address[1])
    holder["url"] = service.public_url = cfg.effective_public_url(port)
    relay = RelayWorker(cfg, store)
    relay.start()

    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    departments = ", ".join(f"{d} {n}".strip() for d, n in cfg.departments.items())
    print(f"e-CMS node listening on http://{cfg.host}:{port} (departments: {departments})",
          flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        relay.stop()
        server.server_close()
        relay.join(timeout=5)
        store.close()
    print("e-CMS node stopped", flush=True)
    return 0
