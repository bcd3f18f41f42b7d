"""Signing in and out, and login throttling after repeated failures (one throttle: axes)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

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
    assert post_login(client, "clerk", "wrong").status_code == 400
    assert post_login(client, "clerk", "wrong").status_code == 400
    assert post_login(client, "clerk", "wrong").status_code == 429
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
    # A refused attempt during the lock counts too: the lock runs from the last one.
    with time_machine.travel(start + dt.timedelta(seconds=1200), tick=False):
        assert post_login(client, "clerk", PASSWORD).status_code == 302


def test_an_office_behind_one_address_is_not_locked_out_by_one_account(client, org, settings):
    settings.SARABAN_LOGIN_MAX_FAILURES = 3
    for _ in range(5):
        post_login(client, "director", "wrong", REMOTE_ADDR="10.0.0.9")
    assert post_login(client, "director", PASSWORD, REMOTE_ADDR="10.0.0.9").status_code == 429
    response = post_login(client, "clerk", PASSWORD, REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(org.clerk.pk)


def test_username_lock_holds_from_any_address(client, org, settings):
    settings.SARABAN_LOGIN_MAX_FAILURES = 3
    settings.SARABAN_LOGIN_USER_MAX_FAILURES = 6
    for i in range(6):
        post_login(client, "clerk", "wrong", REMOTE_ADDR=f"10.0.1.{i}")
    assert post_login(client, "clerk", PASSWORD, REMOTE_ADDR="10.0.2.1").status_code == 429
    assert post_login(client, "officer", PASSWORD, REMOTE_ADDR="10.0.2.1").status_code == 302


def test_a_spray_from_one_address_is_stopped_but_known_people_there_still_sign_in(
    client, org, settings
):
    settings.SARABAN_LOGIN_MAX_FAILURES = 3
    settings.SARABAN_LOGIN_ADDRESS_MAX_FAILURES = 6
    office = "10.0.3.3"
    assert post_login(client, "clerk", PASSWORD, REMOTE_ADDR=office).status_code == 302
    client.logout()
    for i in range(6):
        post_login(client, f"guess{i}", "wrong", REMOTE_ADDR=office)
    # Never signed in from there: refused while the spray's failures stand.
    assert post_login(client, "officer", PASSWORD, REMOTE_ADDR=office).status_code == 429
    assert post_login(client, "guess9", "wrong", REMOTE_ADDR=office).status_code == 429
    # Signed in from there before: still gets in.
    assert post_login(client, "clerk", PASSWORD, REMOTE_ADDR=office).status_code == 302


def test_a_lock_does_not_reveal_whether_the_account_exists(client, org, settings):
    settings.SARABAN_LOGIN_MAX_FAILURES = 2
    answers = []
    for name in ("clerk", "nosuchperson"):
        for _ in range(2):
            post_login(client, name, "wrong")
        response = post_login(client, name, "wrong")
        page = re.sub(r'(csrfmiddlewaretoken" value=|X-CSRFToken": )"[^"]+"', "",
                      response.content.decode())
        answers.append((response.status_code, page.replace(name, "")))
    assert answers[0][0] == answers[1][0] == 429
    assert answers[0][1] == answers[1][1]


def test_success_clears_failures(client, org, settings):
    settings.SARABAN_LOGIN_MAX_FAILURES = 3
    post_login(client, "clerk", "wrong")
    post_login(client, "clerk", "wrong")
    assert post_login(client, "clerk", PASSWORD).status_code == 302
    client.logout()
    # The two earlier failures are gone: two more do not lock.
    post_login(client, "clerk", "wrong")
    assert post_login(client, "clerk", "wrong").status_code == 400
    assert post_login(client, "clerk", PASSWORD).status_code == 302


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
