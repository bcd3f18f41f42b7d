"""Benchmark register numbering under concurrency, on SQLite and PostgreSQL.

    .venv/bin/python bench/numbering.py --db both --letters 2000 --threads 16

For each database: a fresh scratch database (an SQLite file in a temporary directory, or a
PostgreSQL database ``saraban_bench`` created on the server and dropped afterwards), migrated,
with the sample organisation; then ``--threads`` threads, each on its own connection,
register ``--letters`` incoming letters into one series through the real action
``letter_register_incoming``, timing every call. It prints registrations per second, p50 and
p99 latency, and the duplicates and gaps found in the register afterwards (both must be 0).

Django is configured once per process, so ``--db both`` runs this script once per database.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("SARABAN_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
PG_DB = "saraban_bench"
MARK = "BENCH-RESULT "


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def run_one(db: str, letters: int, threads: int) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix=f"saraban-bench-{db}-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "saraban.settings"
    # A scratch database: sealed with the demo's published keys (saraban.core.keys).
    os.environ.setdefault("SARABAN_DEMO", "1")
    os.environ["SARABAN_VAR_DIR"] = str(scratch)
    os.environ["SARABAN_FILES_DIR"] = str(scratch / "files")
    os.environ.setdefault("SARABAN_LOG_LEVEL", "WARNING")
    if db == "sqlite":
        os.environ["DATABASE_URL"] = f"sqlite:///{scratch / 'bench.sqlite3'}"
    else:
        pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        pg_admin(f"CREATE DATABASE {PG_DB}")
        os.environ["DATABASE_URL"] = f"{PG_SERVER}/{PG_DB}"
    try:
        return measure(db, letters, threads)
    finally:
        from django.db import connections

        connections.close_all()
        if db == "postgres":
            pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        shutil.rmtree(scratch, ignore_errors=True)


def measure(db: str, letters: int, threads: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    from saraban.agencies.actors import resolve_actor
    from saraban.agencies.sample import build_sample_org
    from saraban.core.audit import audit_verify
    from saraban.letters.models import RegisterEntry, SeriesKind
    from saraban.letters.services import LetterDetails, letter_register_incoming

    org = build_sample_org(password=None)
    actor = resolve_actor(org.clerk)
    registry = org.central
    connections.close_all()

    remaining = iter(range(letters))
    take = threading.Lock()
    barrier = threading.Barrier(threads + 1)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[str] = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            while True:
                with take:
                    n = next(remaining, None)
                if n is None:
                    return
                started = time.perf_counter()
                letter_register_incoming(
                    actor=actor, registry=registry,
                    details=LetterDetails(kind="external", subject=f"หนังสือทดสอบ {n}",
                                          sender_text="กรมการปกครอง"),
                )
                latencies[i].append(time.perf_counter() - started)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started

    numbers = list(
        RegisterEntry.objects.filter(series__registry=registry, series__kind=SeriesKind.INCOMING)
        .values_list("number", flat=True)
    )
    distinct = set(numbers)
    top = max(distinct, default=0)
    audit_ok = all(problem is None for _a, _n, problem in audit_verify())
    flat = sorted(x * 1000 for lat in latencies for x in lat)
    cuts = statistics.quantiles(flat, n=100, method="inclusive") if len(flat) > 1 else [0.0] * 99
    return {
        "db": db,
        "letters": letters,
        "threads": threads,
        "registered": len(numbers),
        "seconds": elapsed,
        "per_second": len(flat) / elapsed if elapsed else 0.0,
        "p50_ms": cuts[49],
        "p99_ms": cuts[98],
        "duplicates": len(numbers) - len(distinct),
        "gaps": top - len(distinct),
        "audit_ok": audit_ok,
        "errors": errors[:5],
        "error_count": len(errors),
    }


def line(r: dict[str, Any]) -> str:
    text = (
        f"{r['db']:<8} {r['registered']} letters, {r['threads']} threads: "
        f"{r['per_second']:.1f} registrations/s, p50 {r['p50_ms']:.1f} ms, "
        f"p99 {r['p99_ms']:.1f} ms, duplicates {r['duplicates']}, gaps {r['gaps']}, "
        f"audit chain {'ok' if r['audit_ok'] else 'BROKEN'}"
    )
    if r["error_count"]:
        text += f", {r['error_count']} errors (first: {r['errors'][0]})"
    return text


def table(results: list[dict[str, Any]]) -> str:
    head = ("database", "letters", "threads", "reg/s", "p50 ms", "p99 ms", "dups", "gaps",
            "audit")
    rows = [
        (r["db"], str(r["registered"]), str(r["threads"]), f"{r['per_second']:.1f}",
         f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}", str(r["duplicates"]), str(r["gaps"]),
         "ok" if r["audit_ok"] else "BROKEN")
        for r in results
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt.format(*head), rule, *(fmt.format(*row) for row in rows)])


def healthy(r: dict[str, Any]) -> bool:
    return (r["duplicates"] == 0 and r["gaps"] == 0 and r["audit_ok"] and not r["error_count"]
            and r["registered"] == r["letters"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--letters", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--json", action="store_true", help="also print a machine-readable line")
    args = parser.parse_args()

    if args.db != "both":
        result = run_one(args.db, args.letters, args.threads)
        print(line(result), flush=True)
        if args.json:
            print(MARK + json.dumps(result), flush=True)
        return 0 if healthy(result) else 1

    results = []
    for db in ("sqlite", "postgres"):
        proc = subprocess.run(
            [sys.executable, __file__, "--db", db, "--letters", str(args.letters),
             "--threads", str(args.threads), "--json"],
            capture_output=True, text=True, check=False,
        )
        found = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)]
        if not found:
            print(f"{db:<8} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}", flush=True)
            continue
        result = json.loads(found[-1][len(MARK):])
        results.append(result)
        print(line(result), flush=True)
    if results:
        print()
        print(table(results))
    return 0 if len(results) == 2 and all(healthy(r) for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
