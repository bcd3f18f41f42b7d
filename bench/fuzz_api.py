"""bench/fuzz_api.py: schemathesis against the API with many examples; counts server errors.

A scratch node (its own SQLite file, or a fresh PostgreSQL database with ``--pg URL``) is
migrated and given the sample organisation; schemathesis's engine then runs every phase
(examples, coverage, fuzzing, stateful) with every check against the WSGI app in this
process, as the registry clerk with a real token. The person's own token operations
(``/auth/``) run last, so a drawn token id that revokes the clerk's token cannot blind the
rest of the run.

    python bench/fuzz_api.py --max-examples 100          # prints one JSON line
    python bench/fuzz_api.py --pg postgres://postgres@127.0.0.1:5432

``run(max_examples=...) -> dict`` is what ``make attack`` calls: ``server_errors`` is the
figure that must be 0; ``failures`` counts every failed check (any kind).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

ROOT = Path(__file__).resolve().parent.parent


def _prepare(var_dir: Path, pg: str | None) -> str | None:
    """Point Django at a scratch node; the PostgreSQL database made, if any."""
    os.environ["SARABAN_VAR_DIR"] = str(var_dir)
    os.environ["SARABAN_FILES_DIR"] = str(var_dir / "files")
    os.environ.setdefault("SARABAN_DEMO", "1")  # a scratch node: no secrets of its own
    os.environ["DJANGO_SETTINGS_MODULE"] = "saraban.settings"
    database = None
    if pg:
        import psycopg

        database = f"saraban_fuzz_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"{pg.rstrip('/')}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        os.environ["DATABASE_URL"] = f"{pg.rstrip('/')}/{database}"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{var_dir / 'fuzz.sqlite3'}"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    return database


def _drop(pg: str, database: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{pg.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def run(max_examples: int = 50, *, seed: int | None = None, pg: str | None = None,
        phases: tuple[str, ...] | None = None, verbose: bool = False) -> dict[str, Any]:
    """Fuzz the API of a scratch node; the counts (``server_errors`` must be 0)."""
    with tempfile.TemporaryDirectory(prefix="saraban-fuzz-") as tmp:
        database = _prepare(Path(tmp), pg)
        try:
            return _run(max_examples, seed=seed, phases=phases, verbose=verbose)
        finally:
            if pg and database:
                _drop(pg, database)


def _run(max_examples: int, *, seed: int | None, phases: tuple[str, ...] | None,
         verbose: bool) -> dict[str, Any]:
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.management import call_command

    from saraban.agencies.sample import build_sample_org
    from saraban.api.tests import fuzzing

    call_command("migrate", verbosity=0, interactive=False)
    build_sample_org(password="saraban-demo")
    token = _token()
    started = time.monotonic()
    # Served on a loopback port by threads, as a node is: schemathesis's engine reaches a
    # WSGI app in-process only through a transport that some of its checks trip over.
    server = make_server("127.0.0.1", 0, WSGIHandler(), server_class=_ThreadingServer,
                         handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app = f"http://127.0.0.1:{server.server_port}"
    chosen = phases or fuzzing.PHASES
    # The token operations last (see the module docstring).
    main = fuzzing.run(app, token=token, max_examples=max_examples, seed=seed, phases=chosen,
                       exclude_path_regex="/auth/")
    token = _token()
    auth = fuzzing.run(app, token=token, max_examples=max_examples, seed=seed, phases=chosen,
                       include_path_regex="/auth/")
    server.shutdown()
    server.server_close()
    main.cases += auth.cases
    main.findings += auth.findings
    main.errors += auth.errors
    summary = main.summary()
    summary["seconds"] = round(time.monotonic() - started, 1)
    summary["max_examples"] = max_examples
    if verbose and (main.findings or main.errors):
        print(main.report(), file=sys.stderr)
    return summary


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _token() -> str:
    """A token for the clerk, asked for as any client would."""
    from django.test import Client

    answer = Client().post("/api/v1/auth/token",
                           {"username": "clerk", "password": "saraban-demo"},
                           content_type="application/json")
    assert answer.status_code == 201, answer.content
    return str(answer.json()["token"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=50)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--pg", default=None, help="PostgreSQL server URL (no database name)")
    parser.add_argument("--phases", default=None, help="comma-separated, default all")
    args = parser.parse_args()
    phases = tuple(args.phases.split(",")) if args.phases else None
    summary = run(args.max_examples, seed=args.seed, pg=args.pg, phases=phases, verbose=True)
    print(json.dumps(summary, ensure_ascii=False))
    sys.exit(1 if summary["server_errors"] else 0)


if __name__ == "__main__":
    main()
