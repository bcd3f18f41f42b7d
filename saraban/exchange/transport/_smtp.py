"""Handing one mail to the agency's SMTP relay (smtplib, one session per mail).

smtplib is the standard library's client and does what a relay needs: implicit TLS or
STARTTLS with a verified certificate, AUTH, SIZE, and arbitrary MAIL/RCPT parameters. The
session is driven command by command (not ``sendmail``) so that each recipient's answer is
known, the final ``250 … queued as …`` is kept as the transport receipt, and DSN parameters
(RFC 3461: ``RET``, ``ENVID``, ``NOTIFY``, ``ORCPT``) are sent only to a relay that offers
``DSN``.

What the relay says decides what happens next (RFC 5321 §4.2.1): a 2xx is sent; a 4xx, a
time-out, a refused or cut connection is tried again later; a 5xx for the sender, every
recipient or the data is permanent. Authentication and TLS trouble is retried: it is the
relay's configuration, not the letter, that is wrong, and an administrator fixes it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings

from ._base import DeliveryFailed


@dataclass(frozen=True, slots=True)
class SmtpRelay:
    """Where and how to reach the relay (a mailbox's ``smtp_*`` settings)."""

    host: str
    port: int = 587
    security: str = "starttls"  # "ssl" (implicit TLS), "starttls" or "none"
    user: str = ""
    password: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class SmtpAnswer:
    """What the relay said to a mail it took."""

    code: int
    message: str
    accepted: tuple[str, ...]
    refused: dict[str, tuple[int, str]]  # recipient → (code, message), for the others
    dsn: bool  # the relay offered DSN and the parameters were sent
    at: dt.datetime

    @property
    def reply(self) -> str:
        return f"{self.code} {self.message}".strip()


def timeout() -> float:
    return float(getattr(settings, "SARABAN_MAIL_TIMEOUT_SECONDS", 30))


def tls_context() -> ssl.SSLContext:
    """A verifying client context; ``SARABAN_MAIL_CA_FILE`` adds the CA of a relay whose
    certificate is not from a public CA (an internal relay)."""
    cafile = getattr(settings, "SARABAN_MAIL_CA_FILE", None) or None
    return ssl.create_default_context(cafile=cafile)


def xtext(value: str) -> str:
    """RFC 3461 §4 xtext: printable ASCII but "+" and "=" as is, the rest as "+HH"."""
    out = []
    for byte in value.encode("utf-8"):
        if 33 <= byte <= 126 and byte not in (0x2B, 0x3D):
            out.append(chr(byte))
        else:
            out.append(f"+{byte:02X}")
    return "".join(out)


def _text(reply: bytes | str) -> str:
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    return " ".join(reply.split())[:400]


def _failed(what: str, code: int, reply: bytes | str) -> DeliveryFailed:
    message = f"{what}: {code} {_text(reply)}"
    if 500 <= code < 600:
        return DeliveryFailed(message, code="smtp_refused", permanent=True)
    return DeliveryFailed(message, code="smtp_deferred")


def _needs_utf8(address: str) -> bool:
    return not address.isascii()


def _ascii_domain(address: str) -> str:
    """``local@ไทย.th`` → ``local@xn--…``: an IDN domain is always sent as A-labels."""
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return address


class SmtpTransport:
    """One SMTP session per mail to the agency's relay."""

    name = "smtp"

    def __init__(self, relay: SmtpRelay) -> None:
        self.relay = relay

    def _connect(self) -> smtplib.SMTP:
        relay = self.relay
        helo = str(getattr(settings, "SARABAN_MAIL_HELO_NAME", "") or socket.gethostname())
        if relay.security == "ssl":
            session: smtplib.SMTP = smtplib.SMTP_SSL(
                relay.host, relay.port, local_hostname=helo, timeout=timeout(),
                context=tls_context(),
            )
        else:
            session = smtplib.SMTP(relay.host, relay.port, local_hostname=helo,
                                   timeout=timeout())
        try:
            session.ehlo()
            if relay.security == "starttls":
                if not session.has_extn("starttls"):
                    raise DeliveryFailed("the relay does not offer STARTTLS",
                                         code="smtp_no_starttls")
                session.starttls(context=tls_context())
                session.ehlo()
            if relay.user:
                try:
                    session.login(relay.user, relay.password)
                except smtplib.SMTPAuthenticationError as exc:
                    raise DeliveryFailed(f"AUTH: {exc.smtp_code} {_text(exc.smtp_error)}",
                                         code="smtp_auth_failed") from exc
                except smtplib.SMTPNotSupportedError as exc:
                    raise DeliveryFailed("the relay does not offer AUTH",
                                         code="smtp_auth_failed") from exc
        except BaseException:
            with contextlib.suppress(Exception):
                session.close()
            raise
        return session

    def send(self, *, mail_from: str, recipients: Sequence[str], data: bytes,
             envelope_id: str = "", ret: str = "HDRS",
             notify: str = "FAILURE,DELAY") -> SmtpAnswer:
        """Hand ``data`` over for ``recipients``; the relay's answer, or ``DeliveryFailed``.

        Some recipients refused while others were taken is an answer (``refused``), not an
        error: the mail went to the others.
        """
        if not recipients:
            raise DeliveryFailed("no recipient", code="smtp_no_recipient", permanent=True)
        try:
            session = self._connect()
        except DeliveryFailed:
            raise
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryFailed(f"TLS: {exc.verify_message}", code="smtp_tls") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"unreachable: {exc!r}"[:400], code="smtp_unreachable") from exc
        try:
            return self._transaction(session, mail_from, recipients, data, envelope_id, ret,
                                     notify)
        except DeliveryFailed:
            with contextlib.suppress(Exception):
                session.rset()
            raise
        except (smtplib.SMTPException, OSError) as exc:
            # Cut off mid-session (or a time-out): nothing was taken, or the relay cannot
            # have said so; the retry sends the same Message-ID.
            raise DeliveryFailed(f"cut off: {exc!r}"[:400], code="smtp_unreachable") from exc
        finally:
            with contextlib.suppress(Exception):
                session.quit()
            with contextlib.suppress(Exception):
                session.close()

    def _transaction(self, session: smtplib.SMTP, mail_from: str, recipients: Sequence[str],
                     data: bytes, envelope_id: str, ret: str, notify: str) -> SmtpAnswer:
        sender = _ascii_domain(mail_from)
        targets = [_ascii_domain(r) for r in recipients]
        mail_options: list[str] = []
        if session.has_extn("size"):
            mail_options.append(f"SIZE={len(data)}")
        if any(_needs_utf8(a) for a in (sender, *targets)):
            if not session.has_extn("smtputf8"):
                raise DeliveryFailed("the relay cannot carry an address in Thai (no SMTPUTF8)",
                                     code="smtp_no_smtputf8", permanent=True)
            mail_options.append("SMTPUTF8")
        dsn = session.has_extn("dsn")
        if dsn:
            mail_options.append(f"RET={ret}")
            if envelope_id:
                mail_options.append(f"ENVID={xtext(envelope_id)}")
        code, reply = session.mail(sender, mail_options)
        if code != 250:
            raise _failed("MAIL FROM", code, reply)
        accepted: list[str] = []
        refused: dict[str, tuple[int, str]] = {}
        for original, target in zip(recipients, targets, strict=True):
            options = [f"NOTIFY={notify}", f"ORCPT=rfc822;{xtext(target)}"] if dsn else []
            code, reply = session.rcpt(target, options)
            if code in (250, 251):
                accepted.append(original)
            else:
                refused[original] = (code, _text(reply))
        if not accepted:
            # Permanent only when every refusal was permanent.
            worst = min(c for c, _ in refused.values())
            detail = "; ".join(f"{r}: {c} {m}" for r, (c, m) in refused.items())
            raise _failed("RCPT TO", worst, detail)
        try:
            code, reply = session.data(data)
        except smtplib.SMTPDataError as exc:  # the 354 never came
            raise _failed("DATA", exc.smtp_code, exc.smtp_error) from exc
        if code != 250:
            raise _failed("DATA", code, reply)
        return SmtpAnswer(code=code, message=_text(reply), accepted=tuple(accepted),
                          refused=refused, dsn=dsn, at=dt.datetime.now(dt.UTC))
