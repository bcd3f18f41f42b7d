"""Run a parser of arriving content in a child process with bounded memory, CPU, time and output.

Every file that reaches Saraban from outside (an upload, an arrival from another node, a scan)
is read by a parser (pypdf, Pillow, zipfile and lxml, pyHanko) before it is kept. A hostile
file can make any of them take gigabytes or loop for minutes, and a Python parser cannot be
stopped from within: a thread cannot be killed, ``MemoryError`` may surface anywhere (or the
kernel's OOM killer takes the whole worker first), and a C extension does not look at signals.
A process can be limited and killed, so the parser runs in one:

- ``RLIMIT_AS`` bounds its memory (``SARABAN_PARSE_MEMORY_BYTES``, 768 MiB), ``RLIMIT_CPU``
  its CPU time (``SARABAN_PARSE_CPU_SECONDS``, 30 s), a wall-clock timeout the rest
  (``SARABAN_PARSE_TIMEOUT``, 60 s); ``RLIMIT_FSIZE`` and the size of its answer are bounded
  (``SARABAN_PARSE_OUTPUT_BYTES``, 1 MiB of JSON), no core file is written;
- it starts with a clean environment (``PATH`` and ``LANG`` only: no ``SARABAN_SECRET_KEY``,
  no database URL) and no inherited file descriptors (no database connection, no sockets).

Why a helper that forks, and not a fresh Python per file: a fresh interpreter that imports
pypdf costs about 170 ms; the suite and the demo store thousands of files. Each Django
process therefore starts one small helper the first time it needs one (``python -m
saraban.core.sandbox``, a few hundred milliseconds, once), which imports the parsers and then
forks a child per call: the child sets its limits, runs the parser and exits, so nothing a
hostile file did survives it. A call costs a fork and a few pipe writes (about 15 ms on
the development machine; ``bench/bombs.py`` prints the figure). The helper's own
``os.wait4`` gives each child's peak memory (``last_run().peak_rss``), which the tests and
``bench/bombs.py`` report. Unlike ``multiprocessing``'s forkserver, the helper is started
with an environment of our choosing.

A call names a module-level function (``"package.module:function"``) that takes JSON values
and returns a JSON value; it raises ``FileRejected`` for a file it refuses. Its module may
list in ``SANDBOX_PRELOAD`` the modules it imports lazily, for the helper to import once.
What the child could not finish becomes a ``FileRejected`` with a stable code:

==================== ==============================================================
``parser_timeout``   over its CPU time or wall-clock time
``file_bomb``        over its memory (a decompression bomb, usually)
``file_too_complex`` nested too deep for the parser, or an answer too large
``file_unreadable``  the parser failed in a way it did not explain (logged)
==================== ==============================================================

>>> run("saraban.letters.filecheck:inspect_pdf", "/tmp/letter.pdf", {"max_pages": 1000})
{'pages': 2, ...}
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import importlib
import json
import logging
import os
import resource
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Final

from saraban.core.errors import FileRejected

__all__ = [
    "Limits",
    "RunStats",
    "last_run",
    "limit_command",
    "limits_from_settings",
    "run",
]

log = logging.getLogger(__name__)

MiB: Final = 1024 * 1024
# Modules the helper imports before its first fork, so each child has them for free.
PRELOAD: Final = (
    "saraban.core.errors",
    "pypdf",
    "PIL.Image",
    "PIL.PngImagePlugin",
    "PIL.JpegImagePlugin",
    "PIL.TiffImagePlugin",
    "lxml.etree",
    "zipfile",
)
_MAX_IDLE: Final = 4  # helpers kept per process (one per concurrent parse)

BOMB_MESSAGE: Final = "ไฟล์นี้ใช้หน่วยความจำเกินกำหนดเมื่อเปิดอ่าน (อาจเป็นไฟล์ที่ขยายตัวผิดปกติ) จึงไม่รับไฟล์"
TIMEOUT_MESSAGE: Final = "ใช้เวลาตรวจไฟล์นานเกินกำหนด ไฟล์อาจซับซ้อนผิดปกติ จึงไม่รับไฟล์"
COMPLEX_MESSAGE: Final = "โครงสร้างของไฟล์ซับซ้อนหรือซ้อนกันลึกเกินกำหนด จึงไม่รับไฟล์"
UNREADABLE_MESSAGE: Final = "อ่านไฟล์นี้ไม่ได้ ไฟล์อาจเสียหาย"


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """What one child may use. Bytes for memory and output, seconds for time."""

    memory: int = 768 * MiB
    cpu: int = 30
    wall: float = 60.0
    output: int = 1 * MiB


@dataclasses.dataclass(frozen=True, slots=True)
class RunStats:
    """How the last call of this thread went: its outcome and the child's peak memory."""

    target: str
    outcome: str  # "ok", "rejected", or the code of the FileRejected raised
    peak_rss: int  # bytes, the child's maximum resident set size
    seconds: float


_local = threading.local()


def last_run() -> RunStats | None:
    """The figures of this thread's last ``run`` (``None`` before the first)."""
    stats: RunStats | None = getattr(_local, "stats", None)
    return stats


def limits_from_settings() -> Limits:
    """The limits configured in settings (``SARABAN_PARSE_*``), or the defaults."""
    from django.conf import settings

    default = Limits()
    return Limits(
        memory=int(getattr(settings, "SARABAN_PARSE_MEMORY_BYTES", default.memory)),
        cpu=int(getattr(settings, "SARABAN_PARSE_CPU_SECONDS", default.cpu)),
        wall=float(getattr(settings, "SARABAN_PARSE_TIMEOUT", default.wall)),
        output=int(getattr(settings, "SARABAN_PARSE_OUTPUT_BYTES", default.output)),
    )


def run(target: str, *args: Any, limits: Limits | None = None) -> Any:
    """Call ``target`` (``"module:function"`` under ``saraban``) with ``args`` in a child.

    Returns what it returned; raises ``FileRejected`` when it refused the file or went over
    a limit (codes above).
    """
    if not target.startswith("saraban.") or ":" not in target:
        raise ValueError(f"not a sandbox target: {target!r}")
    limits = limits or limits_from_settings()
    request = json.dumps(
        {"target": target, "args": list(args), "limits": dataclasses.asdict(limits)}
    )
    started = time.monotonic()
    for attempt in (1, 2):  # a helper that died (killed from outside) is replaced once
        helper = _Pool.acquire()
        try:
            reply = helper.call(request, timeout=limits.wall + 10)
        except (OSError, RuntimeError):
            helper.close()
            if attempt == 2:
                raise
            continue
        except BaseException:
            helper.close()
            raise
        _Pool.release(helper)
        break
    outcome, result, rejected = _interpret(target, reply)
    _local.stats = RunStats(
        target=target, outcome=outcome, peak_rss=int(reply.get("maxrss_kib", 0)) * 1024,
        seconds=time.monotonic() - started,
    )
    if rejected is not None:
        raise rejected
    return result


def _interpret(target: str, reply: dict[str, Any]) -> tuple[str, Any, FileRejected | None]:
    """The outcome, the result, and the error to raise, from the helper's reply."""
    status = reply.get("status")
    details = {"peak_rss_mib": round(int(reply.get("maxrss_kib", 0)) / 1024)}
    if status == "timeout" or reply.get("signal") == signal.SIGXCPU:
        return "parser_timeout", None, FileRejected(
            TIMEOUT_MESSAGE, code="parser_timeout", details=details
        )
    if status == "output":
        return "file_too_complex", None, FileRejected(
            COMPLEX_MESSAGE, code="file_too_complex", details=details
        )
    payload = reply.get("payload")
    if status != "ok" or not isinstance(payload, dict):
        # Killed by a signal (a C extension aborting on a failed allocation) or no answer.
        log.warning("sandbox: %s ended without an answer: %s", target, reply)
        return "file_bomb", None, FileRejected(BOMB_MESSAGE, code="file_bomb", details=details)
    if "result" in payload:
        return "ok", payload["result"], None
    if "rejected" in payload:
        data = payload["rejected"]
        err = FileRejected(
            str(data.get("message", UNREADABLE_MESSAGE)),
            code=str(data.get("code", "file_rejected")),
            details={**dict(data.get("details") or {}), **details},
        )
        return err.code, None, err
    error = payload.get("error")
    if error == "memory":
        return "file_bomb", None, FileRejected(BOMB_MESSAGE, code="file_bomb", details=details)
    if error in ("depth", "output"):
        return "file_too_complex", None, FileRejected(
            COMPLEX_MESSAGE, code="file_too_complex", details=details
        )
    log.warning("sandbox: %s failed: %s", target, payload.get("trace", payload))
    return "file_unreadable", None, FileRejected(
        UNREADABLE_MESSAGE, code="file_unreadable", details=details
    )


# --- the parent's side: helpers --------------------------------------------------------------


class _Helper:
    """One helper process and the pipes to it; used by one thread at a time."""

    def __init__(self) -> None:
        root = Path(__file__).resolve().parents[2]
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(root),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self.owner = os.getpid()
        self.proc = subprocess.Popen(  # our own interpreter and module
            [sys.executable, "-m", "saraban.core.sandbox"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd="/",
            close_fds=True, start_new_session=True,
        )

    def call(self, request: str, *, timeout: float) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(request.encode() + b"\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise FileRejected(TIMEOUT_MESSAGE, code="parser_timeout")
        line = self.proc.stdout.readline(4 * MiB)
        if not line.endswith(b"\n"):
            raise RuntimeError("the sandbox helper stopped")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


class _Pool:
    """Idle helpers of this process; a thread takes one, or starts one, for each call."""

    _lock = threading.Lock()
    _idle: list[_Helper] = []

    @classmethod
    def acquire(cls) -> _Helper:
        with cls._lock:
            while cls._idle:
                helper = cls._idle.pop()
                if helper.owner == os.getpid() and helper.proc.poll() is None:
                    return helper
                if helper.owner == os.getpid():
                    helper.close()
        return _Helper()

    @classmethod
    def close_all(cls) -> None:
        """Stop this process's idle helpers (at exit: each also stops when its pipe closes)."""
        with cls._lock:
            helpers, cls._idle = cls._idle, []
        for helper in helpers:
            if helper.owner == os.getpid():
                helper.close()

    @classmethod
    def release(cls, helper: _Helper) -> None:
        with cls._lock:
            if len(cls._idle) < _MAX_IDLE and helper.owner == os.getpid():
                cls._idle.append(helper)
                return
        helper.close()


atexit.register(_Pool.close_all)


# --- the helper process ----------------------------------------------------------------------


def _serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The helper's loop: one request per line, one child per request, one reply per line."""
    import warnings

    warnings.simplefilter("ignore")  # a library's deprecation notice is not for the log here
    for name in PRELOAD:
        importlib.import_module(name)
    while line := stdin.readline():
        request = json.loads(line)
        _warm(request["target"].partition(":")[0])
        reply = _fork_one(request)
        stdout.write(json.dumps(reply).encode() + b"\n")
        stdout.flush()


def _warm(module_name: str) -> None:
    """Import a target's module, and the modules it names in ``SANDBOX_PRELOAD``, once here,
    so each child has them without importing (pyHanko's take ~0.9 s per process)."""
    if module_name in sys.modules:
        return
    try:
        module = importlib.import_module(module_name)
        for name in getattr(module, "SANDBOX_PRELOAD", ()):
            importlib.import_module(name)
    except Exception:  # the child reports it
        log.debug("sandbox: cannot preload %s", module_name, exc_info=True)


def _fork_one(request: dict[str, Any]) -> dict[str, Any]:
    limits = Limits(**request["limits"])
    read_end, write_end = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        _child(request, write_end, limits)
    os.close(write_end)
    chunks: list[bytes] = []
    size = 0
    status = "ok"
    deadline = started + limits.wall
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([pipe], [], [], max(left, 0))
            if not ready:
                status = "timeout"
                break
            chunk = pipe.read(64 * 1024)
            if not chunk:
                break
            size += len(chunk)
            if size > limits.output:
                status = "output"
                break
            chunks.append(chunk)
    if status != "ok":
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _, wait_status, usage = os.wait4(pid, 0)
    reply: dict[str, Any] = {
        "status": status,
        "maxrss_kib": usage.ru_maxrss,
        "seconds": round(time.monotonic() - started, 4),
    }
    if os.WIFSIGNALED(wait_status):
        reply["signal"] = os.WTERMSIG(wait_status)
        if status == "ok":
            reply["status"] = "killed"
    if reply["status"] == "ok":
        try:
            reply["payload"] = json.loads(b"".join(chunks))
        except ValueError:
            reply["status"] = "killed"  # died mid-answer
    return reply


def _child(request: dict[str, Any], out: int, limits: Limits) -> None:
    """Set the limits, run the target, write its answer as JSON, and exit."""
    code = 0
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # the helper's pipes are not the child's to read or write
            os.dup2(devnull, fd)
        os.close(devnull)
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory, limits.memory))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu, limits.cpu + 2))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.output, limits.output))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        answer = _answer(request)
        data = json.dumps(answer, ensure_ascii=False).encode()
        if len(data) > limits.output:
            data = b'{"error": "output"}'
            code = 3
        view = memoryview(data)
        while view:
            written = os.write(out, view)
            view = view[written:]
    except MemoryError:
        with contextlib.suppress(OSError):
            os.write(out, b'{"error": "memory"}')
        code = 2
    except BaseException:  # nothing may escape a forked child
        code = 1
    finally:
        os._exit(code)


def _answer(request: dict[str, Any]) -> dict[str, Any]:
    from saraban.core.errors import SarabanError

    module_name, _, function = request["target"].partition(":")
    try:
        fn: Callable[..., Any] = getattr(importlib.import_module(module_name), function)
        return {"result": fn(*request["args"])}
    except SarabanError as exc:
        return {"rejected": exc.as_dict()}
    except MemoryError:
        return {"error": "memory"}
    except RecursionError:
        return {"error": "depth"}
    except Exception as exc:  # reported to the parent, which logs it
        import traceback

        return {"error": "failed", "trace": "".join(
            traceback.format_exception(exc, limit=8))[-4000:]}


# --- limits for external programs ------------------------------------------------------------


def limit_command(command: list[str], *, memory: int, cpu: int) -> list[str]:
    """``command`` run under ``RLIMIT_AS`` = ``memory`` bytes and ``RLIMIT_CPU`` = ``cpu`` s.

    Limits are inherited by what the program starts (ocrmypdf's Tesseract and Ghostscript),
    each process bounded on its own. It uses util-linux's ``prlimit`` when present, and
    otherwise this module (``--exec``): both set the limits and then ``exec`` the program,
    which ``subprocess``'s ``preexec_fn`` does too but is not safe in a threaded server.
    """
    if (prlimit := _which("prlimit")) is not None:
        return [prlimit, f"--as={memory}", f"--cpu={cpu}", "--core=0", "--", *command]
    return [sys.executable, "-m", "saraban.core.sandbox", "--exec", str(memory), str(cpu),
            "--", *command]


def _which(name: str) -> str | None:
    import shutil

    return shutil.which(name)


def _exec_limited(argv: list[str]) -> None:
    memory, cpu, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit("usage: python -m saraban.core.sandbox --exec MEMORY CPU -- COMMAND")
    resource.setrlimit(resource.RLIMIT_AS, (int(memory), int(memory)))
    resource.setrlimit(resource.RLIMIT_CPU, (int(cpu), int(cpu) + 2))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.execvp(command[0], command)  # noqa: S606


if __name__ == "__main__":
    if sys.argv[1:2] == ["--exec"]:
        _exec_limited(sys.argv[2:])
    else:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _serve(sys.stdin.buffer, sys.stdout.buffer)
