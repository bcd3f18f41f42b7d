"""The roots a tenant trusts, and pyHanko validation contexts built on them.

Trusted: the node's ``TrustRoot`` rows (tenant empty), the tenant's own rows, and the
certificates in the files named by ``SARABAN_TRUST_ROOTS`` (the Thai national root CA and the
commercial CAs the node's operator chose). The operating system's list is never used.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from asn1crypto import pem  # type: ignore[import-untyped]
from asn1crypto import x509 as asn1_x509
from django.conf import settings
from django.db.models import Q
from pyhanko_certvalidator import ValidationContext

if TYPE_CHECKING:
    from saraban.agencies.models import Agency

logger = logging.getLogger(__name__)


def certificates_in(data: bytes) -> list[asn1_x509.Certificate]:
    """The certificates in a PEM bundle or one DER certificate; ``ValueError`` if none."""
    if pem.detect(data):
        certs = [
            asn1_x509.Certificate.load(der)
            for kind, _, der in pem.unarmor(data, multiple=True)
            if kind == "CERTIFICATE"
        ]
    else:
        certs = [asn1_x509.Certificate.load(data)]
    for cert in certs:
        cert.native  # noqa: B018  (forces a full parse: garbage raises here)
    if not certs:
        raise ValueError("no certificate found")
    return certs


def fingerprint(cert: asn1_x509.Certificate) -> str:
    return hashlib.sha256(cert.dump()).hexdigest()


@functools.lru_cache(maxsize=64)
def _file_roots(path: str, mtime: float) -> tuple[asn1_x509.Certificate, ...]:
    del mtime  # part of the cache key only: a replaced file is read again
    return tuple(certificates_in(Path(path).read_bytes()))


def setting_roots() -> list[asn1_x509.Certificate]:
    """The certificates of the files in ``SARABAN_TRUST_ROOTS`` (unreadable ones are logged)."""
    roots: list[asn1_x509.Certificate] = []
    for entry in getattr(settings, "SARABAN_TRUST_ROOTS", ()) or ():
        path = Path(entry)
        try:
            roots.extend(_file_roots(str(path), path.stat().st_mtime))
        except (OSError, ValueError):
            logger.warning("SARABAN_TRUST_ROOTS: cannot read certificates from %s", path)
    return roots


def trusted_roots(tenant: Agency | None) -> list[asn1_x509.Certificate]:
    """Every root ``tenant`` trusts (the node's only, for ``None``)."""
    from .models import TrustRoot

    rows = TrustRoot.objects.filter(
        Q(tenant__isnull=True) | Q(tenant=tenant) if tenant is not None else Q(tenant__isnull=True)
    )
    roots = setting_roots()
    for row in rows:
        try:
            roots.extend(certificates_in(row.certificate_pem.encode()))
        except ValueError:
            logger.warning("TrustRoot %s holds no readable certificate", row.pk)
    unique = {fingerprint(c): c for c in roots}
    return list(unique.values())


def validation_context(tenant: Agency | None, *, fetch: bool) -> ValidationContext:
    """A validation context trusting ``tenant``'s roots.

    ``fetch`` lets it download CRLs and OCSP responses (signing at B-LTA needs them);
    verification on arrival uses only what the file carries, so it never waits on a network.
    """
    return ValidationContext(
        trust_roots=trusted_roots(tenant),
        allow_fetching=fetch,
        revocation_mode="soft-fail",
    )
