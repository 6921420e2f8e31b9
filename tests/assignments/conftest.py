from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from stores.scopes import PRICE_RULES
from tests.factories import ApiKeyFactory, CustomerFactory

RECEIVE_URL = "/openapi/2022-01/coupons/receive"


def shoplazza_client(api_key) -> APIClient:
    """A client sending the real ``Access-Token: <token>`` header."""
    api = APIClient()
    api.credentials(HTTP_ACCESS_TOKEN=api_key.token)
    return api


@pytest.fixture
def shoplazza_key(store):
    return ApiKeyFactory(store=store, scopes=[PRICE_RULES])


@pytest.fixture
def shoplazza(shoplazza_key) -> APIClient:
    return shoplazza_client(shoplazza_key)


@pytest.fixture
def customer(store):
    return CustomerFactory(store=store)
