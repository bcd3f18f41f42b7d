"""The web server's worker: gunicorn runs uvicorn (asyncio, h11) workers serving ``saraban.asgi``.

Why not gunicorn's sync workers: a sync worker belongs to one connection until its request
has been read, so two clients that announce a body and never send it froze a two-worker node
(the login page took 33.7 s). Here each connection is a coroutine on the worker's event loop;
Django reads the body asynchronously and runs the view in a thread only once the whole request
has arrived, so a stalled client costs a socket and a few kilobytes, not a worker.

uvicorn puts no time limit on a connection that opens and sends its headers slowly or not at
all (slowloris); :class:`HeaderTimeoutH11Protocol` adds one: a request whose headers are not
complete within ``SARABAN_HTTP_HEADER_TIMEOUT`` seconds is answered 408 with the code
``request_timeout`` and the connection closed. Body timeouts and size limits are in
:mod:`saraban.core.http_limits`, which sees the request once its headers are in.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

import h11
from django.conf import settings
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn_worker import UvicornWorker

__all__ = ["HeaderTimeoutH11Protocol", "SarabanWorker", "header_timeout_answer"]


def header_timeout_answer() -> bytes:
    """The raw 408 answer to a client that did not finish its headers in time."""
    body = json.dumps({"code": "request_timeout",
                       "message": "ส่งคำขอช้าเกินกำหนด กรุณาลองใหม่"},
                      ensure_ascii=False).encode()
    head = (b"HTTP/1.1 408 Request Timeout\r\n"
            b"content-type: application/json; charset=utf-8\r\n"
            b"connection: close\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n\r\n")
    return head + body


class HeaderTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with a deadline for the request line and headers.

    The deadline is armed when a connection opens and whenever a new request starts arriving
    on a kept-alive connection; it is dropped as soon as the headers are complete. Idle
    kept-alive connections are closed by uvicorn's own keep-alive timeout.
    """

    _header_deadline: asyncio.TimerHandle | None = None

    def _header_timeout_seconds(self) -> float:
        return float(settings.SARABAN_HTTP_HEADER_TIMEOUT)

    def _arm_header_deadline(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(
                self._header_timeout_seconds(), self._headers_too_slow
            )

    def _drop_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:
            # Part of a request line or headers (or nothing of use) so far.
            if not self.transport.is_closing():
                self._arm_header_deadline()
        else:
            self._drop_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._drop_header_deadline()
        super().connection_lost(exc)

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a response is still being written on this connection
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "?"
        self.logger.info("%s - request headers not complete in time: 408", client)
        self.transport.write(header_timeout_answer())
        self.transport.close()


class SarabanWorker(UvicornWorker):  # type: ignore[misc]  # uvicorn_worker has no types
    """A gunicorn worker running uvicorn on asyncio with :class:`HeaderTimeoutH11Protocol`.

    gunicorn's ``--keep-alive`` becomes uvicorn's keep-alive timeout and ``--timeout`` the
    heartbeat (the event loop never runs a view, so a slow view does not stop it). The ASGI
    lifespan protocol is off: Django does not speak it.
    """

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        "loop": "asyncio",
        "http": HeaderTimeoutH11Protocol,
        "lifespan": "off",
        "ws": "none",
    }
