"""Login page latency while clients hold stalled connections to a real ``saraban serve``.

    .venv/bin/python bench/slow_clients.py                  # 50 stalled clients
    .venv/bin/python bench/slow_clients.py --stalled 500 --requests 50 --threshold 2

A node (saraban.exchange.testing: its own database, files and secrets; ``saraban serve``
with its default timeouts) is started; ``--stalled`` clients connect and stall: four in five
announce a 1,000-byte body (``Content-Length: 1000``) and send one byte, the others send a
request line and one header and never finish their headers (slowloris). While they hold
their connections, the login page is fetched ``--requests`` times one after another; the
script prints p50, p95 and the slowest latency, and exits non-zero when the slowest is above
``--threshold`` seconds (or a fetch failed). On the sync gunicorn workers that ``saraban
serve`` ran before, two such clients made the login page take 33.7 s.

``measure()`` does the same and returns the figures (``make attack`` calls it).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from saraban.exchange.testing import Node


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def login_page_seconds(port: int, *, timeout: float = 60) -> float:
    """Seconds to fetch the login page (a fresh connection); raises if it is not a 200."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/login/")
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"login page answered {response.status}")
    finally:
        conn.close()
    return time.monotonic() - started


@contextlib.contextmanager
def stalled_clients(port: int, n: int) -> Iterator[list[socket.socket]]:
    """``n`` open connections that stall: four in five mid-body, the rest mid-headers."""
    socks: list[socket.socket] = []
    try:
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            if i % 5 == 4:
                s.sendall(b"GET /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
            else:
                path = "/login/" if i % 2 else "/api/v1/auth/token"
                s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Content-Type: application/json\r\n"
                          "Content-Length: 1000\r\n\r\n{".encode())
            socks.append(s)
        yield socks
    finally:
        for s in socks:
            s.close()


def measure(n_stalled: int = 50, *, requests: int = 20, node: Node | None = None,
            root: Path | None = None, workers: int = 2) -> dict[str, Any]:
    """Login page latency (seconds) while ``n_stalled`` clients stall; starts a node if needed.

    Returns ``{"stalled", "requests", "failed", "p50", "p95", "max"}``.
    """
    with contextlib.ExitStack() as stack:
        if node is None:
            if root is None:
                root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="saraban-")))
            node = Node(name="slow", root=root / "slow", web_workers=workers)
            stack.callback(node.close)
            node.start_web(wait=False)
            node.run("migrate", "--no-input", "-v", "0")
            node.wait_web()
        for _ in range(2 * workers):  # warm every worker before measuring
            login_page_seconds(node.port)
        seconds: list[float] = []
        failed = 0
        with stalled_clients(node.port, n_stalled):
            time.sleep(0.5)
            for _ in range(requests):
                try:
                    seconds.append(login_page_seconds(node.port))
                except (OSError, RuntimeError, http.client.HTTPException):
                    failed += 1
    worst = max(seconds) if seconds else float("inf")
    return {
        "stalled": n_stalled, "requests": requests, "failed": failed,
        "p50": _pct(seconds, 0.50) if seconds else float("inf"),
        "p95": _pct(seconds, 0.95) if seconds else float("inf"),
        "max": worst,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stalled", type=int, default=50, help="stalled connections held")
    parser.add_argument("--requests", type=int, default=20, help="login page fetches timed")
    parser.add_argument("--workers", type=int, default=2, help="web worker processes")
    parser.add_argument("--threshold", type=float, default=5.0,
                        help="fail when the slowest fetch takes longer (seconds)")
    args = parser.parse_args()
    figures = measure(args.stalled, requests=args.requests, workers=args.workers)
    held = figures["failed"] == 0 and figures["max"] <= args.threshold
    print(f"login page with {figures['stalled']} stalled connections: "
          f"p50 {figures['p50'] * 1000:.1f} ms  p95 {figures['p95'] * 1000:.1f} ms  "
          f"max {figures['max'] * 1000:.1f} ms  failed {figures['failed']}/{figures['requests']}"
          f"  ({'held' if held else 'NOT held'}, threshold {args.threshold:g} s)")
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
