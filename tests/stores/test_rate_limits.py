"""Rate limits mean what they say (issue 16, item 7): an atomic count on the shared
cache, standard ``RateLimit-*`` headers on every answer, ``Retry-After`` on the 429 in
each dialect's own body.

Before the fix: DRF's ``SimpleRateThrottle`` read the key's history list, appended
and wrote it back, so concurrent requests on Redis all read the same list and all
passed; no ``RateLimit-*`` header was sent.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from core import cache as shared_cache
from stores import throttling
from tests.concurrency import race
from tests.factories import ApiKeyFactory, LegacyDefinitionFactory, SeriesFactory
from tests.series.conftest import basic_header
from tests.stores.cache_servers import (
    REDIS_URL,
    flush_redis_db5,
    needs_redis,
    production_caches,
)


def throttled(wait: str) -> str:
    """DRF's message of a 429 (its own singular for 1 second)."""
    unit = "second" if wait == "1" else "seconds"
    return f"Request was throttled. Expected available in {wait} {unit}."


@pytest.fixture
def frozen():
    """The clock stands still: a test's requests fall in one window, whatever the
    window's offset (each key's differs)."""
    import time_machine
    from django.utils import timezone

    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    shared_cache.reset()
    cache.clear()
    yield
    cache.clear()
    shared_cache.reset()


@pytest.fixture
def redis_cache(settings, monkeypatch):
    """The production CACHES on the real Redis, DB 5 (emptied before and after)."""
    needs_redis()
    settings.CACHES = production_caches(monkeypatch, REDIS_URL)
    flush_redis_db5()
    yield
    flush_redis_db5()


def limited_key(store, rate: str):
    key = ApiKeyFactory(store=store)
    key.rate_limit = rate
    key.save()
    return key


def _paynow(key):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"APIKey {key.token}")
    return api.get(f"/v1/stores/{key.store_id}/coupons")


def _shoplazza(key):
    api = APIClient()
    api.credentials(HTTP_ACCESS_TOKEN=key.token)
    return api.post(
        "/openapi/2022-01/coupons/receive",
        {"customer_id": "1", "coupon_ids": []},
        format="json",
    )


def _capillary_v2(key):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=basic_header(key))
    series = SeriesFactory(store=key.store)
    return api.get(f"/v2/coupon/series?ids={series.id}")


def _capillary_v11(key):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=basic_header(key))
    return api.get(f"/v1.1/coupon/isredeemable?mobile=1&code=NOPE&key={key.pk}")


def _newstore(key):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key.token}")
    definition = LegacyDefinitionFactory(store=key.store)
    return api.get(f"/v0/d/coupon_definitions/{definition.uuid}")


DIALECTS = {
    "paynow": (
        _paynow,
        lambda body, message: (
            {k: body[k] for k in ("status", "code", "message", "errors")}
            == {
                "status": 429,
                "code": "too-many-requests",
                "message": message,
                "errors": None,
            }
        ),
    ),
    "shoplazza": (_shoplazza, lambda body, message: body == {"errors": [message]}),
    "capillary_v2": (
        _capillary_v2,
        lambda body, message: (
            body == {"errors": [{"status": False, "code": 429, "message": message}]}
        ),
    ),
    "capillary_v11": (
        _capillary_v11,
        lambda body, message: (
            body
            == {
                "response": {
                    "status": {"success": "false", "code": 429, "message": message}
                }
            }
        ),
    ),
    "newstore": (
        _newstore,
        lambda body, message: (
            body == {"error_code": "too_many_requests", "message": message}
        ),
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_answer_carries_ratelimit_headers_and_the_429_its_dialects_body(
    store, dialect, frozen
):
    call, is_dialect_429 = DIALECTS[dialect]
    key = limited_key(store, "2/min")
    first, second, third = call(key), call(key), call(key)
    assert first.status_code != 429
    assert second.status_code != 429
    assert (first["RateLimit-Limit"], first["RateLimit-Remaining"]) == ("2", "1")
    assert (second["RateLimit-Limit"], second["RateLimit-Remaining"]) == ("2", "0")
    assert first["RateLimit-Policy"] == "2;w=60"
    assert 1 <= int(first["RateLimit-Reset"]) <= 60
    assert "Retry-After" not in first
    assert third.status_code == 429
    assert third["RateLimit-Remaining"] == "0"
    assert third["Retry-After"] == third["RateLimit-Reset"]
    assert 1 <= int(third["Retry-After"]) <= 60
    message = throttled(third["Retry-After"])
    assert is_dialect_429(third.json(), message), third.json()


@pytest.mark.django_db
def test_the_window_ends_when_ratelimit_reset_says(store, frozen):
    key = limited_key(store, "2/min")
    assert [_paynow(key).status_code for _ in range(3)] == [200, 200, 429]
    reset = int(_paynow(key)["Retry-After"])
    frozen.shift(reset - 1)
    assert _paynow(key).status_code == 429
    frozen.shift(1)
    fresh = _paynow(key)
    assert fresh.status_code == 200
    assert fresh["RateLimit-Remaining"] == "1"


@pytest.mark.django_db(transaction=True)
def test_at_most_n_requests_pass_per_window_under_concurrency_on_redis(
    store, redis_cache, frozen
):
    # 40 requests released at once against a limit of 10, on the shared Redis; several
    # trials (fresh keys) so that an interleaving that slips through is met.
    for _trial in range(4):
        key = limited_key(store, "10/min")

        def call(_index, key=key):
            response = _paynow(key)
            return response.status_code, response.get("RateLimit-Remaining")

        results = race(40, call)
        statuses = sorted(status for status, _ in results)
        assert statuses == [200] * 10 + [429] * 30
        remaining = sorted(int(r) for s, r in results if s == 200)
        assert remaining == list(range(10))  # each count handed out exactly once


def test_the_redis_counter_is_one_atomic_increment_with_an_expiry(redis_cache, frozen):
    import redis

    counts = race(
        50, lambda _i: throttling.hit("test", "same", limit=20, period=60).count
    )
    assert sorted(counts) == list(range(1, 51))
    client = redis.Redis.from_url(REDIS_URL)
    [stored] = client.keys("*ratelimit:test:same:*")
    assert int(client.get(stored)) == 50
    assert 0 < client.ttl(stored) <= 61


def test_the_counter_on_a_per_process_cache_counts_too(frozen):
    usages = [throttling.hit("test", "local", limit=2, period=60) for _ in range(3)]
    assert [u.count for u in usages] == [1, 2, 3]
    assert [u.allowed for u in usages] == [True, True, False]
    assert [u.remaining for u in usages] == [1, 0, 0]


def test_windows_of_different_keys_do_not_all_end_together():
    resets = {throttling._window(f"key-{i}", 60, 1_700_000_000.0)[1] for i in range(50)}
    assert len(resets) > 10
    assert all(1 <= reset <= 60 for reset in resets)


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [
        ("600/min", (600, 60)),
        ("10/s", (10, 1)),
        ("5/second", (5, 1)),
        ("3/hour", (3, 3600)),
        ("1/day", (1, 86400)),
    ],
)
def test_parse_rate(rate, parsed):
    assert throttling.parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["lots", "10/mxyz", "10 / min", "-1/s", "10/MIN"])
def test_parse_rate_refuses_what_the_admin_refuses(rate):
    with pytest.raises(ValueError, match="N/s, N/min"):
        throttling.parse_rate(rate)
