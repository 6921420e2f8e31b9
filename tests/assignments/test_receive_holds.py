"""A live hold takes a unit of a Shoplazza stock (issue 20): a hold of a customer
who has not received the coupon keeps one unit of the store-wide limit from the
receives of others, until it is redeemed, released or expires; and a hold is
refused (``out_of_stock``) when the receives left no unit. Native holds API and
Shoplazza receive, exact bodies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from assignments.models import Assignment
from coupons.models import Coupon, Hold
from tests.assignments.conftest import RECEIVE_URL
from tests.factories import CouponFactory, CustomerFactory
from tests.paynow import error_body, validation_error

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TRACE = "trace-h20-stock"


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def alice(store):
    return CustomerFactory(store=store)


@pytest.fixture
def bob(store):
    return CustomerFactory(store=store)


@pytest.fixture
def carol(store):
    return CustomerFactory(store=store)


def stocked(store, amount: int, **values) -> Coupon:
    """A coupon with a stock of ``amount`` (its store-wide limit), worth 5.00."""
    return CouponFactory(
        store=store,
        code="STOCK",
        discount_type="amount",
        discount_amount=500,
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=amount,
        **values,
    )


def hold(api, base, customer=None, **body):
    if customer is not None:
        body["customer_id"] = str(customer.id)
    return api.post(
        f"{base}/holds",
        {"code": "STOCK", **body},
        format="json",
        HTTP_X_REQUEST_ID=TRACE,
    )


def receive(api, customer, coupon):
    return api.post(
        RECEIVE_URL,
        {"customer_id": str(customer.id), "coupon_ids": [str(coupon.id)]},
        format="json",
    )


def item(coupon, *, status, stock, coupon_status, received_count):
    return {
        "id": str(coupon.id),
        "status": status,
        "value": 5.0,
        "stock": stock,
        "coupon_status": coupon_status,
        "received_count": received_count,
        "discount_text": "$5.00 off",
        "prerequisite_text": "No minimum",
        "is_first_order": False,
    }


def envelope(status, *items):
    return {
        "status": status,
        "items": list(items),
        "limit": 100,
        "has_more": False,
        "cursor": "",
    }


OUT_OF_STOCK = error_body(
    409,
    "conflict",
    "The coupon cannot be held: No stock is left: every unit was received or is held.",
    [
        validation_error(
            "code",
            "out_of_stock",
            "No stock is left: every unit was received or is held.",
        )
    ],
    trace=TRACE,
)


def test_a_live_hold_takes_a_unit_from_the_receives_of_others(
    store, paynow, shoplazza, base, alice, bob, carol
):
    coupon = stocked(store, 2)
    assert hold(paynow, base, alice).status_code == 201

    # One unit left for the others: bob takes it, and the stock shown is 0.
    first = receive(shoplazza, bob, coupon)
    assert first.json() == envelope(
        1, item(coupon, status=1, stock=0, coupon_status=3, received_count=1)
    )
    second = receive(shoplazza, carol, coupon)
    assert second.json() == envelope(
        8, item(coupon, status=8, stock=0, coupon_status=3, received_count=1)
    )
    assert list(Assignment.objects.values_list("customer_id", flat=True)) == [bob.id]
    coupon.refresh_from_db()
    assert coupon.received_count == 1


def test_the_holder_receives_its_held_unit(store, paynow, shoplazza, base, alice, bob):
    coupon = stocked(store, 1)
    assert hold(paynow, base, alice).status_code == 201

    refused = receive(shoplazza, bob, coupon)
    assert refused.json() == envelope(
        8, item(coupon, status=8, stock=0, coupon_status=3, received_count=0)
    )
    # The hold's own customer is not kept out by it; once it has received the
    # coupon, its hold uses what it received (no second unit).
    mine = receive(shoplazza, alice, coupon)
    assert mine.json() == envelope(
        1, item(coupon, status=1, stock=0, coupon_status=3, received_count=1)
    )


def test_a_hold_is_refused_when_the_receives_took_the_stock(
    store, paynow, shoplazza, base, alice, bob
):
    coupon = stocked(store, 1)
    assert receive(shoplazza, bob, coupon).json()["status"] == 1

    refused = hold(paynow, base, alice)
    assert refused.status_code == 409
    assert refused.json() == OUT_OF_STOCK
    nobody = hold(paynow, base)  # a customer-less hold takes a unit as well
    assert nobody.json() == OUT_OF_STOCK
    # Bob received it: his hold uses the unit he received.
    assert hold(paynow, base, bob).status_code == 201
    assert list(Hold.objects.values_list("customer_id", flat=True)) == [bob.id]


def test_a_customerless_hold_takes_a_unit(store, paynow, shoplazza, base, alice):
    coupon = stocked(store, 2)
    coupon.received_count = 1
    coupon.save()
    assert hold(paynow, base).status_code == 201

    response = receive(shoplazza, alice, coupon)
    assert response.json() == envelope(
        8, item(coupon, status=8, stock=0, coupon_status=3, received_count=1)
    )


def test_a_receivers_hold_takes_no_unit(store, paynow, shoplazza, base, alice, bob):
    coupon = stocked(store, 3)
    assert receive(shoplazza, alice, coupon).json()["status"] == 1
    assert hold(paynow, base, alice).status_code == 201

    response = receive(shoplazza, bob, coupon)
    assert response.json() == envelope(
        1, item(coupon, status=1, stock=1, coupon_status=1, received_count=2)
    )


def test_an_expired_hold_frees_its_unit_at_once(
    store, paynow, shoplazza, base, alice, bob, clock
):
    coupon = stocked(store, 1)
    assert hold(paynow, base, alice, ttl_seconds=60).status_code == 201
    assert receive(shoplazza, bob, coupon).json()["status"] == 8

    clock.shift(timedelta(seconds=60))  # no sweep: the hold is still "active"
    response = receive(shoplazza, bob, coupon)
    assert response.json() == envelope(
        1, item(coupon, status=1, stock=0, coupon_status=3, received_count=1)
    )


def test_a_released_or_redeemed_hold_frees_its_unit(
    store, paynow, shoplazza, base, alice, bob, carol
):
    coupon = stocked(store, 2)
    released = hold(paynow, base, alice).json()["id"]
    redeemed = hold(paynow, base, bob).json()["id"]
    assert receive(shoplazza, carol, coupon).json()["status"] == 8

    deleted = paynow.delete(f"{base}/holds/{released}")
    assert deleted.status_code == 204
    used = paynow.post(
        f"{base}/redemptions",
        {"code": "STOCK", "customer_id": str(bob.id), "hold_id": redeemed},
        format="json",
    )
    assert used.status_code == 200, used.content

    response = receive(shoplazza, carol, coupon)
    assert response.json() == envelope(
        1, item(coupon, status=1, stock=1, coupon_status=1, received_count=1)
    )


def test_without_a_store_wide_limit_holds_take_no_stock(
    store, paynow, shoplazza, base, alice, bob
):
    coupon = CouponFactory(
        store=store, code="STOCK", discount_type="amount", discount_amount=500
    )
    assert hold(paynow, base, alice).status_code == 201

    response = receive(shoplazza, bob, coupon)
    assert response.json() == envelope(
        1, item(coupon, status=1, stock=-1, coupon_status=1, received_count=1)
    )


def test_an_ended_hold_takes_no_unit_from_a_new_hold(
    store, paynow, shoplazza, base, alice, bob, clock
):
    coupon = stocked(store, 2)
    coupon.received_count = 1
    coupon.save()
    assert hold(paynow, base, alice, ttl_seconds=60).status_code == 201
    assert hold(paynow, base, bob).json() == OUT_OF_STOCK
    clock.shift(timedelta(seconds=60))
    assert hold(paynow, base, bob).status_code == 201
