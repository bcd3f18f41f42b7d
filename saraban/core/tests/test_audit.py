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
from saraban.core.audit import audit_checkpoint, audit_verify, chain_key, event_hash, history
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
    key = chain_key(AuditChain.objects.get(agency=org.ministry))
    assert (event.prev_hash, event.hash) == (before.hash, event_hash(event, key))
    assert event.hash != event_hash(event)  # keyed: plain SHA-256 does not reproduce it


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
    """An event made to look genuine by someone with the database but not the node's keys:
    its hash is SHA-256 over the canonical form (the chain key is sealed)."""
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
    assert f"FAIL agency {ministry}, event #3" in err  # its hash is not keyed


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


def rewrite_from(agency_id: int, seq: int, *, key: bytes | None = None) -> None:
    """Edit event ``seq`` and recompute every later hash and the chain head, as a database
    administrator would: with SHA-256 (no key), or with ``key`` when given."""
    prev = AuditEvent.objects.get(agency=agency_id, seq=seq - 1).hash if seq > 1 else ""
    for event in AuditEvent.objects.filter(agency=agency_id, seq__gte=seq).order_by("seq"):
        if event.seq == seq:
            event.details = {"subject": "ถูกแก้ไขทั้งห่วงโซ่"}
        event.prev_hash = prev
        event.hash = event_hash(event, key)
        raw(f"UPDATE {TABLE} SET details = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [json.dumps(event.details), event.prev_hash, event.hash, event.pk])
        prev = event.hash
    AuditChain.objects.filter(agency=agency_id).update(last_hash=prev)


def test_verify_catches_a_full_rewrite_with_recomputed_hashes(busy_org):
    ministry = busy_org.ministry.pk
    rewrite_from(ministry, 3)
    err = verify_fails()
    assert f"FAIL agency {ministry}, event #3 (id {event_id(ministry, 3)}): altered" in err


def test_verify_catches_a_rewrite_under_a_key_of_the_attackers_own(busy_org, settings):
    """A new chain key sealed under a key-encryption key the node does not have."""
    from saraban.core.audit import chain_key_purpose
    from saraban.core.keys import seal

    ministry = busy_org.ministry.pk
    own = bytes(range(32))
    forged_seal = seal(own, purpose=chain_key_purpose(ministry, 1), keys=[("test1", bytes(32))])
    AuditChain.objects.filter(agency=ministry).update(key_sealed=forged_seal, keyed_from_seq=1)
    rewrite_from(ministry, 1, key=own)
    assert f"FAIL agency {ministry}, event #1: key" in verify_fails()


def test_verify_catches_a_moved_key_boundary_or_a_removed_key(busy_org):
    ministry, province = busy_org.ministry.pk, busy_org.province.pk
    # Claiming every event predates the key, then re-hashing them all with SHA-256:
    AuditChain.objects.filter(agency=ministry).update(keyed_from_seq=100)
    rewrite_from(ministry, 1)
    AuditChain.objects.filter(agency=province).update(key_sealed="")
    err = verify_fails()
    assert f"FAIL agency {ministry}, event #100: key" in err
    assert f"FAIL agency {province}, event #1: key" in err


def truncate(agency_id: int, keep: int) -> None:
    """Delete the events after ``keep`` and rewind the head to the last one kept."""
    raw(f"DELETE FROM {TABLE} WHERE agency_id = %s AND seq > %s", [agency_id, keep])
    kept = AuditEvent.objects.get(agency=agency_id, seq=keep)
    AuditChain.objects.filter(agency=agency_id).update(last_seq=keep, last_hash=kept.hash)


def test_a_truncated_tail_with_a_rewound_head_is_caught_by_the_checkpoint(busy_org):
    ministry = busy_org.ministry.pk
    assert audit_checkpoint() == 3  # every chain that has events
    assert audit_checkpoint() == 0  # nothing moved since
    truncate(ministry, 4)
    err = verify_fails()
    assert f"FAIL agency {ministry}, event #5: truncated (events #5-#6 are missing" in err


def test_without_a_checkpoint_a_rewound_tail_passes_which_is_why_the_worker_writes_them(
    busy_org,
):
    truncate(busy_org.ministry.pk, 4)
    out, _ = verify()
    assert out.startswith("OK")


def test_a_checkpoint_line_written_without_the_chain_key_is_refused(busy_org, settings):
    ministry = busy_org.ministry.pk
    audit_checkpoint()
    path = settings.SARABAN_AUDIT_CHECKPOINT_DIR / f"agency-{ministry}.jsonl"
    line = json.loads(path.read_text().splitlines()[-1])
    line["seq"] = 3  # "the chain only ever had 3 events"
    path.write_text(json.dumps(line) + "\n")
    assert f"FAIL agency {ministry}, event #3: altered (checkpoint file" in verify_fails()


def test_a_checkpoint_catches_a_rewritten_event_at_its_seq(busy_org):
    """Even someone holding the chain key cannot rewrite what a checkpoint has seen."""
    ministry = busy_org.ministry.pk
    audit_checkpoint()
    rewrite_from(ministry, 2, key=chain_key(AuditChain.objects.get(agency=ministry)))
    assert f"agency {ministry}, event #6 (id {event_id(ministry, 6)}): altered (differs from " \
        "the checkpoint" in verify_fails()


def test_audit_checkpoint_command_and_a_chain_that_predates_keys(busy_org, settings):
    """Events written before chains had keys keep their SHA-256 hashes; the key applies from
    the next event on, and the chain verifies end to end."""
    ministry = busy_org.ministry.pk
    AuditChain.objects.filter(agency=ministry).update(key_sealed="")
    rewrite_from(ministry, 1)  # as the old code hashed them
    entry = letter_register_incoming(actor=resolve_actor(busy_org.clerk),
                                     registry=busy_org.central, details=details("ต่อจากเดิม"))
    head = AuditChain.objects.get(agency=ministry)
    assert head.keyed_from_seq == 7 and head.last_seq == 7
    assert history("letter", entry.letter_id)[0].seq == 7
    written = io.StringIO()
    call_command("audit", "checkpoint", stdout=written)
    assert written.getvalue().strip() == "OK 3 checkpoints written"
    out, _ = verify()
    assert out.strip() == "OK 3 chains, 11 events verified"
