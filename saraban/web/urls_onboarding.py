from django.urls import URLPattern, path

from .views import onboarding

urlpatterns: list[URLPattern] = [
    path("", onboarding.onboarding, name="onboarding"),
]
