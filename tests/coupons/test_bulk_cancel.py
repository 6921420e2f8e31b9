"""A bulk job cancelled mid-way stops between batches: every batch committed is
whole (its rows and their events), nothing after it changed, and a new run does the
rest without a second event for any row."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from core.actors import SYSTEM
from coupons import bulk
from coupons.models import Coupon
from jobs import services as job_services
from jobs.models import Job, Status
from tests.factories import CouponFactory, StoreFactory
from tests.interleave import Holder, start, wait_for_waiters

BATCH = 5


class Stop(Exception):
    pass


def disabled_and_events(store) -> tuple[list[int], list[int]]:
    disabled = list(
        Coupon.objects.filter(store=store, enabled=False)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    events = list(
        AuditEvent.objects.filter(action="disable")
        .order_by("coupon_id")
        .values_list("coupon_id", flat=True)
    )
    return disabled, events


@pytest.mark.django_db
def test_a_run_stopped_by_its_progress_leaves_whole_batches():
    store = StoreFactory()
    coupons = [CouponFactory(store=store) for _ in range(12)]
    coupons.sort(key=lambda c: c.pk)
    seen: list[int] = []

    def progress(changed: int) -> None:
        seen.append(changed)
        if len(seen) == 2:
            raise Stop  # as a job's progress write raises when it was cancelled

    action = bulk.BulkAction(action=bulk.DISABLE)
    coupon_filter = bulk.CouponFilter(store_id=store.pk)
    with pytest.raises(Stop):
        bulk.bulk_apply(
            coupon_filter, action, actor=SYSTEM, size=BATCH, progress=progress
        )

    disabled, events = disabled_and_events(store)
    assert disabled == events == [c.pk for c in coupons[:10]]

    outcome = bulk.bulk_apply(coupon_filter, action, actor=SYSTEM, size=BATCH)

    assert outcome == bulk.Outcome(changed=2, batches=1)
    disabled, events = disabled_and_events(store)
    assert disabled == events == [c.pk for c in coupons]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_cancelled_job_stops_after_the_batch_it_is_in():
    store = StoreFactory()
    coupons = sorted(
        (CouponFactory(store=store) for _ in range(20)), key=lambda c: c.pk
    )
    coupon_filter = bulk.CouponFilter(store_id=store.pk)
    params = {"filter": coupon_filter.params(), "action": bulk.DISABLE}
    job = Job.objects.create(
        kind="bulk_coupons", store=store, params={**params, "batch": BATCH}
    )

    with Holder() as holder:
        # The second batch (coupons 5-9) waits for coupon 7.
        holder.run(
            "SELECT id FROM coupons_coupon WHERE id = %s FOR UPDATE", [coupons[7].pk]
        )
        running = start(lambda: job_services.job_run(job_id=job.pk))
        wait_for_waiters(1)
        job_services.job_cancel(job=job)
        holder.commit()
        ran = running()

    assert ran.status == Status.CANCELLED
    assert (ran.progress_done, ran.progress_total) == (10, 20)
    disabled, events = disabled_and_events(store)
    assert disabled == events == [c.pk for c in coupons[:10]]

    again = Job.objects.create(kind="bulk_coupons", store=store, params=params)
    rerun = job_services.job_run(job_id=again.pk)

    assert rerun.status == Status.SUCCEEDED
    assert rerun.result["changed"] == 10
    disabled, events = disabled_and_events(store)
    assert disabled == events == [c.pk for c in coupons]
