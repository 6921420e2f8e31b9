"""Guessing does not pay (issue 20, part 3; ``stores.guessing``): the N-th failed code
lookup of one API key for one customer within the window is answered 429 with
Retry-After in its dialect's body, and so is every lookup of that pair until the
cool-down ends; others keep working; one audit event per lockout; the failures are
counted durably (``FailedLookupCount``) for the dashboard; a dead cache fails open.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from core import cache as shared_cache
from stores.models import FailedLookupCount
from tests.concurrency import race
from tests.factories import (
    ApiKeyFactory,
    CouponFactory,
    CustomerFactory,
)
from tests.paynow import error_body, native_client
from tests.series.conftest import basic_header
from tests.stores.cache_servers import closed_port, needs_redis, production_caches

LIMIT = 5
WINDOW = 600
COOLDOWN = 900
TRACE = "trace-guessing"
MESSAGE = (
    "Too many failed code lookups for this customer. "
    f"Expected available in {COOLDOWN} seconds."
)
UNKNOWN = {
    "valid": False,
    "reasons": [{"code": "not_found", "message": "No coupon has this code."}],
    "discount": 0,
}
VALID = {"valid": True, "reasons": [], "discount": 0}


def paynow_429(message: str = MESSAGE) -> dict:
    return error_body(429, "too-many-requests", message, trace=TRACE)


@pytest.fixture(autouse=True)
def guessing_on(settings):
    settings.CODE_GUESS_LIMIT = LIMIT
    settings.CODE_GUESS_WINDOW = WINDOW
    settings.CODE_GUESS_COOLDOWN = COOLDOWN
    shared_cache.reset()
    yield
    shared_cache.reset()


@pytest.fixture
def frozen():
    import time_machine
    from django.utils import timezone

    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(db):
    from tests.factories import StoreFactory

    store = StoreFactory()
    return {
        "store": store,
        "key": ApiKeyFactory(store=store),
        "customer": CustomerFactory(store=store, email="ada@example.com"),
        "coupon": CouponFactory(store=store, code="REAL-CODE"),
    }


paynow = partial(native_client, trace=TRACE)


def validate(key, code: str, customer=None):
    body = {"code": code}
    if customer is not None:
        body["customer_id"] = str(customer.id)
    return paynow(key).post(
        f"/v1/stores/{key.store_id}/coupons/validate", body, format="json"
    )


def answers(responses) -> list[tuple[int, dict]]:
    return [(r.status_code, r.json()) for r in responses]


def lockouts(store) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(store=store, action="lockout"))


# --- the threshold and who it stops ---------------------------------------------------


def test_the_nth_failure_is_a_429_and_so_is_every_lookup_of_the_pair_until_the_cooldown(
    world, frozen
):
    key, customer = world["key"], world["customer"]
    failures = [validate(key, f"GUESS-{i}", customer) for i in range(LIMIT)]

    assert answers(failures[: LIMIT - 1]) == [(200, UNKNOWN)] * (LIMIT - 1)
    assert (failures[-1].status_code, failures[-1].json()) == (429, paynow_429())
    assert failures[-1]["Retry-After"] == str(COOLDOWN)
    # A valid code too: or a guess that hits would still pay.
    valid = validate(key, "REAL-CODE", customer)
    assert (valid.status_code, valid.json()) == (429, paynow_429())
    frozen.shift(COOLDOWN - 1)
    later = validate(key, "REAL-CODE", customer)
    assert (later.status_code, later["Retry-After"]) == (429, "1")
    frozen.shift(1)
    assert answers([validate(key, "REAL-CODE", customer)]) == [(200, VALID)]


def test_another_customer_on_the_key_and_the_customer_on_another_key_keep_working(
    world, frozen
):
    key, customer = world["key"], world["customer"]
    other_customer = CustomerFactory(store=world["store"])
    other_key = ApiKeyFactory(store=world["store"])
    for i in range(LIMIT):
        validate(key, f"GUESS-{i}", customer)
    assert validate(key, "REAL-CODE", customer).status_code == 429

    assert (
        answers(
            [
                validate(key, "REAL-CODE", other_customer),
                validate(other_key, "REAL-CODE", customer),
                validate(key, "REAL-CODE"),  # no customer: a counter of its own
            ]
        )
        == [(200, VALID)] * 3
    )


def test_one_audit_event_per_lockout_naming_the_key_and_the_customer(world, frozen):
    key, customer = world["key"], world["customer"]
    for i in range(LIMIT + 3):
        validate(key, f"GUESS-{i}", customer)

    [event] = lockouts(world["store"])
    assert (event.object_type, event.object_id, event.customer_id) == (
        "api_key",
        key.pk,
        customer.pk,
    )
    assert (event.actor_type, event.actor_id, event.channel) == (
        "api_key",
        key.pk,
        "paynow",
    )
    assert {k: v for k, v in event.changes.items() if k != "until"} == {
        "reason": "unknown_code",
        "failures": LIMIT,
        "limit": LIMIT,
        "window_seconds": WINDOW,
        "cooldown_seconds": COOLDOWN,
    }
    # A second lockout after the cool-down is a second event.
    frozen.shift(COOLDOWN)
    for i in range(LIMIT):
        validate(key, f"AGAIN-{i}", customer)
    assert len(lockouts(world["store"])) == 2


def test_the_window_slides_a_failure_counts_for_window_seconds(world, frozen):
    key, customer = world["key"], world["customer"]
    other = CustomerFactory(store=world["store"])
    # Within the window: the LIMIT-th failure, WINDOW - 1 seconds after the first.
    early = [validate(key, f"EARLY-{i}", customer) for i in range(LIMIT - 1)]
    frozen.shift(WINDOW - 1)
    assert [r.status_code for r in early] == [200] * (LIMIT - 1)
    assert validate(key, "LATE", customer).status_code == 429
    # WINDOW seconds after them, earlier failures no longer count.
    for i in range(LIMIT - 1):
        validate(key, f"FIRST-{i}", other)
    frozen.shift(WINDOW)
    again = [validate(key, f"AGAIN-{i}", other).status_code for i in range(LIMIT)]
    assert again == [200] * (LIMIT - 1) + [429]


def test_failures_spread_wider_than_the_window_never_lock_out(world, frozen):
    key, customer = world["key"], world["customer"]
    statuses = []
    for i in range(3 * LIMIT):
        statuses.append(validate(key, f"SLOW-{i}", customer).status_code)
        frozen.shift(WINDOW // (LIMIT - 1) + 1)
    assert statuses == [200] * (3 * LIMIT)
    assert lockouts(world["store"]) == []


def test_a_store_limit_set_in_the_admin_wins_over_the_setting(world, frozen):
    from stores import services

    store = services.store_update(store=world["store"], code_guess_limit=2)
    assert store.code_guess_limit == 2
    key, customer = world["key"], world["customer"]
    first, second = validate(key, "G-1", customer), validate(key, "G-2", customer)
    assert (first.status_code, second.status_code) == (200, 429)
    # Another store keeps the setting's limit.
    other = ApiKeyFactory()
    assert [validate(other, f"G-{i}").status_code for i in range(LIMIT)] == [200] * (
        LIMIT - 1
    ) + [429]


def test_the_store_admin_edits_the_limit(world, admin_client):
    from django.urls import reverse

    store = world["store"]
    url = reverse("admin:stores_store_change", args=[store.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert b'name="code_guess_limit"' in page.content


def test_no_limit_at_all_is_the_feature_off(world, settings, frozen):
    settings.CODE_GUESS_LIMIT = 0
    key, customer = world["key"], world["customer"]
    statuses = {validate(key, f"G-{i}", customer).status_code for i in range(8)}
    assert statuses == {200}
    assert FailedLookupCount.objects.count() == 0
    assert lockouts(world["store"]) == []


# --- durable counts -------------------------------------------------------------------


def test_failed_lookups_are_counted_per_hour_and_a_found_code_writes_nothing(
    world, frozen
):
    key, customer = world["key"], world["customer"]
    validate(key, "G-1", customer)
    validate(key, "G-2")
    frozen.shift(3600)
    validate(key, "G-3", customer)
    rows = FailedLookupCount.objects.order_by("hour")
    assert [(r.store_id, r.api_key_id, r.reason, r.failures) for r in rows] == [
        (world["store"].pk, key.pk, "unknown_code", 2),
        (world["store"].pk, key.pk, "unknown_code", 1),
    ]
    assert [r.hour.minute + r.hour.second for r in rows] == [0, 0]
    assert rows[1].hour - rows[0].hour == timedelta(hours=1)
    before = FailedLookupCount.objects.count()
    assert validate(key, "REAL-CODE", customer).status_code == 200
    assert FailedLookupCount.objects.count() == before
    assert sum(r.failures for r in FailedLookupCount.objects.all()) == 3


# --- every dialect endpoint that looks a code up --------------------------------------


def test_redeem_counts_its_404_and_answers_the_nth_with_a_429(world, frozen):
    key, customer = world["key"], world["customer"]
    url = f"/v1/stores/{key.store_id}/redemptions"
    responses = [
        paynow(key).post(
            url, {"code": f"G-{i}", "customer_id": str(customer.id)}, format="json"
        )
        for i in range(LIMIT)
    ]
    not_found = error_body(404, "not-found", "Coupon not found.", trace=TRACE)
    assert answers(responses) == [(404, not_found)] * (LIMIT - 1) + [
        (429, paynow_429())
    ]
    real = paynow(key).post(
        url, {"code": "REAL-CODE", "customer_id": str(customer.id)}, format="json"
    )
    assert (real.status_code, real.json()) == (429, paynow_429())
    assert world["coupon"].redemptions.count() == 0


def v11(key) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=basic_header(key))
    return api


V11_429 = {
    "response": {"status": {"success": "false", "code": 429, "message": MESSAGE}}
}


def test_capillary_v11_redeem_answers_the_nth_failure_with_its_429(world, frozen):
    key = world["key"]

    def redeem(code: str):
        return v11(key).post(
            "/v1.1/coupon/redeem",
            {"root": {"coupon": [{"code": code, "customer": {"email": "ada@x.org"}}]}},
            format="json",
        )

    CustomerFactory(store=world["store"], email="ada@x.org")
    responses = [redeem(f"G-{i}") for i in range(LIMIT)]
    assert [r.status_code for r in responses] == [400] * (LIMIT - 1) + [429]
    assert [
        r.json()["response"]["coupons"]["coupon"][0]["item_status"]["code"]
        for r in responses[:-1]
    ] == [702] * (LIMIT - 1)
    assert responses[-1].json() == V11_429
    assert responses[-1]["Retry-After"] == str(COOLDOWN)
    # Named by another identifier, the same customer is still locked out.
    real = redeem("REAL-CODE")
    assert (real.status_code, real.json()) == (429, V11_429)


def test_capillary_v11_isredeemable_counts_each_unknown_code(world, frozen):
    key = world["key"]
    url = "/v1.1/coupon/isredeemable?email=ada@example.com&code="
    few = v11(key).get(url + ",".join(f"G-{i}" for i in range(LIMIT - 1)))
    assert few.status_code == 200
    assert {
        item["item_status"]["code"]
        for item in few.json()["response"]["coupons"]["redeemable"]
    } == {702}
    one_more = v11(key).get(url + "REAL-CODE,G-LAST")
    assert (one_more.status_code, one_more.json()) == (429, V11_429)


def test_shoplazza_receive_counts_ids_that_name_no_coupon(world, frozen):
    key, customer = world["key"], world["customer"]
    api = APIClient()
    api.credentials(HTTP_ACCESS_TOKEN=key.token)

    def receive(ids):
        return api.post(
            "/openapi/2022-01/coupons/receive",
            {"customer_id": str(customer.id), "coupon_ids": ids},
            format="json",
        )

    missing = [str(10**15 + i) for i in range(LIMIT)]
    statuses = [receive([coupon_id]) for coupon_id in missing[:-1]]
    assert [(r.status_code, r.json()["status"]) for r in statuses] == [(200, 6)] * (
        LIMIT - 1
    )
    last = receive([missing[-1]])
    assert (last.status_code, last.json()) == (429, {"errors": [MESSAGE]})
    assert last["Retry-After"] == str(COOLDOWN)
    real = receive([str(world["coupon"].id)])
    assert (real.status_code, real.json()) == (429, {"errors": [MESSAGE]})


def test_shoplazza_a_receive_that_received_something_is_answered_as_usual(
    world, frozen
):
    key, customer = world["key"], world["customer"]
    api = APIClient()
    api.credentials(HTTP_ACCESS_TOKEN=key.token)
    ids = [str(world["coupon"].id)] + [str(10**15 + i) for i in range(LIMIT)]
    mixed = api.post(
        "/openapi/2022-01/coupons/receive",
        {"customer_id": str(customer.id), "coupon_ids": ids},
        format="json",
    )
    assert mixed.status_code == 200
    assert [item["status"] for item in mixed.json()["items"]] == [1] + [6] * LIMIT
    # The lockout holds from the next request.
    again = api.post(
        "/openapi/2022-01/coupons/receive",
        {"customer_id": str(customer.id), "coupon_ids": ids[:1]},
        format="json",
    )
    assert (again.status_code, again.json()) == (429, {"errors": [MESSAGE]})


def test_newstore_find_counts_codes_it_does_not_find(world, frozen):
    from tests.legacy.test_update_races import legacy_coupon

    key = world["key"]
    coupon = legacy_coupon(key)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key.token}")

    def find(*codes):
        query = "&".join(f"filter[code]={code}" for code in codes)
        return api.get(f"/v0/d/coupons?{query}")

    found = find(coupon.code.lower(), *(f"G-{i}" for i in range(LIMIT - 1)))
    assert found.status_code == 200
    assert [item["code"] for item in found.json()["items"]] == [coupon.code]
    last = find(coupon.code, "G-LAST")
    assert (last.status_code, last.json()) == (
        429,
        {"error_code": "too_many_requests", "message": MESSAGE},
    )


# --- the cache ------------------------------------------------------------------------


def test_a_dead_cache_fails_open_every_lookup_is_answered_and_counted_durably(
    world, settings, monkeypatch
):
    key, customer = world["key"], world["customer"]
    with closed_port() as url:
        settings.CACHES = production_caches(monkeypatch, url)
        responses = [validate(key, f"G-{i}", customer) for i in range(LIMIT + 3)]
        real = validate(key, "REAL-CODE", customer)
    assert answers(responses) == [(200, UNKNOWN)] * (LIMIT + 3)
    assert (real.status_code, real.json()) == (200, VALID)
    assert [row.failures for row in FailedLookupCount.objects.all()] == [LIMIT + 3]
    assert lockouts(world["store"]) == []


@pytest.fixture
def redis_db9(settings, monkeypatch, request):
    """The production CACHES on the real Redis, DB 9, under a prefix of this test's
    own (nothing else in the DB is touched; the test's keys are deleted after)."""
    import uuid

    import redis

    needs_redis()
    url = "redis://127.0.0.1:6379/9"
    caches = production_caches(monkeypatch, url)
    prefix = f"h20g-guessing-{uuid.uuid4().hex}"
    caches["default"]["KEY_PREFIX"] = prefix
    settings.CACHES = caches
    yield
    client = redis.Redis.from_url(url)
    for name in client.scan_iter(match=f"{prefix}:*"):
        client.delete(name)


def test_the_threshold_on_a_real_redis(world, redis_db9, frozen):
    key, customer = world["key"], world["customer"]
    statuses = [validate(key, f"G-{i}", customer).status_code for i in range(LIMIT)]
    assert statuses == [200] * (LIMIT - 1) + [429]
    assert validate(key, "REAL-CODE", customer).status_code == 429
    assert validate(key, "REAL-CODE").status_code == 200
    assert len(lockouts(world["store"])) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_get_no_more_than_the_threshold_through(redis_db9):
    # 3 trials of 16 failing requests released at once, each on a fresh key, against
    # a limit of 5: exactly 4 answered as usual, the rest 429, one audit event each.
    from tests.factories import StoreFactory

    store = StoreFactory()
    customer = CustomerFactory(store=store)
    for _trial in range(3):
        key = ApiKeyFactory(store=store)

        def guess(index: int, key=key) -> tuple[int, dict]:
            response = validate(key, f"PARALLEL-{index}", customer)
            return response.status_code, response.json()

        results = race(16, guess)
        assert sorted(status for status, _ in results) == [200] * (LIMIT - 1) + [
            429
        ] * (16 - LIMIT + 1)
        assert all(body == UNKNOWN for status, body in results if status == 200)
        events = AuditEvent.objects.filter(
            store=store, action="lockout", object_id=key.pk
        )
        assert events.count() == 1
        # Each request that looked its code up counted it; one that came after the
        # lockout was set was refused before looking anything up.
        counted = sum(
            row.failures for row in FailedLookupCount.objects.filter(api_key=key)
        )
        assert LIMIT <= counted <= 16


# --- mistyped check-character codes (coupons.typos) -----------------------------------


def test_a_mistyped_check_character_code_counts_as_a_failed_lookup(world, frozen):
    from tests.coupons.test_typed_codes_api import TYPO, check_series

    store, key, customer = world["store"], world["key"], world["customer"]
    check_series(store)
    url = f"/v1/stores/{store.id}/redemptions"
    body = {"code": TYPO, "customer_id": str(customer.id)}
    redeems = [paynow(key).post(url, body, format="json") for _ in range(LIMIT - 2)]
    typo = validate(key, TYPO, customer)
    last = paynow(key).post(url, body, format="json")

    assert [r.status_code for r in redeems] == [404] * (LIMIT - 2)
    assert {r.json()["errors"][0]["code"] for r in redeems} == {"typo"}
    assert typo.status_code == 200
    assert typo.json()["reasons"][0]["code"] == "typo"
    assert (last.status_code, last.json()) == (429, paynow_429())
    assert [(r.reason, r.failures) for r in FailedLookupCount.objects.all()] == [
        ("typo", LIMIT)
    ]
    [event] = lockouts(store)
    assert event.changes["reason"] == "typo"


def test_capillary_v11_counts_a_mistyped_code_for_the_customer_named(world, frozen):
    from tests.coupons.test_typed_codes_api import TYPO, check_series

    store, key = world["store"], world["key"]
    check_series(store)

    def redeem(code: str):
        return v11(key).post(
            "/v1.1/coupon/redeem",
            {
                "root": {
                    "coupon": [{"code": code, "customer": {"email": "ada@example.com"}}]
                }
            },
            format="json",
        )

    responses = [redeem(TYPO) for _ in range(LIMIT)]
    assert [r.status_code for r in responses] == [400] * (LIMIT - 1) + [429]
    assert responses[-1].json() == V11_429
    # The same customer named by its id through PayNow: locked out too.
    assert validate(key, "REAL-CODE", world["customer"]).status_code == 429


def test_capillary_v11_isredeemable_counts_a_typo_as_a_typo(world, frozen):
    from tests.coupons.test_typed_codes_api import TYPO, check_series

    store, key = world["store"], world["key"]
    check_series(store)
    url = "/v1.1/coupon/isredeemable?email=ada@example.com&code="
    response = v11(key).get(url + f"{TYPO},NO-SUCH-CODE,{TYPO.lower()}")

    assert response.status_code == 200
    assert [
        (item["code"], item["is_redeemable"], item["item_status"])
        for item in response.json()["response"]["coupons"]["redeemable"]
    ] == [
        (
            code,
            "false",
            {
                "success": "false",
                "status": "false",
                "code": 702,
                "message": "Coupon code is invalid.",
            },
        )
        for code in (TYPO, "NO-SUCH-CODE", TYPO)  # shown upper case (the default)
    ]
    assert sorted((r.reason, r.failures) for r in FailedLookupCount.objects.all()) == [
        ("typo", 2),
        ("unknown_code", 1),
    ]
    # In the audit trail as v1.1 redeem records it: the code as typed.
    assert sorted(
        event.changes["code"]
        for event in AuditEvent.objects.filter(store=store, action="typo")
    ) == sorted([TYPO, TYPO.lower()])
    # Typos and unknown codes count toward one lockout (LIMIT 5).
    assert v11(key).get(url + TYPO).status_code == 200
    last = v11(key).get(url + "NOPE-AGAIN")
    assert (last.status_code, last.json()) == (429, V11_429)
    [event] = lockouts(store)
    assert event.changes["reason"] == "unknown_code"


# --- OpenAPI ----------------------------------------------------------------------


def test_openapi_documents_the_429_of_every_endpoint_that_looks_codes_up(client):
    from core.schema import GUESSING_429

    paths = client.get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    ).json()["paths"]
    documented = {
        (method.upper(), path)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if GUESSING_429
        in operation.get("responses", {}).get("429", {}).get("description", "")
    }
    assert documented == {
        ("POST", "/v1/stores/{store_id}/coupons/validate"),
        ("POST", "/v1/stores/{store_id}/redemptions"),
        ("POST", "/v1/stores/{store_id}/holds"),
        ("POST", "/v1.1/coupon/redeem"),
        ("GET", "/v1.1/coupon/isredeemable"),
        ("POST", "/openapi/2022-01/coupons/receive"),
        ("GET", "/v0/d/coupons"),
    }


# --- several codes on one cart (issue 19's codes) ---------------------------------


CART = {"currency": "USD", "lines": [{"id": "l1", "quantity": 1, "unit_price": 1000}]}


def test_several_codes_on_a_cart_count_each_code_that_names_no_coupon(world, frozen):
    key, customer = world["key"], world["customer"]
    base = f"/v1/stores/{key.store_id}"

    def codes(url: str, *guesses: str):
        body = {"codes": list(guesses), "order": CART, "customer_id": str(customer.id)}
        return paynow(key).post(f"{base}/{url}", body, format="json")

    few = codes("coupons/validate", "REAL-CODE", *(f"G-{i}" for i in range(3)))
    assert few.status_code == 200
    assert [c["valid"] for c in few.json()["codes"]] == [True, False, False, False]
    refused = codes("redemptions", "REAL-CODE", "G-3")  # all or none: none
    assert refused.status_code == 409
    last = codes("coupons/validate", "G-4")
    assert (last.status_code, last.json()) == (429, paynow_429())
    real = codes("redemptions", "REAL-CODE")
    assert (real.status_code, real.json()) == (429, paynow_429())
    assert world["coupon"].redemptions.count() == 0


def test_capillary_v11_a_batch_that_redeemed_something_is_answered_as_usual(
    world, frozen
):
    key = world["key"]
    ada = {"email": "ada@example.com"}

    def redeem(*codes: str):
        coupons = [{"code": code, "customer": ada} for code in codes]
        return v11(key).post(
            "/v1.1/coupon/redeem", {"root": {"coupon": coupons}}, format="json"
        )

    assert redeem("G-1", "G-2", "G-3").status_code == 400
    batch = redeem("REAL-CODE", "G-4", "G-5")  # the 5th failure, and a redemption
    assert batch.status_code == 200
    assert batch.json()["response"]["status"]["code"] == 201
    assert [
        c["item_status"]["code"] for c in batch.json()["response"]["coupons"]["coupon"]
    ] == [700, 702, 702]
    assert world["coupon"].redemptions.count() == 1
    after = redeem("REAL-CODE")
    assert (after.status_code, after.json()) == (429, V11_429)
    assert len(lockouts(world["store"])) == 1


def test_holds_count_a_code_that_names_no_coupon(world, frozen):
    key, customer = world["key"], world["customer"]
    url = f"/v1/stores/{key.store_id}/holds"

    def hold(code: str):
        body = {"code": code, "customer_id": str(customer.id)}
        return paynow(key).post(url, body, format="json")

    guesses = [hold(f"G-{i}") for i in range(LIMIT)]
    assert [r.status_code for r in guesses] == [404] * (LIMIT - 1) + [429]
    assert guesses[-1].json() == paynow_429()
    real = hold("REAL-CODE")
    assert (real.status_code, real.json()) == (429, paynow_429())
    assert validate(key, "REAL-CODE", CustomerFactory(store=world["store"])).json() == (
        VALID
    )
