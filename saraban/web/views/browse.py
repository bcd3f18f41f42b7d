from django.http import HttpRequest, HttpResponse


def dashboard(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Saraban")


def login_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("login")
