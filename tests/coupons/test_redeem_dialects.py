"""Every dialect's redeem computes through the cart engine (issue 19).

Capillary v1.1 ``POST /v1.1/coupon/redeem`` sends a transaction amount: it is a cart
of one line (``cart.ORDER_LINE``, one unit at that amount), discounted by
``coupons.redeem.cart`` (a percent rounded half up, in the currency's smallest unit)
and recorded with that line, so the admin shows it and the native API returns it in
part or whole. The native validate and redeem without a cart, and a hold, give the
same figure for the same value; isredeemable (no amount) agrees that the code is
redeemable. NewStore v0 has no redeem of its own (the vendor's v0 has none): its
coupons are redeemed through these, by the same engine.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from coupons.models import Coupon, Redemption, RedemptionLine
from tests.coupons.test_api_capillary import (
    OK,
    REDEEMABLE,
    REDEEMED,
    body,
    capillary,
    item,
    profile,
    redeem,
)
from tests.coupons.test_api_cart import TRACE, over_return
from tests.factories import ApiKeyFactory, CouponFactory, CustomerFactory
from tests.legacy.factories import bearer, create_coupon, create_template

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CREATED = "2026-03-01T12:00:00.000Z"

# (currency, the transaction's amount as sent and shown, in minor units, percent
# x10, the discount rounded half up, as Capillary shows it, and rounded down as the
# order value's own arithmetic did before issue 19)
HALF_CASES = [
    pytest.param("EUR", "123.45", 12_345, 100, 1235, "12.35", 1234, id="EUR"),
    pytest.param("JPY", "996", 996, 125, 125, "125", 124, id="JPY"),
    pytest.param("KWD", "1.235", 1235, 100, 124, "0.124", 123, id="KWD"),
]


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _store(store, currency: str):
    store.currency = currency
    store.save(update_fields=["currency"])
    return store


def _lines(redemption_id: int) -> list[tuple]:
    return list(
        RedemptionLine.objects.filter(redemption_id=redemption_id).values_list(
            "line_id",
            "product_id",
            "tag_ids",
            "quantity",
            "unit_price",
            "sale_unit_price",
            "discount",
            "returned_quantity",
            "returned_discount",
        )
    )


@pytest.mark.parametrize(
    ("currency", "amount", "value", "percent", "discount", "shown", "before"),
    HALF_CASES,
)
def test_capillary_redeem_rounds_a_percent_half_up_and_records_its_line(
    store, currency, amount, value, percent, discount, shown, before
):
    _store(store, currency)
    customer = CustomerFactory(store=store, mobile="9999988886")
    coupon = CouponFactory(
        store=store, code="HALF", discount_type="percent", discount_amount=percent
    )
    api = capillary(ApiKeyFactory(store=store))

    response = redeem(api, body(item("half", customer, number="TX-1", amount=amount)))

    assert response.status_code == 200, response.content
    redemption = Redemption.objects.get()
    assert response.json() == {
        "response": {
            "status": OK,
            "coupons": {
                "coupon": [
                    {
                        "code": "HALF",
                        "customer": profile(customer),
                        "transaction": {"number": "TX-1", "amount": amount},
                        "redemption_id": str(redemption.compact_id),
                        "discount_code": None,
                        "discount_type": "PERC",
                        "discount_value": shown,
                        "item_status": REDEEMED,
                    }
                ]
            },
        }
    }
    assert discount == before + 1  # the half: one more than rounding down gave
    assert (redemption.order_value, redemption.discount_amount) == (value, discount)
    assert (redemption.coupon_id, redemption.dialect) == (coupon.id, "capillary")
    assert _lines(redemption.id) == [
        ("order", None, [], 1, value, None, discount, 0, 0)
    ]
    event = AuditEvent.objects.get(action="redeem")
    assert event.changes["lines"] == [{"id": "order", "discount": discount}]


@pytest.mark.parametrize(
    ("currency", "amount", "value", "percent", "discount", "shown", "before"),
    HALF_CASES,
)
def test_every_dialect_gives_the_same_figure_for_the_same_value(
    store, paynow, clock, currency, amount, value, percent, discount, shown, before
):
    """Native validate and redeem (an order value, no cart), a hold and Capillary's
    redeem: one figure, the engine's; isredeemable (no amount) says redeemable."""
    _store(store, currency)
    customer = CustomerFactory(store=store, mobile="9999988886")
    for code in ("NATIVE", "HELD", "CAP"):
        CouponFactory(
            store=store, code=code, discount_type="percent", discount_amount=percent
        )
    base = f"/v1/stores/{store.id}"
    api = capillary(ApiKeyFactory(store=store))

    validated = paynow.post(
        f"{base}/coupons/validate",
        {"code": "CAP", "customer_id": str(customer.id), "order_value": value},
        format="json",
    )
    checked = api.get(
        "/v1.1/coupon/isredeemable", {"mobile": customer.mobile, "code": "CAP"}
    )
    native = paynow.post(
        f"{base}/redemptions",
        {"code": "NATIVE", "customer_id": str(customer.id), "order_value": value},
        format="json",
    )
    held = paynow.post(
        f"{base}/holds",
        {"code": "HELD", "customer_id": str(customer.id), "order_value": value},
        format="json",
    )
    capillary_item = redeem(api, body(item("CAP", customer, amount=amount))).json()

    assert validated.json() == {"valid": True, "reasons": [], "discount": discount}
    (redeemable,) = checked.json()["response"]["coupons"]["redeemable"]
    assert (redeemable["is_redeemable"], redeemable["item_status"]) == (
        "true",
        REDEEMABLE,
    )
    made = Redemption.objects.get(coupon__code="NATIVE")
    assert native.json() == {
        "id": str(made.id),
        "store_id": str(store.id),
        "coupon_id": str(made.coupon_id),
        "code": "NATIVE",
        "customer_id": str(customer.id),
        "outlet_code": None,
        "transaction_number": None,
        "order_value": value,
        "discount_amount": discount,
        "purchase_type": "one_time",
        "created_at": CREATED,
        "rolled_back": False,
        "rolled_back_at": None,
    }
    # Without a cart the native redemption keeps its shape and records no line.
    assert not RedemptionLine.objects.filter(redemption=made).exists()
    assert held.json()["discount"] == discount
    (rendered,) = capillary_item["response"]["coupons"]["coupon"]
    assert rendered["discount_value"] == shown
    assert Redemption.objects.get(coupon__code="CAP").discount_amount == discount


def test_a_capillary_redemption_shows_its_line_in_the_admin(admin_client, store):
    _store(store, "EUR")
    customer = CustomerFactory(store=store, mobile="9999988886")
    CouponFactory(store=store, code="TEN", discount_type="percent", discount_amount=100)
    redeem(
        capillary(ApiKeyFactory(store=store)),
        body(item("TEN", customer, amount="123.45")),
    )
    redemption = Redemption.objects.get()

    response = admin_client.get(
        reverse("admin:coupons_redemption_change", args=[redemption.pk])
    )

    assert response.status_code == 200
    inline = response.context["inline_admin_formsets"][0]
    rows = [
        (o.line_id, o.quantity, o.unit_price, o.discount, o.returned_quantity)
        for o in (form.original for form in inline)
    ]
    assert rows == [("order", 1, 12_345, 1235, 0)]


def _redeemed(store, currency: str, amount: str, number: str | None = None):
    """``ONCE`` (10 %, store-wide limit 1) redeemed through Capillary v1.1 in
    ``currency``: the Capillary client, the customer and the redemption."""
    _store(store, currency)
    customer = CustomerFactory(store=store, mobile="9999988886")
    CouponFactory(
        store=store,
        code="ONCE",
        discount_type="percent",
        discount_amount=100,
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=1,
    )
    api = capillary(ApiKeyFactory(store=store))
    redeem(api, body(item("ONCE", customer, number=number, amount=amount)))
    return api, customer, Redemption.objects.get()


def _native(redemption, customer, **fields) -> dict:
    """The native API's answer for a Capillary redemption (a cart's shape: it has a
    line), as redeemed, with ``fields`` changed; ``line``: its line's changes."""
    line = fields.pop("line", {})
    return {
        "id": str(redemption.id),
        "store_id": str(redemption.store_id),
        "coupon_id": str(redemption.coupon_id),
        "code": "ONCE",
        "customer_id": str(customer.id),
        "outlet_code": None,
        "transaction_number": redemption.transaction_number,
        "order_value": redemption.order_value,
        "discount_amount": redemption.discount_amount,
        "purchase_type": "one_time",
        "created_at": CREATED,
        "rolled_back": False,
        "rolled_back_at": None,
        "discount": redemption.discount_amount,
        "value_returned": 0,
        "discount_returned": 0,
        "lines": [
            {
                "id": "order",
                "product_id": None,
                "quantity": 1,
                "unit_price": redemption.order_value,
                "sale_unit_price": None,
                "discount": redemption.discount_amount,
                "returned_quantity": 0,
                "returned_discount": 0,
                **line,
            }
        ],
        **fields,
    }


# 123.45 EUR at 10 %, all returned: nothing is left of the discount.
RETURNED_WHOLE = {
    "discount_amount": 0,
    "discount": 0,
    "value_returned": 12_345,
    "discount_returned": 1235,
    "rolled_back": True,
    "rolled_back_at": CREATED,
}


def _rollback(paynow, redemption, data=None):
    url = f"/v1/stores/{redemption.store_id}/redemptions/{redemption.id}/rollback"
    return paynow.post(url, data, format="json", HTTP_X_REQUEST_ID=TRACE)


def _use_is_free(api, customer, amount: str) -> bool:
    assert Coupon.objects.get(code="ONCE").redeemed_count == 0
    again = redeem(api, body(item("ONCE", customer, amount=amount)))
    return again.json()["response"]["status"] == OK


def test_a_capillary_redemption_returns_in_part_then_whole_through_the_native_api(
    store, paynow, clock
):
    api, customer, redemption = _redeemed(store, "EUR", "123.45", number="TX-1")

    part = _rollback(paynow, redemption, {"amount": 2345})
    rest = _rollback(paynow, redemption, {"amount": 10_000})

    assert part.status_code == 200, part.content
    # 1235 x 2345 / 12345 = 234.6: 234 given back (rounded down until the end)
    assert part.json() == _native(
        redemption,
        customer,
        discount_amount=1001,
        discount=1001,
        value_returned=2345,
        discount_returned=234,
    )
    # The rest of the order's value completes the rollback, the rest of the
    # discount with it.
    assert rest.status_code == 200, rest.content
    assert rest.json() == _native(redemption, customer, **RETURNED_WHOLE)
    assert _use_is_free(api, customer, "10.00")


def test_a_capillary_redemptions_line_returns_the_whole_order(store, paynow, clock):
    api, customer, redemption = _redeemed(store, "EUR", "123.45")
    the_line = {"lines": [{"id": "order", "quantity": 1}]}

    response = _rollback(paynow, redemption, the_line)
    again = _rollback(paynow, redemption, the_line)

    assert response.status_code == 200, response.content
    assert response.json() == _native(
        redemption,
        customer,
        **RETURNED_WHOLE,
        line={"returned_quantity": 1, "returned_discount": 1235},
    )
    assert again.status_code == 409
    assert _use_is_free(api, customer, "1.00")


def test_after_an_amount_its_line_is_more_than_is_left_409(store, paynow, clock):
    *_, redemption = _redeemed(store, "EUR", "123.45")
    _rollback(paynow, redemption, {"amount": 2345})

    response = _rollback(
        paynow, redemption, {"lines": [{"id": "order", "quantity": 1}]}
    )

    assert response.status_code == 409
    message = "10000 of the order's value is left to return, not 12345."
    assert response.json() == over_return(message)
    redemption.refresh_from_db()
    assert (redemption.value_returned, redemption.discount_returned) == (2345, 234)
    assert redemption.rolled_back_at is None
    assert _lines(redemption.id)[0][-2:] == (0, 0)


def test_a_capillary_redemption_rolls_back_through_the_native_api_and_frees_its_use(
    store, paynow, clock
):
    api, customer, redemption = _redeemed(store, "KWD", "1.235")

    response = _rollback(paynow, redemption)

    assert response.status_code == 200, response.content
    # A whole rollback keeps the discount (124, 123.5 rounded half up) as history,
    # as it always has.
    assert (redemption.order_value, redemption.discount_amount) == (1235, 124)
    assert response.json() == _native(
        redemption, customer, rolled_back=True, rolled_back_at=CREATED
    )
    assert _rollback(paynow, redemption).status_code == 409
    assert _use_is_free(api, customer, "1.235")


def test_the_admin_rolls_back_a_capillary_redemption(admin_client, store):
    api, customer, redemption = _redeemed(store, "JPY", "996")

    response = admin_client.post(
        reverse("admin:coupons_redemption_changelist"),
        {
            "action": "roll_back",
            "confirm": "yes",
            "_selected_action": [str(redemption.pk)],
        },
    )

    assert response.status_code == 302
    redemption.refresh_from_db()
    assert redemption.rolled_back_at is not None
    assert redemption.discount_amount == 100  # 10 % of 996 is 99.6
    assert _use_is_free(api, customer, "996")


def test_a_newstore_coupon_redeemed_through_capillary_records_its_line(store, api_key):
    newstore = bearer(api_key)
    create_template(newstore, amount={"amount": 7.5, "currency": "USD"})
    made = create_coupon(newstore, "loyalty")
    customer = CustomerFactory(store=store, mobile="9999988886")

    response = redeem(
        capillary(api_key), body(item(made["code"], customer, amount="5.00"))
    )

    (rendered,) = response.json()["response"]["coupons"]["coupon"]
    assert (rendered["discount_type"], rendered["discount_value"]) == ("ABS", "5.00")
    redemption = Redemption.objects.get()
    assert redemption.coupon.legacy_uuid is not None
    # An amount is at most what the order pays: 7.50 off 5.00 is 5.00.
    assert _lines(redemption.id) == [("order", None, [], 1, 500, None, 500, 0, 0)]


# The queries of one Capillary redeem, the key's lookup included. The line is
# written in the redemption's statement on PostgreSQL (6, as before issue 19's
# line); SQLite runs each INSERT on its own (10 before, one more for the line).
REDEEM_QUERIES = {"postgresql": 6, "sqlite": 11}


def test_a_capillary_redeem_adds_no_round_trip_on_postgresql(store):
    customer = CustomerFactory(store=store, mobile="9999988886")
    CouponFactory(store=store, code="TEN", discount_type="percent", discount_amount=100)
    api = capillary(ApiKeyFactory(store=store))

    with CaptureQueriesContext(connection) as captured:
        response = redeem(api, body(item("TEN", customer, amount="123.45")))

    assert response.status_code == 200
    vendor = connection.vendor
    assert len(captured) == REDEEM_QUERIES[vendor], [q["sql"] for q in captured]
