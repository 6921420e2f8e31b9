"""The coupon admin form: the model's and the API's rules are form errors, no 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from coupons.models import Coupon
from tests.coupons.test_admin import coupon_form_data
from tests.factories import CouponFactory, StoreFactory

pytestmark = pytest.mark.django_db

ADD = "admin:coupons_coupon_add"


def form_errors(response) -> dict[str, list[str]]:
    assert response.status_code == 200
    return dict(response.context["adminform"].form.errors)


@pytest.mark.parametrize("amount", ["1001", "1500"])
def test_a_percent_above_100_is_a_form_error_not_a_500(admin_client, amount):
    store = StoreFactory()

    response = admin_client.post(
        reverse(ADD),
        coupon_form_data(
            store=store.pk, code="PCT", discount_type="percent", discount_amount=amount
        ),
    )

    assert form_errors(response) == {
        "__all__": ["A percent cannot exceed 1000 (100 %)."]
    }
    assert not Coupon.objects.filter(store=store).exists()


def test_a_percent_of_exactly_100_is_saved(admin_client):
    store = StoreFactory()

    response = admin_client.post(
        reverse(ADD),
        coupon_form_data(
            store=store.pk, code="PCT", discount_type="percent", discount_amount="1000"
        ),
    )

    assert response.status_code == 302
    assert Coupon.objects.get(store=store, code="PCT").discount_amount == 1000


MAX_MINOR = 2**53 - 1
ABOVE_MAX = "Ensure this value is less than or equal to 9007199254740991."


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"discount_amount": "9007199254740993"}, "discount_amount", ABOVE_MAX),
        ({"discount_amount": str(MAX_MINOR + 1)}, "discount_amount", ABOVE_MAX),
        ({"minimum_order_value": str(MAX_MINOR + 1)}, "minimum_order_value", ABOVE_MAX),
        (
            {"discount_max_amount": str(MAX_MINOR + 1)},
            "discount_max_amount",
            ABOVE_MAX,
        ),
        (
            {
                "redeem_limit_store_enabled": "on",
                "redeem_limit_store_amount": str(MAX_MINOR + 1),
            },
            "redeem_limit_store_amount",
            ABOVE_MAX,
        ),
        (
            {
                "redeem_limit_customer_enabled": "on",
                "redeem_limit_customer_amount": str(MAX_MINOR + 1),
            },
            "redeem_limit_customer_amount",
            ABOVE_MAX,
        ),
        (
            {"duration": "repeating", "duration_in_months": "1201"},
            "duration_in_months",
            "Ensure this value is less than or equal to 1200.",
        ),
    ],
)
def test_a_value_above_the_apis_cap_is_a_form_error(
    admin_client, overrides, field, message
):
    store = StoreFactory()
    data = {"store": store.pk, "code": "HUGE", "discount_type": "amount", **overrides}
    data.setdefault("discount_amount", "100")

    response = admin_client.post(reverse(ADD), coupon_form_data(**data))

    assert form_errors(response) == {field: [message]}
    assert not Coupon.objects.filter(store=store).exists()


def test_a_change_above_the_cap_is_refused_and_the_coupon_kept(admin_client):
    coupon = CouponFactory(code="HUGE", discount_type="amount", discount_amount=100)

    response = admin_client.post(
        reverse("admin:coupons_coupon_change", args=[coupon.pk]),
        coupon_form_data(
            code="HUGE", discount_type="amount", discount_amount=str(MAX_MINOR + 1)
        ),
    )

    assert form_errors(response) == {"discount_amount": [ABOVE_MAX]}
    coupon.refresh_from_db()
    assert coupon.discount_amount == 100


def test_every_value_at_the_cap_is_saved(admin_client):
    store = StoreFactory()

    response = admin_client.post(
        reverse(ADD),
        coupon_form_data(
            store=store.pk,
            code="MAX",
            discount_type="amount",
            discount_amount=str(MAX_MINOR),
            discount_max_amount=str(MAX_MINOR),
            minimum_order_value=str(MAX_MINOR),
            redeem_limit_store_enabled="on",
            redeem_limit_store_amount=str(MAX_MINOR),
            redeem_limit_customer_enabled="on",
            redeem_limit_customer_amount=str(MAX_MINOR),
            duration="repeating",
            duration_in_months="1200",
        ),
    )

    assert response.status_code == 302
    coupon = Coupon.objects.get(store=store, code="MAX")
    assert (coupon.discount_amount, coupon.redeem_limit_customer_amount) == (
        MAX_MINOR,
        MAX_MINOR,
    )
    assert coupon.duration_in_months == 1200


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("YEN AMT", "A space cannot be part of a code"),
        ("ß", "'ß' cannot be part of a code"),
        ("ßALE", "'ß' cannot be part of a code"),
        ("CAFÉ", "'É' cannot be part of a code"),
        ("TAB\tX", "'\\t' cannot be part of a code"),
    ],
)
def test_a_code_no_dialect_carries_is_a_form_error(admin_client, code, message):
    store = StoreFactory()

    response = admin_client.post(
        reverse(ADD), coupon_form_data(store=store.pk, code=code)
    )

    assert form_errors(response) == {
        "code": [f"{message}: codes are printable ASCII characters without spaces."]
    }
    assert not Coupon.objects.filter(store=store).exists()


@pytest.mark.parametrize("code", ["SPRING-25", "spring_25", "X_.%/+452", "=1+1", "~"])
def test_a_code_of_printable_ascii_is_saved(admin_client, code):
    # NewStore's patterns make any printable ASCII but a space (README, Patterns).
    store = StoreFactory()

    response = admin_client.post(
        reverse(ADD), coupon_form_data(store=store.pk, code=code)
    )

    assert response.status_code == 302
    assert Coupon.objects.get(store=store).code == code


def test_a_code_stored_before_the_rule_stays_editable(admin_client):
    coupon = CouponFactory(code="YEN AMT")
    url = reverse("admin:coupons_coupon_change", args=[coupon.pk])

    # As the page posts it: the code as shown in its hidden initial.
    shown = {"initial-code": "YEN AMT"}
    kept = admin_client.post(
        url, coupon_form_data(code="YEN AMT", note="kept", **shown)
    )
    changed = admin_client.post(url, coupon_form_data(code="YEN AMT2", **shown))

    assert kept.status_code == 302
    assert form_errors(changed) == {
        "code": [
            "A space cannot be part of a code: codes are printable ASCII characters "
            "without spaces."
        ]
    }
    coupon.refresh_from_db()
    assert (coupon.code, coupon.note) == ("YEN AMT", "kept")
