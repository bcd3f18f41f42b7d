"""Suite-wide fixtures: the sample organisation, a private file store, fast hashing."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _file_store(settings, tmp_path: Path) -> None:
    settings.SARABAN_FILES_DIR = tmp_path / "files"


@pytest.fixture(autouse=True)
def _fast_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def org(db):
    from saraban.agencies.sample import build_sample_org

    return build_sample_org(password="saraban-demo")
