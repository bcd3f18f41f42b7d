"""Drafts: versions, the approval chain and who may do what; signing is in test_signing.py."""

from __future__ import annotations

import pytest

from saraban.agencies.actors import resolve_actor
from saraban.core.errors import Conflict, PermissionDenied, ValidationFailed
from saraban.documents.models import DraftState, StepRole, StepState
from saraban.documents.services import (
    awaiting,
    draft_cancel,
    draft_create,
    draft_initial,
    draft_return,
    draft_submit,
    draft_update,
    drafts_for,
    may_edit,
    preview_pdf,
)
from saraban.letters.models import RegisterEntry
from saraban.routing.models import Notification

FIELDS = {
    "subject": "ขอความร่วมมือทดสอบระบบสารบรรณอิเล็กทรอนิกส์",
    "salutation": "ผู้ว่าราชการจังหวัดเชียงใหม่",
    "body": ["ด้วยศูนย์เทคโนโลยีสารสนเทศได้พัฒนาระบบ", "จึงเรียนมาเพื่อโปรดพิจารณา"],
    "closing": "ขอแสดงความนับถือ",
}


def _draft(org, **extra):
    return draft_create(
        actor=resolve_actor(org.officer), registry=org.ict_registry, form="external",
        fields={**FIELDS, **extra}, recipients=[{"agency": org.province.pk}],
    )


@pytest.fixture
def draft(org):
    return _draft(org)


def test_create_keeps_version_one_and_previews(org, draft) -> None:
    assert draft.state == DraftState.DRAFTING
    assert draft.latest.number == 1
    assert draft.latest.value("body") == FIELDS["body"]
    assert draft.recipients == [
        {"agency": org.province.pk, "text": "", "channel": "auto", "address": ""}
    ]
    assert preview_pdf(draft).startswith(b"%PDF")
    assert RegisterEntry.objects.count() == 0  # a draft has no number


def test_every_save_is_a_version_naming_who_changed_what(org, draft) -> None:
    officer = resolve_actor(org.officer)
    assert draft_update(actor=officer, draft=draft, fields=FIELDS) is None  # nothing changed
    version = draft_update(actor=officer, draft=draft,
                           fields={**FIELDS, "subject": "เรื่องใหม่"}, note="แก้เรื่อง")
    assert version is not None
    assert (version.number, version.changed, version.author) == (2, ["subject"], org.officer)
    draft.refresh_from_db()
    assert draft.subject == "เรื่องใหม่"
    assert [v.number for v in draft.versions.all()] == [1, 2]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"subject": ""}, "subject_required"),
        ({"subject": "x" * 501}, "subject_too_long"),
        ({"subject": "ก", "colour": "red"}, "draft_field_unknown"),
        ({"subject": "ก", "body": [1, 2]}, "draft_field_invalid"),
    ],
)
def test_bad_fields_are_refused_and_nothing_is_saved(org, draft, fields, code) -> None:
    with pytest.raises(ValidationFailed) as exc:
        draft_update(actor=resolve_actor(org.officer), draft=draft, fields=fields)
    assert exc.value.code == code
    assert draft.versions.count() == 1


def test_chain_reviewer_then_signer(org, draft) -> None:
    officer, clerk, director = (resolve_actor(p) for p in (org.officer, org.clerk, org.director))
    draft_submit(actor=officer, draft=draft, reviewers=[org.clerk], signer=org.director)
    draft.refresh_from_db()
    steps = list(draft.steps_of_round())
    assert [(s.person, s.role, s.state) for s in steps] == [
        (org.clerk, StepRole.REVIEW, StepState.CURRENT),
        (org.director, StepRole.SIGN, StepState.WAITING),
    ]
    assert list(awaiting(org.clerk)) == [draft]
    assert Notification.objects.filter(person=org.clerk, kind="approval").exists()
    # The drafter cannot edit while it is up; the reviewer whose turn it is can.
    assert not may_edit(org.officer, draft)
    assert may_edit(org.clerk, draft)
    # The signer cannot act before the reviewer.
    with pytest.raises(PermissionDenied) as exc:
        draft_initial(actor=director, draft=draft)
    assert exc.value.code == "not_your_turn"
    draft_initial(actor=clerk, draft=draft, comment="ตรวจแล้ว")
    draft.refresh_from_db()
    first, last = draft.steps_of_round()
    assert (first.state, first.version, first.comment) == (StepState.DONE, draft.latest, "ตรวจแล้ว")
    assert last.state == StepState.CURRENT
    assert list(awaiting(org.director)) == [draft]
    # The signer's step is for signing, not initialling.
    with pytest.raises(Conflict) as conflict:
        draft_initial(actor=director, draft=draft)
    assert conflict.value.code == "wrong_step"


def test_return_goes_back_to_the_drafter_and_a_new_round_starts(org, draft) -> None:
    officer, director = resolve_actor(org.officer), resolve_actor(org.director)
    draft_submit(actor=officer, draft=draft, reviewers=[], signer=org.director)
    with pytest.raises(ValidationFailed):
        draft_return(actor=director, draft=draft, comment="  ")
    draft_return(actor=director, draft=draft, comment="แก้ย่อหน้าที่สอง")
    draft.refresh_from_db()
    assert draft.state == DraftState.RETURNED
    assert may_edit(org.officer, draft)
    assert Notification.objects.filter(person=org.officer, text__contains="แก้ย่อหน้าที่สอง")
    draft_update(actor=officer, draft=draft, fields={**FIELDS, "closing": "ขอแสดงความนับถืออย่างสูง"})
    draft_submit(actor=officer, draft=draft, reviewers=[org.clerk], signer=org.director)
    draft.refresh_from_db()
    assert draft.round == 2
    assert [s.state for s in draft.steps.filter(round=1)] == [StepState.RETURNED]
    assert draft.current_step().person == org.clerk


def test_chain_must_be_people_of_the_agency_without_repeats(org, draft) -> None:
    officer = resolve_actor(org.officer)
    with pytest.raises(ValidationFailed) as exc:
        draft_submit(actor=officer, draft=draft, reviewers=[org.director], signer=org.director)
    assert exc.value.code == "chain_duplicate"
    from saraban.agencies.sample import make_person

    outsider = make_person("outsider", "คนนอก", agency=org.province, password=None)
    with pytest.raises(ValidationFailed) as exc:
        draft_submit(actor=officer, draft=draft, reviewers=[], signer=outsider)
    assert exc.value.code == "chain_outside_agency"
    draft.refresh_from_db()
    assert draft.state == DraftState.DRAFTING and not draft.steps.exists()


def test_only_the_drafter_submits_and_cancels(org, draft) -> None:
    with pytest.raises(PermissionDenied):
        draft_submit(actor=resolve_actor(org.clerk), draft=draft, reviewers=[],
                     signer=org.director)
    with pytest.raises(PermissionDenied):
        draft_cancel(actor=resolve_actor(org.clerk), draft=draft, reason="ไม่ใช้")
    draft_cancel(actor=resolve_actor(org.officer), draft=draft, reason="ไม่ใช้แล้ว")
    draft.refresh_from_db()
    assert draft.state == DraftState.CANCELLED


def test_drafts_are_seen_by_drafter_chain_and_registry_clerks(org, draft) -> None:
    from saraban.agencies.sample import make_person

    stranger = make_person("stranger", "ไม่เกี่ยวข้อง", agency=org.ministry, password=None)
    assert draft in drafts_for(org.officer)
    assert draft not in drafts_for(org.director)
    assert draft not in drafts_for(stranger)
    draft_submit(actor=resolve_actor(org.officer), draft=draft, reviewers=[],
                 signer=org.director)
    assert draft in drafts_for(org.director)
