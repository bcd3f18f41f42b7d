"""``saraban serve``: the web server (gunicorn) and the background worker, together.

The web server is gunicorn with uvicorn workers (:mod:`saraban.core.http_server`) serving
Django over ASGI (``saraban.asgi``): each connection is a coroutine, so clients that send
slowly or stall hold no worker; headers must arrive within ``--header-timeout`` seconds and
each part of a body within ``--body-timeout`` (else 408), idle kept-alive connections are
closed after ``--keep-alive`` seconds, and bodies over the limit are refused with 413 from
their headers (:mod:`saraban.core.http_limits`). In production put a reverse proxy in front
(TLS, its own body size limit; see the README).

Both run as child processes; SIGINT and SIGTERM are passed on to both, and when either one
ends the other is stopped and ``serve`` exits with the first one's status, so a supervisor
(systemd, a container runtime, ``make run``) sees the node as one process. Static files are
served by WhiteNoise from the app finders, so no ``collectstatic`` is needed for the demo.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import gunicorn
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from saraban.core.keys import require_node_secrets


def _die_with_parent() -> None:
    """In the child (Linux): get SIGTERM when ``serve`` dies, even by SIGKILL, so no orphaned
    gunicorn keeps the port."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _django_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "django", *args]


class Command(BaseCommand):
    help = "Serve the web interface (gunicorn) and run the background worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2,
                            help="web worker processes (each serves many connections)")
        parser.add_argument("--threads", type=int, default=None,
                            help="views run at once per worker process "
                                 "(default SARABAN_WEB_THREADS, 8)")
        parser.add_argument("--keep-alive", type=int, default=5,
                            help="seconds an idle kept-alive connection stays open")
        parser.add_argument("--header-timeout", type=float, default=None,
                            help="seconds for a request's headers "
                                 "(default SARABAN_HTTP_HEADER_TIMEOUT, 10)")
        parser.add_argument("--body-timeout", type=float, default=None,
                            help="seconds to wait for the next part of a body "
                                 "(default SARABAN_HTTP_BODY_TIMEOUT, 30)")
        parser.add_argument("--no-worker", action="store_true",
                            help="do not start the background worker")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            require_node_secrets()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        env = {**os.environ,
               "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE",
                                                        "saraban.settings")}
        # The web processes read these from the environment (saraban.settings).
        for option, variable in (("threads", "SARABAN_WEB_THREADS"),
                                 ("header_timeout", "SARABAN_HTTP_HEADER_TIMEOUT"),
                                 ("body_timeout", "SARABAN_HTTP_BODY_TIMEOUT")):
            if options[option] is not None:
                if options[option] <= 0:
                    raise CommandError(f"--{option.replace('_', '-')} must be positive")
                env[variable] = str(options[option])
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        bind = f"{options['host']}:{options['port']}"
        web = [sys.executable, "-m", "gunicorn", "saraban.asgi:application",
               "--worker-class", "saraban.core.http_server.SarabanWorker",
               "-b", bind, "-w", str(options["workers"]),
               "--keep-alive", str(options["keep_alive"]),
               # The event loop never runs a view, so its heartbeat is never late.
               "--timeout", "30", "--graceful-timeout", "20",
               "--access-logfile", "-"]
        if gunicorn.version_info >= (27,):
            web.append("--no-control-socket")  # one per node would clash between instances
        commands = {"web": web}
        # WhiteNoise serves from the finders; an absent STATIC_ROOT only makes it warn.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        if not options["no_worker"]:
            commands["worker"] = _django_command("worker")
        children: dict[str, subprocess.Popen[bytes]] = {}
        stopping = False

        def stop(signum: int, _frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True
            for child in children.values():
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            for name, argv in commands.items():
                children[name] = subprocess.Popen(  # noqa: S603
                    argv, env=env, preexec_fn=_die_with_parent
                )
            self.stdout.write(f"Saraban at http://{bind}/ "
                              f"({'web only' if options['no_worker'] else 'web + worker'}); "
                              "Ctrl-C stops it")
            status = self._wait(children, lambda: stopping)
        finally:
            stop(signal.SIGTERM, None)
            for child in children.values():
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if status not in (0, -signal.SIGTERM, -signal.SIGINT) and not stopping:
            raise CommandError(f"a child process ended with status {status}")

    def _wait(self, children: dict[str, subprocess.Popen[bytes]], stopping: Callable[[], bool]
              ) -> int:
        """Block until one child ends; its exit status."""
        while True:
            for name, child in children.items():
                code = child.poll()
                if code is not None:
                    if not stopping():
                        self.stderr.write(f"{name} ended with status {code}; stopping")
                    return code
            time.sleep(0.2)
