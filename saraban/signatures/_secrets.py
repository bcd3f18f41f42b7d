"""Sealing what a signing identity keeps at rest: PKCS#12 files and stored secrets.

They are sealed under the node's key-encryption key (``saraban.core.keys``), which lives
outside the database. Values stored before key-encryption keys existed (Fernet under a key
derived from ``SECRET_KEY``) are still read, so that ``saraban keys rotate`` can re-seal them.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from saraban.core import keys
from saraban.core.errors import Conflict

__all__ = ["IDENTITY_PURPOSE", "open_bytes", "seal_bytes"]

IDENTITY_PURPOSE = "signing-identity"
_UNREADABLE = "อ่านกุญแจที่เก็บไว้ไม่ได้ (กุญแจเข้ารหัสของระบบไม่ตรง) กรุณานำเข้าใบรับรองใหม่"


def _legacy_fernet() -> Fernet:
    secret = str(getattr(settings, "SARABAN_KEY_PASSPHRASE", "") or settings.SECRET_KEY)
    key = hashlib.sha256(b"saraban-signing-identity:" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal_bytes(data: bytes) -> bytes:
    """``data`` sealed for storage under the node's key-encryption key."""
    return keys.seal(data, purpose=IDENTITY_PURPOSE).encode()


def open_bytes(token: bytes | memoryview) -> bytes:
    """The bytes ``seal_bytes`` stored; ``Conflict`` if the node's keys cannot open them."""
    raw = bytes(token)
    try:
        if keys.is_sealed(raw):
            return keys.unseal(raw, purpose=IDENTITY_PURPOSE)
        return _legacy_fernet().decrypt(raw)
    except (keys.KeyUnavailable, InvalidToken) as exc:
        raise Conflict(_UNREADABLE, code="identity_unreadable") from exc
