"""Every kind of job the admin starts (generate, import, issue, export, bulk action)
reports its rows done of its rows to do, so its page shows progress, rate and end;
and each can be cancelled: one cancelled as soon as a worker claimed it stops at its
first progress write, before its first batch, having written nothing (issue 21 item
4). The handlers are the real ones, run as a worker runs them (``job_run``)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.db import connection
from django.utils import timezone

from assignments.models import Assignment
from coupons import bulk
from coupons.models import Coupon
from customers.models import Customer
from jobs import services
from jobs.models import Job, Status
from series import pool
from tests.factories import CouponFactory, CustomerFactory, StoreFactory
from tests.series.conftest import make_series

pytestmark = pytest.mark.django_db


@dataclass
class Case:
    job: Job
    rows: int  # what the job has to do
    written: Callable[[], int]  # what it did, read from the database


def _generate(store, tmp_path, settings) -> Case:
    series = make_series(store)
    before = pool.pool_size(series)
    job = Job.objects.create(
        kind="generate_codes", store=store, params={"series_id": series.id, "count": 7}
    )
    return Case(job, 7, lambda: pool.pool_size(series) - before)


def _import(store, tmp_path, settings) -> Case:
    path = tmp_path / "customers.csv"
    path.write_text("email,first_name\na@example.com,A\nb@example.com,B\n")
    job = Job.objects.create(
        kind="import_customers",
        store=store,
        params={"store_id": store.id, "path": str(path)},
    )
    return Case(job, 2, lambda: Customer.objects.filter(store=store).count())


def _issue(store, tmp_path, settings) -> Case:
    series = make_series(store)
    people = CustomerFactory.create_batch(3, store=store)
    path = tmp_path / "list.csv"
    path.write_text("mobile\n" + "".join(f"{p.mobile}\n" for p in people))
    job = Job.objects.create(
        kind="issue_to_customers",
        store=store,
        params={"series_id": str(series.id), "path": str(path)},
    )
    return Case(job, 3, lambda: Assignment.objects.filter(series=series).count())


def _export(store, tmp_path, settings) -> Case:
    settings.EXPORT_DIR = tmp_path
    CouponFactory.create_batch(4, store=store)
    job = Job.objects.create(
        kind="export_coupons", store=store, params={"store_id": store.id}
    )
    return Case(job, 4, lambda: _rows_exported(tmp_path))


def _rows_exported(folder) -> int:
    files = list(folder.glob("coupons-*.csv"))
    return sum(len(f.read_text().splitlines()) - 1 for f in files)


def _bulk(store, tmp_path, settings) -> Case:
    CouponFactory.create_batch(5, store=store)
    params = {
        "filter": bulk.CouponFilter(store_id=store.pk).params(),
        "action": bulk.DISABLE,
    }
    job = Job.objects.create(kind="bulk_coupons", store=store, params=params)
    return Case(
        job, 5, lambda: Coupon.objects.filter(store=store, enabled=False).count()
    )


KINDS = {
    "generate_codes": _generate,
    "import_customers": _import,
    "issue_to_customers": _issue,
    "export_coupons": _export,
    "bulk_coupons": _bulk,
}


@pytest.fixture
def case(request, tmp_path, settings) -> Case:
    settings.SERIES_POOL_TARGET = 20
    settings.SERIES_POOL_LOW = 5
    return KINDS[request.param](StoreFactory(), tmp_path, settings)


@contextmanager
def cancelled_once_claimed(job: Job):
    """Staff cancel the job right after a worker's claim (its UPDATE setting the
    status to running), before its handler writes any progress."""
    state = {"claimed": False, "inside": False}

    def wrapper(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if (
            not state["inside"]
            and not state["claimed"]
            and sql.startswith('UPDATE "jobs_job"')
            and '"attempts" =' in sql
        ):
            state["claimed"] = state["inside"] = True
            try:
                services.job_cancel(job=Job.objects.get(pk=job.pk))
            finally:
                state["inside"] = False
        return result

    with connection.execute_wrapper(wrapper):
        yield
    assert state["claimed"]


@pytest.mark.parametrize("case", sorted(KINDS), indirect=True)
def test_every_kind_reports_its_rows_done_of_its_total(case):
    job = services.job_run(job_id=case.job.pk)

    assert job.status == Status.SUCCEEDED, job.error
    assert (job.progress_done, job.progress_total) == (case.rows, case.rows)
    assert case.written() == case.rows
    assert job.heartbeat_at >= job.started_at
    assert job.run_started_done == 0


@pytest.mark.parametrize("case", sorted(KINDS), indirect=True)
def test_every_kind_cancelled_once_claimed_stops_before_its_first_batch(case):
    with cancelled_once_claimed(case.job):
        job = services.job_run(job_id=case.job.pk)

    assert job.status == Status.CANCELLED
    assert job.result == {"message": f"Cancelled after 0 of {case.rows} rows."}
    assert (job.progress_done, job.progress_total) == (0, case.rows)
    assert job.finished_at <= timezone.now()
    assert case.written() == 0
