"""Functions the sandbox tests run in the child (module-level, JSON in and out)."""

from __future__ import annotations

import os
import sys

from saraban.core.errors import FileRejected


def add(a: int, b: int) -> int:
    return a + b


def environment() -> dict[str, object]:
    """What the child can see of its parent."""
    return {"env": sorted(os.environ), "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd"))}


def allocate(mib: int) -> int:
    """Hold ``mib`` MiB at once, as a decompression bomb would."""
    block = bytearray(mib * 1024 * 1024)
    return len(block)


def spin() -> None:
    while True:
        pass


def sleep_forever() -> None:
    import time

    time.sleep(3600)


def shout(size: int) -> str:
    return "x" * size


def refuse() -> None:
    raise FileRejected("ไม่รับไฟล์นี้", code="made_up_code", details={"why": "test"})


def recurse(depth: int = 0) -> int:
    sys.setrecursionlimit(10**6)
    return recurse(depth + 1) + 1 if depth < 10**7 else depth


def crash() -> None:
    raise ZeroDivisionError("a bug, not a bad file")
