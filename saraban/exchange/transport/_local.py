from __future__ import annotations

from typing import Any

from ..errors import PERMANENT_CODES, ExchangeRefused
from ._base import DeliveryFailed, TransportAnswer


class LocalTransport:
    """Both agencies are hosted on this node: run the receiving side in this process."""

    name = "local"

    def deliver(self, message: dict[str, Any]) -> TransportAnswer:
        from ..receive import receive_message

        try:
            status, body = receive_message(message)
        except ExchangeRefused as exc:
            raise DeliveryFailed(exc.message, code=exc.code,
                                 permanent=exc.code in PERMANENT_CODES) from exc
        return TransportAnswer(status=status, body=body)
