"""``/api/v1/``: the Saraban JSON API (django-ninja), OpenAPI 3.1 at ``/api/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver, path
from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema

from .auth import BearerAuth
from .endpoints import auth, exchange, letters, registries, reports, routing, search, signatures
from .errors import install_error_handlers
from .schemas import ErrorOut

# Answers any operation can give, whatever its endpoint declares (see ``declare_errors``).
_COMMON_ERRORS = {
    "400": "Refused: a rule about the data (its ``code`` says which), text with a NUL "
           "character, or a body that could not be read",
    "401": "No token, or a token that is unknown, expired or revoked (``unauthenticated``)",
    "413": "The body is larger than this node accepts (``request_too_large``)",
    "422": "The data does not fit the schema (``invalid_request``, with ``field``)",
}


def declare_errors(schema: dict[str, Any]) -> None:
    """Declare, on every operation, the error answers it can give besides its own.

    Every request can be refused 400 (unreadable body, NUL characters); one with parameters
    or a body 422; one with a body 413; one that needs a token 401. Declaring them here, in
    one place, keeps the OpenAPI document true for operations that forget one.
    """
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            wanted = ["400"]
            if operation.get("security"):
                wanted.append("401")
            if operation.get("requestBody"):
                wanted.append("413")
            if operation.get("parameters") or operation.get("requestBody"):
                wanted.append("422")
            responses = operation["responses"]
            for code in wanted:
                responses.setdefault(code, {"description": _COMMON_ERRORS[code],
                                            "content": error})


class SarabanAPI(NinjaAPI):
    """NinjaAPI that also lists the JSON schemas sent inside multipart ``data`` fields and
    declares the error answers every operation can give."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in letters.DOCUMENTED_INPUTS:
            doc = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(doc.pop("$defs", {}))
            components[model.__name__] = doc
        components.setdefault("ErrorOut", ErrorOut.model_json_schema(
            ref_template="#/components/schemas/{model}"))
        _json_parts_as_objects(schema)
        declare_errors(schema)
        return schema


def _json_parts_as_objects(schema: dict[str, Any]) -> None:
    """A multipart ``data`` field holding JSON of a schema is that schema, sent as JSON.

    ninja describes the form field as a string; OpenAPI says a part whose ``encoding`` is
    ``application/json`` carries the JSON of its (object) schema, which is what clients and
    schemathesis then send.
    """
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            content = operation.get("requestBody", {}).get("content", {})
            body = content.get("multipart/form-data", {}).get("schema", {})
            for name, prop in body.get("properties", {}).items():
                if isinstance(prop, dict) and "contentSchema" in prop:
                    body["properties"][name] = {**prop["contentSchema"],
                                                "description": "JSON of this schema"}


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
api.add_router("/reports", reports.router)
api.add_router("/exchange", exchange.router)
api.add_router("/letters", exchange.letters_router)
api.add_router("/letters", routing.letters_router)
api.add_router("/letters", signatures.letters_router)
api.add_router("/", routing.router)

urlpatterns: list[URLPattern | URLResolver] = [path("", api.urls)]
