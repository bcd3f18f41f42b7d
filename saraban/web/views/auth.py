"""Signing in (password, then the authenticator code for people who have one), signing out,
and the account pages: password change, two-factor enrolment, sessions and API tokens.

Failed sign-ins are counted and locked by the node's one login throttle
(``saraban.agencies.throttle``); the rules of the account pages live in
``saraban.agencies.security`` (and the tokens' in ``saraban.api.auth``).
"""

from __future__ import annotations

import base64

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from saraban.agencies.models import Person
from saraban.agencies.security import (
    has_two_factor,
    password_change,
    session_forget,
    session_revoke,
    sessions_of,
    totp_enrol_confirm,
    totp_enrol_start,
    totp_remove,
    totp_verify,
    two_factor_required,
)
from saraban.agencies.throttle import is_locked_out, locked_message
from saraban.api.auth import api_token_revoke, api_tokens_of
from saraban.core.errors import SarabanError

from ..forms_account import OtpForm, PasswordChangeForm
from ..forms_browse import LoginForm

WRONG_CREDENTIALS = "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง"
WRONG_OTP = "รหัสยืนยันไม่ถูกต้องหรือหมดเวลาแล้ว"


def _wanted(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return ""


def _next_url(request: HttpRequest) -> str:
    return _wanted(request) or resolve_url(settings.LOGIN_REDIRECT_URL)


def _with_next(url_name: str, request: HttpRequest) -> str:
    wanted = _wanted(request)
    url = reverse(url_name)
    return f"{url}?{urlencode({'next': wanted})}" if wanted else url


def pending_step(request: HttpRequest, person: Person) -> str | None:
    """The URL name of the step a signed-in person must take before anything else, if any:
    the authenticator code, a forced password change, or two-factor enrolment."""
    verified = getattr(request.user, "is_verified", None)
    if has_two_factor(person):
        if not (callable(verified) and verified()):
            return "web:login_otp"
    elif two_factor_required(person):
        return "web:two_factor"
    if person.must_change_password:
        return "web:password_change"
    return None


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return HttpResponseRedirect(_next_url(request))
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        person = authenticate(
            request,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
        )
        if is_locked_out(request):
            form.add_error(None, locked_message())
            status = 429
        elif not isinstance(person, Person):
            form.add_error(None, WRONG_CREDENTIALS)
            status = 400
        else:
            login(request, person)
            step = pending_step(request, person)
            return HttpResponseRedirect(
                _with_next(step, request) if step else _next_url(request)
            )
    elif request.method == "POST":
        status = 400
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    return render(request, "web/login.html", {"form": form, "next": next_url}, status=status)


@sensitive_post_parameters("otp")
@csrf_protect
@never_cache
@login_required
def login_otp_view(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: the current code of the person's authenticator."""
    person = request.user
    assert isinstance(person, Person)
    if not has_two_factor(person):
        return HttpResponseRedirect(_next_url(request))
    form = OtpForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            device = totp_verify(person, form.cleaned_data["otp"])
            if device is not None:
                otp_login(request, device)
                step = pending_step(request, person)
                return HttpResponseRedirect(
                    _with_next(step, request) if step else _next_url(request)
                )
            form.add_error("otp", WRONG_OTP)
    return render(request, "web/account/login_otp.html",
                  {"form": form, "next": _wanted(request)}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.session.session_key:
        session_forget(session_key=request.session.session_key)
    logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)


@sensitive_post_parameters("current_password", "new_password", "new_password_again")
@csrf_protect
@never_cache
@login_required
def password_change_view(request: HttpRequest) -> HttpResponse:
    person = request.user
    assert isinstance(person, Person)
    form = PasswordChangeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                password_change(
                    person=person,
                    current_password=form.cleaned_data["current_password"],
                    new_password=form.cleaned_data["new_password"],
                    keep_session_key=request.session.session_key or "",
                )
            except SarabanError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                update_session_auth_hash(request, person)
                messages.success(request, "เปลี่ยนรหัสผ่านแล้ว")
                step = pending_step(request, person)
                return HttpResponseRedirect(
                    _with_next(step, request) if step else _next_url(request)
                )
    return render(request, "web/account/password.html",
                  {"form": form, "forced": person.must_change_password,
                   "next": _wanted(request)}, status=status)


def _qr_data_uri(device: TOTPDevice) -> str:
    return str(segno.make(device.config_url, error="m").svg_data_uri(scale=5))


@csrf_protect
@never_cache
@login_required
def two_factor_view(request: HttpRequest) -> HttpResponse:
    """Set up, confirm or remove the authenticator app (TOTP) of the signed-in person."""
    person = request.user
    assert isinstance(person, Person)
    form = OtpForm(request.POST or None)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "start":
            totp_enrol_start(person=person)
            return HttpResponseRedirect(_with_next("web:two_factor", request))
        status = 400
        if form.is_valid():
            try:
                if action == "confirm":
                    pending = TOTPDevice.objects.filter(user=person, confirmed=False).first()
                    device = totp_enrol_confirm(
                        person=person, device_id=pending.pk if pending else 0,
                        code=form.cleaned_data["otp"],
                    )
                    otp_login(request, device)
                    messages.success(request, "ตั้งค่าการยืนยันตัวตนสองขั้นตอนแล้ว")
                    step = pending_step(request, person)
                    return HttpResponseRedirect(
                        _with_next(step, request) if step else reverse("web:account_security")
                    )
                if action == "remove":
                    totp_remove(person=person, code=form.cleaned_data["otp"])
                    messages.success(request, "ยกเลิกการยืนยันตัวตนสองขั้นตอนแล้ว")
                    return HttpResponseRedirect(reverse("web:account_security"))
                form.add_error(None, "คำขอไม่ถูกต้อง")
            except SarabanError as exc:
                form.add_error("otp" if exc.field == "otp" else None, exc.message)
    pending = TOTPDevice.objects.filter(user=person, confirmed=False).first()
    context = {
        "form": form,
        "enrolled": has_two_factor(person),
        "required": two_factor_required(person),
        "pending": pending,
        "qr": _qr_data_uri(pending) if pending else "",
        "secret": base64.b32encode(pending.bin_key).decode() if pending else "",
        "next": _wanted(request),
    }
    return render(request, "web/account/two_factor.html", context, status=status)


@never_cache
@login_required
def account_security_view(request: HttpRequest) -> HttpResponse:
    """ความปลอดภัยของบัญชี: password, two-factor, signed-in sessions and API tokens."""
    person = request.user
    assert isinstance(person, Person)
    context = {
        "sessions": sessions_of(person),
        "current_key": request.session.session_key,
        "tokens": api_tokens_of(person),
        "enrolled": has_two_factor(person),
        "required": two_factor_required(person),
    }
    return render(request, "web/account/security.html", context)


@require_POST
@login_required
def session_revoke_view(request: HttpRequest, session_id: int) -> HttpResponse:
    person = request.user
    assert isinstance(person, Person)
    try:
        row = session_revoke(person=person, session_id=session_id)
    except SarabanError as exc:
        messages.error(request, exc.message)
        return redirect("web:account_security")
    if row.session_key == request.session.session_key:
        logout(request)
        return redirect(settings.LOGOUT_REDIRECT_URL)
    messages.success(request, "ออกจากระบบของอุปกรณ์นั้นแล้ว")
    return redirect("web:account_security")


@require_POST
@login_required
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    person = request.user
    assert isinstance(person, Person)
    try:
        api_token_revoke(person=person, token_id=token_id)
    except SarabanError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "ยกเลิกโทเค็นแล้ว")
    return redirect("web:account_security")
