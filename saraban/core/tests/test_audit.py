"""The audit trail: actions write events; ``saraban audit verify`` catches any tampering.

Tampering is done the way an intruder with database access would: raw SQL, bypassing the ORM.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import ActingAssignment, ActingKind, Role, RoleGrant
from saraban.agencies.sample import make_person
from saraban.core.audit import audit_verify, event_hash, history
from saraban.core.errors import PermissionDenied
from saraban.core.models import AuditChain, AuditEvent
from saraban.core.thai import today_bangkok
from saraban.letters.services import LetterDetails, entry_cancel, letter_register_incoming

TABLE = AuditEvent._meta.db_table


def details(subject: str = "ขอเชิญประชุม") -> LetterDetails:
    return LetterDetails(kind="external", subject=subject, sender_text="กรมการปกครอง")


@pytest.fixture
def busy_org(org):
    """The sample organisation with six events in the ministry's chain (its enrolment in the
    exchange, four registrations, a cancel) and three in the province's."""
    clerk = resolve_actor(org.clerk)
    entries = [
        letter_register_incoming(actor=clerk, registry=org.central, details=details(f"เรื่อง {i}"))
        for i in range(4)
    ]
    entry_cancel(actor=clerk, entry=entries[1], reason="ลงทะเบียนซ้ำ")
    province_clerk = make_person("cm-clerk", "สมใจ ชมเมือง", agency=org.province, password=None)
    RoleGrant.objects.create(person=province_clerk, unit=org.province, role=Role.REGISTRY_CLERK)
    for i in range(2):
        letter_register_incoming(
            actor=resolve_actor(province_clerk), registry=org.province_registry,
            details=details(f"จังหวัด {i}"),
        )
    return org


def verify(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("audit", "verify", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def verify_fails(*args: str) -> str:
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("audit", "verify", *args, stdout=io.StringIO(), stderr=err)
    return err.getvalue()


def event_id(agency, seq: int) -> int:
    return AuditEvent.objects.get(agency=agency, seq=seq).pk


def raw(sql: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_registering_writes_an_event_with_actor_and_position(org):
    entry = letter_register_incoming(actor=resolve_actor(org.clerk), registry=org.central,
                                     details=details())
    [event] = history("letter", entry.letter_id)
    assert event.action == "letter_register_incoming"
    assert event.agency_id == org.ministry.pk
    assert (event.actor, event.actor_name) == (org.clerk, org.clerk.display_name())
    assert (event.position, event.position_title) == (org.clerk_post, org.clerk_post.title_th)
    assert event.acting_kind == ""
    assert event.details["number"] == entry.formatted
    assert event.details["subject"] == "ขอเชิญประชุม"
    before = AuditEvent.objects.get(agency=org.ministry, seq=event.seq - 1)
    assert (event.prev_hash, event.hash) == (before.hash, event_hash(event))


def test_an_action_taken_while_acting_records_the_person_and_the_position_acted_for(org):
    ActingAssignment.objects.create(
        person=org.officer, position=org.director_post, kind=ActingKind.ACTING,
        starts_on=today_bangkok(),
    )
    RoleGrant.objects.create(person=org.officer, unit=org.ict, role=Role.REGISTRY_CLERK)
    actor = resolve_actor(org.officer, org.director_post)
    assert (actor.position, actor.acting_kind) == (org.director_post, "acting")
    entry = letter_register_incoming(actor=actor, registry=org.ict_registry, details=details())
    [event] = history("letter", entry.letter_id)
    assert event.actor == org.officer
    assert event.position == org.director_post
    assert event.position_title == org.director_post.title_th
    assert event.acting_kind == "acting"
    assert (entry.registered_by, entry.position, entry.acting_kind) == (
        org.officer, org.director_post, "acting",
    )
    assert "รักษาราชการแทน" in actor.signature_line()


def test_acting_ends_with_its_end_date(org):
    yesterday = today_bangkok() - dt.timedelta(days=1)
    ActingAssignment.objects.create(
        person=org.officer, position=org.director_post, kind=ActingKind.DELEGATED,
        starts_on=yesterday - dt.timedelta(days=7), ends_on=yesterday,
    )
    with pytest.raises(PermissionDenied) as exc:
        resolve_actor(org.officer, org.director_post)
    assert exc.value.code == "position_not_held"


def test_verify_passes_on_an_untouched_trail(busy_org):
    out, err = verify()
    assert out.strip() == "OK 3 chains, 10 events verified"
    assert err == ""


def test_verify_names_an_edited_event(busy_org):
    ministry = busy_org.ministry.pk
    raw(f"UPDATE {TABLE} SET details = %s WHERE id = %s",
        [json.dumps({"subject": "แก้ไขแล้ว"}), event_id(ministry, 3)])
    err = verify_fails()
    assert f"agency {ministry}, event #3 (id {event_id(ministry, 3)}): altered" in err
    assert f"agency {busy_org.province.pk}" not in err


def test_verify_names_an_event_whose_time_was_changed(busy_org):
    ministry = busy_org.ministry.pk
    AuditEvent.objects.filter(agency=ministry, seq=2).update(
        created_at=timezone.now() - dt.timedelta(days=30)
    )
    assert f"agency {ministry}, event #2" in verify_fails()


def test_verify_names_a_deleted_middle_event(busy_org):
    ministry = busy_org.ministry.pk
    raw(f"DELETE FROM {TABLE} WHERE id = %s", [event_id(ministry, 2)])
    assert f"agency {ministry}, event #2: deleted" in verify_fails()


def test_verify_catches_the_deleted_last_event_by_the_chain_head(busy_org):
    ministry = busy_org.ministry.pk
    raw(f"DELETE FROM {TABLE} WHERE id = %s", [event_id(ministry, 5)])
    assert f"agency {ministry}, event #5: deleted" in verify_fails()


def forge(agency_id: int, seq: int, prev_hash: str) -> AuditEvent:
    """An event made to look genuine: its hash is computed the way the system does."""
    forged = AuditEvent(
        agency_id=agency_id, seq=seq, action="letter_register_incoming",
        created_at=timezone.now(), actor_name="ผู้ปลอม", details={"subject": "ปลอม"},
        prev_hash=prev_hash,
    )
    forged.hash = event_hash(forged)
    return forged


def insert_raw(event: AuditEvent) -> None:
    raw(
        f"INSERT INTO {TABLE} (agency_id, seq, action, created_at, actor_name, "
        "position_title, acting_kind, target_type, details, prev_hash, hash) "
        "VALUES (%s, %s, %s, %s, %s, '', '', '', %s, %s, %s)",
        [event.agency_id, event.seq, event.action, event.created_at, event.actor_name,
         json.dumps(event.details), event.prev_hash, event.hash],
    )


def test_verify_catches_a_forged_event_appended_to_the_chain(busy_org):
    ministry = busy_org.ministry.pk
    last = AuditEvent.objects.get(agency=ministry, seq=6)
    insert_raw(forge(ministry, 7, last.hash))
    err = verify_fails()
    forged_id = AuditEvent.objects.get(agency=ministry, seq=7).pk
    assert f"FAIL agency {ministry}, event #7 (id {forged_id}): inserted" in err
    assert f"agency {busy_org.province.pk}" not in err


def test_verify_names_a_forged_event_that_does_not_link(busy_org):
    ministry = busy_org.ministry.pk
    AuditChain.objects.filter(agency=ministry).update(last_seq=7)  # even with the head moved
    insert_raw(forge(ministry, 7, "0" * 64))
    assert f"agency {ministry}, event #7" in verify_fails()


def test_verify_catches_a_forged_event_slipped_into_the_middle(busy_org):
    ministry = busy_org.ministry.pk
    # Make room after event 2, then slip a forged, well-hashed event 3 in.
    raw(f"UPDATE {TABLE} SET seq = seq + 1000 WHERE agency_id = %s AND seq > 2",
        [ministry])
    raw(f"UPDATE {TABLE} SET seq = seq - 999 WHERE agency_id = %s AND seq > 1000",
        [ministry])
    insert_raw(forge(ministry, 3, AuditEvent.objects.get(agency=ministry, seq=2).hash))
    err = verify_fails()
    assert f"FAIL agency {ministry}, event #4" in err  # the first genuine event it displaced


def test_chains_of_two_agencies_are_independent(busy_org):
    ministry, province = busy_org.ministry.pk, busy_org.province.pk
    raw(f"DELETE FROM {TABLE} WHERE id = %s", [event_id(province, 1)])
    err = verify_fails()
    assert f"agency {province}, event #1: deleted" in err
    assert f"agency {ministry}" not in err
    out, _ = verify("--agency", str(ministry))
    assert out.strip() == "OK 1 chains, 6 events verified"
    results = {a: p for a, _n, p in audit_verify()}
    assert results[ministry] is None and results[province] is not None
