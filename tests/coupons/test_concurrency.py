"""Limits under real concurrent requests (PostgreSQL: row locks, own connections)."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection
from rest_framework.test import APIClient

from coupons.models import Coupon, Redemption
from tests.concurrency import race
from tests.factories import ApiKeyFactory, CouponFactory, CustomerFactory, StoreFactory
from tests.paynow import coupon_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_concurrently(token: str, calls: list[tuple[str, str, dict | None]]) -> Counter:
    """Send every call at once (one thread and one connection each); count statuses."""

    def call(index: int) -> int:
        method, path, payload = calls[index]
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"APIKey {token}")
        return getattr(api, method)(path, payload, format="json").status_code

    return Counter(race(len(calls), call))


@pytest.fixture
def setup():
    store = StoreFactory()
    return store, ApiKeyFactory(store=store)


def test_twenty_concurrent_redemptions_against_a_limit_of_five(setup):
    store, key = setup
    coupon = CouponFactory(
        store=store,
        code="HOT",
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=5,
    )
    path = f"/v1/stores/{store.id}/redemptions"
    result = run_concurrently(
        key.token, [("post", path, {"code": "hot", "order_value": 1000})] * 20
    )
    assert result == Counter({200: 5, 409: 15})
    coupon.refresh_from_db()
    assert coupon.redeemed_count == 5
    assert Redemption.objects.filter(coupon=coupon).count() == 5


def test_ten_concurrent_redemptions_by_one_customer_with_a_limit_of_one(setup):
    store, key = setup
    customer = CustomerFactory(store=store)
    coupon = CouponFactory(
        store=store,
        code="MINE",
        redeem_limit_customer_enabled=True,
        redeem_limit_customer_amount=1,
    )
    path = f"/v1/stores/{store.id}/redemptions"
    payload = {"code": "MINE", "customer_id": str(customer.id)}
    result = run_concurrently(key.token, [("post", path, payload)] * 10)
    assert result == Counter({200: 1, 409: 9})
    assert Redemption.objects.filter(coupon=coupon, customer=customer).count() == 1
    coupon.refresh_from_db()
    assert coupon.redeemed_count == 1


def test_concurrent_rollbacks_of_one_redemption_free_exactly_one_use(setup):
    store, key = setup
    coupon = CouponFactory(
        store=store,
        code="BACK",
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=3,
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"APIKey {key.token}")
    base = f"/v1/stores/{store.id}"
    ids = [
        api.post(f"{base}/redemptions", {"code": "BACK"}, format="json").json()["id"]
        for _ in range(3)
    ]
    connection.close()
    path = f"{base}/redemptions/{ids[0]}/rollback"
    result = run_concurrently(key.token, [("post", path, None)] * 8)
    assert result == Counter({200: 1, 409: 7})
    coupon.refresh_from_db()
    assert coupon.redeemed_count == 2


def test_a_rollback_under_redemption_load_frees_exactly_one_use(setup):
    store, key = setup
    coupon = CouponFactory(
        store=store,
        code="LOAD",
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=4,
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"APIKey {key.token}")
    base = f"/v1/stores/{store.id}"
    first = api.post(f"{base}/redemptions", {"code": "LOAD"}, format="json").json()
    for _ in range(3):
        api.post(f"{base}/redemptions", {"code": "LOAD"}, format="json")
    connection.close()
    calls = [("post", f"{base}/redemptions/{first['id']}/rollback", None)]
    calls += [("post", f"{base}/redemptions", {"code": "LOAD"})] * 12
    result = run_concurrently(key.token, calls)
    # The rollback succeeds once; at most the one freed use is taken again.
    assert result[200] in (1, 2)
    assert result[200] + result[409] == 13
    coupon.refresh_from_db()
    counting = Redemption.objects.filter(coupon=coupon, rolled_back_at__isnull=True)
    assert coupon.redeemed_count == counting.count()
    assert coupon.redeemed_count == 3 + (result[200] - 1)
    assert coupon.redeemed_count <= 4


def test_two_creates_of_one_code_race_to_one_success(setup):
    store, key = setup
    path = f"/v1/stores/{store.id}/coupons"
    calls = [
        ("post", path, coupon_body(code=code))
        for code in ("RACE", "race", "Race", "rAcE", "RACE", "race", "RaCe", "racE")
    ]
    result = run_concurrently(key.token, calls)
    assert result == Counter({200: 1, 409: 7})
    assert Coupon.objects.filter(store=store).count() == 1
