"""The admin dashboard's last day (issue 20, part 3): per store, redemptions and
failed code lookups hour by hour (the failed lookups from their durable counts, not
the cache), and the coupons whose redemptions jump (a leaked code): at least 10 in
the last hour and more than 5 times their usual hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import (
    ApiKeyFactory,
    CouponFactory,
    CustomerFactory,
    RedemptionFactory,
    StoreFactory,
)

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")
NOW = datetime(2026, 12, 7, 12, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_cached_dashboard():
    cache.clear()
    yield
    cache.clear()


def redeem_at(coupon, customer, at: datetime, times: int = 1) -> None:
    with time_machine.travel(at, tick=False):
        for _ in range(times):
            RedemptionFactory(coupon=coupon, customer=customer)


def fail_lookups_at(key, at: datetime, times: int) -> None:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"APIKey {key.token}")
    with time_machine.travel(at, tick=False):
        for i in range(times):
            response = api.post(
                f"/v1/stores/{key.store_id}/coupons/validate",
                {"code": f"NOPE-{at.hour}-{i}"},
                format="json",
            )
            assert response.status_code == 200


def test_the_last_day_hour_by_hour_and_the_coupons_that_jump(admin_client, settings):
    settings.CODE_GUESS_LIMIT = 100
    store = StoreFactory(code="shop")
    other = StoreFactory(code="other")
    customer = CustomerFactory(store=store)
    sudden = CouponFactory(store=store, code="SUDDEN")  # 0 before, 10 now
    steady = CouponFactory(store=store, code="STEADY")  # 2 an hour, 10 now: 5x
    leaked = CouponFactory(store=store, code="LEAKED")  # 2 an hour, 11 now
    few = CouponFactory(store=store, code="FEW")  # 0 before, 9 now
    for hours_ago in range(1, 24):
        at = NOW - timedelta(hours=hours_ago, minutes=5)
        redeem_at(steady, customer, at, 2)
        redeem_at(leaked, customer, at, 2)
    now = NOW - timedelta(minutes=10)
    redeem_at(sudden, customer, now, 10)
    redeem_at(steady, customer, now, 10)
    redeem_at(leaked, customer, now, 11)
    redeem_at(few, customer, now, 9)
    # Older than the day: left out.
    redeem_at(sudden, customer, NOW - timedelta(hours=30), 50)
    key = ApiKeyFactory(store=store)
    fail_lookups_at(key, NOW - timedelta(hours=2), 3)
    fail_lookups_at(key, NOW, 2)
    fail_lookups_at(ApiKeyFactory(store=other), NOW, 4)
    cache.clear()  # the failed lookups are read from the database

    with time_machine.travel(NOW, tick=False):
        response = admin_client.get(INDEX)

    assert response.status_code == 200
    rows = {row["store"].code: row for row in response.context["stores"]}
    shop = rows["shop"]
    # 24 hours, 13:00 yesterday .. 12:00 today (the current hour last).
    assert shop["hourly"]["redeemed"] == [4] * 23 + [40]
    assert shop["redeemed_last_day"] == 4 * 23 + 40
    assert shop["hourly"]["failed"] == [0] * 21 + [3, 0, 2]
    assert shop["failed_last_day"] == 5
    assert rows["other"]["hourly"]["failed"] == [0] * 23 + [4]
    assert rows["other"]["redeemed_last_day"] == 0
    assert [
        (jump["code"], jump["store"].code, jump["last_hour"], jump["usual"])
        for jump in response.context["jumps"]
    ] == [("LEAKED", "shop", 11, 2.0), ("SUDDEN", "shop", 10, 0.0)]
    body = response.content.decode()
    assert f'aria-label="{store.name}: last 24 hours"' in body
    assert body.count('class="dashboard-store-last-day" data-store="shop"') == 1
    assert '<table id="redemption-jumps">' in body
    assert ">LEAKED</a>" in body


def test_no_jump_is_listed_on_a_quiet_day(admin_client):
    store = StoreFactory()
    customer = CustomerFactory(store=store)
    coupon = CouponFactory(store=store)
    redeem_at(coupon, customer, NOW - timedelta(hours=3), 3)

    with time_machine.travel(NOW, tick=False):
        response = admin_client.get(INDEX)

    assert response.context["jumps"] == []
    assert "No coupon's redemptions jumped in the last hour." in (
        response.content.decode()
    )
