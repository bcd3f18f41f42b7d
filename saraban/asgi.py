"""ASGI entry point: what ``saraban serve`` runs (gunicorn with uvicorn workers).

``application`` is Django's ASGI handler behind :class:`~saraban.core.http_limits.RequestLimits`
(size and time limits checked before Django reads the body). Django reads the body
asynchronously and runs the middleware and view in a thread of their own once it has arrived,
so a slow client holds no thread. Two things differ from Django's own handler
(:class:`SarabanASGIHandler`):

- at most ``SARABAN_WEB_THREADS`` views run at once in one worker process (the others wait
  on the event loop), which bounds threads and database connections under a burst;
- a streaming response (letter files, static files) is sent chunk by chunk, each read in the
  request's thread, instead of Django's fallback for synchronous iterators, which reads the
  whole file into memory first (and warns); for a file response the request's database
  connection is closed before the file is sent, so a slow download holds no connection.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from typing import cast

import django
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.db import close_old_connections
from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saraban.settings")
django.setup(set_prefix=False)

from saraban.core.http_limits import RequestLimits  # noqa: E402  (needs settings)
from saraban.core.keys import require_node_secrets  # noqa: E402

require_node_secrets()
get_resolver().url_patterns  # noqa: B018  (import every view now, not on a first request)


def _next_chunk(iterator: Iterator[bytes]) -> bytes | None:
    return next(iterator, None)


async def _chunks_in_thread(iterator: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Yield a synchronous iterator's chunks, each read in the request's own thread."""
    next_chunk = sync_to_async(_next_chunk, thread_sensitive=True)
    while (chunk := await next_chunk(iterator)) is not None:
        yield chunk


class SarabanASGIHandler(ASGIHandler):
    """Django's ASGI handler with a bound on concurrent views and streamed file responses."""

    def __init__(self, *, max_views: int | None = None) -> None:
        super().__init__()
        self._views = asyncio.Semaphore(max_views or int(settings.SARABAN_WEB_THREADS))

    async def run_get_response(self, request: HttpRequest) -> HttpResponseBase:
        async with self._views:
            response: HttpResponseBase = await super().run_get_response(request)
        if isinstance(response, StreamingHttpResponse) and not response.is_async:
            if isinstance(response, FileResponse):  # reading a file needs no database
                await sync_to_async(close_old_connections)()
            chunks = iter(cast(Iterator[bytes], response.streaming_content))
            response.streaming_content = _chunks_in_thread(chunks)
        return response


application = RequestLimits(SarabanASGIHandler())
