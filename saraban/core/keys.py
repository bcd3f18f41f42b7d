"""Key-encryption keys: what protects every secret the node keeps in its database.

Agency exchange keys, signing identities (PKCS#12 files and stored passphrases), seal secrets,
audit chain keys and later channel credentials are stored *sealed*: AES-256-GCM under a
key-encryption key (KEK) that lives outside the database, in ``SARABAN_KEY_ENCRYPTION_KEYS``
(or the file named by ``SARABAN_KEY_ENCRYPTION_KEYS_FILE``). A database dump alone reveals
none of them. The setting is a list ``id:base64key[,id:base64key…]``: the first key seals,
every listed key opens, so keys rotate: add a new key in front, run ``saraban keys rotate``
(re-seals everything under it, audited), then drop the old one.

A sealed value is ``kek1.<key id>.<base64url(nonce ‖ ciphertext)>``; its *purpose* (for
example ``exchange-key:12``) is bound as associated data, so a value cannot be moved to
another field or another agency and still open.

The demo (``SARABAN_DEMO=1``) without keys uses a published demo key; a real node refuses to
start without its own (``require_node_secrets``).

>>> token = seal(b"x", purpose="doctest", keys=[("k1", bytes(32))])
>>> unseal(token, purpose="doctest", keys=[("k1", bytes(32))])
b'x'
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .errors import Conflict

__all__ = [
    "DEMO_KEY_ID",
    "PUBLISHED_SECRET_KEY",
    "KeyUnavailable",
    "SealedField",
    "generate_key",
    "is_sealed",
    "key_id_of",
    "node_keys",
    "parse_keys",
    "register_sealed",
    "require_node_secrets",
    "seal",
    "sealed_fields",
    "unseal",
]

PREFIX = "kek1"
DEMO_KEY_ID = "demo"
# The key the demo uses when it is given none: published, so only ever for the demo.
_DEMO_KEY = hashlib.sha256(b"saraban-published-demo-key-encryption-key").digest()
# Django's SECRET_KEY default in settings.py: published in the source, never for a real node.
PUBLISHED_SECRET_KEY = "insecure-development-key-change-me"  # noqa: S105 (the published default)
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")

Keys = Sequence[tuple[str, bytes]]


class KeyUnavailable(Conflict):
    """A sealed value that no configured key opens (wrong key, or the value was changed)."""

    default_code = "key_unavailable"


def parse_keys(text: str) -> list[tuple[str, bytes]]:
    """``id:base64key`` entries (comma, space or newline separated) as ``(id, 32 bytes)``.

    >>> parse_keys("a:" + base64.b64encode(bytes(32)).decode())[0][0]
    'a'
    """
    keys: list[tuple[str, bytes]] = []
    lines = (line.split("#", 1)[0] for line in text.splitlines())
    for entry in re.split(r"[\s,]+", " ".join(lines).strip()):
        if not entry:
            continue
        kid, sep, encoded = entry.partition(":")
        if not sep or not _KEY_ID.match(kid):
            raise ImproperlyConfigured(
                "SARABAN_KEY_ENCRYPTION_KEYS: each entry is id:base64key, the id of letters, "
                "digits, '-' or '_' (make one with `saraban keys generate`)"
            )
        try:
            standard = encoded.replace("-", "+").replace("_", "/")
            key = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ImproperlyConfigured(
                f"SARABAN_KEY_ENCRYPTION_KEYS: key {kid!r} is not base64") from exc
        if len(key) != 32:
            raise ImproperlyConfigured(
                f"SARABAN_KEY_ENCRYPTION_KEYS: key {kid!r} must be 32 bytes (256 bits)")
        if any(kid == known for known, _ in keys):
            raise ImproperlyConfigured(f"SARABAN_KEY_ENCRYPTION_KEYS: key id {kid!r} twice")
        keys.append((kid, key))
    return keys


def generate_key(kid: str | None = None) -> str:
    """A new ``id:base64key`` entry for ``SARABAN_KEY_ENCRYPTION_KEYS``."""
    import datetime as dt

    kid = kid or "k" + dt.datetime.now(tz=dt.UTC).strftime("%Y%m%d%H%M%S")
    if not _KEY_ID.match(kid):
        raise ValueError("a key id is 1-32 letters, digits, '-' or '_'")
    return f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def node_keys() -> list[tuple[str, bytes]]:
    """The node's key-encryption keys, the sealing one first."""
    configured = getattr(settings, "SARABAN_KEY_ENCRYPTION_KEYS", "")
    keys = parse_keys(configured) if isinstance(configured, str) else list(configured)
    if keys:
        return keys
    if settings.DEMO:
        return [(DEMO_KEY_ID, _DEMO_KEY)]
    raise KeyUnavailable(
        "ยังไม่ได้ตั้งกุญแจเข้ารหัสของระบบ (SARABAN_KEY_ENCRYPTION_KEYS)",
        code="kek_missing",
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def is_sealed(value: str | bytes | memoryview | None) -> bool:
    """True for a value ``seal`` made (False for legacy formats and empty values)."""
    if value is None:
        return False
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, bytes):
        return value.startswith(PREFIX.encode() + b".")
    return value.startswith(PREFIX + ".")


def key_id_of(value: str | bytes | memoryview) -> str:
    """The id of the key a sealed value was sealed under."""
    text = bytes(value).decode() if not isinstance(value, str) else value
    parts = text.split(".")
    return parts[1] if len(parts) == 3 and parts[0] == PREFIX else ""


def seal(data: bytes, *, purpose: str, keys: Keys | None = None) -> str:
    """``data`` encrypted and authenticated under the node's current key, bound to ``purpose``."""
    kid, key = (keys or node_keys())[0]
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, data, purpose.encode())
    return f"{PREFIX}.{kid}.{_b64(nonce + sealed)}"


def unseal(value: str | bytes | memoryview, *, purpose: str, keys: Keys | None = None) -> bytes:
    """The bytes ``seal`` sealed for ``purpose``; ``KeyUnavailable`` if no key opens them."""
    text = bytes(value).decode("ascii", "replace") if not isinstance(value, str) else value
    parts = text.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise KeyUnavailable("ข้อมูลกุญแจที่เก็บไว้ไม่อยู่ในรูปแบบที่รู้จัก", code="key_format")
    kid, payload = parts[1], parts[2]
    for known, key in keys or node_keys():
        if known != kid:
            continue
        try:
            raw = _unb64(payload)
            return AESGCM(key).decrypt(raw[:12], raw[12:], purpose.encode())
        except (InvalidTag, ValueError, binascii.Error) as exc:
            raise KeyUnavailable(
                "เปิดกุญแจที่เก็บไว้ไม่ได้ (ข้อมูลถูกแก้ไข หรือกุญแจเข้ารหัสไม่ตรง)",
                code="key_unavailable",
            ) from exc
    raise KeyUnavailable(
        f"ไม่มีกุญแจเข้ารหัส '{kid}' ในการตั้งค่าของระบบ (SARABAN_KEY_ENCRYPTION_KEYS)",
        code="key_unavailable",
    )


def require_node_secrets() -> None:
    """Refuse to start a node outside demo mode without its own secret key and KEKs.

    Called by the entry points that start a node (``saraban serve``, ``saraban worker``, the
    WSGI/ASGI applications); raises ``ImproperlyConfigured`` with what to set.
    """
    if settings.DEMO:
        return
    problems = []
    secret = str(settings.SECRET_KEY or "")
    if not secret or secret == PUBLISHED_SECRET_KEY:
        problems.append("SARABAN_SECRET_KEY is not set")
    elif len(secret) < 32:
        problems.append("SARABAN_SECRET_KEY is shorter than 32 characters")
    configured = getattr(settings, "SARABAN_KEY_ENCRYPTION_KEYS", "")
    keys = parse_keys(configured) if isinstance(configured, str) else list(configured)
    if not keys:
        problems.append("SARABAN_KEY_ENCRYPTION_KEYS (or SARABAN_KEY_ENCRYPTION_KEYS_FILE) "
                        "is not set")
    elif any(key == _DEMO_KEY for _, key in keys):
        problems.append("SARABAN_KEY_ENCRYPTION_KEYS holds the published demo key")
    if problems:
        raise ImproperlyConfigured(
            "Saraban refuses to start outside demo mode: " + "; ".join(problems) + ". "
            "Generate keys with `saraban keys generate` (one for SARABAN_SECRET_KEY, one for "
            "SARABAN_KEY_ENCRYPTION_KEYS), keep them outside the database and its backups, "
            "or set SARABAN_DEMO=1 for a demo node. "
            "(ระบบไม่เริ่มทำงาน: ยังไม่ได้ตั้งรหัสลับและกุญแจเข้ารหัสของระบบ)"
        )


@dataclass(frozen=True, slots=True)
class SealedField:
    """A model field that holds sealed values, so that ``saraban keys rotate`` finds it.

    ``purpose`` gives a row's purpose; ``open_stored`` returns the plain bytes of a stored
    value, also of a legacy (pre-KEK) one; ``as_bytes`` says the field is a BinaryField.
    Each area registers its fields in its ``AppConfig.ready``.
    """

    model: str  # "app_label.ModelName"
    field: str
    agency_field: str  # the attribute holding the tenant agency's id, for the audit event
    purpose: Callable[[object], str]
    open_stored: Callable[[object, str | bytes], bytes]
    as_bytes: bool = False


_SEALED: dict[tuple[str, str], SealedField] = {}


def register_sealed(spec: SealedField) -> None:
    _SEALED[(spec.model, spec.field)] = spec


def sealed_fields() -> list[SealedField]:
    return list(_SEALED.values())
