"""Currency codes are ISO 4217's, exactly (upper case): anything else is a 400 that
says so, never a currency mismatch with the store."""

from __future__ import annotations

import pytest

from coupons.models import Hold, Redemption
from tests.coupons.test_api_cart import cart, line
from tests.coupons.test_json_safe_amounts import bad_request, base, post  # noqa: F401
from tests.factories import CouponFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("endpoint", ["coupons/validate", "redemptions", "holds"])
@pytest.mark.parametrize("code", ["eur", "Eur", "XXY"])
def test_a_currency_that_is_not_an_iso_code_is_a_clear_400(
    paynow,
    base,  # noqa: F811 (fixture)
    store,
    endpoint,
    code,
):
    CouponFactory(store=store, code="TEN", discount_type="percent", discount_amount=100)
    order = cart(code, line("a", 1, 1000))

    response = post(paynow, f"{base}/{endpoint}", {"code": "TEN", "order": order})

    assert response.status_code == 400
    assert response.json() == bad_request(
        "order.currency",
        "Not an ISO 4217 currency code: three upper-case letters, such as EUR.",
        code="invalid",
    )
    assert not Redemption.objects.exists()
    assert not Hold.objects.exists()
