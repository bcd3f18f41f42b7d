"""Turning a ``SigningIdentity`` and its secret into a pyHanko signer."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pkcs11
from asn1crypto import keys as asn1_keys  # type: ignore[import-untyped]
from asn1crypto import pem
from asn1crypto import pkcs12 as asn1_pkcs12
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.sign.signers import Signer, SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from saraban.core.errors import Conflict, ValidationFailed

from ._secrets import open_bytes
from .models import IdentityKind

if TYPE_CHECKING:
    from .models import SigningIdentity

SECRET_REQUIRED = "กรุณากรอกรหัสผ่าน (หรือ PIN) ของใบรับรองเพื่อลงนาม"  # noqa: S105
SECRET_WRONG = "รหัสผ่าน (หรือ PIN) ของใบรับรองไม่ถูกต้อง"  # noqa: S105


def secret_for(identity: SigningIdentity, secret: str | None) -> str:
    """The passphrase or PIN to use: the one given, else the stored one."""
    if secret:
        return secret
    if identity.store_secret and identity.secret_encrypted:
        return open_bytes(identity.secret_encrypted).decode()
    raise ValidationFailed(SECRET_REQUIRED, code="signing_secret_required", field="secret")


def is_pfx(data: bytes) -> bool:
    """Whether ``data`` is structurally a PKCS#12 file (before any passphrase is tried)."""
    try:
        pfx = asn1_pkcs12.Pfx.load(data)
        pfx["auth_safe"]["content_type"].native  # noqa: B018  (forces the parse)
    except (ValueError, TypeError, KeyError):
        return False
    return True


def load_p12(data: bytes, passphrase: str) -> pkcs12.PKCS12KeyAndCertificates:
    """The key and certificates of a PKCS#12 file; ``signing_secret_wrong`` if it won't open."""
    if not is_pfx(data):
        raise ValidationFailed(
            "ไฟล์นี้ไม่ใช่ไฟล์ใบรับรองแบบ PKCS#12 (.p12/.pfx)", code="p12_unreadable", field="file"
        )
    try:
        loaded = pkcs12.load_pkcs12(data, passphrase.encode())
    except ValueError as exc:
        raise ValidationFailed(SECRET_WRONG, code="signing_secret_wrong", field="secret") from exc
    if loaded.key is None or loaded.cert is None:
        raise ValidationFailed(
            "ไฟล์ PKCS#12 นี้ไม่มีกุญแจส่วนตัวหรือใบรับรอง", code="p12_incomplete", field="file"
        )
    return loaded


def _asn1_cert(pem_or_der: bytes) -> asn1_x509.Certificate:
    if pem_or_der.lstrip().startswith(b"-----"):
        _, _, der = pem.unarmor(pem_or_der)
        return asn1_x509.Certificate.load(der)
    return asn1_x509.Certificate.load(pem_or_der)


def chain_certs(chain_pem: str) -> list[asn1_x509.Certificate]:
    """Certificates from a PEM bundle."""
    data = chain_pem.encode()
    return [asn1_x509.Certificate.load(der) for _, _, der in pem.unarmor(data, multiple=True)]


class _LoadedKeySigner(SimpleSigner):
    """A ``SimpleSigner`` that signs with the key already opened from the PKCS#12 file.

    pyHanko's own ``sign_raw`` parses the key's DER again on every call, and cryptography
    checks an RSA key's primes each time it is loaded (about 40 ms for a 2048-bit key; a PDF
    signature makes two calls). Other mechanisms fall back to pyHanko's implementation.
    """

    def __init__(self, *, private_key: object, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        key = self._private_key
        if mechanism == "rsassa_pkcs1v15" and isinstance(key, RSAPrivateKey):
            return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if mechanism == "ecdsa" and isinstance(key, EllipticCurvePrivateKey):
            return key.sign(data, ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        return bytes(super().sign_raw(data, digest_algorithm))


@contextlib.contextmanager
def open_signer(identity: SigningIdentity, secret: str | None) -> Iterator[Signer]:
    """A pyHanko signer for ``identity``; a token session is closed on exit."""
    passphrase = secret_for(identity, secret)
    chain = chain_certs(identity.chain_pem) if identity.chain_pem else []
    if identity.kind == IdentityKind.PKCS12:
        if not identity.p12_encrypted:
            raise Conflict("ไม่พบไฟล์กุญแจของใบรับรองนี้", code="key_missing")
        loaded = load_p12(open_bytes(identity.p12_encrypted), passphrase)
        assert loaded.key is not None and loaded.cert is not None
        key_der = loaded.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        cert = _asn1_cert(loaded.cert.certificate.public_bytes(serialization.Encoding.DER))
        store = SimpleCertificateStore()  # type: ignore[no-untyped-call]
        store.register_multiple(
            [*chain, *(_asn1_cert(c.certificate.public_bytes(serialization.Encoding.DER))
                       for c in loaded.additional_certs)]
        )
        yield _LoadedKeySigner(
            private_key=loaded.key,
            signing_cert=cert,
            signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
            cert_registry=store,
        )
        return
    with _pkcs11_session(identity, passphrase) as session:
        from pyhanko.sign.pkcs11 import PKCS11Signer

        yield PKCS11Signer(
            session,
            key_label=identity.pkcs11_key_label,
            cert_label=identity.pkcs11_cert_label or identity.pkcs11_key_label,
            signing_cert=_asn1_cert(identity.certificate_pem.encode()),
            ca_chain=chain,
            other_certs_to_pull=None,
        )


@contextlib.contextmanager
def _pkcs11_session(identity: SigningIdentity, pin: str) -> Iterator[pkcs11.Session]:
    session = open_token(identity.pkcs11_module, identity.pkcs11_token_label, pin)
    try:
        yield session
    finally:
        session.close()


def open_token(module: str, token_label: str, pin: str) -> pkcs11.Session:
    """A logged-in session on the token labelled ``token_label``.

    Raises ``signing_secret_wrong`` for a wrong PIN and ``token_missing`` when the module
    cannot be loaded or no such token is present.
    """
    from pkcs11 import exceptions as p11_errors

    try:
        lib = pkcs11.lib(module)
    except (RuntimeError, OSError, p11_errors.PKCS11Error) as exc:
        raise Conflict(
            "โหลดโมดูล PKCS#11 ไม่ได้", code="token_missing", details={"module": module}
        ) from exc
    try:
        token = lib.get_token(token_label=token_label)
    except (p11_errors.NoSuchToken, p11_errors.MultipleTokensReturned) as exc:
        raise Conflict(
            "ไม่พบอุปกรณ์เก็บกุญแจ (token) ที่กำหนด กรุณาเสียบอุปกรณ์แล้วลองใหม่",
            code="token_missing", details={"token": token_label},
        ) from exc
    try:
        return token.open(user_pin=pin)
    except (p11_errors.PinIncorrect, p11_errors.PinLenRange, p11_errors.PinInvalid) as exc:
        raise ValidationFailed(SECRET_WRONG, code="signing_secret_wrong", field="secret") from exc
    except p11_errors.PinLocked as exc:
        raise Conflict("อุปกรณ์ถูกล็อกเพราะกรอก PIN ผิดหลายครั้ง", code="token_locked") from exc
