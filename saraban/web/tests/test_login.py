"""Signing in and out, and login throttling after repeated failures."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from saraban.web.models import LoginFailure

pytestmark = pytest.mark.django_db

PASSWORD = "saraban-demo"
LOCKED = "เข้าสู่ระบบไม่สำเร็จหลายครั้งเกินกำหนด"


def post_login(client, username: str, password: str, **extra):
    return client.post(reverse("web:login"), {"username": username, "password": password},
                       **extra)


def test_login_page_is_thai(client, org):
    page = client.get(reverse("web:login")).content.decode()
    assert '<html lang="th">' in page
    assert "ชื่อผู้ใช้" in page and "รหัสผ่าน" in page


def test_login_with_right_password_goes_to_dashboard(client, org):
    response = post_login(client, "clerk", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("web:dashboard")
    page = client.get(reverse("web:dashboard")).content.decode()
    assert "นางสมศรี รับส่ง" in page
    assert org.clerk_post.title_th in page


def test_login_follows_a_safe_next_only(client, org):
    response = post_login(client, "clerk", PASSWORD, QUERY_STRING="next=/registers/")
    assert response["Location"] == "/registers/"
    client.logout()
    response = client.post(reverse("web:login") + "?next=https://evil.example/",
                           {"username": "clerk", "password": PASSWORD})
    assert response["Location"] == reverse("web:dashboard")


def test_wrong_password_shows_thai_error(client, org):
    response = post_login(client, "clerk", "wrong")
    assert response.status_code == 400
    assert "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_empty_fields_show_thai_errors_next_to_them(client, org):
    page = post_login(client, "", "").content.decode()
    assert "กรุณากรอกชื่อผู้ใช้" in page
    assert "กรุณากรอกรหัสผ่าน" in page
    assert 'class="field-error"' in page


def test_throttling_locks_after_max_failures_even_for_right_password(client, org, settings):
    settings.SARABAN_LOGIN_MAX_FAILURES = 3
    settings.SARABAN_LOGIN_WINDOW_SECONDS = 600
    for _ in range(3):
        post_login(client, "clerk", "wrong")
    response = post_login(client, "clerk", PASSWORD)
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_throttling_releases_after_the_window(client, org, settings):
    settings.SARABAN_LOGIN_MAX_FAILURES = 3
    settings.SARABAN_LOGIN_WINDOW_SECONDS = 600
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            post_login(client, "clerk", "wrong")
    with time_machine.travel(start + dt.timedelta(seconds=599), tick=False):
        assert post_login(client, "clerk", PASSWORD).status_code == 429
    with time_machine.travel(start + dt.timedelta(seconds=601), tick=False):
        assert post_login(client, "clerk", PASSWORD).status_code == 302


def test_throttling_counts_failures_from_one_address_across_usernames(client, org, settings):
    settings.SARABAN_LOGIN_MAX_FAILURES = 3
    for name in ("somebody", "nobody", "anybody"):
        post_login(client, name, "wrong", REMOTE_ADDR="10.0.0.9")
    assert post_login(client, "director", PASSWORD, REMOTE_ADDR="10.0.0.9").status_code == 429
    assert post_login(client, "director", PASSWORD, REMOTE_ADDR="10.0.0.10").status_code == 302


def test_username_lock_holds_from_any_address(client, org, settings):
    settings.SARABAN_LOGIN_MAX_FAILURES = 3
    for i in range(3):
        post_login(client, "Clerk", "wrong", REMOTE_ADDR=f"10.0.1.{i}")
    assert post_login(client, "clerk", PASSWORD, REMOTE_ADDR="10.0.2.1").status_code == 429


def test_success_clears_failures(client, org, settings):
    settings.SARABAN_LOGIN_MAX_FAILURES = 3
    post_login(client, "clerk", "wrong")
    post_login(client, "clerk", "wrong")
    assert LoginFailure.objects.filter(username="clerk").count() == 2
    assert post_login(client, "clerk", PASSWORD).status_code == 302
    assert not LoginFailure.objects.filter(username="clerk").exists()


def test_logout_needs_post_and_ends_the_session(client, org):
    client.force_login(org.clerk)
    assert client.get(reverse("web:logout")).status_code == 405
    response = client.post(reverse("web:logout"))
    assert response["Location"] == reverse("web:login")
    assert client.get(reverse("web:dashboard")).status_code == 302


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("web:dashboard", []),
        ("web:registers", []),
        ("web:register_list", [1, "incoming"]),
        ("web:register_print", [1, "incoming"]),
        ("web:letter_detail", [1]),
        ("web:letter_file", [1, 1]),
        ("web:letter_stamped", [1, 1]),
    ],
)
def test_every_page_requires_login(client, db, name, args):
    url = reverse(name, args=args)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))
