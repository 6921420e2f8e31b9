"""Failed authentication is throttled per client address (issue 16, item 7): every
dialect's credential, the Capillary OAuth token endpoint; past the limit the address
gets a 429 in the dialect's body, even with a right credential, while other
addresses are served. Before the fix nothing counted failures: guessing was free.
"""

from __future__ import annotations

import base64

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from core import cache as shared_cache
from stores import throttling
from tests.factories import LegacyDefinitionFactory
from tests.series.conftest import basic_header
from tests.stores.cache_servers import (
    REDIS_URL,
    flush_redis_db5,
    needs_redis,
    production_caches,
)

pytestmark = pytest.mark.django_db


def blocked_message(wait: str) -> str:
    unit = "second" if wait == "1" else "seconds"
    return (
        "Too many failed authentication attempts from this address. "
        f"Expected available in {wait} {unit}."
    )


@pytest.fixture(autouse=True)
def _limit(settings):
    import time_machine
    from django.core.cache import cache
    from django.utils import timezone

    settings.AUTH_FAILURE_RATE_LIMIT = "3/min"
    shared_cache.reset()
    cache.clear()
    # The clock stands still, so a test's attempts all fall in one window.
    with time_machine.travel(timezone.now(), tick=False):
        yield
    cache.clear()


def _get(path: str, address: str, **headers):
    return APIClient().get(path, REMOTE_ADDR=address, **headers)


def _wrong_basic(key) -> str:
    return "Basic " + base64.b64encode(f"{key.key_id}:{'0' * 32}".encode()).decode()


# dialect -> (path for the key, wrong headers, right headers, 429 body for a message)
def dialects(key, definition):
    store = key.store_id
    paynow_path = f"/v1/stores/{store}/coupons"
    definition_path = f"/v0/d/coupon_definitions/{definition.uuid}"
    return {
        "paynow": (
            paynow_path,
            {"HTTP_AUTHORIZATION": "APIKey nope.nope"},
            {"HTTP_AUTHORIZATION": f"APIKey {key.token}"},
            lambda body, m: (
                (body["status"], body["code"], body["message"])
                == (429, "too-many-requests", m)
            ),
        ),
        "paynow_bare": (
            paynow_path,
            {"HTTP_AUTHORIZATION": "nope.nope"},
            {"HTTP_AUTHORIZATION": key.token},
            lambda body, m: (
                (body["status"], body["code"], body["message"])
                == (429, "too-many-requests", m)
            ),
        ),
        "shoplazza": (
            "/openapi/2022-01/coupons/receive",
            {"HTTP_ACCESS_TOKEN": "nope.nope"},
            {"HTTP_ACCESS_TOKEN": key.token},
            lambda body, m: body == {"errors": [m]},
        ),
        "capillary_basic": (
            "/v1.1/customer/coupons?email=a@example.com",
            {"HTTP_AUTHORIZATION": _wrong_basic(key)},
            {"HTTP_AUTHORIZATION": basic_header(key)},
            lambda body, m: (
                body
                == {
                    "response": {
                        "status": {"success": "false", "code": 429, "message": m}
                    }
                }
            ),
        ),
        "capillary_oauth": (
            "/v2/coupon/series?ids=1",
            {"HTTP_X_CAP_API_OAUTH_TOKEN": "forged"},
            {"HTTP_AUTHORIZATION": basic_header(key)},
            lambda body, m: (
                body == {"errors": [{"status": False, "code": 429, "message": m}]}
            ),
        ),
        "newstore": (
            definition_path,
            {"HTTP_AUTHORIZATION": "Bearer nope.nope"},
            {"HTTP_AUTHORIZATION": f"Bearer {key.token}"},
            lambda body, m: body == {"error_code": "too_many_requests", "message": m},
        ),
    }


DIALECTS = [
    "paynow",
    "paynow_bare",
    "shoplazza",
    "capillary_basic",
    "capillary_oauth",
    "newstore",
]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_an_address_past_its_failed_logins_gets_429_even_with_a_right_key(
    api_key, dialect
):
    definition = LegacyDefinitionFactory(store=api_key.store)
    path, wrong, right, is_dialect_429 = dialects(api_key, definition)[dialect]
    attacker, neighbour = "203.0.113.9", "203.0.113.10"
    # The shoplazza receive is a POST; GET answers 405 after authentication, which
    # is enough here: only authentication is under test.
    assert _get(path, neighbour, **right).status_code != 401

    assert [_get(path, attacker, **wrong).status_code for _ in range(3)] == [401] * 3
    blocked = _get(path, attacker, **right)
    assert blocked.status_code == 429
    assert 1 <= int(blocked["Retry-After"]) <= 60
    assert is_dialect_429(blocked.json(), blocked_message(blocked["Retry-After"])), (
        blocked.json()
    )
    # Refused before the credential is looked at: a wrong one is a 429 too.
    assert _get(path, attacker, **wrong).status_code == 429
    # Other addresses are served as before.
    assert _get(path, neighbour, **right).status_code not in (401, 429)
    assert _get(path, neighbour, **wrong).status_code == 401


def test_a_right_key_does_not_count_as_a_failure(api_key):
    path = f"/v1/stores/{api_key.store_id}/coupons"
    headers = {"HTTP_AUTHORIZATION": f"APIKey {api_key.token}"}
    assert [_get(path, "203.0.113.9", **headers).status_code for _ in range(6)] == [
        200
    ] * 6


def test_a_revoked_key_counts_as_a_failure(api_key):
    from stores import services

    services.api_key_revoke(key_id=api_key.key_id)
    path = f"/v1/stores/{api_key.store_id}/coupons"
    headers = {"HTTP_AUTHORIZATION": f"APIKey {api_key.token}"}
    statuses = [_get(path, "203.0.113.9", **headers).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def _token(key_id: str, secret: str, address: str):
    return APIClient().post(
        "/v3/oauth/token/generate",
        {"key": key_id, "secret": secret},
        format="json",
        REMOTE_ADDR=address,
    )


def test_the_oauth_token_endpoint_throttles_wrong_secrets_per_address(api_key):
    attacker, neighbour = "203.0.113.9", "203.0.113.10"
    wrong = [_token(api_key.key_id, "guess", attacker) for _ in range(3)]
    assert [r.status_code for r in wrong] == [401] * 3
    assert wrong[0].json() == {
        "data": None,
        "errors": [{"code": 401, "message": "Invalid key or secret."}],
    }
    blocked = _token(api_key.key_id, api_key.secret, attacker)
    assert blocked.status_code == 429
    wait = blocked["Retry-After"]
    assert 1 <= int(wait) <= 60
    assert blocked.json() == {
        "data": None,
        "errors": [{"code": 429, "message": blocked_message(wait)}],
    }
    served = _token(api_key.key_id, api_key.secret, neighbour)
    assert served.status_code == 200
    assert served.json()["data"]["ttlSeconds"] == 300


def test_failures_are_counted_on_the_shared_redis(api_key, settings, monkeypatch):
    needs_redis()
    settings.CACHES = production_caches(monkeypatch, REDIS_URL)
    flush_redis_db5()
    try:
        assert [
            _token(api_key.key_id, "guess", "203.0.113.9").status_code for _ in range(4)
        ] == [401, 401, 401, 429]
        assert _token(api_key.key_id, api_key.secret, "203.0.113.10").status_code == 200
    finally:
        flush_redis_db5()


def test_x_forwarded_for_is_ignored_unless_proxies_are_trusted(api_key):
    # A client rotating the header it sends is still one address.
    statuses = [
        _token(api_key.key_id, "guess", "203.0.113.9").status_code
        if i == 0
        else APIClient()
        .post(
            "/v3/oauth/token/generate",
            {"key": api_key.key_id, "secret": "guess"},
            format="json",
            REMOTE_ADDR="203.0.113.9",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        )
        .status_code
        for i in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


def test_with_one_trusted_proxy_the_client_is_the_address_it_appended(
    api_key, settings
):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"

    def token(forwarded: str, secret: str = "guess"):
        return APIClient().post(
            "/v3/oauth/token/generate",
            {"key": api_key.key_id, "secret": secret},
            format="json",
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    # What the client put in front of its own address changes nothing.
    statuses = [token(f"192.0.2.{i}, 203.0.113.9").status_code for i in range(4)]
    assert statuses == [401, 401, 401, 429]
    # Another client behind the same proxy is served.
    assert token("203.0.113.10", api_key.secret).status_code == 200


def test_ipv6_clients_are_counted_per_64_prefix(api_key):
    addresses = [f"2001:db8:1:2::{i}" for i in range(1, 5)]
    statuses = [_token(api_key.key_id, "guess", a).status_code for a in addresses]
    assert statuses == [401, 401, 401, 429]
    assert _token(api_key.key_id, api_key.secret, "2001:db8:1:3::1").status_code == 200


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "198.51.100.1", "203.0.113.9"),
        (1, "10.0.0.2", "198.51.100.1, 203.0.113.9", "203.0.113.9"),
        (2, "10.0.0.3", "198.51.100.1, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (2, "10.0.0.3", "203.0.113.9", "203.0.113.9"),  # fewer hops than proxies
        (1, "10.0.0.2", "", "10.0.0.2"),  # no header: the peer
        (1, "10.0.0.2", "not-an-address", "10.0.0.2"),
        (1, "10.0.0.2", " 2001:DB8::1 ", "2001:db8::1"),
    ],
)
def test_client_address(settings, proxies, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get(
        "/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded
    )
    assert throttling.client_address(request) == expected


def test_an_impossible_key_id_counts_as_a_failure(api_key):
    # A Basic user name with NUL, which PostgreSQL cannot take (attack report #2):
    # no query, the v1.1 401, and counted (tests/stores/test_impossible_key_ids.py).
    path = "/v1.1/customer/coupons?email=a@example.com"
    nul = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"a\x00b:c").decode()}
    statuses = [_get(path, "203.0.113.9", **nul).status_code for _ in range(3)]
    assert statuses == [401] * 3
    right = {"HTTP_AUTHORIZATION": basic_header(api_key)}
    for headers in (right, nul):
        blocked = _get(path, "203.0.113.9", **headers)
        assert blocked.status_code == 429
        assert blocked.json() == {
            "response": {
                "status": {
                    "success": "false",
                    "code": 429,
                    "message": blocked_message(blocked["Retry-After"]),
                }
            }
        }
