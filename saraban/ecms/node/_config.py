"""The node's configuration: command-line options merged into ``DIR/node.json``.

Options given on a later start add or replace entries; nothing given keeps what was saved.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVICE_PATH = "/ecms-ws01/service2"
RELAY_PATH = "/ecms-relay/v1"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8780
DEFAULT_MAX_BYTES = 64 * 1024 * 1024

# A department id goes into a URL path: digits on the wire (10 in eCMS 2, 5 in eCMS 1);
# letters, dots, dashes and underscores are tolerated for test and pilot setups.
_ID = re.compile(r"[0-9A-Za-z._-]{1,64}")


class ConfigError(ValueError):
    """A bad option or a damaged ``node.json`` (the node does not start)."""


@dataclass(frozen=True, slots=True)
class Peer:
    """A department served by another e-CMS node."""

    department_id: str
    url: str          # as given: the peer's base URL or its service URL
    name: str = ""

    @property
    def base_url(self) -> str:
        """``http://host:port`` (+ any prefix) without the service path."""
        return base_url(self.url)

    @property
    def service_url(self) -> str:
        """The ``ECMS-URL`` published for this department."""
        if SERVICE_PATH in self.url:
            return self.url
        return f"{self.base_url}/{self.department_id}{SERVICE_PATH}"

    @property
    def relay_url(self) -> str:
        return self.base_url + RELAY_PATH


def base_url(url: str) -> str:
    """A node's base URL from any of its URLs (service, department service, relay, base)."""
    url = url.strip().rstrip("/")
    for tail in (SERVICE_PATH, RELAY_PATH):
        if url.endswith(tail):
            url = url[: -len(tail)]
            # /<dept>/ecms-ws01/service2 → drop the department segment too
            if tail == SERVICE_PATH:
                head, _, last = url.rpartition("/")
                if head and "://" in head and _ID.fullmatch(last):
                    url = head
            break
    return url.rstrip("/")


@dataclass(slots=True)
class NodeConfig:
    data_dir: Path
    node_id: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    public_url: str = ""                       # "" = http://host:port as served
    departments: dict[str, str] = field(default_factory=dict)   # hosted: id → name
    peers: dict[str, Peer] = field(default_factory=dict)
    ministries: dict[str, str] = field(default_factory=dict)
    max_bytes: int = DEFAULT_MAX_BYTES
    relay_retry_max: float = 30.0              # seconds, the backoff ceiling
    read_timeout: float = 30.0                 # seconds per socket read
    timezone: str = "Asia/Bangkok"             # ProcessTime, AcceptDate, ECMSTime

    @property
    def first_department(self) -> str:
        return next(iter(self.departments))

    def effective_public_url(self, port: int) -> str:
        return (self.public_url or f"http://{self.host}:{port}").rstrip("/")

    def peer_for(self, department_id: str) -> Peer | None:
        return self.peers.get(department_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "public_url": self.public_url,
            "departments": dict(self.departments),
            "peers": {p.department_id: {"url": p.url, "name": p.name}
                      for p in self.peers.values()},
            "ministries": dict(self.ministries),
        }

    def save(self) -> None:
        path = self.data_dir / "node.json"
        tmp = path.with_suffix(".json.tmp")
        data = json.dumps(self.to_json(), ensure_ascii=False, indent=2) + "\n"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)


def _pair(text: str, what: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not _ID.fullmatch(key):
        raise ConfigError(f"--{what} wants ID=VALUE with ID made of digits, got {text!r}")
    return key, value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="saraban ecms node",
        description="A local e-CMS node: serves /ecms-ws01/service2 for its departments, "
                    "queues letters and notifiers, relays to peer nodes.")
    p.add_argument("--host", help=f"address to listen on (default {DEFAULT_HOST})")
    p.add_argument("--port", type=int, help=f"port (default {DEFAULT_PORT}; 0 = any free port)")
    p.add_argument("--data", required=True, help="directory for node.json and node.sqlite3")
    p.add_argument("--department", action="append", default=[], metavar="ID=NAME",
                   help="a department this node serves (the first is /ecms-ws01/service2)")
    p.add_argument("--peer", action="append", default=[], metavar="ID=URL[ NAME]",
                   help="a department served by another node: its node URL (base or service "
                        "URL), optionally followed by a space and its name")
    p.add_argument("--ministry", action="append", default=[], metavar="ID=NAME",
                   help="a ministry for GetMinistryOrganizationList")
    p.add_argument("--public-url", help="this node's URL as peers and clients reach it "
                                        "(default http://HOST:PORT)")
    p.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES,
                   help="largest request body accepted (bytes)")
    p.add_argument("--relay-retry-max", type=float, default=30.0,
                   help="ceiling of the relay retry backoff (seconds)")
    p.add_argument("--read-timeout", type=float, default=30.0,
                   help="seconds a client may stay silent while sending a request")
    p.add_argument("--timezone", default="Asia/Bangkok",
                   help="zone of the times the node writes (ProcessTime, AcceptDate, "
                        "ECMSTime); '' = the machine's")
    return p


def load_config(argv: list[str]) -> NodeConfig:
    """Parse ``argv``, merge into ``DIR/node.json`` (created if missing) and save it."""
    args = _parser().parse_args(argv)
    data_dir = Path(args.data).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    saved: dict[str, Any] = {}
    path = data_dir / "node.json"
    if path.exists():
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path} is not readable JSON: {exc}") from exc
        if not isinstance(saved, dict):
            raise ConfigError(f"{path} is not a JSON object")
    try:
        cfg = NodeConfig(
            data_dir=data_dir,
            node_id=str(saved.get("node_id") or secrets.token_hex(8)),
            public_url=str(saved.get("public_url") or ""),
            departments={str(k): str(v) for k, v in dict(saved.get("departments") or {}).items()},
            peers={str(k): Peer(str(k), str(v.get("url", "")), str(v.get("name", "")))
                   for k, v in dict(saved.get("peers") or {}).items()},
            ministries={str(k): str(v) for k, v in dict(saved.get("ministries") or {}).items()},
        )
    except (AttributeError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path} has an unexpected shape: {exc}") from exc
    given_here = {_pair(item, "department")[0] for item in args.department}
    for item in args.department:
        key, value = _pair(item, "department")
        cfg.departments[key] = value
        cfg.peers.pop(key, None)  # moved here from another node
    for item in args.peer:
        key, value = _pair(item, "peer")
        url, _, name = value.partition(" ")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"--peer {key}: {url!r} is not an http(s) URL")
        cfg.peers[key] = Peer(key, url, name.strip())
        if key in cfg.departments and key not in given_here:
            del cfg.departments[key]  # moved to another node
    for item in args.ministry:
        key, value = _pair(item, "ministry")
        cfg.ministries[key] = value
    if args.public_url is not None:
        cfg.public_url = args.public_url.strip().rstrip("/")
    if not cfg.departments:
        raise ConfigError("no department: give --department ID=NAME (saved for later starts)")
    hosted_peers = sorted(set(cfg.departments) & set(cfg.peers))
    if hosted_peers:
        raise ConfigError(f"served here and named as a peer: {', '.join(hosted_peers)}")
    cfg.host = args.host or DEFAULT_HOST
    cfg.port = DEFAULT_PORT if args.port is None else args.port
    if not 0 <= cfg.port <= 65535:
        raise ConfigError(f"--port {cfg.port} is out of range")
    if args.max_bytes < 1024:
        raise ConfigError("--max-bytes is too small")
    cfg.max_bytes = args.max_bytes
    cfg.relay_retry_max = max(0.1, args.relay_retry_max)
    cfg.read_timeout = max(0.5, args.read_timeout)
    if args.timezone:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(args.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"--timezone {args.timezone!r} is not a known zone") from exc
    cfg.timezone = args.timezone
    cfg.save()
    return cfg
