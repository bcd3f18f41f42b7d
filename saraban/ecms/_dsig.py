"""XML-DSig on the letter (ecms.md §6), with signxml.

What is signed: ``ram:CorrespondenceLetter`` (plain attribute ``ID="Letter"``, registered as
the ID attribute), by a ``ds:Reference URI="#Letter"`` without ``ds:Transforms`` (the
signature is a sibling of the letter, inside ``ram:GovernmentSignature`` after ``TypeCode``
and ``SignerParty``, so no enveloped-signature transform applies; the referenced node-set
is canonicalised with inclusive Canonical XML 1.0 without comments, as XML-DSig prescribes
when no transform is listed). SignedInfo is canonicalised with inclusive C14N 1.0 too;
``ecdsa-sha256`` for EC keys, ``rsa-sha256`` for RSA keys, digest SHA-256; ``ds:KeyInfo``
carries ``ds:X509Data`` with ``X509SubjectName`` and ``X509Certificate``.

**Context.** Inclusive C14N copies every in-scope namespace declaration onto the letter, so
a digest depends on the document around it. The agreed context is the
``rsm:GovernmentDocument`` as a standalone document (``Message.document_xml``: it declares
``ram`` and ``rsm`` and nothing else). The verifier checks that document; if that fails it
also tries the letter where it arrived (inside the received envelope), for signers that
signed in place. Verification accepts the old draft's algorithms too (rsa-sha1, sha1, C14N
with comments for SignedInfo) and a bare ``KeyValue`` (then at best UNTRUSTED).

Verdict: VALID when digest and signature check and the embedded certificate is one of the
trusted certificates or directly issued by one; UNTRUSTED when they check but it is not;
INVALID when they do not (or the signature cannot be read); ABSENT without ``ds:Signature``.
A signature never makes parsing fail.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree  # type: ignore[import-untyped]
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

from ._errors import EcmsRefused
from ._model import SignatureVerdict
from ._xml import DS, RAM, qn

C14N_10 = CanonicalizationMethod.CANONICAL_XML_1_0
LETTER_ID = "Letter"

_VERIFY_CONFIG = SignatureConfiguration(
    require_x509=True,
    location=".//",
    expect_references=1,
    signature_methods=frozenset(SignatureMethod),
    digest_algorithms=frozenset(DigestAlgorithm),
    default_reference_c14n_method=C14N_10,
    ignore_ambiguous_key_info=True,
)
_VERIFY_KEYVALUE_CONFIG = SignatureConfiguration(
    require_x509=False,
    location=".//",
    expect_references=1,
    signature_methods=frozenset(SignatureMethod),
    digest_algorithms=frozenset(DigestAlgorithm),
    default_reference_c14n_method=C14N_10,
)


def _parser() -> etree.XMLParser:
    """signxml re-parses what it signs and verifies; its default parser refuses a text node
    over 10 MB (a scanned letter's base64). Ours has no DTDs (the input is already checked)
    and no such limit."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True
    )


def _verifier() -> XMLVerifier:
    verifier = XMLVerifier()
    verifier._parser = _parser()
    return verifier


def _drop_transforms(sig_root: etree._Element, signing_settings: object) -> None:
    """signxml always writes ``ds:Transforms``; the e-CMS draft has none. Runs before
    SignedInfo is canonicalised, so the signature covers the SignedInfo without it."""
    for transforms in sig_root.iter(qn(DS, "Transforms")):
        parent = transforms.getparent()
        if parent is not None:
            parent.remove(transforms)


def sign_document(document: etree._Element, key_pem: bytes | str, cert_pem: bytes | str) -> (
    etree._Element
):
    """Sign the letter of a standalone ``rsm:GovernmentDocument``; returns the signed tree
    (a new one) with ``ds:Signature`` appended to ``ram:GovernmentSignature`` (created when
    missing)."""
    key_bytes = key_pem.encode() if isinstance(key_pem, str) else key_pem
    cert_bytes = cert_pem.encode() if isinstance(cert_pem, str) else cert_pem
    try:
        key = serialization.load_pem_private_key(key_bytes, password=None)
        cert = x509.load_pem_x509_certificate(cert_bytes)
    except ValueError as exc:
        raise EcmsRefused("bad_value", f"cannot read the signing key/certificate: {exc}") from None
    if isinstance(key, ec.EllipticCurvePrivateKey):
        method = SignatureMethod.ECDSA_SHA256
    elif isinstance(key, rsa.RSAPrivateKey):
        method = SignatureMethod.RSA_SHA256
    else:
        raise EcmsRefused("bad_value", "the signing key is neither EC nor RSA")
    gov_sig = document.find(qn(RAM, "GovernmentSignature"))
    if gov_sig is None:
        gov_sig = etree.SubElement(document, qn(RAM, "GovernmentSignature"))
    placeholder = etree.SubElement(gov_sig, qn(DS, "Signature"), nsmap={"ds": DS})
    placeholder.set("Id", "placeholder")

    key_info = etree.Element(qn(DS, "KeyInfo"), nsmap={"ds": DS})
    x509_data = etree.SubElement(key_info, qn(DS, "X509Data"))
    etree.SubElement(x509_data, qn(DS, "X509SubjectName")).text = cert.subject.rfc4514_string()
    etree.SubElement(x509_data, qn(DS, "X509Certificate")).text = base64.b64encode(
        cert.public_bytes(serialization.Encoding.DER)
    ).decode()

    signer = XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=method,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=C14N_10,
    )
    signer.signature_annotators.append(_drop_transforms)
    signer._parser = _parser()
    signed: etree._Element = signer.sign(
        document,
        key=key,
        reference_uri=f"#{LETTER_ID}",
        id_attribute="ID",
        key_info=key_info,
    )
    # Undo the placeholder in the caller's tree (signxml signed a copy).
    gov_sig.remove(placeholder)
    return signed


def _load_certs(pems: Sequence[str | bytes]) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for pem in pems:
        raw = pem.encode() if isinstance(pem, str) else pem
        try:
            certs.extend(x509.load_pem_x509_certificates(raw))
        except ValueError:
            continue
    return certs


def _trusted(cert: x509.Certificate, trust: Sequence[str | bytes]) -> bool:
    der = cert.public_bytes(serialization.Encoding.DER)
    for anchor in _load_certs(trust):
        if anchor.public_bytes(serialization.Encoding.DER) == der:
            return True
        try:
            cert.verify_directly_issued_by(anchor)
        except (ValueError, TypeError, Exception):  # noqa: S112 (not issued by it)
            continue
        return True
    return False


def embedded_certificate(signature: etree._Element) -> x509.Certificate | None:
    """The first ``ds:X509Certificate`` of a ``ds:Signature`` (None if absent/unreadable)."""
    for el in signature.iter(qn(DS, "X509Certificate")):
        text = "".join((el.text or "").split())
        try:
            return x509.load_der_x509_certificate(base64.b64decode(text, validate=True))
        except (ValueError, TypeError):
            return None
    return None


def _covers_the_letter(document: etree._Element, signature: etree._Element) -> str:
    """'' when the signature's only reference is ``#Letter`` and ``Letter`` names exactly the
    one ``ram:CorrespondenceLetter`` the parser reads (no signature wrapping), else why not."""
    refs = list(signature.iter(qn(DS, "Reference")))
    if len(refs) != 1 or refs[0].get("URI") != f"#{LETTER_ID}":
        return "the signature does not reference #Letter alone"
    letters = list(document.iter(qn(RAM, "CorrespondenceLetter")))
    named = [
        el
        for el in document.iter()
        if isinstance(el.tag, str)
        and any(etree.QName(k).localname == "ID" and v == LETTER_ID for k, v in el.attrib.items())
    ]
    if len(letters) != 1 or named != letters:
        return "ID=\"Letter\" does not name the one CorrespondenceLetter"
    return ""


def _verify_one(
    root: etree._Element, cert: x509.Certificate | None
) -> str:
    """'' when the signature checks in this tree, else why not."""
    try:
        if cert is not None:
            XMLVerifier().verify(
                root,
                x509_cert=cert,
                id_attribute="ID",
                expect_config=_VERIFY_CONFIG,
                parser=_parser(),
            )
        else:
            XMLVerifier().verify(
                root, id_attribute="ID", expect_config=_VERIFY_KEYVALUE_CONFIG, parser=_parser()
            )
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def verify_document(
    document: etree._Element,
    trust: Sequence[str | bytes] = (),
    *,
    in_place: etree._Element | None = None,
) -> tuple[SignatureVerdict, str, str]:
    """Verdict on the signature of a standalone GovernmentDocument tree: ``(verdict,
    signer certificate PEM, detail)``. ``in_place`` is the envelope the document arrived in,
    tried when the standalone document does not verify."""
    signatures = list(document.iter(qn(DS, "Signature")))
    if not signatures:
        return SignatureVerdict.ABSENT, "", ""
    if len(signatures) > 1:
        return SignatureVerdict.INVALID, "", "more than one ds:Signature"
    cert = embedded_certificate(signatures[0])
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode() if cert is not None else ""
    covered = _covers_the_letter(document, signatures[0])
    if covered:
        return SignatureVerdict.INVALID, cert_pem, covered
    detail = _verify_one(document, cert)
    if detail and in_place is not None and not _verify_one(in_place, cert):
        detail = ""
    if detail:
        return SignatureVerdict.INVALID, cert_pem, detail
    if cert is None:
        return SignatureVerdict.UNTRUSTED, "", "signed with a bare key value, no certificate"
    if _trusted(cert, trust):
        return SignatureVerdict.VALID, cert_pem, ""
    return SignatureVerdict.UNTRUSTED, cert_pem, "the certificate is not among the trusted ones"
