from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.legacy.factories import bearer


@pytest.fixture
def newstore(api_key) -> APIClient:
    """``Authorization: Bearer <token>`` for ``store``, JSON bodies."""
    return bearer(api_key)


@pytest.fixture
def paynow_api(api_key) -> APIClient:
    """The same key in the native (PayNow) form, for redemptions."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"APIKey {api_key.token}")
    api.default_format = "json"
    return api
