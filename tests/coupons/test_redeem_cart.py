"""A coupon's discount on a cart (``coupons.redeem.cart``), without a database: a
table per PayNow rule, and properties that hold for every cart and coupon."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coupons.redeem.cart import (
    AMOUNT,
    PERCENT,
    Line,
    Rate,
    after,
    largest_remainder,
    round_half_up,
    split,
    total,
)

SHOE, SOCK, HAT = 11, 12, 13
RED, BLUE = 21, 22

L1 = Line("l1", quantity=2, unit_price=1000, sale_unit_price=800, product_id=SHOE)
L2 = Line("l2", quantity=1, unit_price=500, product_id=SOCK, tag_ids=(RED,))
L3 = Line("l3", quantity=3, unit_price=333, product_id=HAT, tag_ids=(BLUE,))
CART = (L1, L2, L3)  # pays 1600 + 500 + 999 = 3099


def percent(amount: int, **kwargs) -> Rate:
    return Rate(kind=PERCENT, amount=amount, **kwargs)


def amount(value: int, **kwargs) -> Rate:
    return Rate(kind=AMOUNT, amount=value, **kwargs)


# (what, the coupon, the cart, the discount of each line in order)
CASES = [
    # rule 1: eligible lines
    ("no restriction: every line", percent(100), CART, [160, 50, 100]),
    (
        "products: only the listed ones",
        percent(100, products=frozenset({SHOE})),
        CART,
        [160, 0, 0],
    ),
    ("tags: lines carrying one", percent(100, tags=frozenset({RED})), CART, [0, 50, 0]),
    (
        "products or tags",
        percent(100, products=frozenset({HAT}), tags=frozenset({RED})),
        CART,
        [0, 50, 100],
    ),
    ("nothing eligible", percent(100, products=frozenset({99})), CART, [0, 0, 0]),
    # rule 2 + 3: the base of a percent, the sale
    ("percent on the sale price", percent(250), (L1,), [400]),
    ("percent before the sale", percent(250, before_sales=True), (L1,), [500]),
    (
        "before the sale, never above what the line pays",
        percent(1000, before_sales=True),
        (L1,),
        [1600],
    ),
    ("100 % takes the whole line", percent(1000), CART, [1600, 500, 999]),
    ("0 % takes nothing", percent(0), CART, [0, 0, 0]),
    # rule 3: round half up per line (999 x 5 % = 49.95; 10 x 25 % = 2.5; 0.25)
    ("rounds .95 up", percent(50), (L3,), [50]),
    ("rounds half up", percent(250), (Line("a", 1, 10),), [3]),
    ("rounds below half down", percent(25), (Line("a", 1, 10),), [0]),
    ("rounds per line", percent(250), (Line("a", 1, 10), Line("b", 1, 10)), [3, 3]),
    # the cap of a percent (Capillary discountUpto), spread by largest remainder
    ("cap spread", percent(500, max_amount=100), CART, [52, 16, 32]),
    ("cap above the discount", percent(100, max_amount=10_000), CART, [160, 50, 100]),
    # rule 4: amount individually: per unit, at most the unit's price
    ("amount per unit", amount(100, individually=True), CART, [200, 100, 300]),
    (
        "per unit, at most the unit's (sale) price",
        amount(900, individually=True),
        CART,
        [1600, 500, 999],
    ),
    (
        "per unit, only eligible units",
        amount(100, individually=True, tags=frozenset({BLUE})),
        CART,
        [0, 0, 300],
    ),
    (
        "per unit ignores before-sales",
        amount(900, individually=True, before_sales=True),
        (L1,),
        [1600],
    ),
    # rule 4: amount once, spread in proportion to what lines pay
    ("once, spread", amount(1000), CART, [516, 161, 323]),
    ("once, one line", amount(1000), (L1,), [1000]),
    ("once, at most the eligible total", amount(10_000), CART, [1600, 500, 999]),
    (
        "once, only over eligible lines",
        amount(300, products=frozenset({SOCK, HAT})),
        CART,
        [0, 100, 200],
    ),
    (
        "once, largest remainder: parts sum to the whole",
        amount(100),
        (Line("a", 1, 100), Line("b", 1, 100), Line("c", 1, 100)),
        [34, 33, 33],
    ),
    (
        "once, a tie goes to the smaller id",
        amount(1),
        (Line("b", 1, 5), Line("a", 1, 5)),
        [0, 1],
    ),
    ("once, an empty cart", amount(500), (), []),
    ("no discount type", Rate(kind="unspecified", amount=500), CART, [0, 0, 0]),
    # a free line (price 0) gets nothing
    ("free line", amount(100), (Line("a", 1, 0), Line("b", 1, 100)), [0, 100]),
]


@pytest.mark.parametrize(
    ("rate", "lines", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_split_applies_every_rule(rate, lines, expected):
    result = split(rate, lines)
    assert [discount for _id, discount in result.lines] == expected
    assert [line_id for line_id, _d in result.lines] == [line.id for line in lines]
    assert result.total == sum(expected)


def test_total_is_what_all_lines_pay_before_coupons():
    assert total(CART) == 3099
    assert total(after(CART, split(percent(1000), CART))) == 3099


# several codes: each on what the previous ones left
STACKS = [
    (
        "amount then percent",
        [amount(1000), percent(100)],
        [[516, 161, 323], [108, 34, 68]],
    ),
    (
        "percent then amount",
        [percent(100), amount(1000)],
        [[160, 50, 100], [516, 162, 322]],
    ),
    (
        "the second finds nothing left",
        [percent(1000), amount(100)],
        [[1600, 500, 999], [0, 0, 0]],
    ),
    (
        "before-sales percent after an amount: at most what is left",
        [amount(1500, products=frozenset({SHOE})), percent(500, before_sales=True)],
        [[1500, 0, 0], [100, 250, 500]],
    ),
    (
        "per unit after a percent",
        [percent(500), amount(500, individually=True)],
        [[800, 250, 500], [800, 250, 499]],
    ),
]


@pytest.mark.parametrize(
    ("rates", "expected"), [c[1:] for c in STACKS], ids=[c[0] for c in STACKS]
)
def test_codes_apply_in_order_each_on_what_is_left(rates, expected):
    lines, got = CART, []
    for rate in rates:
        result = split(rate, lines)
        got.append([discount for _id, discount in result.lines])
        lines = after(lines, result)
    assert got == expected


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(0, 1000, 0), (499, 1000, 0), (500, 1000, 1), (1500, 1000, 2), (2499, 1000, 2)],
)
def test_round_half_up(numerator, denominator, expected):
    assert round_half_up(numerator, denominator) == expected


def test_largest_remainder_nothing_to_spread():
    assert largest_remainder(0, [1, 2], ["a", "b"]) == [0, 0]
    assert largest_remainder(5, [0, 0], ["a", "b"]) == [0, 0]


# --- properties ------------------------------------------------------------------

ids = st.sampled_from([1, 2, 3])


@st.composite
def lines_(draw) -> tuple[Line, ...]:
    count = draw(st.integers(0, 8))
    lines = []
    for index in range(count):
        unit_price = draw(st.integers(0, 100_000))
        sale = draw(st.none() | st.integers(0, unit_price))
        lines.append(
            Line(
                id=f"l{index}",
                quantity=draw(st.integers(1, 50)),
                unit_price=unit_price,
                sale_unit_price=sale,
                product_id=draw(ids),
                tag_ids=tuple(draw(st.sets(ids, max_size=2))),
            )
        )
    return tuple(lines)


rates = st.builds(
    Rate,
    kind=st.sampled_from([PERCENT, AMOUNT]),
    amount=st.integers(0, 1000) | st.integers(0, 10_000_000),
    individually=st.booleans(),
    before_sales=st.booleans(),
    max_amount=st.none() | st.integers(0, 100_000),
    products=st.frozensets(ids, max_size=2),
    tags=st.frozensets(ids, max_size=2),
).map(lambda r: replace(r, amount=min(r.amount, 1000)) if r.kind == PERCENT else r)


@settings(deadline=None)  # a shared, busy machine: no per-example deadline
@given(rate=rates, lines=lines_())
def test_discounts_are_never_negative_nor_above_what_a_line_pays(rate, lines):
    result = split(rate, lines)
    for line, (line_id, discount) in zip(lines, result.lines, strict=True):
        assert line_id == line.id
        assert 0 <= discount <= line.pays


@settings(deadline=None)  # a shared, busy machine: no per-example deadline
@given(rate=rates, lines=lines_())
def test_line_discounts_sum_to_the_total_and_respect_the_coupon(rate, lines):
    result = split(rate, lines)
    assert result.total == sum(d for _id, d in result.lines)
    assert result.total <= total(lines)
    if rate.kind == AMOUNT and not rate.individually:
        assert result.total <= rate.amount
    if rate.kind == PERCENT and rate.max_amount is not None:
        assert result.total <= rate.max_amount


@settings(deadline=None)  # a shared, busy machine: no per-example deadline
@given(rate=rates, lines=lines_(), data=st.data())
def test_the_order_of_lines_does_not_change_the_result(rate, lines, data):
    shuffled = data.draw(st.permutations(lines))
    assert dict(split(rate, shuffled).lines) == dict(split(rate, lines).lines)


@settings(deadline=None)  # a shared, busy machine: no per-example deadline
@given(lines=lines_(), before_sales=st.booleans(), individually=st.booleans())
def test_zero_percent_and_zero_amount_change_nothing(lines, before_sales, individually):
    for rate in (
        percent(0, before_sales=before_sales),
        amount(0, individually=individually),
    ):
        result = split(rate, lines)
        assert result.total == 0
        assert after(lines, result) == lines


@settings(deadline=None)  # a shared, busy machine: no per-example deadline
@given(first=rates, second=rates, lines=lines_())
def test_stacked_codes_never_take_more_than_a_line_pays(first, second, lines):
    once = after(lines, split(first, lines))
    twice = after(once, split(second, once))
    for line in twice:
        assert 0 <= line.taken <= line.pays
