from __future__ import annotations

import datetime as dt

import time_machine
from django.utils import timezone

from saraban.api.auth import hash_token
from saraban.api.models import ApiToken
from saraban.core.audit import audit_verify

from .conftest import API


def test_token_is_issued_and_opens_the_api(api, org):
    response = api.post(
        f"{API}/auth/token", {"username": "clerk", "password": "saraban-demo"},
        content_type="application/json",
    )
    assert response.status_code == 201
    token = response.json()["token"]
    stored = ApiToken.objects.get(person=org.clerk)
    assert stored.token_hash == hash_token(token)
    assert token not in stored.token_hash
    answer = api.get(f"{API}/registries", headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    stored.refresh_from_db()
    assert stored.last_used_at is not None


def test_token_issue_is_audited(api, org):
    api.token("clerk")
    from saraban.core.models import AuditEvent

    event = AuditEvent.objects.get(action="api_token_issue")
    assert event.actor_id == org.clerk.pk
    assert all(problem is None for _agency, _n, problem in audit_verify())


def test_wrong_password_is_401_invalid_credentials(api, org):
    response = api.post(
        f"{API}/auth/token", {"username": "clerk", "password": "wrong"},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert not ApiToken.objects.exists()


def test_unknown_user_is_answered_like_a_wrong_password(api, org):
    response = api.post(
        f"{API}/auth/token", {"username": "nobody", "password": "x"},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_no_token_is_401_unauthenticated(api, org):
    response = api.get(f"{API}/registries")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert response["WWW-Authenticate"] == "Bearer"


def test_made_up_token_is_401(api, org):
    response = api.get(f"{API}/registries", headers={"authorization": "Bearer srb_nope"})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_inactive_person_gets_no_token(api, org):
    org.clerk.is_active = False
    org.clerk.save(update_fields=["is_active"])
    response = api.post(
        f"{API}/auth/token", {"username": "clerk", "password": "saraban-demo"},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_token_stops_working_when_person_is_deactivated(api, org):
    headers = api.as_user("clerk")
    org.clerk.is_active = False
    org.clerk.save(update_fields=["is_active"])
    response = api.get(f"{API}/registries", headers=headers)
    assert response.status_code == 401


def test_expired_token_is_refused(api, org):
    headers = api.as_user("clerk")
    ApiToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = api.get(f"{API}/registries", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"


def test_token_requests_are_locked_after_repeated_failures(api, org, settings):
    settings.SARABAN_LOGIN_MAX_FAILURES = 3
    codes = []
    for _ in range(3):
        response = api.post(
            f"{API}/auth/token", {"username": "clerk", "password": "wrong"},
            content_type="application/json",
        )
        codes.append(response.status_code)
    assert codes == [401, 401, 429]
    response = api.post(
        f"{API}/auth/token", {"username": "clerk", "password": "saraban-demo"},
        content_type="application/json",
    )
    assert response.status_code == 429
    assert response.json()["code"] == "login_locked"
    assert not ApiToken.objects.exists()
    # Another username from the same address is not affected.
    assert api.token("director")


def test_failures_outside_the_window_do_not_count(api, org, settings):
    settings.SARABAN_LOGIN_MAX_FAILURES = 2
    settings.SARABAN_LOGIN_WINDOW_SECONDS = 60
    with time_machine.travel(timezone.now() - dt.timedelta(seconds=120), tick=False):
        for _ in range(2):
            api.post(f"{API}/auth/token", {"username": "clerk", "password": "wrong"},
                     content_type="application/json")
    assert api.token("clerk")


def test_token_expires_after_the_default_lifetime(api, org, settings):
    settings.SARABAN_API_TOKEN_DAYS = 90
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        headers = api.as_user("clerk")
    stored = ApiToken.objects.get()
    assert stored.expires_at == start + dt.timedelta(days=90)
    with time_machine.travel(start + dt.timedelta(days=89), tick=False):
        assert api.get(f"{API}/registries", headers=headers).status_code == 200
    with time_machine.travel(start + dt.timedelta(days=90, seconds=1), tick=False):
        response = api.get(f"{API}/registries", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"


def test_token_body_must_be_valid(api, org):
    response = api.post(f"{API}/auth/token", {"username": "clerk"},
                        content_type="application/json")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_request"
    assert body["details"]["errors"]
