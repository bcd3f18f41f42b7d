"""Where an agency's exchange key lives, and signing with it: sealed in the database or on
a PKCS#11 token or HSM.

A sealed key (``CredentialKind.SEALED``) is opened under the node's key-encryption key
(``crypto.load_key``). A token key (``CredentialKind.PKCS11``) never leaves the token: the
message's SHA-256 digest is signed there with ``CKM_ECDSA`` (the mechanism every token with
P-256 keys offers) and the token's raw ``r ‖ s`` answer is turned into the DER form that
``crypto.verify`` (and every receiver) checks. The token's PIN is stored sealed under its own
purpose, so ``saraban keys rotate`` re-seals it with the other secrets.

>>> sign(credential, {"a": 1})          # doctest: +SKIP
'MEUCIQ…'
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from saraban.core import keys
from saraban.core.errors import Conflict, ValidationFailed

from . import crypto
from .models import CredentialKind

if TYPE_CHECKING:
    import pkcs11
    from pkcs11.types import SignMixin

    from .models import AgencyCredential

__all__ = ["PIN_PURPOSE", "TokenKey", "open_pin", "seal_pin", "sign", "token_certificate"]

# What a token PIN is sealed for (bound into the seal as associated data).
PIN_PURPOSE = "exchange-token-pin"
_P256_HALF = 32


@dataclass(frozen=True, slots=True)
class TokenKey:
    """Where an exchange key lives on a PKCS#11 token, and the PIN that opens it."""

    module: str
    token_label: str
    key_label: str
    pin: str


def seal_pin(pin: str) -> str:
    return keys.seal(pin.encode(), purpose=PIN_PURPOSE)


def open_pin(stored: str) -> str:
    return keys.unseal(stored, purpose=PIN_PURPOSE).decode()


def _session(module: str, token_label: str, pin: str) -> pkcs11.Session:
    import pkcs11
    from pkcs11 import exceptions as p11

    try:
        lib = pkcs11.lib(module)
    except (RuntimeError, OSError, p11.PKCS11Error) as exc:
        raise Conflict("โหลดโมดูล PKCS#11 ไม่ได้", code="token_missing",
                       details={"module": module}) from exc
    try:
        token = lib.get_token(token_label=token_label)
    except (p11.NoSuchToken, p11.MultipleTokensReturned) as exc:
        raise Conflict("ไม่พบอุปกรณ์เก็บกุญแจ (token) ที่กำหนด", code="token_missing",
                       details={"token": token_label}) from exc
    try:
        return token.open(user_pin=pin)
    except (p11.PinIncorrect, p11.PinLenRange, p11.PinInvalid) as exc:
        raise ValidationFailed("PIN ของอุปกรณ์เก็บกุญแจไม่ถูกต้อง", code="token_pin_wrong",
                               field="pin") from exc
    except p11.PinLocked as exc:
        raise Conflict("อุปกรณ์ถูกล็อกเพราะกรอก PIN ผิดหลายครั้ง", code="token_locked") from exc


def _token_sign(session: pkcs11.Session, key_label: str, data: bytes) -> bytes:
    """DER ECDSA signature over SHA-256(``data``) by the token's key ``key_label``."""
    from pkcs11 import KeyType, Mechanism, ObjectClass
    from pkcs11 import exceptions as p11

    try:
        key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, key_type=KeyType.EC,
                              label=key_label)
    except (p11.NoSuchKey, p11.MultipleObjectsReturned) as exc:
        raise Conflict("ไม่พบกุญแจ EC (P-256) ชื่อนี้ในอุปกรณ์", code="key_missing",
                       details={"key": key_label}) from exc
    signer = cast("SignMixin", key)  # a private key object with CKA_SIGN
    raw = bytes(signer.sign(hashlib.sha256(data).digest(), mechanism=Mechanism.ECDSA))
    if len(raw) != 2 * _P256_HALF:
        raise Conflict("กุญแจในอุปกรณ์ไม่ใช่ ECDSA P-256", code="token_key_not_p256")
    r = int.from_bytes(raw[:_P256_HALF], "big")
    s = int.from_bytes(raw[_P256_HALF:], "big")
    return encode_dss_signature(r, s)


def sign(credential: AgencyCredential, obj: Any) -> str:
    """The agency's signature over ``obj`` (base64 of DER ECDSA), however its key is kept."""
    if credential.kind != CredentialKind.PKCS11:
        return crypto.sign(credential.private_key_pem, obj)
    session = _session(credential.pkcs11_module, credential.pkcs11_token_label,
                       open_pin(credential.pkcs11_pin_sealed))
    try:
        der = _token_sign(session, credential.pkcs11_key_label, crypto.canonical(obj))
    finally:
        session.close()
    return base64.b64encode(der).decode()


def token_certificate(token: TokenKey, certificate_pem: str | None = None) -> str:
    """The certificate of a token key, checked to belong to it: the one given, else the
    certificate object stored on the token under the key's label. The token signs a fresh
    challenge that must verify with the certificate's key (P-256), so a certificate of
    another key is refused (``token_certificate_mismatch``) before anything is stored."""
    from pkcs11 import Attribute, ObjectClass
    from pkcs11 import exceptions as p11

    session = _session(token.module, token.token_label, token.pin)
    try:
        if certificate_pem is None:
            try:
                # Read the search to its end: an open search blocks the next operation.
                objects = list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE,
                                                    Attribute.LABEL: token.key_label}))
                found = objects[0] if objects else None
            except p11.PKCS11Error as exc:
                raise Conflict("อ่านใบรับรองในอุปกรณ์ไม่ได้", code="token_certificate_missing") \
                    from exc
            if found is None:
                raise ValidationFailed(
                    "ไม่พบใบรับรองของกุญแจนี้ในอุปกรณ์ กรุณาระบุไฟล์ใบรับรอง",
                    code="token_certificate_missing", field="certificate")
            der = bytes(found[Attribute.VALUE])
            certificate_pem = x509.load_der_x509_certificate(der).public_bytes(
                serialization.Encoding.PEM).decode()
        try:
            cert = crypto.load_certificate(certificate_pem)
        except ValueError as exc:
            raise ValidationFailed("อ่านใบรับรองไม่ได้", code="bad_certificate",
                                   field="certificate") from exc
        public = cert.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
            raise ValidationFailed("ใบรับรองรับส่งหนังสือต้องเป็นกุญแจ ECDSA P-256",
                                   code="token_key_not_p256", field="certificate")
        challenge = {"challenge": secrets.token_hex(16)}
        der_sig = _token_sign(session, token.key_label, crypto.canonical(challenge))
    finally:
        session.close()
    if not crypto.verify(certificate_pem, challenge, base64.b64encode(der_sig).decode()):
        raise ValidationFailed("ใบรับรองไม่ตรงกับกุญแจในอุปกรณ์ (หรือไม่อยู่ในช่วงที่ใช้ได้)",
                               code="token_certificate_mismatch", field="certificate")
    return certificate_pem
