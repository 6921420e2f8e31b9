"""PayNow coupon PATCH and DELETE racing each other (PostgreSQL, real threads, HTTP).

A coupon deleted (or archived, the delete of a coupon with history) while a request
waits for its lock is gone for that request: 404 in PayNow's body, never a 500, never
a change to the archived row, never a second archive.
"""

from __future__ import annotations

from collections import Counter

import pytest
from rest_framework.test import APIClient

from assignments.models import Assignment
from audit.models import AuditEvent
from coupons.models import Coupon
from tests.concurrency import paynow_client, race
from tests.factories import (
    ApiKeyFactory,
    AssignmentFactory,
    CouponFactory,
    StoreFactory,
)
from tests.interleave import Holder, start, wait_for_waiters
from tests.paynow import error_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TRACE = "trace-coupon-race"
NOT_FOUND = error_body(404, "not-found", "Coupon not found.", trace=TRACE)
TRIALS = 15


@pytest.fixture
def key():
    return ApiKeyFactory(store=StoreFactory())


def api(key) -> APIClient:
    return paynow_client(key, trace=TRACE)


def url(coupon: Coupon) -> str:
    return f"/v1/stores/{coupon.store_id}/coupons/{coupon.id}"


def patch(key, coupon: Coupon, change: dict):
    return api(key).patch(url(coupon), change, format="json")


def delete(key, coupon: Coupon):
    return api(key).delete(url(coupon))


def events(coupon: Coupon, action: str) -> list[dict]:
    return list(
        AuditEvent.objects.filter(
            object_type="coupon", object_id=coupon.id, action=action
        )
        .order_by("id")
        .values_list("changes", flat=True)
    )


def coupon_with_history(key) -> Coupon:
    """A coupon a customer holds: its delete archives it."""
    coupon = CouponFactory(store=key.store, enabled=True)
    AssignmentFactory(coupon=coupon)
    return coupon


def assert_not_found(response) -> None:
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize("trial", range(TRIALS))
def test_three_concurrent_deletes_one_204_and_two_404(key, trial):
    coupon = CouponFactory(store=key.store)

    responses = race(3, lambda i: delete(key, coupon))

    assert Counter(r.status_code for r in responses) == Counter({204: 1, 404: 2})
    for response in responses:
        if response.status_code == 404:
            assert response.json() == NOT_FOUND
    assert not Coupon.objects.filter(id=coupon.id).exists()
    assert len(events(coupon, "delete")) == 1


@pytest.mark.parametrize("trial", range(5))
def test_three_concurrent_deletes_of_a_coupon_with_history_archive_it_once(key, trial):
    coupon = coupon_with_history(key)

    responses = race(3, lambda i: delete(key, coupon))

    assert Counter(r.status_code for r in responses) == Counter({204: 1, 404: 2})
    coupon.refresh_from_db()
    assert coupon.archived_at is not None
    assert coupon.enabled is False
    assert events(coupon, "archive") == [{"enabled": [True, False]}]


@pytest.mark.parametrize("trial", range(TRIALS))
def test_patch_racing_delete_is_200_and_204_or_404_and_204(key, trial):
    coupon = CouponFactory(store=key.store, note="before")

    patched, deleted = race(
        2,
        lambda i: (
            patch(key, coupon, {"note": "after"}) if i == 0 else delete(key, coupon)
        ),
    )

    assert deleted.status_code == 204
    if patched.status_code == 200:
        assert patched.json()["note"] == "after"
        assert events(coupon, "update") == [{"note": ["before", "after"]}]
    else:
        assert_not_found(patched)
        assert events(coupon, "update") == []
    assert not Coupon.objects.filter(id=coupon.id).exists()
    assert_not_found(api(key).get(url(coupon)))


def test_patch_of_a_coupon_deleted_while_it_waits_is_a_404(key):
    coupon = CouponFactory(store=key.store, note="before")
    with Holder() as deleter:
        deleter.run("DELETE FROM coupons_coupon WHERE id = %s", [coupon.id])
        # The PATCH finds the coupon (the DELETE is not committed), then waits.
        waiting = start(lambda: patch(key, coupon, {"note": "after"}))
        wait_for_waiters(1)
        deleter.commit()
        response = waiting()

    assert_not_found(response)
    assert not Coupon.objects.filter(id=coupon.id).exists()
    assert events(coupon, "update") == []


def archive_meanwhile(coupon: Coupon) -> Holder:
    """Archive the coupon (as its DELETE does) in a transaction left open."""
    holder = Holder()
    holder.run(
        "UPDATE coupons_coupon SET archived_at = now(), enabled = false WHERE id = %s",
        [coupon.id],
    )
    return holder


def test_patch_of_a_coupon_archived_while_it_waits_is_a_404_and_changes_nothing(key):
    coupon = coupon_with_history(key)
    with archive_meanwhile(coupon) as archiver:
        waiting = start(lambda: patch(key, coupon, {"enabled": True, "note": "x"}))
        wait_for_waiters(1)
        archiver.commit()
        response = waiting()

    assert_not_found(response)
    coupon.refresh_from_db()
    assert coupon.archived_at is not None
    assert (coupon.enabled, coupon.note) == (False, None)
    assert events(coupon, "update") == []


def test_delete_of_a_coupon_archived_while_it_waits_is_a_404(key):
    coupon = coupon_with_history(key)
    with archive_meanwhile(coupon) as archiver:
        waiting = start(lambda: delete(key, coupon))
        wait_for_waiters(1)
        archiver.commit()
        response = waiting()

    assert_not_found(response)
    assert events(coupon, "archive") == []
    assert Assignment.objects.filter(coupon=coupon).count() == 1


def test_three_patches_waiting_for_one_coupon_all_persist(key):
    coupon = CouponFactory(
        store=key.store, note="n0", minimum_order_value=0, discount_amount=500
    )
    changes = [{"note": "n1"}, {"minimum_order_value": 700}, {"discount_amount": 900}]
    with Holder() as holder:
        holder.run("SELECT 1 FROM coupons_coupon WHERE id = %s FOR UPDATE", [coupon.id])
        waiting = [
            start(lambda change=change: patch(key, coupon, change))
            for change in changes
        ]
        wait_for_waiters(3)
        holder.commit()
        responses = [result() for result in waiting]

    assert [r.status_code for r in responses] == [200, 200, 200]
    coupon.refresh_from_db()
    assert (coupon.note, coupon.minimum_order_value, coupon.discount_amount) == (
        "n1",
        700,
        900,
    )
    assert sorted(events(coupon, "update"), key=str) == sorted(
        [
            {"note": ["n0", "n1"]},
            {"minimum_order_value": [0, 700]},
            {"discount_amount": [500, 900]},
        ],
        key=str,
    )
