"""The drafting web UI: compose with a live preview, versions and their comparison, the
approval chain (initial, return, sign) and who may do what. Bad input gets a Thai message next
to its field and changes nothing."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from saraban.agencies.actors import resolve_actor
from saraban.documents.models import Draft, DraftState, DraftVersion, StepState
from saraban.documents.services import draft_create, draft_submit

BODY = "ด้วยศูนย์เทคโนโลยีสารสนเทศได้พัฒนาระบบ\nสารบรรณอิเล็กทรอนิกส์\n\nจึงเรียนมาเพื่อโปรดพิจารณา"


def client_for(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def compose_data(org, **extra) -> dict[str, object]:
    data: dict[str, object] = {
        "form": "external", "registry": org.ict_registry.pk, "urgency": 1, "secrecy": 0,
        "subject": "ขอความร่วมมือทดสอบระบบ", "salutation": "ผู้ว่าราชการจังหวัดเชียงใหม่",
        "references": "หนังสือ ชม 0017/1\n\nหนังสือ ชม 0017/2", "enclosures": "",
        "body": BODY, "closing": "ขอแสดงความนับถือ", "copies_to": "", "owning_unit": "",
        "phone": "0 2222 1141", "email": "",
        "rcpt-TOTAL_FORMS": 2, "rcpt-INITIAL_FORMS": 0,
        "rcpt-0-agency": org.province.pk, "rcpt-0-text": "", "rcpt-0-channel": "auto",
        "rcpt-0-address": "",
        "rcpt-1-agency": "", "rcpt-1-text": "บริษัท ตัวอย่าง จำกัด", "rcpt-1-channel": "email",
        "rcpt-1-address": "info@example.co.th",
    }
    data.update(extra)
    return data


def make_draft(org, subject="ขอความร่วมมือทดสอบระบบ"):
    return draft_create(
        actor=resolve_actor(org.officer), registry=org.ict_registry, form="external",
        fields={"subject": subject, "salutation": "ผู้ว่าราชการจังหวัดเชียงใหม่",
                "body": ["ย่อหน้าแรก", "จึงเรียนมาเพื่อโปรดพิจารณา"],
                "closing": "ขอแสดงความนับถือ"},
        recipients=[{"agency": org.province.pk}],
    )


def edit_data(draft, **extra) -> dict[str, object]:
    latest = draft.latest
    data: dict[str, object] = {
        "urgency": draft.urgency, "note": "",
        **{k: latest.value(k) for k in ("subject", "salutation", "addressee", "closing",
                                        "owning_unit", "phone", "email")},
        **{k: "\n".join(latest.value(k)) for k in ("references", "enclosures", "copies_to")},
        "body": "\n\n".join(latest.value("body")),
        "rcpt-TOTAL_FORMS": len(draft.recipients), "rcpt-INITIAL_FORMS": 0,
    }
    for i, r in enumerate(draft.recipients):
        data.update({f"rcpt-{i}-agency": r["agency"] or "", f"rcpt-{i}-text": r["text"],
                     f"rcpt-{i}-channel": r["channel"], f"rcpt-{i}-address": r["address"]})
    data.update(extra)
    return data


def outsider(org):
    from saraban.agencies.sample import make_person

    return make_person("outsider", "คนนอก ระบบ", agency=org.province, password=None)


# ---- compose ------------------------------------------------------------------------------


def test_compose_page_offers_the_six_forms_and_the_nearest_registry(org) -> None:
    html = client_for(org.officer).get(reverse("web:draft_new")).content.decode()
    for name in ("หนังสือภายนอก", "บันทึกข้อความ", "หนังสือประทับตรา", "คำสั่ง", "ประกาศ",
                 "หนังสือรับรอง"):
        assert f">{name}</option>" in html
    assert ">ใบอนุญาต</option>" not in html  # issued as evidence documents, not drafted
    # The officer works in a group under ศสป.: its registry is chosen; only the agency's own.
    select = html[html.index('name="registry"'):]
    select = select[: select.index("</select>")]
    assert re.findall(r'<option value="(\d+)"( selected)?>', select) == [
        (str(org.central.pk), ""), (str(org.ict_registry.pk), " selected")]
    assert 'hx-post="/drafts/preview/"' in html and "keyup changed delay:800ms" in html


def test_officer_saves_a_draft_with_paragraphs_and_recipients(org) -> None:
    response = client_for(org.officer).post(reverse("web:draft_new"), compose_data(org))
    draft = Draft.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("web:draft_detail", args=[draft.pk])
    assert (draft.form, draft.registry, draft.urgency, draft.state) == (
        "external", org.ict_registry, 1, DraftState.DRAFTING)
    version = draft.latest
    assert version.value("body") == [
        "ด้วยศูนย์เทคโนโลยีสารสนเทศได้พัฒนาระบบ สารบรรณอิเล็กทรอนิกส์",
        "จึงเรียนมาเพื่อโปรดพิจารณา",
    ]
    assert version.value("references") == ["หนังสือ ชม 0017/1", "หนังสือ ชม 0017/2"]
    assert draft.recipients == [
        {"agency": org.province.pk, "text": "", "channel": "auto", "address": ""},
        {"agency": None, "text": "บริษัท ตัวอย่าง จำกัด", "channel": "email",
         "address": "info@example.co.th"},
    ]
    html = client_for(org.officer).get(response["Location"]).content.decode()
    assert "กำลังร่าง" in html and "จังหวัดเชียงใหม่" in html
    assert reverse("web:draft_pdf", args=[draft.pk]) in html


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"subject": "  "}, "กรุณาระบุเรื่อง"),
        ({"subject": "ก" * 501}, "เรื่องยาวเกิน 500 ตัวอักษร"),
        ({"body": "ก" * 20_001}, "ข้อความยาวเกินกำหนด"),
        ({"rcpt-0-channel": "pigeon"}, "pigeon"),
        ({"rcpt-0-agency": 999_999}, "เลือกตัวเลือกที่ถูกต้อง"),
        ({"form": "licence"}, "เลือกตัวเลือกที่ถูกต้อง"),
    ],
)
def test_bad_input_says_why_in_thai_and_saves_nothing(org, extra, message) -> None:
    response = client_for(org.officer).post(reverse("web:draft_new"), compose_data(org, **extra))
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'class="field-error"' in html
    assert not Draft.objects.exists()
    # What was typed is still there.
    assert "ผู้ว่าราชการจังหวัดเชียงใหม่" in html


def test_a_registry_of_another_agency_is_refused(org) -> None:
    response = client_for(org.officer).post(
        reverse("web:draft_new"), compose_data(org, registry=org.province_registry.pk))
    assert response.status_code == 400
    assert "เลือกตัวเลือกที่ถูกต้อง" in response.content.decode()
    assert not Draft.objects.exists()


def test_saving_unchanged_says_so_and_a_change_is_a_new_version(org) -> None:
    draft = make_draft(org)
    client = client_for(org.officer)
    url = reverse("web:draft_edit", args=[draft.pk])
    page = client.get(url).content.decode()
    assert "ย่อหน้าแรก\n\nจึงเรียนมาเพื่อโปรดพิจารณา" in page
    response = client.post(url, edit_data(draft), follow=True)
    assert "ไม่มีการเปลี่ยนแปลง" in response.content.decode()
    assert draft.versions.count() == 1
    response = client.post(url, edit_data(draft, subject="ขอความร่วมมือทดสอบระบบ (แก้ไข)",
                                          urgency=2, note="แก้ตามที่ผู้อำนวยการสั่ง"),
                           follow=True)
    assert "บันทึกฉบับแก้ไขที่ 2 แล้ว" in response.content.decode()
    version = draft.versions.get(number=2)
    assert version.changed == ["subject", "urgency"]
    assert version.note == "แก้ตามที่ผู้อำนวยการสั่ง"
    draft.refresh_from_db()
    assert (draft.subject, draft.urgency) == ("ขอความร่วมมือทดสอบระบบ (แก้ไข)", 2)


def test_a_bad_edit_keeps_the_last_version(org) -> None:
    draft = make_draft(org)
    response = client_for(org.officer).post(reverse("web:draft_edit", args=[draft.pk]),
                                            edit_data(draft, subject=""))
    assert response.status_code == 400
    assert "กรุณาระบุเรื่อง" in response.content.decode()
    assert draft.versions.count() == 1


# ---- preview ------------------------------------------------------------------------------


def test_preview_renders_the_unsaved_fields_as_a_pdf(org) -> None:
    client = client_for(org.officer)
    response = client.post(reverse("web:draft_preview"), compose_data(org, subject=""))
    assert response.status_code == 200
    src = re.search(r'<iframe src="([^"#]+)[#"]', response.content.decode())
    assert src is not None  # a preview without a subject yet is still shown
    pdf = client.get(src[1])
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith("inline")
    assert pdf.content.startswith(b"%PDF")
    assert not Draft.objects.exists()  # nothing saved
    # Another person's session does not see it.
    assert client_for(org.clerk).get(src[1]).status_code == 404


def test_preview_of_an_edit_and_a_preview_error_in_thai(org) -> None:
    draft = make_draft(org)
    client = client_for(org.officer)
    url = reverse("web:draft_preview_edit", args=[draft.pk])
    response = client.post(url, edit_data(draft, body="ย่อหน้าใหม่ที่ยังไม่บันทึก"))
    src = re.search(r'<iframe src="([^"#]+)[#"]', response.content.decode())
    assert src is not None
    assert client.get(src[1]).content.startswith(b"%PDF")
    assert draft.versions.count() == 1
    response = client.post(url, edit_data(draft, subject="ก" * 501))
    html = response.content.decode()
    assert "ยังแสดงตัวอย่างไม่ได้" in html and "เรื่องยาวเกิน 500 ตัวอักษร" in html
    assert "<iframe" not in html


def test_csp_allows_the_preview_frame(org) -> None:
    draft = make_draft(org)
    response = client_for(org.officer).get(reverse("web:draft_edit", args=[draft.pk]))
    csp = response["Content-Security-Policy"]
    assert "frame-src 'self'" in csp and "script-src 'self'" in csp
    assert "<script>" not in response.content.decode()
    assert ' style="' not in response.content.decode()


# ---- versions -----------------------------------------------------------------------------


def test_versions_list_names_the_changed_fields_in_thai_and_compares(org) -> None:
    draft = make_draft(org)
    client = client_for(org.officer)
    client.post(reverse("web:draft_edit", args=[draft.pk]),
                edit_data(draft, body="ย่อหน้าแรก\n\nย่อหน้าที่เพิ่ม\n\nจึงเรียนมาเพื่อโปรดพิจารณา",
                          closing="ขอแสดงความนับถืออย่างสูง", note="เพิ่มย่อหน้า"))
    html = client.get(reverse("web:draft_versions", args=[draft.pk])).content.decode()
    assert "ข้อความ, คำลงท้าย" in html and "เพิ่มย่อหน้า" in html
    assert "วิชัย ทำงาน" in html
    assert reverse("web:draft_version_pdf", args=[draft.pk, 1]) in html
    pdf = client.get(reverse("web:draft_version_pdf", args=[draft.pk, 1]))
    assert pdf.content.startswith(b"%PDF")
    assert client.get(reverse("web:draft_version_pdf", args=[draft.pk, 9])).status_code == 404
    compare = client.get(reverse("web:draft_compare", args=[draft.pk]), {"a": 1, "b": 2})
    html = compare.content.decode()
    assert '<p class="diff-ins"><ins>ย่อหน้าที่เพิ่ม</ins></p>' in html
    assert '<p class="diff-del"><del>ขอแสดงความนับถือ</del></p>' in html
    assert '<p class="diff-same">ย่อหน้าแรก</p>' in html


# ---- permissions --------------------------------------------------------------------------


def test_a_person_outside_the_draft_gets_not_found(org) -> None:
    draft = make_draft(org)
    client = client_for(outsider(org))
    for name in ("web:draft_detail", "web:draft_edit", "web:draft_pdf", "web:draft_versions",
                 "web:draft_compare", "web:draft_submit"):
        assert client.get(reverse(name, args=[draft.pk])).status_code == 404, name
    response = client.post(reverse("web:draft_step", args=[draft.pk, "initial"]), {})
    assert response.status_code == 404
    assert client.post(reverse("web:draft_preview_edit", args=[draft.pk]),
                       edit_data(draft)).status_code == 404


def test_the_drafter_cannot_edit_while_it_is_up_and_only_the_drafter_submits(org) -> None:
    draft = make_draft(org)
    # The central clerk keeps the registries under สป.มท.: sees the draft, cannot submit it.
    clerk = client_for(org.clerk)
    assert clerk.get(reverse("web:draft_detail", args=[draft.pk])).status_code == 200
    assert clerk.get(reverse("web:draft_submit", args=[draft.pk])).status_code == 403
    assert clerk.get(reverse("web:draft_edit", args=[draft.pk])).status_code == 403
    draft_submit(actor=resolve_actor(org.officer), draft=draft, reviewers=[],
                 signer=org.director)
    officer = client_for(org.officer)
    response = officer.post(reverse("web:draft_edit", args=[draft.pk]),
                            edit_data(draft, subject="แก้ระหว่างเสนอ"))
    assert response.status_code == 403
    assert "ท่านแก้ไขร่างนี้ไม่ได้ในขั้นตอนนี้" in response.content.decode()
    assert draft.versions.count() == 1
    # Not the officer's turn: the action refuses, in Thai.
    response = officer.post(reverse("web:draft_step", args=[draft.pk, "initial"]), {})
    assert response.status_code == 403
    assert "ยังไม่ถึงขั้นตอนของท่าน" in response.content.decode()


# ---- the chain ----------------------------------------------------------------------------


def test_submit_page_lists_executives_first_and_requires_a_signer(org) -> None:
    draft = make_draft(org)
    client = client_for(org.officer)
    html = client.get(reverse("web:draft_submit", args=[draft.pk])).content.decode()
    signer = html[html.index('name="signer"'):]
    options = re.findall(r'<option value="(\d+)"', signer[: signer.index("</select>")])
    assert options[0] == str(org.director.pk)
    response = client.post(reverse("web:draft_submit", args=[draft.pk]),
                           {"reviewer_0": "", "signer": ""})
    assert response.status_code == 400
    assert "กรุณาเลือกผู้ลงนาม" in response.content.decode()
    response = client.post(reverse("web:draft_submit", args=[draft.pk]),
                           {"reviewer_0": org.director.pk, "signer": org.director.pk})
    assert response.status_code == 400
    assert "ผู้ตรวจและผู้ลงนามต้องไม่ซ้ำกัน" in response.content.decode()
    draft.refresh_from_db()
    assert draft.state == DraftState.DRAFTING and not draft.steps.exists()


def test_reviewer_rows_added_in_the_browser_keep_their_order(org) -> None:
    from saraban.agencies.sample import make_person

    extra = make_person("deputy", "รอง ผู้อำนวยการ", agency=org.ministry, password=None)
    draft = make_draft(org)
    response = client_for(org.officer).post(reverse("web:draft_submit", args=[draft.pk]), {
        "reviewer_rows": 4, "reviewer_0": "", "reviewer_1": org.clerk.pk, "reviewer_2": "",
        "reviewer_3": extra.pk, "signer": org.director.pk,
    })
    assert response.status_code == 302
    draft.refresh_from_db()
    assert [(s.person, s.state) for s in draft.steps_of_round()] == [
        (org.clerk, StepState.CURRENT), (extra, StepState.WAITING),
        (org.director, StepState.WAITING),
    ]


def test_reviewer_initials_then_signer_returns_with_a_required_comment(org) -> None:
    draft = make_draft(org)
    officer = client_for(org.officer)
    response = officer.post(reverse("web:draft_submit", args=[draft.pk]),
                            {"reviewer_0": org.clerk.pk, "signer": org.director.pk})
    assert response.status_code == 302
    clerk = client_for(org.clerk)
    listing = clerk.get(reverse("web:draft_list")).content.decode()
    assert 'id="nav-drafts"' in listing and 'data-waiting="1"' in listing
    assert "รอลงชื่อย่อ" in listing
    page = clerk.get(reverse("web:draft_detail", args=[draft.pk])).content.decode()
    assert "ลงชื่อย่อ (ผ่าน)" in page and "ส่งคืนแก้ไข" in page
    assert "รหัสผ่านใบรับรอง (PIN)" not in page  # only the signer signs
    response = clerk.post(reverse("web:draft_step", args=[draft.pk, "initial"]),
                          {"comment": "ตรวจแล้ว ถูกต้อง"})
    assert response.status_code == 302
    director = client_for(org.director)
    listing = director.get(reverse("web:draft_list")).content.decode()
    assert "รอลงนาม" in listing and 'data-waiting="1"' in listing
    page = director.get(reverse("web:draft_detail", args=[draft.pk])).content.decode()
    assert "รหัสผ่านใบรับรอง (PIN)" in page and 'id="sign-draft"' in page
    # Returning needs a reason; without one nothing changes.
    response = director.post(reverse("web:draft_step", args=[draft.pk, "return"]),
                             {"comment": " "})
    assert response.status_code == 400
    assert "กรุณาระบุเหตุผลที่ส่งคืน" in response.content.decode()
    draft.refresh_from_db()
    assert draft.state == DraftState.IN_REVIEW
    response = director.post(reverse("web:draft_step", args=[draft.pk, "return"]),
                             {"comment": "แก้ย่อหน้าที่สอง"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.state == DraftState.RETURNED
    # The chain on the draft page: who, what, when, the comments.
    page = officer.get(reverse("web:draft_detail", args=[draft.pk])).content.decode()
    assert "ส่งคืนแก้ไข" in page
    assert "ตรวจแล้ว ถูกต้อง" in page and "แก้ย่อหน้าที่สอง" in page
    assert "ผ่านแล้ว" in page and "ส่งคืน" in page
    assert 'id="edit-draft"' in page and 'id="submit-draft"' in page
    # Submitting again offers the same chain.
    html = officer.get(reverse("web:draft_submit", args=[draft.pk])).content.decode()
    assert re.search(rf'<option value="{org.clerk.pk}" selected>', html)
    assert re.search(rf'<option value="{org.director.pk}" selected>', html)


def test_cancel_needs_a_reason(org) -> None:
    draft = make_draft(org)
    client = client_for(org.officer)
    response = client.post(reverse("web:draft_cancel", args=[draft.pk]), {"reason": ""})
    assert response.status_code == 400
    assert "กรุณาระบุเหตุผล" in response.content.decode()
    draft.refresh_from_db()
    assert draft.state == DraftState.DRAFTING
    response = client.post(reverse("web:draft_cancel", args=[draft.pk]),
                           {"reason": "ไม่ต้องส่งแล้ว"}, follow=True)
    draft.refresh_from_db()
    assert draft.state == DraftState.CANCELLED
    assert "ยกเลิก" in response.content.decode()


def test_the_list_costs_the_same_queries_for_many_drafts(org) -> None:
    client = client_for(org.officer)
    make_draft(org)
    client.get(reverse("web:draft_list"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("web:draft_list"))
    for i in range(8):
        make_draft(org, subject=f"เรื่องที่ {i}")
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("web:draft_list"))
    assert response.content.decode().count('class="draft-row"') == 9
    assert len(many) == len(few)


def test_a_version_pdf_of_another_draft_is_not_served(org) -> None:
    draft = make_draft(org)
    other = make_draft(org, subject="อีกเรื่อง")
    assert DraftVersion.objects.filter(draft=other).exists()
    response = client_for(outsider(org)).get(
        reverse("web:draft_version_pdf", args=[draft.pk, 1]))
    assert response.status_code == 404


# ---- signing ------------------------------------------------------------------------------


def _up_to_director(org):
    draft = make_draft(org)
    draft_submit(actor=resolve_actor(org.officer), draft=draft, reviewers=[],
                 signer=org.director)
    return draft


def test_a_wrong_pin_is_said_next_to_it_and_nothing_is_numbered(org, pki, no_tsa) -> None:
    from saraban.letters.models import RegisterEntry
    from saraban.signatures.testing import make_identity

    make_identity(org.director, org.ministry, pki)
    draft = _up_to_director(org)
    response = client_for(org.director).post(
        reverse("web:draft_step", args=[draft.pk, "sign"]), {"secret": "ผิด"})
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r'id="row-secret">.*?class="field-error"', html, re.S)
    draft.refresh_from_db()
    assert draft.state == DraftState.IN_REVIEW and draft.letter is None
    assert not RegisterEntry.objects.exists()


def test_without_a_certificate_the_signer_is_told_in_thai(org, no_tsa) -> None:
    draft = _up_to_director(org)
    response = client_for(org.director).post(
        reverse("web:draft_step", args=[draft.pk, "sign"]), {"secret": ""})
    assert response.status_code == 400
    assert "ท่านยังไม่มีใบรับรองอิเล็กทรอนิกส์สำหรับลงนาม" in response.content.decode()


def test_the_signer_signs_and_lands_on_the_numbered_letter(org, pki, no_tsa) -> None:
    from saraban.signatures.testing import TEST_PASSPHRASE, make_identity

    make_identity(org.director, org.ministry, pki)
    draft = _up_to_director(org)
    director = client_for(org.director)
    response = director.post(reverse("web:draft_step", args=[draft.pk, "sign"]),
                             {"secret": TEST_PASSPHRASE})
    draft.refresh_from_db()
    assert draft.state == DraftState.SIGNED and draft.letter is not None
    assert response.status_code == 302
    assert response["Location"] == reverse("web:letter_detail", args=[draft.letter.pk])
    page = director.get(response["Location"]).content.decode()
    assert f"ลงนามแล้ว หนังสือเลขที่ {draft.letter.number}" in page
    # The drafter's list links the signed draft to its letter.
    listing = client_for(org.officer).get(reverse("web:draft_list")).content.decode()
    assert reverse("web:letter_detail", args=[draft.letter.pk]) in listing
    assert "ลงนามและออกเลขแล้ว" in listing


def test_a_reviewer_initials_in_the_position_they_act_for(org) -> None:
    from saraban.agencies.models import ActingAssignment
    from saraban.core.thai import today_bangkok

    ActingAssignment.objects.create(position=org.director_post, person=org.clerk, kind="acting",
                                    starts_on=today_bangkok())
    draft = make_draft(org)
    draft_submit(actor=resolve_actor(org.officer), draft=draft, reviewers=[org.clerk],
                 signer=org.director)
    draft.refresh_from_db()
    clerk = client_for(org.clerk)
    page = clerk.get(reverse("web:draft_detail", args=[draft.pk])).content.decode()
    assert "รักษาราชการแทน ผู้อำนวยการศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร" in page
    url = reverse("web:draft_step", args=[draft.pk, "initial"])
    # A position the clerk neither holds nor acts for is refused; nothing changes.
    response = clerk.post(url, {"position": org.officer_post.pk})
    assert response.status_code == 400
    assert draft.steps_of_round().first().state == StepState.CURRENT
    response = clerk.post(url, {"position": org.director_post.pk, "comment": "ผ่าน"})
    assert response.status_code == 302
    step = draft.steps_of_round().first()
    assert (step.state, step.acted_position, step.acting_kind) == (
        StepState.DONE, org.director_post, "acting")
    page = clerk.get(reverse("web:draft_detail", args=[draft.pk])).content.decode()
    chain = page[page.index('id="chain"'):]
    assert "รักษาราชการแทน ผู้อำนวยการศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร" in chain
