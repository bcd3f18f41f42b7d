"""Signing in (with throttling after repeated failures) and signing out."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from ..forms_browse import LoginForm
from ..throttle import login_failure_record, login_failures_clear, login_locked_for

WRONG_CREDENTIALS = "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง"


def _client_ip(request: HttpRequest) -> str | None:
    ip = request.META.get("REMOTE_ADDR")
    return str(ip) if ip else None


def _locked_message(seconds: int) -> str:
    minutes = max(1, (seconds + 59) // 60)
    return (
        "เข้าสู่ระบบไม่สำเร็จหลายครั้งเกินกำหนด ระบบงดรับการเข้าสู่ระบบชั่วคราว "
        f"กรุณาลองใหม่ในอีกประมาณ {minutes} นาที"
    )


def _next_url(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return resolve_url(settings.LOGIN_REDIRECT_URL)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return HttpResponseRedirect(_next_url(request))
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        username: str = form.cleaned_data["username"]
        ip = _client_ip(request)
        wait = login_locked_for(username, ip)
        if wait:
            form.add_error(None, _locked_message(wait))
            status = 429
        else:
            person = authenticate(
                request, username=username, password=form.cleaned_data["password"]
            )
            if person is None:
                login_failure_record(username, ip)
                form.add_error(None, WRONG_CREDENTIALS)
                status = 400
            else:
                login_failures_clear(username, ip)
                login(request, person)
                return HttpResponseRedirect(_next_url(request))
    elif request.method == "POST":
        status = 400
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    return render(request, "web/login.html", {"form": form, "next": next_url}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)
