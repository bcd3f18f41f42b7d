"""The sandbox: a parser's answer comes back; a parser over its limits becomes a stable code."""

from __future__ import annotations

import os
import time

import pytest

from saraban.core import sandbox
from saraban.core.errors import FileRejected

T = "saraban.core.tests.sandbox_targets"
GiB = 1024 * 1024 * 1024


def refused(target: str, *args: object, **limits: float) -> FileRejected:
    with pytest.raises(FileRejected) as caught:
        sandbox.run(f"{T}:{target}", *args, limits=sandbox.Limits(**limits))  # type: ignore[arg-type]
    assert caught.value.message  # Thai, for the person who sent the file
    return caught.value


def test_the_answer_comes_back_with_the_childs_peak_memory():
    assert sandbox.run(f"{T}:add", 2, 3) == 5
    stats = sandbox.last_run()
    assert stats is not None and stats.outcome == "ok"
    assert 0 < stats.peak_rss < 200 * 1024 * 1024


def test_a_call_costs_milliseconds_not_a_fresh_interpreter():
    sandbox.run(f"{T}:add", 1, 1)  # the helper is started once per process
    started = time.monotonic()
    for _ in range(10):
        sandbox.run(f"{T}:add", 1, 1)
    per_call = (time.monotonic() - started) / 10
    assert per_call < 0.15, per_call  # ~15 ms here; a fresh Python with pypdf is ~170 ms


def test_memory_over_the_limit_is_a_bomb_and_the_worker_is_untouched():
    before = os.getpid()
    error = refused("allocate", 2048, memory=512 * 1024 * 1024)
    assert error.code == "file_bomb"
    assert sandbox.last_run().peak_rss < GiB  # type: ignore[union-attr]
    assert os.getpid() == before
    assert sandbox.run(f"{T}:add", 1, 2) == 3  # the helper goes on serving


def test_cpu_time_over_the_limit_is_a_timeout():
    assert refused("spin", cpu=1, wall=10).code == "parser_timeout"


def test_wall_time_over_the_limit_is_a_timeout():
    started = time.monotonic()
    assert refused("sleep_forever", wall=1).code == "parser_timeout"
    assert time.monotonic() - started < 5


def test_an_answer_over_the_output_limit_is_refused():
    assert refused("shout", 100_000, output=10_000).code == "file_too_complex"


def test_a_refusal_keeps_its_code_message_and_details():
    error = refused("refuse")
    assert error.code == "made_up_code"
    assert error.message == "ไม่รับไฟล์นี้"
    assert error.details["why"] == "test"


def test_nesting_past_the_stack_is_too_complex():
    assert refused("recurse").code in ("file_too_complex", "file_bomb")


def test_a_bug_in_the_parser_is_an_unreadable_file_not_a_crash():
    assert refused("crash").code == "file_unreadable"


def test_the_child_inherits_no_secret_and_no_descriptor(monkeypatch):
    monkeypatch.setenv("SARABAN_SECRET_KEY", "do-not-leak")
    monkeypatch.setenv("DATABASE_URL", "postgres://user:password@db/saraban")
    seen = sandbox.run(f"{T}:environment")
    assert set(seen["env"]) <= {"PATH", "LANG", "LC_CTYPE", "PYTHONPATH",
                                "PYTHONDONTWRITEBYTECODE"}
    assert len(seen["fds"]) <= 5  # stdin/out/err (/dev/null), its answer pipe, listdir's own


def test_a_helper_killed_from_outside_is_replaced():
    import signal

    sandbox.run(f"{T}:add", 1, 1)
    for helper in list(sandbox._Pool._idle):
        os.kill(helper.proc.pid, signal.SIGKILL)
        helper.proc.wait()
    assert sandbox.run(f"{T}:add", 2, 2) == 4


def test_only_saraban_functions_can_be_run():
    with pytest.raises(ValueError, match="not a sandbox target"):
        sandbox.run("os:system", "true")


def test_limit_command_bounds_an_external_program():
    import subprocess
    import sys

    command = sandbox.limit_command(
        [sys.executable, "-c", "bytearray(600 * 1024 * 1024)"], memory=256 * 1024 * 1024, cpu=5
    )
    done = subprocess.run(command, capture_output=True, check=False, timeout=30)
    assert done.returncode != 0
    assert b"MemoryError" in done.stderr
