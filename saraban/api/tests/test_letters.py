from __future__ import annotations

import hashlib

from django.core.files.uploadedfile import SimpleUploadedFile

from saraban.agencies.models import Role, RoleGrant
from saraban.agencies.sample import make_person
from saraban.letters.models import Blob, Letter, LetterFile

from .conftest import API


def incoming_data(org, **extra):
    return {
        "registry_id": org.central.pk,
        "kind": "external",
        "number": "นร 0505/ว 12",
        "letter_date": "2026-03-02",
        "sender_agency_id": org.ministry.pk,
        "subject": "ขอเชิญประชุมคณะทำงาน",
        "salutation": "เรียน ปลัดกระทรวงมหาดไทย",
        "references": ["หนังสือ มท 0200/1 ลงวันที่ 1 มีนาคม 2569"],
        "enclosures": ["กำหนดการประชุม"],
        **extra,
    }


def test_incoming_with_pdf_gets_receipt_numbers_1_then_2(api, org, pdf_bytes):
    headers = api.as_user("clerk")
    first = api.register(
        "incoming", incoming_data(org), headers,
        file=SimpleUploadedFile("scan.pdf", pdf_bytes, content_type="application/pdf"),
    )
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["entry"]["number"] == 1
    assert body["entry"]["formatted"] == "1"
    assert body["entry"]["series"] == "incoming"
    assert body["entry"]["year"] >= 2568
    assert body["entry"]["registered_at"]
    assert body["letter"]["subject"] == "ขอเชิญประชุมคณะทำงาน"
    assert body["letter"]["sender"] == org.ministry.name_th
    [stored] = body["letter"]["files"]
    assert stored["sha256"] == hashlib.sha256(pdf_bytes).hexdigest()
    assert stored["role"] == "main"
    assert stored["content_type"] == "application/pdf"
    second = api.register("incoming", incoming_data(org, subject="เรื่องที่สอง"), headers)
    assert second.status_code == 201
    assert second.json()["entry"]["number"] == 2


def test_incoming_with_attachments(api, org, pdf_bytes):
    headers = api.as_user("clerk")
    response = api.register(
        "incoming", incoming_data(org), headers,
        file=SimpleUploadedFile("main.pdf", pdf_bytes),
        attachments=[SimpleUploadedFile("a.pdf", pdf_bytes + b"\n%a"),
                     SimpleUploadedFile("b.pdf", pdf_bytes + b"\n%b")],
    )
    assert response.status_code == 201, response.content
    roles = [f["role"] for f in response.json()["letter"]["files"]]
    assert sorted(roles) == ["attachment", "attachment", "main"]


def test_fake_pdf_is_refused_and_nothing_is_stored(api, org):
    headers = api.as_user("clerk")
    response = api.register(
        "incoming", incoming_data(org), headers,
        file=SimpleUploadedFile("scan.pdf", b"MZ not a pdf", content_type="application/pdf"),
    )
    assert response.status_code == 400
    assert response.json()["code"] == "file_type_not_allowed"
    assert not Letter.objects.exists()
    assert not Blob.objects.exists()
    assert not LetterFile.objects.exists()


def test_unknown_agency_is_400_and_nothing_created(api, org):
    headers = api.as_user("clerk")
    response = api.register("incoming", incoming_data(org, sender_agency_id=999_999), headers)
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_agency"
    assert response.json()["field"] == "sender_agency_id"
    assert not Letter.objects.exists()


def test_unknown_registry_is_400(api, org):
    headers = api.as_user("clerk")
    response = api.register("incoming", incoming_data(org, registry_id=999_999), headers)
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_registry"


def test_wrong_kind_is_400_with_its_code(api, org):
    headers = api.as_user("clerk")
    response = api.register("incoming", incoming_data(org, kind="postcard"), headers)
    assert response.status_code == 400
    assert response.json()["code"] == "bad_kind"
    assert not Letter.objects.exists()


def test_malformed_data_is_invalid_request(api, org):
    headers = api.as_user("clerk")
    response = api.post(f"{API}/letters/incoming", {"data": "{not json"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    response = api.register("incoming", {"registry_id": "x", "subject": "s"}, headers)
    assert response.status_code == 422
    assert response.json()["details"]["errors"]
    assert not Letter.objects.exists()


def test_registering_needs_a_registry_clerk(api, org):
    headers = api.as_user("officer")
    response = api.register("incoming", incoming_data(org), headers)
    assert response.status_code == 403
    assert response.json()["code"] == "registry_forbidden"


def test_position_not_held_is_refused(api, org):
    headers = api.as_user("clerk")
    data = incoming_data(org, position_id=org.director_post.pk)
    response = api.register("incoming", data, headers)
    assert response.status_code == 403
    assert response.json()["code"] == "position_not_held"


def test_outgoing_circular_gets_its_number(api, org):
    headers = api.as_user("clerk")
    data = {
        "registry_id": org.central.pk,
        "kind": "external",
        "series": "circular",
        "subject": "แจ้งเวียนแนวทางการใช้ระบบสารบรรณอิเล็กทรอนิกส์",
        "recipients": [
            {"agency_id": org.province.pk, "channel": "saraban"},
            {"text": "ผู้ว่าราชการจังหวัดทุกจังหวัด", "channel": "email",
             "address": "saraban@example.go.th"},
        ],
    }
    response = api.register("outgoing", data, headers)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["entry"]["formatted"] == "มท 0200/ว 1"
    assert body["entry"]["display"] == "ที่ มท 0200/ว 1"
    assert body["letter"]["number"] == "มท 0200/ว 1"
    assert body["letter"]["is_circular"] is True
    assert [d["channel"] for d in body["letter"]["dispatches"]] == ["saraban", "email"]
    assert body["letter"]["dispatches"][0]["recipient"] == org.province.name_th


def test_outgoing_with_wrong_series_or_unknown_recipient_is_400(api, org):
    headers = api.as_user("clerk")
    base = {"registry_id": org.central.pk, "kind": "external", "subject": "ทดสอบ",
            "recipient_text": "จังหวัดเชียงใหม่"}
    response = api.register("outgoing", {**base, "series": "incoming"}, headers)
    assert (response.status_code, response.json()["code"]) == (400, "bad_series")
    response = api.register(
        "outgoing", {**base, "recipients": [{"agency_id": 999_999, "channel": "post"}]}, headers
    )
    assert (response.status_code, response.json()["code"]) == (400, "unknown_agency")
    assert not Letter.objects.exists()


def test_get_letter_with_entries_files_and_references(api, org, pdf_bytes):
    headers = api.as_user("clerk")
    first = api.register("incoming", incoming_data(org), headers,
                         file=SimpleUploadedFile("scan.pdf", pdf_bytes)).json()
    first_id = first["letter"]["id"]
    reply = api.register(
        "incoming", incoming_data(org, references=[first_id, "หนังสือเดิม"]), headers
    ).json()
    response = api.get(f"{API}/letters/{reply['letter']['id']}", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["references"] == [{"letter_id": first_id, "text": ""},
                                  {"letter_id": None, "text": "หนังสือเดิม"}]
    assert body["enclosures"] == ["กำหนดการประชุม"]
    assert body["entries"][0]["cancelled"] is False
    letter = api.get(f"{API}/letters/{first_id}", headers=headers).json()
    [item] = letter["files"]
    download = api.get(item["url"], headers=headers)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == pdf_bytes
    assert download["Content-Type"] == "application/pdf"


def test_reference_to_an_invisible_letter_is_400(api, org):
    headers = api.as_user("clerk")
    response = api.register("incoming", incoming_data(org, references=[999_999]), headers)
    assert (response.status_code, response.json()["code"]) == (400, "unknown_reference")


def test_unknown_letter_is_404_letter_not_found(api, org):
    response = api.get(f"{API}/letters/999999", headers=api.as_user("clerk"))
    assert response.status_code == 404
    assert response.json()["code"] == "letter_not_found"


def test_secret_letter_is_hidden_from_director_in_detail_list_and_count(api, org):
    clerk = api.as_user("clerk")
    director = api.as_user("director")
    open_letter = api.register("incoming", incoming_data(org), clerk).json()
    secret = api.register(
        "incoming", incoming_data(org, secrecy=1, subject="เรื่องลับ"), clerk
    ).json()
    assert secret["entry"]["series"] == "secret_incoming"
    secret_id = secret["letter"]["id"]

    assert api.get(f"{API}/letters/{open_letter['letter']['id']}", headers=director).status_code \
        == 200
    response = api.get(f"{API}/letters/{secret_id}", headers=director)
    assert response.status_code == 404
    assert response.json()["code"] == "letter_not_found"
    # The file of a hidden letter is hidden too.
    assert api.get(f"{API}/letters/{secret_id}/files/1", headers=director).status_code == 404

    url = f"{API}/registries/{org.central.pk}/series/secret_incoming/entries"
    seen_by_director = api.get(url, headers=director).json()
    assert (seen_by_director["total"], seen_by_director["items"]) == (0, [])
    seen_by_clerk = api.get(url, headers=clerk).json()
    assert seen_by_clerk["total"] == 1
    assert seen_by_clerk["items"][0]["letter"]["id"] == secret_id


def test_named_secret_reader_sees_the_secret_letter(api, org):
    clerk = api.as_user("clerk")
    secret = api.register(
        "incoming", incoming_data(org, secrecy=2, secret_reader_ids=[org.director.pk]), clerk
    ).json()
    response = api.get(f"{API}/letters/{secret['letter']['id']}", headers=api.as_user("director"))
    assert response.status_code == 200


def test_letters_of_another_tenant_are_invisible(api, org):
    province_clerk = make_person("pclerk", "สมหญิง จังหวัด", agency=org.province,
                                 password="saraban-demo", title="นางสาว")
    RoleGrant.objects.create(person=province_clerk, unit=org.province, role=Role.REGISTRY_CLERK)
    pclerk = api.as_user("pclerk")
    clerk = api.as_user("clerk")
    theirs = api.register(
        "incoming", incoming_data(org, registry_id=org.province_registry.pk), pclerk
    )
    assert theirs.status_code == 201, theirs.content
    assert theirs.json()["entry"]["number"] == 1
    ours = api.register("incoming", incoming_data(org), clerk)
    assert ours.json()["entry"]["number"] == 1

    response = api.get(f"{API}/letters/{theirs.json()['letter']['id']}", headers=clerk)
    assert (response.status_code, response.json()["code"]) == (404, "letter_not_found")
    response = api.get(f"{API}/letters/{ours.json()['letter']['id']}", headers=pclerk)
    assert response.status_code == 404

    listed = api.get(
        f"{API}/registries/{org.province_registry.pk}/series/incoming/entries", headers=clerk
    )
    assert (listed.status_code, listed.json()["code"]) == (404, "registry_not_found")
    own = api.get(f"{API}/registries/{org.central.pk}/series/incoming/entries", headers=clerk)
    assert own.json()["total"] == 1
    assert [i["letter"]["id"] for i in own.json()["items"]] == [ours.json()["letter"]["id"]]

    # And the province clerk cannot register into the ministry's registry.
    response = api.register("incoming", incoming_data(org), pclerk)
    assert (response.status_code, response.json()["code"]) == (403, "registry_forbidden")


def test_cancelled_entry_shows_as_cancelled(api, org):
    from saraban.agencies.actors import resolve_actor
    from saraban.letters.models import RegisterEntry
    from saraban.letters.services import entry_cancel

    headers = api.as_user("clerk")
    body = api.register("incoming", incoming_data(org), headers).json()
    entry_cancel(actor=resolve_actor(org.clerk),
                 entry=RegisterEntry.objects.get(pk=body["entry"]["id"]), reason="ลงซ้ำ")
    letter = api.get(f"{API}/letters/{body['letter']['id']}", headers=headers).json()
    [entry] = letter["entries"]
    assert (entry["cancelled"], entry["cancel_reason"], entry["number"]) == (True, "ลงซ้ำ", 1)
