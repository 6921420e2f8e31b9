"""The admin with the cache down (issue 16, item 6, the same root cause outside the
API): the index's dashboard is only cached to save work, so with a dead or silent
Redis it is computed and shown, never a 500. Before: ``cache.get`` raised.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from core import cache as shared_cache
from tests.factories import CouponFactory, StoreFactory
from tests.stores.cache_servers import black_hole, closed_port, production_caches

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_breaker():
    shared_cache.reset()
    yield
    shared_cache.reset()


@pytest.mark.parametrize("server", [closed_port, black_hole])
def test_the_admin_index_is_served_with_the_cache_down(
    admin_client, settings, monkeypatch, server
):
    store = StoreFactory(code="down-shop")
    CouponFactory(store=store)
    with server() as url:
        settings.CACHES = production_caches(monkeypatch, url)
        first = admin_client.get(reverse("admin:index"))
        again = admin_client.get(reverse("admin:index"))
    for response in (first, again):
        assert response.status_code == 200
        assert [row["store"].code for row in response.context["stores"]] == [
            "down-shop"
        ]
