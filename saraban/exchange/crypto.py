"""Signing and verifying exchange messages with each agency's key and X.509 certificate.

Messages are signed over their canonical JSON (keys sorted, no spaces, UTF-8) with ECDSA
P-256 / SHA-256. An agency's private key is stored sealed under the node's key-encryption
key (``saraban.core.keys``), never in a form the database alone can open; the receiver
checks a signature against the certificate the directory holds for the sending agency.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings

from saraban.core import keys

# What an agency's stored key is sealed for (bound into the seal as associated data).
KEY_PURPOSE = "exchange-key"

def canonical(obj: Any) -> bytes:
    """The bytes that are signed: canonical JSON of ``obj``."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def digest(obj: Any) -> str:
    return hashlib.sha256(canonical(obj)).hexdigest()


def _legacy_passphrase() -> bytes:
    """The passphrase keys were encrypted with before key-encryption keys (derived from
    ``SECRET_KEY``): read only so that ``saraban keys rotate`` can re-seal such keys."""
    secret = str(getattr(settings, "SARABAN_KEY_PASSPHRASE", "") or settings.SECRET_KEY)
    return hashlib.sha256(b"saraban-agency-key:" + secret.encode()).hexdigest().encode()


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_to_pem(key: ec.EllipticCurvePrivateKey) -> str:
    """The key as stored: its PKCS#8 PEM sealed under the node's key-encryption key."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return keys.seal(pem, purpose=KEY_PURPOSE)


def stored_key_pem(stored: str) -> bytes:
    """The plain PEM of a stored key (sealed, or in the legacy passphrase-encrypted form)."""
    if keys.is_sealed(stored):
        return keys.unseal(stored, purpose=KEY_PURPOSE)
    try:
        key = serialization.load_pem_private_key(stored.encode(), password=_legacy_passphrase())
    except (ValueError, TypeError) as exc:
        raise keys.KeyUnavailable(
            "เปิดกุญแจเดิมของหน่วยงานไม่ได้ (รหัสลับของระบบเปลี่ยนไป)", code="key_unavailable"
        ) from exc
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@functools.lru_cache(maxsize=1024)
def load_key(stored: str) -> ec.EllipticCurvePrivateKey:
    """The private key of a stored key; ``KeyUnavailable`` when the node's keys cannot open
    it."""
    if keys.is_sealed(stored):
        key = serialization.load_pem_private_key(stored_key_pem(stored), password=None)
    else:
        key = serialization.load_pem_private_key(stored.encode(), password=_legacy_passphrase())
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("agency keys are ECDSA P-256")
    return key


@functools.lru_cache(maxsize=4096)
def load_certificate(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def certificate_for(
    key: ec.EllipticCurvePrivateKey,
    *,
    code: str,
    name: str,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
    issuer: x509.Certificate | None = None,
    days: int = 3650,
) -> x509.Certificate:
    """A certificate for an agency key: self-signed, or issued by a CA key and certificate."""
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "TH"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name[:64]),
            x509.NameAttribute(NameOID.COMMON_NAME, code[:64]),
        ]
    )
    now = dt.datetime.now(tz=dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer is not None else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
    )
    return builder.sign(issuer_key or key, hashes.SHA256())


def certificate_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def fingerprint(pem: str) -> str:
    """The SHA-256 of a certificate's DER form, in hex (how certificates are named)."""
    return load_certificate(pem).fingerprint(hashes.SHA256()).hex()


def certificate_code(pem: str) -> str:
    """The agency code a certificate was made for (its common name)."""
    names = load_certificate(pem).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def sign(key_pem: str, obj: Any) -> str:
    signature = load_key(key_pem).sign(canonical(obj), ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(signature).decode()


def verify(cert_pem: str, obj: Any, signature: str) -> bool:
    """True when ``signature`` over ``obj`` was made by the key of this certificate, and the
    certificate is within its validity period."""
    try:
        cert = load_certificate(cert_pem)
        now = dt.datetime.now(tz=dt.UTC)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            return False
        public = cert.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey):
            return False
        public.verify(base64.b64decode(signature, validate=True), canonical(obj),
                      ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
