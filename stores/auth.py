"""One ApiKey, many header forms: a DRF authentication class per dialect.

Every class answers None when its header is absent (so DRF answers 401 "not
authenticated" in the view's dialect) and raises AuthenticationFailed for a present
but wrong, unknown or revoked credential.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.core import signing
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission

from core import errors
from core.dialects.base import ScopedPermissionDenied
from stores import selectors, throttling
from stores.models import ApiKey

CAPILLARY_TOKEN_TTL = 300
_CAPILLARY_SALT = "couponhub.capillary.oauth"


class ApiKeyAuthentication(BaseAuthentication):
    www_authenticate = "APIKey"

    def lookup(self, request: Any) -> ApiKey | None:
        """The key the request names; None when this header form is absent."""
        raise NotImplementedError

    def authenticate(self, request: Any) -> tuple[ApiKey, ApiKey] | None:
        # Failed attempts are counted per client address; past the limit the address
        # is refused before its credential is even looked at (stores.throttling).
        throttling.refuse_blocked_address(request)
        try:
            api_key = self.lookup(request)
            if api_key is not None and api_key.is_revoked:
                raise exceptions.AuthenticationFailed("This API key has been revoked.")
        except exceptions.AuthenticationFailed:
            throttling.count_auth_failure(request)
            raise
        if api_key is None:
            return None
        return api_key, api_key

    def authenticate_header(self, request: Any) -> str:
        return self.www_authenticate


def _authorization(request: Any) -> str:
    try:
        return get_authorization_header(request).decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise exceptions.AuthenticationFailed("Invalid Authorization header.") from exc


def _by_token(token: str) -> ApiKey:
    api_key = selectors.api_key_by_token(token)
    if api_key is None:
        raise exceptions.AuthenticationFailed("Invalid API key.")
    return api_key


class PayNowAuthentication(ApiKeyAuthentication):
    """``Authorization: APIKey <token>``, or the bare ``Authorization: <token>``."""

    www_authenticate = 'APIKey realm="api"'

    def lookup(self, request: Any) -> ApiKey | None:
        header = _authorization(request)
        if not header:
            return None
        parts = header.split()
        if len(parts) == 2 and parts[0].lower() == "apikey":
            return _by_token(parts[1])
        if len(parts) == 1:
            return _by_token(parts[0])
        raise exceptions.AuthenticationFailed("Use 'Authorization: APIKey <token>'.")


class ShoplazzaAuthentication(ApiKeyAuthentication):
    """``Access-Token: <token>``."""

    www_authenticate = "Access-Token"

    def lookup(self, request: Any) -> ApiKey | None:
        token = request.META.get("HTTP_ACCESS_TOKEN", "").strip()
        if not token:
            return None
        return _by_token(token)


class CapillaryBasicAuthentication(ApiKeyAuthentication):
    """``Authorization: Basic base64(<key_id>:md5(<secret>))`` (the till's login)."""

    www_authenticate = 'Basic realm="api"'

    def lookup(self, request: Any) -> ApiKey | None:
        header = _authorization(request)
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != "basic":
            if header:
                raise exceptions.AuthenticationFailed("Use HTTP Basic authentication.")
            return None
        try:
            decoded = base64.b64decode(parts[1], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise exceptions.AuthenticationFailed("Invalid Basic credentials.") from exc
        key_id, sep, secret_md5 = decoded.partition(":")
        api_key = selectors.api_key_by_md5(key_id, secret_md5) if sep else None
        if api_key is None:
            raise exceptions.AuthenticationFailed(
                "Authentication failed. Please check username and password."
            )
        return api_key


def capillary_token_for(api_key: ApiKey) -> str:
    return signing.dumps(api_key.key_id, salt=_CAPILLARY_SALT, compress=True)


class CapillaryOAuthAuthentication(ApiKeyAuthentication):
    """``X-CAP-API-OAUTH-TOKEN`` from ``POST /v3/oauth/token/generate`` (300 s)."""

    www_authenticate = "X-CAP-API-OAUTH-TOKEN"

    def lookup(self, request: Any) -> ApiKey | None:
        token = request.META.get("HTTP_X_CAP_API_OAUTH_TOKEN", "").strip()
        if not token:
            return None
        try:
            key_id = signing.loads(
                token, salt=_CAPILLARY_SALT, max_age=CAPILLARY_TOKEN_TTL
            )
        except signing.SignatureExpired as exc:
            raise exceptions.AuthenticationFailed(
                "The OAuth token has expired."
            ) from exc
        except signing.BadSignature as exc:
            raise exceptions.AuthenticationFailed("Invalid OAuth token.") from exc
        api_key = selectors.api_key_by_id(key_id)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid OAuth token.")
        return api_key


class NewStoreAuthentication(ApiKeyAuthentication):
    """``Authorization: Bearer <token>``."""

    www_authenticate = 'Bearer realm="api"'

    def lookup(self, request: Any) -> ApiKey | None:
        header = _authorization(request)
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != "bearer":
            raise exceptions.AuthenticationFailed(
                "Use 'Authorization: Bearer <token>'."
            )
        return _by_token(parts[1])


class IsApiKey(BasePermission):
    """Some authentication class accepted an API key (else DRF answers 401)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return isinstance(request.auth, ApiKey)


class HasScope(BasePermission):
    """The key holds the view's scope: ``read_scope`` for reads, else ``write_scope``.

    A view may name one ``scope`` for every method instead.
    """

    def has_permission(self, request: Any, view: Any) -> bool:
        scope = getattr(view, "scope", None)
        if scope is None:
            scope = (
                view.read_scope if request.method in SAFE_METHODS else view.write_scope
            )
        if not request.auth.has_scope(scope):
            raise ScopedPermissionDenied(
                errors.MISSING_SCOPE, f"This API key lacks the '{scope}' scope."
            )
        return True


class StoreIsActive(BasePermission):
    def has_permission(self, request: Any, view: Any) -> bool:
        if not request.auth.store.is_active:
            raise ScopedPermissionDenied(errors.STORE_INACTIVE, "store is not active")
        return True


class KeyOwnsPathStore(BasePermission):
    """``/v1/stores/{store_id}/...``: the key must belong to that store (else 403).

    An unknown or malformed store id is answered the same way, so a key learns nothing
    about other stores.
    """

    def has_permission(self, request: Any, view: Any) -> bool:
        if view.kwargs.get("store_id") != str(request.auth.store_id):
            raise ScopedPermissionDenied(
                errors.FORBIDDEN, "This API key does not belong to this store."
            )
        return True
