"""The holds list at scale (issue 22 item 5): searched by the coupon's exact code in
any case, the customer's identifiers or the hold's id; the cart lines list filtered by
store; a page of redeemed holds in as many queries as a page of any other."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from coupons.models import Hold, HoldState, RedemptionLine
from tests.factories import (
    CouponFactory,
    CustomerFactory,
    RedemptionFactory,
    StoreFactory,
)

pytestmark = pytest.mark.django_db

HOLDS = reverse("admin:coupons_hold_changelist")
LINES = reverse("admin:coupons_redemptionline_changelist")


def make_hold(coupon, **fields):
    fields.setdefault("expires_at", timezone.now() + timedelta(minutes=15))
    return Hold.objects.create(store=coupon.store, coupon=coupon, **fields)


def listed(client, url, params) -> list[int]:
    response = client.get(url, params)
    assert response.status_code == 200
    return sorted(row.pk for row in response.context["cl"].result_list)


@pytest.fixture
def holds():
    coupon = CouponFactory(code="Held-Code")
    customer = CustomerFactory(store=coupon.store, email="Holder@Example.com")
    other = CouponFactory(store=coupon.store, code="OTHER")
    return {
        "coupon": coupon,
        "customer": customer,
        "active": make_hold(coupon),
        "released": make_hold(coupon, state=HoldState.RELEASED),
        "customers": make_hold(other, customer=customer),
        "other": make_hold(other),
    }


def test_holds_are_found_by_code_in_any_case_customer_or_id(admin_client, holds):
    own = sorted([holds["active"].pk, holds["released"].pk])

    assert listed(admin_client, HOLDS, {"q": "held-code"}) == own
    assert listed(admin_client, HOLDS, {"q": "HELD-CODE"}) == own
    assert listed(admin_client, HOLDS, {"q": str(holds["coupon"].pk)}) == own
    assert listed(admin_client, HOLDS, {"q": "holder@example.COM"}) == [
        holds["customers"].pk
    ]
    assert listed(admin_client, HOLDS, {"q": str(holds["other"].pk)}) == [
        holds["other"].pk
    ]
    assert listed(admin_client, HOLDS, {"q": "no such code"}) == []
    assert listed(admin_client, HOLDS, {"q": str(2**70)}) == []


def test_a_page_of_redeemed_holds_reads_their_redemptions_in_its_query(admin_client):
    coupon = CouponFactory()

    def page_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = admin_client.get(
                HOLDS, {"store__id__exact": coupon.store_id, "state__exact": "redeemed"}
            )
        assert response.status_code == 200
        return len(captured)

    redemption = RedemptionFactory(store=coupon.store, coupon=coupon)
    make_hold(coupon, state=HoldState.REDEEMED, redemption=redemption)
    one = page_queries()
    for _ in range(4):
        redemption = RedemptionFactory(store=coupon.store, coupon=coupon)
        make_hold(coupon, state=HoldState.REDEEMED, redemption=redemption)

    assert page_queries() == one


def test_cart_lines_are_filtered_by_store(admin_client):
    lines = {}
    for code in ("one", "two"):
        redemption = RedemptionFactory(
            coupon=CouponFactory(store=StoreFactory(code=code))
        )
        lines[code] = RedemptionLine.objects.create(
            store=redemption.store,
            redemption=redemption,
            line_id="1",
            quantity=1,
            unit_price=100,
            discount=10,
        )

    store = lines["one"].store_id
    assert listed(admin_client, LINES, {"store__id__exact": store}) == [lines["one"].pk]
    assert listed(admin_client, LINES, {}) == sorted(x.pk for x in lines.values())
