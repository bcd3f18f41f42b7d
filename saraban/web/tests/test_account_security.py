"""Account security through the real interfaces: one throttle for web, API and admin, the
forced password change, TOTP two-factor sign-in, and revoking sessions and tokens."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from saraban.agencies.models import Person
from saraban.agencies.tests.test_onboarding import SPEC
from saraban.api.models import ApiToken
from saraban.core.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "saraban-demo"
API = "/api/v1"
NEW_PASSWORD = "ก้าวหน้า-2569-ใหม่"


def web_login(client: Client, username: str, password: str = PASSWORD):
    return client.post(reverse("web:login"), {"username": username, "password": password})


def admin_login(client: Client, username: str, password: str = PASSWORD):
    return client.post("/admin/login/", {"username": username, "password": password,
                                         "next": "/admin/"})


def api_token(client: Client, username: str, password: str = PASSWORD, **body: str):
    return client.post(f"{API}/auth/token", {"username": username, "password": password, **body},
                       content_type="application/json")


def code_for(device: TOTPDevice, at: dt.datetime) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    totp.time = at.timestamp()
    return f"{totp.token():0{device.digits}d}"


# --- one throttle -------------------------------------------------------------------------


def test_failures_count_across_web_api_and_admin(client, org, settings):
    settings.SARABAN_LOGIN_MAX_FAILURES = 3
    assert web_login(client, "clerk", "wrong").status_code == 400
    assert api_token(client, "clerk", "wrong").status_code == 401
    admin_login(client, "clerk", "wrong")
    # Locked everywhere now, even with the right password.
    response = admin_login(client, "clerk")
    assert response.status_code == 429
    assert "เข้าสู่ระบบไม่สำเร็จหลายครั้งเกินกำหนด" in response.content.decode()
    assert web_login(client, "clerk").status_code == 429
    locked = api_token(client, "clerk")
    assert locked.status_code == 429 and locked.json()["code"] == "login_locked"
    # Another person behind the same address signs in everywhere.
    assert web_login(Client(), "officer").status_code == 302
    assert api_token(Client(), "officer").status_code == 201
    org.admin.is_staff = True
    org.admin.save(update_fields=["is_staff"])
    assert admin_login(Client(), "admin").status_code == 302


def test_admin_login_is_throttled(client, org, settings):
    settings.SARABAN_LOGIN_MAX_FAILURES = 2
    admin_login(client, "admin", "wrong")
    assert admin_login(client, "admin", "wrong").status_code == 429
    org.admin.is_staff = True
    org.admin.save(update_fields=["is_staff"])
    assert admin_login(client, "admin").status_code == 429


# --- forced password change ---------------------------------------------------------------


def test_onboarded_person_must_change_the_generated_password_first(client, db, tmp_path,
                                                                    capsys):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(SPEC, ensure_ascii=False), encoding="utf-8")
    call_command("onboard_agency", str(path))
    line = next(x for x in capsys.readouterr().out.splitlines()
                if x.strip().startswith("lp_it\t"))
    generated = line.split("\t")[1]
    response = web_login(client, "lp_it", generated)
    assert response["Location"].startswith(reverse("web:password_change"))
    # Every page leads to the change page until it is done.
    for url in (reverse("web:dashboard"), reverse("web:registers"), "/admin/"):
        assert client.get(url)["Location"].startswith(reverse("web:password_change"))
    page = client.post(reverse("web:password_change"), {
        "current_password": generated, "new_password": "12345678",
        "new_password_again": "12345678"})
    assert page.status_code == 400
    assert "ใช้กันทั่วไป" in page.content.decode()
    response = client.post(reverse("web:password_change"), {
        "current_password": generated, "new_password": NEW_PASSWORD,
        "new_password_again": NEW_PASSWORD})
    assert response.status_code == 302
    person = Person.objects.get(username="lp_it")
    assert not person.must_change_password and person.check_password(NEW_PASSWORD)
    assert client.get(reverse("web:dashboard")).status_code == 200
    assert AuditEvent.objects.filter(action="password_change", actor=person).exists()


def test_admin_reset_forces_a_change_and_api_tokens_wait_for_it(client, org):
    org.admin.is_staff = True
    org.admin.is_superuser = True
    org.admin.save(update_fields=["is_staff", "is_superuser"])
    client.force_login(org.admin)
    url = reverse("admin:auth_user_password_change", args=[org.officer.pk])
    response = client.post(url, {"password1": "ชั่วคราว-2569-abc", "password2": "ชั่วคราว-2569-abc",
                                 "usable_password": "true"})
    assert response.status_code == 302, response.content.decode()[:2000]
    org.officer.refresh_from_db()
    assert org.officer.must_change_password
    api = Client()
    token = api_token(api, "officer", "ชั่วคราว-2569-abc").json()["token"]
    headers = {"authorization": f"Bearer {token}"}
    refused = api.get(f"{API}/registries", headers=headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "password_change_required"
    wrong = api.post(f"{API}/auth/password", {"current_password": "x",
                                               "new_password": NEW_PASSWORD},
                     content_type="application/json", headers=headers)
    assert wrong.status_code == 400 and wrong.json()["code"] == "wrong_password"
    done = api.post(f"{API}/auth/password", {"current_password": "ชั่วคราว-2569-abc",
                                              "new_password": NEW_PASSWORD},
                    content_type="application/json", headers=headers)
    assert done.status_code == 200
    assert api.get(f"{API}/registries", headers=headers).status_code == 200


def test_demo_people_are_not_forced_to_change(client, org):
    assert web_login(client, "clerk")["Location"] == reverse("web:dashboard")


# --- TOTP two-factor ----------------------------------------------------------------------


def test_enrol_totp_and_sign_in_with_a_real_code(client, org):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        web_login(client, "officer")
        assert client.get(reverse("web:two_factor")).status_code == 200
        client.post(reverse("web:two_factor"), {"action": "start"})
        page = client.get(reverse("web:two_factor")).content.decode()
        assert "data:image/svg+xml" in page
        device = TOTPDevice.objects.get(user=org.officer, confirmed=False)
        good = code_for(device, start)
        wrong = client.post(reverse("web:two_factor"),
                            {"action": "confirm", "otp": "000000" if good != "000000" else "1"})
        assert wrong.status_code == 400
    # django-otp makes the next try wait a moment after a wrong code.
    confirm_at = start + dt.timedelta(seconds=5)
    with time_machine.travel(confirm_at, tick=False):
        response = client.post(reverse("web:two_factor"),
                               {"action": "confirm", "otp": code_for(device, confirm_at)})
        assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.filter(action="two_factor_enrol", actor=org.officer).exists()

    later = start + dt.timedelta(minutes=2)
    with time_machine.travel(later, tick=False):
        fresh = Client()
        response = web_login(fresh, "officer")
        assert response["Location"].startswith(reverse("web:login_otp"))
        # Before the code, nothing else opens: not even the set-up of a new authenticator or
        # the password change (a stolen password must not replace the device).
        for url in (reverse("web:dashboard"), reverse("web:two_factor"),
                    reverse("web:password_change"), reverse("web:account_security")):
            assert fresh.get(url)["Location"].startswith(reverse("web:login_otp"))
        blocked = fresh.post(reverse("web:two_factor"), {"action": "start"})
        assert blocked["Location"].startswith(reverse("web:login_otp"))
        assert TOTPDevice.objects.filter(user=org.officer).count() == 1
        assert fresh.post(reverse("web:login_otp"), {"otp": "12"}).status_code == 400
    later += dt.timedelta(seconds=5)
    with time_machine.travel(later, tick=False):
        response = fresh.post(reverse("web:login_otp"), {"otp": code_for(device, later)})
        assert response.status_code == 302
        assert fresh.get(reverse("web:dashboard")).status_code == 200
        # The API asks for the code too.
        api = Client()
        missing = api_token(api, "officer")
        assert missing.status_code == 401 and missing.json()["code"] == "otp_required"
    with time_machine.travel(later + dt.timedelta(seconds=60), tick=False):
        ok = api_token(api, "officer", otp=code_for(device, later + dt.timedelta(seconds=60)))
        assert ok.status_code == 201


def test_agency_can_require_two_factor_of_executives_and_admins(client, org):
    org.ministry.require_two_factor = True
    org.ministry.save(update_fields=["require_two_factor"])
    response = web_login(client, "director")
    assert response["Location"].startswith(reverse("web:two_factor"))
    assert client.get(reverse("web:dashboard"))["Location"].startswith(reverse("web:two_factor"))
    refused = api_token(Client(), "director")
    assert refused.status_code == 403
    assert refused.json()["code"] == "two_factor_enrolment_required"
    # A clerk is not required to.
    assert web_login(Client(), "clerk")["Location"] == reverse("web:dashboard")


# --- sessions and tokens ------------------------------------------------------------------


def test_revoking_a_session_signs_that_browser_out(org):
    laptop = Client(HTTP_USER_AGENT="Laptop")
    phone = Client(HTTP_USER_AGENT="Phone", REMOTE_ADDR="10.1.1.1")
    web_login(laptop, "clerk")
    web_login(phone, "clerk")
    assert phone.get(reverse("web:dashboard")).status_code == 200
    page = laptop.get(reverse("web:account_security"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Laptop" in text and "Phone" in text and "10.1.1.1" in text
    phone_session = org.clerk.sign_in_sessions.get(user_agent="Phone")
    response = laptop.post(reverse("web:session_revoke", args=[phone_session.pk]))
    assert response.status_code == 302
    assert phone.get(reverse("web:dashboard"))["Location"].startswith(reverse("web:login"))
    assert laptop.get(reverse("web:dashboard")).status_code == 200
    assert AuditEvent.objects.filter(action="session_revoke", target_id=phone_session.pk).exists()
    # Someone else's session is not found.
    web_login(phone, "officer")
    phone.get(reverse("web:dashboard"))
    other = org.officer.sign_in_sessions.get()
    laptop.post(reverse("web:session_revoke", args=[other.pk]))
    assert phone.get(reverse("web:dashboard")).status_code == 200


def test_tokens_are_listed_and_revoked_on_the_web_and_in_the_api(client, org):
    api = Client()
    first = api_token(api, "clerk", name="สคริปต์รายงาน").json()["token"]
    second = api_token(api, "clerk").json()["token"]
    listed = api.get(f"{API}/auth/tokens", headers={"authorization": f"Bearer {second}"}).json()
    assert [t["name"] for t in listed] == ["", "สคริปต์รายงาน"]
    assert all(t["expires_at"] for t in listed)
    web_login(client, "clerk")
    page = client.get(reverse("web:account_security")).content.decode()
    assert "สคริปต์รายงาน" in page
    token = ApiToken.objects.get(name="สคริปต์รายงาน")
    client.post(reverse("web:token_revoke", args=[token.pk]))
    first_headers = {"authorization": f"Bearer {first}"}
    assert api.get(f"{API}/registries", headers=first_headers).status_code == 401
    second_headers = {"authorization": f"Bearer {second}"}
    second_id = ApiToken.objects.get().pk
    gone = api.delete(f"{API}/auth/tokens/{second_id}", headers=second_headers)
    assert gone.status_code == 204
    assert api.get(f"{API}/registries", headers=second_headers).status_code == 401
    assert AuditEvent.objects.filter(action="api_token_revoke").count() == 2


def test_admin_sign_in_also_asks_for_the_authenticator_code(client, org):
    org.admin.is_staff = True
    org.admin.save(update_fields=["is_staff"])
    device = TOTPDevice.objects.create(user=org.admin, name="authenticator", confirmed=True)
    assert admin_login(client, "admin").status_code == 302
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login_otp"))
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        client.post(reverse("web:login_otp"), {"otp": code_for(device, now)})
        assert client.get("/admin/").status_code == 200


def test_nul_characters_in_credentials_are_refused_cleanly(org):
    api = Client()
    for body in ({"username": "clerk\x00", "password": "x"},
                 {"username": "clerk", "password": "saraban\x00demo"}):
        response = api.post(f"{API}/auth/token", body, content_type="application/json")
        # Refused by the input guard (invalid_character) or as wrong credentials; never 500.
        assert (response.status_code, response.json()["code"]) in {
            (400, "invalid_character"), (401, "invalid_credentials")}
    assert not ApiToken.objects.exists()
