from __future__ import annotations

import contextlib
import http.client
import json
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings

from ..errors import PERMANENT_CODES
from ._base import DeliveryFailed, TransportAnswer

PATH = "/exchange/v1/messages"


class SarabanTransport:
    """Push the message to another Saraban node over HTTP(S) as JSON."""

    name = "saraban"

    def __init__(self, node_url: str) -> None:
        self.url = node_url.rstrip("/") + PATH

    def deliver(self, message: dict[str, Any]) -> TransportAnswer:
        body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
        request = urllib.request.Request(  # noqa: S310 (URL comes from the directory)
            self.url, data=body, method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "Saraban/1"},
        )
        timeout = float(getattr(settings, "SARABAN_EXCHANGE_TIMEOUT_SECONDS", 30))
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                status = response.status
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = b""
            with contextlib.suppress(http.client.HTTPException, OSError):  # cut off too
                raw = exc.read()
            exc.close()
            code = "http_error"
            with contextlib.suppress(ValueError, AttributeError):
                code = str(json.loads(raw).get("code", code))
            permanent = 400 <= exc.code < 500 and code in PERMANENT_CODES
            raise DeliveryFailed(f"HTTP {exc.code} {code}", code=code,
                                 permanent=permanent) from exc
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise DeliveryFailed(f"unreachable: {exc}", code="unreachable") from exc
        except http.client.HTTPException as exc:  # the answer was cut off: try again later
            raise DeliveryFailed(f"answer cut off: {exc!r}", code="unreachable") from exc
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise DeliveryFailed("receipt is not JSON", code="bad_receipt") from exc
        if not isinstance(answer, dict):
            raise DeliveryFailed("receipt is not an object", code="bad_receipt")
        return TransportAnswer(status=status, body=answer)
