"""The native API's ids in request bodies are JSON strings, as PayNow's ``FlakeId``
is (``{"type": "string", "format": "flake-id"}``): a JSON number is a 400 at the
field, never read (above 2^53 a JavaScript client has already rounded it)."""

from __future__ import annotations

import pytest

from coupons.models import Coupon, Hold, Redemption
from tests.coupons.test_api_cart import cart, line
from tests.factories import CouponFactory, CustomerFactory
from tests.paynow import coupon_body, error_body, validation_error

pytestmark = pytest.mark.django_db

TRACE = "trace-flake-strings"
NOT_A_STRING = "Must be a string."


def post(api, url, body):
    return api.post(url, body, format="json", HTTP_X_REQUEST_ID=TRACE)


def not_a_string(*paths: str) -> dict:
    return error_body(
        400,
        "bad-request",
        "Invalid request: " + "; ".join(f"{path}: {NOT_A_STRING}" for path in paths),
        [validation_error(path, "invalid_type", NOT_A_STRING) for path in paths],
        trace=TRACE,
    )


@pytest.fixture
def customer(store):
    return CustomerFactory(store=store)


@pytest.fixture
def ten(store):
    return CouponFactory(
        store=store, code="TEN", discount_type="percent", discount_amount=100
    )


CHECKOUTS = ["coupons/validate", "redemptions", "holds"]


@pytest.mark.parametrize("endpoint", CHECKOUTS)
def test_a_customer_id_sent_as_a_number_is_a_400(paynow, base, ten, customer, endpoint):
    body = {"code": "TEN", "customer_id": customer.id, "order_value": 1000}

    response = post(paynow, f"{base}/{endpoint}", body)

    assert response.status_code == 400
    assert response.json() == not_a_string("customer_id")
    assert not Redemption.objects.exists()
    assert not Hold.objects.exists()


@pytest.mark.parametrize("endpoint", CHECKOUTS)
def test_the_same_customer_id_sent_as_a_string_is_read(
    paynow, base, ten, customer, endpoint
):
    body = {"code": "TEN", "customer_id": str(customer.id), "order_value": 1000}

    response = post(paynow, f"{base}/{endpoint}", body)

    assert response.status_code in (200, 201), response.content
    assert response.json()["discount" if endpoint != "redemptions" else "id"]


@pytest.mark.parametrize(
    ("field", "value", "paths"),
    [
        ("product_ids", [5, "6", 7], ["product_ids.0", "product_ids.2"]),
        ("tag_ids", [2**53 + 1], ["tag_ids.0"]),
    ],
)
@pytest.mark.parametrize("endpoint", CHECKOUTS)
def test_product_and_tag_ids_sent_as_numbers_are_a_400(
    paynow, base, ten, endpoint, field, value, paths
):
    body = {"code": "TEN", "order_value": 1000, field: value}

    response = post(paynow, f"{base}/{endpoint}", body)

    assert response.status_code == 400
    assert response.json() == not_a_string(*paths)
    assert not Redemption.objects.exists()
    assert not Hold.objects.exists()


@pytest.mark.parametrize(
    ("changes", "path"),
    [({"product_id": 5}, "product_id"), ({"tag_ids": ["1", 2]}, "tag_ids.1")],
)
@pytest.mark.parametrize("endpoint", CHECKOUTS)
def test_a_cart_line_id_sent_as_a_number_is_a_400(
    paynow, base, store, ten, endpoint, changes, path
):
    store.currency = "EUR"
    store.save(update_fields=["currency"])
    order = cart("EUR", {**line("l1", 1, 1000), **changes})

    response = post(paynow, f"{base}/{endpoint}", {"code": "TEN", "order": order})

    assert response.status_code == 400
    assert response.json() == not_a_string(f"order.lines.0.{path}")
    assert not Redemption.objects.exists()
    assert not Hold.objects.exists()


def test_a_hold_id_sent_as_a_number_is_a_400(paynow, base, ten, customer):
    made = post(
        paynow,
        f"{base}/holds",
        {"code": "TEN", "customer_id": str(customer.id), "order_value": 1000},
    )
    assert made.status_code == 201, made.content
    hold_id = int(made.json()["id"])

    response = post(
        paynow,
        f"{base}/redemptions",
        {"code": "TEN", "customer_id": str(customer.id), "hold_id": hold_id},
    )

    assert response.status_code == 400
    assert response.json() == not_a_string("hold_id")
    assert not Redemption.objects.exists()
    assert Hold.objects.get().state == "active"


@pytest.mark.parametrize(
    ("field", "value", "paths"),
    [
        ("usable_by_customer_id", "customer", ["usable_by_customer_id"]),
        ("apply_to_products", [5, 6], ["apply_to_products.0", "apply_to_products.1"]),
        ("apply_to_tags", ["7", 8], ["apply_to_tags.1"]),
    ],
)
def test_coupon_ids_sent_as_numbers_are_a_400_on_create_and_update(
    paynow, base, store, customer, field, value, paths
):
    value = customer.id if value == "customer" else value
    coupon = CouponFactory(store=store, code="KEEP")

    created = post(paynow, f"{base}/coupons", coupon_body(code="NEW", **{field: value}))
    updated = paynow.patch(
        f"{base}/coupons/{coupon.id}",
        {field: value},
        format="json",
        HTTP_X_REQUEST_ID=TRACE,
    )

    assert (created.status_code, updated.status_code) == (400, 400)
    assert created.json() == not_a_string(*paths)
    assert updated.json() == not_a_string(*paths)
    assert list(Coupon.objects.values_list("code", flat=True)) == ["KEEP"]
    coupon.refresh_from_db()
    assert (coupon.usable_by_customer_id, coupon.apply_to_products) == (None, None)
    assert coupon.apply_to_tags is None


def test_coupon_ids_sent_as_strings_are_read(paynow, base, customer):
    body = coupon_body(
        code="NEW",
        usable_by_customer_id=str(customer.id),
        apply_to_products=["5", "6"],
        apply_to_tags=["7"],
    )

    response = post(paynow, f"{base}/coupons", body)

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["usable_by_customer_id"] == str(customer.id)
    assert (answer["apply_to_products"], answer["apply_to_tags"]) == (["5", "6"], ["7"])
