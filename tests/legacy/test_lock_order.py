"""Deleting a NewStore definition locks its coupons in the checkouts' order (by id).

A receive locks the coupons it is given in id order. The delete disables every coupon
of the definition; when its UPDATE took the rows in the order it met them (heap order),
a receive of two of them could deadlock with it, and PostgreSQL then aborts one of the
two (a 503). The interleaving is forced: a second connection holds the coupon with the
larger id while the delete and the receive queue behind it.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from core import flake
from coupons.models import Coupon
from legacy.models import LegacyDefinition
from stores.scopes import LEGACY, PRICE_RULES
from tests.concurrency import shoplazza_client
from tests.factories import (
    ApiKeyFactory,
    CouponFactory,
    CustomerFactory,
    StoreFactory,
)
from tests.interleave import Holder, start, wait_for_waiters
from tests.legacy.factories import bearer, create_definition

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_definition_delete_and_a_receive_of_its_coupons_do_not_deadlock():
    store = StoreFactory()
    key = ApiKeyFactory(store=store, scopes=[LEGACY, PRICE_RULES])
    definition = create_definition(bearer(key))
    made_from = LegacyDefinition.objects.get(uuid=definition["id"])
    # Written larger id first: the delete's UPDATE meets them in that (heap) order.
    small, large = flake.next_id(), flake.next_id()
    for coupon_id in (large, small):
        CouponFactory(id=coupon_id, store=store, legacy_definition=made_from)

    customer = CustomerFactory(store=store)

    def delete():
        api = APIClient(raise_request_exception=False)
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {key.token}")
        return api.delete(f"/v0/d/coupon_definitions/{definition['id']}")

    def receive():
        return shoplazza_client(key).post(
            "/openapi/2022-01/coupons/receive",
            {"customer_id": str(customer.id), "coupon_ids": [str(small), str(large)]},
            format="json",
        )

    with Holder() as holder:
        holder.run("SELECT 1 FROM coupons_coupon WHERE id = %s FOR UPDATE", [large])
        deleted = start(delete)
        wait_for_waiters(1)
        received = start(receive)
        wait_for_waiters(2)
        holder.rollback()

    deleted, received = deleted(), received()
    assert deleted.status_code == 204, deleted.content
    assert received.status_code == 200, received.content
    # The receive waited for the delete, then found both coupons disabled.
    assert [item["status"] for item in received.json()["items"]] == [6, 6]
    assert not Coupon.objects.filter(id__in=[small, large], enabled=True).exists()
    assert not Coupon.objects.filter(received_count__gt=0).exists()
