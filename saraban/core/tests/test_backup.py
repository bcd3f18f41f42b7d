"""``saraban backup`` and ``saraban restore``: a round trip into a fresh node, on the database
the suite runs on (SQLite, or PostgreSQL with real pg_dump/pg_restore), and the refusals."""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from conftest import TEST_KEY_ENCRYPTION_KEYS
from saraban.agencies.actors import resolve_actor
from saraban.core import keys
from saraban.core.audit import audit_checkpoint
from saraban.exchange.testing import tiny_pdf
from saraban.letters.files import blob_path
from saraban.letters.models import Letter, LetterFile
from saraban.letters.services import LetterDetails, Upload, letter_register_incoming

pytestmark = pytest.mark.django_db(transaction=True)


class FreshNode:
    """An empty node (its own database, file store and checkpoint folder) run as commands."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True)
        self.vendor = connection.vendor
        self.pg_name = ""
        if self.vendor == "postgresql":
            self.pg_name = f"saraban_restore_{secrets.token_hex(4)}"
            self._pg_admin(f'CREATE DATABASE "{self.pg_name}"')

    def _pg_server(self) -> str:
        db = connection.settings_dict
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"

    def _pg_admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(f"{self._pg_server()}/postgres", autocommit=True) as conn:
            conn.execute(sql)  # names are ours

    @property
    def database_url(self) -> str:
        if self.vendor == "postgresql":
            return f"{self._pg_server()}/{self.pg_name}"
        return f"sqlite:///{self.root / 'node.sqlite3'}"

    def env(self, kek: str = TEST_KEY_ENCRYPTION_KEYS) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items()
                     if not k.startswith("SARABAN_") and k != "DATABASE_URL"}
        return {**inherited, "DATABASE_URL": self.database_url,
                "SARABAN_VAR_DIR": str(self.root / "var"),
                "SARABAN_FILES_DIR": str(self.root / "files"),
                "SARABAN_AUDIT_CHECKPOINT_DIR": str(self.root / "checkpoints"),
                "SARABAN_KEY_ENCRYPTION_KEYS": kek,
                "SARABAN_SECRET_KEY": "restore-test-" + "x" * 40,
                "PYTHONWARNINGS": "ignore"}

    def run(self, *args: str, kek: str = TEST_KEY_ENCRYPTION_KEYS
            ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "from saraban.cli import main; main()", *args],
            env=self.env(kek), capture_output=True, text=True, timeout=300, check=False,
        )

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.vendor == "postgresql":
            import psycopg

            with psycopg.connect(self.database_url) as conn:
                return list(conn.execute(sql).fetchall())
        with contextlib.closing(sqlite3.connect(self.root / "node.sqlite3")) as conn:
            return list(conn.execute(sql).fetchall())

    def drop(self) -> None:
        if self.pg_name:
            self._pg_admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


@pytest.fixture
def fresh(tmp_path):
    node = FreshNode(tmp_path / "restored")
    yield node
    node.drop()


@pytest.fixture
def letters(org):
    clerk = resolve_actor(org.clerk)
    entries = []
    for i in range(3):
        entries.append(letter_register_incoming(
            actor=clerk, registry=org.central,
            details=LetterDetails(kind="external", subject=f"ขอเชิญประชุม ครั้งที่ {i}",
                                  sender_text="กรมการปกครอง"),
            main_file=Upload(f"letter-{i}.pdf", tiny_pdf(f"Letter {i}")),
            attachments=[Upload(f"att-{i}.pdf", tiny_pdf(f"Attachment {i}"))],
        ))
    audit_checkpoint()
    return entries


def make_backup(path: Path) -> str:
    out = io.StringIO()
    call_command("backup", "-o", str(path), stdout=out)
    return out.getvalue()


def test_a_backup_restores_into_a_fresh_node_with_the_same_letters_files_and_audit(
    letters, fresh, tmp_path
):
    backup = tmp_path / "node.tar.gz"
    assert make_backup(backup).startswith(f"OK {backup}: 3 letters, 6 files")
    with tarfile.open(backup) as tar:
        names = tar.getnames()
    assert "manifest.json" in names and any(n.startswith("audit-checkpoints/") for n in names)
    assert not any("tmp" in Path(n).parts for n in names)

    done = fresh.run("restore", str(backup))
    assert done.returncode == 0, done.stderr
    assert "restored 3 letters, 6 files" in done.stdout
    assert "OK " in done.stdout and "chains" in done.stdout

    subjects = sorted(Letter.objects.values_list("pk", "subject"))
    assert sorted(fresh.query("select id, subject from letters_letter")) == subjects
    for sha in set(LetterFile.objects.values_list("blob_id", flat=True)):
        copy = fresh.root / "files" / sha[:2] / sha[2:4] / sha
        assert copy.read_bytes() == blob_path(sha).read_bytes()
    verified = fresh.run("audit", "verify")
    assert verified.returncode == 0 and verified.stdout.startswith("OK"), verified.stderr

    # A second restore over letters is refused and changes nothing.
    again = fresh.run("restore", str(backup))
    assert again.returncode != 0 and "restore_not_empty" in again.stderr


def test_a_backup_holds_no_key_and_a_restore_refuses_missing_keys_or_damage(
    letters, fresh, settings, tmp_path
):
    settings.VAR_DIR = tmp_path / "var"
    out = io.StringIO()
    call_command("backup", stdout=out)  # to the var folder by default
    [backup] = (tmp_path / "var" / "backups").glob("saraban-*.tar")
    assert str(backup) in out.getvalue()
    with tarfile.open(backup) as tar:
        for member in tar.getmembers():
            handle = tar.extractfile(member)
            data = handle.read() if handle is not None else b""
            assert b"PRIVATE KEY" not in data
            assert TEST_KEY_ENCRYPTION_KEYS.split(":")[1].encode() not in data

    done = fresh.run("restore", str(backup), kek=keys.generate_key("other"))
    assert done.returncode != 0 and "backup_keys_missing" in done.stderr and "test1" in done.stderr

    damaged = tmp_path / "damaged.tar"
    with tarfile.open(backup) as source, tarfile.open(damaged, "w") as target:
        victim = min(n for n in source.getnames() if n.startswith("files/"))
        for member in source.getmembers():
            handle = source.extractfile(member)
            data = handle.read() if handle is not None else b""
            if member.name == victim:  # one bit flipped in one stored file
                data = data[:-1] + bytes([data[-1] ^ 1])
            target.addfile(member, io.BytesIO(data))
    done = fresh.run("restore", str(damaged))
    assert done.returncode != 0 and "backup_corrupt" in done.stderr
    # Nothing changed: no files, no tables.
    assert not (fresh.root / "files").exists()
    if fresh.vendor == "sqlite":
        assert not fresh.query("select name from sqlite_master where name = 'letters_letter'")
    else:
        assert not fresh.query(
            "select 1 from information_schema.tables where table_name = 'letters_letter'")
