"""``POST /auth/token``: a bearer token for a username and password."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from saraban.api.auth import api_token_issue
from saraban.api.schemas import ErrorOut, TokenIn, TokenOut

router = Router(tags=["auth"])


@router.post(
    "/token",
    auth=None,
    response={201: TokenOut, 401: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    url_name="token",
    summary="Issue a token",
)
def token_issue(request: HttpRequest, body: TokenIn) -> Status[TokenOut]:
    """Check a username and password and answer a new bearer token (shown only now)."""
    token, raw = api_token_issue(username=body.username, password=body.password, request=request)
    return Status(201, TokenOut(token=raw, expires_at=token.expires_at))
