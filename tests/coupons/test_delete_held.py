"""A coupon with live holds is not deleted (409): the holders were promised those
uses (README "Holds"). An ended, released or redeemed hold does not keep it.
Through the PayNow DELETE, on any database; the races are in
tests/coupons/test_delete_held_races.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from audit.models import AuditEvent
from coupons.models import Coupon, Hold, HoldState
from tests.factories import CouponFactory, CustomerFactory, RedemptionFactory
from tests.paynow import error_body

pytestmark = pytest.mark.django_db

TRACE = "trace-delete-held"
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def held_message(count: int) -> str:
    return (
        f"This coupon has live holds ({count}) and cannot be deleted: its holders "
        "were promised those uses. Release the holds or let them end first."
    )


def call(api, method, url, body=None):
    return getattr(api, method)(url, body, format="json", HTTP_X_REQUEST_ID=TRACE)


def hold(api, base, code, customer, ttl=600):
    body = {"code": code, "customer_id": str(customer.id), "ttl_seconds": ttl}
    response = call(api, "post", f"{base}/holds", body)
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def customer(store):
    return CustomerFactory(store=store)


@pytest.mark.parametrize("history", [False, True])
def test_a_coupon_with_live_holds_is_409_and_stays(
    paynow, base, store, customer, history
):
    coupon = CouponFactory(store=store, code="HELD")
    if history:  # it would be archived, not deleted
        RedemptionFactory(coupon=coupon)
    first = hold(paynow, base, "HELD", customer)
    hold(paynow, base, "HELD", CustomerFactory(store=store))

    response = call(paynow, "delete", f"{base}/coupons/{coupon.id}")

    assert response.status_code == 409
    assert response.json() == error_body(409, "conflict", held_message(2), trace=TRACE)
    assert call(paynow, "get", f"{base}/coupons/{coupon.id}").status_code == 200
    assert Coupon.objects.get(pk=coupon.pk).archived_at is None
    assert not AuditEvent.objects.filter(action__in=["delete", "archive"]).exists()
    # The holder still redeems what it was promised.
    body = {"code": "HELD", "customer_id": str(customer.id), "hold_id": first["id"]}
    assert call(paynow, "post", f"{base}/redemptions", body).status_code == 200
    assert Hold.objects.get(pk=int(first["id"])).state == HoldState.REDEEMED


def test_once_its_holds_are_released_or_redeemed_the_coupon_is_deleted(
    paynow, base, store, customer
):
    coupon = CouponFactory(store=store, code="HELD")
    released = hold(paynow, base, "HELD", customer)
    redeemed = hold(paynow, base, "HELD", customer)
    body = {"code": "HELD", "customer_id": str(customer.id), "hold_id": redeemed["id"]}
    assert call(paynow, "post", f"{base}/redemptions", body).status_code == 200
    assert call(paynow, "delete", f"{base}/coupons/{coupon.id}").status_code == 409

    assert call(paynow, "delete", f"{base}/holds/{released['id']}").status_code == 204
    response = call(paynow, "delete", f"{base}/coupons/{coupon.id}")

    assert response.status_code == 204
    assert Coupon.objects.get(pk=coupon.pk).archived_at is not None  # redeemed


def test_an_ended_hold_does_not_keep_the_coupon(paynow, base, store, customer):
    coupon = CouponFactory(store=store, code="HELD")
    with time_machine.travel(NOW, tick=False) as clock:
        hold(paynow, base, "HELD", customer, ttl=60)
        clock.shift(timedelta(seconds=59))
        refused = call(paynow, "delete", f"{base}/coupons/{coupon.id}")
        clock.shift(timedelta(seconds=1))  # from expires_at on it counts for nothing
        deleted = call(paynow, "delete", f"{base}/coupons/{coupon.id}")

    assert (refused.status_code, deleted.status_code) == (409, 204)
    assert refused.json()["message"] == held_message(1)
    assert not Coupon.objects.filter(pk=coupon.pk).exists()
    assert not Hold.objects.exists()  # the ended hold went with it
