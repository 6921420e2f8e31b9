"""``receive_coupons``: the vendor-neutral receive service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from assignments import errors
from assignments.errors import Outcome
from assignments.models import Assignment, Channel
from assignments.receive.decide import MAX_COUPON_IDS
from assignments.receive.service import receive_coupons
from core.actors import SYSTEM
from core.errors import DomainError
from customers.refs import CustomerRef
from tests.factories import CouponFactory, CustomerFactory

pytestmark = pytest.mark.django_db

AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _receive(store, customer, coupon_ids, **kwargs):
    return receive_coupons(
        store=store,
        customer=CustomerRef(id=customer.id),
        coupon_ids=[str(i) for i in coupon_ids],
        actor=SYSTEM.via(Channel.ADMIN),
        **kwargs,
    )


@pytest.mark.parametrize(
    ("coupon_ids", "reason"),
    [
        ([], errors.COUPON_IDS_REQUIRED),
        (["1"] * (MAX_COUPON_IDS + 1), errors.TOO_MANY_COUPON_IDS),
    ],
)
def test_whole_request_failures_raise_and_write_nothing(store, coupon_ids, reason):
    customer = CustomerFactory(store=store)

    with pytest.raises(DomainError) as caught:
        _receive(store, customer, coupon_ids)

    assert caught.value.reason == reason
    assert Assignment.objects.count() == 0


def test_the_too_many_message_says_the_limit(store):
    customer = CustomerFactory(store=store)

    with pytest.raises(DomainError) as caught:
        _receive(store, customer, ["1"] * 250)

    assert caught.value.message == "At most 100 coupon ids per request (250 given)."


def test_an_unknown_customer_is_customer_not_found(store):
    coupon = CouponFactory(store=store)

    with pytest.raises(DomainError) as caught:
        receive_coupons(
            store=store,
            customer=CustomerRef(id=999),
            coupon_ids=[str(coupon.id)],
            actor=SYSTEM.via(Channel.ADMIN),
        )

    assert caught.value.reason == "customer_not_found"


def test_the_window_is_judged_at_the_given_instant(store):
    customer = CustomerFactory(store=store)
    coupon = CouponFactory(store=store, usable_at=AT, expires_at=AT + timedelta(days=1))

    outcomes = [
        _receive(store, customer, [coupon.id], at=at).items[0].outcome
        for at in (
            AT - timedelta(microseconds=1),
            AT,
            AT + timedelta(days=1) - timedelta(microseconds=1),
            AT + timedelta(days=1),
        )
    ]

    assert outcomes == [
        Outcome.NOT_STARTED,
        Outcome.RECEIVED,
        Outcome.RECEIVED,
        Outcome.EXPIRED,
    ]
    assert list(
        Assignment.objects.order_by("id").values_list("created_at", flat=True)
    ) == [AT, AT + timedelta(days=1) - timedelta(microseconds=1)]


def test_items_carry_the_counts_after_each_receive(store):
    customer = CustomerFactory(store=store)
    coupon = CouponFactory(
        store=store,
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=3,
        redeem_limit_customer_enabled=True,
        redeem_limit_customer_amount=2,
    )

    result = _receive(store, customer, [coupon.id] * 3)

    assert [
        (i.outcome, i.received_count, i.stock, i.customer_held, i.customer_limit)
        for i in result.items
    ] == [
        (Outcome.RECEIVED, 1, 2, 1, 2),
        (Outcome.RECEIVED, 2, 1, 2, 2),
        (Outcome.CUSTOMER_LIMIT_REACHED, 2, 1, 2, 2),
    ]
    assert [i.customer_limit_reached for i in result.items] == [False, True, True]
    assert result.first_failure is result.items[2]
    assert [i.assignment is not None for i in result.items] == [True, True, False]
    assert result.items[0].assignment.channel == Channel.ADMIN
    assert result.items[0].assignment.api_key_id is None
    coupon.refresh_from_db()
    assert coupon.received_count == 2


def test_the_customer_limit_is_checked_before_the_stock(store):
    customer = CustomerFactory(store=store)
    coupon = CouponFactory(
        store=store,
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=1,
        redeem_limit_customer_enabled=True,
        redeem_limit_customer_amount=1,
    )

    result = _receive(store, customer, [coupon.id, coupon.id])

    assert [i.outcome for i in result.items] == [
        Outcome.RECEIVED,
        Outcome.ALREADY_RECEIVED,
    ]
    assert result.items[1].stock == 0


def test_a_fully_received_request_has_no_failure(store):
    customer = CustomerFactory(store=store)
    coupon = CouponFactory(store=store)

    result = _receive(store, customer, [coupon.id])

    assert result.first_failure is None
    assert result.items[0].stock is None  # no store-wide limit: unlimited
