from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class TransportAnswer:
    """The signed transport receipt the recipient's node gave."""

    status: int
    body: dict[str, Any]


class DeliveryFailed(Exception):
    """The message did not get through. ``permanent`` ones are not retried."""

    def __init__(self, message: str, *, code: str = "unreachable", permanent: bool = False):
        super().__init__(message)
        self.code = code
        self.permanent = permanent


class Transport(Protocol):
    name: str

    def deliver(self, message: dict[str, Any]) -> TransportAnswer:
        """Carry ``message`` (envelope, signature, files) and return the transport receipt."""
        ...
