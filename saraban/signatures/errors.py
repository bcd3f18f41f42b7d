"""The errors of signing, beyond the common ones of ``saraban.core.errors``.

Signing raises the common classes with stable codes::

    ValidationFailed   signing_secret_required, signing_secret_wrong, pdf_unreadable,
                       p12_unreadable, certificate_unreadable, bad_level, ...
    Conflict           identity_inactive, identity_expired, identity_not_yet_valid,
                       identity_untrusted, identity_unreadable, tsa_not_configured,
                       token_missing, key_missing
    ServiceUnavailable tsa_unreachable (the time-stamping authority did not answer)
"""

from __future__ import annotations

from saraban.core.errors import SarabanError

__all__ = ["ServiceUnavailable"]


class ServiceUnavailable(SarabanError):
    """A service the action needs (the TSA, a token) did not answer; try again later."""

    status = 503
    default_code = "service_unavailable"
