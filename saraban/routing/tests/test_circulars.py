"""Circulars with read receipts through the web views: 30 addressees acknowledge one by one."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from saraban.agencies.actors import resolve_actor
from saraban.agencies.models import AgencyKind, Position
from saraban.agencies.sample import make_person
from saraban.agencies.services import agency_create
from saraban.letters.services import LetterDetails, letter_register_incoming
from saraban.routing.models import CircularRecipient, Notification, NotificationKind
from saraban.web.templatetags.thai import thaidatetime
from saraban.web.templatetags.thai import thaidigits as n


def register_circular(org, subject="แจ้งเวียนแนวปฏิบัติการใช้ระบบสารบรรณ"):
    return letter_register_incoming(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject=subject, sender_text="กรมการปกครอง"),
    ).letter


def make_units(org, count):
    """``count`` units under สป.มท., each with a head who answers for it."""
    heads = []
    units = []
    for i in range(count):
        unit = agency_create(kind=AgencyKind.DIVISION, name_th=f"กองทดสอบที่ {i + 1}",
                             parent=org.ops, office_code=f"09{i:02d}")
        head = make_person(f"head{i}", f"หัวหน้า ที่{i + 1}", agency=org.ministry,
                           password=None)
        Position.objects.create(unit=unit, title_th=f"ผู้อำนวยการกองทดสอบที่ {i + 1}",
                                is_head=True, holder=head)
        units.append(unit)
        heads.append(head)
    return units, heads


def counts(html):
    found = re.search(r'data-acknowledged="(\d+)"', html)
    assert found is not None
    acknowledged = int(found.group(1))
    pending = re.search(r'data-pending="(\d+)"', html)
    return acknowledged, int(pending.group(1)) if pending else None


def test_a_circular_to_30_units_shows_receipts_as_they_come_down_to_zero(client, org):
    letter = register_circular(org)
    units, heads = make_units(org, 30)
    client.force_login(org.clerk)
    detail = client.get(reverse("web:letter_detail", args=[letter.pk])).content.decode()
    panel = detail.split('id="circular"', 1)[1].split("</section>", 1)[0]
    assert "เวียนหนังสือ" in panel and 'name="csrfmiddlewaretoken"' in panel
    assert "กองทดสอบที่ 30" in panel  # the units of the agency to choose from
    response = client.post(reverse("web:circular_send", args=[letter.pk]),
                           {"units": [u.pk for u in units]})
    assert response.status_code == 302
    assert CircularRecipient.objects.filter(letter=letter).count() == 30
    assert Notification.objects.filter(kind=NotificationKind.CIRCULAR, letter=letter,
                                       person__in=heads).count() == 30
    receipts_url = reverse("web:circular_receipts", args=[letter.pk])
    html = client.get(receipts_url).content.decode()
    assert counts(html) == (0, 30)
    assert f"ยังไม่รับทราบ {n(30)} ราย" in html
    assert 'hx-trigger="every 10s"' in html
    recipients = {r.unit_id: r for r in CircularRecipient.objects.filter(letter=letter)}
    for i, (unit, head) in enumerate(zip(units, heads, strict=True), start=1):
        client.force_login(head)
        response = client.post(
            reverse("web:circular_acknowledge", args=[recipients[unit.pk].pk]))
        assert response.status_code == 302
        client.force_login(org.clerk)
        html = client.get(receipts_url).content.decode()
        assert counts(html) == (i, 30 - i)
        row = re.search(rf'data-recipient="{recipients[unit.pk].pk}">(.*?)</tr>', html, re.S)
        assert row is not None
        assert head.display_name() in row.group(1)
        acknowledged_at = CircularRecipient.objects.get(pk=recipients[unit.pk].pk).acknowledged_at
        assert thaidatetime(acknowledged_at) in row.group(1)  # พ.ศ. date and time
        assert f"<li>{unit.name_th}</li>" not in html  # gone from the unacknowledged list
    assert "รับทราบครบทุกรายแล้ว" in html
    assert "hx-trigger" not in html.split(">", 1)[0]  # nothing left to wait for: no polling
    detail = client.get(reverse("web:letter_detail", args=[letter.pk])).content.decode()
    assert "รับทราบครบทุกรายแล้ว" in detail


def test_the_addressee_acknowledges_from_the_letter_page_with_htmx(client, org):
    letter = register_circular(org)
    [unit], [head] = make_units(org, 1)
    client.force_login(org.clerk)
    client.post(reverse("web:circular_send", args=[letter.pk]),
                {"units": [unit.pk], "people": [org.officer.pk]})
    client.force_login(head)
    page = client.get(reverse("web:letter_detail", args=[letter.pk])).content.decode()
    assert "รับทราบแล้ว</button>" in page
    assert "<script>" not in page
    mine = client.get(reverse("web:my_circulars")).content.decode()
    assert letter.subject in mine
    recipient = CircularRecipient.objects.get(letter=letter, unit=unit)
    response = client.post(reverse("web:circular_acknowledge", args=[recipient.pk]),
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert counts(response.content.decode()) == (1, 1)
    assert letter.subject not in client.get(reverse("web:my_circulars")).content.decode()
    assert not Notification.objects.filter(person=head, letter=letter,
                                           read_at__isnull=True).exists()
    again = client.post(reverse("web:circular_acknowledge", args=[recipient.pk]),
                        HTTP_HX_REQUEST="true")
    assert again.status_code == 409


def test_someone_else_may_not_acknowledge_nor_distribute(client, org):
    letter = register_circular(org)
    [unit], [_head] = make_units(org, 1)
    client.force_login(org.clerk)
    client.post(reverse("web:circular_send", args=[letter.pk]), {"units": [unit.pk]})
    recipient = CircularRecipient.objects.get(letter=letter)
    client.force_login(org.officer)
    response = client.post(reverse("web:circular_acknowledge", args=[recipient.pk]))
    assert response.status_code in (302, 404)
    recipient.refresh_from_db()
    assert recipient.acknowledged_at is None
    response = client.post(reverse("web:circular_send", args=[letter.pk]),
                           {"people": [org.director.pk]})
    assert response.status_code in (302, 404)
    assert CircularRecipient.objects.filter(letter=letter).count() == 1


@pytest.mark.parametrize("extra", [5, 25])
def test_receipts_partial_keeps_a_constant_number_of_queries(client, org, extra):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    letter = register_circular(org)
    units, _heads = make_units(org, extra)
    client.force_login(org.clerk)
    client.post(reverse("web:circular_send", args=[letter.pk]), {"units": [u.pk for u in units]})
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("web:circular_receipts", args=[letter.pk])).status_code == 200
    assert len(ctx.captured_queries) <= 12


def test_no_circular_card_for_someone_who_may_not_distribute_and_is_not_addressed(client, org):
    letter = register_circular(org)
    client.force_login(org.director)  # sees the letter (executive) but is no registry clerk
    page = client.get(reverse("web:letter_detail", args=[letter.pk]))
    assert page.status_code == 200
    assert 'id="circular"' not in page.content.decode()
