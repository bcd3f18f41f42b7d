"""Suite-wide fixtures: the sample organisation, a private file store, fast hashing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

# Signing fixtures (test PKI, TSA, SoftHSM2, pdfsig) for every area's tests.
pytest_plugins = ["saraban.signatures.fixtures"]


@pytest.fixture(autouse=True)
def _file_store(settings, tmp_path: Path) -> None:
    settings.SARABAN_FILES_DIR = tmp_path / "files"
    settings.SARABAN_AUDIT_CHECKPOINT_DIR = tmp_path / "audit-checkpoints"


# The test node's key-encryption keys (saraban.core.keys): a fixed test key, never a real one.
TEST_KEY_ENCRYPTION_KEYS = "test1:jtBRf4JdyGRkB7EBnpXmIR94WqFJwMqk9DVRxHBjY70="


def pytest_configure(config) -> None:
    """Give the test node its secret key and key-encryption keys before any fixture
    (module-scoped ones included) seals a key; a test that changes them through
    ``settings`` gets them back."""
    from django.conf import settings

    settings.SARABAN_KEY_ENCRYPTION_KEYS = TEST_KEY_ENCRYPTION_KEYS
    # Not the published default: in-process ``saraban worker`` runs pass the start check.
    settings.SECRET_KEY = "saraban-test-secret-key-" + "k" * 40


@pytest.fixture(autouse=True)
def _fast_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def org(db):
    from saraban.agencies.sample import build_sample_org

    return build_sample_org(password="saraban-demo")


# --- Two database passes: SQLite (default) and PostgreSQL (DATABASE_URL=postgres://…) ---------

POSTGRES_SKIP_REASON = (
    "needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/saraban"
)


def _default_vendor() -> str:
    from django.conf import settings

    engine = str(settings.DATABASES["default"]["ENGINE"])
    return "postgresql" if "postgresql" in engine else engine.rsplit(".", 1)[-1]


def pytest_collection_modifyitems(config, items) -> None:
    """Skip tests marked ``postgres`` unless the default database is PostgreSQL."""
    if _default_vendor() == "postgresql":
        return
    skip = pytest.mark.skip(reason=POSTGRES_SKIP_REASON)
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix, tmp_path_factory
) -> None:
    """Put the SQLite test database in a file, not in shared-cache memory.

    Concurrency tests open one connection per thread; an in-memory shared-cache database
    answers "database table is locked" at once instead of waiting on the busy timeout, and
    cannot use WAL. A file behaves like the real node. ``SARABAN_SQLITE_TEST_NAME`` wins.
    """
    from django.conf import settings

    db: dict[str, Any] = settings.DATABASES["default"]
    if _default_vendor() != "sqlite3":
        return
    test: dict[str, Any] = db.setdefault("TEST", {})
    if not test.get("NAME"):
        test["NAME"] = str(tmp_path_factory.mktemp("sqlite") / "test_saraban.sqlite3")


@pytest.fixture(scope="session", autouse=True)
def _close_stray_postgres_sessions(django_db_setup, django_db_blocker):
    """Before the PostgreSQL test database is dropped, end sessions that tests left open.

    Code run under Playwright's sync API, or in threads, can hold a connection that the
    test's own teardown cannot see; one such session would make the DROP DATABASE fail.
    """
    yield
    if _default_vendor() != "postgresql":
        return
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
