"""Errors of the exchange protocol: each has a stable code sent back to the other node."""

from __future__ import annotations

from saraban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

# Codes a sender must not retry: the same message would be refused again.
PERMANENT_CODES = frozenset(
    {
        "malformed_envelope",
        "unsupported_version",
        "envelope_too_large",
        "unknown_sender",
        "bad_signature",
        "unknown_recipient",
        "digest_mismatch",
        "file_rejected",
        "stale_message",
        "message_id_reused",
        "unknown_message",
        "bad_report",
    }
)


class ExchangeRefused(ValidationFailed):
    """The receiving node refused a message (nothing was stored)."""

    default_code = "exchange_refused"


__all__ = ["PERMANENT_CODES", "Conflict", "ExchangeRefused", "NotFound", "PermissionDenied"]
