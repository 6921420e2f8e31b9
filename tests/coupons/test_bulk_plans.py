"""The bulk actions read through indexes (PostgreSQL): the dry run's counts and each
batch's SELECT ... FOR UPDATE, for every filter the admin's bulk page carries, never
scan the coupons table sequentially (plans taken with ``enable_seqscan`` off, as
tests/core/test_admin_plans.py does).

The whole store's extension dry run counts the few coupons it would change through
``coupon_store_expiry_idx``, as the planner chooses unprompted (PostgreSQL and
SQLite), not walking the store's coupons for them (issue 22 item 5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.actors import SYSTEM
from coupons import bulk
from coupons.models import Coupon
from tests.factories import SeriesFactory, StoreFactory

pytestmark = pytest.mark.django_db


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


@pytest.mark.postgres
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


def test_the_whole_store_extension_dry_run_counts_through_the_expiry_index(
    admin_client,
):
    """3,000 coupons: a third pooled, a third without an expiry, a third expiring
    in a year but for 12 expiring tomorrow; an extension to 30 days changes those
    12 (an archived one and another store's are not counted)."""
    store, other = StoreFactory(), StoreFactory()
    now = timezone.now()
    soon, late = now + timedelta(days=1), now + timedelta(days=365)
    expiring = [n for n in range(3000) if n % 3 == 2][:12]
    Coupon.objects.bulk_create(
        Coupon(
            id=2 * 10**15 + n,
            store=store,
            code=f"EXP{n:06d}",
            pooled=n % 3 == 0,
            origin="generated" if n % 3 == 0 else "manual",
            expires_at=None if n % 3 != 2 else soon if n in expiring else late,
        )
        for n in range(3000)
    )
    Coupon.objects.bulk_create(
        [
            Coupon(
                id=3 * 10**15,
                store=store,
                code="GONE",
                expires_at=soon,
                archived_at=now,
            ),
            Coupon(id=3 * 10**15 + 1, store=other, code="ELSEWHERE", expires_at=soon),
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE coupons_coupon")
    target = now + timedelta(days=30)

    with CaptureQueriesContext(connection) as captured:
        response = admin_client.post(
            reverse("admin:coupons_coupon_bulk") + f"?store__id__exact={store.pk}",
            {
                "action": "extend_expiry",
                "expires_at_0": target.strftime("%Y-%m-%d"),
                "expires_at_1": target.strftime("%H:%M:%S"),
                "format": "csv",
            },
        )

    assert response.status_code == 200
    counts = response.context["counts"]
    assert (counts.matched, counts.to_change) == (3001, 12)
    [changing] = [
        q["sql"]
        for q in captured.captured_queries
        if "COUNT(" in q["sql"].upper() and "expires_at" in q["sql"]
    ]
    assert "LIMIT 10001" in changing
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN " + changing)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + changing)
        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
    assert "coupon_store_expiry_idx" in plan, plan
    assert "Seq Scan" not in plan, plan
