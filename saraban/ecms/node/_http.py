"""The HTTP side: ``/ecms-ws01/service2`` (first department), ``/<dept>/ecms-ws01/service2``
(each department), ``/ecms-relay/v1`` (peer nodes). Stdlib ``ThreadingHTTPServer``."""

from __future__ import annotations

import json
import logging
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ._config import RELAY_PATH, SERVICE_PATH, NodeConfig
from ._service import Service, error, health_text
from ._store import NodeError, Store

log = logging.getLogger("saraban.ecms.node")

_XML = "text/xml; charset=utf-8"
DRAIN_SECONDS = 3.0
# Bodies over BIG_BODY bytes are read and parsed at most BIG_AT_ONCE at a time, so memory
# stays bounded however many clients post large letters together.
BIG_BODY = 1 << 20
BIG_AT_ONCE = 4


class _TooLarge(Exception):
    pass


class NodeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, cfg: NodeConfig, store: Store, service: Service) -> None:
        self.cfg = cfg
        self.store = store
        self.service = service
        self.big = threading.BoundedSemaphore(BIG_AT_ONCE)
        super().__init__((cfg.host, cfg.port), Handler)


class Handler(BaseHTTPRequestHandler):
    server: NodeServer
    protocol_version = "HTTP/1.1"
    server_version = "SarabanEcmsNode/1"

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.cfg.read_timeout)  # a silent client ends

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    # --- routing ---------------------------------------------------------------------------

    def _target(self) -> tuple[str, str | None]:
        """("service", dept) | ("relay", None) | ("root", None) | ("none", None); a service
        path for a department not served here gives ("service", "") ."""
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        if path == RELAY_PATH:
            return "relay", None
        if path == SERVICE_PATH:
            return "service", self.server.cfg.first_department
        if path.endswith(SERVICE_PATH):
            dept = path[: -len(SERVICE_PATH)].strip("/")
            if "/" not in dept:
                return "service", dept if dept in self.server.cfg.departments else ""
        if path == "/":
            return "root", None
        return "none", None

    # --- GET: health -----------------------------------------------------------------------

    def do_GET(self) -> None:
        kind, dept = self._target()
        if kind == "none" or (kind == "service" and not dept):
            self._send(404, b"not found\n", "text/plain; charset=utf-8")
            return
        text = health_text(self.server.cfg, self.server.store, dept,
                           self.server.service.public_url)
        self._send(200, text.encode("utf-8"), "text/plain; charset=utf-8")

    def do_HEAD(self) -> None:
        self.do_GET()

    # --- POST ------------------------------------------------------------------------------

    def do_POST(self) -> None:
        kind, dept = self._target()
        if kind == "relay":
            self._relay()
            return
        if kind != "service":
            self._discard_and_send(404, b"not found\n", "text/plain; charset=utf-8")
            return
        limit = self.server.cfg.max_bytes
        with self._gate():
            try:
                body = self._read_body(limit)
            except _TooLarge:
                self._refuse_large(limit)
                return
            except (OSError, ValueError) as exc:  # timeout, reset, bad chunking
                log.info("unreadable request from %s: %s", self.address_string(), exc)
                self.close_connection = True
                return
            if not dept:
                self._send(200, error("unknown_department",
                                      "this node serves no department at this URL"), _XML)
                return
            try:
                answer = self.server.service.handle(dept, body)
            except Exception:
                log.exception("internal error on %s", self.path)
                self._send(500, error("internal_error", "the node failed; try again"), _XML)
                return
            del body
            self._send(200, answer, _XML)

    def _gate(self) -> AbstractContextManager[object]:
        """The big-body semaphore for a large or unknown-length (chunked) body."""
        try:
            length = int(self.headers.get("Content-Length") or -1)
        except ValueError:
            length = -1
        if 0 <= length <= BIG_BODY:
            return nullcontext()
        return self.server.big

    def _relay(self) -> None:
        limit = self.server.cfg.max_bytes * 2 + 65536  # base64 of a whole document + fields
        with self._gate():
            try:
                body = self._read_body(limit)
            except _TooLarge:
                self.close_connection = True
                self._json(413, {"ok": False, "code": "too_large", "message": "too large"})
                return
            except (OSError, ValueError):
                self.close_connection = True
                return
            self._relay_body(body)

    def _relay_body(self, body: bytes) -> None:
        try:
            data = json.loads(body)
        except ValueError:
            self._json(400, {"ok": False, "code": "bad_relay", "message": "not JSON"})
            return
        if not isinstance(data, dict):
            self._json(400, {"ok": False, "code": "bad_relay", "message": "not an object"})
            return
        try:
            self.server.service.check_relayed(data)
        except NodeError as exc:
            self._json(409, {"ok": False, "code": exc.code, "message": exc.description})
            return
        try:
            status, answer = self.server.store.receive_relay(data)
        except Exception:
            log.exception("relay receive failed")
            self._json(500, {"ok": False, "code": "internal_error", "message": "try again"})
            return
        self._json(status, answer)

    # --- bodies ----------------------------------------------------------------------------

    def _read_body(self, limit: int) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(limit)
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            raise ValueError("no Content-Length")
        length = int(length_text)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > limit:
            raise _TooLarge
        data = self.rfile.read(length)
        if len(data) != length:
            raise ValueError("body shorter than Content-Length")
        return data

    def _read_chunked(self, limit: int) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise ValueError("connection closed inside a chunked body")
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > limit:
                raise _TooLarge
            chunk = self.rfile.read(size)
            if len(chunk) != size:
                raise ValueError("short chunk")
            parts.append(chunk)
            self.rfile.readline(16)

    def handle_expect_100(self) -> bool:
        """``Expect: 100-continue`` with a body over the limit: answer at once, unread."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > self.server.cfg.max_bytes and self._target()[0] == "service":
            self.close_connection = True
            self._send(200, error("xml_too_large", f"the request is larger than "
                                                   f"{self.server.cfg.max_bytes} bytes"), _XML)
            return False
        return super().handle_expect_100()

    def _refuse_large(self, limit: int) -> None:
        """Answer xml_too_large without reading the body, then discard what the client
        still sends for a moment (closing on unread data would reset the connection before
        the client reads the answer)."""
        self.close_connection = True
        self._send(200, error("xml_too_large", f"the request is larger than {limit} bytes"),
                   _XML)
        try:
            self.wfile.flush()
            deadline = time.monotonic() + DRAIN_SECONDS
            self.connection.settimeout(0.5)
            while time.monotonic() < deadline:
                if not self.connection.recv(1 << 16):
                    break
        except OSError:
            pass

    def _discard_and_send(self, status: int, body: bytes, ctype: str) -> None:
        self.close_connection = True
        self._send(status, body, ctype)

    def _json(self, status: int, data: dict[str, Any]) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode("utf-8"),
                   "application/json")

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except OSError as exc:  # the client went away
            log.info("answer to %s lost: %s", self.address_string(), exc)
            self.close_connection = True
