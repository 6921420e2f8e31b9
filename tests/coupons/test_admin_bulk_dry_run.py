"""The bulk page's dry run never counts a whole store (issue 22 item 5): exact up to
the cap, above it "more than" the cap and the planner's estimate on PostgreSQL; the
job started from it counts exactly and its total says how many."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coupons import bulk
from coupons.models import Coupon
from jobs.models import Job, Status
from tests.factories import CouponFactory, SeriesFactory, StoreFactory

pytestmark = pytest.mark.django_db

BULK = reverse("admin:coupons_coupon_bulk")
CAP = 3


@pytest.fixture
def shop(monkeypatch, settings, tmp_path):
    settings.JOBS_RUN_INLINE = True
    settings.CELERY_BROKER_URL = ""
    settings.EXPORT_DIR = tmp_path
    monkeypatch.setattr(bulk, "DRY_RUN_CAP", CAP)
    store = StoreFactory(code="shop")
    series = SeriesFactory(store=store)
    on = [CouponFactory(store=store, series=series) for _ in range(5)]
    off = [CouponFactory(store=store, enabled=False) for _ in range(2)]
    return {"store": store, "series": series, "on": on, "off": off}


def url(shop, **params) -> str:
    values = {"store__id__exact": shop["store"].pk, **params}
    return BULK + "?" + "&".join(f"{k}={v}" for k, v in values.items())


def dry_run(client, address: str, action: str):
    with CaptureQueriesContext(connection) as captured:
        response = client.post(address, {"action": action, "format": "csv"})
    assert response.status_code == 200
    counts = [
        q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper()
    ]
    return response, counts


def test_above_the_cap_the_dry_run_says_more_than_and_reads_cap_plus_one_rows(
    admin_client, shop
):
    response, counts = dry_run(admin_client, url(shop), "disable")

    result = response.context["counts"]
    assert (result.matched, result.to_change) == (CAP + 1, CAP + 1)
    assert (result.matched_more, result.to_change_more) == (True, True)
    content = response.content.decode()
    assert '<strong class="bulk-matched">more than 3</strong>' in content
    assert '<strong class="bulk-to-change">more than 3</strong>' in content
    assert "the job counts exactly when it starts" in content
    assert 'value="Disable more than 3 coupon(s) in the background"' in content
    # Two capped counts, no COUNT of the whole filtered set.
    assert len(counts) == 2
    assert all(f"LIMIT {CAP + 1}" in sql for sql in counts), counts
    if connection.vendor == "postgresql":
        assert result.matched_estimate is not None
        assert result.matched_estimate >= 1
        assert f"(about {result.matched_estimate}, estimated)" in content
    else:
        assert (result.matched_estimate, result.to_change_estimate) == (None, None)
        assert "estimated" not in content


def test_below_the_cap_the_dry_run_is_exact_and_shows_no_estimate(admin_client, shop):
    response, counts = dry_run(admin_client, url(shop), "enable")

    result = response.context["counts"]
    assert (result.matched, result.matched_more) == (CAP + 1, True)
    assert (result.to_change, result.to_change_more) == (2, False)
    assert result.to_change_estimate is None
    content = response.content.decode()
    assert '<strong class="bulk-to-change">2</strong>' in content
    assert 'value="Enable 2 coupon(s) in the background"' in content

    response, counts = dry_run(admin_client, url(shop, enabled__exact=0), "enable")

    result = response.context["counts"]
    assert (result.matched, result.to_change) == (2, 2)
    assert (result.matched_estimate, result.to_change_estimate) == (None, None)
    assert len(counts) == 2
    content = response.content.decode()
    assert '<strong class="bulk-matched">2</strong>' in content
    assert "Counts stop at" not in content


def test_the_job_started_above_the_cap_counts_exactly(
    admin_client, shop, django_capture_on_commit_callbacks
):
    address = url(shop)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            address, {"action": "disable", "format": "csv", "confirm": "yes"}
        )

    assert response.status_code == 302
    job = Job.objects.get()
    assert response.url == reverse("admin:jobs_job_change", args=[job.pk])
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED
    assert (job.progress_done, job.progress_total) == (5, 5)
    assert [str(m) for m in response.wsgi_request._messages] == [
        "Disable: more than 3 of more than 3 coupons, in the background."
    ]
    assert not Coupon.objects.filter(store=shop["store"], enabled=True).exists()
