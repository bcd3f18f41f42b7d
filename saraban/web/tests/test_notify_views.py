"""The bell, the notification list and the preferences page."""

from __future__ import annotations

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from saraban.agencies.actors import resolve_actor
from saraban.letters.services import LetterDetails, letter_register_incoming
from saraban.routing.models import Notification, NotificationKind, NotificationPreference
from saraban.routing.notify import notify
from saraban.web.templatetags.thai import thaidigits as n


def letter_for(org, subject="ขอข้อมูล"):
    return letter_register_incoming(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject=subject, sender_text="กรมการปกครอง"),
    ).letter


def tell(org, count, person=None):
    letter = letter_for(org)
    for i in range(count):
        notify(people=[person or org.officer], kind=NotificationKind.ASSIGNED, letter=letter,
               text=f"ได้รับมอบหมาย: เรื่องที่ {i}")
    return letter


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_bell_partial_shows_the_unread_count_and_polls_without_inline_script(client, org):
    tell(org, 3)
    client.force_login(org.officer)
    html = client.get(reverse("web:notification_bell")).content.decode()
    assert 'data-unread="3"' in html and n(3) in html
    assert 'hx-get="/notifications/bell/"' in html and 'hx-trigger="every 30s"' in html
    assert "<script" not in html
    page = client.get(reverse("web:dashboard")).content.decode()
    assert 'id="notification-bell"' in page and 'data-unread="3"' in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)  # no inline script
    Notification.objects.filter(person=org.officer).update(read_at=timezone.now())
    html = client.get(reverse("web:notification_bell")).content.decode()
    assert "data-unread" not in html


def test_the_bell_counts_only_my_notifications(client, org):
    tell(org, 2, person=org.director)
    client.force_login(org.officer)
    assert "data-unread" not in client.get(reverse("web:notification_bell")).content.decode()


def test_list_is_newest_first_opening_marks_read_and_read_all(client, org):
    letter = tell(org, 3)
    client.force_login(org.officer)
    page = client.get(reverse("web:notifications")).content.decode()
    assert page.index("เรื่องที่ 2") < page.index("เรื่องที่ 1") < page.index("เรื่องที่ 0")
    first = Notification.objects.filter(person=org.officer).order_by("pk")[0]
    url = reverse("web:notification_open", args=[first.pk])
    assert client.get(url).status_code == 405  # a GET changes nothing
    first.refresh_from_db()
    assert first.read_at is None
    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("web:letter_detail", args=[letter.pk])
    first.refresh_from_db()
    assert first.read_at is not None
    assert Notification.objects.filter(person=org.officer, read_at__isnull=True).count() == 2
    client.post(reverse("web:notifications_read_all"))
    assert Notification.objects.filter(person=org.officer, read_at__isnull=True).count() == 0


def test_one_may_not_open_someone_elses_notification(client, org):
    tell(org, 1, person=org.director)
    other = Notification.objects.get(person=org.director)
    client.force_login(org.officer)
    response = client.post(reverse("web:notification_open", args=[other.pk]))
    assert response["Location"] == reverse("web:notifications")
    other.refresh_from_db()
    assert other.read_at is None


def test_bell_and_list_keep_a_constant_number_of_queries(client, org):
    tell(org, 3)
    client.force_login(org.officer)
    bell_few = _queries(client, reverse("web:notification_bell"))
    list_few = _queries(client, reverse("web:notifications"))
    for _ in range(8):
        tell(org, 5)
    assert Notification.objects.filter(person=org.officer).count() == 43
    assert _queries(client, reverse("web:notification_bell")) == bell_few
    assert _queries(client, reverse("web:notifications")) == list_few
    assert "หน้า" in client.get(reverse("web:notifications") + "?page=2").content.decode()


def test_preferences_page_stores_each_kind_for_the_bell_and_e_mail(client, org):
    client.force_login(org.officer)
    page = client.get(reverse("web:notification_settings")).content.decode()
    for _kind, label in NotificationKind.choices:
        assert label in page
    assert page.count("checked") == 2 * len(NotificationKind.choices)  # no row: both on
    data = {f"{k}-in_app": "on" for k in NotificationKind.values}
    data.pop("circular-in_app")
    data["overdue-email"] = "on"
    response = client.post(reverse("web:notification_settings"), data)
    assert response.status_code == 302
    prefs = {p.kind: (p.in_app, p.email)
             for p in NotificationPreference.objects.filter(person=org.officer)}
    assert prefs["circular"] == (False, False)
    assert prefs["overdue"] == (True, True)
    assert prefs["assigned"] == (True, False)
    page = client.get(reverse("web:notification_settings")).content.decode()
    assert page.count("checked") == len(NotificationKind.choices)


def test_pages_need_login(client, org):
    for name in ("web:notifications", "web:notification_settings", "web:my_circulars"):
        assert client.get(reverse(name)).status_code == 302


def test_a_signed_out_bell_stops_polling_instead_of_showing_the_login_page(client, org):
    response = client.get(reverse("web:notification_bell"), HTTP_HX_REQUEST="true")
    assert response.status_code == 286  # htmx stops polling and swaps nothing
    assert response.content == b""
