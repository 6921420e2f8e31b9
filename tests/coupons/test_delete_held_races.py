"""A coupon DELETE racing holds of it (PostgreSQL: row locks, a connection per
request). The delete checks the live holds under the coupon's lock, which a hold
takes too: a hold that got the lock first is seen (409, the coupon and its hold
stay); one that waited for the delete finds no coupon (404). Never a hold of a
deleted coupon, never a 5xx."""

from __future__ import annotations

from collections import Counter

import pytest

from coupons.models import Coupon, Hold
from tests.concurrency import paynow_client, race
from tests.coupons.test_delete_held import held_message
from tests.factories import (
    ApiKeyFactory,
    CouponFactory,
    RedemptionFactory,
    StoreFactory,
)
from tests.interleave import Holder, start, wait_for_waiters
from tests.paynow import error_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TRACE = "delete-held-race"
NO_COUPON = error_body(404, "not-found", "Coupon not found.", trace=TRACE)


def world(history: bool):
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    coupon = CouponFactory(store=store, code="RACE")
    if history:  # the DELETE archives it
        RedemptionFactory(coupon=coupon)
    return f"/v1/stores/{store.id}", key, coupon


def requests(base, key, coupon):
    def hold():
        api = paynow_client(key, trace=TRACE)
        return api.post(f"{base}/holds", {"code": "RACE"}, format="json")

    def delete():
        api = paynow_client(key, trace=TRACE)
        return api.delete(f"{base}/coupons/{coupon.id}")

    return hold, delete


def in_order(coupon, first, second):
    """``first`` then ``second``, both queued on the coupon's row lock (held by
    another transaction until both wait), so they get it in that order."""
    with Holder() as holder:
        holder.run(
            "SELECT id FROM coupons_coupon WHERE id = %s FOR UPDATE", [coupon.id]
        )
        first_done = start(first)
        wait_for_waiters(1)
        second_done = start(second)
        wait_for_waiters(2)
        holder.commit()
    return first_done(), second_done()


def gone(coupon) -> bool:
    row = Coupon.objects.filter(pk=coupon.pk).first()
    return row is None or row.archived_at is not None


@pytest.mark.parametrize("history", [False, True])
def test_a_hold_that_locks_first_keeps_the_coupon(history):
    base, key, coupon = world(history)
    hold, delete = requests(base, key, coupon)

    held, deleted = in_order(coupon, hold, delete)

    assert held.status_code == 201, held.content
    assert deleted.status_code == 409
    assert deleted.json() == error_body(409, "conflict", held_message(1), trace=TRACE)
    assert not gone(coupon)
    assert Hold.objects.get().id == int(held.json()["id"])


@pytest.mark.parametrize("history", [False, True])
def test_a_hold_waiting_for_the_delete_finds_no_coupon(history):
    base, key, coupon = world(history)
    hold, delete = requests(base, key, coupon)

    deleted, held = in_order(coupon, delete, hold)

    assert deleted.status_code == 204, deleted.content
    assert held.status_code == 404
    assert held.json() == NO_COUPON
    assert gone(coupon)
    assert not Hold.objects.exists()


@pytest.mark.parametrize("history", [False, True])
def test_holds_and_a_delete_at_once_never_leave_a_hold_of_a_deleted_coupon(history):
    outcomes = Counter()
    for _ in range(5):
        base, key, coupon = world(history)
        hold, delete = requests(base, key, coupon)

        results = race(5, lambda i, d=delete, h=hold: (d if i == 0 else h)())

        deleted, holds = results[0], results[1:]
        made = [r for r in holds if r.status_code == 201]
        assert {r.status_code for r in holds} <= {201, 404}
        assert all(r.json() == NO_COUPON for r in holds if r.status_code == 404)
        if deleted.status_code == 204:
            assert made == []
            assert gone(coupon)
        else:
            # It saw the holds made before it; later ones went on as usual.
            assert deleted.status_code == 409
            seen = [
                n
                for n in range(1, len(made) + 1)
                if held_message(n) == deleted.json()["message"]
            ]
            assert len(seen) == 1, deleted.json()
            assert not gone(coupon)
        live = Hold.objects.filter(coupon_id=coupon.pk)
        assert sorted(h.id for h in live) == sorted(int(r.json()["id"]) for r in made)
        outcomes[deleted.status_code] += 1
    assert sum(outcomes.values()) == 5
