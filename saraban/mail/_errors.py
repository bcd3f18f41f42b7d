"""The one exception of the mail library: a mail refused, with a stable code.

::

    Exception
    └── MailRefused  (.code ∈ CODES, .message for people)

Nothing else escapes :func:`saraban.mail.parse_mail`, whatever the bytes.
"""

from __future__ import annotations

#: Every code :class:`MailRefused` carries (stable: intake records them on MailSeen).
CODES = frozenset(
    {
        "mail_too_large",
        "mail_too_many_parts",
        "mail_too_deep",
        "mail_malformed",
        "mail_attachment_too_large",
        "mail_too_many_headers",
        "mail_dangerous_attachment",
    }
)


class MailRefused(Exception):
    """A mail the library will not read.

    ``code`` is stable (one of :data:`CODES`); ``message`` says what was wrong, in Thai.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
