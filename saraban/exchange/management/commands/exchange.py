"""``saraban exchange …``: the operator's tools for the exchange between agencies.

    saraban exchange enrol --agency ID --code CODE     key pair, certificate, directory entry
    saraban exchange directory export [--local] [--node-url URL] [-o FILE]
    saraban exchange directory import FILE             other nodes' published entries
    saraban exchange deliver [--loop]                  send what is due (the worker does this)
    saraban exchange requeue MESSAGE_ID --as USERNAME  send a failed message again
    saraban exchange status                            outbox and inbox counts by state
    saraban exchange inbox register-all --as USERNAME  register every waiting letter (bulk)
"""

from __future__ import annotations

import json
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
from ...models import InboxMessage, InState, OutboxMessage
from ...outbox import exchange_requeue
from ...worker import drain, run_loop


class Command(BaseCommand):
    help = "Exchange between agencies: enrol, directory, deliver, requeue, status, inbox."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        enrol = sub.add_parser("enrol", help="give a hosted agency its key and directory entry")
        enrol.add_argument("--agency", type=int, required=True, help="agency id")
        enrol.add_argument("--code", required=True, help="exchange code, unique across nodes")
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
        entry = agency_enrol(agency=agency, code=options["code"])
        self.stdout.write(f"enrolled {entry.code} ({entry.name_th})")

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
