"""The bulk actions read through indexes (PostgreSQL): the dry run's counts and each
batch's SELECT ... FOR UPDATE, for every filter the admin's bulk page carries, never
scan the coupons table sequentially (plans taken with ``enable_seqscan`` off, as
tests/core/test_admin_plans.py does)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.actors import SYSTEM
from coupons import bulk
from coupons.models import Coupon
from tests.factories import SeriesFactory, StoreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def explain(sql: str) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture
def shop():
    store, other = StoreFactory(), StoreFactory()
    series = SeriesFactory(store=store)
    now = timezone.now()
    Coupon.objects.bulk_create(
        Coupon(
            id=10**15 + n,
            store=store if n % 10 else other,
            code=f"PLAN{n:06d}",
            enabled=n % 7 != 0,
            origin="generated" if n % 3 else "manual",
            series=series if n % 3 else None,
            discount_type="amount",
            expires_at=now + timedelta(days=1),
        )
        for n in range(6000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE coupons_coupon")
    return store, series


FILTERS = {
    "store": {},
    "series": {"series": True},
    "enabled=no": {"enabled": False},
    "enabled=yes": {"enabled": True},
    "origin=manual": {"origin": "manual"},
    "discount type": {"discount_type": "amount"},
    "not archived": {"archived": False},
    "search": {"search": "plan000123"},
}


@pytest.mark.parametrize("action", bulk.WRITES)
def test_counts_and_batches_read_through_indexes(shop, action):
    """Every filter of the page, each in a savepoint rolled back after it (one
    6,000-coupon table per action rather than per filter)."""
    store, series = shop
    problems = []
    for name, given in FILTERS.items():
        values = dict(given)
        if values.pop("series", None):
            values["series_id"] = series.pk
        coupons = bulk.CouponFilter(store_id=store.pk, **values)
        later = timezone.now() + timedelta(days=30)
        chosen = bulk.BulkAction(action=action, expires_at=later)

        with transaction.atomic():
            with CaptureQueriesContext(connection) as queries:
                bulk.bulk_counts(coupons, chosen)
                bulk.bulk_apply(coupons, chosen, actor=SYSTEM, size=500)
            selects = [
                q["sql"]
                for q in queries.captured_queries
                if q["sql"].startswith("SELECT") and "coupons_coupon" in q["sql"]
            ]
            if not any("FOR UPDATE" in sql for sql in selects):
                problems.append(f"{name}: no batch locked its rows")
            for sql in selects:
                plan = explain(sql)
                if "Seq Scan on coupons_coupon" in plan:
                    problems.append(f"{name}: {sql}\n{plan}")
            transaction.set_rollback(True)

    assert problems == [], "\n\n".join(problems)
