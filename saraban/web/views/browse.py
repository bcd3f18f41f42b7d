"""The Thai web interface: thin views that parse, call an action or selector, and render."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "web/dashboard.html", {})


@login_required
def registers(request: HttpRequest) -> HttpResponse:
    return render(request, "web/dashboard.html", {})


@login_required
def register_list(request: HttpRequest, registry_id: int, kind: str) -> HttpResponse:
    return render(request, "web/dashboard.html", {})


@login_required
def register_print(request: HttpRequest, registry_id: int, kind: str) -> HttpResponse:
    return render(request, "web/dashboard.html", {})


@login_required
def letter_detail(request: HttpRequest, letter_id: int) -> HttpResponse:
    return render(request, "web/dashboard.html", {})
