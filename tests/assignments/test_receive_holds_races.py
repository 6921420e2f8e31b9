"""Holds and Shoplazza receives racing on one coupon's stock (PostgreSQL: row
locks, one connection per thread): together they never take more than the stock,
and a hold that expires frees its unit to the next caller at once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from assignments.models import Assignment
from coupons.models import Coupon, Hold
from stores.scopes import PRICE_RULES
from tests.assignments.conftest import RECEIVE_URL, shoplazza_client
from tests.concurrency import paynow_client, race
from tests.factories import ApiKeyFactory, CouponFactory, CustomerFactory, StoreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

STOCK = 3


@pytest.fixture
def world():
    store = StoreFactory()
    coupon = CouponFactory(
        store=store,
        code="STOCK",
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=STOCK,
    )
    customers = [CustomerFactory(store=store) for _ in range(12)]
    return (
        store,
        ApiKeyFactory(store=store),
        ApiKeyFactory(store=store, scopes=[PRICE_RULES]),
        coupon,
        customers,
    )


def taken(coupon: Coupon) -> int:
    """The units taken now: receives, and live holds of customers who have not
    received the coupon."""
    coupon.refresh_from_db()
    receivers = set(
        Assignment.objects.filter(coupon=coupon).values_list("customer_id", flat=True)
    )
    assert coupon.received_count == len(receivers)
    live = Hold.objects.live(at=timezone.now()).filter(coupon=coupon)
    return coupon.received_count + sum(
        customer_id not in receivers
        for customer_id in live.values_list("customer_id", flat=True)
    )


def attempt(store, paynow_key, shoplazza_key, coupon, customer, kind: str):
    """One hold (native) or receive (Shoplazza): whether it took a unit."""
    if kind == "hold":
        response = paynow_client(paynow_key).post(
            f"/v1/stores/{store.id}/holds",
            {"code": "STOCK", "customer_id": str(customer.id)},
            format="json",
        )
        assert response.status_code in (201, 409), response.content
        if response.status_code == 409:
            assert response.json()["errors"][0]["code"] in (
                "out_of_stock",
                "store_limit_reached",
            )
        return kind, response.status_code == 201
    response = shoplazza_client(shoplazza_key).post(
        RECEIVE_URL,
        {"customer_id": str(customer.id), "coupon_ids": [str(coupon.id)]},
        format="json",
    )
    assert response.status_code == 200, response.content
    status = response.json()["status"]
    assert status in (1, 8)
    return kind, status == 1


def test_holds_and_receives_at_once_never_take_more_than_the_stock(world):
    store, paynow_key, shoplazza_key, coupon, customers = world
    kinds = ["hold", "receive"] * 6

    def work(i: int) -> tuple[str, bool]:
        return attempt(store, paynow_key, shoplazza_key, coupon, customers[i], kinds[i])

    results = race(len(kinds), work)
    won = Counter(kind for kind, took in results if took)
    # Every caller is a distinct customer who has not received it: each winner
    # takes one unit, and a loser lost only because none was left.
    assert sum(won.values()) == STOCK
    assert taken(coupon) == STOCK
    assert coupon.received_count == won["receive"]
    assert Hold.objects.count() == won["hold"]


def test_an_expired_hold_frees_its_unit_to_the_next_caller(world):
    store, paynow_key, shoplazza_key, coupon, customers = world
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    with time_machine.travel(now, tick=False) as clock:
        for customer, ttl in zip(customers[:3], (60, 3600, 3600), strict=True):
            response = paynow_client(paynow_key).post(
                f"/v1/stores/{store.id}/holds",
                {"code": "STOCK", "customer_id": str(customer.id), "ttl_seconds": ttl},
                format="json",
            )
            assert response.status_code == 201, response.content
        assert attempt(
            store, paynow_key, shoplazza_key, coupon, customers[3], "receive"
        ) == ("receive", False)
        clock.shift(timedelta(seconds=60))  # one hold ends: one unit free at once
        kinds = ["hold", "receive"] * 4

        def work(i: int) -> tuple[str, bool]:
            customer = customers[4 + i]
            return attempt(store, paynow_key, shoplazza_key, coupon, customer, kinds[i])

        results = race(len(kinds), work)
        assert sum(took for _kind, took in results) == 1
        assert taken(coupon) == STOCK
