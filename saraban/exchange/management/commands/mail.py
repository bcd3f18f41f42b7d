"""``saraban mail …``: the agency's central e-mail address (saraban@…).

    saraban mail mailbox add --agency CODE --address saraban@dept.go.th [--name NAME]
            [--accept PATTERN …] [--acknowledge] [--disabled]
            [--imap-host H [--imap-port 993] [--imap-security ssl|starttls|none]
             [--imap-user U] [--imap-password] [--imap-folder INBOX]
             [--imap-done-folder F] [--imap-kept-folder F]]
            [--smtp-host H [--smtp-port 587] [--smtp-security starttls|ssl|none]
             [--smtp-user U] [--smtp-password]]
            [--smime-certificate PEM --smime-key PEM]
    saraban mail mailbox set --agency CODE [the same options; --address to change it;
            --enabled/--disabled, --acknowledge/--no-acknowledge]
    saraban mail mailbox list                     the mailboxes, one a line
    saraban mail ingest --agency CODE [--json]    one mail on standard input (postfix pipe)
    saraban mail poll [--agency CODE] [--loop]    read the IMAP mailboxes now (or keep at it)
    saraban mail status                           mailboxes, last poll, outcomes (JSON)

CODE is the agency's exchange code, its id, or the mailbox address. Passwords are never
taken on the command line (other users could see them): ``--imap-password`` reads
``$SARABAN_IMAP_PASSWORD`` (``--smtp-password``: ``$SARABAN_SMTP_PASSWORD``) when set, else
asks for it; they are stored sealed.

``ingest`` is made for the mail server's delivery (postfix ``pipe``, or an LMTP front): it
exits 0 when the mail is in the inbox, was there already, or was kept apart (an auto-reply,
a bounce, a loop); 2 when it was refused (the reason is recorded and audited; postfix
bounces it); 75 (EX_TEMPFAIL) when it could not be processed now — the database away, no
such mailbox, the mailbox disabled — so the mail server keeps it and tries again. With
``--json`` it prints ``{"inbox_id", "subject", "sender", "attachments", "outcome"}`` or
``{"code", "reason", "outcome"}``.
"""

from __future__ import annotations

import getpass
import json
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, InterfaceError, OperationalError

from saraban.agencies.models import Agency
from saraban.core.errors import SarabanError

from ...mail.mailboxes import find_mailbox, mailbox_add, mailbox_set, mailbox_status

EX_OK = 0
EX_REFUSED = 2
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "The central e-mail address: mailboxes, mail handed over, IMAP polling, status."
    requires_system_checks: list[str] = []  # a mail server runs `ingest` once per mail

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        mailbox = sub.add_parser("mailbox", help="add, change or list the mailboxes")
        msub = mailbox.add_subparsers(dest="mailbox_verb", required=True)
        add = msub.add_parser("add", help="give an agency its central mailbox")
        change = msub.add_parser("set", help="change a mailbox")
        for p, required in ((add, True), (change, False)):
            p.add_argument("--agency", required=True,
                           help="exchange code, agency id (or, for set, the mailbox address)")
            p.add_argument("--address", required=required, default=None,
                           help="the central address, e.g. saraban@dept.go.th")
            p.add_argument("--name", dest="display_name", default=None, help="display name")
            p.add_argument("--accept", action="append", default=None,
                           help='accepted senders: "*", "*.go.th", "@mail.go.th", '
                                '"someone@x.com", "!pattern" (repeat the option)')
            p.add_argument("--acknowledge", action="store_true", default=None,
                           help="answer the sender by e-mail on register/reject/return")
            p.add_argument("--no-acknowledge", dest="acknowledge", action="store_false")
            p.add_argument("--enabled", dest="enabled", action="store_true", default=None)
            p.add_argument("--disabled", dest="enabled", action="store_false")
            p.add_argument("--imap-host", default=None)
            p.add_argument("--imap-port", type=int, default=None)
            p.add_argument("--imap-security", choices=["ssl", "starttls", "none"], default=None)
            p.add_argument("--imap-user", default=None)
            p.add_argument("--imap-password", action="store_true",
                           help="set the IMAP password ($SARABAN_IMAP_PASSWORD or asked)")
            p.add_argument("--imap-folder", default=None)
            p.add_argument("--imap-done-folder", default=None)
            p.add_argument("--imap-kept-folder", default=None)
            p.add_argument("--smtp-host", default=None)
            p.add_argument("--smtp-port", type=int, default=None)
            p.add_argument("--smtp-security", choices=["ssl", "starttls", "none"], default=None)
            p.add_argument("--smtp-user", default=None)
            p.add_argument("--smtp-password", action="store_true",
                           help="set the SMTP password ($SARABAN_SMTP_PASSWORD or asked)")
            p.add_argument("--smime-certificate", default=None, help="PEM file")
            p.add_argument("--smime-key", default=None, help="PEM file (unencrypted)")
        msub.add_parser("list", help="the mailboxes, one a line")
        ingest = sub.add_parser("ingest", help="take one mail from standard input")
        ingest.add_argument("--agency", required=True,
                            help="exchange code, agency id or mailbox address")
        ingest.add_argument("--json", action="store_true", help="print the outcome as JSON")
        poll = sub.add_parser("poll", help="read the IMAP mailboxes now")
        poll.add_argument("--agency", default=None, help="only this one")
        poll.add_argument("--loop", action="store_true",
                          help="keep polling the due mailboxes until stopped")
        sub.add_parser("status", help="mailboxes, last poll, outcomes (JSON)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "ingest":
            raise SystemExit(self._ingest(options))
        try:
            getattr(self, "_" + options["verb"])(options)
        except SarabanError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc

    # ---- mailboxes ---------------------------------------------------------------------------

    def _mailbox(self, options: dict[str, Any]) -> None:
        verb = options["mailbox_verb"]
        if verb == "list":
            for row in mailbox_status():
                flags = [f"imap {row['imap']}" if row["imap"] else "pipe only",
                         f"smtp {row['smtp']}" if row["smtp"] else "no smtp",
                         "enabled" if row["enabled"] else "disabled"]
                self.stdout.write(f"{row['address']}\tagency {row['agency']} "
                                  f"{row['exchange_code']}\t{', '.join(flags)}")
            return
        settings = self._settings(options)
        if verb == "add":
            agency = self._agency(options["agency"])
            box = mailbox_add(agency=agency, address=options["address"], **settings)
            self.stdout.write(f"added {box.address} for agency {box.agency_id}")
        else:
            if options["address"] is not None:
                settings["address"] = options["address"]
            box = mailbox_set(mailbox=find_mailbox(options["agency"]), **settings)
            self.stdout.write(f"updated {box.address}")

    def _agency(self, code: str) -> Agency:
        code = code.strip()
        agency = Agency.objects.filter(exchange_code=code).first()
        if agency is None and code.isdigit():
            agency = Agency.objects.filter(pk=int(code)).first()
        if agency is None:
            raise CommandError(f"no agency with the exchange code or id {code!r}")
        return agency

    def _settings(self, options: dict[str, Any]) -> dict[str, Any]:
        names = ("display_name", "acknowledge", "enabled", "imap_host", "imap_port",
                 "imap_security", "imap_user", "imap_folder", "imap_done_folder",
                 "imap_kept_folder", "smtp_host", "smtp_port", "smtp_security", "smtp_user")
        settings = {n: options[n] for n in names if options.get(n) is not None}
        if options.get("accept") is not None:
            settings["accept_senders"] = "\n".join(options["accept"])
        if options["imap_password"]:
            settings["imap_password"] = self._secret("SARABAN_IMAP_PASSWORD", "IMAP password: ")
        if options["smtp_password"]:
            settings["smtp_password"] = self._secret("SARABAN_SMTP_PASSWORD", "SMTP password: ")
        for option, name in (("smime_certificate", "smime_certificate_pem"),
                             ("smime_key", "smime_key_pem")):
            if options.get(option):
                try:
                    settings[name] = Path(options[option]).read_text(encoding="ascii")
                except (OSError, UnicodeDecodeError) as exc:
                    raise CommandError(f"cannot read {options[option]}: {exc}") from exc
        return settings

    @staticmethod
    def _secret(variable: str, prompt: str) -> str:
        value = os.environ.get(variable)
        if value is not None:
            return value
        if sys.stdin.isatty():
            return getpass.getpass(prompt)
        return sys.stdin.readline().rstrip("\n")

    # ---- mail in -------------------------------------------------------------------------------

    def _ingest(self, options: dict[str, Any]) -> int:
        """One mail from standard input; the exit code the mail server acts on."""
        from ...mail.intake import ingest, mail_limits

        as_json = options["json"]
        try:
            raw = sys.stdin.buffer.read(mail_limits().max_bytes + 1)
            mailbox = find_mailbox(options["agency"])
            if not mailbox.enabled:
                return self._answer(as_json, EX_TEMPFAIL, {
                    "code": "mailbox_disabled", "outcome": "deferred",
                    "reason": f"the mailbox {mailbox.address} is disabled"})
            if len(raw) > mail_limits().max_bytes:
                sys.stdin.buffer.read()  # the rest, so the mail server is not cut off
            result = ingest(mailbox, raw, source="pipe")
        except SarabanError as exc:
            return self._answer(as_json, EX_TEMPFAIL, {"code": exc.code, "outcome": "deferred",
                                                       "reason": exc.message})
        except (OperationalError, InterfaceError, DatabaseError) as exc:
            return self._answer(as_json, EX_TEMPFAIL, {
                "code": "database_unavailable", "outcome": "deferred", "reason": str(exc)[:300]})
        except Exception as exc:  # anything else: the mail server keeps the mail and retries
            traceback.print_exc(file=sys.stderr)
            return self._answer(as_json, EX_TEMPFAIL, {
                "code": "internal_error", "outcome": "deferred",
                "reason": f"{type(exc).__name__}: {exc}"[:300]})
        if result.refused:
            return self._answer(as_json, EX_REFUSED, {
                "code": result.code, "outcome": result.outcome, "reason": result.reason})
        return self._answer(as_json, EX_OK, {
            "inbox_id": result.inbox_id, "subject": result.subject, "sender": result.sender,
            "attachments": result.attachments, "outcome": result.outcome})

    def _answer(self, as_json: bool, code: int, data: dict[str, Any]) -> int:
        if as_json:
            self.stdout.write(json.dumps(data, ensure_ascii=False, sort_keys=True))
        elif code == EX_OK:
            self.stdout.write(f"{data['outcome']}: {data['subject']} ({data['sender']})"
                              + (f" inbox {data['inbox_id']}" if data["inbox_id"] else ""))
        else:
            # postfix returns what the command wrote to the sender (in the bounce) or logs it
            self.stderr.write(f"{data['code']}: {data['reason']}")
        self.stdout.flush()
        return code

    def _poll(self, options: dict[str, Any]) -> None:
        from ...mail.imap import poll_due, poll_interval, poll_now

        mailbox_id = find_mailbox(options["agency"]).pk if options["agency"] else None
        if not options["loop"]:
            results = poll_now(mailbox_id=mailbox_id)
            self.stdout.write(json.dumps({"polled": [r.as_dict() for r in results]},
                                         ensure_ascii=False, sort_keys=True))
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        pause = min(1.0, poll_interval().total_seconds())
        try:
            while not stop.is_set():
                if mailbox_id is None:
                    handled = poll_due()
                else:
                    handled = sum(r.handled for r in poll_now(mailbox_id=mailbox_id))
                if not handled:
                    stop.wait(pause)
        except KeyboardInterrupt:
            pass

    def _status(self, options: dict[str, Any]) -> None:
        self.stdout.write(json.dumps({"mailboxes": mailbox_status()}, ensure_ascii=False,
                                     sort_keys=True))
