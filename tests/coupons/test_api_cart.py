"""Checkout-grade discounts through the native API (issue 19): ``order`` (a cart)
and ``codes`` on validate and redeem, exact bodies for each PayNow rule, several
codes, JPY/EUR/KWD, and partial rollbacks."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from coupons.models import Coupon, Redemption, RedemptionLine
from tests.coupons.test_api_redemptions import REDEMPTION_KEYS as PLAIN_REDEMPTION_KEYS
from tests.factories import CouponFactory, CustomerFactory
from tests.paynow import error_body, validation_error

pytestmark = pytest.mark.django_db

TRACE = "trace-h19"
SHOE, SOCK, HAT = "1001", "1002", "1003"
RED, BLUE = "2001", "2002"


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
    assert body == error_body(
        400,
        "bad-request",
        message,
        [validation_error("order.currency", "currency_mismatch", message)],
        trace=TRACE,
    )


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


# --- redeem with an order --------------------------------------------------------

# A redemption's keys (tests/coupons/test_api_redemptions.py), then a cart's.
REDEMPTION_KEYS = [
    *PLAIN_REDEMPTION_KEYS,
    "discount",
    "value_returned",
    "discount_returned",
    "lines",
]


def redeem(api, base, body, status=200, **headers):
    response = api.post(
        f"{base}/redemptions", body, format="json", HTTP_X_REQUEST_ID=TRACE, **headers
    )
    assert response.status_code == status, response.content
    return response.json()


def rolled(api, base, redemption_id, body=None, status=200, **headers):
    response = api.post(
        f"{base}/redemptions/{redemption_id}/rollback",
        body or {},
        format="json",
        HTTP_X_REQUEST_ID=TRACE,
        **headers,
    )
    assert response.status_code == status, response.content
    return response


def held(line_id, quantity, unit_price, sale, product, discount, rq=0, rd=0):
    return {
        "id": line_id,
        "product_id": product,
        "quantity": quantity,
        "unit_price": unit_price,
        "sale_unit_price": sale,
        "discount": discount,
        "returned_quantity": rq,
        "returned_discount": rd,
    }


CART_HELD = [
    held("l1", 2, 1000, 800, SHOE, 160),
    held("l2", 1, 500, None, SOCK, 50),
    held("l3", 3, 333, None, HAT, 100),
]


def ten_percent(store, code="TEN", **fields):
    currency(store, "EUR")
    return coupon(store, code, **PERCENT, discount_amount=100, **fields)


def test_redeem_an_order_records_its_lines(paynow, base, store):
    ten = ten_percent(store)
    body = redeem(paynow, base, {"code": "ten", "order": cart("EUR", *CART)})
    assert list(body) == REDEMPTION_KEYS
    assert {key: body[key] for key in REDEMPTION_KEYS[6:]} | {"created_at": 0} == {
        "transaction_number": None,
        "order_value": 3099,
        "discount_amount": 310,
        "purchase_type": "one_time",
        "created_at": 0,
        "rolled_back": False,
        "rolled_back_at": None,
        "discount": 310,
        "value_returned": 0,
        "discount_returned": 0,
        "lines": CART_HELD,
    }
    rows = RedemptionLine.objects.filter(redemption_id=int(body["id"])).order_by("id")
    assert [(r.line_id, r.quantity, r.discount, r.tag_ids) for r in rows] == [
        ("l1", 2, 160, []),
        ("l2", 1, 50, [RED]),
        ("l3", 3, 100, [BLUE]),
    ]
    ten.refresh_from_db()
    assert ten.redeemed_count == 1


def test_redeem_an_order_in_another_currency_writes_nothing(paynow, base, store):
    ten = ten_percent(store)
    body = redeem(paynow, base, {"code": "TEN", "order": cart("JPY", *CART)}, 400)
    assert (body["code"], body["errors"][0]["path"]) == (
        "bad-request",
        "order.currency",
    )
    ten.refresh_from_db()
    assert ten.redeemed_count == 0
    assert not Redemption.objects.exists()


def test_redeem_codes_records_one_redemption_per_code(paynow, base, store):
    customer = CustomerFactory(store=store)
    currency(store, "EUR")
    off = coupon(store, "OFF10", **AMOUNT, discount_amount=1000)
    pct = coupon(store, "PCT", **PERCENT, discount_amount=100)
    body = redeem(
        paynow,
        base,
        {
            "codes": ["off10", "pct"],
            "customer_id": str(customer.id),
            "transaction_number": "T-1",
            "order": cart("EUR", *CART),
        },
    )
    assert list(body) == ["discount", "lines", "redemptions"]
    assert body["discount"] == 1210
    assert body["lines"] == [
        {"id": "l1", "discount": 624},
        {"id": "l2", "discount": 195},
        {"id": "l3", "discount": 391},
    ]
    first, second = body["redemptions"]
    assert (first["code"], first["discount"], second["code"], second["discount"]) == (
        "OFF10",
        1000,
        "PCT",
        210,
    )
    assert [line["discount"] for line in first["lines"]] == [516, 161, 323]
    assert [line["discount"] for line in second["lines"]] == [108, 34, 68]
    assert {first["transaction_number"], second["transaction_number"]} == {"T-1"}
    assert {first["customer_id"], second["customer_id"]} == {str(customer.id)}
    assert [
        c.redeemed_count
        for c in Coupon.objects.filter(id__in=[off.id, pct.id]).order_by("id")
    ] == [1, 1]
    assert RedemptionLine.objects.count() == 6


@pytest.mark.parametrize(
    ("codes", "errors"),
    [
        (
            ["OK", "OFF"],
            [("codes.1", "disabled", "The coupon is disabled.")],
        ),
        (
            ["NOPE", "OK"],
            [("codes.0", "not_found", "No coupon has this code.")],
        ),
    ],
)
def test_redeem_codes_when_one_fails_writes_nothing(paynow, base, store, codes, errors):
    currency(store, "EUR")
    ok_coupon = coupon(store, "OK", **AMOUNT, discount_amount=100)
    coupon(store, "OFF", **AMOUNT, discount_amount=100, enabled=False)
    body = redeem(paynow, base, {"codes": codes, "order": cart("EUR", *CART)}, 409)
    assert body["code"] == "conflict"
    assert [(e["path"], e["code"], e["message"]) for e in body["errors"]] == errors
    ok_coupon.refresh_from_db()
    assert ok_coupon.redeemed_count == 0
    assert not Redemption.objects.exists()
    assert not RedemptionLine.objects.exists()
    assert not AuditEvent.objects.filter(action="redeem").exists()


def test_redeem_codes_with_a_hold_id_is_400_and_writes_nothing(paynow, base, store):
    # A hold is converted by a redemption of its code; with codes it was ignored,
    # and the caller's own hold then refused its redemption (store limit).
    currency(store, "EUR")
    coupon(store, "OK", **AMOUNT, discount_amount=100)
    body = redeem(
        paynow,
        base,
        {"codes": ["OK"], "hold_id": "123", "order": cart("EUR", *CART)},
        400,
    )
    assert [(e["path"], e["message"]) for e in body["errors"]] == [
        ("hold_id", "A hold is redeemed with its code, not with codes.")
    ]
    assert not Redemption.objects.exists()


# --- partial rollbacks -----------------------------------------------------------


def test_return_lines_gives_back_their_share_and_frees_the_use_when_complete(
    paynow, base, store
):
    ten = ten_percent(store)
    first = redeem(paynow, base, {"code": "TEN", "order": cart("EUR", *CART)})
    body = rolled(paynow, base, first["id"], {"lines": [{"id": "l1", "quantity": 1}]})
    body = body.json()
    assert list(body) == REDEMPTION_KEYS
    assert (body["discount"], body["discount_amount"]) == (230, 230)
    assert (body["value_returned"], body["discount_returned"]) == (800, 80)
    assert body["rolled_back"] is False
    assert body["lines"][0] == held("l1", 2, 1000, 800, SHOE, 160, 1, 80)
    ten.refresh_from_db()
    assert ten.redeemed_count == 1

    body = rolled(
        paynow,
        base,
        first["id"],
        {
            "lines": [
                {"id": "l3", "quantity": 3},
                {"id": "l1", "quantity": 1},
                {"id": "l2", "quantity": 1},
            ]
        },
    ).json()
    assert (body["discount"], body["value_returned"], body["discount_returned"]) == (
        0,
        3099,
        310,
    )
    assert body["rolled_back"] is True
    assert body["lines"] == [
        held("l1", 2, 1000, 800, SHOE, 160, 2, 160),
        held("l2", 1, 500, None, SOCK, 50, 1, 50),
        held("l3", 3, 333, None, HAT, 100, 3, 100),
    ]
    ten.refresh_from_db()
    assert ten.redeemed_count == 0
    assert list(
        AuditEvent.objects.filter(object_id=int(first["id"]))
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["redeem", "return", "rollback"]


def over_return(message):
    """The 409 of a return of more than is left, at ``lines``."""
    return error_body(
        409,
        "conflict",
        message,
        [validation_error("lines", "over_return", message)],
        trace=TRACE,
    )


def test_return_more_than_is_left_is_409_and_changes_nothing(paynow, base, store):
    ten_percent(store)
    first = redeem(paynow, base, {"code": "TEN", "order": cart("EUR", *CART)})
    rolled(paynow, base, first["id"], {"lines": [{"id": "l1", "quantity": 1}]})
    response = rolled(
        paynow, base, first["id"], {"lines": [{"id": "l1", "quantity": 2}]}, 409
    )
    message = "Line 'l1' has 1 unit(s) left to return, not 2."
    assert response.json() == over_return(message)
    redemption = Redemption.objects.get()
    assert (redemption.value_returned, redemption.discount_amount) == (800, 230)


def test_return_by_amount(paynow, base, store):
    ten = ten_percent(store)
    first = redeem(paynow, base, {"code": "TEN", "order": cart("EUR", *CART)})
    body = rolled(paynow, base, first["id"], {"amount": 1000}).json()
    # 310 x 1000 / 3099 = 100.03 -> 100
    assert (body["discount"], body["value_returned"], body["discount_returned"]) == (
        210,
        1000,
        100,
    )
    over = rolled(paynow, base, first["id"], {"amount": 2100}, 409).json()
    assert over["message"] == "2099 of the order's value is left to return, not 2100."
    body = rolled(paynow, base, first["id"], {"amount": 2099}).json()
    assert (body["discount"], body["discount_returned"], body["rolled_back"]) == (
        0,
        310,
        True,
    )
    ten.refresh_from_db()
    assert ten.redeemed_count == 0
    again = rolled(paynow, base, first["id"], {"amount": 1}, 409).json()
    assert again["message"] == (
        "This redemption was already rolled back; nothing changed."
    )


def test_lines_returned_after_an_amount_are_held_to_the_value_left(paynow, base, store):
    ten_percent(store)
    first = redeem(paynow, base, {"code": "TEN", "order": cart("EUR", *CART)})
    rolled(paynow, base, first["id"], {"amount": 2000})
    response = rolled(
        paynow, base, first["id"], {"lines": [{"id": "l1", "quantity": 2}]}, 409
    )
    message = "1099 of the order's value is left to return, not 1600."
    assert response.json() == over_return(message)
    redemption = Redemption.objects.get()
    assert (redemption.value_returned, redemption.discount_returned) == (2000, 200)
    assert not RedemptionLine.objects.filter(returned_quantity__gt=0).exists()


def test_return_by_amount_of_a_redemption_without_a_cart(paynow, base, store):
    coupon(store, "FIVE", **AMOUNT, discount_amount=500)
    first = redeem(paynow, base, {"code": "FIVE", "order_value": 2000})
    assert "lines" not in first
    body = rolled(paynow, base, first["id"], {"amount": 500}).json()
    assert list(body) == REDEMPTION_KEYS
    assert (body["discount"], body["discount_returned"], body["lines"]) == (
        375,
        125,
        [],
    )


@pytest.mark.parametrize(
    ("body", "status", "path"),
    [
        ({"lines": [{"id": "zz", "quantity": 1}]}, 400, "lines"),
        ({"lines": [{"id": "l1", "quantity": 0}]}, 400, "lines.0.quantity"),
        ({"lines": []}, 400, "lines"),
        (
            {"lines": [{"id": "l1", "quantity": 1}, {"id": "l1", "quantity": 1}]},
            400,
            "lines",
        ),
        ({"lines": [{"id": "l1", "quantity": 1}], "amount": 5}, 400, "amount"),
        ({"amount": 0}, 400, "amount"),
        ({"amount": "5"}, 400, "amount"),
    ],
)
def test_a_bad_return_is_refused(paynow, base, store, body, status, path):
    ten_percent(store)
    first = redeem(paynow, base, {"code": "TEN", "order": cart("EUR", *CART)})
    response = rolled(paynow, base, first["id"], body, status)
    assert [error["path"] for error in response.json()["errors"]] == [path]
    assert Redemption.objects.get().value_returned == 0


def test_a_return_with_an_idempotency_key_is_made_once(paynow, base, store):
    ten_percent(store)
    first = redeem(paynow, base, {"code": "TEN", "order": cart("EUR", *CART)})
    ask = {"lines": [{"id": "l3", "quantity": 1}]}
    once = rolled(paynow, base, first["id"], ask, HTTP_IDEMPOTENCY_KEY="r-1")
    twice = rolled(paynow, base, first["id"], ask, HTTP_IDEMPOTENCY_KEY="r-1")
    assert twice["Idempotent-Replayed"] == "true"
    assert twice.json() == once.json()
    line = RedemptionLine.objects.get(line_id="l3")
    assert (line.returned_quantity, line.returned_discount) == (1, 33)


def test_a_whole_rollback_after_returns_frees_the_use(paynow, base, store):
    ten = ten_percent(store)
    first = redeem(paynow, base, {"code": "TEN", "order": cart("EUR", *CART)})
    rolled(paynow, base, first["id"], {"amount": 99})
    body = rolled(paynow, base, first["id"]).json()
    assert body["rolled_back"] is True
    ten.refresh_from_db()
    assert ten.redeemed_count == 0


# --- OpenAPI ---------------------------------------------------------------------


def test_openapi_documents_the_cart_shapes(client):
    response = client.get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    schema = response.json()
    paths, components = schema["paths"], schema["components"]["schemas"]

    def body(path, key="requestBody"):
        op = paths[path]["post"]
        content = op[key] if key == "requestBody" else op["responses"]["200"]
        return content["content"]["application/json"]["schema"]["$ref"].split("/")[-1]

    def one_of(name):
        return [ref["$ref"].split("/")[-1] for ref in components[name]["oneOf"]]

    base = "/v1/stores/{store_id}"
    assert one_of(body(f"{base}/coupons/validate")) == [
        "OrderInputRequest",
        "CodesInputRequest",
    ]
    assert one_of(body(f"{base}/coupons/validate", "response")) == [
        "ValidationOutput",
        "CodesValidationOutput",
    ]
    # A redemption with or without the cart's fields is one schema: a cart's answer
    # would match both of RedemptionOutput and CartRedemptionOutput (a oneOf must
    # match one; tests/coupons/test_redemption_list_shapes.py validates the bodies).
    assert one_of(body(f"{base}/redemptions", "response")) == [
        "RedemptionAnswerOutput",
        "CodesRedemptionOutput",
    ]
    assert body(f"{base}/redemptions/{{redemption_id}}/rollback") == (
        "RollbackInputRequest"
    )
    line = components["LineInputRequest"]
    assert list(line["properties"]) == [
        "id",
        "product_id",
        "tag_ids",
        "quantity",
        "unit_price",
        "sale_unit_price",
    ]
    assert line["required"] == ["id", "quantity", "unit_price"]
    codes = components["CodesInputRequest"]
    assert "code" not in codes["properties"]
    assert "order_value" not in codes["properties"]
    assert codes["required"] == ["codes", "order"]
