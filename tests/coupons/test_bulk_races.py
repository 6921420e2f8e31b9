"""A bulk action's job racing the API on the same coupons (PostgreSQL, real threads,
each with its own connection): PayNow PATCHes and DELETEs, and redemptions, while the
job extends or disables in small batches. Nothing the API wrote is lost, no request
fails with a 5xx, and the job writes one event per row it changed."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from coupons import bulk
from coupons.models import Coupon, Redemption
from jobs import services as job_services
from jobs.models import Job, Status
from tests.concurrency import paynow_client, race
from tests.factories import (
    ApiKeyFactory,
    AssignmentFactory,
    CouponFactory,
    StoreFactory,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

COUPONS = 120
BATCH = 3


@pytest.fixture
def key():
    return ApiKeyFactory(store=StoreFactory())


def bulk_job(key, action: bulk.BulkAction) -> Job:
    coupons = bulk.CouponFilter(store_id=key.store_id)
    return Job.objects.create(
        kind="bulk_coupons",
        store=key.store,
        params={"filter": coupons.params(), **action.params(), "batch": BATCH},
    )


def events(action: str) -> dict[int, list[tuple[int, dict]]]:
    found: dict[int, list[tuple[int, dict]]] = {}
    for event_id, coupon_id, changes in AuditEvent.objects.filter(
        action=action
    ).values_list("id", "coupon_id", "changes"):
        found.setdefault(coupon_id, []).append((event_id, changes))
    return found


def test_extend_racing_patches_and_deletes_loses_nothing(key):
    now = timezone.now().replace(microsecond=0)
    old, target = now + timedelta(days=1), now + timedelta(days=30)
    later = now + timedelta(days=90)
    coupons = [CouponFactory(store=key.store, expires_at=old) for _ in range(COUPONS)]
    for coupon in coupons[2::6]:  # held: their delete archives them
        AssignmentFactory(coupon=coupon)
    job = bulk_job(key, bulk.BulkAction(action=bulk.EXTEND, expires_at=target))
    # The API works from the newest coupons back, the job from the oldest on: they
    # meet in the middle.
    patched_later = coupons[0::6][::-1]
    noted = coupons[1::6][::-1]
    deleted = coupons[2::6][::-1]

    def work(index: int):
        if index == 0:
            return job_services.job_run(job_id=job.pk).status
        api = paynow_client(key)
        base = f"/v1/stores/{key.store_id}/coupons"
        statuses = []
        for coupon in (patched_later, noted, deleted)[index - 1]:
            if index == 1:
                body = {"expires_at": later.isoformat().replace("+00:00", "Z")}
                response = api.patch(f"{base}/{coupon.pk}", body, format="json")
            elif index == 2:
                body = {"note": f"note {coupon.pk}"}
                response = api.patch(f"{base}/{coupon.pk}", body, format="json")
            else:
                response = api.delete(f"{base}/{coupon.pk}")
            statuses.append(response.status_code)
        return statuses

    results = race(4, work)

    assert results[0] == Status.SUCCEEDED
    assert Counter(results[1]) == Counter({200: len(patched_later)})
    assert Counter(results[2]) == Counter({200: len(noted)})
    assert Counter(results[3]) == Counter({204: len(deleted)})
    rows = {c.pk: c for c in Coupon.objects.filter(store=key.store)}
    extended = events("extend_expiry")
    archives = {e[1]: e[0] for e in events_of("archive")}
    for coupon in patched_later:
        assert rows[coupon.pk].expires_at == later  # never shortened
    for coupon in noted:
        assert rows[coupon.pk].note == f"note {coupon.pk}"
        assert rows[coupon.pk].expires_at == target
    for coupon in deleted:
        row = rows[coupon.pk]
        assert row.archived_at is not None
        assert row.enabled is False
        # Extended before it was archived, or not at all: never after.
        for event_id, _ in extended.get(coupon.pk, []):
            assert event_id < archives[coupon.pk]
        assert row.expires_at == (target if coupon.pk in extended else old)
    others = set(rows) - {c.pk for c in (*patched_later, *noted, *deleted)}
    assert {rows[pk].expires_at for pk in others} == {target}
    # One event per row the job changed, each from the old expiry.
    assert all(len(found) == 1 for found in extended.values())
    assert all(
        changes == {"expires_at": [old.isoformat(), target.isoformat()]}
        for found in extended.values()
        for _, changes in found
    )
    job.refresh_from_db()
    assert job.result["changed"] == len(extended)
    assert set(extended) >= {c.pk for c in noted} | others


def events_of(action: str) -> list[tuple[int, int]]:
    return list(AuditEvent.objects.filter(action=action).values_list("id", "coupon_id"))


def test_disable_racing_redemptions_and_re_enables(key):
    coupons = [CouponFactory(store=key.store, code=f"RACE{i}") for i in range(COUPONS)]
    job = bulk_job(key, bulk.BulkAction(action=bulk.DISABLE))
    redeemed = coupons[::4][::-1]
    re_enabled = coupons[1::4][::-1]

    def work(index: int):
        if index == 0:
            return job_services.job_run(job_id=job.pk).status
        api = paynow_client(key)
        base = f"/v1/stores/{key.store_id}"
        statuses = []
        if index == 1:
            for coupon in redeemed:
                body = {"code": coupon.code, "order_value": 1000}
                response = api.post(f"{base}/redemptions", body, format="json")
                statuses.append(response.status_code)
        else:
            for coupon in re_enabled:
                url = f"{base}/coupons/{coupon.pk}"
                response = api.patch(url, {"enabled": True}, format="json")
                statuses.append(response.status_code)
        return statuses

    results = race(3, work)

    assert results[0] == Status.SUCCEEDED
    assert set(results[1]) <= {200, 409}  # 409: disabled by then
    assert Counter(results[2]) == Counter({200: len(re_enabled)})
    for coupon in redeemed:
        row = Coupon.objects.get(pk=coupon.pk)
        assert row.redeemed_count == Redemption.objects.filter(coupon=coupon).count()
    assert (
        sum(Coupon.objects.values_list("redeemed_count", flat=True))
        == Counter(results[1])[200]
    )
    disabled = events("disable")
    assert all(len(found) == 1 for found in disabled.values())
    job.refresh_from_db()
    assert job.result["changed"] == len(disabled)
    # Every coupon not re-enabled by the API after its batch is disabled; a
    # re-enabled one is enabled only if the API's PATCH came after the job's.
    enabled = set(
        Coupon.objects.filter(store=key.store, enabled=True).values_list(
            "pk", flat=True
        )
    )
    assert enabled <= {c.pk for c in re_enabled}
    assert set(disabled) >= {c.pk for c in coupons} - {c.pk for c in re_enabled}
    updates = {
        coupon_id
        for coupon_id, changes in AuditEvent.objects.filter(
            action="update"
        ).values_list("coupon_id", "changes")
        if changes.get("enabled") == [False, True]
    }
    assert enabled == updates
