"""One ApiKey, many header forms: a DRF authentication class per dialect.

Every class answers None when its header is absent (so DRF answers 401 "not
authenticated" in the view's dialect) and raises AuthenticationFailed for a present
but wrong, unknown or revoked credential.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core import signing
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission

from core import cache as shared_cache
from core import errors
from core.dialects.base import ScopedPermissionDenied
from stores import selectors, throttling
from stores.models import ApiKey

CAPILLARY_TOKEN_TTL = 300
_CAPILLARY_SALT = "couponhub.capillary.oauth"


@dataclass(frozen=True)
class Credential:
    """The key a header names, and how to tell that it is that key's."""

    key_id: str
    matches: Callable[[ApiKey], bool]
    refusal: str  # the 401's message when no key of that id matches


class ApiKeyAuthentication(BaseAuthentication):
    www_authenticate = "APIKey"

    def credential(self, request: Any) -> Credential | None:
        """The credential the request's header gives; None when this header form is
        absent; AuthenticationFailed when it is malformed."""
        raise NotImplementedError

    def authenticate(self, request: Any) -> tuple[ApiKey, ApiKey] | None:
        # Failed attempts are counted per client address; past the limit the address
        # is refused (429) whatever its credential, right or wrong (stores.throttling).
        # Its count is read in the round trip that reads the key's cached row.
        try:
            try:
                credential = self.credential(request)
            except exceptions.AuthenticationFailed:
                _refuse_alone(request)
                raise
            if credential is None:
                # Another form may follow (Capillary: OAuth, then Basic): the last
                # one checks the address, if none found a credential.
                if self is getattr(request, "authenticators", [self])[-1]:
                    _refuse_alone(request)
                return None
            check = throttling.address_check(request)
            api_key, found = selectors.api_key_get(
                credential.key_id, also=[check.key] if check is not None else []
            )
            if check is not None:
                check.refuse(request, found)
            if api_key is None or not credential.matches(api_key):
                raise exceptions.AuthenticationFailed(credential.refusal)
            if api_key.is_revoked:
                raise exceptions.AuthenticationFailed("This API key has been revoked.")
        except exceptions.AuthenticationFailed:
            throttling.count_auth_failure(request)
            raise
        return api_key, api_key

    def authenticate_header(self, request: Any) -> str:
        return self.www_authenticate


def _refuse_alone(request: Any) -> None:
    check = throttling.address_check(request)
    if check is not None:
        check.refuse(request, shared_cache.get_many_quietly([check.key]))


def _authorization(request: Any) -> str:
    try:
        return get_authorization_header(request).decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise exceptions.AuthenticationFailed("Invalid Authorization header.") from exc


def _token(token: str) -> Credential:
    parts = selectors.split_token(token)
    if parts is None:
        raise exceptions.AuthenticationFailed("Invalid API key.")
    key_id, secret = parts
    return Credential(
        key_id,
        lambda api_key: selectors.secret_matches(api_key, secret),
        "Invalid API key.",
    )


class PayNowAuthentication(ApiKeyAuthentication):
    """``Authorization: APIKey <token>``, or the bare ``Authorization: <token>``."""

    www_authenticate = 'APIKey realm="api"'

    def credential(self, request: Any) -> Credential | None:
        header = _authorization(request)
        if not header:
            return None
        parts = header.split()
        if len(parts) == 2 and parts[0].lower() == "apikey":
            return _token(parts[1])
        if len(parts) == 1:
            return _token(parts[0])
        raise exceptions.AuthenticationFailed("Use 'Authorization: APIKey <token>'.")


class ShoplazzaAuthentication(ApiKeyAuthentication):
    """``Access-Token: <token>``."""

    www_authenticate = "Access-Token"

    def credential(self, request: Any) -> Credential | None:
        token = request.META.get("HTTP_ACCESS_TOKEN", "").strip()
        if not token:
            return None
        return _token(token)


_BASIC_REFUSAL = "Authentication failed. Please check username and password."


class CapillaryBasicAuthentication(ApiKeyAuthentication):
    """``Authorization: Basic base64(<key_id>:md5(<secret>))`` (the till's login)."""

    www_authenticate = 'Basic realm="api"'

    def credential(self, request: Any) -> Credential | None:
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
        if not sep:
            raise exceptions.AuthenticationFailed(_BASIC_REFUSAL)
        return Credential(
            key_id,
            lambda api_key: selectors.md5_matches(api_key, secret_md5),
            _BASIC_REFUSAL,
        )


def capillary_token_for(api_key: ApiKey) -> str:
    return signing.dumps(api_key.key_id, salt=_CAPILLARY_SALT, compress=True)


class CapillaryOAuthAuthentication(ApiKeyAuthentication):
    """``X-CAP-API-OAUTH-TOKEN`` from ``POST /v3/oauth/token/generate`` (300 s)."""

    www_authenticate = "X-CAP-API-OAUTH-TOKEN"

    def credential(self, request: Any) -> Credential | None:
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
        # The signature is the proof: the token names the key it was made for.
        return Credential(key_id, lambda api_key: True, "Invalid OAuth token.")


class NewStoreAuthentication(ApiKeyAuthentication):
    """``Authorization: Bearer <token>``."""

    www_authenticate = 'Bearer realm="api"'

    def credential(self, request: Any) -> Credential | None:
        header = _authorization(request)
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != "bearer":
            raise exceptions.AuthenticationFailed(
                "Use 'Authorization: Bearer <token>'."
            )
        return _token(parts[1])


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
