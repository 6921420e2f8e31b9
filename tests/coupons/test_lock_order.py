"""Batch writes over coupons lock them in the checkouts' order (by id).

A receive locks the coupons it is given in id order. The expire command disables a
batch of coupons with one UPDATE, which took the rows in the order its plan met them
(heap order): a receive of two of them could deadlock with it, and PostgreSQL then
aborted one of the two (the receive a 503, or the command an error). The
interleaving is forced: a second connection holds the coupon with the larger id
while the command and the receive queue behind it.
"""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from assignments.models import Assignment
from core import flake
from coupons.models import Coupon
from stores.scopes import PRICE_RULES
from tests.concurrency import shoplazza_client
from tests.factories import ApiKeyFactory, CouponFactory, CustomerFactory, StoreFactory
from tests.interleave import Holder, start, wait_for_waiters

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


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

    def receive():
        return shoplazza_client(key).post(
            "/openapi/2022-01/coupons/receive",
            {"customer_id": str(customer.id), "coupon_ids": [str(small), str(large)]},
            format="json",
        )

    out = StringIO()
    with Holder() as holder:
        holder.run("SELECT 1 FROM coupons_coupon WHERE id = %s FOR UPDATE", [large])
        expired = start(
            lambda: call_command("expire_coupons", store=str(store.id), stdout=out)
        )
        wait_for_waiters(1)
        received = start(receive)
        wait_for_waiters(2)
        holder.rollback()

    expired()
    response = received()
    assert response.status_code == 200, response.content
    # The receive waited for the command, then found both coupons disabled.
    assert [item["status"] for item in response.json()["items"]] == [6, 6]
    assert not Coupon.objects.filter(store=store, enabled=True).exists()
    assert not Assignment.objects.exists()
