"""An agency admin sets the letterhead; drafts print its emblem and contact lines."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from saraban.agencies.actors import resolve_actor
from saraban.documents.models import Letterhead
from saraban.documents.render import placeholder_emblem
from saraban.documents.services import draft_create, form_data


def _admin_client(client, org):
    org.admin.is_staff = True
    org.admin.save()
    client.force_login(org.admin)
    return client


def test_agency_admin_uploads_an_emblem_used_by_drafts(client, org) -> None:
    emblem = placeholder_emblem(64)
    response = _admin_client(client, org).post(reverse("admin:documents_letterhead_add"), {
        "agency": org.ict.pk, "address": "ถนนอัษฎางค์ กรุงเทพฯ", "phone": "0 2222 0000",
        "email": "", "emblem_file": SimpleUploadedFile("garuda.png", emblem, "image/png"),
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    head = Letterhead.objects.get(agency=org.ict)
    assert head.emblem is not None and bytes(head.emblem) == emblem
    draft = draft_create(actor=resolve_actor(org.officer), registry=org.ict_registry,
                         form="external", fields={"subject": "ทดสอบตรา"},
                         recipients=[{"text": "ผู้รับ"}])
    data = form_data(draft)
    assert (data.emblem, data.phone, data.agency_address) == (
        emblem, "0 2222 0000", "ถนนอัษฎางค์ กรุงเทพฯ")


def test_an_emblem_that_is_not_an_image_is_refused(client, org) -> None:
    response = _admin_client(client, org).post(reverse("admin:documents_letterhead_add"), {
        "agency": org.ict.pk, "address": "", "phone": "", "email": "",
        "emblem_file": SimpleUploadedFile("garuda.png", b"MZ\x90\x00 not a picture"),
    })
    assert response.status_code == 200
    assert "รองรับเฉพาะไฟล์ PNG หรือ SVG" in response.content.decode()
    assert not Letterhead.objects.exists()


def test_another_tenants_admin_cannot_pick_this_agency(client, org) -> None:
    from saraban.agencies.models import Role, RoleGrant
    from saraban.agencies.sample import make_person

    other = make_person("lao_admin", "ผู้ดูแล อปท.", agency=org.lao, password=None)
    other.is_staff = True
    other.save()
    RoleGrant.objects.create(person=other, unit=org.lao, role=Role.AGENCY_ADMIN)
    client.force_login(other)
    response = client.post(reverse("admin:documents_letterhead_add"), {
        "agency": org.ict.pk, "address": "", "phone": "", "email": "",
    })
    assert response.status_code == 200  # the choice is not offered: the form is refused
    assert not Letterhead.objects.exists()
