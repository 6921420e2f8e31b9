"""Money in every currency: one module (core.money, Babel's CLDR data) converts and
formats for every dialect, the admin and the commands. A yen is never multiplied by
100; a Kuwaiti dinar keeps its three decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from assignments.models import Assignment
from core import money
from coupons.models import Coupon, Redemption
from series.models import Series
from tests.coupons.test_api_capillary import capillary
from tests.factories import (
    ApiKeyFactory,
    AssignmentFactory,
    CouponFactory,
    CustomerFactory,
    SeriesFactory,
    StoreFactory,
)
from tests.legacy.factories import bearer, create_coupon, create_template

pytestmark = pytest.mark.django_db

# currency, an amount a person types, the same in the smallest unit, how it reads,
# and an amount with one decimal too many.
CURRENCIES = [
    ("JPY", "500", 500, "¥500", "500.5"),
    ("EUR", "12.5", 1250, "€12.50", "12.505"),
    ("KWD", "1.125", 1125, "KWD 1.125", "1.1255"),
]


@pytest.mark.parametrize(
    ("currency", "digits"),
    [("JPY", 0), ("KRW", 0), ("EUR", 2), ("USD", 2), ("KWD", 3), ("BHD", 3)],
)
def test_decimals_come_from_the_currency_data(currency, digits):
    assert money.decimals(currency) == digits


@pytest.mark.parametrize(("currency", "typed", "minor", "text", "too_fine"), CURRENCIES)
def test_conversions_round_trip_and_refuse_what_the_currency_cannot_hold(
    currency, typed, minor, text, too_fine
):
    assert money.to_minor(Decimal(typed), currency) == minor
    assert money.to_minor(typed, currency) == minor
    assert money.to_major(minor, currency) == Decimal(typed)
    assert money.format_money(minor, currency) == text
    with pytest.raises(money.MoneyError) as refused:
        money.to_minor(Decimal(too_fine), currency)
    assert str(refused.value) == (
        f"{currency} amounts have at most {money.decimals(currency)} decimal places"
    )


def test_major_text_writes_the_currencys_own_decimals():
    assert money.major_text(500, "JPY") == "500"
    assert money.major_text(500, "EUR") == "5.00"
    assert money.major_text(500, "KWD") == "0.500"
    assert money.major_text(0, "KWD") == "0.000"


def test_unknown_currencies_are_not_currencies():
    assert money.is_currency("EUR")
    assert not money.is_currency("ABC")
    assert not money.is_currency("eur")
    assert not money.is_currency(None)


def test_a_store_in_an_unknown_currency_is_refused():
    from core.errors import DomainError
    from stores import services

    with pytest.raises(DomainError) as refused:
        services.store_create(name="Bad", code="bad", currency="ABC")
    assert refused.value.message == "Use a three-letter ISO 4217 code."


# --- through every dialect -------------------------------------------------------


def shop(currency: str):
    store = StoreFactory(currency=currency)
    return store, ApiKeyFactory(store=store)


@pytest.mark.parametrize(("currency", "typed", "minor", "text", "too_fine"), CURRENCIES)
def test_newstore_amounts_are_the_currencys_minor_units_everywhere(
    currency, typed, minor, text, too_fine
):
    """The reported bug: a NewStore template of ¥500 became 50000 yen, and Shoplazza
    then said "¥50,000 off"."""
    store, key = shop(currency)
    newstore = bearer(key)
    create_template(newstore, amount={"amount": float(typed), "currency": currency})
    made = create_coupon(newstore, "loyalty")
    coupon = Coupon.objects.get(legacy_uuid=made["id"])
    assert (coupon.discount_type, coupon.discount_amount) == ("amount", minor)

    paynow = APIClient()
    paynow.credentials(HTTP_AUTHORIZATION=f"APIKey {key.token}")
    shown = paynow.get(f"/v1/stores/{store.id}/coupons/{coupon.id}").json()
    assert shown["discount_amount"] == minor

    customer = CustomerFactory(store=store)
    received = APIClient().post(
        "/openapi/2022-01/coupons/receive",
        {"customer_id": str(customer.id), "coupon_ids": [str(coupon.id)]},
        format="json",
        HTTP_ACCESS_TOKEN=key.token,
    )
    assert received.status_code == 200, received.content
    (item,) = received.json()["items"]
    assert (item["value"], item["discount_text"]) == (float(typed), f"{text} off")

    refused = newstore.post(
        "/v0/d/coupon_templates",
        {
            "label": "too-fine",
            "pattern": "FINE_[0-9]{6}",
            "validation_rules": [],
            "amount": {"amount": float(too_fine), "currency": currency},
        },
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "error_code": "invalid_request",
        "message": (
            f"Invalid request: amount.amount: {currency} amounts have at most "
            f"{money.decimals(currency)} decimal places."
        ),
    }


@pytest.mark.parametrize(("currency", "typed", "minor", "text", "too_fine"), CURRENCIES)
def test_capillary_series_amounts_are_the_currencys_minor_units(
    currency, typed, minor, text, too_fine
):
    _store, key = shop(currency)
    api = capillary(key)
    body = {
        "description": "Voucher",
        "discountType": "ABS",
        "discountValue": float(typed),
        "minBillAmount": float(typed) * 2,
        "validTillDate": "2030-09-30T00:00:00+00:00",
        "maxCreate": 10,
        "alphaNumeric": True,
        "randomCodeLength": 8,
    }

    created = api.post("/v2/coupon/series", body, format="json")
    assert created.status_code == 200, created.content
    series = Series.objects.get()
    coupon = Coupon.objects.filter(series=series).first()
    assert (coupon.discount_amount, coupon.minimum_order_value) == (minor, 2 * minor)
    listed = api.get(f"/v2/coupon/series?ids={series.id}").json()
    assert listed["entity"][0]["discountValue"] == float(typed)

    refused = api.post(
        "/v2/coupon/series", {**body, "discountValue": float(too_fine)}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "errors": [
            {
                "status": False,
                "code": 400,
                "message": (
                    f"discountValue: Too many decimals: {currency} amounts have at "
                    f"most {money.decimals(currency)} decimal places."
                ),
            }
        ]
    }
    assert Series.objects.count() == 1


@pytest.mark.parametrize(("currency", "typed", "minor", "text", "too_fine"), CURRENCIES)
def test_capillary_redeem_reads_and_writes_the_currencys_amounts(
    currency, typed, minor, text, too_fine
):
    store, key = shop(currency)
    customer = CustomerFactory(store=store, mobile="9999988886")
    coupon = CouponFactory(
        store=store,
        code="FLAT",
        series=SeriesFactory(store=store),
        origin="generated",
        discount_type="amount",
        discount_amount=minor,
    )
    AssignmentFactory(store=store, coupon=coupon, customer=customer)
    api = capillary(key)

    def redeem(amount: str):
        return api.post(
            "/v1.1/coupon/redeem",
            {
                "root": {
                    "coupon": [
                        {
                            "code": "FLAT",
                            "customer": {"mobile": customer.mobile},
                            "transaction": [{"number": "T1", "amount": amount}],
                        }
                    ]
                }
            },
            format="json",
        )

    refused = redeem(too_fine)
    assert refused.status_code == 400
    assert not Redemption.objects.exists()

    order = money.major_text(10 * minor, currency)
    response = redeem(order)
    assert response.status_code == 200, response.content
    (rendered,) = response.json()["response"]["coupons"]["coupon"]
    assert rendered["transaction"] == {"number": "T1", "amount": order}
    assert rendered["discount_value"] == money.major_text(minor, currency)
    redemption = Redemption.objects.get()
    assert (redemption.order_value, redemption.discount_amount) == (10 * minor, minor)
    assert Assignment.objects.count() == 1


@pytest.mark.parametrize(("currency", "typed", "minor", "text", "too_fine"), CURRENCIES)
def test_the_dashboard_liability_reads_in_the_stores_currency(
    admin_client, currency, typed, minor, text, too_fine
):
    cache.clear()
    store, _ = shop(currency)
    coupon = CouponFactory(store=store, discount_type="amount", discount_amount=minor)
    AssignmentFactory(store=store, coupon=coupon, customer=CustomerFactory(store=store))

    response = admin_client.get(reverse("admin:index"))

    assert response.status_code == 200
    (row,) = [row for row in response.context["stores"] if row["store"] == store]
    assert row["liability"] == text
    assert text in response.content.decode()
    cache.clear()
