"""Per-dialect view bases: the auth form, the permissions and the error table."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

from django.db import DatabaseError
from django.http import HttpResponse
from rest_framework import viewsets
from rest_framework.response import Response

from core.actors import Actor
from core.dialects.capillary import CAPILLARY_V2
from core.dialects.capillary_v11 import CAPILLARY_V11
from core.dialects.newstore import NEWSTORE
from core.dialects.paynow import PAYNOW
from core.dialects.shoplazza import SHOPLAZZA
from core.errors import DomainError
from stores import guessing, idempotency
from stores.auth import (
    CapillaryBasicAuthentication,
    CapillaryOAuthAuthentication,
    HasScope,
    IsApiKey,
    KeyOwnsPathStore,
    NewStoreAuthentication,
    PayNowAuthentication,
    ShoplazzaAuthentication,
    StoreIsActive,
)
from stores.scopes import LEGACY, PRICE_RULES, SERIES
from stores.throttling import ApiKeyRateThrottle, rate_limit_headers


class IdempotentReplay(Exception):
    """Answer with the stored first response instead of running the view."""

    def __init__(self, stored: idempotency.StoredResponse) -> None:
        super().__init__("idempotent replay")
        self.stored = stored


# The vendors' APIs answer no OPTIONS: it is not a method of these views (405), and
# DRF's Allow header, on every answer of a view, lists only the methods it serves
# (RFC 9110: the resource's methods). DRF kept OPTIONS in both while answering 405.
SERVED_METHODS = [
    method
    for method in viewsets.GenericViewSet.http_method_names
    if method != "options"
]


class DialectViewSet(viewsets.GenericViewSet):
    """The key's store is the tenant of every request.

    Every write accepts an ``Idempotency-Key`` header (see ``stores.idempotency``),
    and every request counts against the key's rate limit.
    """

    permission_classes = [IsApiKey, StoreIsActive, HasScope]
    throttle_classes = [ApiKeyRateThrottle]
    http_method_names = SERVED_METHODS
    # The dialect's names of the domain's fields (the domain's name -> the request's),
    # for the field errors a service raises (``DomainError.renamed``).
    domain_field_names: Mapping[str, str] = {}
    _idempotency: idempotency.Guard | None = None

    @property
    def store(self):
        return self.request.auth.store

    @cached_property
    def actor(self) -> Actor:
        """Who acts in this request: the authenticated key, through this dialect.

        Built once per request; the views pass it to every service they call.
        """
        return Actor.api_key(self.request.auth, channel=self.dialect.name)

    @cached_property
    def guessing(self) -> guessing.Guard:
        """This request's count of failed code lookups (``stores.guessing``): views
        that look codes up ask it before and tell it where a lookup failed."""
        return guessing.Guard(store=self.store, actor=self.actor)

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except BaseException as exc:
            # An unhandled error (a 500): the work and the key are rolled back.
            guard, self._idempotency = self._idempotency, None
            if guard is not None:
                guard.abort(type(exc), exc, exc.__traceback__)
            raise

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        key = request.META.get(idempotency.HEADER)
        if key is None or request.method not in idempotency.WRITE_METHODS:
            return
        # From here to finalize_response the request runs in one transaction that
        # holds the key's new row (idempotency.Guard).
        outcome = idempotency.begin(
            store=request.auth.store,
            key=key.strip(),
            print_=idempotency.fingerprint(
                request.method, request.get_full_path(), request.body
            ),
        )
        if isinstance(outcome, idempotency.StoredResponse):
            raise IdempotentReplay(outcome)
        self._idempotency = outcome

    def handle_exception(self, exc):
        if isinstance(exc, IdempotentReplay):
            response = HttpResponse(
                exc.stored.body,
                status=exc.stored.status,
                content_type=exc.stored.content_type or None,
            )
            response["Idempotent-Replayed"] = "true"
            return response
        if isinstance(exc, DomainError) and self.domain_field_names:
            exc = exc.renamed(self.domain_field_names)
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self._idempotency is not None:
            response = self._keep(request, response, *args, **kwargs)
        for header, value in rate_limit_headers(request).items():
            response[header] = value
        return response

    def _keep(self, request, response, *args, **kwargs):
        """Store the response with the work and commit (a 5xx rolls both back)."""
        if isinstance(response, Response):
            response.render()  # (should it raise, dispatch rolls the guard back)
        guard, self._idempotency = self._idempotency, None
        try:
            guard.finish(
                status=response.status_code,
                body=response.content,
                content_type=response.get("Content-Type", ""),
            )
        except DatabaseError as exc:  # the commit failed: nothing was kept
            response = self.handle_exception(exc)
            return super().finalize_response(request, response, *args, **kwargs)
        return response


class PayNowViewSet(DialectViewSet):
    """PayNow and native endpoints under ``/v1/stores/{store_id}/...``."""

    dialect = PAYNOW
    authentication_classes = [PayNowAuthentication]
    permission_classes = [IsApiKey, KeyOwnsPathStore, StoreIsActive, HasScope]


class ShoplazzaViewSet(DialectViewSet):
    dialect = SHOPLAZZA
    authentication_classes = [ShoplazzaAuthentication]
    scope = PRICE_RULES


# The OAuth header is tried first: a request may carry both forms.
CAPILLARY_AUTHENTICATION = [CapillaryOAuthAuthentication, CapillaryBasicAuthentication]


class CapillaryV2ViewSet(DialectViewSet):
    dialect = CAPILLARY_V2
    authentication_classes = CAPILLARY_AUTHENTICATION
    scope = SERIES


class CapillaryV11ViewSet(DialectViewSet):
    dialect = CAPILLARY_V11
    authentication_classes = CAPILLARY_AUTHENTICATION
    scope = SERIES


class NewStoreViewSet(DialectViewSet):
    dialect = NEWSTORE
    authentication_classes = [NewStoreAuthentication]
    scope = LEGACY
