from __future__ import annotations

import pytest

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import Role, RoleGrant
from saraban.agencies.sample import make_person


@pytest.fixture
def province_clerk(org):
    person = make_person("cm-clerk", "ประเสริฐ ดอยคำ", agency=org.province, password=None)
    RoleGrant.objects.create(person=person, unit=org.province, role=Role.REGISTRY_CLERK)
    return resolve_actor(person)
