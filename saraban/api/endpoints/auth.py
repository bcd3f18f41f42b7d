"""``/auth``: bearer tokens (issue, list, revoke) and the password change."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from saraban.agencies.security import password_change
from saraban.api.auth import (
    PASSWORD_CHANGE_URL_NAME,
    api_token_issue,
    api_token_revoke,
    api_tokens_of,
    current_person,
)
from saraban.api.schemas import ErrorOut, TokenIn, TokenOut

router = Router(tags=["auth"])


class TokenInfoOut(Schema):
    id: int
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None


class PasswordChangeIn(Schema):
    current_password: str = Field(max_length=4096)
    new_password: str = Field(max_length=4096)


class DoneOut(Schema):
    ok: bool = True


@router.post(
    "/token",
    auth=None,
    response={201: TokenOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    url_name="token",
    summary="Issue a token",
)
def token_issue(request: HttpRequest, body: TokenIn) -> Status[TokenOut]:
    """Check a username, password and (for people with two-factor sign-in) the TOTP code in
    ``otp``, and answer a new bearer token (shown only now) with its expiry."""
    token, raw = api_token_issue(
        username=body.username, password=body.password, otp=body.otp, name=body.name,
        request=request,
    )
    return Status(201, TokenOut(token=raw, expires_at=token.expires_at))


@router.get(
    "/tokens",
    response={200: list[TokenInfoOut], 401: ErrorOut, 403: ErrorOut},
    url_name="tokens",
    summary="List my tokens",
)
def token_list(request: HttpRequest) -> list[TokenInfoOut]:
    """The caller's own tokens: name, created, last used, expiry (never the token itself)."""
    return [
        TokenInfoOut(id=t.pk, name=t.name, created_at=t.created_at,
                     last_used_at=t.last_used_at, expires_at=t.expires_at)
        for t in api_tokens_of(current_person(request))
    ]


@router.delete(
    "/tokens/{token_id}",
    response={204: None, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    url_name="token_revoke",
    summary="Revoke one of my tokens",
)
def token_revoke(request: HttpRequest, token_id: int) -> Status[None]:
    """Revoke one of the caller's tokens (the one in use too); it stops working at once."""
    api_token_revoke(person=current_person(request), token_id=token_id)
    return Status(204, None)


@router.post(
    "/password",
    response={200: DoneOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    url_name=PASSWORD_CHANGE_URL_NAME,
    summary="Change my password",
)
def password_change_endpoint(request: HttpRequest, body: PasswordChangeIn) -> DoneOut:
    """Change the caller's password (Django's password rules, Thai messages). A token of a
    person who must change their password works only here until they do."""
    password_change(person=current_person(request), current_password=body.current_password,
                    new_password=body.new_password)
    return DoneOut()
