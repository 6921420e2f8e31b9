"""Fixtures of the series tests: Capillary clients and series with a pool."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from rest_framework.test import APIClient

from series import services
from series.models import Series
from stores.models import ApiKey, Store
from tests.factories import ApiKeyFactory, CustomerFactory, OutletFactory

ISSUE_URL = "/v2/coupon/issue/multiple"
SERIES_URL = "/v2/coupon/series"


def basic_header(api_key: ApiKey) -> str:
    """``Basic base64(<key_id>:md5hex(<secret>))``, as a Capillary till sends it."""
    digest = hashlib.md5(api_key.secret.encode(), usedforsecurity=False).hexdigest()
    return "Basic " + base64.b64encode(f"{api_key.key_id}:{digest}".encode()).decode()


def capillary_client(api_key: ApiKey) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=basic_header(api_key))
    return api


@pytest.fixture
def outlet(store):
    return OutletFactory(store=store, code="blr_01", name="Bangalore 1")


@pytest.fixture
def till(store, outlet) -> ApiKey:
    """An API key bound to an outlet (a Capillary till)."""
    return ApiKeyFactory(store=store, outlet=outlet)


@pytest.fixture
def capillary(till) -> APIClient:
    return capillary_client(till)


@pytest.fixture
def customer(store):
    return CustomerFactory(
        store=store,
        first_name="Abijith",
        last_name="Gupta",
        email=None,
        mobile="11223569865",
        external_id="000003873472",
    )


@pytest.fixture
def small_pool(settings):
    """Pools of 20 codes (the default is 1000) keep SQLite tests quick."""
    settings.SERIES_POOL_TARGET = 20
    settings.SERIES_POOL_LOW = 5


def make_series(store: Store, **values: Any) -> Series:
    """A series through the service (so a random one gets its first pool)."""
    defaults: dict[str, Any] = {
        "description": "IKEA - 500KW Voucher ",
        "discount_type": "ABS",
        "discount_value": 500,
        "discount_code": "NO_VALUE",
        "alpha_numeric": False,
        "random_code_length": 10,
    }
    defaults.update(values)
    return services.series_create(store=store, **defaults)
