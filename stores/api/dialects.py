"""Per-dialect view bases: the auth form, the permissions and the error table."""

from __future__ import annotations

from rest_framework import viewsets

from core.dialects.capillary import CAPILLARY_V2
from core.dialects.capillary_v11 import CAPILLARY_V11
from core.dialects.newstore import NEWSTORE
from core.dialects.paynow import PAYNOW
from core.dialects.shoplazza import SHOPLAZZA
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


class DialectViewSet(viewsets.GenericViewSet):
    """The key's store is the tenant of every request."""

    permission_classes = [IsApiKey, StoreIsActive, HasScope]

    @property
    def store(self):
        return self.request.auth.store


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
