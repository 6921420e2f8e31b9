"""The receive rules (``assignments.receive.decide``), table-driven, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from assignments import errors
from assignments.errors import Outcome
from assignments.receive.decide import (
    MAX_COUPON_IDS,
    Decision,
    Holder,
    Terms,
    check_request,
    decide,
    hold_takes_last_unit,
    outcome,
    parse_ids,
    received_counts,
)
from core.errors import DomainError
from coupons.models import Coupon

AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
ME, OTHER = 7, 8
HOLDER = Holder(id=ME)
REDEEMED = Holder(id=ME, has_redeemed=True)


def terms(**values) -> Terms:
    return Terms(id=1, **values)


# Each rule alone, then the first that holds when several do (the documented order).
@pytest.mark.parametrize(
    ("coupon", "holder", "held", "received_count", "expected"),
    [
        (terms(), HOLDER, 0, 0, Outcome.RECEIVED),
        # 2. the window: usable_at is included, expires_at is not.
        (terms(usable_at=AT + SECOND), HOLDER, 0, 0, Outcome.NOT_STARTED),
        (terms(usable_at=AT), HOLDER, 0, 0, Outcome.RECEIVED),
        (terms(expires_at=AT), HOLDER, 0, 0, Outcome.EXPIRED),
        (terms(expires_at=AT + SECOND), HOLDER, 0, 0, Outcome.RECEIVED),
        # 3. eligibility.
        (terms(series_id=3), HOLDER, 0, 0, Outcome.NOT_ELIGIBLE),
        (terms(usable_by_customer_id=OTHER), HOLDER, 0, 0, Outcome.NOT_ELIGIBLE),
        (terms(usable_by_customer_id=ME), HOLDER, 0, 0, Outcome.RECEIVED),
        (terms(first_order_only=True), REDEEMED, 0, 0, Outcome.NOT_ELIGIBLE),
        (terms(first_order_only=True), HOLDER, 0, 0, Outcome.RECEIVED),
        (terms(), REDEEMED, 0, 0, Outcome.RECEIVED),
        # 4. the per-customer limit: 1 is "already received", more is "reached".
        (terms(customer_limit=1), HOLDER, 1, 0, Outcome.ALREADY_RECEIVED),
        (terms(customer_limit=1), HOLDER, 0, 0, Outcome.RECEIVED),
        (terms(customer_limit=3), HOLDER, 3, 0, Outcome.CUSTOMER_LIMIT_REACHED),
        (terms(customer_limit=3), HOLDER, 4, 0, Outcome.CUSTOMER_LIMIT_REACHED),
        (terms(customer_limit=3), HOLDER, 2, 0, Outcome.RECEIVED),
        (terms(), HOLDER, 50, 0, Outcome.RECEIVED),  # no limit: holdings ignored
        # 5. the stock.
        (terms(stock_limit=5), HOLDER, 0, 5, Outcome.OUT_OF_STOCK),
        (terms(stock_limit=5), HOLDER, 0, 4, Outcome.RECEIVED),
        (terms(), HOLDER, 0, 10**6, Outcome.RECEIVED),  # no limit: unlimited
        # The order: window before eligibility before limits before stock.
        (
            terms(usable_at=AT + SECOND, expires_at=AT, series_id=3),
            HOLDER,
            0,
            0,
            Outcome.NOT_STARTED,
        ),
        (terms(expires_at=AT, series_id=3), HOLDER, 0, 0, Outcome.EXPIRED),
        (
            terms(first_order_only=True, customer_limit=1),
            REDEEMED,
            1,
            0,
            Outcome.NOT_ELIGIBLE,
        ),
        (
            terms(customer_limit=1, stock_limit=1),
            HOLDER,
            1,
            1,
            Outcome.ALREADY_RECEIVED,
        ),
        (
            terms(customer_limit=2, stock_limit=1),
            HOLDER,
            2,
            1,
            Outcome.CUSTOMER_LIMIT_REACHED,
        ),
    ],
)
def test_outcome(coupon, holder, held, received_count, expected):
    assert (
        outcome(coupon, holder=holder, at=AT, held=held, received_count=received_count)
        == expected
    )


def test_each_decision_carries_the_counts_after_it():
    coupon = Terms(id=1, received_count=1, customer_limit=2, stock_limit=3)

    decisions = decide(
        [("1", 1)] * 3, {1: coupon}, holder=Holder(id=ME, held={1: 0}), at=AT
    )

    assert decisions == [
        Decision(
            "1", Outcome.RECEIVED, 1, 2, stock=1, customer_held=1, customer_limit=2
        ),
        Decision(
            "1", Outcome.RECEIVED, 1, 3, stock=0, customer_held=2, customer_limit=2
        ),
        Decision(
            "1",
            Outcome.CUSTOMER_LIMIT_REACHED,
            1,
            3,
            stock=0,
            customer_held=2,
            customer_limit=2,
        ),
    ]
    assert received_counts(decisions) == {1: 2}


def test_a_repeated_id_runs_out_of_stock_with_what_the_request_took():
    coupon = Terms(id=1, received_count=8, stock_limit=10)

    decisions = decide([("1", 1)] * 3, {1: coupon}, holder=HOLDER, at=AT)

    assert [(d.outcome, d.received_count, d.stock) for d in decisions] == [
        (Outcome.RECEIVED, 9, 1),
        (Outcome.RECEIVED, 10, 0),
        (Outcome.OUT_OF_STOCK, 10, 0),
    ]


def test_what_the_customer_held_before_counts():
    coupon = Terms(id=1, customer_limit=3)

    decisions = decide(
        [("1", 1), ("1", 1)], {1: coupon}, holder=Holder(id=ME, held={1: 2}), at=AT
    )

    assert [(d.outcome, d.customer_held) for d in decisions] == [
        (Outcome.RECEIVED, 3),
        (Outcome.CUSTOMER_LIMIT_REACHED, 3),
    ]


def test_ids_not_found_keep_their_place_and_their_text():
    found = Terms(id=5)

    decisions = decide(
        parse_ids(["x", "5", "6", "", "5"]), {5: found}, holder=HOLDER, at=AT
    )

    assert [(d.requested_id, d.outcome) for d in decisions] == [
        ("x", Outcome.NOT_FOUND),
        ("5", Outcome.RECEIVED),
        ("6", Outcome.NOT_FOUND),
        ("", Outcome.NOT_FOUND),
        ("5", Outcome.RECEIVED),
    ]
    # Nothing to receive from an unknown coupon: no count, no stock.
    assert decisions[0] == Decision("x", Outcome.NOT_FOUND)
    assert decisions[0].stock == 0
    assert received_counts(decisions) == {5: 2}


def test_a_refusal_takes_nothing():
    coupons = {1: Terms(id=1, expires_at=AT), 2: Terms(id=2, stock_limit=4)}

    decisions = decide([("1", 1), ("2", 2)], coupons, holder=HOLDER, at=AT)

    assert [(d.outcome, d.received_count, d.stock) for d in decisions] == [
        (Outcome.EXPIRED, 0, None),
        (Outcome.RECEIVED, 1, 3),
    ]
    assert received_counts(decisions) == {2: 1}


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [("123", 123), (" 1", None), ("abc", None), ("0", None), ("-1", None), ("", None)],
)
def test_parse_ids(raw, parsed):
    assert parse_ids([raw]) == [(raw, parsed)]


@pytest.mark.parametrize(
    ("coupon_ids", "reason"),
    [
        ([], errors.COUPON_IDS_REQUIRED),
        (["1"] * (MAX_COUPON_IDS + 1), errors.TOO_MANY_COUPON_IDS),
    ],
)
def test_whole_request_failures(coupon_ids, reason):
    with pytest.raises(DomainError) as caught:
        check_request(coupon_ids)

    assert caught.value.reason == reason


@pytest.mark.parametrize("count", [1, MAX_COUPON_IDS])
def test_a_request_within_the_limit_passes(count):
    check_request(["1"] * count)


def test_terms_of_a_coupon_name_only_the_enabled_limits():
    coupon = Coupon(
        id=4,
        received_count=2,
        usable_at=AT,
        expires_at=AT + SECOND,
        usable_by_customer_id=ME,
        is_first_order_only=True,
        redeem_limit_customer_enabled=False,
        redeem_limit_customer_amount=3,
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=9,
    )

    assert Terms.of(coupon) == Terms(
        id=4,
        received_count=2,
        usable_at=AT,
        expires_at=AT + SECOND,
        usable_by_customer_id=ME,
        first_order_only=True,
        customer_limit=None,
        stock_limit=9,
    )


# Live holds take stock (issue 20): another customer's hold keeps a unit from this
# receive; the customer's own holds do not, and stop taking one once it receives.
@pytest.mark.parametrize(
    ("coupon", "holder", "expected"),
    [
        (terms(stock_limit=2, held_by_others=1), HOLDER, (Outcome.RECEIVED, 0)),
        (terms(stock_limit=2, held_by_others=2), HOLDER, (Outcome.OUT_OF_STOCK, 0)),
        (
            terms(stock_limit=2, received_count=1, held_by_others=1),
            HOLDER,
            (Outcome.OUT_OF_STOCK, 0),
        ),
        (
            terms(stock_limit=2, held_by_others=1),
            Holder(id=ME, own_holds={1: 1}),
            (Outcome.RECEIVED, 0),
        ),
        (
            terms(stock_limit=3),
            Holder(id=ME, own_holds={1: 2}),
            (Outcome.RECEIVED, 2),
        ),
        # Refused for another reason: the customer's holds still take their units.
        (
            terms(stock_limit=3, expires_at=AT),
            Holder(id=ME, own_holds={1: 2}),
            (Outcome.EXPIRED, 1),
        ),
        (terms(held_by_others=5), HOLDER, (Outcome.RECEIVED, None)),  # unlimited
    ],
)
def test_live_holds_take_stock(coupon, holder, expected):
    (decision,) = decide([("1", 1)], {1: coupon}, holder=holder, at=AT)
    assert (decision.outcome, decision.stock) == expected


@pytest.mark.parametrize(
    ("limit", "received", "held", "holder_received", "refused"),
    [
        (None, 10, 10, False, False),
        (2, 1, 0, False, False),
        (2, 1, 1, False, True),
        (2, 2, 0, False, True),
        (2, 2, 0, True, False),  # a receiver's hold uses what it received
        (2, 0, 3, False, True),
    ],
)
def test_a_hold_needs_a_unit_unless_its_customer_received(
    limit, received, held, holder_received, refused
):
    assert (
        hold_takes_last_unit(
            limit, received=received, held=held, holder_received=holder_received
        )
        is refused
    )
