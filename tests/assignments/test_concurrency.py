"""Racing receives on PostgreSQL: the coupon row lock keeps stock and limits exact."""

from __future__ import annotations

from collections import Counter

import pytest

from assignments.models import Assignment
from coupons.models import Coupon
from stores.scopes import PRICE_RULES
from tests.assignments.conftest import RECEIVE_URL, shoplazza_client
from tests.concurrency import post_at_once
from tests.factories import (
    ApiKeyFactory,
    CouponFactory,
    CustomerFactory,
    StoreFactory,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(token_key, bodies: list[dict]) -> list[tuple[int, dict]]:
    """POST ``bodies[i]`` from thread i, all released together."""
    return post_at_once(lambda: shoplazza_client(token_key), RECEIVE_URL, bodies)


def _body(customer, *coupons: Coupon) -> dict:
    return {
        "customer_id": str(customer.id),
        "coupon_ids": [str(coupon.id) for coupon in coupons],
    }


def test_50_customers_racing_for_a_stock_of_10_get_exactly_10():
    store = StoreFactory()
    key = ApiKeyFactory(store=store, scopes=[PRICE_RULES])
    coupon = CouponFactory(
        store=store, redeem_limit_store_enabled=True, redeem_limit_store_amount=10
    )
    customers = CustomerFactory.create_batch(50, store=store)

    results = _race(key, [_body(customer, coupon) for customer in customers])

    assert {status for status, _ in results} == {200}
    items = [body["items"][0] for _, body in results]
    assert Counter(item["status"] for item in items) == {1: 10, 8: 40}
    assert all(body["status"] == body["items"][0]["status"] for _, body in results)
    # Each success saw its own count: 1..10, and the stock left after it.
    received = sorted(item["received_count"] for item in items if item["status"] == 1)
    assert received == list(range(1, 11))
    assert sorted(item["stock"] for item in items if item["status"] == 1) == list(
        range(10)
    )
    assert {(i["stock"], i["coupon_status"]) for i in items if i["status"] == 8} == {
        (0, 3)
    }
    coupon.refresh_from_db()
    assert coupon.received_count == 10
    winners = {
        int(customers[index].id)
        for index, (_, body) in enumerate(results)
        if body["items"][0]["status"] == 1
    }
    assert set(Assignment.objects.values_list("customer_id", flat=True)) == winners
    assert Assignment.objects.filter(coupon=coupon).count() == 10


def test_one_customer_sending_the_same_receive_5_times_gets_it_once():
    store = StoreFactory()
    key = ApiKeyFactory(store=store, scopes=[PRICE_RULES])
    coupon = CouponFactory(
        store=store,
        redeem_limit_customer_enabled=True,
        redeem_limit_customer_amount=1,
    )
    customer = CustomerFactory(store=store)

    results = _race(key, [_body(customer, coupon) for _ in range(5)])

    assert {status for status, _ in results} == {200}
    assert sorted(body["status"] for _, body in results) == [1, 7, 7, 7, 7]
    coupon.refresh_from_db()
    assert coupon.received_count == 1
    assert Assignment.objects.filter(coupon=coupon, customer=customer).count() == 1


def test_coupons_asked_for_in_opposite_orders_do_not_deadlock():
    store = StoreFactory()
    key = ApiKeyFactory(store=store, scopes=[PRICE_RULES])
    first, second = (
        CouponFactory(
            store=store, redeem_limit_store_enabled=True, redeem_limit_store_amount=6
        )
        for _ in range(2)
    )
    customers = CustomerFactory.create_batch(16, store=store)
    bodies = [
        _body(customer, first, second) if i % 2 else _body(customer, second, first)
        for i, customer in enumerate(customers)
    ]

    results = _race(key, bodies)

    assert {status for status, _ in results} == {200}
    statuses = Counter(
        (item["id"], item["status"]) for _, body in results for item in body["items"]
    )
    for coupon in (first, second):
        assert statuses[(str(coupon.id), 1)] == 6
        assert statuses[(str(coupon.id), 8)] == 10
        coupon.refresh_from_db()
        assert coupon.received_count == 6
        assert Assignment.objects.filter(coupon=coupon).count() == 6
