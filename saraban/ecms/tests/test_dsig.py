"""XML-DSig on the e-CMS letter: real keys and certificates made here (EC P-256, RSA 2048)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree  # type: ignore[import-untyped]

from saraban.ecms import (
    Binary,
    Dialect,
    EcmsRefused,
    Letter,
    Party,
    SignatureVerdict,
    Signer,
    _dsig,
    government_document,
    inbound_response,
    letter_request,
    parse_message,
)
from saraban.ecms._build import government_document_tree
from saraban.ecms._xml import DS, RAM, RSM, SOAP

ALGORITHMS = {
    "ec": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "rsa": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
}


class Pki:
    cert: x509.Certificate

    def __init__(self, kind: str, name: str = "กรมทดสอบ", issuer: Pki | None = None) -> None:
        if kind == "ec":
            self.key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = ec.generate_private_key(
                ec.SECP256R1()
            )
        else:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer.cert.subject if issuer else subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
        )
        if issuer is None:
            builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        self.cert = builder.sign(issuer.key if issuer else self.key, hashes.SHA256())
        self.key_pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def pkis() -> dict[str, Pki]:
    ca = Pki("ec", "CA ทดสอบ")
    return {
        "ec": Pki("ec"),
        "rsa": Pki("rsa"),
        "other": Pki("ec", "อื่น"),
        "ca": ca,
        "leaf": Pki("rsa", "หน่วยงานใต้ CA", issuer=ca),
    }


LETTER = Letter(
    letter_id="มท 0210.3/ว 1795",
    date_text="2026-12-07",
    subject="ขอเชิญประชุม R&D <2569>",
    secret_code="001",
    speed_code="002",
    sender=Party("สมชาย", "ใจดี", "ผู้อำนวยการ", "15", "1500100000"),
    receiver=Party("", "", "", "21", "2100100000"),
    main=Binary("application/pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40),
    attachments=(Binary("image/png", b"\x89PNG\r\n\x1a\nattachment"),),
)
SIGNER = Signer("DSIG", "สมชาย", "ใจดี", "ผู้อำนวยการ", "15", "1500100000")


def sign(p: Pki, letter: Letter = LETTER) -> bytes:
    return letter_request(letter, signer=SIGNER, sign_key_pem=p.key_pem, sign_cert_pem=p.cert_pem)


@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_signed_letter_parses_back_valid(pkis, kind):
    p = pkis[kind]
    data = sign(p)
    m = parse_message(data, trust=[p.cert_pem])
    assert m.signature is SignatureVerdict.VALID, m.signature_detail
    assert m.letter == LETTER
    assert m.signer == SIGNER
    assert m.signer_certificate_pem == p.cert_pem
    # The wire form of §6.
    doc = etree.fromstring(m.document_xml)
    gov = doc.find(f"{{{RAM}}}GovernmentSignature")
    assert [etree.QName(c).localname for c in gov] == ["TypeCode", "SignerParty", "Signature"]
    sig = gov[2]
    assert sig.find(f".//{{{DS}}}Reference").get("URI") == "#Letter"
    assert sig.find(f".//{{{DS}}}Transforms") is None
    assert sig.find(f".//{{{DS}}}SignatureMethod").get("Algorithm") == ALGORITHMS[kind]
    assert sig.find(f".//{{{DS}}}CanonicalizationMethod").get("Algorithm") == (
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    )
    assert sig.find(f".//{{{DS}}}X509SubjectName").text == "CN=กรมทดสอบ"
    assert sig.find(f".//{{{DS}}}X509Certificate").text
    # Signed bytes = document_xml = what building the document again gives.
    assert m.document_xml in data


def test_untrusted_and_issued_by_a_trusted_ca(pkis):
    data = sign(pkis["ec"])
    assert parse_message(data).signature is SignatureVerdict.UNTRUSTED
    m = parse_message(data, trust=[pkis["other"].cert_pem, pkis["rsa"].cert_pem])
    assert m.signature is SignatureVerdict.UNTRUSTED
    assert m.signer_certificate_pem == pkis["ec"].cert_pem
    leaf = sign(pkis["leaf"])
    assert parse_message(leaf, trust=[pkis["ca"].cert_pem]).signature is SignatureVerdict.VALID
    assert parse_message(leaf, trust=[pkis["other"].cert_pem]).signature is (
        SignatureVerdict.UNTRUSTED
    )
    # A bundle of several certificates in one PEM string works too.
    bundle = pkis["other"].cert_pem + pkis["ca"].cert_pem
    assert parse_message(leaf, trust=[bundle]).signature is SignatureVerdict.VALID


def test_tampered_letter_is_invalid_not_refused(pkis):
    p = pkis["ec"]
    data = sign(p)
    for old, new in (
        ("ขอเชิญประชุม".encode(), "ขอเชิญประชุน".encode()),
        (b"<ram:SecretCode>001<", b"<ram:SecretCode>004<"),
        (b"2100100000", b"2100100001"),
    ):
        assert old in data
        m = parse_message(data.replace(old, new, 1), trust=[p.cert_pem])
        assert m.signature is SignatureVerdict.INVALID
        assert m.letter is not None  # still read; the verdict says it was changed
    # A changed signature value.
    doc = etree.fromstring(parse_message(data).document_xml)
    value = doc.find(f".//{{{DS}}}SignatureValue").text
    broken = value[:10] + ("A" if value[10] != "A" else "B") + value[11:]
    m = parse_message(data.replace(value.encode(), broken.encode()), trust=[p.cert_pem])
    assert m.signature is SignatureVerdict.INVALID


def test_signer_party_is_not_covered(pkis):
    p = pkis["rsa"]
    data = sign(p).replace("<ram:Title>ผู้อำนวยการ".encode(), "<ram:Title>รอง".encode())
    m = parse_message(data, trust=[p.cert_pem])
    assert m.signature is SignatureVerdict.VALID
    assert m.signer is not None and m.signer.title == "รอง"


def test_garbage_signature_is_a_verdict(pkis):
    data = letter_request(LETTER, signer=SIGNER).replace(
        b"</ram:SignerParty>",
        b'</ram:SignerParty><ds:Signature xmlns:ds="' + DS.encode() + b'"><junk/></ds:Signature>',
    )
    m = parse_message(data, trust=[pkis["ec"].cert_pem])
    assert m.signature is SignatureVerdict.INVALID
    assert m.letter == LETTER


def test_signature_wrapping_is_invalid(pkis):
    p = pkis["ec"]
    data = sign(p)
    # Move ID="Letter" off the letter onto a copy: the letter read is not what was signed.
    wrapped = data.replace(
        b'<ram:CorrespondenceLetter ID="Letter">', b"<ram:CorrespondenceLetter>", 1
    ).replace(
        b"<ram:GovernmentSignature>",
        b'<ram:Extra ID="Letter"/><ram:GovernmentSignature>',
        1,
    )
    m = parse_message(wrapped, trust=[p.cert_pem])
    assert m.signature is SignatureVerdict.INVALID


def test_relayed_in_inbound_response_stays_valid(pkis):
    p = pkis["rsa"]
    first = parse_message(sign(p), trust=[p.cert_pem])
    relayed = inbound_response(process_id="Q1", process_time="T", document_xml=first.document_xml)
    m = parse_message(relayed, trust=[p.cert_pem])
    assert m.signature is SignatureVerdict.VALID
    assert m.document_xml == first.document_xml
    assert m.letter == LETTER


def test_signed_in_envelope_context_verifies_in_place(pkis):
    """A signer that canonicalised the letter inside its request envelope (SOAP-ENV in
    scope) does not verify standalone; the verifier falls back to the request as received."""
    p = pkis["ec"]
    request = letter_request(LETTER, signer=SIGNER)
    original = parse_message(request).document_xml
    envelope = etree.fromstring(request)
    doc = envelope.find(f".//{{{RSM}}}GovernmentDocument")
    signed = _dsig.sign_document(doc, p.key_pem, p.cert_pem)  # carries xmlns:SOAP-ENV
    signed_bytes = etree.tostring(signed, encoding="UTF-8")
    decl = b' xmlns:SOAP-ENV="' + SOAP.encode() + b'"'
    assert decl in signed_bytes
    data = request.replace(original, signed_bytes.replace(decl, b"", 1))
    m = parse_message(data, trust=[p.cert_pem])
    assert m.signature is SignatureVerdict.VALID, m.signature_detail
    # Relayed standalone (another envelope), that signature no longer checks.
    relayed = inbound_response(process_id="Q", process_time="T", document_xml=m.document_xml)
    assert parse_message(relayed, trust=[p.cert_pem]).signature is SignatureVerdict.INVALID


def _old_draft(p: Pki, *, key_value: bool) -> bytes:
    """The early DGA draft: SignedInfo C14N with comments, rsa-sha1, sha1, no Transforms."""
    assert isinstance(p.key, rsa.RSAPrivateKey)
    doc = government_document_tree(LETTER, SIGNER)
    letter = doc.find(f"{{{RAM}}}CorrespondenceLetter")
    digest = hashlib.sha1(etree.tostring(letter, method="c14n")).digest()
    ds = f"{{{DS}}}"
    sig = etree.SubElement(
        doc.find(f"{{{RAM}}}GovernmentSignature"), ds + "Signature", nsmap={"ds": DS}
    )
    info = etree.SubElement(sig, ds + "SignedInfo")
    etree.SubElement(info, ds + "CanonicalizationMethod").set(
        "Algorithm", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
    )
    etree.SubElement(info, ds + "SignatureMethod").set(
        "Algorithm", "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
    )
    ref = etree.SubElement(info, ds + "Reference", URI="#Letter")
    etree.SubElement(ref, ds + "DigestMethod").set(
        "Algorithm", "http://www.w3.org/2000/09/xmldsig#sha1"
    )
    etree.SubElement(ref, ds + "DigestValue").text = base64.b64encode(digest).decode()
    signed_info = etree.tostring(info, method="c14n", with_comments=True)
    value = p.key.sign(signed_info, padding.PKCS1v15(), hashes.SHA1())
    etree.SubElement(sig, ds + "SignatureValue").text = base64.b64encode(value).decode()
    key_info = etree.SubElement(sig, ds + "KeyInfo")
    if key_value:
        numbers = p.key.public_key().public_numbers()
        rsa_value = etree.SubElement(
            etree.SubElement(key_info, ds + "KeyValue"), ds + "RSAKeyValue"
        )

        def b64int(n: int) -> str:
            return base64.b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).decode()

        etree.SubElement(rsa_value, ds + "Modulus").text = b64int(numbers.n)
        etree.SubElement(rsa_value, ds + "Exponent").text = b64int(numbers.e)
    else:
        x509_data = etree.SubElement(key_info, ds + "X509Data")
        etree.SubElement(x509_data, ds + "X509Certificate").text = base64.b64encode(
            p.cert.public_bytes(serialization.Encoding.DER)
        ).decode()
    return inbound_response(
        process_id="Q", process_time="T", document_xml=etree.tostring(doc, encoding="UTF-8")
    )


def test_old_draft_algorithms_accepted(pkis):
    p = pkis["rsa"]
    m = parse_message(_old_draft(p, key_value=False), trust=[p.cert_pem])
    assert m.signature is SignatureVerdict.VALID, m.signature_detail
    m = parse_message(_old_draft(p, key_value=True), trust=[p.cert_pem])
    assert m.signature is SignatureVerdict.UNTRUSTED, m.signature_detail
    assert m.signer_certificate_pem == ""


def test_signing_rules(pkis):
    p = pkis["ec"]
    with pytest.raises(EcmsRefused) as err:
        letter_request(
            LETTER, sign_key_pem=p.key_pem, sign_cert_pem=p.cert_pem, dialect=Dialect.BOI
        )
    assert err.value.code == "bad_value"
    with pytest.raises(EcmsRefused):
        government_document(LETTER, sign_key_pem=p.key_pem)
    with pytest.raises(EcmsRefused):
        government_document(LETTER, sign_key_pem=b"not a key", sign_cert_pem=p.cert_pem)
    # Without a signer the GovernmentSignature still has TypeCode and SignerParty (BOI reads them).
    m = parse_message(letter_request(LETTER, sign_key_pem=p.key_pem, sign_cert_pem=p.cert_pem))
    assert m.signer == Signer(type_code="DSIG")
    assert m.signature is SignatureVerdict.UNTRUSTED


def test_signed_letter_with_a_text_node_over_libxml2s_default_limit(pkis):
    """An 8 MB scan is one base64 text node of ~11 MB: signxml re-parses it with our parser."""
    p = pkis["ec"]
    big = Letter(
        "1/2569", "2026-12-07", "สแกน", main=Binary("application/pdf", b"\x07" * 8_000_000)
    )
    m = parse_message(sign(p, big), trust=[p.cert_pem])
    assert m.signature is SignatureVerdict.VALID, m.signature_detail
    assert m.letter == big


def test_verification_can_be_skipped(pkis):
    p = pkis["ec"]
    m = parse_message(sign(p), trust=[p.cert_pem], verify_signature=False)
    assert m.signature is SignatureVerdict.ABSENT
    assert m.letter == LETTER


def test_unsigned_is_absent():
    m = parse_message(letter_request(LETTER))
    assert m.signature is SignatureVerdict.ABSENT
    assert m.signer is None
