"""Partial rollbacks (returns) of one redemption at once (PostgreSQL: row locks,
one connection per thread): never more given back than was redeemed, and the use
freed exactly once."""

from __future__ import annotations

from collections import Counter

import pytest

from audit.models import AuditEvent
from coupons.models import Redemption, RedemptionLine
from tests.concurrency import paynow_client, post_at_once
from tests.factories import ApiKeyFactory, CouponFactory, StoreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redeemed():
    """A 12.5 % coupon redeemed on a cart: l1 5 x 999 (discount 624), l2 3 x 1001
    (discount 375); order 7998, discount 999."""
    store = StoreFactory(currency="EUR")
    key = ApiKeyFactory(store=store)
    coupon = CouponFactory(
        store=store, code="RACE", discount_type="percent", discount_amount=125
    )
    order = {
        "currency": "EUR",
        "lines": [
            {"id": "l1", "quantity": 5, "unit_price": 999},
            {"id": "l2", "quantity": 3, "unit_price": 1001},
        ],
    }
    response = paynow_client(key).post(
        f"/v1/stores/{store.id}/redemptions",
        {"code": "RACE", "order": order},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["order_value"], body["discount"]) == (7998, 999)
    url = f"/v1/stores/{store.id}/redemptions/{body['id']}/rollback"
    return key, coupon, int(body["id"]), url


def test_concurrent_line_returns_never_return_more_units_than_redeemed(redeemed):
    key, coupon, redemption_id, url = redeemed
    bodies = [{"lines": [{"id": "l1", "quantity": 1}]}] * 8 + [
        {"lines": [{"id": "l2", "quantity": 2}]}
    ] * 3
    results = post_at_once(lambda: paynow_client(key), url, bodies)
    statuses = Counter(status for status, _body in results)
    # l1: five of eight; l2: one of three (2 units of 3, then 1 is left)
    assert statuses == Counter({200: 6, 409: 5})
    assert {b["errors"][0]["code"] for s, b in results if s == 409} == {"over_return"}
    lines = {
        line.line_id: line
        for line in RedemptionLine.objects.filter(redemption_id=redemption_id)
    }
    assert (lines["l1"].returned_quantity, lines["l1"].returned_discount) == (5, 624)
    assert (lines["l2"].returned_quantity, lines["l2"].returned_discount) == (2, 250)
    redemption = Redemption.objects.get(id=redemption_id)
    assert redemption.value_returned == 5 * 999 + 2 * 1001
    assert redemption.discount_returned == 624 + 250
    assert redemption.discount_amount == 999 - 874
    assert redemption.rolled_back_at is None
    coupon.refresh_from_db()
    assert coupon.redeemed_count == 1


def test_concurrent_amount_returns_free_the_use_once(redeemed):
    key, coupon, redemption_id, url = redeemed
    # 7998 = 6 x 1333: six of twelve fit, the sixth completes the rollback.
    results = post_at_once(lambda: paynow_client(key), url, [{"amount": 1333}] * 12)
    assert Counter(status for status, _body in results) == Counter({200: 6, 409: 6})
    # what is left is always a multiple of 1333: each refusal comes after the end
    assert {body["message"] for s, body in results if s == 409} == {
        "This redemption was already rolled back; nothing changed."
    }
    redemption = Redemption.objects.get(id=redemption_id)
    assert (redemption.value_returned, redemption.discount_returned) == (7998, 999)
    assert redemption.discount_amount == 0
    assert redemption.rolled_back_at is not None
    events = AuditEvent.objects.filter(object_id=redemption_id)
    assert (
        sum(e.changes["discount_returned"] for e in events if e.action != "redeem")
        == 999
    )
    assert events.filter(action="rollback").count() == 1
    coupon.refresh_from_db()
    assert coupon.redeemed_count == 0
