"""Holds racing with redemptions and rollbacks on one coupon (PostgreSQL: row
locks, one connection per thread): a store-wide limit is never passed, an expired
hold frees its use to the next caller, a hold redeemed twice is redeemed once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from coupons.models import Coupon, Hold, HoldState, Redemption
from tests.concurrency import paynow_client, race
from tests.factories import ApiKeyFactory, CouponFactory, CustomerFactory, StoreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LIMIT = 3


@pytest.fixture
def world():
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    coupon = CouponFactory(
        store=store,
        code="RACE",
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=LIMIT,
    )
    return store, key, coupon


def uses(coupon: Coupon) -> int:
    """The coupon's uses now: its counted redemptions and its live holds."""
    coupon.refresh_from_db()
    counted = Redemption.objects.counting().filter(coupon=coupon).count()
    assert coupon.redeemed_count == counted
    return counted + Hold.objects.live(at=timezone.now()).filter(coupon=coupon).count()


def test_holds_redemptions_and_rollbacks_at_once_never_pass_the_limit(world):
    store, key, coupon = world
    base = f"/v1/stores/{store.id}"
    client = paynow_client(key)
    first = [
        client.post(f"{base}/redemptions", {"code": "RACE"}, format="json")
        for _ in range(2)
    ]
    assert [r.status_code for r in first] == [200, 200]
    # 2 rollbacks (freeing 2 uses), 6 holds and 6 redemptions, all at once.
    kinds = ["rollback"] * 2 + ["hold"] * 6 + ["redeem"] * 6

    def work(i: int) -> tuple[str, int]:
        api = paynow_client(key)
        if kinds[i] == "rollback":
            url = f"{base}/redemptions/{first[i].json()['id']}/rollback"
            return kinds[i], api.post(url, {}, format="json").status_code
        url = f"{base}/holds" if kinds[i] == "hold" else f"{base}/redemptions"
        return kinds[i], api.post(url, {"code": "RACE"}, format="json").status_code

    results = race(len(kinds), work)
    statuses = Counter(results)
    assert statuses[("rollback", 200)] == 2
    won = statuses[("hold", 201)] + statuses[("redeem", 200)]
    # At most 1 taken before a rollback, and never more than the limit in all.
    assert 1 <= won <= LIMIT
    assert won + sum(n for (_k, s), n in statuses.items() if s == 409) == 12
    assert uses(coupon) == won <= LIMIT


def test_a_hold_redeemed_at_once_from_many_threads_is_redeemed_once(world):
    store, key, coupon = world
    customer = CustomerFactory(store=store)
    base = f"/v1/stores/{store.id}"
    made = paynow_client(key).post(
        f"{base}/holds",
        {"code": "RACE", "customer_id": str(customer.id)},
        format="json",
    )
    assert made.status_code == 201, made.content
    body = {
        "code": "RACE",
        "customer_id": str(customer.id),
        "hold_id": made.json()["id"],
    }

    def work(_i: int) -> tuple[int, str | None]:
        response = paynow_client(key).post(f"{base}/redemptions", body, format="json")
        return response.status_code, response.json().get("message")

    results = race(6, work)
    assert Counter(results) == Counter(
        {(200, None): 1, (409, "This hold was already redeemed."): 5}
    )
    hold = Hold.objects.get()
    assert hold.state == HoldState.REDEEMED
    assert Redemption.objects.get().pk == hold.redemption_id
    assert uses(coupon) == 1


def test_an_expired_hold_frees_its_use_to_the_next_caller(world):
    store, key, coupon = world
    base = f"/v1/stores/{store.id}"
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    with time_machine.travel(now, tick=False) as clock:
        client = paynow_client(key)
        for ttl in (60, 60, 3600):
            body = {"code": "RACE", "ttl_seconds": ttl}
            assert client.post(f"{base}/holds", body, format="json").status_code == 201
        assert client.post(f"{base}/holds", {"code": "RACE"}, format="json").json()[
            "errors"
        ][0]["code"] == ("store_limit_reached")
        clock.shift(timedelta(seconds=60))  # two holds end: two uses free at once

        def work(i: int) -> int:
            url = f"{base}/holds" if i % 2 else f"{base}/redemptions"
            body = {"code": "RACE"}
            return paynow_client(key).post(url, body, format="json").status_code

        results = race(6, work)
        assert sorted(results).count(409) == 4
        assert uses(coupon) == LIMIT


def test_one_customers_holds_at_once_keep_its_per_customer_limit(world):
    store, key, _coupon = world
    coupon = CouponFactory(
        store=store,
        code="MINE",
        redeem_limit_customer_enabled=True,
        redeem_limit_customer_amount=2,
    )
    customer = CustomerFactory(store=store)
    base = f"/v1/stores/{store.id}"
    body = {"code": "MINE", "customer_id": str(customer.id)}

    def work(i: int) -> int:
        url = f"{base}/holds" if i % 2 else f"{base}/redemptions"
        return paynow_client(key).post(url, body, format="json").status_code

    results = race(8, work)
    assert sum(status in (200, 201) for status in results) == 2
    assert results.count(409) == 6
    assert uses(coupon) == 2
