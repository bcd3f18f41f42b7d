"""Exit 0 when the PostgreSQL server in the given URL accepts connections (used by make)."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

import psycopg


def main() -> int:
    parts = urlsplit(sys.argv[1])
    try:
        with psycopg.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password or None,
            dbname="postgres",
            connect_timeout=5,
        ):
            return 0
    except psycopg.Error as exc:
        print(f"PostgreSQL not reachable: {exc}".strip(), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
