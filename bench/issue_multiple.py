"""Benchmark: ``POST /v2/coupon/issue/multiple`` with count=1 and count=500.

Each scenario runs twice in the same process, against the same series and pool:

- **API**: the whole stack through Django's test client (URL routing, middleware,
  Capillary Basic auth, DRF parsing, validation and rendering, the service, the
  response's extra reads), as a gunicorn worker would run it, minus the socket;
- **baseline**: the in-process service call ``series.issue.service.series_issue`` alone
  (the same transaction, row locks, pool claim and inserts; no HTTP, no DRF).

Sequential requests give the latency (p50, p95) and single-client throughput; then
``--threads`` clients issue count=1 codes of the same series at once (the worst
case: every issue of a series queues on its row lock) for the aggregate throughput.
The pool is generated beforehand, so generation is not measured here (see
``bench/codegen.py``).

It WIPES the coupon tables of the database it runs on: give it its own database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/couponhub_h_bench \\
        .venv/bin/python bench/issue_multiple.py [--small 300] [--large 20]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")  # in-process: no TLS in front

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from assignments.models import Assignment, Channel  # noqa: E402
from core import flake  # noqa: E402
from core.actors import Actor  # noqa: E402
from customers.models import Customer  # noqa: E402
from customers.refs import CustomerRef  # noqa: E402
from series import pool as pool_services  # noqa: E402
from series import services  # noqa: E402
from series.issue import service as issue_service  # noqa: E402
from series.models import Series  # noqa: E402
from stores.services import api_key_create, outlet_create, store_create  # noqa: E402

URL = "/v2/coupon/issue/multiple"


def _wipe() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE coupons_redemption, assignments_assignment, coupons_coupon, "
            "series_series, customers_customer CASCADE"
        )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _report(name: str, seconds: list[float], count: int) -> dict[str, float]:
    total = sum(seconds)
    row = {
        "p50": statistics.median(seconds) * 1000,
        "p95": _percentile(seconds, 0.95) * 1000,
        "rps": len(seconds) / total,
        "codes": len(seconds) * count / total,
    }
    print(
        f"  {name:<9} p50 {row['p50']:8.2f} ms   p95 {row['p95']:8.2f} ms   "
        f"{row['rps']:8.1f} req/s   {row['codes']:10,.0f} codes/s"
    )
    return row


class Setup:
    def __init__(self, customers: int, pool: int) -> None:
        _wipe()
        self.store = store_create(name="Bench", code=f"bench-{flake.next_id()}")
        outlet_create(store=self.store, code="till_1", name="Till 1")
        issued = api_key_create(
            store=self.store, scopes=["series"], outlet_code="till_1"
        )
        self.api_key = issued.api_key
        digest = hashlib.md5(issued.secret.encode(), usedforsecurity=False).hexdigest()
        raw = f"{self.api_key.key_id}:{digest}".encode()
        self.auth = "Basic " + base64.b64encode(raw).decode()
        self.customers = Customer.objects.bulk_create(
            [
                Customer(store=self.store, first_name="C", mobile=f"91{n:010d}")
                for n in range(customers)
            ]
        )
        self.series = services.series_create(
            store=self.store,
            description="bench",
            discount_type="ABS",
            discount_value=5,
            alpha_numeric=True,
            random_code_length=10,
        )
        pool_services.series_generate_codes(series=self.series, count=pool)

    def body(self, index: int, count: int) -> dict:
        customer = self.customers[index % len(self.customers)]
        return {
            "seriesId": self.series.id,
            "count": count,
            "customer": {"id": customer.id},
        }

    def api_once(self, client: Client, index: int, count: int) -> float:
        started = time.perf_counter()
        response = client.post(
            URL,
            self.body(index, count),
            content_type="application/json",
            HTTP_AUTHORIZATION=self.auth,
        )
        seconds = time.perf_counter() - started
        assert response.status_code == 200, response.content
        assert response.json()["successCount"] == count
        return seconds

    def service_once(self, index: int, count: int) -> float:
        customer = self.customers[index % len(self.customers)]
        started = time.perf_counter()
        outcome = issue_service.series_issue(
            store=self.store,
            series_id=self.series.id,
            customer=CustomerRef.by_id(customer.id),
            count=count,
            actor=Actor.api_key(self.api_key, channel=Channel.CAPILLARY),
        )
        seconds = time.perf_counter() - started
        assert outcome.issued == count
        return seconds


def sequential(setup: Setup, count: int, runs: int) -> tuple[dict, dict]:
    client = Client()
    for index in range(3):  # warm up both paths
        setup.api_once(client, index, count)
        setup.service_once(index, count)
    api = [setup.api_once(client, i, count) for i in range(runs)]
    base = [setup.service_once(i, count) for i in range(runs)]
    print(f"count={count}, {runs} sequential requests each:")
    api_row = _report("API", api, count)
    base_row = _report("baseline", base, count)
    print(
        f"  API / baseline: p50 x{api_row['p50'] / base_row['p50']:.2f}, "
        f"throughput x{api_row['rps'] / base_row['rps']:.2f}"
    )
    return api_row, base_row


def concurrent(setup: Setup, threads: int, per_thread: int, use_api: bool) -> float:
    barrier = threading.Barrier(threads)
    failures: list[BaseException] = []

    def work(worker: int) -> None:
        client = Client()
        try:
            barrier.wait()
            for n in range(per_thread):
                index = worker * per_thread + n
                if use_api:
                    setup.api_once(client, index, 1)
                else:
                    setup.service_once(index, 1)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    if failures:
        raise failures[0]
    return threads * per_thread / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=300, help="count=1 requests")
    parser.add_argument("--large", type=int, default=20, help="count=500 requests")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--per-thread", type=int, default=100)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit(
            "bench/issue_multiple.py needs PostgreSQL: DATABASE_URL=postgres://..."
        )
    call_command("migrate", verbosity=0)
    concurrent_total = 2 * args.threads * args.per_thread
    pool = 2 * (args.small + 3) + 2 * (args.large + 3) * 500 + concurrent_total + 100
    setup = Setup(customers=2000, pool=pool)
    print(
        f"PostgreSQL {connection.cursor().connection.info.server_version}; "
        f"one series, pool of {pool:,} codes generated beforehand"
    )
    sequential(setup, 1, args.small)
    sequential(setup, 500, args.large)
    api_rps = concurrent(setup, args.threads, args.per_thread, use_api=True)
    base_rps = concurrent(setup, args.threads, args.per_thread, use_api=False)
    print(
        f"count=1, {args.threads} threads x {args.per_thread} on one series: "
        f"API {api_rps:,.1f} req/s, baseline {base_rps:,.1f} req/s "
        f"(API / baseline x{api_rps / base_rps:.2f})"
    )
    series = Series.objects.get(pk=setup.series.pk)
    assigned = Assignment.objects.filter(series=series).count()
    assert series.issued_count == assigned, (series.issued_count, assigned)
    print(f"issued {assigned:,} codes in all; issued_count agrees")
    _wipe()


if __name__ == "__main__":
    main()
