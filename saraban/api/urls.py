"""``/api/v1/``: the Saraban JSON API (django-ninja), OpenAPI 3.1 at ``/api/v1/openapi.json``."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from ninja import NinjaAPI

from .auth import BearerAuth
from .endpoints import auth, letters, registries
from .errors import install_error_handlers

api = NinjaAPI(
    title="Saraban API",
    version="1",
    description="ระบบสารบรรณอิเล็กทรอนิกส์: electronic correspondence for Thai agencies.",
    openapi_url="/openapi.json",
    # The interactive docs page loads Swagger UI from a CDN, which the content security
    # policy forbids; the OpenAPI document is the reference.
    docs_url=None,
    urls_namespace="api",
    auth=BearerAuth(),
)
install_error_handlers(api)
api.add_router("/auth", auth.router)
api.add_router("/letters", letters.router)
api.add_router("/registries", registries.router)

urlpatterns: list[URLPattern | URLResolver] = [path("", api.urls)]
