"""The API key's row in the shared cache (stores.key_cache): served from Redis
after the first request, a change of the key, its store or outlet seen from its
commit on, what a save cannot tell bounded by API_KEY_CACHE_SECONDS, a restarted
cache and a dead one read from the database, a per-process cache never used.

On the real Redis, DB 8, under a key prefix of its own (emptied before and after).
``transaction=True``: the generation moves on a real commit (``on_commit``)."""

from __future__ import annotations

import time

import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from core import cache as shared_cache
from stores import key_cache
from stores.models import ApiKey
from stores.services import api_key_revoke, api_key_update, outlet_update, store_update
from tests.factories import ApiKeyFactory, OutletFactory, StoreFactory
from tests.series.conftest import basic_header
from tests.stores.cache_servers import closed_port, needs_redis, production_caches

REDIS_URL = "redis://127.0.0.1:6379/8"

pytestmark = pytest.mark.django_db(transaction=True)


PREFIX = "test-key-cache"
GENERATION = f"{PREFIX}:1:{key_cache.GENERATION}"


def _empty(server) -> None:
    for name in server.scan_iter(f"{PREFIX}:*"):
        server.delete(name)


@pytest.fixture
def redis_cache(settings, monkeypatch):
    needs_redis()
    caches = production_caches(monkeypatch, REDIS_URL)
    caches["default"]["KEY_PREFIX"] = PREFIX  # this file's keys only
    settings.CACHES = caches
    shared_cache.reset()
    server = redis.Redis.from_url(REDIS_URL)
    _empty(server)
    yield server
    _empty(server)
    shared_cache.reset()


@pytest.fixture
def key():
    return ApiKeyFactory(store=StoreFactory())


def _customers(api_key, **headers):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"APIKey {api_key.token}", **headers)
    return api.get(f"/v1/stores/{api_key.store_id}/customers")


def _key_selects(ctx) -> int:
    return sum("FROM stores_apikey" in q["sql"] for q in ctx.captured_queries)


def _counted(api_key) -> tuple[int, int]:
    """(status, SELECTs of the key) of one PayNow request."""
    with CaptureQueriesContext(connection) as ctx:
        response = _customers(api_key)
    return response.status_code, _key_selects(ctx)


def test_the_second_request_reads_the_key_from_the_cache(redis_cache, key):
    # The first request starts the generation, the second caches the row.
    got = [_counted(key) for _ in range(4)]
    assert got == [(200, 1), (200, 1), (200, 0), (200, 0)], got
    assert redis_cache.exists(GENERATION)


def test_capillary_basic_is_served_from_the_cache_too(redis_cache, key):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=basic_header(key))
    selects = []
    for _ in range(3):
        with CaptureQueriesContext(connection) as ctx:
            response = api.get("/v2/coupon/series?ids=1")
        # Authenticated: the store has no series 1 (a 401 would be code 401).
        assert response.status_code == 400
        assert response.json() == {
            "errors": [
                {"status": False, "code": 707, "message": "Coupon Series ID is invalid"}
            ]
        }
        selects.append(_key_selects(ctx))
    assert selects == [1, 1, 0]


def _cached(api_key) -> None:
    for _ in range(3):
        assert _customers(api_key).status_code == 200
    assert _counted(api_key) == (200, 0)


def test_a_revoked_key_is_refused_from_the_next_request(redis_cache, key):
    _cached(key)
    api_key_revoke(key_id=key.key_id)
    response = _customers(key)
    assert response.status_code == 401
    assert response.json()["message"] == "This API key has been revoked."


def test_a_deleted_key_is_refused_from_the_next_request(redis_cache, key):
    _cached(key)
    ApiKey.objects.get(pk=key.pk).delete()
    response = _customers(key)
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid API key."


def test_a_deactivated_store_is_refused_from_the_next_request(redis_cache, key):
    _cached(key)
    store_update(store=key.store, is_active=False)
    response = _customers(key)
    assert response.status_code == 403
    assert response.json()["message"] == "store is not active"


def test_a_new_check_character_series_is_read_at_once(redis_cache, key):
    # The store's check-character shapes come with the key's cached row; a series
    # that adds one wrote them with a QuerySet.update, which no save reported, so
    # for up to a minute a code typed loosely was "not found" (a typo too).
    from series import services as series_services
    from tests.coupons.test_typed_codes_api import CODE, TYPED
    from tests.factories import CouponFactory

    _cached(key)
    series_services.series_create(
        store=key.store,
        description="Typeable",
        discount_type="ABS",
        discount_value=5,
        random_code_length=8,
        code_prefix="bf",
        check_character=True,
    )
    CouponFactory(store=key.store, code=CODE)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"APIKey {key.token}")

    response = api.post(
        f"/v1/stores/{key.store_id}/coupons/validate", {"code": TYPED}, "json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["valid"] is True


def test_a_new_rate_limit_and_outlet_change_are_read_at_once(redis_cache):
    outlet = OutletFactory(code="till_1")
    api_key = ApiKeyFactory(store=outlet.store, outlet=outlet)
    _cached(api_key)
    api_key_update(api_key=api_key, rate_limit="1/min")
    first, second = _customers(api_key), _customers(api_key)
    assert (first.status_code, second.status_code) == (200, 429)
    assert first["RateLimit-Limit"] == "1"
    outlet_update(outlet=outlet, name="Renamed till")
    with CaptureQueriesContext(connection) as ctx:
        assert _customers(api_key).status_code == 429
    assert _key_selects(ctx) == 1  # the outlet's change made the row stale


def test_a_change_no_save_tells_of_is_seen_when_the_row_expires(
    redis_cache, key, settings
):
    settings.API_KEY_CACHE_SECONDS = 1
    _cached(key)
    # QuerySet.update sends no post_save: the cached row serves until it expires.
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    assert _customers(key).status_code == 200
    time.sleep(1.2)
    assert _customers(key).status_code == 401


def test_a_flushed_generation_never_matches_rows_cached_before(redis_cache, key):
    _cached(key)
    redis_cache.delete(GENERATION)  # a cache restarted, say
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    assert _customers(key).status_code == 401
    assert _customers(key).status_code == 401


def test_a_dead_cache_reads_the_key_from_the_database(settings, monkeypatch, key):
    with closed_port() as url:
        settings.CACHES = production_caches(monkeypatch, url)
        shared_cache.reset()
        try:
            assert _counted(key) == (200, 1)
            settings.CACHE_RETRY_SECONDS = 0  # try the cache on every request
            assert _counted(key) == (200, 1)
            api_key_revoke(key_id=key.key_id)
            assert _customers(key).status_code == 401
        finally:
            shared_cache.reset()


def test_a_per_process_cache_holds_no_key(key):
    # The test settings' cache is per process: nothing is cached, every request
    # reads the key, and a change no save tells of is seen at once.
    assert key_cache.seconds() == 0
    assert [_counted(key) for _ in range(3)] == [(200, 1)] * 3
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    assert _customers(key).status_code == 401


def test_a_blocked_address_is_refused_with_the_cached_row(redis_cache, key, settings):
    settings.AUTH_FAILURE_RATE_LIMIT = "2/min"
    _cached(key)
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION=f"APIKey {key.key_id}.wrong")
    path = f"/v1/stores/{key.store_id}/customers"
    assert [wrong.get(path).status_code for _ in range(3)] == [401, 401, 429]
    with CaptureQueriesContext(connection) as ctx:
        response = _customers(key)
    assert response.status_code == 429
    assert _key_selects(ctx) == 0
