"""Per-dialect view bases: the auth form, the permissions and the error table."""

from __future__ import annotations

from rest_framework import viewsets

from core.dialects.paynow import PAYNOW
from stores.auth import (
    HasScope,
    IsApiKey,
    KeyOwnsPathStore,
    PayNowAuthentication,
    StoreIsActive,
)


class PayNowViewSet(viewsets.GenericViewSet):
    """PayNow and native endpoints under ``/v1/stores/{store_id}/...``."""

    dialect = PAYNOW
    authentication_classes = [PayNowAuthentication]
    permission_classes = [IsApiKey, KeyOwnsPathStore, StoreIsActive, HasScope]

    @property
    def store(self):
        return self.request.auth.store
