"""The bulk issue racing API issues (``POST /v2/coupon/issue/multiple``) on the same
series, on PostgreSQL: never above a cap, never a code handed out twice; and a real
command process killed in the middle of a batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from assignments.models import Assignment
from audit.models import AuditEvent
from coupons.models import Coupon
from series import bulk_issue
from series.models import Series
from tests.concurrency import race
from tests.factories import ApiKeyFactory, CustomerFactory, StoreFactory
from tests.interleave import Holder, wait_for_waiters
from tests.jobs.helpers import database_url
from tests.series.conftest import ISSUE_URL, capillary_client, make_series

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def small_pools(settings):
    # Pools run dry during the race: both paths refill them under the series lock.
    settings.SERIES_POOL_TARGET = 40
    settings.SERIES_POOL_LOW = 10


def write_list(tmp_path, customers):
    path = tmp_path / "list.csv"
    path.write_text("mobile\n" + "".join(f"{c.mobile}\n" for c in customers))
    return path


def api_issues(
    key, series: Series, customer, *, times: int, count: int
) -> list[tuple[int, dict]]:
    """``times`` issues of ``count`` codes to ``customer``, one after the other."""
    client = capillary_client(key)
    results = []
    for _ in range(times):
        response = client.post(
            ISSUE_URL,
            {
                "seriesId": series.id,
                "count": count,
                "customer": {"id": customer.id},
            },
            format="json",
        )
        results.append((response.status_code, response.json()))
    return results


def assert_each_code_once(series: Series) -> list[Assignment]:
    series.refresh_from_db()
    rows = list(Assignment.objects.filter(series=series).select_related("coupon"))
    assert series.issued_count == len(rows)
    assert len({row.coupon_id for row in rows}) == len(rows)
    assert len({row.coupon.code.upper() for row in rows}) == len(rows)
    assert not Coupon.objects.filter(id__in=[r.coupon_id for r in rows], pooled=True)
    for row in rows:
        assert row.coupon.usable_by_customer_id == row.customer_id
    assert AuditEvent.objects.filter(series_id=series.id, action="issue").count() == (
        len(rows)
    )
    return rows


def test_bulk_and_api_issues_stop_exactly_at_the_series_cap(tmp_path):
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    listed = CustomerFactory.create_batch(100, store=store)
    shoppers = CustomerFactory.create_batch(6, store=store)
    series = make_series(store, max_create=100, max_vouchers_per_user=2)
    path = write_list(tmp_path, listed)

    def work(index: int):
        if index == 0:
            return bulk_issue.issue_to_customers(
                series=series, path=path, batch_size=10
            )
        # Each API thread: its own shopper, and one of the listed customers.
        shopper, listed_one = shoppers[index - 1], listed[index - 1]
        return api_issues(key, series, shopper, times=4, count=2) + api_issues(
            key, series, listed_one, times=1, count=2
        )

    bulk, *api = race(7, work)

    rows = assert_each_code_once(series)
    # Demand: 100 listed, 6 shoppers x 2 (their cap), 6 listed asking 2 more.
    assert len(rows) == 100
    api_issued = sum(
        body["successCount"]
        for results in api
        for status, body in results
        if status == 200
    )
    assert bulk.issued + api_issued == 100
    held: dict[int, int] = {}
    for row in rows:
        held[row.customer_id] = held.get(row.customer_id, 0) + 1
    assert max(held.values()) <= 2
    reasons = {problem.reason.split(":")[0] for problem in bulk.problems}
    assert reasons <= {"out_of_stock", "per_customer_limit"}
    assert bulk.issued + len(bulk.problems) == 100
    for results in api:
        for status, body in results:
            assert status in (200, 400), body


def test_two_runs_of_one_list_beside_api_issues_issue_each_customer_once(tmp_path):
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    listed = CustomerFactory.create_batch(80, store=store)
    shoppers = CustomerFactory.create_batch(4, store=store)
    series = make_series(store)
    path = write_list(tmp_path, listed)

    def work(index: int):
        if index < 2:
            return bulk_issue.issue_to_customers(series=series, path=path, batch_size=7)
        return api_issues(key, series, shoppers[index - 2], times=5, count=3)

    first, second, *api = race(6, work)

    rows = assert_each_code_once(series)
    assert first.issued + second.issued == 80
    assert first.already_done + second.already_done == 80
    assert first.problems == second.problems == []
    listed_ids = {c.id for c in listed}
    from_list = [row for row in rows if row.customer_id in listed_ids]
    assert len(from_list) == len({row.customer_id for row in from_list}) == 80
    assert len(rows) == 80 + 4 * 5 * 3
    assert all(status == 200 for results in api for status, _ in results)


def test_a_command_killed_in_the_middle_of_a_batch_leaves_whole_batches(tmp_path):
    """A real process, SIGKILLed while its second batch holds customers' locks (it
    waits for the last one): the first batch stays whole, nothing of the second
    is written, and a rerun issues the rest once."""
    store = StoreFactory()
    listed = CustomerFactory.create_batch(30, store=store)  # ids in list order
    series = make_series(store)
    pooled = Coupon.objects.filter(series=series, pooled=True).count()
    path = write_list(tmp_path, listed)

    with Holder() as holder:
        holder.run(
            "SELECT 1 FROM customers_customer WHERE id = %s FOR UPDATE",
            [listed[19].pk],
        )
        command = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "issue_to_customers",
                "--series",
                str(series.pk),
                "--batch",
                "10",
                str(path),
            ],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": database_url()},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_waiters(1, timeout=60)
        finally:
            command.send_signal(signal.SIGKILL)
            command.wait(timeout=30)
        holder.rollback()

    rows = assert_each_code_once(series)
    assert {row.customer_id for row in rows} == {c.id for c in listed[:10]}
    assert Coupon.objects.filter(series=series, pooled=True).count() == pooled - 10

    result = bulk_issue.issue_to_customers(series=series, path=path, batch_size=10)

    assert (result.issued, result.already_done, result.problems) == (20, 10, [])
    rows = assert_each_code_once(series)
    assert sorted(row.customer_id for row in rows) == sorted(c.id for c in listed)
