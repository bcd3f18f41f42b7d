"""``/api/v1/``: the Saraban JSON API (django-ninja), OpenAPI 3.1 at ``/api/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver, path
from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema

from .auth import BearerAuth
from .endpoints import auth, exchange, letters, registries, routing, search, signatures
from .errors import install_error_handlers


class SarabanAPI(NinjaAPI):
    """NinjaAPI that also lists the JSON schemas sent inside multipart ``data`` fields."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in letters.DOCUMENTED_INPUTS:
            doc = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(doc.pop("$defs", {}))
            components[model.__name__] = doc
        return schema


api = SarabanAPI(
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
api.add_router("/search", search.router)
api.add_router("/exchange", exchange.router)
api.add_router("/letters", exchange.letters_router)
api.add_router("/letters", routing.letters_router)
api.add_router("/letters", signatures.letters_router)
api.add_router("/", routing.router)

urlpatterns: list[URLPattern | URLResolver] = [path("", api.urls)]
