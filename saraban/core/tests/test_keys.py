"""Key-encryption keys: sealed secrets, rotation, and a node that will not start without them.

The attacker here holds a copy of the database and everything published (the source, its
default settings, the demo key), but not the node's environment.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from saraban.agencies.actors import Actor
from saraban.core import keys
from saraban.core.audit import audit_verify
from saraban.core.models import AuditChain, AuditEvent
from saraban.exchange import crypto
from saraban.exchange.models import AgencyCredential
from saraban.signatures.models import SigningIdentity
from saraban.signatures.services import identity_add_pkcs12

OLD = keys.generate_key("old")
NEW = keys.generate_key("new")


def test_a_sealed_value_opens_only_for_its_purpose_and_under_its_key():
    ring = keys.parse_keys(OLD)
    token = keys.seal(b"secret", purpose="exchange-key", keys=ring)
    assert keys.unseal(token, purpose="exchange-key", keys=ring) == b"secret"
    assert keys.key_id_of(token) == "old"
    with pytest.raises(keys.KeyUnavailable):
        keys.unseal(token, purpose="signing-identity", keys=ring)
    with pytest.raises(keys.KeyUnavailable):
        keys.unseal(token, purpose="exchange-key", keys=keys.parse_keys(NEW))
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    with pytest.raises(keys.KeyUnavailable):
        keys.unseal(flipped, purpose="exchange-key", keys=ring)


@pytest.mark.parametrize("bad", ["nokey", "a:b", "a:" + base64.b64encode(b"short").decode(),
                                 "bad id:" + base64.b64encode(bytes(32)).decode(),
                                 f"{OLD},{OLD}"])
def test_malformed_key_settings_are_refused_with_what_is_wrong(bad):
    with pytest.raises(ImproperlyConfigured, match="SARABAN_KEY_ENCRYPTION_KEYS"):
        keys.parse_keys(bad)


def test_keys_parse_from_a_file_like_list_with_comments_and_urlsafe_base64():
    raw = bytes(range(32))
    text = f"# rotated 2026-12\nnew:{base64.urlsafe_b64encode(raw).decode()}\n{OLD}\n"
    parsed = keys.parse_keys(text)
    assert [kid for kid, _ in parsed] == ["new", "old"] and parsed[0][1] == raw


def _published_guesses() -> list[bytes]:
    """Every key an attacker can derive from what is published."""
    published = [keys.PUBLISHED_SECRET_KEY, ""]
    guesses = [hashlib.sha256(b"saraban-published-demo-key-encryption-key").digest()]
    for secret in published:
        guesses.append(hashlib.sha256(b"saraban-signing-identity:" + secret.encode()).digest())
        guesses.append(hashlib.sha256(b"saraban-agency-key:" + secret.encode()).digest())
    return guesses


def _try_open(value: bytes) -> bool:
    """Can ``value`` be opened with any published guess, by any scheme Saraban ever used?"""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    text = value.decode("ascii", "replace")
    for guess in _published_guesses():
        if text.startswith("kek1."):
            raw = base64.urlsafe_b64decode(text.split(".")[2] + "==")
            for purpose in ("exchange-key", "signing-identity", ""):
                try:
                    AESGCM(guess).decrypt(raw[:12], raw[12:], purpose.encode())
                    return True
                except Exception:
                    continue
        try:
            Fernet(base64.urlsafe_b64encode(guess)).decrypt(value)
            return True
        except Exception:
            pass
        for password in (guess, hashlib.sha256(guess).hexdigest().encode(), None):
            try:
                serialization.load_pem_private_key(value, password=password)
                return True
            except Exception:
                continue
    return False


@pytest.fixture
def seal_identity(org, pki):
    """The agency seal, with its passphrase stored so the system can apply it."""
    p12 = pki.pkcs12(pki.issue_seal("กระทรวงมหาดไทย"), "seal-pass")
    return identity_add_pkcs12(
        actor=Actor(org.admin), tenant=org.ministry, person=None, p12=p12,
        passphrase="seal-pass", store_secret=True, label="ตรากระทรวง",
    )


def test_a_database_copy_and_the_published_defaults_reveal_no_key(org, seal_identity):
    stored: list[bytes] = []
    for credential in AgencyCredential.objects.all():
        stored.append(credential.private_key_pem.encode())
    for identity in SigningIdentity.objects.all():
        stored += [bytes(v) for v in (identity.p12_encrypted, identity.secret_encrypted) if v]
    stored += [c.key_sealed.encode() for c in AuditChain.objects.all()]
    assert len(stored) >= 3 + 2 + 1
    for value in stored:
        assert b"PRIVATE KEY" not in value and b"seal-pass" not in value
        assert not _try_open(value)


def run_keys(*args: str) -> str:
    out = io.StringIO()
    call_command("keys", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_rotation_reseals_everything_under_the_new_key_audited(org, seal_identity, settings):
    from saraban.signatures._secrets import open_bytes

    # The fixtures sealed under the test key: move everything under "old" first.
    settings.SARABAN_KEY_ENCRYPTION_KEYS = f"{OLD},{settings.SARABAN_KEY_ENCRYPTION_KEYS}"
    run_keys("rotate")
    settings.SARABAN_KEY_ENCRYPTION_KEYS = OLD
    status = run_keys("status")
    assert "0 values under older keys" in status and "current key: old" in status
    before = AuditEvent.objects.filter(action="keys_rotate").count()

    settings.SARABAN_KEY_ENCRYPTION_KEYS = f"{NEW},{OLD}"
    out = run_keys("rotate")
    credentials = AgencyCredential.objects.count()
    assert f"re-sealed {credentials + 2 + AuditChain.objects.count()} values under new" in out
    assert AuditEvent.objects.filter(action="keys_rotate").count() - before == (
        credentials + 2 + AuditChain.objects.count())

    settings.SARABAN_KEY_ENCRYPTION_KEYS = NEW  # the old key is gone from the node
    crypto.load_key.cache_clear()
    for credential in AgencyCredential.objects.all():
        assert keys.key_id_of(credential.private_key_pem) == "new"
        assert crypto.verify(credential.certificate_pem, {"x": 1},
                             crypto.sign(credential.private_key_pem, {"x": 1}))
    identity = SigningIdentity.objects.get(pk=seal_identity.pk)
    assert identity.secret_encrypted is not None
    assert open_bytes(identity.secret_encrypted) == b"seal-pass"
    assert all(problem is None for _a, _n, problem in audit_verify())
    assert "0 values under older keys" in run_keys("status")


def test_rotation_converts_values_from_before_key_encryption_keys(org, settings):
    credential = AgencyCredential.objects.get(agency=org.province)
    key = crypto.load_key(credential.private_key_pem)
    legacy = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(crypto._legacy_passphrase()),
    ).decode()
    AgencyCredential.objects.filter(pk=credential.pk).update(private_key_pem=legacy)
    assert "under legacy" in run_keys("status")
    run_keys("rotate")
    credential.refresh_from_db()
    assert keys.key_id_of(credential.private_key_pem) == "test1"
    assert crypto.load_key(credential.private_key_pem).private_numbers() == key.private_numbers()


def test_rotation_names_a_value_no_key_opens_and_fails(org, settings):
    credential = AgencyCredential.objects.get(agency=org.province)
    foreign = keys.seal(b"x", purpose=crypto.KEY_PURPOSE, keys=keys.parse_keys(OLD))
    AgencyCredential.objects.filter(pk=credential.pk).update(private_key_pem=foreign)
    with pytest.raises(CommandError, match="1 values could not be opened"):
        run_keys("rotate")


def test_keys_generate_prints_usable_settings():
    entry = run_keys("generate", "--id", "k2027").strip()
    assert keys.parse_keys(entry)[0][0] == "k2027"
    assert len(run_keys("generate", "--secret-key").strip()) >= 60


# --- A node refuses to start without its secrets ---------------------------------------------

def test_require_node_secrets(settings):
    settings.DEMO = False
    settings.SECRET_KEY = keys.PUBLISHED_SECRET_KEY
    with pytest.raises(ImproperlyConfigured, match="SARABAN_SECRET_KEY is not set"):
        keys.require_node_secrets()
    settings.SECRET_KEY = "x" * 20
    with pytest.raises(ImproperlyConfigured, match="shorter than 32"):
        keys.require_node_secrets()
    settings.SECRET_KEY = "x" * 50
    keys.require_node_secrets()  # the test key-encryption keys are set
    settings.SARABAN_KEY_ENCRYPTION_KEYS = ""
    with pytest.raises(ImproperlyConfigured, match="SARABAN_KEY_ENCRYPTION_KEYS"):
        keys.require_node_secrets()
    demo = base64.b64encode(hashlib.sha256(
        b"saraban-published-demo-key-encryption-key").digest()).decode()
    settings.SARABAN_KEY_ENCRYPTION_KEYS = f"d:{demo}"
    with pytest.raises(ImproperlyConfigured, match="published demo key"):
        keys.require_node_secrets()
    settings.DEMO = True
    settings.SARABAN_KEY_ENCRYPTION_KEYS = ""
    keys.require_node_secrets()  # a demo node runs on the published keys
    assert keys.node_keys()[0][0] == keys.DEMO_KEY_ID


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["worker", "--batch"]])
def test_the_node_refuses_to_start_without_its_secrets(command, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SARABAN_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
               SARABAN_VAR_DIR=str(tmp_path / "var"), PYTHONWARNINGS="ignore")
    done = subprocess.run(
        [sys.executable, "-c", "from saraban.cli import main; main()", *command], env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode != 0
    assert "refuses to start outside demo mode" in done.stderr
    assert "SARABAN_SECRET_KEY is not set" in done.stderr
    assert "SARABAN_KEY_ENCRYPTION_KEYS" in done.stderr


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_pg_dump_with_the_published_defaults_reveals_no_key(org, seal_identity):
    """What an attacker holding a plain ``pg_dump`` of the node has: no key opens."""
    import re

    from django.db import connection

    db = connection.settings_dict
    env = {**os.environ, "PGHOST": db["HOST"] or "127.0.0.1", "PGPORT": str(db["PORT"] or 5432),
           "PGUSER": db["USER"], "PGPASSWORD": db["PASSWORD"] or ""}
    dump = subprocess.run(
        ["pg_dump", "--data-only", "--format=plain", "--inserts", db["NAME"]],
        env=env, capture_output=True, check=True, timeout=300,
    ).stdout
    assert b"PRIVATE KEY" not in dump and b"seal-pass" not in dump
    binary = [bytes.fromhex(h.decode()) for h in re.findall(rb"'\\x([0-9a-f]+)'", dump)]
    assert not any(b"PRIVATE KEY" in b or b"seal-pass" in b for b in binary)
    found = rb"kek1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"
    tokens = set(re.findall(found, dump)) | {t for b in binary for t in re.findall(found, b)}
    chains = AuditChain.objects.count()
    assert len(tokens) == AgencyCredential.objects.count() + chains + 2  # + the seal's two
    assert not any(_try_open(token) for token in tokens)
