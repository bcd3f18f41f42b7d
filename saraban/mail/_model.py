"""The values the mail library reads and writes (frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

MiB = 1024 * 1024

Origin = Literal["part", "tnef", "forwarded"]
Verdict = Literal["valid", "invalid", "unverified"]


@dataclass(frozen=True)
class MailLimits:
    """What one arriving mail may cost; checked before and while parsing."""

    max_bytes: int = 25 * MiB
    max_parts: int = 300
    max_depth: int = 12
    max_attachment_bytes: int = 20 * MiB
    max_headers: int = 1000
    max_received: int = 60


@dataclass(frozen=True)
class Address:
    """A mailbox: ``address`` keeps the local part as sent, the domain lowercased (IDNA
    decoded); ``name`` is the decoded display name ("" when none)."""

    address: str
    name: str = ""


@dataclass(frozen=True)
class Attachment:
    """One file of a mail. ``filename`` is safe to show and store (never empty);
    ``origin`` says whether it was a MIME part, a file inside winmail.dat ("tnef") or a
    file of a forwarded message ("forwarded")."""

    filename: str
    content_type: str
    data: bytes
    inline: bool = False
    origin: Origin = "part"


@dataclass(frozen=True)
class BounceRecipient:
    """One recipient a delivery status notification reports on."""

    address: str
    action: str  # "failed" | "delayed" | "delivered" | "relayed" | "expanded"
    status: str  # "5.1.1"
    diagnostic: str = ""


@dataclass(frozen=True)
class Bounce:
    """A delivery status notification (RFC 3464) or a non-standard bounce.

    ``returned_headers`` are the header fields of the returned original (names lowercased),
    so a sender can find its own ids (X-Saraban-Message, …) in them.
    """

    original_message_id: str
    envelope_id: str
    recipients: tuple[BounceRecipient, ...]
    reporting_mta: str
    original_subject: str
    returned_headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SmimeInfo:
    """An S/MIME signature found on a mail. ``verdict`` is "valid" (signature right and the
    signer chains to a trusted certificate), "unverified" (signature right, no trust anchor
    reached) or "invalid" (the content does not match the signature, or it is unreadable)."""

    signed: bool
    signer_subject: str
    signer_certificate_pem: str
    verdict: Verdict


class MailKind(StrEnum):
    """What :func:`saraban.mail.classify` makes of a mail."""

    LETTER = "letter"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    LOOP = "loop"


@dataclass(frozen=True)
class ParsedMail:
    """A mail as the registry needs it (see the package docstring)."""

    message_id: str
    sender: Address | None
    reply_to: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    date: datetime | None
    subject: str
    text: str
    attachments: tuple[Attachment, ...]
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    headers: tuple[tuple[str, str], ...]
    bounce: Bounce | None
    smime: SmimeInfo | None
    defects: tuple[str, ...]
    size: int
    digest: str

    def header(self, name: str) -> str:
        """The first top-level header ``name`` (any case), decoded; "" when absent."""
        name = name.lower()
        return next((v for n, v in self.headers if n == name), "")

    def header_all(self, name: str) -> tuple[str, ...]:
        """Every top-level header ``name`` (any case), decoded, in order."""
        name = name.lower()
        return tuple(v for n, v in self.headers if n == name)
