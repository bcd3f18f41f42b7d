"""Small builders for the mail library's tests: raw mails written the way clients write
them (each test states the exact bytes that matter), a TNEF stream, a tiny PDF, a test PKI."""

from __future__ import annotations

import base64
import datetime as dt
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
       b"2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def b64(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    enc = base64.b64encode(data).decode()
    return "\r\n".join(enc[i : i + 76] for i in range(0, len(enc), 76))


def ew(text: str, charset: str = "utf-8", q: bool = False) -> str:
    """One RFC 2047 encoded word (no folding)."""
    codec = {"tis-620": "cp874", "windows-874": "cp874", "x-windows-874": "cp874",
             "iso-8859-11": "cp874"}.get(charset.lower(), charset)
    data = text.encode(codec)
    if q:
        body = "".join(chr(b) if (48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122)
                       else "_" if b == 32 else f"={b:02X}" for b in data)
        return f"=?{charset}?Q?{body}?="
    return f"=?{charset}?B?{base64.b64encode(data).decode()}?="


def mail(headers: list[str] | tuple[str, ...], body: bytes | str = "สวัสดี\r\n", *,
         lf: bool = False) -> bytes:
    """A mail from header lines and a body (str bodies written as UTF-8)."""
    base = ["From: Somchai <somchai@dept.go.th>", "To: saraban@moi.go.th",
            "Subject: test", "Date: Mon, 07 Dec 2026 10:00:00 +0700",
            "Message-ID: <m1@dept.go.th>"]
    names = {h.split(":", 1)[0].lower() for h in headers}
    lines = [h for h in base if h.split(":", 1)[0].lower() not in names] + list(headers)
    data = body.encode("utf-8") if isinstance(body, str) else body
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + data
    if lf:
        raw = raw.replace(b"\r\n", b"\n")
    return raw


def part(headers: list[str], body: bytes | str) -> bytes:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return ("\r\n".join(headers) + "\r\n\r\n").encode("utf-8") + data


def multipart(boundary: str, parts: list[bytes], preamble: str = "") -> bytes:
    out = preamble.encode() + b"\r\n" if preamble else b""
    for p in parts:
        out += f"--{boundary}\r\n".encode() + p + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def tnef(files: list[tuple[str, bytes]], body: bytes = b"") -> bytes:
    """A winmail.dat stream with the given files (attAttachRendData, Title, Data)."""

    def obj(level: int, ident: int, kind: int, data: bytes) -> bytes:
        checksum = sum(data) & 0xFFFF
        return (struct.pack("<BHHI", level, ident, kind, len(data)) + data
                + struct.pack("<H", checksum))

    out = struct.pack("<IH", 0x223E9F78, 0x0001)
    out += obj(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))
    if body:
        out += obj(1, 0x800C, 0x0002, body)
    for name, data in files:
        out += obj(2, 0x9002, 0x0006, b"\x01\x00\xff\xff\xff\xff" + b"\x00" * 8)
        out += obj(2, 0x8010, 0x0001, name.encode("utf-8") + b"\x00")
        out += obj(2, 0x800F, 0x0006, data)
    return out


def pki(name: str = "สารบรรณกลาง กรมทดสอบ") -> dict[str, str]:
    """A CA and a signer certificate (RSA 2048, for S/MIME), as PEM."""
    now = dt.datetime.now(dt.UTC)
    before, after = now - dt.timedelta(days=1), now + dt.timedelta(days=30)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Thai Gov CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(1)
          .not_valid_before(before).not_valid_after(after)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                         x509.NameAttribute(NameOID.EMAIL_ADDRESS, "saraban@dept.go.th")])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(2)
            .not_valid_before(before).not_valid_after(after)
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name("saraban@dept.go.th")]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return {
        "ca": ca.public_bytes(pem).decode(),
        "cert": cert.public_bytes(pem).decode(),
        "key": key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode(),
    }
