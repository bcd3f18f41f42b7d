"""Letters signed before a certificate lapsed stay verifiable after it lapsed.

A B-T or B-LTA signature carries a trusted timestamp from before the expiry: it proves the
signature existed while the certificate was valid, so verification long after still says
"valid" (with the time it was signed). A B-B signature carries no such proof: once its
certificate has lapsed it can only be shown as "untrusted" (expired).

The clock is moved with ``time_machine``, which changes this process only, so the check runs
the verifier's own code here (``pades.verify_file``, what the sandbox child runs for
``verify_pdf``) rather than in the sandbox's separate process.
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import pytest
import time_machine

from saraban.signatures._trust import trusted_roots
from saraban.signatures.pades import PROBLEM_EXPIRED, Verdict, _verdict_from, sign_pdf, verify_file
from saraban.signatures.services import identity_add_pkcs12
from saraban.signatures.testing import TEST_PASSPHRASE, trust_pki

from .test_pades import letter_pdf

pytestmark = pytest.mark.django_db


def verify_at(pdf: bytes, tenant, moment: dt.datetime, tmp_path: Path) -> Verdict:
    roots = [base64.b64encode(c.dump()).decode() for c in trusted_roots(tenant)]
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    with time_machine.travel(moment, tick=False):
        return _verdict_from(verify_file(str(path), roots, False))


@pytest.fixture
def short_lived(org, pki):
    """The director's identity with a certificate valid for 30 days from now."""
    issued = pki.issue_person("นายสมชาย ใจดี", organisation=org.ministry.name_th, days=30)
    trust_pki(pki)
    return identity_add_pkcs12(actor=None, tenant=org.ministry, person=org.director,
                               p12=pki.pkcs12(issued), passphrase=TEST_PASSPHRASE)


@pytest.mark.parametrize("level", ["B-T", "B-LTA"])
def test_a_timestamped_signature_stays_valid_after_the_certificate_lapsed(
    org, short_lived, tsa, level, tmp_path,
):
    signed = sign_pdf(letter_pdf(), short_lived, secret=TEST_PASSPHRASE, level=level)
    later = short_lived.not_after + dt.timedelta(days=90)
    verdict = verify_at(signed, org.ministry, later, tmp_path)
    assert verdict.status == "valid", verdict
    [sig] = verdict.signatures
    assert (sig.level, sig.problem, sig.checked_at_timestamp) == (level, "", True)
    assert sig.timestamp_time is not None and sig.timestamp_time < short_lived.not_after
    assert "ยืนยันด้วยตราประทับเวลา" in verdict.label_th


def test_a_b_b_signature_is_shown_expired_once_the_certificate_lapsed(
    org, short_lived, no_tsa, tmp_path,
):
    signed = sign_pdf(letter_pdf(), short_lived, secret=TEST_PASSPHRASE, level="B-B")
    before = verify_at(signed, org.ministry, short_lived.not_after - dt.timedelta(days=1),
                       tmp_path)
    assert before.status == "valid" and not before.signatures[0].checked_at_timestamp
    later = verify_at(signed, org.ministry, short_lived.not_after + dt.timedelta(days=90),
                      tmp_path)
    assert later.status == "untrusted"
    assert later.signatures[0].problem == PROBLEM_EXPIRED
