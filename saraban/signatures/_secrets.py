"""Encrypting what a signing identity keeps at rest: PKCS#12 files and stored secrets.

The key is derived from the node's secret (``SARABAN_KEY_PASSPHRASE``, else ``SECRET_KEY``),
with a label of its own so it differs from the key that protects the exchange keys.
Changing the node's secret makes stored identities unreadable: they must be added again.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from saraban.core.errors import Conflict

__all__ = ["open_bytes", "seal_bytes"]


def _fernet() -> Fernet:
    secret = str(getattr(settings, "SARABAN_KEY_PASSPHRASE", "") or settings.SECRET_KEY)
    key = hashlib.sha256(b"saraban-signing-identity:" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal_bytes(data: bytes) -> bytes:
    """``data`` encrypted and authenticated for storage."""
    return _fernet().encrypt(data)


def open_bytes(token: bytes | memoryview) -> bytes:
    """The bytes ``seal_bytes`` stored; ``Conflict`` if the node's secret has changed since."""
    try:
        return _fernet().decrypt(bytes(token))
    except InvalidToken as exc:
        raise Conflict(
            "อ่านกุญแจที่เก็บไว้ไม่ได้ (รหัสลับของระบบเปลี่ยนไป) กรุณานำเข้าใบรับรองใหม่",
            code="identity_unreadable",
        ) from exc
