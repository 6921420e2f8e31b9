"""OpenAPI: auth schemes of every dialect and shared error responses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers


class _PayNowScheme(OpenApiAuthenticationExtension):
    target_class = "stores.auth.PayNowAuthentication"
    name = "PayNowAPIKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`APIKey <token>` (the bare `<token>` is accepted too).",
        }


class _ShoplazzaScheme(OpenApiAuthenticationExtension):
    target_class = "stores.auth.ShoplazzaAuthentication"
    name = "ShoplazzaAccessToken"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Access-Token"}


class _CapillaryBasicScheme(OpenApiAuthenticationExtension):
    target_class = "stores.auth.CapillaryBasicAuthentication"
    name = "CapillaryBasic"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "username = key id, password = md5(secret) as hex.",
        }


class _CapillaryOAuthScheme(OpenApiAuthenticationExtension):
    target_class = "stores.auth.CapillaryOAuthAuthentication"
    name = "CapillaryOAuthToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-CAP-API-OAUTH-TOKEN",
            "description": "From POST /v3/oauth/token/generate; lives 300 s.",
        }


class _NewStoreScheme(OpenApiAuthenticationExtension):
    target_class = "stores.auth.NewStoreAuthentication"
    name = "newStoreAccessToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}


_PAYNOW_VALIDATION_ERROR = inline_serializer(
    "PayNowValidationError",
    {
        "code": serializers.CharField(),
        "message": serializers.CharField(),
        "path": serializers.CharField(),
        "validation": serializers.CharField(),
    },
)

PAYNOW_ERROR = inline_serializer(
    "PayNowError",
    {
        "status": serializers.IntegerField(),
        "code": serializers.CharField(),
        "message": serializers.CharField(),
        "trace_id": serializers.CharField(allow_null=True),
        "errors": serializers.ListField(
            child=_PAYNOW_VALIDATION_ERROR, allow_null=True
        ),
    },
)


def error_responses(
    body: Any, descriptions: Iterable[tuple[int, str]]
) -> dict[int, OpenApiResponse]:
    """An endpoint's documented errors: the dialect's error ``body`` under each
    status, with that status' description, in the order given."""
    return {
        status: OpenApiResponse(body, description=description)
        for status, description in descriptions
    }


PAYNOW_ERRORS = error_responses(
    PAYNOW_ERROR,
    (
        (400, "Invalid input (per-field `errors`)."),
        (401, "Missing, unknown or revoked API key."),
        (403, "The key lacks the scope, or does not belong to this store."),
        (404, "No such object in this store."),
        (409, "Conflict (a unique value is taken, or the object has history)."),
        (429, "Rate limited."),
        (503, "Temporarily unavailable."),
    ),
)


# What the endpoints that look codes up (stores.guessing) answer with 429 besides the
# key's rate limit, in each dialect's own error body.
GUESSING_429 = (
    "Rate limited, or too many failed code lookups (unknown or mistyped codes) by "
    "this API key for this customer: the pair is locked out for a cool-down, valid "
    "codes too (`Retry-After`: seconds to wait)."
)
PAYNOW_LOOKUP_ERRORS = {
    **PAYNOW_ERRORS,
    429: OpenApiResponse(PAYNOW_ERROR, description=GUESSING_429),
}


def keyset_parameters() -> list[OpenApiParameter]:
    return [
        OpenApiParameter("limit", int, description="1..100, default 100."),
        OpenApiParameter("after", str, description="Only ids greater than this id."),
        OpenApiParameter("before", str, description="Only ids less than this id."),
        OpenApiParameter(
            "asc", bool, description="Oldest first when true (default false)."
        ),
    ]
