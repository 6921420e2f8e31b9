"""Every amount a client reads back stays a JSON-safe integer (at most 2**53 - 1,
JavaScript's Number.MAX_SAFE_INTEGER: ``core.money.MAX_MINOR``): inputs above it are
400 in the dialect's body, and nothing is written."""

from __future__ import annotations

import pytest

from coupons.models import Coupon, Redemption
from legacy.models import LegacyDefinition
from tests.coupons.test_api_cart import cart, line
from tests.factories import CouponFactory
from tests.legacy.factories import bearer, template_body
from tests.paynow import field_error

pytestmark = pytest.mark.django_db

SAFE = 2**53 - 1
TRACE = "trace-hfix"


@pytest.fixture
def base(store):
    store.currency = "EUR"
    store.save(update_fields=["currency"])
    return f"/v1/stores/{store.id}"


def post(api, url, body):
    return api.post(url, body, format="json", HTTP_X_REQUEST_ID=TRACE)


def bad_request(path: str, message: str, code: str = "max_value") -> dict:
    return field_error(path, code, message, trace=TRACE)


@pytest.mark.parametrize("endpoint", ["coupons/validate", "redemptions"])
def test_an_order_value_above_2_53_minus_1_is_a_400(paynow, base, store, endpoint):
    CouponFactory(store=store, code="TEN", discount_type="percent", discount_amount=100)

    response = post(
        paynow, f"{base}/{endpoint}", {"code": "TEN", "order_value": SAFE + 1}
    )

    assert response.status_code == 400
    assert response.json() == bad_request(
        "order_value", f"Ensure this value is less than or equal to {SAFE}."
    )
    assert not Redemption.objects.exists()


def test_an_order_value_of_2_53_minus_1_is_accepted(paynow, base, store):
    CouponFactory(store=store, code="TEN", discount_type="percent", discount_amount=100)

    response = post(
        paynow, f"{base}/coupons/validate", {"code": "TEN", "order_value": SAFE}
    )

    assert response.status_code == 200, response.content
    assert response.json()["discount"] == SAFE // 10


def test_a_line_worth_more_than_2_53_minus_1_is_a_400(paynow, base, store):
    CouponFactory(store=store, code="TEN", discount_type="percent", discount_amount=100)
    order = cart("EUR", line("a", 10**6, 10**12))

    response = post(paynow, f"{base}/redemptions", {"code": "TEN", "order": order})

    message = f"quantity x unit_price must not exceed {SAFE}."
    assert response.status_code == 400
    assert response.json() == bad_request(
        "order.lines.0.unit_price", message, code="invalid"
    )
    assert not Redemption.objects.exists()


def order_of(total: int) -> dict:
    """A cart of two lines, each below 2**53 - 1, paying ``total`` together."""
    first = 9007 * 10**12
    return cart("EUR", line("a", 9007, 10**12), line("b", 1, total - first))


def test_an_order_total_above_2_53_minus_1_is_a_400(paynow, base, store):
    CouponFactory(store=store, code="TEN", discount_type="percent", discount_amount=100)

    response = post(
        paynow, f"{base}/redemptions", {"code": "TEN", "order": order_of(SAFE + 1)}
    )

    assert response.status_code == 400
    assert response.json() == bad_request(
        "order.lines", f"The order's total must not exceed {SAFE}.", code="invalid"
    )
    assert not Redemption.objects.exists()


def test_an_order_total_of_2_53_minus_1_is_accepted(paynow, base, store):
    CouponFactory(store=store, code="TEN", discount_type="percent", discount_amount=100)

    response = post(
        paynow, f"{base}/coupons/validate", {"code": "TEN", "order": order_of(SAFE)}
    )

    assert response.status_code == 200, response.content
    assert response.json()["discount"] == SAFE // 10


def test_a_newstore_amount_above_2_53_minus_1_minor_units_is_a_400(api_key, store):
    store.currency = "CLF"  # 4 decimals
    store.save(update_fields=["currency"])
    newstore = bearer(api_key)
    too_much = {"amount": 900719925475, "currency": "CLF"}  # 9007199254750000

    response = newstore.post(
        "/v0/d/coupon_templates", template_body(amount=too_much), format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "error_code": "invalid_request",
        "message": "Invalid request: amount.amount: CLF amounts are at most "
        "900719925474.0991.",
    }
    assert not LegacyDefinition.objects.exists()
    assert not Coupon.objects.exists()


def test_a_newstore_amount_of_2_53_minus_1_minor_units_is_accepted(api_key, store):
    store.currency = "CLF"
    store.save(update_fields=["currency"])
    newstore = bearer(api_key)
    most = {"amount": 900719925474.0991, "currency": "CLF"}

    response = newstore.post(
        "/v0/d/coupon_templates", template_body(amount=most), format="json"
    )

    assert response.status_code == 201, response.content
