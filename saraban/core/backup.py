"""Backing a node up and restoring it: the database, the file store and the audit checkpoints.

A backup is one tar file::

    manifest.json              what it holds: format, vendor, migrations, counts, key ids,
                               and the SHA-256 of every other member
    database/db.pgdump         PostgreSQL: pg_dump's custom format (pg_restore reads it)
    database/db.sqlite3        SQLite: a consistent copy made with SQLite's backup API
    files/aa/bb/<sha256>       the content-addressed file store
    audit-checkpoints/…        the audit chains' checkpoints

The node's key-encryption keys are *not* in it: every secret inside the database stays
sealed, so a stolen backup reveals no key, and a restore needs the keys it names
(``key_ids``). The database is dumped before the files are copied; files are only ever
added, so every file the dump refers to is in the backup.

``backup_restore`` checks every member against the manifest before it changes anything,
refuses a node whose database already holds letters (unless told to replace it), checks the
node's keys open what the backup sealed, and ends with the audit chains verified.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection, connections
from django.db.migrations.recorder import MigrationRecorder

from . import keys
from .audit import audit_verify
from .errors import Conflict, ValidationFailed

FORMAT = "saraban-backup/1"
_CHUNK = 1 << 20


class BackupRefused(Conflict):
    default_code = "backup_refused"


@dataclass
class BackupReport:
    path: Path
    manifest: dict[str, Any]


@dataclass
class RestoreReport:
    manifest: dict[str, Any]
    files: int = 0
    checkpoints: int = 0
    chains: int = 0
    events: int = 0
    problems: list[str] = field(default_factory=list)


def _vendor() -> str:
    return "postgresql" if connection.vendor == "postgresql" else connection.vendor


def _pg_env() -> dict[str, str]:
    db = settings.DATABASES["default"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for key, name in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"),
                      ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[name] = str(db[key])
    return env


def _tool(name: str) -> str:
    """The full path of a PostgreSQL client program (Debian's postgresql-client)."""
    found = shutil.which(name)
    if found is None:
        raise BackupRefused(f"ไม่พบโปรแกรม {name} (ติดตั้ง postgresql-client)",
                            code="pg_tools_missing")
    return found


def _db_name() -> str:
    return str(connection.settings_dict["NAME"])


def _counts() -> dict[str, int]:
    counted = {"audit_events": apps.get_model("core", "AuditEvent").objects.count()}
    for label, model in (("letters", "letters.Letter"), ("blobs", "letters.Blob"),
                         ("people", "agencies.Person"), ("agencies", "agencies.Agency")):
        counted[label] = apps.get_model(model).objects.count()
    return counted


def _migrations() -> dict[str, str]:
    latest: dict[str, str] = {}
    for app, name in MigrationRecorder(connection).applied_migrations():
        latest[app] = max(latest.get(app, ""), name)
    return dict(sorted(latest.items()))


def _key_ids() -> list[str]:
    """The ids of the key-encryption keys the database's sealed values need."""
    from .rekey import keys_status

    return sorted({kid for (_label, kid) in keys_status().by_key})


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _dump_database(folder: Path) -> Path:
    if _vendor() == "postgresql":
        out = folder / "db.pgdump"
        subprocess.run(  # noqa: S603 (fixed program, our own arguments)
            [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
             "--file", str(out), _db_name()],
            env=_pg_env(), check=True, capture_output=True, timeout=24 * 3600,
        )
        return out
    if _vendor() == "sqlite":
        out = folder / "db.sqlite3"
        source = sqlite3.connect(_db_name(), timeout=60)
        target = sqlite3.connect(out)
        try:
            source.backup(target)  # a consistent snapshot, taken while the node runs
        finally:
            target.close()
            source.close()
        return out
    raise BackupRefused(f"backup of {_vendor()} databases is not supported",
                        code="backup_vendor")


def _walk_files(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and "tmp" not in path.relative_to(root).parts[:1]:
            yield path


def backup_create(out: Path) -> BackupReport:
    """Write a backup of this node to ``out`` (a tar file, gzip-compressed for .gz/.tgz)."""
    out = Path(out)
    files_root = Path(settings.SARABAN_FILES_DIR)
    checkpoints_root = Path(settings.SARABAN_AUDIT_CHECKPOINT_DIR)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created_at": dt.datetime.now(tz=dt.UTC).isoformat(timespec="seconds"),
        "vendor": _vendor(),
        "migrations": _migrations(),
        "counts": _counts(),
        "key_ids": _key_ids(),
        "members": {},
    }
    compress = out.name.endswith((".gz", ".tgz"))
    partial = out.with_name(out.name + ".partial")
    with tempfile.TemporaryDirectory(prefix="saraban-backup-") as scratch:
        dump = _dump_database(Path(scratch))
        members: list[tuple[str, Path]] = [(f"database/{dump.name}", dump)]
        members += [(f"files/{p.relative_to(files_root).as_posix()}", p)
                    for p in _walk_files(files_root)]
        members += [(f"audit-checkpoints/{p.relative_to(checkpoints_root).as_posix()}", p)
                    for p in _walk_files(checkpoints_root)]
        with (tarfile.open(partial, "w:gz") if compress else tarfile.open(partial, "w")) as tar:
            for name, path in members:
                manifest["members"][name] = _sha256_file(path)
                tar.add(path, arcname=name, recursive=False)
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            info.mtime = int(dt.datetime.now(tz=dt.UTC).timestamp())
            tar.addfile(info, io.BytesIO(data))
    os.replace(partial, out)
    return BackupReport(path=out, manifest=manifest)


def _read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.getmember("manifest.json")
        handle = tar.extractfile(member)
        if handle is None or member.size > 256 << 20:
            raise KeyError("manifest.json")
        manifest: dict[str, Any] = json.loads(handle.read())
    except (KeyError, ValueError) as exc:
        raise ValidationFailed("ไฟล์สำรองข้อมูลไม่มี manifest.json ที่อ่านได้",
                               code="backup_invalid") from exc
    if manifest.get("format") != FORMAT:
        raise ValidationFailed(f"รูปแบบไฟล์สำรองข้อมูลไม่รองรับ: {manifest.get('format')!r}",
                               code="backup_format")
    return manifest


def _safe_name(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def _check_members(tar: tarfile.TarFile, manifest: dict[str, Any]) -> None:
    """Every member is listed, regular, safely named and has its recorded SHA-256."""
    expected: dict[str, str] = dict(manifest.get("members") or {})
    seen: set[str] = set()
    for member in tar:
        if member.name == "manifest.json":
            continue
        if not member.isfile() or not _safe_name(member.name) or member.name not in expected:
            raise ValidationFailed(f"ไฟล์สำรองข้อมูลมีรายการที่ไม่รู้จัก: {member.name}",
                                   code="backup_invalid")
        handle = tar.extractfile(member)
        assert handle is not None
        digest = hashlib.sha256()
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
        if digest.hexdigest() != expected[member.name]:
            raise ValidationFailed(f"ไฟล์สำรองข้อมูลเสียหาย: {member.name}",
                                   code="backup_corrupt")
        seen.add(member.name)
    missing = sorted(set(expected) - seen)
    if missing:
        raise ValidationFailed(f"ไฟล์สำรองข้อมูลไม่ครบ: {missing[0]}", code="backup_incomplete")


def _has_letters() -> bool:
    with contextlib.suppress(DatabaseError):
        table = apps.get_model("letters", "Letter")._meta.db_table
        if table in connection.introspection.table_names():
            return bool(apps.get_model("letters", "Letter").objects.exists())
    return False


def _restore_database(tar: tarfile.TarFile, name: str) -> None:
    member = tar.getmember(name)
    with tempfile.TemporaryDirectory(prefix="saraban-restore-") as scratch:
        local = Path(scratch) / Path(name).name
        source = tar.extractfile(member)
        assert source is not None
        with local.open("wb") as out:
            shutil.copyfileobj(source, out, _CHUNK)
        connections.close_all()
        if name.endswith(".pgdump"):
            done = subprocess.run(  # noqa: S603 (fixed program, our own arguments)
                [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
                 "--single-transaction", "--exit-on-error", "--dbname", _db_name(), str(local)],
                env=_pg_env(), capture_output=True, text=True, timeout=24 * 3600, check=False,
            )
            if done.returncode != 0:
                raise BackupRefused(f"pg_restore failed: {done.stderr.strip()[-500:]}",
                                    code="restore_failed")
            return
        target = Path(_db_name())
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(target.name + ".restoring")
        shutil.copyfile(local, staged)
        for suffix in ("-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        os.replace(staged, target)


def _restore_tree(tar: tarfile.TarFile, prefix: str, root: Path, *, content_addressed: bool
                  ) -> int:
    written = 0
    for member in tar.getmembers():
        if not member.name.startswith(prefix) or not member.isfile():
            continue
        relative = member.name[len(prefix):]
        final = root / relative
        if content_addressed and final.exists():
            continue  # the same name is the same content
        source = tar.extractfile(member)
        assert source is not None
        final.parent.mkdir(parents=True, exist_ok=True)
        if not content_addressed and final.exists():
            # A checkpoint file the node already has: keep its lines, add the backup's.
            known = set(final.read_bytes().splitlines())
            extra = [line for line in source.read().splitlines() if line and line not in known]
            if extra:
                with final.open("ab") as out:
                    out.write(b"\n".join(extra) + b"\n")
            written += 1
            continue
        fd, tmp = tempfile.mkstemp(dir=final.parent)
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out, _CHUNK)
        if content_addressed:
            os.chmod(tmp, 0o444)
        os.replace(tmp, final)
        written += 1
    return written


def backup_restore(path: Path, *, replace: bool = False) -> RestoreReport:
    """Restore a backup into this node's database, file store and checkpoint folder."""
    path = Path(path)
    if not path.is_file():
        raise ValidationFailed(f"ไม่พบไฟล์สำรองข้อมูล {path}", code="backup_missing")
    try:
        tar = tarfile.open(path, "r:*")  # noqa: SIM115 (closed below)
    except tarfile.TarError as exc:
        raise ValidationFailed("ไฟล์สำรองข้อมูลไม่ใช่ไฟล์ tar ที่อ่านได้",
                               code="backup_invalid") from exc
    with tar:
        manifest = _read_manifest(tar)
        _check_members(tar, manifest)
        if manifest.get("vendor") != _vendor():
            raise BackupRefused(
                f"ไฟล์สำรองเป็นฐานข้อมูล {manifest.get('vendor')} แต่ระบบนี้ใช้ {_vendor()}",
                code="backup_vendor",
            )
        have = {kid for kid, _ in keys.node_keys()}
        missing = sorted(set(manifest.get("key_ids") or []) - have - {"legacy"})
        if missing:
            raise BackupRefused(
                "ระบบนี้ไม่มีกุญแจเข้ารหัสที่ข้อมูลสำรองต้องใช้: " + ", ".join(missing)
                + " (ตั้ง SARABAN_KEY_ENCRYPTION_KEYS ให้มีกุญแจเหล่านี้ก่อน)",
                code="backup_keys_missing",
            )
        if _has_letters() and not replace:
            raise BackupRefused(
                "ฐานข้อมูลของระบบนี้มีหนังสืออยู่แล้ว: ใช้ --replace หากต้องการแทนที่ทั้งหมด",
                code="restore_not_empty",
            )
        databases = [n for n in manifest["members"] if n.startswith("database/")]
        if len(databases) != 1:
            raise ValidationFailed("ไฟล์สำรองข้อมูลต้องมีฐานข้อมูลหนึ่งชุด", code="backup_invalid")
        _restore_database(tar, databases[0])
        report = RestoreReport(manifest=manifest)
        report.files = _restore_tree(tar, "files/", Path(settings.SARABAN_FILES_DIR),
                                     content_addressed=True)
        report.checkpoints = _restore_tree(
            tar, "audit-checkpoints/", Path(settings.SARABAN_AUDIT_CHECKPOINT_DIR),
            content_addressed=False)
    connections.close_all()
    for _agency, counted, problem in audit_verify():
        report.chains += 1
        report.events += counted
        if problem is not None:
            report.problems.append(problem.describe())
    return report

