"""Fixtures for the evidence tests: the sample organisation's seal and one issued certificate.

``seal`` (the sample ministry's agency seal, from a real test CA) comes from
``saraban.signatures.fixtures``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from saraban.agencies.actors import resolve_actor
from saraban.evidence.models import IssuedDocument
from saraban.evidence.services import evidence_issue

BODY = (
    "ตำแหน่งนักวิชาการคอมพิวเตอร์ชำนาญการ สังกัดศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร "
    "เป็นข้าราชการพลเรือนสามัญ ได้รับเงินเดือนเดือนละ 32,500 บาท\n"
    "ให้ไว้เพื่อใช้ประกอบการขอสินเชื่อเพื่อที่อยู่อาศัย"
)


def issue(org: Any, **overrides: Any) -> IssuedDocument:
    """Issue a certificate in the central registry as the sample clerk."""
    values: dict[str, Any] = {
        "actor": resolve_actor(org.clerk),
        "registry": org.central,
        "kind": "certificate",
        "holder": "นายวิชัย ทำงาน",
        "title": "รับรองการเป็นข้าราชการและเงินเดือน",
        "body": BODY,
        "valid_until": dt.date.today() + dt.timedelta(days=180),
    }
    values.update(overrides)
    return evidence_issue(**values)


@pytest.fixture
def certificate(org: Any, seal: Any) -> IssuedDocument:
    return issue(org)
