"""Benchmark "my desk" in an agency with 100,000 letters.

    .venv/bin/python bench/desk.py                       # PostgreSQL, 100,000 letters
    .venv/bin/python bench/desk.py --db sqlite --letters 20000 --requests 100

A fresh scratch database (PostgreSQL ``saraban_bench_desk`` on
``postgres://postgres@127.0.0.1:5432`` or the server in ``SARABAN_BENCH_PG``, dropped
afterwards; or an SQLite file with ``--db sqlite``) is migrated and given the sample
organisation, 20 more units with 10 people and posts each, and ``--letters`` registered
letters, each with a register entry and one assignment. The rows are bulk-inserted: this is
a benchmark's data load, not a test of the actions. ``--open-share`` of the letters (2 % by
default) are open assignments to the measured person, ``officer`` (to them, to their post and
to their unit in turn); of the rest, one in five is open work for someone else and the others
are closed.

It then renders "my desk" as the officer through Django's test client: the web page
(``web:my_desk``, logged in) and the API (``GET /api/v1/desk`` with a token), ``--warmup``
requests first, then ``--requests`` timed ones each, and prints p50/p95/p99 in ms and the
number of queries per request. The target is p95 < 100 ms for the web page.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("SARABAN_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
PG_DB = "saraban_bench_desk"
TARGET_P95_MS = 100.0


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    scratch = Path(tempfile.mkdtemp(prefix="saraban-bench-desk-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "saraban.settings"
    # A scratch database: sealed with the demo's published keys (saraban.core.keys).
    os.environ.setdefault("SARABAN_DEMO", "1")
    os.environ["SARABAN_VAR_DIR"] = str(scratch)
    os.environ["SARABAN_FILES_DIR"] = str(scratch / "files")
    os.environ.setdefault("SARABAN_LOG_LEVEL", "WARNING")
    if args.db == "sqlite":
        os.environ["DATABASE_URL"] = f"sqlite:///{scratch / 'bench.sqlite3'}"
    else:
        if not args.reuse:
            pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            pg_admin(f"CREATE DATABASE {PG_DB}")
        os.environ["DATABASE_URL"] = f"{PG_SERVER}/{PG_DB}"
    try:
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        if args.reuse:
            from saraban.agencies.models import Person

            return measure(args, Person.objects.get(username="officer").pk)
        started = time.perf_counter()
        officer_id, open_count = load(args)
        print(f"loaded {args.letters} letters ({open_count} open on the officer's desk) "
              f"in {time.perf_counter() - started:.1f} s", flush=True)
        return measure(args, officer_id)
    finally:
        from django.db import connections

        connections.close_all()
        if args.db == "postgres" and not args.keep:
            pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        shutil.rmtree(scratch, ignore_errors=True)


def load(args: argparse.Namespace) -> tuple[int, int]:
    """The sample organisation plus the letters; answers (officer id, open on their desk)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from saraban.agencies.models import AgencyKind, Position, Role, RoleGrant
    from saraban.agencies.sample import build_sample_org, make_person
    from saraban.agencies.services import agency_create
    from saraban.core.thai import be_year
    from saraban.letters.models import Letter, RegisterEntry, SeriesKind
    from saraban.routing.models import Assignment, AssignmentState, Purpose

    rng = random.Random(args.seed)
    org = build_sample_org(password=None)
    units = [org.ops, org.ict, org.ict_group]
    people = [org.clerk, org.director]
    posts = [org.clerk_post, org.director_post]
    with transaction.atomic():
        for u in range(20):
            unit = agency_create(kind=AgencyKind.DIVISION, name_th=f"กองทดสอบ {u + 1}",
                                 parent=org.ops, office_code=f"09{u:02d}")
            units.append(unit)
            for p in range(10):
                person = make_person(f"u{u}p{p}", f"บุคคล {u}-{p}", agency=org.ministry,
                                     password=None)
                posts.append(Position.objects.create(unit=unit, title_th=f"ตำแหน่ง {u}-{p}",
                                                     holder=person, is_head=p == 0))
                RoleGrant.objects.create(person=person, unit=unit, role=Role.OFFICER)
                people.append(person)
    series = org.central.series.get(kind=SeriesKind.INCOMING)
    now = timezone.now()
    year = be_year(now)
    officer_targets = [{"to_person": org.officer}, {"to_position": org.officer_post},
                       {"to_unit": org.ict_group}]
    open_count = 0
    batch = 5000
    for start in range(0, args.letters, batch):
        size = min(batch, args.letters - start)
        with transaction.atomic():
            letters = Letter.objects.bulk_create([
                Letter(tenant=org.ministry, unit=rng.choice(units), direction="incoming",
                       kind="external", urgency=rng.choice((0, 0, 0, 1, 2, 3)),
                       subject=f"หนังสือทดสอบฉบับที่ {start + i + 1}",
                       sender_text="กรมการปกครอง", created_by=org.clerk,
                       created_at=now - dt.timedelta(minutes=args.letters - start - i))
                for i in range(size)
            ])
            RegisterEntry.objects.bulk_create([
                RegisterEntry(series=series, year_be=year, number=start + i + 1,
                              formatted=str(start + i + 1), letter=letter,
                              registered_at=letter.created_at, registered_by=org.clerk)
                for i, letter in enumerate(letters)
            ])
            assignments = []
            for letter in letters:
                mine = rng.random() < args.open_share
                if mine:
                    target: dict[str, Any] = officer_targets[open_count % 3]
                    open_count += 1
                    state = rng.choice((AssignmentState.PENDING, AssignmentState.ACKNOWLEDGED))
                else:
                    target = rng.choice((
                        {"to_person": rng.choice(people)},
                        {"to_position": rng.choice(posts)},
                        {"to_unit": rng.choice(units[3:])},
                    ))
                    state = (AssignmentState.PENDING if rng.random() < 0.2
                             else AssignmentState.CLOSED)
                created = letter.created_at + dt.timedelta(minutes=5)
                assignments.append(Assignment(
                    letter=letter, tenant=org.ministry, from_person=org.director,
                    from_position=org.director_post, purpose=Purpose.ACTION,
                    due_at=created + dt.timedelta(days=rng.choice((0, 1, 3, 7))),
                    state=state, created_at=created,
                    closed_at=created if state == AssignmentState.CLOSED else None,
                    **target,
                ))
            Assignment.objects.bulk_create(assignments)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return org.officer.pk, open_count


def timed(client: Any, url: str, warmup: int, requests: int, **extra: Any
          ) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        assert client.get(url, **extra).status_code == 200
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url, **extra)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as ctx:
        client.get(url, **extra)
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "queries": len(ctx)}


def measure(args: argparse.Namespace, officer_id: int) -> list[dict[str, Any]]:
    import secrets

    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import NoReverseMatch, reverse
    from django.utils import timezone

    from saraban.agencies.models import Person
    from saraban.api.auth import TOKEN_PREFIX, hash_token
    from saraban.api.models import ApiToken

    setup_test_environment()
    officer = Person.objects.get(pk=officer_id)
    results = []
    try:
        web_url: str | None = reverse("web:my_desk")
    except NoReverseMatch:
        web_url = None
        print("web:my_desk does not exist yet: measuring the API only", flush=True)
    if web_url is not None:
        client = Client()
        client.force_login(officer)
        results.append({"what": f"web {web_url}",
                        **timed(client, web_url, args.warmup, args.requests)})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(person=officer, token_hash=hash_token(raw),
                            created_at=timezone.now())
    api = Client()
    results.append({"what": "api /api/v1/desk",
                    **timed(api, "/api/v1/desk", args.warmup, args.requests,
                            headers={"authorization": f"Bearer {raw}"})})
    for r in results:
        r["db"] = connection.vendor
    return results


def main() -> int:
    warnings.filterwarnings("ignore", message="No directory at")  # static not collected
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--letters", type=int, default=100_000)
    parser.add_argument("--open-share", type=float, default=0.02,
                        help="share of the letters open on the officer's desk")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--keep", action="store_true",
                        help="keep the PostgreSQL database (to look at the plans)")
    parser.add_argument("--reuse", action="store_true",
                        help="measure a database kept by --keep without loading it again")
    args = parser.parse_args()
    results = run(args)
    ok = True
    for r in results:
        print(f"{r['db']:<10} {r['what']:<22} p50 {r['p50']:6.1f} ms  p95 {r['p95']:6.1f} ms  "
              f"p99 {r['p99']:6.1f} ms  {r['queries']} queries/request", flush=True)
        if r["what"].startswith("web"):
            ok = ok and r["p95"] < TARGET_P95_MS
    print(f"target p95 < {TARGET_P95_MS:.0f} ms for the web page: "
          f"{'met' if ok else 'MISSED'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
