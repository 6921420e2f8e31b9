"""A code-generation job killed mid-way and retried ends with exactly the codes asked
for: no duplicates, no gaps, and the finished batches are kept."""

from __future__ import annotations

import pytest

from coupons.models import Coupon
from jobs import services as jobs
from jobs.models import Status
from series import pool, services
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_a_killed_generation_job_resumes_to_the_exact_count(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.JOBS_RUN_INLINE = True
    settings.CELERY_BROKER_URL = ""
    settings.SERIES_POOL_TARGET = 0
    store = StoreFactory()
    series = services.series_create(
        store=store,
        description="Interrupted",
        discount_type="ABS",
        discount_value=5,
        random_code_length=10,
    )
    monkeypatch.setitem(pool.series_generate_codes.__kwdefaults__, "batch_size", 10)
    real_fill = pool.fill
    calls = {"n": 0}

    def dies_on_the_third_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise ConnectionError("worker killed")
        return real_fill(*args, **kwargs)

    monkeypatch.setattr(pool, "fill", dies_on_the_third_batch)
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.job_enqueue(
            kind="generate_codes", params={"series_id": series.id, "count": 50}
        )
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert job.error == "ConnectionError: worker killed"
    assert job.progress_done == 20
    pooled = Coupon.objects.filter(series=series, pooled=True)
    assert pooled.count() == 20

    with django_capture_on_commit_callbacks(execute=True):
        jobs.job_retry(job=job)
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED
    assert job.result["generated"] == 50
    codes = list(pooled.values_list("code", flat=True))
    assert len(codes) == 50
    assert len({code.upper() for code in codes}) == 50
