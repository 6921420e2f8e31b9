"""The admin index dashboard: per-store 30-day SVG charts, top series by
redemptions and outstanding liability, scoped to the user's stores."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from core import flake
from core.daycounts import first_id_of
from stores.models import StoreMembership
from tests.factories import (
    AssignmentFactory,
    CouponFactory,
    CustomerFactory,
    RedemptionFactory,
    SeriesFactory,
    StoreFactory,
)

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")


@pytest.fixture(autouse=True)
def _no_cached_dashboard():
    cache.clear()
    yield
    cache.clear()


def stores_of(response) -> dict[str, dict]:
    return {row["store"].code: row for row in response.context["stores"]}


def test_first_id_of_a_day_orders_ids_by_time():
    today = timezone.now().date()

    boundary = first_id_of(today)

    assert flake.timestamp_of(boundary).date() == today
    assert flake.timestamp_of(boundary - 1).date() == today - timedelta(days=1)
    assert flake.next_id() >= boundary


def test_dashboard_counts_issued_made_and_redeemed_per_store(admin_client):
    store = StoreFactory(code="shop", currency="USD")
    other = StoreFactory(code="other")
    customer = CustomerFactory(store=store)
    series = SeriesFactory(store=store, description="Spring")
    issued = CouponFactory(store=store, series=series, origin="generated")
    AssignmentFactory(store=store, coupon=issued, customer=customer, series=series)
    AssignmentFactory(store=store, coupon=issued, customer=customer, series=series)
    manual = CouponFactory(store=store, discount_amount=1250)
    RedemptionFactory(coupon=issued, customer=customer)
    RedemptionFactory(coupon=issued, customer=customer, rolled_back_at=timezone.now())
    CouponFactory(store=other)

    response = admin_client.get(INDEX)

    rows = stores_of(response)
    shop = rows["shop"]
    assert (shop["issued"], shop["created"], shop["redeemed"]) == (2, 1, 1)
    assert (rows["other"]["issued"], rows["other"]["created"]) == (0, 1)
    assert [
        (r["series"], r["redemptions"]) for r in response.context["top_series"]
    ] == [(series, 1)]
    # Unredeemed, live, enabled amount coupons: 12.50 (manual) + 5.00 (issued,
    # redeemed_count is still 0 on the factory row).
    assert shop["liability"] == "$17.50"
    assert shop["liability_coupons"] == 2
    assert manual.redeemed_count == 0
    body = response.content.decode()
    assert '<svg class="dashboard-chart" role="img"' in body
    assert "shop: last 30 days" not in body  # the label is the store's name
    assert f'aria-label="{store.name}: last 30 days"' in body


def test_liability_leaves_out_pooled_expired_disabled_redeemed_and_archived(
    admin_client,
):
    store = StoreFactory(code="shop", currency="JPY")
    now = timezone.now()
    CouponFactory(store=store, discount_amount=700)
    CouponFactory(store=store, discount_amount=1, pooled=True)
    CouponFactory(store=store, discount_amount=1, expires_at=now - timedelta(1))
    CouponFactory(store=store, discount_amount=1, enabled=False)
    CouponFactory(store=store, discount_amount=1, redeemed_count=1)
    CouponFactory(store=store, discount_amount=1, archived_at=now)
    CouponFactory(store=store, discount_type="percent", discount_amount=100)

    row = stores_of(admin_client.get(INDEX))["shop"]

    assert (row["liability"], row["liability_coupons"], row["percent_coupons"]) == (
        "¥700",
        1,
        1,
    )


def test_days_before_the_window_are_left_out(admin_client):
    store = StoreFactory(code="shop")
    old_id = first_id_of(timezone.now().date() - timedelta(days=30)) + 5
    CouponFactory(
        store=store,
        id=old_id,
        created_at=timezone.now() - timedelta(days=30),
    )
    CouponFactory(store=store)

    assert stores_of(admin_client.get(INDEX))["shop"]["created"] == 1


def test_staff_see_only_their_stores_on_the_dashboard(client):
    mine, theirs = StoreFactory(code="mine"), StoreFactory(code="theirs")
    series = SeriesFactory(store=theirs)
    RedemptionFactory(coupon=CouponFactory(store=theirs, series=series))
    user = User.objects.create_user("staff", is_staff=True)
    StoreMembership.objects.create(user=user, store=mine)
    client.force_login(user)

    response = client.get(INDEX)

    assert list(stores_of(response)) == ["mine"]
    assert response.context["top_series"] == []
    assert b"theirs" not in response.content


def test_dashboard_is_served_without_any_external_script(admin_client):
    StoreFactory()

    body = admin_client.get(INDEX).content.decode()

    assert "cdn" not in body.lower()
    assert '<script src="http' not in body


def test_dashboard_query_count_does_not_grow_with_rows(
    admin_client, django_assert_num_queries
):
    store = StoreFactory()
    series = SeriesFactory(store=store)

    def add_rows(n: int) -> None:
        for _ in range(n):
            customer = CustomerFactory(store=store)
            coupon = CouponFactory(store=store, series=series)
            AssignmentFactory(store=store, coupon=coupon, customer=customer)
            RedemptionFactory(coupon=coupon, customer=customer)

    add_rows(2)
    admin_client.get(INDEX)
    add_rows(20)
    cache.clear()
    # session, user, stores, issued/made/redeemed per day, top series, their
    # names, liability, redemptions and failed lookups per hour, the coupons whose
    # redemptions jump, recent admin actions.
    with django_assert_num_queries(13):
        admin_client.get(INDEX)
    # Cached for a minute: only the session, the user and the recent actions.
    with django_assert_num_queries(3):
        admin_client.get(INDEX)
