"""Benchmark: a bulk action on a filtered set of coupons (``coupons.bulk``).

A store with N coupons (a series' generated codes, made customers' coupons: not
pooled, expiring tomorrow). Then, timed: the dry run's two exact counts, a disable of
all N (batches of ``--batch``: lock, ``UPDATE ... RETURNING``, one audit event per
row), the same disable again (changes nothing), an enable, an extension; and, as the
floor, one plain ``UPDATE`` of the same rows without batches, locks or events.

It WIPES the ledger tables of the database it runs on: give it its own database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/couponhub_<tag> \\
        .venv/bin/python bench/bulk_actions.py [--count 200000] [--batch 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from core.actors import SYSTEM  # noqa: E402
from coupons import bulk  # noqa: E402
from series import pool, services  # noqa: E402
from stores.services import store_create  # noqa: E402


def _wipe() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE audit_auditevent, coupons_redemption, assignments_assignment, "
            "coupons_coupon, series_series, customers_customer, jobs_job, "
            "stores_store CASCADE"
        )


def _setup(count: int):
    store = store_create(name="Bulk bench", code="bulkbench")
    series = services.series_create(
        store=store,
        description="bulk",
        discount_type="ABS",
        discount_value=5,
        alpha_numeric=True,
        random_code_length=10,
        code_prefix="BLK",
    )
    have = pool.pool_size(series)
    if count > have:
        pool.series_generate_codes(series=series, count=count - have)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE coupons_coupon SET pooled = false, expires_at = %s "
            "WHERE store_id = %s",
            [timezone.now() + timedelta(days=1), store.pk],
        )
        cursor.execute("ANALYZE coupons_coupon")
    return store


def _timed(label: str, fn) -> float:
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    print(f"{label:<28} {seconds:8.2f} s  {result}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=bulk.BATCH)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    _wipe()
    store = _setup(args.count)
    coupons = bulk.CouponFilter(store_id=store.pk)
    disable = bulk.BulkAction(action=bulk.DISABLE)
    enable = bulk.BulkAction(action=bulk.ENABLE)
    extend = bulk.BulkAction(
        action=bulk.EXTEND, expires_at=timezone.now() + timedelta(days=30)
    )

    def run(action):
        return lambda: bulk.bulk_apply(coupons, action, actor=SYSTEM, size=args.batch)

    print(f"{args.count:,} coupons, batches of {args.batch:,}")
    _timed("dry run (two counts)", lambda: bulk.bulk_counts(coupons, disable))
    spent = _timed("disable", run(disable))
    _timed("disable again", run(disable))
    _timed("enable", run(enable))
    _timed("extend_expiry", run(extend))

    def floor():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE coupons_coupon SET enabled = false WHERE store_id = %s "
                "AND enabled",
                [store.pk],
            )
            return cursor.rowcount

    floor_seconds = _timed("floor: one plain UPDATE", floor)
    print(
        f"disable: {args.count / spent:,.0f} rows/s, "
        f"{spent / floor_seconds:.1f}x the plain UPDATE"
    )


if __name__ == "__main__":
    main()
