"""Background jobs: in-process and through a real Celery worker on Redis."""

from __future__ import annotations

import socket

import pytest
from django.db import connection

from customers.models import Customer
from jobs import services
from jobs.models import Job, Status
from jobs.registry import handler
from tests.factories import CouponFactory, StoreFactory
from tests.jobs.helpers import wait_until_done

CSV = "email,first_name\na@example.com,A\nb@example.com,B\n"

_calls: list[int] = []


@handler("test_flaky")
def flaky(*, job, progress) -> dict:
    """Fails on its first attempt, succeeds on the retry."""
    _calls.append(job.attempts)
    progress(1, 2, force=True)
    if job.attempts == 1:
        raise RuntimeError("disk full")
    return {"ok": True}


@pytest.mark.django_db
def test_import_job_runs_in_process_and_records_the_result(
    tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.JOBS_RUN_INLINE = True
    settings.CELERY_BROKER_URL = ""
    store = StoreFactory()
    path = tmp_path / "c.csv"
    path.write_text(CSV)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.job_enqueue(
            kind="import_customers",
            params={"store_id": store.id, "path": str(path)},
            store=store,
        )
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED
    assert job.result == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    assert (job.progress_done, job.progress_total) == (2, 2)
    assert job.attempts == 1
    assert Customer.objects.filter(store=store).count() == 2


@pytest.mark.django_db
def test_export_job_writes_a_file(
    tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.JOBS_RUN_INLINE = True
    settings.CELERY_BROKER_URL = ""
    settings.EXPORT_DIR = tmp_path
    store = StoreFactory(code="exp")
    CouponFactory.create_batch(3, store=store)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.job_enqueue(
            kind="export_coupons", params={"store_id": store.id}, store=store
        )
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED
    assert job.result["rows"] == 3
    assert len((tmp_path / f"coupons-exp-{job.pk}.csv").read_text().splitlines()) == 4


@pytest.mark.django_db
def test_a_failed_job_says_why_and_a_retry_finishes_it(
    settings, django_capture_on_commit_callbacks
):
    settings.JOBS_RUN_INLINE = True
    settings.CELERY_BROKER_URL = ""
    _calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        job = services.job_enqueue(kind="test_flaky", params={})
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert job.error == "RuntimeError: disk full"
    with django_capture_on_commit_callbacks(execute=True):
        services.job_retry(job=job)
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED
    assert job.attempts == 2
    assert job.error == ""
    assert _calls == [1, 2]
    with pytest.raises(services.DomainError, match="Only a failed job"):
        services.job_retry(job=job)


@pytest.mark.django_db
def test_a_job_is_run_once_even_if_dispatched_twice(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path
    store = StoreFactory()
    job = Job.objects.create(kind="export_coupons", params={"store_id": store.id})
    first = services.job_run(job_id=job.pk)
    second = services.job_run(job_id=job.pk)
    assert first.status == Status.SUCCEEDED
    assert second is None
    job.refresh_from_db()
    assert job.attempts == 1


@pytest.mark.django_db
def test_unknown_kind_is_refused():
    with pytest.raises(services.DomainError, match="No job handler"):
        services.job_enqueue(kind="nope", params={})


# Two threads writing one in-memory SQLite database meet "table is locked" (shared
# cache does not wait); a real database serves the worker thread as production does.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_in_process_thread_when_no_broker(tmp_path, settings):
    settings.JOBS_RUN_INLINE = False
    settings.CELERY_BROKER_URL = ""
    store = StoreFactory()
    path = tmp_path / "c.csv"
    path.write_text(CSV)
    job = services.job_enqueue(
        kind="import_customers", params={"store_id": store.id, "path": str(path)}
    )
    wait_until_done(job)
    assert Customer.objects.filter(store=store).count() == 2


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_job_through_a_real_celery_worker_on_redis(tmp_path, settings):
    if not _redis_up():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    broker = "redis://127.0.0.1:6379/15"
    settings.CELERY_BROKER_URL = broker
    app.conf.broker_url = broker
    app.conf.result_backend = None
    store = StoreFactory()
    path = tmp_path / "c.csv"
    path.write_text(CSV)
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        job = services.job_enqueue(
            kind="import_customers", params={"store_id": store.id, "path": str(path)}
        )
        job = wait_until_done(job)
    connection.close()
    assert job.status == Status.SUCCEEDED, job.error
    assert job.result["created"] == 2
    assert Customer.objects.filter(store=store).count() == 2
