"""S/MIME: our signed mail verifies with OpenSSL and with our own reader; others' signed,
opaque-signed and encrypted mail is read the way the contract says."""

from __future__ import annotations

import base64
import pathlib
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from saraban.mail import Address, ParsedMail, SmimeInfo, build_mail, parse_mail, sign_smime

from .mailkit import PDF, b64, mail, pki

SUBJECT = "ที่ มท 0808.2/ว 1 เรื่อง ทดสอบลายมือชื่อ"


def smime(parsed: ParsedMail) -> SmimeInfo:
    assert parsed.smime is not None
    return parsed.smime


@pytest.fixture(scope="module")
def keys():
    return pki()


def _signed(keys, **over) -> bytes:
    raw = build_mail(sender=Address("saraban@dept.go.th", "สารบรรณ"),
                     to=[Address("clerk@lao.go.th")], subject=SUBJECT, text="เนื้อความ\n",
                     attachments=[("หนังสือ.pdf", "application/pdf", PDF)],
                     message_id="s1@dept.go.th")
    return sign_smime(raw, certificate_pem=keys["cert"], key_pem=keys["key"], **over)


def test_signed_mail_keeps_headers_outside_and_reads_back(keys):
    raw = _signed(keys)
    head, _, _body = raw.partition(b"\r\n\r\n")
    assert b"multipart/signed" in head and b"micalg=sha-256" in head
    for name in (b"From:", b"To:", b"Subject:", b"Message-ID:", b"Date:"):
        assert name in head
    parsed = parse_mail(raw)
    assert parsed.subject == SUBJECT and parsed.text == "เนื้อความ"
    assert [a.filename for a in parsed.attachments] == ["หนังสือ.pdf"]  # no smime.p7s
    assert parsed.smime is not None
    assert smime(parsed).verdict == "unverified"
    assert "สารบรรณกลาง กรมทดสอบ" in parsed.smime.signer_subject
    assert parsed.smime.signer_certificate_pem == keys["cert"]


def test_signed_mail_is_valid_when_its_ca_is_trusted(keys):
    assert smime(parse_mail(_signed(keys), trust=[keys["ca"]])).verdict == "valid"
    other = pki("other")
    assert smime(parse_mail(_signed(keys), trust=[other["ca"]])).verdict == "unverified"


def test_signature_survives_a_pipe_that_turned_crlf_into_lf(keys):
    raw = _signed(keys).replace(b"\r\n", b"\n")
    assert smime(parse_mail(raw)).verdict == "unverified"


def test_tampered_content_is_invalid(keys):
    raw = _signed(keys)
    tampered = raw.replace(b64("เนื้อความ\r\n").encode(), b64("เนื้อความแก้\r\n").encode())
    assert tampered != raw
    parsed = parse_mail(tampered)
    assert smime(parsed).verdict == "invalid"
    assert "smime_signature_invalid" in parsed.defects


def test_garbage_signature_is_invalid(keys):
    raw = _signed(keys)
    start = raw.index(b'filename="smime.p7s"')
    sig_start = raw.index(b"\r\n\r\n", start) + 4
    sig_end = raw.index(b"\r\n--", sig_start)
    broken = raw[:sig_start] + base64.b64encode(b"not cms") + raw[sig_end:]
    parsed = parse_mail(broken)
    assert parsed.smime is not None and smime(parsed).verdict == "invalid"
    assert parsed.text == "เนื้อความ"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_openssl_verifies_our_signature(keys, tmp_path: pathlib.Path):
    path = tmp_path / "signed.eml"
    path.write_bytes(_signed(keys, chain_pem=[keys["ca"]]))
    out = subprocess.run(["openssl", "smime", "-verify", "-noverify", "-in", str(path)],
                         capture_output=True, timeout=30, check=False)
    assert out.returncode == 0, out.stderr
    assert b"Verification successful" in out.stderr
    ca = tmp_path / "ca.pem"
    ca.write_text(keys["ca"])
    out = subprocess.run(["openssl", "smime", "-verify", "-CAfile", str(ca), "-purpose", "any",
                          "-in", str(path)], capture_output=True, timeout=30, check=False)
    assert out.returncode == 0, out.stderr


def _opaque(keys, inner: bytes) -> bytes:
    cert = x509.load_pem_x509_certificate(keys["cert"].encode())
    key = serialization.load_pem_private_key(keys["key"].encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    der = (pkcs7.PKCS7SignatureBuilder().set_data(inner).add_signer(cert, key, hashes.SHA256())
           .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary]))
    return mail(["MIME-Version: 1.0",
                 'Content-Type: application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"',
                 "Content-Transfer-Encoding: base64",
                 'Content-Disposition: attachment; filename="smime.p7m"'], b64(der))


def test_opaque_signed_data_is_unwrapped(keys):
    inner = (b'Content-Type: multipart/mixed; boundary="i"\r\n\r\n--i\r\n'
             b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + "ข้างใน".encode() +
             b'\r\n--i\r\nContent-Type: application/pdf; name="a.pdf"\r\n'
             b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(PDF).encode() + b"\r\n--i--\r\n")
    parsed = parse_mail(_opaque(keys, inner))
    assert parsed.text == "ข้างใน"
    assert [a.filename for a in parsed.attachments] == ["a.pdf"]
    assert smime(parsed).verdict == "unverified"
    assert smime(parse_mail(_opaque(keys, inner), trust=[keys["ca"]])).verdict == "valid"


def test_encrypted_mail_is_kept_as_an_attachment(keys):
    cert = x509.load_pem_x509_certificate(keys["cert"].encode())
    der = (pkcs7.PKCS7EnvelopeBuilder().set_data(b"Content-Type: text/plain\r\n\r\nsecret")
           .add_recipient(cert).encrypt(serialization.Encoding.DER, []))
    raw = mail(['Content-Type: application/pkcs7-mime; smime-type=enveloped-data; '
                'name="smime.p7m"', "Content-Transfer-Encoding: base64"], b64(der))
    parsed = parse_mail(raw)
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("smime.p7m", "application/pkcs7-mime")]
    assert "smime_encrypted" in parsed.defects
    assert parsed.smime is None


def test_unsigned_mail_has_no_smime():
    assert parse_mail(mail([])).smime is None
