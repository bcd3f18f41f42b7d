"""S/MIME (RFC 5751, CMS RFC 5652): verifying the signature of an arriving mail, unwrapping
opaque signed mail, and signing outgoing mail.

Verification reads the CMS structure with asn1crypto and checks the mathematics with
cryptography: the content's digest against the signed ``message-digest`` attribute, the
signature over the signed attributes with the signer certificate's key. Without trust
anchors a correct signature is "unverified" (it proves the content is what the holder of
that certificate signed, not who the holder is); with anchors it is "valid" when the signer
chains to one of them through the certificates in the message. Certificate validity dates
and revocation are not checked here (the mail's date is the sender's claim).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Sequence
from typing import Any

from asn1crypto import cms  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from ._model import SmimeInfo

_HASHES: dict[str, tuple[str, type[hashes.HashAlgorithm]]] = {
    "sha1": ("sha1", hashes.SHA1),
    "sha224": ("sha224", hashes.SHA224),
    "sha256": ("sha256", hashes.SHA256),
    "sha384": ("sha384", hashes.SHA384),
    "sha512": ("sha512", hashes.SHA512),
}

INVALID = SmimeInfo(signed=True, signer_subject="", signer_certificate_pem="", verdict="invalid")


class _Bad(Exception):
    """The signature does not hold (internal)."""


def load_cms(der: bytes) -> cms.ContentInfo | None:
    """A CMS ContentInfo from DER (or from base64 of it), ``None`` when it is not one."""
    for data in (der, _unbase64(der)):
        if not data:
            continue
        try:
            info = cms.ContentInfo.load(data)
            _ = info["content_type"].native
            return info
        except Exception:  # noqa: S112 - asn1crypto raises many kinds on bad DER
            continue
    return None


def _unbase64(data: bytes) -> bytes:
    try:
        return base64.b64decode(re.sub(rb"[^A-Za-z0-9+/=]", b"", data), validate=False)
    except (ValueError, TypeError):
        return b""


def content_kind(info: cms.ContentInfo) -> str:
    """"signed_data", "enveloped_data", "authenticated_enveloped_data", …"""
    try:
        return str(info["content_type"].native)
    except Exception:
        return ""


def encapsulated(info: cms.ContentInfo) -> bytes | None:
    """The content a signed-data ContentInfo carries (opaque signing), ``None`` if detached."""
    try:
        content = info["content"]["encap_content_info"]["content"]
        if content.native is None:
            return None
        data = content.parsed if hasattr(content, "parsed") else content
        value = data.native if hasattr(data, "native") else None
        if isinstance(value, bytes):
            return value
        raw = content.contents
        return bytes(raw) if raw is not None else None
    except Exception:
        return None


def _cert_for(sd: Any, si: Any) -> tuple[Any, list[Any]]:
    certs = [c.chosen for c in (sd["certificates"] or []) if c.name == "certificate"]
    sid = si["sid"]
    for cert in certs:
        if sid.name == "issuer_and_serial_number":
            ias = sid.chosen
            if cert.issuer == ias["issuer"] and cert.serial_number == ias["serial_number"].native:
                return cert, certs
        elif cert.key_identifier == sid.chosen.native:
            return cert, certs
    raise _Bad("no signer certificate")


def _verify_sig(cert: x509.Certificate, si: Any, signed: bytes, algo: type[hashes.HashAlgorithm],
                ) -> None:
    signature = si["signature"].native
    key = cert.public_key()
    name = si["signature_algorithm"].signature_algo
    try:
        if isinstance(key, rsa.RSAPublicKey):
            if name == "rsassa_pss":
                pad: padding.AsymmetricPadding = padding.PSS(
                    mgf=padding.MGF1(algo()), salt_length=padding.PSS.AUTO
                )
            else:
                pad = padding.PKCS1v15()
            key.verify(signature, signed, pad, algo())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed, ec.ECDSA(algo()))
        else:
            raise UnsupportedAlgorithm("key type")
    except InvalidSignature as exc:
        raise _Bad("signature") from exc


def _chains(cert: x509.Certificate, extra: list[x509.Certificate],
            anchors: list[x509.Certificate]) -> bool:
    current = cert
    for _ in range(10):
        for anchor in anchors:
            if current.fingerprint(hashes.SHA256()) == anchor.fingerprint(hashes.SHA256()):
                return True
            try:
                current.verify_directly_issued_by(anchor)
                return True
            except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
                pass
        issuer = next(
            (c for c in extra if c.subject == current.issuer and c != current), None
        )
        if issuer is None:
            return False
        try:
            current.verify_directly_issued_by(issuer)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
            return False
        current = issuer
    return False


def verify(info: cms.ContentInfo, contents: Sequence[bytes] | None,
           trust: Sequence[str] = ()) -> tuple[SmimeInfo, str]:
    """Check a signed-data ContentInfo over one of ``contents`` (detached: the candidates
    for the signed part as on the wire and canonicalised; ``None``: the encapsulated
    content). Returns the verdict and a defect ("" when none)."""
    try:
        sd = info["content"]
        si = sd["signer_infos"][0]
        cert_asn1, certs = _cert_for(sd, si)
        cert = x509.load_der_x509_certificate(cert_asn1.dump())
        pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
        subject = cert.subject.rfc4514_string()
    except _Bad:
        return INVALID, "smime_no_signer_certificate"
    except Exception:  # hostile DER
        return INVALID, "smime_unreadable"
    unverified = SmimeInfo(True, subject, pem, "unverified")
    try:
        digest_name = si["digest_algorithm"]["algorithm"].native
        if digest_name not in _HASHES:
            return unverified, "smime_unsupported_algorithm"
        hname, algo = _HASHES[digest_name]
        if contents is None:
            inner = encapsulated(info)
            contents = [inner] if inner is not None else []
        attrs = si["signed_attrs"]
        ok = False
        for content in contents:
            digest = hashlib.new(hname, content).digest()
            try:
                if attrs.native:
                    md = next(
                        (a["values"][0].native for a in attrs if a["type"].native
                         == "message_digest"), None,
                    )
                    if md != digest:
                        raise _Bad("digest")
                    signed = b"\x31" + attrs.dump()[1:]
                else:
                    signed = content
                _verify_sig(cert, si, signed, algo)
                ok = True
                break
            except _Bad:
                continue
        if not ok:
            return SmimeInfo(True, subject, pem, "invalid"), "smime_signature_invalid"
    except UnsupportedAlgorithm:
        return unverified, "smime_unsupported_algorithm"
    except Exception:  # hostile DER inside a readable certificate
        return SmimeInfo(True, subject, pem, "invalid"), "smime_unreadable"
    anchors: list[x509.Certificate] = []
    for text in trust:
        try:
            anchors.extend(x509.load_pem_x509_certificates(text.encode("ascii")))
        except ValueError:
            continue
    if anchors:
        extra = []
        for c in certs:
            try:
                extra.append(x509.load_der_x509_certificate(c.dump()))
            except ValueError:
                continue
        if _chains(cert, extra, anchors):
            return SmimeInfo(True, subject, pem, "valid"), ""
    return unverified, ""


# --- signing -----------------------------------------------------------------------------

_SPLIT = re.compile(rb"\r?\n\r?\n")


def sign_smime(raw: bytes, *, certificate_pem: str, key_pem: str,
               chain_pem: Sequence[str] = ()) -> bytes:
    """``raw`` (a whole mail, as :func:`build_mail` makes it) signed as
    ``multipart/signed`` (detached, SHA-256). The MIME headers (``Content-*``) and the body
    move into the signed part; the other top-level headers (From, To, Subject, Message-ID…)
    stay outside, where clients read them.
    """
    m = _SPLIT.search(raw)
    head, body = (raw[: m.start()], raw[m.end():]) if m else (raw, b"")
    fields: list[bytes] = []
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\r\n" + line
        elif line:
            fields.append(line)
    outer = [f for f in fields if not f.lower().startswith((b"content-", b"mime-version:"))]
    inner = [f for f in fields if f.lower().startswith(b"content-")]
    if not inner:
        inner = [b"Content-Type: text/plain; charset=utf-8"]
    body = re.sub(rb"\r?\n", b"\r\n", body)
    part = b"\r\n".join(inner) + b"\r\n\r\n" + body
    cert = x509.load_pem_x509_certificate(certificate_pem.encode("ascii"))
    key = serialization.load_pem_private_key(key_pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("S/MIME signing needs an RSA or EC key")
    builder = pkcs7.PKCS7SignatureBuilder().set_data(part).add_signer(cert, key, hashes.SHA256())
    for text in chain_pem:
        for extra in x509.load_pem_x509_certificates(text.encode("ascii")):
            builder = builder.add_certificate(extra)
    der = builder.sign(
        serialization.Encoding.DER,
        [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
    )
    boundary = b"----=_smime_" + secrets.token_hex(12).encode("ascii")
    sig = base64.encodebytes(der).replace(b"\n", b"\r\n")
    out = [
        *outer,
        b"MIME-Version: 1.0",
        b'Content-Type: multipart/signed; protocol="application/pkcs7-signature";'
        b"\r\n micalg=sha-256; boundary=\"" + boundary + b'"',
        b"",
        b"This is a cryptographically signed message in MIME format.",
        b"",
        b"--" + boundary,
        part,
        b"--" + boundary,
        b'Content-Type: application/pkcs7-signature; name="smime.p7s"',
        b"Content-Transfer-Encoding: base64",
        b'Content-Disposition: attachment; filename="smime.p7s"',
        b"Content-Description: S/MIME Cryptographic Signature",
        b"",
        sig.rstrip(b"\r\n"),
        b"--" + boundary + b"--",
        b"",
    ]
    return b"\r\n".join(out)
