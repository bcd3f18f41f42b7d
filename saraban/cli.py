"""The ``saraban`` console command: Django's management commands for operators.

``saraban audit verify``, ``saraban migrate``, ``saraban worker``, ``saraban load_demo`` …
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saraban.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["saraban", *(argv if argv is not None else sys.argv[1:])])
