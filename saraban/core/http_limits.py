"""Size and time limits on requests, enforced before Django reads a byte of the body.

:class:`RequestLimits` is ASGI middleware in front of Django (``saraban.asgi``):

- a request that announces a body larger than its limit (``Content-Length``) is answered
  413 with the code ``request_too_large`` from its headers alone: nothing is read, nothing
  is written to memory or disk;
- a body without ``Content-Length`` (chunked) is counted as it streams and refused the
  same way as soon as it passes the limit;
- a client that stops sending its body for ``SARABAN_HTTP_BODY_TIMEOUT`` seconds is
  answered 408 with the code ``request_timeout``.

Each refusal carries ``Connection: close`` and ends the request before Django has seen it
(Django is told the client went away). The limit depends on what the request is for
(:func:`body_limit`): the exchange endpoint takes envelopes up to
``SARABAN_EXCHANGE_MAX_BYTES``, file uploads (``multipart/form-data``) up to
``SARABAN_MAX_UPLOAD_BYTES``, everything else up to ``DATA_UPLOAD_MAX_MEMORY_SIZE``, which is
also what Django itself would accept as a non-file body.

Time limits on the headers live in the server's protocol (:mod:`saraban.core.http_server`),
since an ASGI application is only called once the headers are complete.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from html import escape
from typing import Any

from django.conf import settings

__all__ = ["EXCHANGE_PATH", "RequestLimits", "body_limit", "refusal"]

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

EXCHANGE_PATH = "/exchange/v1/messages"

_MESSAGES = {
    "request_too_large": "คำขอมีขนาดเกินกำหนด ({limit} ไบต์)",
    "request_timeout": "ส่งคำขอช้าเกินกำหนด กรุณาลองใหม่",
    "bad_content_length": "ความยาวของคำขอ (Content-Length) ไม่ถูกต้อง",
}


def body_limit(path: str, content_type: str) -> int:
    """The largest body, in bytes, that a request to ``path`` of ``content_type`` may have.

    >>> body_limit("/api/v1/auth/token", "application/json") == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    True
    """
    if path == EXCHANGE_PATH:
        return int(settings.SARABAN_EXCHANGE_MAX_BYTES)
    upload = int(settings.SARABAN_MAX_UPLOAD_BYTES)
    if content_type.split(";", 1)[0].strip().lower() == "multipart/form-data":
        return upload
    form = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return upload if form is None else int(form)


def refusal(status: int, code: str, *, limit: int | None = None, html: bool = False
            ) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Headers and body of a refusal: JSON ``{"code", "message"}``, or a short Thai page."""
    message = _MESSAGES[code].format(limit=f"{limit:,}" if limit is not None else "")
    if html:
        body = (f'<!doctype html><html lang="th"><meta charset="utf-8"><title>{status}</title>'
                f"<h1>{escape(message)}</h1><p>รหัส: <code>{code}</code></p></html>").encode()
        content_type = b"text/html; charset=utf-8"
    else:
        data: dict[str, Any] = {"code": code, "message": message}
        if limit is not None:
            data["details"] = {"max_bytes": limit}
        body = json.dumps(data, ensure_ascii=False).encode()
        content_type = b"application/json; charset=utf-8"
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]
    return headers, body


def _header(scope: Scope, name: bytes) -> list[bytes]:
    return [value for key, value in scope.get("headers", ()) if key.lower() == name]


def _wants_html(scope: Scope) -> bool:
    accept = b",".join(_header(scope, b"accept")).decode("latin-1").lower()
    return "text/html" in accept and "application/json" not in accept


class RequestLimits:
    """ASGI middleware: refuse oversized bodies (413) and stalled bodies (408) early."""

    def __init__(self, app: ASGIApp, *, body_timeout: float | None = None) -> None:
        self.app = app
        self._body_timeout = body_timeout

    @property
    def body_timeout(self) -> float:
        if self._body_timeout is not None:
            return self._body_timeout
        return float(settings.SARABAN_HTTP_BODY_TIMEOUT)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = b"".join(_header(scope, b"content-type")).decode("latin-1")
        limit = body_limit(scope.get("path", ""), content_type)
        html = _wants_html(scope)
        lengths = {value.strip() for value in _header(scope, b"content-length")}
        if lengths:
            if len(lengths) > 1 or not all(v.isdigit() for v in lengths):
                await self._refuse(send, 400, "bad_content_length", html=html)
                return
            if int(lengths.pop()) > limit:
                await self._refuse(send, 413, "request_too_large", limit=limit, html=html)
                return

        received = 0
        body_done = False
        refused = False
        timeout = self.body_timeout

        async def limited_receive() -> Message:
            nonlocal received, body_done, refused
            if refused:
                return {"type": "http.disconnect"}
            if body_done:  # after the body: only a disconnect can come, whenever it comes
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), timeout)
            except TimeoutError:
                refused = True
                await self._refuse(send, 408, "request_timeout", html=html)
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await self._refuse(send, 413, "request_too_large", limit=limit, html=html)
                    return {"type": "http.disconnect"}
                body_done = not message.get("more_body", False)
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, limited_receive, guarded_send)

    @staticmethod
    async def _refuse(send: Send, status: int, code: str, *, limit: int | None = None,
                      html: bool = False) -> None:
        headers, body = refusal(status, code, limit=limit, html=html)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
