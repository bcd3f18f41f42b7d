"""Replay every finding of the attack on Saraban (issue 11) against a real node.

    .venv/bin/python bench/attack.py                 # = make attack
    .venv/bin/python bench/attack.py --keep          # leave the node's files for a look

A node is started the way the exchange benchmarks start one (``saraban.exchange.testing``):
its own PostgreSQL database (created fresh on ``postgres://postgres@127.0.0.1:5432`` or
``SARABAN_NODE_PG``, dropped afterwards), its own files and secrets, ``saraban serve``. The
agency is onboarded with a unit, a registry clerk, a head of the unit (an executive over it)
and an officer; the clerk registers letters through the API, among them a secret letter
whose subject is a canary, assigned to the officer only.

Then each finding of the issue is tried as an attacker would, through the node's real
interfaces only: HTTP against the running server (web pages with their sessions and CSRF,
the API with bearer tokens, the exchange endpoint with envelopes signed by an agency in the
node's directory), ``saraban`` commands against the node, and a plain ``pg_dump`` of its
database. The audit chain is damaged last, by SQL, as a database administrator would.

It prints one line per finding: ``held`` or ``NOT HELD``, the finding, and its figure; the
exit status is non-zero if any finding is not held. Progress goes to standard error.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import hashlib
import html
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from saraban.exchange.testing import (  # noqa: E402
    Node,
    NodeError,
    _multipart,
    free_port,
    saraban_argv,
    tiny_pdf,
)
from saraban.letters.tests import bombs as bomb_files  # noqa: E402

PUBLISHED_SECRET_KEY = "insecure-development-key-change-me"
DEMO_KEK = hashlib.sha256(b"saraban-published-demo-key-encryption-key").digest()
UNIT_CODE = "0001.1"
REMOTE_CODE = "attack-remote"
UPLOAD_LIMIT = 2 * 50 * (1 << 20) + (1 << 20)  # the default SARABAN_MAX_UPLOAD_BYTES


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# --- results --------------------------------------------------------------------------------


@dataclass
class Finding:
    number: str
    name: str
    held: bool
    figure: str
    detail: list[str] = field(default_factory=list)

    def line(self) -> str:
        state = "held" if self.held else "NOT HELD"
        return f"{state:<8} {self.number:<4} {self.name}: {self.figure}"


FINDINGS: list[Finding] = []


def record(number: str, name: str, held: bool, figure: str,
           detail: list[str] | None = None) -> Finding:
    found = Finding(number, name, held, figure, detail or [])
    FINDINGS.append(found)
    say(found.line())
    for d in found.detail:
        say(f"    {d}")
    return found


def attempt(number: str, name: str, run: Callable[[], tuple[bool, str, list[str]]]) -> None:
    """Run one replay; an exception in the replay itself is recorded as not held."""
    started = time.monotonic()
    try:
        held, figure, detail = run()
    except Exception as exc:  # a replay that could not be carried out holds nothing
        held, figure, detail = False, f"replay failed: {type(exc).__name__}: {exc}"[:400], []
    record(number, name, held, f"{figure} [{time.monotonic() - started:.1f} s]", detail)


# --- HTTP as a browser and as an API client -------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def code(self) -> str:
        data = self.json()
        return str(data.get("code", "")) if isinstance(data, dict) else ""


class Browser:
    """One person's browser behind the HTTPS proxy of a production node (the proxy sets
    ``X-Forwarded-Proto: https``): its cookies (Secure ones too), CSRF, no automatic redirects."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies: dict[str, str] = {}
        self.opener = urllib.request.build_opener(_NoRedirect())

    @property
    def https_base(self) -> str:
        return "https://" + urllib.parse.urlsplit(self.base).netloc

    def request(self, method: str, path: str, *, body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 120) -> Answer:
        url = path if path.startswith("http") else self.base + path
        sent = {"X-Forwarded-Proto": "https", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        request = urllib.request.Request(url, data=body, method=method,
                                         headers=sent)
        try:
            with self.opener.open(request, timeout=timeout) as response:
                answer = Answer(response.status, dict(response.headers), response.read())
                cookies = response.headers.get_all("Set-Cookie") or []
        except urllib.error.HTTPError as exc:
            answer = Answer(exc.code, dict(exc.headers), exc.read())
            cookies = exc.headers.get_all("Set-Cookie") or []
        for cookie in cookies:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if value in ("", '""') or "max-age=0" in rest.lower():
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value
        return answer

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def csrf(self) -> str:
        if "csrftoken" not in self.cookies:
            self.get("/login/")
        if "csrftoken" not in self.cookies:
            raise RuntimeError("no CSRF cookie from /login/")
        return self.cookies["csrftoken"]

    def post_form(self, path: str, fields: dict[str, str]) -> Answer:
        data = {**fields, "csrfmiddlewaretoken": self.csrf()}
        return self.request("POST", path, body=urllib.parse.urlencode(data).encode(),
                            headers={"Content-Type": "application/x-www-form-urlencoded",
                                     "Referer": self.https_base + path})

    def post_files(self, path: str, fields: dict[str, str],
                   files: list[tuple[str, str, bytes, str]]) -> Answer:
        boundary = "attack-" + uuid.uuid4().hex
        parts: list[bytes] = []
        for name, value in {**fields, "csrfmiddlewaretoken": self.csrf()}.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                         f"\r\n\r\n{value}\r\n".encode())
        for name, filename, content, content_type in files:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                         f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
                         .encode() + content + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request("POST", path, body=b"".join(parts), headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Referer": self.https_base + path})

    def login(self, username: str, password: str, *, path: str = "/login/") -> Answer:
        self.get(path)
        return self.post_form(path, {"username": username, "password": password})


def api_call(node: Node, method: str, path: str, *, token: str | None = None,
             payload: Any = None, raw: bytes | None = None,
             content_type: str = "application/json") -> Answer:
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = raw if raw is not None else (
        json.dumps(payload, ensure_ascii=False).encode() if payload is not None else None)
    if body is not None:
        headers["Content-Type"] = content_type
    return Browser(node.url).request(method, path if path.startswith("/") else "/" + path,
                                     body=body, headers=headers)


def token_for(node: Node, username: str, password: str) -> Answer:
    return api_call(node, "POST", "/api/v1/auth/token",
                    payload={"username": username, "password": password})


# --- the node and its data ------------------------------------------------------------------


@dataclass
class Person:
    username: str
    password: str
    id: int = 0
    token: str = ""


@dataclass
class World:
    node: Node
    clerk: Person
    head: Person
    officer: Person
    it: Person
    unit_id: int = 0
    canary: str = ""
    secret_letter: int = 0
    normal_subject: str = ""
    letters: list[int] = field(default_factory=list)
    head_browser: Browser | None = None


def strong_password() -> str:
    return "Atk-" + secrets.token_urlsafe(14)


def set_up(node: Node) -> World:
    """Database, migrations, the agency with its unit and people, exchange enrolment."""
    node._pg_admin(f'CREATE DATABASE "{node._pg_name}"')
    node.run("migrate", "--no-input", "-v", "0", timeout=600)
    world = World(node=node, clerk=Person(node.clerk, node.clerk_password),
                  head=Person("attack_head", strong_password()),
                  officer=Person("attack_officer", strong_password()),
                  it=Person("attack_it", strong_password()))
    spec = {
        "name_th": "จังหวัดทดสอบการโจมตี", "name_en": "Attack Test Province", "kind": "province",
        "letter_code": node.letter_code, "office_code": node.office_code,
        "units": [{"name_th": "กองอำนวยการ", "office_code": UNIT_CODE, "kind": "division",
                   "has_registry": False}],
        "registry_officer": {"username": world.clerk.username, "full_name_th": "สมศรี รับส่ง",
                             "password": world.clerk.password},
        "it_officer": {"username": world.it.username, "full_name_th": "สมชาย ดูแลระบบ",
                       "password": world.it.password},
        "users": [
            {"username": world.head.username, "full_name_th": "สมหมาย หัวหน้ากอง",
             "unit": UNIT_CODE, "position_title": "ผู้อำนวยการกองอำนวยการ",
             "roles": ["executive"], "password": world.head.password},
            {"username": world.officer.username, "full_name_th": "สมปอง ผู้ปฏิบัติ",
             "unit": UNIT_CODE, "position_title": "นักจัดการงานทั่วไป",
             "roles": ["officer"], "password": world.officer.password},
        ],
    }
    spec_path = node.root / "agency.json"
    spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    out = node.run("onboard_agency", str(spec_path),
                   "--password-file", str(node.root / "passwords.tsv"))
    found = re.search(r"\bid (\d+)", out)
    if found is None:
        raise NodeError(f"no agency id in {out!r}")
    node.agency_id = int(found.group(1))
    node.run("exchange", "enrol", "--agency", str(node.agency_id), "--code", node.code)
    [(registry_id,)] = node.query(
        "select id from letters_registry where tenant_id = %s and is_central", [node.agency_id])
    node.registry_id = int(registry_id)
    for person in (world.clerk, world.head, world.officer, world.it):
        [(pid,)] = node.query("select id from agencies_person where username = %s",
                              [person.username])
        person.id = int(pid)
    [(unit_id,)] = node.query("select id from agencies_agency where office_code = %s",
                              [UNIT_CODE])
    world.unit_id = int(unit_id)
    add_seal(node)
    return world


SEAL_PASSPHRASE = "seal-" + secrets.token_hex(8)


def add_seal(node: Node) -> None:
    """The agency's seal (a PKCS#12 file) with its passphrase kept by the node, as an
    operator adds it: ``saraban signatures add-pkcs12 --store-secret``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "TH"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "จังหวัดทดสอบการโจมตี"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "ตราจังหวัดทดสอบ")])
    now = dt.datetime.now(tz=dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    path = node.root / "seal.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"seal", key, cert, None, BestAvailableEncryption(SEAL_PASSPHRASE.encode())))
    node.run("signatures", "add-pkcs12", "--agency", str(node.agency_id), "--file", str(path),
             "--label", "ตราจังหวัด", "--store-secret", stdin=SEAL_PASSPHRASE + "\n")
    path.unlink()


def api_sign_in(node: Node, person: Person) -> tuple[bool, str]:
    """A token for the person; changes the password first when the API demands it.

    Returns whether the first API call was refused with ``password_change_required``.
    """
    answer = token_for(node, person.username, person.password)
    if answer.status != 201:
        raise NodeError(f"token for {person.username}: {answer.status} {answer.text[:300]}")
    person.token = str(answer.json()["token"])
    probe = api_call(node, "GET", "/api/v1/desk", token=person.token)
    forced = probe.status == 403 and probe.code == "password_change_required"
    if forced:
        new = strong_password()
        changed = api_call(node, "POST", "/api/v1/auth/password", token=person.token,
                           payload={"current_password": person.password, "new_password": new})
        if changed.status != 200:
            raise NodeError(f"password change: {changed.status} {changed.text[:300]}")
        person.password = new
        again = token_for(node, person.username, person.password)
        person.token = str(again.json()["token"]) if again.status == 201 else person.token
    return forced, probe.code


def register_incoming(node: Node, token: str, data: dict[str, Any],
                      files: list[tuple[str, str, bytes, str]]) -> Answer:
    body, content_type = _multipart(
        {"data": json.dumps({"registry_id": node.registry_id, "kind": "external",
                             "sender_text": "กรมทดสอบ", **data}, ensure_ascii=False)}, files)
    return api_call(node, "POST", "/api/v1/letters/incoming", token=token, raw=body,
                    content_type=content_type)


def load_letters(world: World) -> None:
    node, clerk = world.node, world.clerk
    world.canary = (f"CANARY-{secrets.token_hex(6)} แผนรักษาความปลอดภัยลับมาก "
                    f"SECRET-{secrets.token_hex(6)}")
    world.normal_subject = f"ขอเชิญประชุม PLAIN-{secrets.token_hex(4)}"
    pdf = tiny_pdf("attack")
    secret = register_incoming(node, clerk.token, {
        "subject": world.canary, "secrecy": 2, "secret_reader_ids": [world.officer.id],
    }, [("file", "secret.pdf", pdf, "application/pdf")])
    if secret.status != 201:
        raise NodeError(f"secret letter refused: {secret.status} {secret.text[:400]}")
    world.secret_letter = int(secret.json()["letter"]["id"])
    assigned = api_call(node, "POST", f"/api/v1/letters/{world.secret_letter}/assign",
                        token=clerk.token,
                        payload={"targets": [{"person_id": world.officer.id}]})
    if assigned.status != 201:
        raise NodeError(f"assigning the secret letter: {assigned.status} {assigned.text[:400]}")
    world.letters.append(world.secret_letter)
    for i in range(6):
        subject = world.normal_subject if i == 0 else f"หนังสือทั่วไปฉบับที่ {i}"
        made = register_incoming(node, clerk.token, {"subject": subject, "urgency": i % 3},
                                 [("file", f"l{i}.pdf", tiny_pdf(f"l{i}"), "application/pdf")])
        if made.status != 201:
            raise NodeError(f"letter refused: {made.status} {made.text[:400]}")
        letter_id = int(made.json()["letter"]["id"])
        world.letters.append(letter_id)
        if i < 3:
            target = {"unit_id": world.unit_id} if i == 0 else {"person_id": world.officer.id}
            done = api_call(node, "POST", f"/api/v1/letters/{letter_id}/assign",
                            token=clerk.token, payload={"targets": [target]})
            if done.status != 201:
                raise NodeError(f"assign: {done.status} {done.text[:400]}")


# --- what is in the database and on disk ----------------------------------------------------


def table_counts(node: Node) -> dict[str, int]:
    tables = [r[0] for r in node.query(
        "select table_name from information_schema.tables where table_schema = 'public' "
        "and table_type = 'BASE TABLE' order by 1")]
    sql = " union all ".join(
        f"select '{t}', count(*) from \"{t}\"" for t in tables)  # names from the catalogue
    return {str(name): int(n) for name, n in node.query(sql)}


def files_on_disk(node: Node) -> set[str]:
    found: set[str] = set()
    for top in (node.root / "files", node.root / "var"):
        if top.exists():
            found |= {str(p) for p in top.rglob("*") if p.is_file()}
    return found


def diff_counts(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {t: after.get(t, 0) - before.get(t, 0) for t in set(before) | set(after)
            if after.get(t, 0) != before.get(t, 0)}


# --- 1. secrets: the node refuses to start without them -------------------------------------


def replay_refuses_without_secrets(node: Node) -> tuple[bool, str, list[str]]:
    base = {k: v for k, v in node.env().items()
            if k not in ("SARABAN_SECRET_KEY", "SARABAN_KEY_ENCRYPTION_KEYS")}
    demo = f"d:{base64.b64encode(DEMO_KEK).decode()}"
    cases = [
        ("serve, both unset", ["serve", "--no-worker", "--port", str(free_port())], base),
        ("serve, published defaults",
         ["serve", "--no-worker", "--port", str(free_port())],
         {**base, "SARABAN_SECRET_KEY": PUBLISHED_SECRET_KEY,
          "SARABAN_KEY_ENCRYPTION_KEYS": demo}),
        ("serve, published demo KEK only",
         ["serve", "--no-worker", "--port", str(free_port())],
         {**base, "SARABAN_SECRET_KEY": node.secret_key, "SARABAN_KEY_ENCRYPTION_KEYS": demo}),
        ("worker, both unset", ["worker", "--batch"], base),
    ]
    refused = 0
    detail = []
    for label, argv, env in cases:
        proc = subprocess.Popen(saraban_argv(*argv), env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            _out, err = proc.communicate(timeout=90)
            ok = proc.returncode != 0 and "refuses to start" in err
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.communicate()
            ok, err = False, "still running after 90 s"
        refused += ok
        last = next((ln for ln in reversed(err.splitlines()) if ln.strip()), "")
        detail.append(f"{label}: {'refused' if ok else 'STARTED'} ({last[:160]})")
    return refused == len(cases), f"{refused}/{len(cases)} refused to start", detail


# --- 2. a database dump and the published defaults ------------------------------------------


def _guesses(agency_ids: list[int]) -> list[tuple[str, bytes]]:
    out = [("demo KEK", DEMO_KEK)]
    for secret in (PUBLISHED_SECRET_KEY, ""):
        out.append((f"sha256(signing-identity:{secret!r})",
                    hashlib.sha256(b"saraban-signing-identity:" + secret.encode()).digest()))
        out.append((f"sha256(agency-key:{secret!r})",
                    hashlib.sha256(b"saraban-agency-key:" + secret.encode()).digest()))
    return out


def _purposes(agency_ids: list[int], max_seq: int) -> list[bytes]:
    purposes = [b"", b"exchange-key", b"signing-identity", b"seal-secret"]
    for a in agency_ids:
        purposes += [f"exchange-key:{a}".encode()]
        purposes += [f"audit-chain:{a}:{s}".encode() for s in range(1, max_seq + 2)]
    return purposes


def _open_with(value: bytes, guesses: list[tuple[str, bytes]], purposes: list[bytes]
               ) -> tuple[bytes | None, int]:
    """The plain bytes of ``value`` if a guess opens it, and how many tries were made."""
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    tries = 0
    text = value.decode("ascii", "replace")
    for _label, guess in guesses:
        if text.startswith("kek1."):
            raw = base64.urlsafe_b64decode(text.split(".")[2] + "==")
            for purpose in purposes:
                tries += 1
                with contextlib.suppress(Exception):
                    return AESGCM(guess).decrypt(raw[:12], raw[12:], purpose), tries
        tries += 1
        with contextlib.suppress(Exception):
            return Fernet(base64.urlsafe_b64encode(guess)).decrypt(value), tries
        for password in (guess, hashlib.sha256(guess).hexdigest().encode(),
                         guess.hex().encode(), None):
            tries += 1
            with contextlib.suppress(Exception):
                key = serialization.load_pem_private_key(value, password=password)
                return key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()), tries
    return None, tries


def replay_database_dump(node: Node) -> tuple[bool, str, list[str]]:
    dump = subprocess.run(
        ["pg_dump", "--data-only", "--format=plain", "--inserts",
         f"--dbname={node.database_url}"],
        capture_output=True, check=True, timeout=300).stdout
    (node.root / "attack-dump.sql").write_bytes(dump)
    binary = [bytes.fromhex(h.decode()) for h in re.findall(rb"'\\\\?x([0-9a-f]+)'", dump)]
    plain = [b for b in (dump, *binary)
             if b"PRIVATE KEY" in b or SEAL_PASSPHRASE.encode() in b]
    sealed = rb"kek1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"
    tokens = set(re.findall(sealed, dump)) | {t for b in binary for t in re.findall(sealed, b)}
    # Encrypted PEMs and Fernet tokens of the schemes Saraban used before key-encryption keys.
    legacy = set(re.findall(
        rb"-----BEGIN ENCRYPTED PRIVATE KEY-----[A-Za-z0-9+/=\\n\n]+-----END ENCRYPTED "
        rb"PRIVATE KEY-----", dump))
    legacy |= {t for b in binary for t in re.findall(rb"gAAAAA[A-Za-z0-9_=-]{40,}", b)}
    agency_ids = [int(r[0]) for r in node.query("select id from agencies_agency")]
    [(max_seq,)] = node.query("select coalesce(max(last_seq), 0) from core_auditchain")
    guesses = _guesses(agency_ids)
    purposes = _purposes(agency_ids, int(max_seq))
    opened: list[bytes] = []
    tries = 0
    for value in sorted(tokens | legacy):
        found, n = _open_with(value.replace(b"\\n", b"\n"), guesses, purposes)
        tries += n
        if found is not None:
            opened.append(found)
    accepted = 0
    if opened:  # what an attacker would do with a recovered key: sign as the agency
        accepted = _sign_with_recovered(node, opened)
    held = not plain and not opened and bool(tokens)
    figure = (f"dump {len(dump) / 1024:.0f} KiB: {len(tokens)} sealed values + {len(legacy)} "
              f"legacy, {len(guesses)} published keys x {len(purposes)} purposes = {tries:,} "
              f"tries, opened {len(opened)}, plaintext keys {len(plain)}; envelopes signed "
              f"with a recovered key accepted: {accepted if opened else 'none recovered'}")
    return held, figure, []


def _sign_with_recovered(node: Node, opened: list[bytes]) -> int:
    """Sign a message as the node's agency with each recovered key; how many verify against
    the certificate the node publishes in its directory."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    [(pem,)] = node.query("select certificate_pem from exchange_directoryentry where code = %s",
                          [node.code])
    public = x509.load_pem_x509_certificate(pem.encode()).public_key()
    accepted = 0
    for plain in opened:
        with contextlib.suppress(Exception):
            key = serialization.load_pem_private_key(plain, password=None)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            assert isinstance(public, ec.EllipticCurvePublicKey)
            signature = key.sign(b"forged", ec.ECDSA(hashes.SHA256()))
            public.verify(signature, b"forged", ec.ECDSA(hashes.SHA256()))
            accepted += 1
    return accepted


# --- 3. the audit chain ---------------------------------------------------------------------


def _canonical(row: dict[str, Any]) -> bytes:
    created = row["created_at"].astimezone(dt.UTC).isoformat(timespec="microseconds")
    payload = {
        "agency": row["agency_id"], "seq": row["seq"], "action": row["action"],
        "created_at": created, "actor": row["actor_id"], "actor_name": row["actor_name"],
        "position": row["position_id"], "position_title": row["position_title"],
        "acting_kind": row["acting_kind"], "target_type": row["target_type"],
        "target_id": row["target_id"], "details": row["details"], "prev_hash": row["prev_hash"],
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode()


EVENT_COLUMNS = ("id", "agency_id", "seq", "action", "created_at", "actor_id", "actor_name",
                 "position_id", "position_title", "acting_kind", "target_type", "target_id",
                 "details", "prev_hash", "hash")


def _events(conn: Any, agency_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(f"select {', '.join(EVENT_COLUMNS)} from core_auditevent "
                        "where agency_id = %s order by seq", [agency_id]).fetchall()
    return [dict(zip(EVENT_COLUMNS, r, strict=True)) for r in rows]


def _verify(node: Node) -> tuple[int, str]:
    done = subprocess.run(saraban_argv("audit", "verify"), env=node.env(),
                          capture_output=True, text=True, timeout=300, check=False)
    return done.returncode, (done.stdout + done.stderr).strip()


def replay_audit(node: Node) -> None:
    import psycopg
    from psycopg.types.json import Jsonb

    agency = node.agency_id
    code, baseline = _verify(node)
    if code != 0:
        record("3", "audit: untouched chain verifies", False, baseline[:300])
        return
    node.run("audit", "checkpoint")
    with psycopg.connect(node.database_url, autocommit=True) as conn:
        original = _events(conn, agency)
        [(head_seq, head_hash, keyed_from, key_sealed)] = conn.execute(
            "select last_seq, last_hash, keyed_from_seq, key_sealed from core_auditchain "
            "where agency_id = %s", [agency]).fetchall()

        def restore() -> None:
            for e in original:
                conn.execute("update core_auditevent set details = %s, prev_hash = %s, "
                             "hash = %s where id = %s",
                             [Jsonb(e["details"]), e["prev_hash"], e["hash"], e["id"]])
            conn.execute("update core_auditchain set last_seq = %s, last_hash = %s, "
                         "keyed_from_seq = %s, key_sealed = %s where agency_id = %s",
                         [head_seq, head_hash, keyed_from, key_sealed, agency])

        # (a) edit one event and recompute every later hash and the head (plain SHA-256).
        target = original[len(original) // 2]
        forged = [dict(e) for e in original]
        prev = forged[target["seq"] - 2]["hash"] if target["seq"] > 1 else ""
        for e in forged[target["seq"] - 1:]:
            if e["id"] == target["id"]:
                e["details"] = {**(e["details"] or {}), "subject": "แก้ไขโดยผู้ดูแลฐานข้อมูล"}
            e["prev_hash"] = prev
            e["hash"] = hashlib.sha256(_canonical(e)).hexdigest()
            prev = e["hash"]
            conn.execute("update core_auditevent set details = %s, prev_hash = %s, hash = %s "
                         "where id = %s", [Jsonb(e["details"]), e["prev_hash"], e["hash"],
                                           e["id"]])
        conn.execute("update core_auditchain set last_hash = %s where agency_id = %s",
                     [prev, agency])
        code, out = _verify(node)
        named = f"event #{target['seq']}" in out
        record("3a", "audit: an event edited, every later hash and the head recomputed "
               "(SHA-256) by SQL", code != 0 and named,
               f"{len(forged) - target['seq'] + 1} hashes rewritten from event "
               f"#{target['seq']} of {len(original)}; verify exit {code}: "
               f"{_fail_line(out)}")

        # (b) the same rewrite after moving the chain's keyed start past the head, so every
        # event reads as written before chains had keys (plain SHA-256).
        conn.execute("update core_auditchain set keyed_from_seq = %s where agency_id = %s",
                     [head_seq + 1, agency])
        code, out = _verify(node)
        record("3b", "audit: the rewrite with the chain's keyed start moved past the head "
               "(downgrade to unkeyed hashes)", code != 0,
               f"verify exit {code}: {_fail_line(out)}")
        restore()
        code, out = _verify(node)
        if code != 0:
            record("3", "audit: the restored chain verifies again", False, out[:300])
            return

        # (c) delete the newest events and rewind the head, after a checkpoint.
        node.run("audit", "checkpoint")
        cut = 3
        kept = original[-cut - 1]
        conn.execute("delete from core_auditevent where agency_id = %s and seq > %s",
                     [agency, kept["seq"]])
        conn.execute("update core_auditchain set last_seq = %s, last_hash = %s "
                     "where agency_id = %s", [kept["seq"], kept["hash"], agency])
        code, out = _verify(node)
        named = "truncated" in out and f"#{kept['seq'] + 1}" in out
        record("3c", "audit: the newest events deleted and the head rewound after a checkpoint",
               code != 0 and named,
               f"events #{kept['seq'] + 1}-#{head_seq} deleted; verify exit {code}: "
               f"{_fail_line(out)}")


def _fail_line(out: str) -> str:
    for line in out.splitlines():
        if line.startswith("FAIL"):
            return line[:240]
    return out.splitlines()[-1][:240] if out else "(no output)"


# --- 4. slow clients and large bodies -------------------------------------------------------


def replay_slow_clients(node: Node) -> tuple[bool, str, list[str]]:
    from slow_clients import measure

    figures = measure(50, node=node, requests=20, workers=node.web_workers)
    held = figures["failed"] == 0 and figures["max"] <= 5.0
    return held, (f"login page with {figures['stalled']} stalled connections: p50 "
                  f"{figures['p50'] * 1000:.0f} ms, p95 {figures['p95'] * 1000:.0f} ms, max "
                  f"{figures['max'] * 1000:.0f} ms, failed {figures['failed']}/"
                  f"{figures['requests']} (limit 5 s)"), []


def _headers_only(node: Node, path: str, length: int, content_type: str,
                  extra: str = "") -> tuple[str, float]:
    """Send a request's headers announcing ``length`` bytes and no body; the status line
    and the JSON code of the answer, and the seconds it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", node.port), timeout=30) as s:
        s.sendall((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}"
                   f"\r\nContent-Length: {length}\r\n{extra}\r\n").encode())
        data = b""
        s.settimeout(10)
        with contextlib.suppress(TimeoutError, OSError):
            while b"}" not in data:  # the refusal's JSON body, then the server closes
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    seconds = time.monotonic() - started
    head = data.split(b"\r\n", 1)[0].decode("latin-1")
    found = re.search(rb'"code":\s*"([a-z_]+)"', data)
    return f"{head} {found.group(1).decode() if found else ''}".strip(), seconds


def _chunked_upload(node: Node, path: str, total: int, token: str) -> tuple[str, int, float]:
    """Stream a chunked multipart body (no ``Content-Length``) of up to ``total`` bytes until
    the server answers; the answer, the bytes sent by then, and the seconds it took."""
    import select

    started = time.monotonic()
    chunk = bytes(1 << 20)
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    data = b""
    with socket.create_connection(("127.0.0.1", node.port), timeout=30) as s:
        s.sendall((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}"
                   "\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n").encode())
        with contextlib.suppress(OSError):
            while sent < total:
                readable, _w, _x = select.select([s], [], [], 0)
                if readable:
                    break
                s.sendall(framed)
                sent += len(chunk)
        with contextlib.suppress(TimeoutError, OSError):
            while b"}" not in data:
                got = s.recv(65536)
                if not got:
                    break
                data += got
    head = data.split(b"\r\n", 1)[0].decode("latin-1")
    found = re.search(rb'"code":\s*"([a-z_]+)"', data)
    answer = f"{head} {found.group(1).decode() if found else ''}".strip()
    return answer, sent, time.monotonic() - started


def replay_large_bodies(world: World) -> tuple[bool, str, list[str]]:
    node = world.node
    rows, files = table_counts(node), files_on_disk(node)
    cases = [
        ("/api/v1/letters/incoming", 10 * 1024 ** 3, "multipart/form-data; boundary=x",
         f"Authorization: Bearer {world.clerk.token}\r\n"),
        ("/register/incoming/", 10 * 1024 ** 3, "multipart/form-data; boundary=x", ""),
        ("/exchange/v1/messages", 2 * 1024 ** 3, "application/json", ""),
        ("/api/v1/auth/token", 64 * 1024 ** 2, "application/json", ""),
    ]
    detail, ok = [], 0
    for path, length, content_type, extra in cases:
        answer, seconds = _headers_only(node, path, length, content_type, extra)
        good = " 413 " in f" {answer} " and "request_too_large" in answer and seconds < 5
        ok += good
        detail.append(f"{path} announcing {length:,} B: {answer} in {seconds * 1000:.0f} ms")
    limit = UPLOAD_LIMIT
    answer, sent, seconds = _chunked_upload(node, "/api/v1/letters/incoming", 4 * limit,
                                            world.clerk.token)
    streamed = " 413 " in f" {answer} " and "request_too_large" in answer and sent <= limit * 1.2
    detail.append(f"chunked upload without Content-Length (limit {limit:,} B): {answer} after "
                  f"{sent / (1 << 20):.0f} MiB sent, {seconds:.1f} s")
    written = diff_counts(rows, table_counts(node))
    new_files = files_on_disk(node) - files
    held = ok == len(cases) and streamed and not written and not new_files
    return held, (f"{ok}/{len(cases)} refused 413 request_too_large from their headers; a "
                  f"chunked upload refused after {sent / (1 << 20):.0f} MiB "
                  f"({'413' if streamed else answer or 'no answer'}); rows written "
                  f"{sum(written.values())}, files written {len(new_files)}"), detail


# --- 5. bombs -------------------------------------------------------------------------------


def replay_bombs() -> None:
    """bench/bombs.py in its own process (it sets up Django on a scratch database)."""
    code = ("import json, sys; sys.path.insert(0, 'bench'); import bombs; "
            "print('RESULT ' + json.dumps(bombs.run()))")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SARABAN_") and k != "DATABASE_URL"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), "")
    if not line:
        record("5", "bombs (bench/bombs.py)", False,
               f"exit {done.returncode}: {(done.stderr or done.stdout)[-400:]}")
        return
    for r in json.loads(line.removeprefix("RESULT ")):
        if r["name"] == "sandbox-call-overhead":
            record("5", "bombs: sandbox call overhead", True, r["verdict"])
            continue
        record("5", f"bomb {r['name']} ({r['size']:,} B)", bool(r["held"]),
               f"{r['verdict']} (expected {r['expected']}), parser peak {r['peak_mib']} MiB, "
               f"{r['seconds']} s")


def _max_rss_of(argv: list[str], env: dict[str, str], timeout: float) -> tuple[int, int, str]:
    """Run ``argv`` under a small parent that reports the peak RSS (KiB) of everything it
    waited for: the command and the subprocesses it waited for (the parsers' sandbox)."""
    wrapper = ("import resource, subprocess, sys; "
               "done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
               "sys.stderr.write(done.stdout[-2000:] + done.stderr[-2000:]); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
               "sys.exit(done.returncode)")
    done = subprocess.run([sys.executable, "-c", wrapper, *argv], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    peak = int(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else 0
    return done.returncode, peak, done.stderr


def group_peak_mib(pgid: int) -> float:
    """The largest peak resident size (VmHWM) of the processes in a process group: the web
    server, its workers and the parsers' sandbox helpers they started."""
    peak = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            for line in (stat.parent / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
    return peak / 1024


def replay_ocr_intake_bomb(world: World) -> tuple[bool, str, list[str]]:
    """The 2 GiB PDF bomb uploaded as a scan to the OCR intake of the running node; the
    worker then runs what was queued."""
    node = world.node
    browser = Browser(node.url)
    signed_in = browser.login(world.clerk.username, world.clerk.password)
    if signed_in.status != 302:
        raise NodeError(f"clerk web sign-in: {signed_in.status}")
    bomb = bomb_files.pdf_flate_bomb()
    files = files_on_disk(node)
    answer = browser.post_files("/intake/", {"registry": str(node.registry_id)},
                                [("scan", "scan.pdf", bomb, "application/pdf")])
    detail = [f"upload of {len(bomb):,} B: HTTP {answer.status}"]
    if answer.status == 302:
        _code, peak_kib, _log = _max_rss_of(saraban_argv("worker", "--batch"), node.env(), 600)
        rows = node.query("select state, message from intake_scanintake order by id desc "
                          "limit 1")
        state, message = rows[0] if rows else ("?", "")
        held = state not in ("ready", "registered", "done") and peak_kib < 1024 * 1024
        figure = (f"queued, then the worker refused it: state {state} ({message[:90]}); "
                  f"worker peak {peak_kib / 1024:.0f} MiB")
        return held, figure, detail
    peak = group_peak_mib(node.web.pid) if node.web is not None else 0.0
    message = re.search(r'<p class="field-error" data-field="scan">([^<]+)</p>', answer.text)
    new_files = files_on_disk(node) - files
    intakes = int(node.query("select count(*) from intake_scanintake")[0][0])
    held = (message is not None and not new_files and intakes == 0 and answer.status < 500
            and peak < 1024)
    return held, (f"refused at upload (HTTP {answer.status}, the form's message: "
                  f"{html.unescape(message.group(1)).strip() if message else '(none)'}); "
                  f"scans kept {intakes}, files left {len(new_files)}; peak RSS of the web "
                  f"server's processes {peak:.0f} MiB"), detail


# --- 6. logins ------------------------------------------------------------------------------


def _locked(answer: Answer) -> bool:
    return answer.status == 429


def replay_logins(world: World) -> None:
    node = world.node
    # (a) the admin's sign-in page is throttled, in the same count as the web form.
    admin = Browser(node.url)
    statuses = [admin.login(world.it.username, "wrong-" + secrets.token_hex(4),
                            path="/admin/login/").status for _ in range(6)]
    web = Browser(node.url).login(world.it.username, world.it.password)
    record("6a", "logins: /admin/login/ throttled (one count with the web form)",
           _locked(Browser(node.url).login(world.it.username, "x", path="/admin/login/"))
           and _locked(web),
           f"6 wrong passwords at /admin/login/ answered {statuses}; then the right password "
           f"at /login/ answered {web.status}")

    # (b) failures at the web form and the API counted together.
    officer = world.officer
    web_fail = [Browser(node.url).login(officer.username, "wrong-web").status for _ in range(3)]
    api_fail = [token_for(node, officer.username, "wrong-api").status for _ in range(2)]
    right = token_for(node, officer.username, officer.password)
    record("6b", "logins: web and API failures counted together",
           _locked(right) and right.code == "login_locked",
           f"3 wrong at /login/ {web_fail} + 2 wrong at /api/v1/auth/token {api_fail}; the "
           f"right password at the API then answered {right.status} {right.code}")

    # (c) one person's five failures do not lock out another person at the same address.
    clerk_web = Browser(node.url).login(world.clerk.username, world.clerk.password)
    clerk_api = token_for(node, world.clerk.username, world.clerk.password)
    record("6c", "logins: 5 wrong passwords for one account from an address do not lock "
           "another person out (office behind one NAT)",
           clerk_web.status == 302 and clerk_api.status == 201,
           f"officer and IT officer locked from 127.0.0.1; the clerk's right password from "
           f"there: web {clerk_web.status}, API {clerk_api.status}")

    # (d) forced change at first sign-in, then the change itself (the unit head, web).
    head = world.head
    browser = Browser(node.url)
    first = browser.login(head.username, head.password)
    sent_to = browser.get("/").headers.get("Location", "")
    new = strong_password()
    changed = browser.post_form("/account/password/", {
        "current_password": head.password, "new_password": new, "new_password_again": new})
    after = browser.get("/")
    ok = (first.status == 302 and "/account/password/" in sent_to and changed.status == 302
          and after.status == 200)
    if ok:
        head.password = new
        world.head_browser = browser
    other = Browser(node.url)
    relog = other.login(head.username, head.password)
    dashboard = other.get("/")
    record("6d", "logins: forced password change at first sign-in, and the change",
           ok and relog.status == 302 and dashboard.status == 200,
           f"onboarded head signed in ({first.status}) and was sent to {sent_to or '(nowhere)'}; "
           f"change answered {changed.status}; dashboard {after.status}; new password signs "
           f"in ({relog.status}, dashboard {dashboard.status})")


# --- 7. access: pending_agency and writes on GET --------------------------------------------


_HREF = re.compile(r'href="([^"#]+)"')
_SKIP = ("/logout/", "/static/", "/admin/", "/exchange/v1/")


def crawl(browser: Browser, start: list[str], limit: int) -> tuple[dict[str, Answer], int]:
    seen: dict[str, Answer] = {}
    queue = list(start)
    errors = 0
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen:
            continue
        answer = browser.get(path)
        seen[path] = answer
        errors += answer.status >= 500
        if "text/html" not in answer.headers.get("Content-Type", ""):
            continue
        for href in _HREF.findall(answer.text):
            href = html.unescape(href)
            parsed = urllib.parse.urlsplit(href)
            if parsed.netloc and parsed.netloc != urllib.parse.urlsplit(browser.base).netloc:
                continue
            target = parsed.path + (f"?{parsed.query}" if parsed.query else "")
            if target.startswith("/") and not target.startswith(_SKIP) and target not in seen:
                queue.append(target)
    return seen, errors


def replay_access(world: World) -> None:
    node = world.node
    browser = world.head_browser
    if browser is None:
        record("7", "access: crawl as the unit head", False, "the head could not sign in")
        return
    head_token = token_for(node, world.head.username, world.head.password)
    token = str(head_token.json()["token"]) if head_token.status == 201 else ""
    rows, files = table_counts(node), files_on_disk(node)
    start = ["/", "/routing/pending/", "/routing/desk/", "/routing/unit/", "/routing/sent/",
             "/registers/", "/notifications/",
             "/search/?q=" + urllib.parse.quote(world.canary.split()[0]),
             *[f"/letters/{i}/" for i in world.letters]]
    pages, server_errors = crawl(browser, start, limit=250)
    api_paths = ["/api/v1/pending", "/api/v1/desk",
                 "/api/v1/search?q=" + urllib.parse.quote(world.canary.split()[0]),
                 *[f"/api/v1/letters/{i}" for i in world.letters],
                 *[f"/api/v1/letters/{i}/timeline" for i in world.letters]]
    api_answers = {p: api_call(node, "GET", p, token=token) for p in api_paths}
    written = diff_counts(rows, table_counts(node))
    new_files = files_on_disk(node) - files
    # The search pages echo the query (the canary's first word): the subject's other words
    # and its last token are what must never appear.
    hidden = world.canary.split()[-1]
    leaks = [p for p, a in {**pages, **api_answers}.items()
             if hidden in a.text or world.canary.split(maxsplit=1)[1] in a.text]
    pending = pages.get("/routing/pending/")
    control = pending is not None and world.normal_subject in pending.text
    api_pending = api_answers["/api/v1/pending"]
    record("7a", "access: pending_agency and every page the unit head sees list no secret "
           "subject (canary)",
           not leaks and control and pending is not None and pending.status == 200
           and api_pending.status == 200,
           f"{len(pages)} pages + {len(api_answers)} API reads as the head: canary leaks "
           f"{len(leaks)}{' ' + str(leaks[:5]) if leaks else ''}; /routing/pending/ "
           f"{pending.status if pending else '-'} lists the unit's plain letter: {control}; "
           f"API /pending {api_pending.status}")
    record("7b", "access: no GET writes rows or files",
           not written and not new_files and server_errors == 0,
           f"{len(pages)} pages + {len(api_answers)} API GETs crawled: rows written "
           f"{sum(written.values())}{' ' + str(written) if written else ''}, files written "
           f"{len(new_files)}, server errors {server_errors}")


# --- 8. server errors -----------------------------------------------------------------------


@dataclass
class Remote:
    """An agency of another node, known to this node through its directory entry."""

    code: str
    key: Any
    certificate_pem: str

    @classmethod
    def make(cls, code: str) -> Remote:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "TH"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Attack Remote Dept"),
                          x509.NameAttribute(NameOID.COMMON_NAME, code)])
        now = dt.datetime.now(tz=dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + dt.timedelta(days=365))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(
                    digital_signature=True, content_commitment=True, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=False,
                    crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
                .sign(key, hashes.SHA256()))
        return cls(code, key, cert.public_bytes(serialization.Encoding.PEM).decode())

    def sign(self, envelope: dict[str, Any]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        canonical = json.dumps(envelope, sort_keys=True, ensure_ascii=False,
                               separators=(",", ":")).encode()
        return base64.b64encode(self.key.sign(canonical, ec.ECDSA(hashes.SHA256()))).decode()

    def message(self, to: str, change: Callable[[dict[str, Any]], None] | None = None
                ) -> dict[str, Any]:
        pdf = tiny_pdf("remote")
        sha = hashlib.sha256(pdf).hexdigest()
        envelope: dict[str, Any] = {
            "v": 1, "type": "letter", "id": str(uuid.uuid4()), "from": self.code, "to": to,
            "sent_at": dt.datetime.now(tz=dt.UTC).isoformat(timespec="microseconds"),
            "letter": {
                "kind": "external", "subkind": "", "urgency": 1, "secrecy": 0,
                "number": "กข 0101/77", "letter_date": dt.date.today().isoformat(),
                "subject": "ขอเชิญประชุมคณะกรรมการ", "salutation": "เรียน ผู้ว่าราชการจังหวัด",
                "body": "", "sender_name": "กรมปลายทาง", "recipient_name": "จังหวัดทดสอบ",
                "references": [], "enclosures": [], "is_circular": False,
            },
            "files": [{"name": "letter.pdf", "role": "main", "sha256": sha, "size": len(pdf),
                       "content_type": "application/pdf"}],
        }
        if change is not None:
            change(envelope)
        return {"envelope": envelope, "signature": self.sign(envelope),
                "files": {sha: base64.b64encode(pdf).decode()}}


def _setting_urgency(value: float) -> Callable[[dict[str, Any]], None]:
    def change(envelope: dict[str, Any]) -> None:
        envelope["letter"]["urgency"] = value
    return change


def server_errors_logged(node: Node) -> int:
    """Answers 500-599 in the web server's access log so far."""
    path = node.root / "web.log"
    text = path.read_text(errors="replace") if path.exists() else ""
    return len(re.findall(r'HTTP/1\.[01]" 5\d\d', text))


def _inbox_rows(node: Node) -> int:
    return int(node.query("select count(*) from exchange_inboxmessage")[0][0])


def replay_server_errors(world: World) -> None:
    node, clerk = world.node, world.clerk
    checks: list[tuple[str, int, str, bool]] = []  # (what, status, code, held)

    def check(what: str, answer: Answer, *, expect: Callable[[Answer], bool] | None = None
              ) -> None:
        good = answer.status < 500 and (expect(answer) if expect else True)
        checks.append((what, answer.status, answer.code, good))

    big = "99999999999999999999999"
    # Pages past bigint, at the API and the web.
    for path in (f"/api/v1/registries/{node.registry_id}/series/incoming/entries?page={big}",
                 f"/api/v1/desk?page={big}", f"/api/v1/pending?page={big}",
                 f"/api/v1/search?q=x&page={big}", f"/api/v1/letters/{big}",
                 f"/api/v1/letters/{big}/timeline", f"/api/v1/exchange/inbox?page={big}"):
        check(f"GET {path}", api_call(node, "GET", path, token=clerk.token))
    browser = Browser(node.url)
    browser.login(clerk.username, clerk.password)
    for path in (f"/registers/{node.registry_id}/incoming/?page={big}", f"/letters/{big}/",
                 f"/desk/?page={big}", f"/search/?q=x&page={big}", f"/intake/{big}/",
                 f"/notifications/{big}/", f"/letters/{world.letters[1]}/files/{big}/"):
        check(f"web GET {path}", browser.get(path))
    # NUL characters, with and without a session.
    check("POST /api/v1/auth/token NUL (no login)",
          token_for(node, "nobody\x00", "x\x00"), expect=lambda a: a.status in (400, 401, 422))
    check("GET /api/v1/search q=NUL", api_call(node, "GET", "/api/v1/search?q=%00",
                                              token=clerk.token))
    check("web GET /search/?q=NUL", browser.get("/search/?q=a%00b"))
    check("web POST /login/ NUL", Browser(node.url).login("a\x00b", "x\x00"))
    nul = register_incoming(node, clerk.token, {"subject": "ขอ\x00เชิญ"},
                            [("file", "a.pdf", tiny_pdf(), "application/pdf")])
    check("API register with NUL subject", nul, expect=lambda a: 400 <= a.status < 500)
    # The exchange endpoint: deep nesting without a signature.
    before = _inbox_rows(node)
    for opener, closer in (("[", "]"), ('{"a":', "}")):
        body = (opener * 2000 + "1" + closer * 2000).encode()
        check(f"2,000-level nested JSON {opener}", api_call(node, "POST", "/exchange/v1/messages",
                                                           raw=body),
              expect=lambda a: a.status == 400 and bool(a.code))
    # Validly signed envelopes from an agency in the node's directory.
    remote = Remote.make(REMOTE_CODE)
    node.import_directory([{"code": remote.code, "name_th": "กรมปลายทาง",
                            "node_url": "http://127.0.0.1:9", "certificate_pem":
                            remote.certificate_pem, "channels": ["saraban"]}])

    def post_signed(what: str, change: Callable[[dict[str, Any]], None]) -> None:
        body = json.dumps(remote.message(node.code, change)).encode()
        check(what, api_call(node, "POST", "/exchange/v1/messages", raw=body),
              expect=lambda a: a.status == 400 and a.code not in ("", "bad_signature"))

    for label, value in (("NaN", float("nan")), ("Infinity", float("inf")),
                         ("-Infinity", float("-inf"))):
        post_signed(f"signed envelope with {label}", _setting_urgency(value))
    post_signed("signed envelope with NUL in the subject",
                lambda e: e["letter"].update(subject="ขอเชิญ\x00ประชุม"))
    post_signed("signed envelope with NUL in a key", lambda e: e["letter"].update({"x\x00": 1}))
    post_signed('signed envelope with "references": 5',
                lambda e: e["letter"].update(references=5))
    hostile_stored = _inbox_rows(node) - before
    control = api_call(node, "POST", "/exchange/v1/messages",
                       raw=json.dumps(remote.message(node.code)).encode())
    checks.append(("control: a well-formed signed envelope is accepted", control.status,
                   control.code, 200 <= control.status < 300))
    checks.append(("hostile envelopes stored", hostile_stored, "", hostile_stored == 0))
    # A stamped copy of a PDF pypdf cannot read.
    unreadable = register_incoming(node, clerk.token, {"subject": "PDF ที่ pypdf อ่านไม่ได้"},
                                   [("file", "odd.pdf", bomb_files.pdf_unreadable_for_stamp(),
                                     "application/pdf")])
    check("register a PDF pypdf cannot read", unreadable)
    if unreadable.status == 201:
        letter = unreadable.json()["letter"]["id"]
        entry = unreadable.json()["entry"]["id"]
        first = browser.get(f"/letters/{letter}/stamped/{entry}/")
        node.run("worker", "--batch", timeout=600)
        second = browser.get(f"/letters/{letter}/stamped/{entry}/")
        page = browser.get(f"/letters/{letter}/")
        checks.append(("stamped copy before/after the worker, letter page",
                       max(first.status, second.status, page.status), "",
                       max(first.status, second.status, page.status) < 500))
    # A refused attachment leaves no file (and no letter).
    rows, files = table_counts(node), files_on_disk(node)
    refused = register_incoming(
        node, clerk.token, {"subject": "แนบไฟล์ระเบิด"},
        [("file", "main.pdf", tiny_pdf("main-of-refused"), "application/pdf"),
         ("attachments", "bomb.docx", bomb_files.docx_zip_bomb(),
          "application/vnd.openxmlformats-officedocument.wordprocessingml.document")])
    left = files_on_disk(node) - files
    written = diff_counts(rows, table_counts(node))
    written.pop("django_session", None)
    checks.append((f"refused attachment (HTTP {refused.status} {refused.code}): files left "
                   f"{len(left)}, rows {sum(written.values())}", refused.status, refused.code,
                   400 <= refused.status < 500 and not left and not written))
    bad = [c for c in checks if not c[3]]
    fives = sum(1 for c in checks if isinstance(c[1], int) and c[1] >= 500 and "stored" not in c[0])
    record("8a", "server errors: pages past bigint, NUL, nested JSON, NaN/Infinity/NUL and "
           '"references": 5 in signed envelopes, unstampable PDF, refused attachment',
           not bad,
           f"{len(checks)} hand-made requests: 5xx {fives}, not as expected {len(bad)}",
           [f"{'ok ' if c[3] else 'BAD'} {c[0]} -> {c[1]} {c[2]}" for c in checks
            if not c[3]] + [f"codes: {sorted({c[2] for c in checks if c[2]})}"])


def _fuzz(schema: Any, found: dict[tuple[str, str, int | None], str], errors: list[str]
          ) -> int:
    """Run schemathesis's engine on ``schema``; record each failed check once; the cases."""
    import schemathesis
    from schemathesis.engine import Status
    from schemathesis.engine import events as ev

    cases = 0
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, ev.NonFatalError):
            errors.append(f"{event.label}: {str(event.info)[:200]}")
            continue
        if isinstance(event, ev.FatalError):
            raise event.exception
        if not isinstance(event, ev.ScenarioFinished):
            continue
        recorder = event.recorder
        cases += len(recorder.cases)
        if event.status != Status.FAILURE:
            continue
        for case_id, results in recorder.checks.items():
            interaction = recorder.interactions.get(case_id)
            status = (int(interaction.response.status_code)
                      if interaction is not None and interaction.response is not None else None)
            for result in results:
                if result.status != Status.FAILURE or result.failure_info is None:
                    continue
                failure = result.failure_info.failure
                key = (failure.operation or recorder.label, result.name, status)
                found.setdefault(key, failure.title)
    return cases


def replay_schemathesis(world: World, max_examples: int) -> tuple[bool, str, list[str]]:
    """schemathesis against the running node's OpenAPI document, as the clerk."""
    import schemathesis

    from saraban.api.tests.fuzzing import config

    logged_before = server_errors_logged(world.node)
    cases = 0
    found: dict[tuple[str, str, int | None], str] = {}
    errors: list[str] = []
    # The person's own token operations (/auth/) last, with a token of their own: a drawn
    # token id may revoke the token in use and blind the rest of the run.
    for auth_only in (False, True):
        answer = token_for(world.node, world.clerk.username, world.clerk.password)
        if answer.status != 201:
            raise NodeError(f"no token for the clerk: {answer.status} {answer.text[:200]}")
        loaded = schemathesis.openapi.from_url(
            f"{world.node.url}/api/v1/openapi.json",
            config=config(token=str(answer.json()["token"]), max_examples=max_examples,
                          seed=11))
        chosen = (loaded.include(path_regex="/auth/") if auth_only
                  else loaded.exclude(path_regex="/auth/"))
        cases += _fuzz(chosen, found, errors)
    server = [k for k in found if k[2] is not None and k[2] >= 500]
    undeclared = [k for k in found if k[1] == "status_code_conformance"]
    other = [k for k in found if k not in server and k not in undeclared]
    detail = [f"{k[0]}: {k[1]} -> {k[2]} ({found[k]})" for k in [*server, *undeclared, *other]]
    detail += [f"error: {e}" for e in errors]
    logged = server_errors_logged(world.node) - logged_before
    held = not server and not undeclared and not errors and logged == 0
    return held, (f"{cases:,} cases ({max_examples} examples per operation, all phases and "
                  f"checks): 5xx {len(server)} distinct ({logged} answers in the server's "
                  f"log), undeclared status codes {len(undeclared)}, "
                  f"other failed checks {len(other)}, errors {len(errors)}"), detail


def replay_fuzz_api(max_examples: int, pg_server: str) -> tuple[bool, str, list[str]]:
    """``bench/fuzz_api.py``'s ``run()`` (schemathesis in-process on a scratch node with the
    sample organisation, PostgreSQL), in a process of its own."""
    code = ("import json, sys; sys.path.insert(0, 'bench'); import fuzz_api; "
            f"print('RESULT ' + json.dumps(fuzz_api.run({max_examples}, seed=1, "
            f"pg={pg_server!r})))")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SARABAN_") and k != "DATABASE_URL"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1200, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), "")
    if not line:
        return False, f"exit {done.returncode}: {(done.stderr or done.stdout)[-400:]}", []
    summary = json.loads(line.removeprefix("RESULT "))
    by_check = summary.get("by_check", {})
    undeclared = int(by_check.get("status_code_conformance", 0))
    held = summary["server_errors"] == 0 and undeclared == 0 and summary.get("errors", 0) == 0
    checks = f" {by_check}" if by_check else ""
    return held, (f"{summary['cases']:,} cases ({max_examples} examples per operation): 5xx "
                  f"{summary['server_errors']}, undeclared status codes {undeclared}, all "
                  f"failed checks {summary['failures']}{checks}, errors "
                  f"{summary.get('errors', 0)}"), []


# --- main -----------------------------------------------------------------------------------


@contextlib.contextmanager
def node_running(root: Path, keep: bool) -> Iterator[Node]:
    node = Node(name="attack", root=root / "node", db="postgres", web_workers=2)
    try:
        yield node
    finally:
        node.close(remove=not keep)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=5,
                        help="schemathesis examples per operation (default 5)")
    parser.add_argument("--keep", action="store_true", help="keep the node's files")
    args = parser.parse_args()
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="saraban-attack-"))
    try:
        with node_running(root, args.keep) as node:
            say(f"setting up the node (PostgreSQL database {node._pg_name})")
            world = set_up(node)
            attempt("1", "secrets: a node without SARABAN_SECRET_KEY / "
                    "SARABAN_KEY_ENCRYPTION_KEYS outside demo mode",
                    lambda: replay_refuses_without_secrets(node))
            node.start_web()
            say(f"web server on {node.url}; loading letters through the API")
            forced, code = api_sign_in(node, world.clerk)
            record("6e", "logins: the API holds an onboarded person's token to the password "
                   "change", forced, f"first API call answered {code or 'without refusal'}; "
                   "changed through POST /api/v1/auth/password")
            load_letters(world)
            replay_logins(world)
            replay_access(world)
            attempt("4a", "slow clients: 50 stalled connections (Content-Length: 1000, one "
                    "byte)", lambda: replay_slow_clients(node))
            attempt("4b", "large bodies refused from their headers, nothing written",
                    lambda: replay_large_bodies(world))
            try:
                replay_server_errors(world)
            except Exception as exc:
                record("8a", "server errors: hand-made requests", False,
                       f"replay failed: {type(exc).__name__}: {exc}"[:400])
            attempt("5", "bomb through the OCR intake of the running node (2 GiB PDF)",
                    lambda: replay_ocr_intake_bomb(world))
            say("bombs through bench/bombs.py")
            replay_bombs()
            attempt("2", "a plain pg_dump + the published defaults (SECRET_KEY default, demo "
                    "KEK, legacy derivations)", lambda: replay_database_dump(node))
            say("schemathesis against the running node")
            attempt("8b", "server errors under schemathesis (live node's OpenAPI document)",
                    lambda: replay_schemathesis(world, args.examples))
            if (ROOT / "bench" / "fuzz_api.py").exists():
                say("schemathesis in-process (bench/fuzz_api.py)")
                attempt("8d", "server errors under schemathesis in-process (bench/fuzz_api.py, "
                        "sample organisation, PostgreSQL)",
                        lambda: replay_fuzz_api(args.examples, node.pg_server))
            logged = server_errors_logged(node)
            record("8c", "server errors: 5xx answers in the node's log over the whole replay",
                   logged == 0, f"{logged} (the access log of saraban serve)",
                   [ln[:200] for ln in (node.root / "web.log").read_text(errors="replace")
                    .splitlines() if re.search(r'HTTP/1\.[01]" 5\d\d', ln)][:8])
            say("damaging the audit chain (last)")
            try:
                replay_audit(node)
            except Exception as exc:
                record("3", "audit chain replays", False,
                       f"replay failed: {type(exc).__name__}: {exc}"[:400])
    except Exception as exc:
        record("0", "the attack could not be set up", False, f"{type(exc).__name__}: {exc}"[:600])
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            say(f"kept {root}")
    order = {n: i for i, n in enumerate(["0", "1", "2", "3", "3a", "3b", "3c", "4a", "4b", "5",
                                         "6a", "6b", "6c", "6d", "6e", "7a", "7b", "8a", "8b",
                                         "8c", "8d"])}
    print(f"# Saraban attack replay (issue 11), {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
          f"{time.monotonic() - started:.0f} s")
    for found in sorted(FINDINGS, key=lambda f: order.get(f.number, 99)):
        print(found.line())
    failed = [f for f in FINDINGS if not f.held]
    print(f"# {len(FINDINGS) - len(failed)} held, {len(failed)} NOT HELD")
    for found in failed:
        for d in found.detail:
            print(f"#   {found.number}: {d}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
