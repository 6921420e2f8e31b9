"""The benchmark's ideal endpoints keep up with the schema.

``bench/run.py`` measures each hot path as a ratio to an ideal endpoint
(``bench/ideal``) that writes the same rows with raw SQL. A column added without a
database default (``Redemption.value_returned`` did this) made the ideal redeem
answer 500 to every request, which no test saw and which made a benchmark figure
meaningless. These run each ideal write against the migrated schema.
"""

from __future__ import annotations

import pytest
from django.db import connection
from rest_framework.test import APIRequestFactory

from assignments.models import Assignment
from bench.ideal import views
from coupons.models import Coupon, Redemption
from tests.factories import CouponFactory, CustomerFactory, SeriesFactory

pytestmark = pytest.mark.django_db(transaction=True)

# The benchmark runs on PostgreSQL: a redemption's compact id is its sequence's
# default there, and the claim skips locked rows.
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the benchmark's database"
)


def _post(view, body):
    request = APIRequestFactory().post("/bench/ideal", body, format="json")
    return view.as_view()(request)


@postgresql_only
def test_ideal_redeem_writes_a_redemption(store):
    customer = CustomerFactory(store=store)
    coupon = CouponFactory(store=store, code="IDEAL1", discount_amount=500)

    response = _post(
        views.Redeem,
        {
            "store_id": store.id,
            "customer_id": customer.id,
            "code": "ideal1",
            "order_value": 300,
        },
    )

    assert (response.status_code, response.data) == (201, {"id": str(coupon.id)})
    redemption = Redemption.objects.get(coupon=coupon)
    assert (redemption.dialect, redemption.order_value, redemption.discount_amount) == (
        "ideal",
        300,
        300,
    )
    assert (redemption.value_returned, redemption.discount_returned) == (0, 0)
    assert Coupon.objects.get(id=coupon.id).redeemed_count == 1


def test_ideal_receive_writes_an_assignment(store):
    customer = CustomerFactory(store=store)
    coupon = CouponFactory(store=store)

    response = _post(
        views.Receive,
        {"store_id": store.id, "customer_id": customer.id, "coupon_id": coupon.id},
    )

    assert (response.status_code, response.data) == (200, {"status": 1})
    assert Assignment.objects.filter(coupon=coupon, customer=customer).count() == 1
    assert Coupon.objects.get(id=coupon.id).received_count == 1


@postgresql_only
def test_ideal_issue_claims_a_pooled_code(store):
    customer = CustomerFactory(store=store)
    series = SeriesFactory(store=store)
    pooled = CouponFactory(store=store, series=series, code="POOL1", pooled=True)

    response = _post(
        views.Issue, {"count": 1, "customerId": customer.id, "seriesId": series.id}
    )

    assert (response.status_code, response.data) == (200, {"codes": ["POOL1"]})
    assert Coupon.objects.get(id=pooled.id).pooled is False
    assert Assignment.objects.filter(coupon=pooled, customer=customer).count() == 1
