"""A redemption rolled back by returns is counted as a rollback once: by the return
that completes the order, never by the partial ones before it."""

from __future__ import annotations

import pytest

from tests.core.test_metrics import scrape, staff, value  # noqa: F401 (fixture)
from tests.coupons.test_api_cart import cart, line, rolled
from tests.factories import CouponFactory

pytestmark = pytest.mark.django_db

NAME = "couponhub_coupon_operations_total"


def test_the_return_that_completes_an_order_counts_one_rollback(
    staff,  # noqa: F811
    paynow,
    store,
    django_capture_on_commit_callbacks,
):
    store.currency = "EUR"
    store.save(update_fields=["currency"])
    base = f"/v1/stores/{store.id}"
    CouponFactory(store=store, code="TEN", discount_type="percent", discount_amount=100)
    rollback = {"store": store.code, "operation": "rollback"}
    before = scrape(staff)

    with django_capture_on_commit_callbacks(execute=True):
        redeemed = paynow.post(
            f"{base}/redemptions",
            {"code": "TEN", "order": cart("EUR", line("a", 2, 1000))},
            format="json",
        )
    assert redeemed.status_code == 200, redeemed.content
    redemption_id = redeemed.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        partial = rolled(paynow, base, redemption_id, {"amount": 500}).json()
    after_partial = scrape(staff)
    with django_capture_on_commit_callbacks(execute=True):
        complete = rolled(paynow, base, redemption_id, {"amount": 1500}).json()
    after = scrape(staff)

    assert (partial["rolled_back"], complete["rolled_back"]) == (False, True)
    assert value(after_partial, NAME, **rollback) - value(before, NAME, **rollback) == 0
    assert value(after, NAME, **rollback) - value(before, NAME, **rollback) == 1
