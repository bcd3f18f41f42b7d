"""``saraban exchange …``: the operator's tools for the exchange between agencies.

    saraban exchange enrol --agency ID --code CODE     key pair, certificate, directory entry
            [--pkcs11-module SO --token LABEL --key LABEL [--certificate PEM]]
                                                       … with the key on a PKCS#11 token/HSM
    saraban exchange renew --agency ID [--pkcs11-module SO --token LABEL --key LABEL]
                                                       new key and certificate, announced to
                                                       the other nodes signed by the old key
    saraban exchange directory export [--local] [--node-url URL] [-o FILE]
    saraban exchange directory import FILE             other nodes' published entries
    saraban exchange deliver [--loop]                  send what is due (the worker does this)
    saraban exchange requeue MESSAGE_ID --as USERNAME  send a failed message again
    saraban exchange status                            outbox and inbox counts by state
    saraban exchange inbox register-all --as USERNAME  register every waiting letter (bulk)

e-CMS (the government's exchange; each agency talks to its own e-CMS node):

    saraban exchange ecms account --agency ID --department D [--ministry M] --node-url URL
    saraban exchange ecms add --department D --name NAME [--ministry M] [--node-url URL]
            [--certificate PEM] [--code CODE]      an agency reached through e-CMS
    saraban exchange ecms import-organizations --agency ID   the node's organisation list
    saraban exchange ecms poll [--agency ID]       poll the own node's queue now
    saraban exchange ecms status                   accounts, last poll, e-CMS outbox (JSON)
    saraban exchange ecms time --agency ID         the node's clock against ours (JSON)
    saraban exchange ecms codes --agency ID        secret, speed and MIME codes (JSON)
    saraban exchange ecms outbound --agency ID     the node's status of the sent letters
    saraban exchange ecms dispute MESSAGE_ID --as USERNAME [--reason TEXT]
                                                   their AcceptID is wrong (InvalidAcceptID)

A token's PIN is read from ``$SARABAN_TOKEN_PIN`` when set, else asked for (never taken on
the command line, where other users could see it); it is stored sealed.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Agency, Person
from saraban.core.errors import SarabanError

from ...directory import agency_enrol, directory_import, export_entries
from ...inbox import exchange_inbox_register
from ...keystore import TokenKey
from ...models import InboxMessage, InState, OutboxMessage
from ...outbox import exchange_requeue
from ...renewal import announcement_deliver_due, exchange_renew
from ...worker import drain, run_loop


class Command(BaseCommand):
    help = "Exchange between agencies: enrol, directory, deliver, requeue, status, inbox."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        enrol = sub.add_parser("enrol", help="give a hosted agency its key and directory entry")
        enrol.add_argument("--agency", type=int, required=True, help="agency id")
        enrol.add_argument("--code", required=True, help="exchange code, unique across nodes")
        renew = sub.add_parser("renew", help="new key and certificate, announced to other nodes")
        renew.add_argument("--agency", type=int, required=True, help="agency id")
        for p in (enrol, renew):
            p.add_argument("--pkcs11-module", default="", help="PKCS#11 module (.so) of a token")
            p.add_argument("--token", default="", help="token label")
            p.add_argument("--key", default="", help="label of the EC P-256 key on the token")
            p.add_argument("--certificate", default="",
                           help="certificate PEM file (default: read from the token)")
        directory = sub.add_parser("directory", help="export or import directory entries")
        directory.add_argument("action", choices=["export", "import"])
        directory.add_argument("file", nargs="?", help="JSON file to import ('-': stdin)")
        directory.add_argument("--local", action="store_true", help="only agencies hosted here")
        directory.add_argument("--node-url", default="", help="this node's base URL")
        directory.add_argument("-o", "--output", help="write the export here")
        deliver = sub.add_parser("deliver", help="deliver due messages")
        deliver.add_argument("--loop", action="store_true", help="keep delivering")
        requeue = sub.add_parser("requeue", help="send a failed message again")
        requeue.add_argument("message_id")
        requeue.add_argument("--as", dest="username", required=True)
        sub.add_parser("status", help="outbox and inbox counts by state")
        ecms = sub.add_parser("ecms", help="e-CMS: accounts, directory, poll, look-ups")
        esub = ecms.add_subparsers(dest="ecms_verb", required=True)
        account = esub.add_parser("account", help="connect an agency to its own e-CMS node")
        account.add_argument("--agency", type=int, required=True, help="agency id")
        account.add_argument("--department", required=True, help="10-digit department id")
        account.add_argument("--ministry", default="", help="2-digit ministry id")
        account.add_argument("--node-url", required=True, help="the agency's own node URL")
        add = esub.add_parser("add", help="list an agency reached through e-CMS")
        add.add_argument("--department", required=True, help="10-digit department id")
        add.add_argument("--name", required=True, help="its Thai name")
        add.add_argument("--ministry", default="", help="2-digit ministry id")
        add.add_argument("--node-url", default="", help="its e-CMS node URL (informational)")
        add.add_argument("--certificate", default="", help="PEM file of its XML-DSig cert")
        add.add_argument("--code", default="", help="directory code (default: department)")
        orgs = esub.add_parser("import-organizations", help="the node's organisation list")
        orgs.add_argument("--agency", type=int, required=True, help="agency id")
        poll = esub.add_parser("poll", help="poll the own node's queue now")
        poll.add_argument("--agency", type=int, default=None, help="agency id (default: all)")
        esub.add_parser("status", help="accounts and e-CMS outbox (JSON)")
        for verb in ("time", "codes", "outbound"):
            look = esub.add_parser(verb, help=f"{verb} from the agency's own node (JSON)")
            look.add_argument("--agency", type=int, required=True, help="agency id")
        dispute = esub.add_parser("dispute", help="tell the recipient its AcceptID is wrong")
        dispute.add_argument("message_id")
        dispute.add_argument("--as", dest="username", required=True)
        dispute.add_argument("--reason", default="")
        inbox = sub.add_parser("inbox", help="work on the electronic inbox")
        inbox.add_argument("action", choices=["register-all"])
        inbox.add_argument("--as", dest="username", required=True, help="a registry clerk")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "_" + options["verb"])(options)
        except SarabanError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc

    def _enrol(self, options: dict[str, Any]) -> None:
        agency = Agency.objects.filter(pk=options["agency"]).first()
        if agency is None:
            raise CommandError("no such agency")
        token, certificate = self._token(options)
        entry = agency_enrol(agency=agency, code=options["code"], token=token,
                             certificate_pem=certificate)
        where = " (key on the token)" if token else ""
        self.stdout.write(f"enrolled {entry.code} ({entry.name_th}){where}")

    def _token(self, options: dict[str, Any]) -> tuple[TokenKey | None, str | None]:
        parts = (options["pkcs11_module"], options["token"], options["key"])
        if not any(parts):
            if options["certificate"]:
                raise CommandError("--certificate goes with a token key (--pkcs11-module …)")
            return None, None
        if not all(parts):
            raise CommandError("a token key needs --pkcs11-module, --token and --key")
        pin = os.environ.get("SARABAN_TOKEN_PIN") or (
            getpass.getpass("PIN: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
        )
        certificate = None
        if options["certificate"]:
            try:
                certificate = Path(options["certificate"]).read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"cannot read {options['certificate']}: {exc}") from exc
        token = TokenKey(module=options["pkcs11_module"], token_label=options["token"],
                         key_label=options["key"], pin=pin)
        return token, certificate

    def _renew(self, options: dict[str, Any]) -> None:
        agency = Agency.objects.filter(pk=options["agency"]).first()
        if agency is None:
            raise CommandError("no such agency")
        token, certificate = self._token(options)
        queued = exchange_renew(agency=agency, token=token, certificate_pem=certificate)
        self.stdout.write(f"renewed the exchange certificate of {agency.exchange_code}; "
                          f"announcing it to {len(queued)} nodes")
        announcement_deliver_due(limit=max(20, len(queued)))
        for row in queued:
            row.refresh_from_db()
            self.stdout.write(f"  {row.node_url}: {row.state} {row.last_error}".rstrip())

    def _directory(self, options: dict[str, Any]) -> None:
        if options["action"] == "export":
            data = json.dumps(
                {"entries": export_entries(local_only=options["local"],
                                           node_url=options["node_url"])},
                ensure_ascii=False, indent=2,
            )
            if options["output"]:
                Path(options["output"]).write_text(data, encoding="utf-8")
            else:
                self.stdout.write(data)
            return
        if not options["file"]:
            raise CommandError("give the JSON file to import")
        text = (sys.stdin.read() if options["file"] == "-"
                else Path(options["file"]).read_text(encoding="utf-8"))
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise CommandError(f"not JSON: {exc}") from exc
        entries = data.get("entries", []) if isinstance(data, dict) else data
        created, updated = directory_import(entries)
        self.stdout.write(f"imported: {created} new, {updated} updated")

    def _deliver(self, options: dict[str, Any]) -> None:
        if options["loop"]:
            stop = threading.Event()
            try:
                run_loop(stop)
            except KeyboardInterrupt:
                stop.set()
            return
        self.stdout.write(f"attempted {drain()} messages")

    def _person(self, username: str) -> Person:
        person = Person.objects.filter(username=username, is_active=True).first()
        if person is None:
            raise CommandError(f"no active user {username!r}")
        return person

    def _requeue(self, options: dict[str, Any]) -> None:
        out = OutboxMessage.objects.filter(message_id=options["message_id"]).first()
        if out is None:
            raise CommandError("no such message")
        exchange_requeue(actor=resolve_actor(self._person(options["username"])), out=out)
        self.stdout.write(f"requeued {out.message_id}")

    def _status(self, options: dict[str, Any]) -> None:
        out = dict(OutboxMessage.objects.values_list("state").annotate(n=Count("pk"))
                   .values_list("state", "n"))
        inbox = dict(InboxMessage.objects.values_list("state").annotate(n=Count("pk"))
                     .values_list("state", "n"))
        self.stdout.write(json.dumps({"outbox": out, "inbox": inbox}, sort_keys=True))

    def _ecms(self, options: dict[str, Any]) -> None:
        from ...ecms import accounts
        from ...ecms.poll import poll_now
        from ...outbox import exchange_dispute_accept_id

        verb = options["ecms_verb"]
        if verb == "account":
            agency = Agency.objects.filter(pk=options["agency"]).first()
            if agency is None:
                raise CommandError("no such agency")
            account = accounts.ecms_account_set(
                agency=agency, department=options["department"],
                ministry=options["ministry"], node_url=options["node_url"])
            self.stdout.write(f"e-CMS account {account.department_id} "
                              f"(ministry {account.ministry_id}) → {account.node_url}")
        elif verb == "add":
            pem = ""
            if options["certificate"]:
                try:
                    pem = Path(options["certificate"]).read_text(encoding="ascii")
                except (OSError, UnicodeDecodeError) as exc:
                    raise CommandError(f"cannot read {options['certificate']}: {exc}") from exc
            entry, created = accounts.ecms_entry_add(
                department=options["department"], name=options["name"],
                ministry=options["ministry"], node_url=options["node_url"],
                certificate_pem=pem, code=options["code"])
            self.stdout.write(f"{'added' if created else 'updated'} {entry.code} "
                              f"({entry.ecms_department_id} {entry.name_th})")
        elif verb == "import-organizations":
            self._json(accounts.ecms_import_organizations(agency_id=options["agency"]))
        elif verb == "poll":
            self._json({"polled": [r.as_dict() for r in poll_now(agency_id=options["agency"])]})
        elif verb == "status":
            self._json(accounts.ecms_status())
        elif verb == "time":
            self._json(accounts.ecms_time_check(agency_id=options["agency"]))
        elif verb == "codes":
            self._json(accounts.ecms_code_lists(agency_id=options["agency"]))
        elif verb == "outbound":
            self._json({"outbound": accounts.ecms_outbound_status(agency_id=options["agency"])})
        elif verb == "dispute":
            out = OutboxMessage.objects.filter(message_id=options["message_id"]).first()
            if out is None:
                raise CommandError("no such message")
            command = exchange_dispute_accept_id(
                actor=resolve_actor(self._person(options["username"])), out=out,
                reason=options["reason"])
            self.stdout.write(f"queued InvalidAcceptIDNotifier {command.message_id}")

    def _json(self, data: Any) -> None:
        self.stdout.write(json.dumps(data, ensure_ascii=False, sort_keys=True))

    def _inbox(self, options: dict[str, Any]) -> None:
        actor = resolve_actor(self._person(options["username"]))
        done = 0
        for message in InboxMessage.objects.filter(state=InState.WAITING).order_by("pk"):
            try:
                exchange_inbox_register(actor=actor, message=message)
                done += 1
            except SarabanError as exc:
                if exc.code not in {"inbox_already_handled", "inbox_forbidden"}:
                    raise
        self.stdout.write(f"registered {done}")
