"""Pytest fixtures for signing: a test PKI with its TSA and CRLs, SoftHSM2, pdfsig.

Registered for the whole suite by the root ``conftest.py`` (``pytest_plugins``), so any
area's tests can ask for ``pki``, ``tsa``, ``softhsm`` or ``seal``. Tests that need the
SoftHSM2 token or ``pdfsig`` are skipped with the reason when the tools are missing, except
with ``CI=true``, where they fail: ``make signature-deps`` installs them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from .testing import (
    PKIServices,
    SoftHSMToken,
    TestPKI,
    pdfsig_available,
    softhsm_available,
    softhsm_token,
)


def need_tool(available: bool, what: str) -> None:
    """Skip when a tool is missing, or fail when running in CI (where it must be there)."""
    if available:
        return
    message = f"{what} is not installed (Debian: make signature-deps)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; required when CI=true")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pki_services() -> Iterator[PKIServices]:
    """The HTTP server on 127.0.0.1 answering TSA requests and serving CRLs."""
    services = PKIServices.start()
    yield services
    services.stop()


@pytest.fixture(scope="session")
def pki(pki_services: PKIServices) -> TestPKI:
    """The test CA whose root tests trust (``trust_pki``/``make_identity`` add it)."""
    return TestPKI(pki_services, name="Saraban Test CA")


@pytest.fixture(scope="session")
def stranger_pki(pki_services: PKIServices) -> TestPKI:
    """A second CA that nobody trusts."""
    return TestPKI(pki_services, name="Unknown Test CA")


@pytest.fixture
def tsa(settings: Any, pki: TestPKI) -> TestPKI:
    """``SARABAN_TSA_URL`` pointing at the test PKI's time-stamping authority."""
    settings.SARABAN_TSA_URL = pki.tsa_url
    pki.tsa_down = False
    return pki


@pytest.fixture
def no_tsa(settings: Any) -> None:
    settings.SARABAN_TSA_URL = ""


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHSMToken]:
    """A SoftHSM2 token for this test session (``SOFTHSM2_CONF`` set while it lasts)."""
    need_tool(softhsm_available(), "SoftHSM2 (softhsm2-util and libsofthsm2.so)")
    before = os.environ.get("SOFTHSM2_CONF")
    token = softhsm_token(tmp_path_factory.mktemp("softhsm"))
    yield token
    if before is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = before


@pytest.fixture(scope="session")
def pdfsig() -> str:
    """The path of poppler's ``pdfsig``."""
    need_tool(pdfsig_available(), "poppler's pdfsig (poppler-utils)")
    path = shutil.which("pdfsig")
    assert path is not None
    return path


@pytest.fixture
def seal(org: Any, pki: TestPKI) -> Any:
    """The agency seal of the sample ministry (secret stored; root trusted node-wide)."""
    from .testing import make_seal

    return make_seal(org.ministry, pki)


@pytest.fixture
def director_identity(org: Any, pki: TestPKI) -> Any:
    """The sample director's PKCS#12 identity; sign with ``secret=TEST_PASSPHRASE``."""
    from .testing import make_identity

    return make_identity(org.director, org.ministry, pki)
