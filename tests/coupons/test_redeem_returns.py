"""Partial rollbacks (``coupons.redeem.returns``), without a database."""

from __future__ import annotations

import pytest

from coupons.redeem.returns import Held, Redeemed, by_amount, by_lines

# 10 % of a cart: l1 2 x 800 (160), l2 1 x 500 (50), l3 3 x 333 (100)
LINES = (
    Held("l1", quantity=2, unit_pays=800, discount=160),
    Held("l2", quantity=1, unit_pays=500, discount=50),
    Held("l3", quantity=3, unit_pays=333, discount=100),
)
CART = Redeemed(order_value=3099, discount=310, lines=LINES)


def after(redeemed: Redeemed, outcome) -> Redeemed:
    """What the service writes, as the next return sees it."""
    taken = {line_id: (units, given) for line_id, units, given in outcome.lines}
    return Redeemed(
        order_value=redeemed.order_value,
        discount=redeemed.discount - outcome.discount,
        value_returned=redeemed.value_returned + outcome.value,
        discount_returned=redeemed.discount_returned + outcome.discount,
        lines=tuple(
            Held(
                line.id,
                line.quantity,
                line.unit_pays,
                line.discount,
                line.returned_quantity + taken.get(line.id, (0, 0))[0],
                line.returned_discount + taken.get(line.id, (0, 0))[1],
            )
            for line in redeemed.lines
        ),
    )


@pytest.mark.parametrize(
    ("asked", "value", "discount", "complete"),
    [
        ((("l1", 1),), 800, 80, False),
        ((("l3", 1),), 333, 33, False),  # 100 / 3 rounded down
        ((("l3", 3),), 999, 100, False),
        ((("l1", 2), ("l2", 1), ("l3", 3)), 3099, 310, True),
    ],
)
def test_by_lines(asked, value, discount, complete):
    outcome = by_lines(CART, asked)
    assert (outcome.value, outcome.discount, outcome.complete) == (
        value,
        discount,
        complete,
    )


def test_a_lines_last_unit_gives_back_the_rest_of_its_discount():
    state, given = CART, []
    for _unit in range(3):
        outcome = by_lines(state, (("l3", 1),))
        given.append(outcome.discount)
        state = after(state, outcome)
    assert given == [33, 33, 34]


@pytest.mark.parametrize(
    ("asked", "problem", "message"),
    [
        ((("l1", 3),), "over_return", "Line 'l1' has 2 unit(s) left to return, not 3."),
        ((("zz", 1),), "unknown_line", "The redemption has no line 'zz'."),
    ],
)
def test_by_lines_refused(asked, problem, message):
    outcome = by_lines(CART, asked)
    assert (outcome.problem, outcome.message, outcome.value) == (problem, message, 0)


def test_by_amount_in_steps_gives_back_exactly_the_discount():
    state, given = CART, []
    for amount in (1000, 1000, 1099):
        outcome = by_amount(state, amount)
        given.append(outcome.discount)
        state = after(state, outcome)
    assert given == [100, 100, 110]
    assert outcome.complete


def test_by_amount_beyond_the_order_is_refused():
    outcome = by_amount(CART, 3100)
    assert (outcome.problem, outcome.message) == (
        "over_return",
        "3099 of the order's value is left to return, not 3100.",
    )


def test_mixed_returns_never_give_back_more_than_the_discount():
    state = after(CART, by_lines(CART, (("l1", 2),)))  # 160 of 310 back, 1600 value
    outcome = by_amount(state, 1000)
    assert outcome.discount <= state.discount
    state = after(state, outcome)
    last = by_amount(state, 499)
    assert last.complete
    assert state.discount_returned + last.discount == 310


def test_lines_after_an_amount_are_held_to_the_value_it_left():
    state = after(CART, by_amount(CART, 2000))  # 1099 of the value left
    outcome = by_lines(state, (("l1", 2),))  # 1600
    assert (outcome.problem, outcome.message, outcome.value, outcome.discount) == (
        "over_return",
        "1099 of the order's value is left to return, not 1600.",
        0,
        0,
    )
    fits = by_lines(state, (("l2", 1), ("l3", 1)))  # 833
    assert (fits.problem, fits.value, fits.complete) == (None, 833, False)
