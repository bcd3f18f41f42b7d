"""A real IMAP server for tests and benchmarks of the central mailbox: Debian's Dovecot.

``Dovecot`` starts its own instance (never the system service): a configuration, a
passwd-file of test users and maildirs under a scratch directory, listening on a free port on
127.0.0.1 without TLS. Helpers put mail in (``append``, the IMAP APPEND a mail server's
delivery amounts to) and look at what the intake left (``uids``, ``folders``,
``message_ids``), through the server's IMAP like any client.

Tests skip cleanly when Dovecot is not installed (``make mail-deps`` installs
dovecot-imapd): ``require_dovecot()`` / the ``DOVECOT_SKIP`` reason.

``courier_style=True`` gives the namespace Courier and Cyrus have (folders under "INBOX."
with "." as the separator), where "Saraban/Processed" must become "INBOX.Saraban.Processed".

This module never imports Django.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists()
                                       else "")
DOVECOT_SKIP = ("Dovecot is not installed: the IMAP tests need Debian's dovecot-imapd "
                "(make mail-deps, or apt-get install dovecot-imapd)")


def dovecot_available() -> bool:
    return bool(DOVECOT) and os.access(DOVECOT, os.X_OK)


def require_dovecot() -> None:
    """Skip the calling test (pytest) when Dovecot is absent."""
    if not dovecot_available():
        import pytest

        pytest.skip(DOVECOT_SKIP)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: Users written ahead (see ``Dovecot.add_user``).
_POOL = 40


class DovecotError(RuntimeError):
    """The server did not start or did not do what was asked."""


_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = {instance}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {root}/dovecot.log
mail_location = maildir:{root}/mail/%u
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = 1
first_valid_gid = 1
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
mail_max_userip_connections = 200
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  process_min_avail = 1
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
passdb {{
  driver = passwd-file
  args = {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = {separator}
  prefix = {prefix}
}}
"""


class Dovecot:
    """One Dovecot instance with its own users and maildirs; ``with Dovecot() as d: …``."""

    def __init__(self, *, courier_style: bool = False) -> None:
        if not dovecot_available():
            raise DovecotError(DOVECOT_SKIP)
        # Not under pytest's tmp_path: the mail processes (nobody) must reach the maildirs.
        self.root = Path(tempfile.mkdtemp(prefix="saraban-dovecot-"))
        self.root.chmod(0o755)
        self.port = 0
        self.host = "127.0.0.1"
        self.courier_style = courier_style
        self.separator = "." if courier_style else "/"
        self.prefix = "INBOX." if courier_style else ""
        self._users: dict[str, str] = {}
        self._pool: list[str] = []
        self._started = False

    # ---- life ------------------------------------------------------------------------------

    def start(self, *, timeout: float = 20) -> Dovecot:
        self.port = free_port()
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(exist_ok=True)
        root_user = os.geteuid() == 0
        if root_user:
            uid, gid, internal, group, login = "nobody", "nogroup", "dovecot", "dovecot", \
                "dovenull"
            shutil.chown(self.root / "mail", "nobody", "nogroup")
        else:  # an unprivileged Dovecot runs everything as the current user
            import grp
            import pwd

            me = pwd.getpwuid(os.geteuid()).pw_name
            uid = internal = login = me
            gid = group = grp.getgrgid(os.getegid()).gr_name
        self._write_users(extra=_POOL)
        config = _CONFIG.format(
            root=self.root, instance=f"saraban-test-{secrets.token_hex(4)}", port=self.port,
            uid=uid, gid=gid, internal=internal, internal_group=group, login=login,
            separator=self.separator, prefix=self.prefix,
        )
        (self.root / "dovecot.conf").write_text(config)
        # The master forks into the background: its output goes to a file, not to a pipe
        # (the forked daemon would hold a pipe open and the call would never return).
        with (self.root / "start.log").open("wb") as out:
            done = subprocess.run([DOVECOT, "-c", str(self.config)],  # noqa: S603
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                  timeout=30, check=False)
        if done.returncode != 0:
            raise DovecotError(
                f"dovecot did not start: {(self.root / 'start.log').read_text()}\n"
                f"{self.log_tail()}")
        self._started = True
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as s:
                    if s.recv(200).startswith(b"* OK"):
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise DovecotError(f"dovecot did not answer on {self.port}\n{self.log_tail()}")
            time.sleep(0.05)

    @property
    def config(self) -> Path:
        return self.root / "dovecot.conf"

    def log_tail(self, lines: int = 30) -> str:
        path = self.root / "dovecot.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def master_pid(self) -> int | None:
        path = self.root / "run" / "master.pid"
        try:
            return int(path.read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        pid = self.master_pid()
        subprocess.run([DOVECOT, "-c", str(self.config), "stop"],  # noqa: S603
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30, check=False)
        if pid is not None:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- users and mail --------------------------------------------------------------------

    def add_user(self, name: str | None = None, password: str | None = None) -> tuple[str, str]:
        """A mail user (name, password) no one used yet.

        Dovecot rereads the passwd-file at most once a second, so a pool of users is written
        ahead (at start, and again when it runs out, then waiting out that second); a
        named user is written at once and waited for.
        """
        if name is None and password is None and self._pool:
            name = self._pool.pop()
            return name, self._users[name]
        if name is None and password is None:
            self._write_users(extra=_POOL)
            name = self._pool.pop()
            return name, self._users[name]
        name = name or f"saraban{secrets.token_hex(4)}@example.go.th"
        if not re.fullmatch(r"[A-Za-z0-9._@+-]+", name):
            raise ValueError(f"bad user name {name!r}")
        self._users[name] = password or secrets.token_urlsafe(12)
        self._write_users()
        return name, self._users[name]

    def _write_users(self, extra: int = 0) -> None:
        for _ in range(extra):
            fresh = f"saraban{secrets.token_hex(4)}@example.go.th"
            self._users[fresh] = secrets.token_urlsafe(12)
            self._pool.append(fresh)
        lines = [f"{user}:{{PLAIN}}{pw}::::::" for user, pw in self._users.items()]
        users = self.root / "users"
        tmp = users.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        tmp.chmod(0o644)
        os.replace(tmp, users)
        if self._started:
            time.sleep(1.1)  # Dovecot looks at the file at most once a second

    @contextlib.contextmanager
    def imap(self, user: str) -> Iterator[imaplib.IMAP4]:
        """A logged-in stdlib IMAP connection as ``user``."""
        conn = imaplib.IMAP4(self.host, self.port, timeout=30)
        try:
            conn.login(user, self._users[user])
            yield conn
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                conn.logout()

    def folder(self, name: str) -> str:
        """A folder name in this server's spelling ("Saraban/Processed" → …)."""
        if name.upper() == "INBOX":
            return "INBOX"
        return self.prefix + name.replace("/", self.separator)

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> int:
        """Put one raw mail into ``folder`` (as a delivery would); its UID."""
        with self.imap(user) as conn:
            return self._append(conn, raw, folder)

    def append_many(self, user: str, raws: list[bytes], folder: str = "INBOX") -> list[int]:
        with self.imap(user) as conn:
            return [self._append(conn, raw, folder) for raw in raws]

    def _append(self, conn: imaplib.IMAP4, raw: bytes, folder: str) -> int:
        status, data = conn.append(_quote(self.folder(folder)), "", None, raw)
        if status != "OK":
            raise DovecotError(f"APPEND failed: {data!r}")
        found = re.search(rb"APPENDUID \d+ (\d+)", b" ".join(d for d in data if d))
        return int(found.group(1)) if found else 0

    def uids(self, user: str, folder: str = "INBOX") -> list[int]:
        """The UIDs of the undeleted mail in ``folder`` ([] when it does not exist)."""
        with self.imap(user) as conn:
            status, _ = conn.select(_quote(self.folder(folder)), readonly=True)
            if status != "OK":
                return []
            status, data = conn.uid("SEARCH", "UNDELETED")
            return [int(u) for u in (data[0] or b"").split()]

    def message_ids(self, user: str, folder: str = "INBOX") -> list[str]:
        """The Message-IDs (without <>) of the mail in ``folder``, in UID order."""
        with self.imap(user) as conn:
            status, _ = conn.select(_quote(self.folder(folder)), readonly=True)
            if status != "OK":
                return []
            status, data = conn.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            found = []
            for item in data:
                if isinstance(item, tuple):
                    m = re.search(rb"<([^>]+)>", item[1])
                    found.append(m.group(1).decode() if m else "")
            return found

    def flags(self, user: str, folder: str = "INBOX") -> list[str]:
        with self.imap(user) as conn:
            conn.select(_quote(self.folder(folder)), readonly=True)
            _status, data = conn.uid("FETCH", "1:*", "(FLAGS)")
            return [d.decode() for d in data if isinstance(d, bytes)]

    def folders(self, user: str) -> list[str]:
        """Every folder of ``user`` in the server's spelling."""
        with self.imap(user) as conn:
            _status, data = conn.list()
            names = []
            for line in data:
                if not isinstance(line, bytes):
                    continue
                m = re.match(rb'\([^)]*\) (?:"[^"]*"|NIL) (.+)$', line)
                if m:
                    names.append(m.group(1).decode().strip('"'))
            return sorted(names)


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
