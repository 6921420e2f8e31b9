"""Checkout-grade discounts through the native API (issue 19): ``order`` (a cart)
and ``codes`` on validate and redeem, exact bodies for each PayNow rule, several
codes, JPY/EUR/KWD, and partial rollbacks."""

from __future__ import annotations

import pytest

from tests.factories import CouponFactory

pytestmark = pytest.mark.django_db

TRACE = "trace-h19"
SHOE, SOCK, HAT = "1001", "1002", "1003"
RED, BLUE = "2001", "2002"


@pytest.fixture
def base(store):
    return f"/v1/stores/{store.id}"


def currency(store, code: str) -> None:
    store.currency = code
    store.save(update_fields=["currency"])


def line(line_id, quantity, unit_price, sale=None, product=None, tags=()):
    body = {"id": line_id, "quantity": quantity, "unit_price": unit_price}
    if sale is not None:
        body["sale_unit_price"] = sale
    if product is not None:
        body["product_id"] = product
    if tags:
        body["tag_ids"] = list(tags)
    return body


def cart(code, *lines):
    return {"currency": code, "lines": list(lines)}


# pays 1600 + 500 + 999 = 3099
CART = [
    line("l1", 2, 1000, sale=800, product=SHOE),
    line("l2", 1, 500, product=SOCK, tags=[RED]),
    line("l3", 3, 333, product=HAT, tags=[BLUE]),
]


def post(api, url, body):
    return api.post(url, body, format="json", HTTP_X_REQUEST_ID=TRACE)


def validate(api, base, body, status=200):
    response = post(api, f"{base}/coupons/validate", body)
    assert response.status_code == status, response.content
    return response.json()


def coupon(store, code="C", **fields):
    return CouponFactory(store=store, code=code, **fields)


def ok(discount, lines):
    return {
        "valid": True,
        "reasons": [],
        "discount": discount,
        "lines": [{"id": i, "discount": d} for i, d in lines],
    }


# --- validate with an order: one row per rule ------------------------------------

PERCENT = {"discount_type": "percent"}
AMOUNT = {"discount_type": "amount"}

RULES = [
    (
        "percent on what lines pay",
        {**PERCENT, "discount_amount": 100},
        CART,
        ok(310, [("l1", 160), ("l2", 50), ("l3", 100)]),
    ),
    (
        "percent before sales",
        {**PERCENT, "discount_amount": 250, "discount_apply_before_sales": True},
        CART[:1],
        ok(500, [("l1", 500)]),
    ),
    (
        "percent after sales",
        {**PERCENT, "discount_amount": 250},
        CART[:1],
        ok(400, [("l1", 400)]),
    ),
    (
        "products",
        {**PERCENT, "discount_amount": 100, "apply_to_products": [SHOE]},
        CART,
        ok(160, [("l1", 160), ("l2", 0), ("l3", 0)]),
    ),
    (
        "tags",
        {**PERCENT, "discount_amount": 100, "apply_to_tags": [BLUE]},
        CART,
        ok(100, [("l1", 0), ("l2", 0), ("l3", 100)]),
    ),
    (
        "amount per unit",
        {**AMOUNT, "discount_amount": 100, "discount_apply_individually": True},
        CART,
        ok(600, [("l1", 200), ("l2", 100), ("l3", 300)]),
    ),
    (
        "amount per unit at most the unit",
        {**AMOUNT, "discount_amount": 900, "discount_apply_individually": True},
        CART,
        ok(3099, [("l1", 1600), ("l2", 500), ("l3", 999)]),
    ),
    (
        "amount once, spread",
        {**AMOUNT, "discount_amount": 1000},
        CART,
        ok(1000, [("l1", 516), ("l2", 161), ("l3", 323)]),
    ),
    (
        "amount once, at most the eligible total",
        {**AMOUNT, "discount_amount": 5000, "apply_to_tags": [RED]},
        CART,
        ok(500, [("l1", 0), ("l2", 500), ("l3", 0)]),
    ),
    (
        "minimum order: what all lines pay",
        {**AMOUNT, "discount_amount": 100, "minimum_order_value": 3099},
        CART,
        ok(100, [("l1", 52), ("l2", 16), ("l3", 32)]),
    ),
]


@pytest.mark.parametrize(
    ("fields", "lines", "expected"), [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_validate_an_order_applies_each_rule(
    paynow, base, store, fields, lines, expected
):
    currency(store, "EUR")
    coupon(store, **fields)
    body = validate(paynow, base, {"code": "c", "order": cart("EUR", *lines)})
    assert body == expected


def refused(reasons, lines):
    return {
        "valid": False,
        "reasons": reasons,
        "discount": 0,
        "lines": [{"id": i, "discount": 0} for i in lines],
    }


def test_validate_an_order_below_the_minimum_counts_what_all_lines_pay(
    paynow, base, store
):
    currency(store, "EUR")
    coupon(store, **AMOUNT, discount_amount=100, minimum_order_value=3100)
    body = validate(paynow, base, {"code": "C", "order": cart("EUR", *CART)})
    assert body == refused(
        [
            {
                "code": "below_minimum_order",
                "message": "The order value is below the minimum of 3100.",
            }
        ],
        ["l1", "l2", "l3"],
    )


def test_validate_an_order_checks_the_purchase_type(paynow, base, store):
    currency(store, "EUR")
    coupon(store, **AMOUNT, discount_amount=100, usable_on_subscription=False)
    body = validate(
        paynow,
        base,
        {"code": "C", "purchase_type": "subscription", "order": cart("EUR", *CART)},
    )
    assert body == refused(
        [
            {
                "code": "subscription_not_allowed",
                "message": "The coupon is not usable on subscriptions.",
            }
        ],
        ["l1", "l2", "l3"],
    )


def test_validate_an_order_none_of_whose_lines_the_coupon_applies_to(
    paynow, base, store
):
    currency(store, "EUR")
    coupon(store, **AMOUNT, discount_amount=100, apply_to_products=["999"])
    body = validate(paynow, base, {"code": "C", "order": cart("EUR", *CART[:1])})
    assert body == refused(
        [
            {
                "code": "not_applicable_to_order",
                "message": "The order has none of the products or tags the coupon "
                "applies to.",
            }
        ],
        ["l1"],
    )


def test_validate_an_order_with_an_unknown_code(paynow, base, store):
    currency(store, "EUR")
    body = validate(paynow, base, {"code": "NOPE", "order": cart("EUR", *CART[:2])})
    assert body == refused(
        [{"code": "not_found", "message": "No coupon has this code."}], ["l1", "l2"]
    )


# --- currencies: amounts in each currency's smallest unit --------------------------


@pytest.mark.parametrize(
    ("code", "lines", "expected"),
    [
        # JPY has no minor unit: 12.5 % of 999 yen is 124.875 -> 125 yen
        ("JPY", [line("a", 1, 999)], ok(125, [("a", 125)])),
        # EUR: 12.5 % of 9.99 EUR (999 cents) -> 1.25 EUR
        ("EUR", [line("a", 1, 999)], ok(125, [("a", 125)])),
        # KWD has three: 12.5 % of 1.005 KWD (1005 fils) = 125.625 -> 126 fils
        ("KWD", [line("a", 1, 1005)], ok(126, [("a", 126)])),
    ],
)
def test_validate_an_order_in_the_stores_currency(
    paynow, base, store, code, lines, expected
):
    currency(store, code)
    coupon(store, **PERCENT, discount_amount=125)
    assert validate(paynow, base, {"code": "C", "order": cart(code, *lines)}) == (
        expected
    )


def test_validate_an_order_in_another_currency_is_400(paynow, base, store):
    currency(store, "KWD")
    coupon(store, **PERCENT, discount_amount=125)
    body = validate(
        paynow, base, {"code": "C", "order": cart("EUR", *CART)}, status=400
    )
    message = "The order's currency must be the store's (KWD)."
    assert body == {
        "status": 400,
        "code": "bad-request",
        "message": message,
        "trace_id": TRACE,
        "errors": [
            {
                "code": "currency_mismatch",
                "message": message,
                "path": "order.currency",
                "validation": "currency_mismatch",
            }
        ],
    }


@pytest.mark.parametrize(
    ("order", "path"),
    [
        (cart("XXY", *CART), "order.currency"),
        (cart("EUR"), "order.lines"),
        (cart("EUR", line("a", 1, 5), line("a", 1, 5)), "order.lines"),
        (cart("EUR", line("a", 0, 5)), "order.lines.0.quantity"),
        (cart("EUR", line("a", 1, -1)), "order.lines.0.unit_price"),
        (cart("EUR", line("a", 1, 5, sale=6)), "order.lines.0.sale_unit_price"),
        ({"lines": CART}, "order.currency"),
        ([], "order"),
    ],
)
def test_validate_a_bad_order_is_400(paynow, base, store, order, path):
    currency(store, "EUR")
    coupon(store)
    body = validate(paynow, base, {"code": "C", "order": order}, status=400)
    assert [error["path"] for error in body["errors"]] == [path]


def test_validate_an_order_with_order_value_too_is_400(paynow, base, store):
    currency(store, "EUR")
    coupon(store)
    body = validate(
        paynow,
        base,
        {"code": "C", "order_value": 5, "order": cart("EUR", *CART)},
        status=400,
    )
    assert [(e["path"], e["message"]) for e in body["errors"]] == [
        ("order_value", "Not with an order: its lines say it.")
    ]


# --- several codes ---------------------------------------------------------------


def test_validate_codes_applies_each_on_what_the_previous_left(paynow, base, store):
    currency(store, "EUR")
    coupon(store, "OFF10", **AMOUNT, discount_amount=1000)
    coupon(store, "PCT", **PERCENT, discount_amount=100)
    coupon(store, "OFF", **AMOUNT, discount_amount=100, enabled=False)
    body = validate(
        paynow,
        base,
        {"codes": ["off10", "NOPE", "OFF", "pct"], "order": cart("EUR", *CART)},
    )
    assert body == {
        "valid": False,
        "discount": 1210,
        "lines": [
            {"id": "l1", "discount": 624},
            {"id": "l2", "discount": 195},
            {"id": "l3", "discount": 391},
        ],
        "codes": [
            {"code": "off10", **ok(1000, [("l1", 516), ("l2", 161), ("l3", 323)])},
            {
                "code": "NOPE",
                **refused(
                    [{"code": "not_found", "message": "No coupon has this code."}],
                    ["l1", "l2", "l3"],
                ),
            },
            {
                "code": "OFF",
                **refused(
                    [{"code": "disabled", "message": "The coupon is disabled."}],
                    ["l1", "l2", "l3"],
                ),
            },
            {"code": "pct", **ok(210, [("l1", 108), ("l2", 34), ("l3", 68)])},
        ],
    }


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"codes": ["A"]}, "order"),
        ({"codes": [], "order": cart("EUR", *CART)}, "codes"),
        ({"codes": ["A", "a"], "order": cart("EUR", *CART)}, "codes"),
        ({"codes": [f"C{n}" for n in range(11)], "order": cart("EUR", *CART)}, "codes"),
        ({"codes": ["A"], "code": "B", "order": cart("EUR", *CART)}, "code"),
        ({"codes": "A", "order": cart("EUR", *CART)}, "codes"),
    ],
)
def test_validate_bad_codes_are_400(paynow, base, store, body, path):
    currency(store, "EUR")
    result = validate(paynow, base, body, status=400)
    assert [error["path"] for error in result["errors"]] == [path]


def test_validate_codes_for_an_unknown_customer_is_400(paynow, base, store):
    currency(store, "EUR")
    body = validate(
        paynow,
        base,
        {"codes": ["A"], "customer_id": "123", "order": cart("EUR", *CART)},
        status=400,
    )
    assert [(e["path"], e["message"]) for e in body["errors"]] == [
        ("customer_id", "No such customer in this store.")
    ]
