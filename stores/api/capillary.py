"""Capillary OAuth: ``POST /v3/oauth/token/generate {key, secret}``.

Takes no authentication: the key (an API key's id) and its secret are the credentials.
The token it gives is sent as ``X-CAP-API-OAUTH-TOKEN`` and lives 300 seconds. Errors
use the endpoint's own ``{"data": null, "errors": [{"code", "message"}]}`` envelope.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, viewsets
from rest_framework.response import Response

from core.dialects.capillary import CAPILLARY_OAUTH
from core.serializers import StrictCharField, validated
from stores import selectors, throttling
from stores.api.dialects import SERVED_METHODS
from stores.auth import (
    CAPILLARY_TOKEN_TTL,
    CapillaryOAuthAuthentication,
    capillary_token_for,
)


class TokenInput(serializers.Serializer):
    key = StrictCharField(max_length=200)
    secret = StrictCharField(max_length=200)


class TokenData(serializers.Serializer):
    accessToken = serializers.CharField()
    ttlSeconds = serializers.IntegerField()


class TokenOutput(serializers.Serializer):
    data = TokenData()
    errors = serializers.ListField(child=serializers.DictField(), allow_null=True)


_ERROR = inline_serializer(
    "CapillaryOAuthError",
    {
        "data": serializers.DictField(allow_null=True),
        "errors": inline_serializer(
            "CapillaryOAuthErrorItem",
            {"code": serializers.IntegerField(), "message": serializers.CharField()},
            many=True,
        ),
    },
)


class OAuthTokenViewSet(viewsets.GenericViewSet):
    dialect = CAPILLARY_OAUTH
    authentication_classes = []
    permission_classes = []
    http_method_names = SERVED_METHODS  # no OPTIONS (405), as the dialect views

    def get_authenticate_header(self, request) -> str:
        # A 401 names the scheme the token is for.
        return CapillaryOAuthAuthentication.www_authenticate

    @extend_schema(
        summary="Generate an OAuth access token (300 s)",
        operation_id="capillary_oauth_token_generate",
        auth=[],
        request=TokenInput,
        responses={
            200: TokenOutput,
            400: OpenApiResponse(_ERROR, description="Missing or non-string key."),
            401: OpenApiResponse(_ERROR, description="Unknown key, wrong secret."),
            429: OpenApiResponse(
                _ERROR, description="Too many failed attempts from this address."
            ),
        },
    )
    def generate(self, request):
        data = validated(TokenInput(data=request.data))
        # A key and secret are a credential: failures count per client address, and
        # a blocked address is refused before the secret is checked.
        throttling.refuse_blocked_address(request)
        api_key = selectors.api_key_by_token(f"{data['key']}.{data['secret']}")
        if api_key is None or api_key.is_revoked:
            throttling.count_auth_failure(request)
            raise exceptions.AuthenticationFailed(
                "Invalid key or secret."
                if api_key is None
                else "This API key has been revoked."
            )
        return Response(
            {
                "data": {
                    "accessToken": capillary_token_for(api_key),
                    "ttlSeconds": CAPILLARY_TOKEN_TTL,
                },
                "errors": None,
            }
        )
