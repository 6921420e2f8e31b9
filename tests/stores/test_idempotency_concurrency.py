"""Concurrent retries with one Idempotency-Key write once (PostgreSQL)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection
from rest_framework.test import APIClient

from coupons.models import Coupon, Redemption
from stores.models import IdempotencyKey
from tests.concurrency import dsn, race
from tests.factories import ApiKeyFactory, CouponFactory, StoreFactory
from tests.paynow import coupon_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BODY = coupon_body(code="ONCE-ONLY")


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


# --- a duplicate while the first is still running ------------------------------------


@contextmanager
def holding_row(coupon_id: int) -> Iterator[None]:
    """Lock the coupon's row from another connection: a redemption of it waits."""
    with psycopg.connect(**dsn()) as holder:
        holder.execute(
            "SELECT id FROM coupons_coupon WHERE id = %s FOR UPDATE", [coupon_id]
        )
        try:
            yield
        finally:
            holder.rollback()


def _lock_waiters(count: int) -> list[int]:
    """The backends waiting on a lock, once there are ``count`` of them."""
    deadline = time.monotonic() + 30
    with psycopg.connect(**dsn(), autocommit=True) as probe:
        while time.monotonic() < deadline:
            rows = probe.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' ORDER BY backend_start"
            ).fetchall()
            if len(rows) >= count:
                return [pid for (pid,) in rows]
            time.sleep(0.02)
    raise AssertionError(f"never saw {count} backends waiting on a lock")


class Redeem(threading.Thread):
    """POST a redemption of ``code`` with Idempotency-Key ``key`` from a thread."""

    def __init__(self, api_key, store, code: str, key: str) -> None:
        super().__init__(daemon=True)
        self.api_key, self.store, self.code, self.key = api_key, store, code, key
        self.response = None

    def send(self):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"APIKey {self.api_key.token}")
        return api.post(
            f"/v1/stores/{self.store.id}/redemptions",
            {"code": self.code},
            format="json",
            HTTP_IDEMPOTENCY_KEY=self.key,
        )

    def run(self) -> None:
        try:
            self.response = self.send()
        finally:
            connection.close()


@pytest.fixture
def shop():
    store = StoreFactory()
    api_key = ApiKeyFactory(store=store)
    coupon = CouponFactory(store=store, code="HELD")
    return store, api_key, coupon


def test_a_duplicate_while_the_first_runs_gets_a_prompt_409_then_the_replay(
    shop, settings
):
    settings.IDEMPOTENCY_WAIT_SECONDS = 1
    store, api_key, coupon = shop
    first = Redeem(api_key, store, "HELD", "K")
    with holding_row(coupon.id):
        first.start()
        _lock_waiters(1)
        # Invariant 7: the key is recorded in the first request's transaction, so
        # no other connection sees it before that transaction commits.
        assert not IdempotencyKey.objects.filter(store=store, key="K").exists()
        started = time.monotonic()
        duplicate = Redeem(api_key, store, "HELD", "K").send()
        waited = time.monotonic() - started
        assert first.is_alive()
    first.join(timeout=30)

    assert duplicate.status_code == 409
    body = duplicate.json()
    assert (body["status"], body["code"]) == (409, "conflict")
    assert body["message"] == (
        "A request with this Idempotency-Key is still being processed; retry shortly."
    )
    assert 0.9 <= waited < 2.5
    assert first.response.status_code == 200
    retry = Redeem(api_key, store, "HELD", "K").send()
    assert retry.status_code == 200
    assert retry.json() == first.response.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Redemption.objects.filter(coupon=coupon).count() == 1


def test_a_duplicate_waits_for_the_first_and_replays_its_answer(shop, settings):
    settings.IDEMPOTENCY_WAIT_SECONDS = 20
    store, api_key, coupon = shop
    first = Redeem(api_key, store, "HELD", "K")
    duplicate = Redeem(api_key, store, "HELD", "K")
    with holding_row(coupon.id):
        first.start()
        _lock_waiters(1)
        duplicate.start()
        _lock_waiters(2)  # the duplicate waits on the key
    first.join(timeout=30)
    duplicate.join(timeout=30)

    assert first.response.status_code == duplicate.response.status_code == 200
    assert duplicate.response.json() == first.response.json()
    assert duplicate.response["Idempotent-Replayed"] == "true"
    assert Redemption.objects.filter(coupon=coupon).count() == 1
    assert Coupon.objects.get(pk=coupon.pk).redeemed_count == 1


def test_a_first_request_that_fails_with_503_keeps_nothing_and_the_duplicate_runs(
    shop, settings
):
    settings.IDEMPOTENCY_WAIT_SECONDS = 20
    store, api_key, coupon = shop
    first = Redeem(api_key, store, "HELD", "K")
    duplicate = Redeem(api_key, store, "HELD", "K")
    with holding_row(coupon.id):
        first.start()
        (first_backend,) = _lock_waiters(1)
        duplicate.start()
        _lock_waiters(2)
        with psycopg.connect(**dsn(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [first_backend])
        first.join(timeout=30)
        # The duplicate got the key and now waits on the coupon's row itself.
        assert _lock_waiters(1) != [first_backend]
    duplicate.join(timeout=30)

    assert first.response.status_code == 503
    assert first.response.json()["code"] == "service-unavailable"
    assert duplicate.response.status_code == 200
    assert "Idempotent-Replayed" not in duplicate.response
    assert Redemption.objects.filter(coupon=coupon).count() == 1
    record = IdempotencyKey.objects.get(store=store, key="K")
    assert record.response_status == 200


def test_duplicates_racing_through_every_trial_redeem_once_per_key(shop):
    store, api_key, coupon = shop
    Coupon.objects.filter(pk=coupon.pk).update(
        redeem_limit_store_enabled=True, redeem_limit_store_amount=100
    )
    for trial in range(5):
        key = f"trial-{trial}"
        answers = race(8, lambda _i, key=key: _redeem_once(api_key, store, key))
        assert {status for status, _ in answers} == {200}
        assert len({body["id"] for _, body in answers}) == 1
    assert Redemption.objects.filter(coupon=coupon).count() == 5
    assert Coupon.objects.get(pk=coupon.pk).redeemed_count == 5


def _redeem_once(api_key, store, key: str) -> tuple[int, dict]:
    response = Redeem(api_key, store, "HELD", key).send()
    return response.status_code, response.json()
