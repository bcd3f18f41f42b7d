from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _saraban(*args: str) -> list[str]:
    """The ``saraban`` console command, run by this interpreter."""
    return [sys.executable, "-c", "from saraban.cli import main; main()", *args]


@pytest.fixture(scope="module")
def node(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A real node's environment: a temporary SQLite database, migrated, with the demo."""
    var = tmp_path_factory.mktemp("node")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{var / 'node.sqlite3'}",
        "SARABAN_VAR_DIR": str(var),
        "SARABAN_FILES_DIR": str(var / "files"),
        "SARABAN_DEMO": "1",
        "DJANGO_SETTINGS_MODULE": "saraban.settings",
        "PYTHONWARNINGS": "ignore",
    }
    subprocess.run(_saraban("migrate", "-v", "0"), env=env, check=True, timeout=120)
    subprocess.run(_saraban("load_demo"), env=env, check=True, timeout=120,
                   stdout=subprocess.DEVNULL)
    return var / "node.sqlite3", env


def _query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.slow
def test_worker_batch_runs_the_queued_receipt_stamps(node):
    db, env = node
    queued = _query(db, "select count(*) from django_tasks_database_dbtaskresult "
                        "where task_path = 'saraban.letters.tasks.make_receipt_stamp'")[0][0]
    assert queued >= 5
    assert _query(db, "select count(*) from letters_derivedfile")[0][0] == 0
    subprocess.run(_saraban("worker", "--batch", "-v", "0"), env=env, check=True, timeout=120)
    statuses = dict(_query(db, "select status, count(*) from django_tasks_database_dbtaskresult "
                               "group by status"))
    assert statuses == {"SUCCESSFUL": queued}
    # An entry may be queued more than once (registered, then endorsed): each entry a job
    # named has its stamped copy.
    jobs = _query(db, "select args_kwargs from django_tasks_database_dbtaskresult "
                      "where task_path = 'saraban.letters.tasks.make_receipt_stamp'")
    stamped = {json.loads(raw)["args"][0] for (raw,) in jobs}
    copies = {entry for (entry,) in _query(db, "select entry_id from letters_derivedfile")}
    assert copies == stamped and len(stamped) >= 5


@pytest.mark.slow
def test_serve_answers_on_login_and_stops_cleanly(node):
    _db, env = node
    port = _free_port()
    log_path = Path(env["SARABAN_VAR_DIR"]) / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(_saraban("serve", "--port", str(port)), env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 90
            status = None
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    url = f"http://127.0.0.1:{port}/login/"
                    with urllib.request.urlopen(url, timeout=15) as response:
                        status = response.status
                        break
                except OSError:  # not listening yet (URLError, refused, timed out)
                    time.sleep(0.3)
            assert status == 200, log_path.read_text(errors="replace")
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            assert proc.returncode == 0, log_path.read_text(errors="replace")
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # serve and its children
                proc.wait()
    with pytest.raises(ConnectionRefusedError):  # gunicorn really stopped listening
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
