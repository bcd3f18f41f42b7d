"""A real SMTP server for the tests: aiosmtpd in a thread, on a free port of 127.0.0.1.

It speaks what an agency's relay speaks and records what it was given::

    server = SmtpServer(dsn=True, starttls=True, auth={"saraban": "secret"},
                        bounce_domains={"bounce.test"})
    server.start()
    ... deliver ...
    server.messages[0].data             # the bytes as handed over (after dot-unstuffing)
    server.messages[0].mail_params      # {"RET": "HDRS", "ENVID": "…", "SIZE": "…"}
    server.messages[0].rcpt_params      # {"a@x.test": {"NOTIFY": "FAILURE,DELAY", "ORCPT": …}}
    server.refuse("nobody@x.test")      # RCPT → 550 5.1.1 … User unknown
    server.defer("busy@x.test", times=1)  # RCPT → 451 4.3.0 (once), then accepted
    server.defer_data(times=1)          # end of DATA → 451 4.3.0 (once)
    server.bounces()                    # DSNs (RFC 3464, the way postfix writes them) for
                                        # what it accepted for a bounce domain
    server.stop()

The DSN parameters (RFC 3461) are taken with their case kept (aiosmtpd itself upper-cases
MAIL parameters and knows none of them) and checked the way a strict relay checks them:
``RET`` is FULL or HDRS, ``NOTIFY`` is NEVER or a list of SUCCESS/FAILURE/DELAY, ``ORCPT`` is
``addr-type;xtext``, ``ENVID`` xtext of at most 100 characters; anything else is ``501``.
A server started with ``dsn=False`` does not offer DSN and refuses the parameters (``555``),
like aiosmtpd's own.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

__all__ = ["Bounced", "Received", "SmtpServer", "free_port", "make_tls_certificate"]

_XTEXT = re.compile(r"\A(?:[!-*,-<>-~]|\+[0-9A-F]{2})*\Z")
_NOTIFY = {"SUCCESS", "FAILURE", "DELAY"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def xtext_decode(value: str) -> str:
    return re.sub(r"\+([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), value)


def make_tls_certificate(directory: Path, *, name: str = "localhost") -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` and 127.0.0.1 (cert path, key path); the cert
    is its own CA, so a client trusts it by loading it as ``cafile``."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Received:
    """One mail the server took."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    mail_params: dict[str, str]
    rcpt_params: dict[str, dict[str, str]]
    queue_id: str
    auth_user: str
    tls: bool
    at: dt.datetime

    @property
    def headers(self) -> bytes:
        head, _, _ = self.data.partition(b"\r\n\r\n")
        return head + b"\r\n"


@dataclass
class Bounced:
    """A DSN the relay wrote, and what it is about."""

    raw: bytes
    original: Received
    recipients: list[str]
    action: str


@dataclass
class _Rules:
    refuse: dict[str, tuple[int, str]] = field(default_factory=dict)
    defer: dict[str, int] = field(default_factory=dict)
    defer_data: int = 0
    refuse_data: str = ""


def _split_params(arg: str, names: set[str]) -> tuple[str, dict[str, str]]:
    """Take the named ESMTP parameters out of a MAIL/RCPT argument, case of values kept."""
    head, sep, rest = arg.partition(">")
    if not sep:
        return arg, {}
    kept, found = [], {}
    for token in rest.split():
        key, eq, value = token.partition("=")
        if key.upper() in names:
            found[key.upper()] = value if eq else ""
        else:
            kept.append(token)
    return head + ">" + ("" if not kept else " " + " ".join(kept)), found


class _Session(Session):
    """aiosmtpd 1.4 sets its deprecated ``login_data`` on every AUTH (a warning, an error
    under the test suite's ``filterwarnings = error``): kept quietly here."""

    @property
    def login_data(self) -> Any:
        return self._login_data

    @login_data.setter
    def login_data(self, value: Any) -> None:
        self._login_data = value


class _Server(SMTP):
    """aiosmtpd's SMTP with RFC 3461 DSN parameters taken and checked."""

    def __init__(self, handler: _Handler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._handler = handler

    def _create_session(self) -> Session:
        return _Session(self.loop)

    async def smtp_MAIL(self, arg: str | None) -> None:
        if arg and self._handler.dsn:
            arg, found = _split_params(arg, {"RET", "ENVID"})
            if "RET" in found and found["RET"].upper() not in {"FULL", "HDRS"}:
                await self.push("501 5.5.4 Bad RET parameter")
                return
            if "ENVID" in found and (not _XTEXT.match(found["ENVID"])
                                     or len(found["ENVID"]) > 100):
                await self.push("501 5.5.4 Bad ENVID parameter")
                return
            self._handler.pending_mail[id(self)] = found
        await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg: str | None) -> None:
        found: dict[str, str] = {}
        if arg and self._handler.dsn:
            arg, found = _split_params(arg, {"NOTIFY", "ORCPT"})
            notify = found.get("NOTIFY")
            if notify is not None:
                parts = set(notify.upper().split(","))
                if not (parts == {"NEVER"} or (parts and parts <= _NOTIFY)):
                    await self.push("501 5.5.4 Bad NOTIFY parameter")
                    return
            orcpt = found.get("ORCPT")
            if orcpt is not None:
                kind, semi, value = orcpt.partition(";")
                if not semi or not kind or not _XTEXT.match(value):
                    await self.push("501 5.5.4 Bad ORCPT parameter")
                    return
        self._handler.pending_rcpt[id(self)] = found
        await super().smtp_RCPT(arg)


class _Handler:
    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner
        self.dsn = owner.dsn
        self.pending_mail: dict[int, dict[str, str]] = {}
        self.pending_rcpt: dict[int, dict[str, str]] = {}
        self.rcpt_params: dict[int, dict[str, dict[str, str]]] = {}

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope,
                          hostname: str, responses: list[str]) -> list[str]:
        session.host_name = hostname
        if self.dsn:
            responses.insert(len(responses) - 1, "250-DSN")
        self.rcpt_params[id(server)] = {}
        return responses

    async def handle_RSET(self, server: SMTP, session: Session,
                          envelope: Envelope) -> str:
        self.rcpt_params[id(server)] = {}
        self.pending_mail.pop(id(server), None)
        return "250 2.0.0 Ok"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        rules = self.owner.rules
        key = address.lower()
        with self.owner.lock:
            if key in rules.refuse:
                code, text = rules.refuse[key]
                return f"{code} {text}"
            if rules.defer.get(key, 0) > 0:
                rules.defer[key] -= 1
                return f"451 4.3.0 <{address}>: Temporary lookup failure"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        self.rcpt_params.setdefault(id(server), {})[address] = \
            self.pending_rcpt.pop(id(server), {})
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session,
                          envelope: Envelope) -> str:
        owner = self.owner
        rcpt_params = self.rcpt_params.pop(id(server), {})
        mail_params = self.pending_mail.pop(id(server), {})
        with owner.lock:
            if owner.rules.defer_data > 0:
                owner.rules.defer_data -= 1
                return "451 4.3.0 Error: queue file write error"
            if owner.rules.refuse_data:
                return owner.rules.refuse_data
        for option in envelope.mail_options:
            key, _, value = option.partition("=")
            mail_params.setdefault(key, value)
        queue_id = secrets.token_hex(5).upper()
        data = envelope.original_content or b""
        auth = session.auth_data
        received = Received(
            mail_from=str(envelope.mail_from), rcpt_tos=list(envelope.rcpt_tos), data=data,
            mail_params=mail_params, rcpt_params=rcpt_params, queue_id=queue_id,
            auth_user=auth.login.decode() if isinstance(auth, LoginPassword) else "",
            tls=session.ssl is not None or (  # STARTTLS, or implicit TLS
                server.transport is not None
                and server.transport.get_extra_info("ssl_object") is not None),
            at=dt.datetime.now(dt.UTC),
        )
        with owner.lock:
            owner.messages.append(received)
            owner.cond.notify_all()
        return f"250 2.0.0 Ok: queued as {queue_id}"


class _Controller(Controller):
    def __init__(self, handler: _Handler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._smtp_handler = handler

    def factory(self) -> SMTP:
        return _Server(self._smtp_handler, **self.SMTP_kwargs)


class SmtpServer:
    """A relay on 127.0.0.1 (see the module docstring). ``starttls`` / ``implicit_tls`` need
    ``certificate`` (cert path, key path, e.g. from ``make_tls_certificate``); ``auth`` is
    user → password and makes AUTH required."""

    def __init__(self, *, dsn: bool = True, starttls: bool = False, implicit_tls: bool = False,
                 certificate: tuple[Path, Path] | None = None,
                 auth: dict[str, str] | None = None, hostname: str = "mx.relay.test",
                 bounce_domains: Iterable[str] = (), delay_domains: Iterable[str] = (),
                 port: int = 0) -> None:
        self.dsn = dsn
        self.hostname = hostname
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.starttls = starttls
        self.implicit_tls = implicit_tls
        self.certificate = certificate
        self.auth = dict(auth or {})
        self.bounce_domains = {d.lower() for d in bounce_domains}
        self.delay_domains = {d.lower() for d in delay_domains}
        self.messages: list[Received] = []
        self.rules = _Rules()
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self._bounced: set[tuple[str, str]] = set()
        self._controller: _Controller | None = None

    # ---- running ----

    def _tls(self) -> ssl.SSLContext:
        if self.certificate is None:
            raise ValueError("TLS needs a certificate")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.certificate[0]), str(self.certificate[1]))
        return context

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                      mechanism: str, auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            if self.auth.get(user) == password:
                return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    def start(self) -> SmtpServer:
        kwargs: dict[str, Any] = {"server_hostname": self.hostname, "ready_timeout": 5}
        if self.starttls:
            kwargs.update(tls_context=self._tls(), require_starttls=True)
        if self.implicit_tls:
            kwargs["ssl_context"] = self._tls()
        if self.auth:
            kwargs.update(authenticator=self._authenticate, auth_required=True,
                          auth_require_tls=self.starttls or self.implicit_tls)
        controller = _Controller(_Handler(self), hostname=self.host, port=self.port, **kwargs)
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._controller is not None

    # ---- behaviour ----

    def refuse(self, address: str, code: int = 550, text: str = "") -> None:
        text = text or (f"5.1.1 <{address}>: Recipient address rejected: User unknown in "
                        "virtual mailbox table")
        with self.lock:
            self.rules.refuse[address.lower()] = (code, text)

    def defer(self, address: str, *, times: int = 1) -> None:
        with self.lock:
            self.rules.defer[address.lower()] = times

    def defer_data(self, *, times: int = 1) -> None:
        with self.lock:
            self.rules.defer_data = times

    def refuse_data(self, reply: str = "554 5.7.1 Message rejected as spam") -> None:
        with self.lock:
            self.rules.refuse_data = reply

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.messages)} of {count} mails arrived")
                self.cond.wait(left)
            return list(self.messages)

    # ---- the relay's later bounces ----

    def bounces(self) -> list[Bounced]:
        """A DSN for every mail taken for a bounce (or delay) domain, once each, as postfix
        writes it to the envelope sender: failed with 5.1.1 for ``bounce_domains``, delayed
        with 4.4.1 for ``delay_domains``; NOTIFY is honoured."""
        out: list[Bounced] = []
        with self.lock:
            messages = list(self.messages)
        for received in messages:
            for action, domains in (("failed", self.bounce_domains),
                                    ("delayed", self.delay_domains)):
                hit = [r for r in received.rcpt_tos
                       if r.rpartition("@")[2].lower() in domains
                       and (received.queue_id, r + action) not in self._bounced
                       and self._notify(received, r, action)]
                if not hit or not received.mail_from:
                    continue
                self._bounced.update((received.queue_id, r + action) for r in hit)
                out.append(Bounced(raw=self.dsn_for(received, hit, action=action),
                                   original=received, recipients=hit, action=action))
        return out

    @staticmethod
    def _notify(received: Received, recipient: str, action: str) -> bool:
        notify = received.rcpt_params.get(recipient, {}).get("NOTIFY", "")
        if not notify:
            return action == "failed"  # the default: failures only
        wanted = set(notify.upper().split(","))
        return ("FAILURE" if action == "failed" else "DELAY") in wanted

    def dsn_for(self, received: Received, recipients: list[str], *,
                action: str = "failed") -> bytes:
        """The multipart/report a postfix relay sends back (bounce_notify_util.c's shape)."""
        host = self.hostname
        boundary = f"{received.queue_id}.{int(time.time())}/{host}"
        now = email.utils.format_datetime(dt.datetime.now(dt.UTC).astimezone())
        arrival = email.utils.format_datetime(received.at.astimezone())
        ret_headers = received.mail_params.get("RET", "").upper() == "HDRS"
        envid = received.mail_params.get("ENVID", "")
        failed = action == "failed"
        lines = [
            "Return-Path: <>",
            f"Received: by {host} (Postfix)",
            f"\tid {received.queue_id}; {now}",
            f"Date: {now}",
            f"From: MAILER-DAEMON@{host} (Mail Delivery System)",
            "Subject: " + ("Undelivered Mail Returned to Sender" if failed
                           else "Delayed Mail (still being retried)"),
            f"To: {received.mail_from}",
            "Auto-Submitted: auto-replied",
            "MIME-Version: 1.0",
            "Content-Type: multipart/report; report-type=delivery-status;",
            f'\tboundary="{boundary}"',
            "Content-Transfer-Encoding: 8bit",
            f"Message-Id: <{secrets.token_hex(6)}.{received.queue_id}@{host}>",
            "",
            "This is a MIME-encapsulated message.",
            "",
            f"--{boundary}",
            "Content-Description: " + ("Notification" if failed else "Delay notification"),
            "Content-Type: text/plain; charset=us-ascii",
            "",
            f"This is the mail system at host {host}.",
            "",
        ]
        if failed:
            lines += [
                "I'm sorry to have to inform you that your message could not",
                "be delivered to one or more recipients. It's attached below.",
                "",
                "For further assistance, please send mail to postmaster.",
                "",
                "If you do so, please include this problem report. You can",
                "delete your own text from the attached returned message.",
                "",
                "                   The mail system",
                "",
            ]
        else:
            lines += [
                "####################################################################",
                "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #",
                "####################################################################",
                "",
                "Your message could not be delivered for more than 4 hour(s).",
                "It will be retried until it is 5 day(s) old.",
                "",
            ]
        for r in recipients:
            lines.append(f"<{r}>: {self._diagnostic(r, failed, long=True)}")
            lines.append("")
        lines += [
            f"--{boundary}",
            "Content-Description: Delivery report",
            "Content-Type: message/delivery-status",
            "",
            f"Reporting-MTA: dns; {host}",
        ]
        if envid:
            lines.append(f"Original-Envelope-Id: {xtext_decode(envid)}")
        lines += [
            f"X-Postfix-Queue-ID: {received.queue_id}",
            f"X-Postfix-Sender: rfc822; {received.mail_from}",
            f"Arrival-Date: {arrival}",
        ]
        for r in recipients:
            domain = r.rpartition("@")[2]
            orcpt = received.rcpt_params.get(r, {}).get("ORCPT", "")
            lines += ["", f"Final-Recipient: rfc822; {r}"]
            if orcpt:
                kind, _, value = orcpt.partition(";")
                lines.append(f"Original-Recipient: {kind};{xtext_decode(value)}")
            lines += [f"Action: {action}", f"Status: {'5.1.1' if failed else '4.4.1'}"]
            if failed:
                lines += [f"Remote-MTA: dns; mx.{domain}",
                          f"Diagnostic-Code: smtp; {self._diagnostic(r, failed)}"]
            else:
                lines += [f"Diagnostic-Code: X-Postfix; {self._diagnostic(r, failed)}",
                          "Will-Retry-Until: " + email.utils.format_datetime(
                              (received.at + dt.timedelta(days=5)).astimezone())]
        lines += ["", f"--{boundary}"]
        if ret_headers or not failed:
            lines += ["Content-Description: Undelivered Message Headers",
                      "Content-Type: text/rfc822-headers", "Content-Transfer-Encoding: 8bit",
                      ""]
            body = received.headers
        else:
            lines += ["Content-Description: Undelivered Message",
                      "Content-Type: message/rfc822", "Content-Transfer-Encoding: 8bit", ""]
            body = received.data
        head = "\r\n".join(lines).encode("utf-8") + b"\r\n"
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        return head + body + f"\r\n--{boundary}--\r\n".encode()

    @staticmethod
    def _diagnostic(recipient: str, failed: bool, *, long: bool = False) -> str:
        domain = recipient.rpartition("@")[2]
        if not failed:
            return f"connect to mx.{domain}[192.0.2.25]:25: Connection timed out"
        said = (f"550 5.1.1 <{recipient}>: Recipient address rejected: User unknown in "
                "virtual mailbox table")
        if long:
            return (f"host mx.{domain}[192.0.2.25] said: {said} (in reply to RCPT TO "
                    "command)")
        return said


def hand_over(bounces: Iterable[Bounced], deliver: Callable[[bytes], Any]) -> list[Any]:
    """Give each DSN to the sender's mailbox (``ingest`` or an IMAP APPEND)."""
    return [deliver(b.raw) for b in bounces]
