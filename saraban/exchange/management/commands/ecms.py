"""``saraban ecms parse FILE [--trust CERT.pem]`` and ``saraban ecms node --host H --port P
--data DIR``: the e-CMS wire tools (``saraban.ecms``), run as operator commands."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "e-CMS: parse one SOAP message (parse) or serve a local e-CMS node (node)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tool", choices=["parse", "node"])
        parser.add_argument("args", nargs=argparse.REMAINDER)

    def run_from_argv(self, argv: list[str]) -> None:
        # The tools own their arguments (``--trust``, ``--port`` …): hand them over untouched.
        if len(argv) >= 3 and argv[2] in {"parse", "node"}:
            sys.exit(self._run(argv[2], argv[3:]))
        super().run_from_argv(argv)

    def handle(self, *args: Any, **options: Any) -> None:
        sys.exit(self._run(options["tool"], list(options["args"])))

    @staticmethod
    def _run(tool: str, argv: list[str]) -> int:
        if tool == "parse":
            from saraban.ecms.cli import parse_main

            return parse_main(argv)
        from saraban.ecms.node import main

        return main(argv)
