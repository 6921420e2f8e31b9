"""NewStore amounts are major units of the store's currency with its own decimals,
as the README's NewStore rule table says (attack report 2, item 6: it said "times 100"
and "at most 2 decimals")."""

from __future__ import annotations

import pytest

from coupons.models import Coupon
from tests.factories import StoreFactory
from tests.legacy.factories import (
    bearer_for,
    create_coupon,
    create_template,
    minimum_total,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("currency", "amount", "minimum", "stored"),
    [
        # JPY has no minor unit: a minimum of 1000 yen stays 1000, not 100000.
        ("JPY", 500, 1000, (500, 1000)),
        # KWD has 3 decimals: taken, and stored in fils.
        ("KWD", 1.125, 2.505, (1125, 2505)),
        ("EUR", 5, 10.5, (500, 1050)),
    ],
)
def test_template_amounts_are_major_units_with_the_currencys_decimals(
    currency, amount, minimum, stored
):
    api = bearer_for(StoreFactory(currency=currency))
    create_template(
        api,
        label="tpl",
        pattern="Y[0-9]{6}",
        validation_rules=[minimum_total(minimum, currency)],
        amount={"amount": amount, "currency": currency},
    )

    made = create_coupon(api, "tpl")

    coupon = Coupon.objects.get(legacy_uuid=made["id"])
    assert (coupon.discount_amount, coupon.minimum_order_value) == stored


def test_a_kwd_amount_with_four_decimals_is_refused():
    api = bearer_for(StoreFactory(currency="KWD"))

    response = api.post(
        "/v0/d/coupon_templates",
        {
            "label": "tpl",
            "pattern": "Y[0-9]{6}",
            "validation_rules": [],
            "amount": {"amount": 1.1255, "currency": "KWD"},
        },
    )

    assert response.status_code == 400
    assert response.json() == {
        "error_code": "invalid_request",
        "message": "Invalid request: amount.amount: KWD amounts have at most 3 "
        "decimal places.",
    }
