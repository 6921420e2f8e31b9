"""Batch writes over coupons lock them in the checkouts' order (by id).

A receive locks the coupons it is given in id order. The expire command disables a
batch of coupons with one UPDATE, which took the rows in the order its plan met them
(heap order): a receive of two of them could deadlock with it, and PostgreSQL then
aborted one of the two (the receive a 503, or the command an error). The
interleaving is forced: a second connection holds the coupon with the larger id
while the command and the receive queue behind it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone
from rest_framework.test import APIClient

from assignments.models import Assignment
from core import flake
from coupons.models import Coupon
from stores.scopes import PRICE_RULES
from tests.factories import ApiKeyFactory, CouponFactory, CustomerFactory, StoreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _in_thread(work: Callable[[], Any]) -> Callable[[], Any]:
    """Run ``work()`` in a thread with its own connection; wait for its result."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()

    def result() -> Any:
        thread.join(60)
        assert not thread.is_alive()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    return result


def _wait_for_waiters(count: int) -> None:
    deadline = time.monotonic() + 20
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                "current_database() AND wait_event_type = 'Lock' "
                "AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] >= count:
                return
        assert time.monotonic() < deadline, "the requests do not wait"
        time.sleep(0.02)


def test_the_expire_command_and_a_receive_of_its_coupons_do_not_deadlock():
    store = StoreFactory()
    key = ApiKeyFactory(store=store, scopes=[PRICE_RULES])
    customer = CustomerFactory(store=store)
    # Written larger id first: an UPDATE meets them in that (heap) order.
    small, large = flake.next_id(), flake.next_id()
    for coupon_id in (large, small):
        CouponFactory(
            id=coupon_id, store=store, expires_at=timezone.now() - timedelta(days=1)
        )
    holder = connections.create_connection(DEFAULT_DB_ALIAS)
    holder.set_autocommit(False)
    with holder.cursor() as cursor:
        cursor.execute("SELECT 1 FROM coupons_coupon WHERE id = %s FOR UPDATE", [large])

    def receive():
        api = APIClient(raise_request_exception=False)
        api.credentials(HTTP_ACCESS_TOKEN=key.token)
        return api.post(
            "/openapi/2022-01/coupons/receive",
            {"customer_id": str(customer.id), "coupon_ids": [str(small), str(large)]},
            format="json",
        )

    out = StringIO()
    expired = _in_thread(
        lambda: call_command("expire_coupons", store=str(store.id), stdout=out)
    )
    _wait_for_waiters(1)
    received = _in_thread(receive)
    _wait_for_waiters(2)
    holder.rollback()
    holder.close()

    expired()
    response = received()
    assert response.status_code == 200, response.content
    # The receive waited for the command, then found both coupons disabled.
    assert [item["status"] for item in response.json()["items"]] == [6, 6]
    assert not Coupon.objects.filter(store=store, enabled=True).exists()
    assert not Assignment.objects.exists()
