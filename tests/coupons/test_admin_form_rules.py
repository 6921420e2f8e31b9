"""The coupon admin form: the model's and the API's rules are form errors, no 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from coupons.models import Coupon
from tests.coupons.test_admin import coupon_form_data
from tests.factories import StoreFactory

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
