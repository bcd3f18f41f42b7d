# mypy: disable-error-code="no-untyped-call"
# (pyHanko's PDF object constructors are untyped; this module only builds test files.)
"""A real test PKI, a real time-stamping authority and a SoftHSM2 token, for tests and demos.

Nothing here is a mock: the CA certificates, CRLs and timestamps are the real formats, made
with ``cryptography`` and pyHanko, and served over HTTP on 127.0.0.1 so signing at B-T and
B-LTA talks to a TSA and fetches CRLs exactly as it would in production.

>>> services = PKIServices.start()
>>> pki = TestPKI(services, name="Saraban Test")
>>> settings.SARABAN_TSA_URL = pki.tsa_url
>>> identity = make_identity(person, tenant, pki)   # PKCS#12, root trusted node-wide
>>> seal = make_seal(tenant, pki)                   # agency seal, secret stored

Pytest fixtures built on these live in ``saraban/signatures/tests/conftest.py``; other areas
can import that module's fixtures as a plugin (``pytest_plugins``) or call these functions.
"""

from __future__ import annotations

import datetime as dt
import http.server
import os
import secrets
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

if TYPE_CHECKING:
    from saraban.agencies.models import Agency, Person

    from .models import SigningIdentity, TrustRoot

__all__ = [
    "SOFTHSM_MODULE",
    "Issued",
    "PKIServices",
    "SoftHSMToken",
    "TestPKI",
    "make_identity",
    "make_seal",
    "make_token_identity",
    "pdfsig_available",
    "softhsm_available",
    "softhsm_token",
    "token_import",
    "trust_pki",
]

SOFTHSM_MODULE: Final = os.environ.get(
    "SARABAN_SOFTHSM_MODULE", "/usr/lib/softhsm/libsofthsm2.so"
)
TEST_PASSPHRASE: Final = "saraban-test"  # noqa: S105  (test identities only)
_KEY_SIZE: Final = 2048


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=_KEY_SIZE)


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "TH"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation[:64]),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
        ]
    )


@dataclass(frozen=True)
class Issued:
    """A key and the certificate issued for it."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def key_der(self) -> bytes:
        """The private key as PKCS#1 DER (what PKCS#11 import helpers read)."""
        return self.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )


class PKIServices:
    """One threaded HTTP server on 127.0.0.1 answering for every ``TestPKI`` registered:
    ``POST /<pki>/tsa`` (RFC 3161 time-stamp requests) and ``GET /<pki>/crl/<ca>.crl``."""

    def __init__(self) -> None:
        self._pkis: dict[str, TestPKI] = {}
        self.requests: list[str] = []
        services = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                del format, args

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                services.requests.append(f"GET {self.path}")
                parts = self.path.strip("/").split("/")
                pki = services._pkis.get(parts[0]) if parts else None
                if pki is None or len(parts) != 3 or parts[1] != "crl":
                    self._answer(404, b"not found", "text/plain")
                    return
                ca = parts[2].removesuffix(".crl")
                if ca not in ("root", "intermediate"):
                    self._answer(404, b"not found", "text/plain")
                    return
                self._answer(200, pki.crl(ca), "application/pkix-crl")  # type: ignore[arg-type]

            def do_POST(self) -> None:
                services.requests.append(f"POST {self.path}")
                parts = self.path.strip("/").split("/")
                pki = services._pkis.get(parts[0]) if parts else None
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if pki is None or parts[1:] != ["tsa"] or pki.tsa_down:
                    self._answer(503 if pki is not None else 404, b"unavailable", "text/plain")
                    return
                try:
                    answer = pki.timestamp(body)
                except ValueError:
                    self._answer(400, b"bad request", "text/plain")
                    return
                self._answer(200, answer, "application/timestamp-reply")

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="saraban-test-pki", daemon=True
        )

    @classmethod
    def start(cls) -> PKIServices:
        services = cls()
        services._thread.start()
        return services

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def register(self, pki: TestPKI) -> str:
        self._pkis[pki.slug] = pki
        return f"{self.base_url}/{pki.slug}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class TestPKI:
    """A root CA, an intermediate CA that issues people's and seals' certificates, a TSA,
    and their CRLs (published by ``services``; the certificates point at them).

    Without ``services`` (a demo node) the certificates name no CRL and there is no TSA.
    """

    __test__ = False  # not a test class, despite its name

    def __init__(self, services: PKIServices | None, *, name: str = "Saraban Test") -> None:
        self.name = name
        self.slug = secrets.token_hex(4)
        self.base_url = services.register(self) if services is not None else ""
        self.tsa_down = False
        self._revoked: dict[str, list[tuple[int, dt.datetime]]] = {"root": [], "intermediate": []}
        now = dt.datetime.now(tz=dt.UTC)
        root_key = _new_key()
        root_name = _name(f"{name} Root CA", name)
        root_cert = (
            self._builder(root_name, root_name, root_key, now, days=3650)
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(_ca_usage(), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()),
                           critical=False)
            .sign(root_key, hashes.SHA256())
        )
        self.root = Issued(root_key, root_cert)
        inter_key = _new_key()
        inter_builder = (
            self._builder(_name(f"{name} Issuing CA", name), root_name, inter_key, now,
                          days=1825)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_ca_usage(), critical=True)
            .add_extension(_ski(inter_key), critical=False)
            .add_extension(_aki(self.root), critical=False)
        )
        if self.base_url:
            inter_builder = inter_builder.add_extension(self._crl_point("root"), critical=False)
        inter_cert = inter_builder.sign(root_key, hashes.SHA256())
        self.intermediate = Issued(inter_key, inter_cert)
        self.tsa = self._issue(
            f"{name} Time-Stamping Authority", organisation=name, days=1825,
            eku=[ExtendedKeyUsageOID.TIME_STAMPING],
        )

    # --- issuing ------------------------------------------------------------------------

    def _builder(
        self, subject: x509.Name, issuer: x509.Name, key: rsa.RSAPrivateKey, start: dt.datetime,
        *, days: int,
    ) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start - dt.timedelta(hours=1))
            .not_valid_after(start + dt.timedelta(days=days))
        )

    def _crl_point(self, ca: str) -> x509.CRLDistributionPoints:
        return x509.CRLDistributionPoints(
            [
                x509.DistributionPoint(
                    full_name=[x509.UniformResourceIdentifier(f"{self.base_url}/crl/{ca}.crl")],
                    relative_name=None, reasons=None, crl_issuer=None,
                )
            ]
        )

    def _issue(
        self,
        common_name: str,
        *,
        organisation: str,
        days: int = 365,
        start: dt.datetime | None = None,
        eku: list[x509.ObjectIdentifier] | None = None,
        email: str = "",
    ) -> Issued:
        key = _new_key()
        begin = start or dt.datetime.now(tz=dt.UTC)
        builder = (
            self._builder(_name(common_name, organisation), self.intermediate.cert.subject, key,
                          begin, days=days)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=True, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=False,
                    crl_sign=False, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(_ski(key), critical=False)
            .add_extension(_aki(self.intermediate), critical=False)
        )
        if self.base_url:
            builder = builder.add_extension(self._crl_point("intermediate"), critical=False)
        if eku:
            builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
        if email:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False
            )
        return Issued(key, builder.sign(self.intermediate.key, hashes.SHA256()))

    def issue_person(
        self, common_name: str, *, organisation: str = "", days: int = 365,
        start: dt.datetime | None = None, email: str = "",
    ) -> Issued:
        """A person's signing certificate (digitalSignature + nonRepudiation)."""
        return self._issue(common_name, organisation=organisation or self.name, days=days,
                           start=start, email=email)

    def issue_seal(self, agency_name: str, *, days: int = 730) -> Issued:
        """An agency seal's certificate: the agency's name as the subject."""
        return self._issue(agency_name, organisation=agency_name, days=days)

    def pkcs12(self, issued: Issued, passphrase: str = TEST_PASSPHRASE) -> bytes:
        """A PKCS#12 file with the key, its certificate and the CA chain."""
        return pkcs12.serialize_key_and_certificates(
            name=b"saraban",
            key=issued.key,
            cert=issued.cert,
            cas=[self.intermediate.cert, self.root.cert],
            encryption_algorithm=serialization.BestAvailableEncryption(passphrase.encode()),
        )

    # --- revocation and time stamps -----------------------------------------------------

    def revoke(self, issued: Issued) -> None:
        """Revoke a certificate: the next CRL of its issuer lists it."""
        ca = "root" if issued.cert.issuer == self.root.cert.subject else "intermediate"
        self._revoked[ca].append((issued.cert.serial_number, dt.datetime.now(tz=dt.UTC)))

    def crl(self, ca: Literal["root", "intermediate"]) -> bytes:
        issuer = self.root if ca == "root" else self.intermediate
        now = dt.datetime.now(tz=dt.UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer.cert.subject)
            .last_update(now - dt.timedelta(minutes=5))
            .next_update(now + dt.timedelta(days=1))
            .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
            .add_extension(_aki(issuer), critical=False)
        )
        for serial, when in self._revoked[ca]:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
                .build()
            )
        return builder.sign(issuer.key, hashes.SHA256()).public_bytes(
            serialization.Encoding.DER
        )

    @property
    def tsa_url(self) -> str:
        """The TSA's URL ("" without services)."""
        return f"{self.base_url}/tsa" if self.base_url else ""

    def timestamp(self, request_der: bytes) -> bytes:
        """Answer an RFC 3161 request with a token signed by this PKI's TSA certificate."""
        from asn1crypto import keys, tsp  # type: ignore[import-untyped]
        from asn1crypto import x509 as asn1_x509
        from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

        try:
            request = tsp.TimeStampReq.load(request_der)
            request.native  # noqa: B018  (forces a full parse)
        except (ValueError, TypeError) as exc:
            raise ValueError("not a time-stamp request") from exc
        stamper = DummyTimeStamper(
            tsa_cert=asn1_x509.Certificate.load(self.tsa.der),
            tsa_key=keys.PrivateKeyInfo.load(
                self.tsa.key.private_bytes(
                    serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            ),
            certs_to_embed=[asn1_x509.Certificate.load(self.intermediate.der)],  # type: ignore[arg-type]
        )
        response: bytes = stamper.request_tsa_response(request).dump()
        return response

    def write_root(self, directory: Path) -> Path:
        """The root certificate as a PEM file (for ``SARABAN_TRUST_ROOTS`` or NSS)."""
        path = directory / f"{self.slug}-root.pem"
        path.write_bytes(self.root.pem)
        return path


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
        encipher_only=False, decipher_only=False,
    )


def _ski(key: rsa.RSAPrivateKey) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(key.public_key())


def _aki(issuer: Issued) -> x509.AuthorityKeyIdentifier:
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key())


# --- identities for tests ----------------------------------------------------------------


def trust_pki(pki: TestPKI, *, tenant: Agency | None = None) -> TrustRoot:
    """Trust ``pki``'s root (node-wide, or for ``tenant``); idempotent."""
    from ._trust import certificates_in, fingerprint
    from .models import TrustRoot
    from .services import trust_root_add

    fp = fingerprint(certificates_in(pki.root.pem)[0])
    existing = TrustRoot.objects.filter(tenant=tenant, fingerprint=fp).first()
    if existing is not None:
        return existing
    return trust_root_add(actor=None, tenant=tenant, pem=pki.root.pem, label=f"{pki.name} Root")


def make_identity(
    person: Person,
    tenant: Agency,
    pki: TestPKI,
    *,
    passphrase: str = TEST_PASSPHRASE,
    store_secret: bool = False,
    trust: bool = True,
) -> SigningIdentity:
    """A PKCS#12 signing identity for ``person``, issued by ``pki`` (whose root is trusted
    node-wide unless ``trust`` is False). Sign with ``secret=passphrase``."""
    from .services import identity_add_pkcs12

    issued = pki.issue_person(
        person.display_name(), organisation=tenant.name_th, email=person.email or ""
    )
    if trust:
        trust_pki(pki)
    return identity_add_pkcs12(
        actor=None, tenant=tenant, person=person, p12=pki.pkcs12(issued, passphrase),
        passphrase=passphrase, store_secret=store_secret, label=person.display_name(),
    )


def make_seal(tenant: Agency, pki: TestPKI, *, trust: bool = True) -> SigningIdentity:
    """The agency seal of ``tenant``: its secret stored, so ``sign_pdf`` needs none."""
    from .services import identity_add_pkcs12

    issued = pki.issue_seal(tenant.name_th)
    if trust:
        trust_pki(pki)
    return identity_add_pkcs12(
        actor=None, tenant=tenant, person=None, p12=pki.pkcs12(issued),
        passphrase=TEST_PASSPHRASE, store_secret=True, label=f"ตรา{tenant.name_th}",
    )


# --- SoftHSM2 ------------------------------------------------------------------------------


def softhsm_available() -> bool:
    return shutil.which("softhsm2-util") is not None and Path(SOFTHSM_MODULE).exists()


def pdfsig_available() -> bool:
    return shutil.which("pdfsig") is not None


@dataclass
class SoftHSMToken:
    """An initialised SoftHSM2 token in its own directory."""

    module: str
    label: str
    pin: str
    so_pin: str
    conf: Path
    keys: list[str] = field(default_factory=list)


def softhsm_token(
    directory: Path, *, label: str = "saraban-test", pin: str = "123456", so_pin: str = "12345678"
) -> SoftHSMToken:
    """Initialise a SoftHSM2 token whose files live in ``directory``.

    Sets ``SOFTHSM2_CONF`` for this process (the library reads it when initialised) and
    re-initialises an already loaded library so it sees the new token.
    """
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
        "slots.removable = false\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)
    util = shutil.which("softhsm2-util")
    if util is None:
        raise FileNotFoundError("softhsm2-util is not installed")
    subprocess.run(  # noqa: S603  (a fixed program; the arguments are the caller's own)
        [util, "--init-token", "--free", "--label", label, "--so-pin", so_pin, "--pin", pin],
        check=True, capture_output=True, env={**os.environ, "SOFTHSM2_CONF": str(conf)},
        timeout=60,
    )
    import pkcs11

    pkcs11.lib(SOFTHSM_MODULE).reinitialize()
    return SoftHSMToken(module=SOFTHSM_MODULE, label=label, pin=pin, so_pin=so_pin, conf=conf)


def token_import(token: SoftHSMToken, issued: Issued, *, key_label: str,
                 chain: tuple[Issued, ...] = ()) -> None:
    """Put a key and its certificate (and CA certificates) on the token, as a CA's
    enrolment tool would: the key is sensitive and cannot be read back."""
    import pkcs11
    from pkcs11 import Attribute, ObjectClass
    from pkcs11.util.rsa import decode_rsa_private_key
    from pkcs11.util.x509 import decode_x509_certificate

    key_id = secrets.token_bytes(8)
    lib = pkcs11.lib(token.module)
    with lib.get_token(token_label=token.label).open(rw=True, user_pin=token.pin) as session:
        attrs = decode_rsa_private_key(issued.key_der)
        attrs.update({
            Attribute.LABEL: key_label, Attribute.ID: key_id, Attribute.TOKEN: True,
            Attribute.PRIVATE: True, Attribute.SENSITIVE: True, Attribute.SIGN: True,
            Attribute.EXTRACTABLE: False,
        })
        session.create_object(attrs)
        cert_attrs = decode_x509_certificate(issued.der)
        cert_attrs.update({Attribute.LABEL: key_label, Attribute.ID: key_id,
                           Attribute.TOKEN: True})
        session.create_object(cert_attrs)
        for i, ca in enumerate(chain):
            ca_attrs = decode_x509_certificate(ca.der)
            ca_attrs.update({Attribute.LABEL: f"{key_label}-ca{i}", Attribute.TOKEN: True,
                             Attribute.CLASS: ObjectClass.CERTIFICATE})
            session.create_object(ca_attrs)
    token.keys.append(key_label)


def make_token_identity(
    person: Person | None, tenant: Agency, pki: TestPKI, token: SoftHSMToken, *,
    key_label: str | None = None, store_secret: bool = False, trust: bool = True,
) -> SigningIdentity:
    """A PKCS#11 identity: a new key and certificate put on ``token`` and registered."""
    from .services import identity_add_pkcs11

    label = key_label or f"key-{secrets.token_hex(3)}"
    issued = (
        pki.issue_person(person.display_name(), organisation=tenant.name_th)
        if person is not None else pki.issue_seal(tenant.name_th)
    )
    token_import(token, issued, key_label=label, chain=(pki.intermediate,))
    if trust:
        trust_pki(pki)
    return identity_add_pkcs11(
        actor=None, tenant=tenant, person=person, module=token.module, token_label=token.label,
        key_label=label, pin=token.pin, store_secret=store_secret, label=label,
    )


# --- tampering, for the tests that prove it is detected ------------------------------------


def flip_signed_byte(pdf: bytes) -> bytes:
    """``pdf`` with one byte changed inside the first signature's signed range: a byte in
    the middle of the first content stream's data, so the file still parses."""
    start = pdf.index(b"stream\n", pdf.index(b"/Contents")) + len(b"stream\n")
    end = pdf.index(b"endstream", start)
    where = (start + end) // 2
    changed = bytearray(pdf)
    changed[where] ^= 0x01
    return bytes(changed)


def append_unsigned_update(pdf: bytes, *, what: Literal["annotation", "page"]) -> bytes:
    """``pdf`` plus an incremental update that no one signed: a text note on the first page,
    or a new blank last page (what someone slipping content in after signing would do)."""
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    if what == "annotation":
        page_ref, _ = writer.find_page_for_modification(0)
        page = page_ref.get_object()
        note = writer.add_object(
            generic.DictionaryObject({
                generic.NameObject("/Type"): generic.NameObject("/Annot"),
                generic.NameObject("/Subtype"): generic.NameObject("/Text"),
                generic.NameObject("/Rect"): generic.ArrayObject(
                    [generic.FloatObject(v) for v in (72, 72, 144, 144)]
                ),
                generic.NameObject("/Contents"): generic.TextStringObject("เพิ่มภายหลัง"),
            })
        )
        annots = page.get("/Annots")
        if annots is None:
            page[generic.NameObject("/Annots")] = generic.ArrayObject([note])
        else:
            annots.get_object().append(note)
            if isinstance(page.raw_get("/Annots"), generic.IndirectObject):
                writer.update_container(annots)
        writer.update_container(page)
    else:
        writer.insert_page(
            generic.DictionaryObject({
                generic.NameObject("/Type"): generic.NameObject("/Page"),
                generic.NameObject("/MediaBox"): generic.ArrayObject(
                    [generic.NumberObject(v) for v in (0, 0, 595, 842)]
                ),
                generic.NameObject("/Resources"): generic.DictionaryObject(),
            })
        )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
