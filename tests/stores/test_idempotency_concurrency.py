"""Concurrent retries with one Idempotency-Key write once (PostgreSQL)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from coupons.models import Coupon
from tests.concurrency import race
from tests.factories import ApiKeyFactory, StoreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BODY = {
    "enabled": True,
    "code": "ONCE-ONLY",
    "duration": "once",
    "discount_type": "amount",
    "discount_amount": 100,
    "discount_apply_individually": False,
    "discount_apply_before_sales": False,
    "minimum_order_value": 0,
    "redeem_limit_store_enabled": False,
    "redeem_limit_store_amount": 0,
    "redeem_limit_customer_enabled": False,
    "redeem_limit_customer_amount": 0,
    "usable_on_one_time_purchase": True,
    "usable_on_subscription": True,
}


def test_ten_concurrent_retries_create_one_coupon_and_answer_alike():
    store = StoreFactory()
    key = ApiKeyFactory(store=store)

    def send(_index: int) -> tuple[int, dict]:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"APIKey {key.token}")
        response = api.post(
            f"/v1/stores/{store.id}/coupons",
            BODY,
            format="json",
            HTTP_IDEMPOTENCY_KEY="retry-me",
        )
        return response.status_code, response.json()

    answers = race(10, send)
    assert [status for status, _ in answers] == [200] * 10
    assert len({body["id"] for _, body in answers}) == 1
    assert Coupon.objects.filter(store=store).count() == 1


def test_issue_multiple_retried_ten_times_at_once_issues_once():
    from assignments.models import Assignment
    from tests.factories import CustomerFactory
    from tests.series.conftest import capillary_client, make_series

    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    customer = CustomerFactory(store=store)
    series = make_series(store, max_create=100)
    body = {"seriesId": series.id, "count": 3, "customer": {"id": customer.id}}

    def send(_index: int) -> tuple[int, dict]:
        response = capillary_client(key).post(
            "/v2/coupon/issue/multiple",
            body,
            format="json",
            HTTP_IDEMPOTENCY_KEY="issue-once",
        )
        return response.status_code, response.json()

    answers = race(10, send)
    assert [status for status, _ in answers] == [200] * 10
    codes = {tuple(c["code"] for c in body["coupons"]) for _, body in answers}
    assert len(codes) == 1
    assert Assignment.objects.filter(series=series).count() == 3
    series.refresh_from_db()
    assert series.issued_count == 3
