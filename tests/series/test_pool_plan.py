"""PostgreSQL reads a series' pool through the pool index, whatever its statistics.

Once a pool is most of the coupons table, the planner believes pooled codes are
everywhere and, for ``WHERE series_id = X AND pooled ORDER BY id LIMIT n``, walks the
primary key from the oldest coupon; the pooled codes sit together at the ids they
were made at, so a claim read the whole table (the bench: ~1 s an issue). The claim
and the pool counts are written so that only the pool index gives their order
(``series.pool.in_pool``); here the planner is left only that choice (no
sequential scans, bitmaps or sorts) after statistics that make the pool most of the
table.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection, transaction
from django.utils import timezone

from coupons.models import Coupon
from series import pool
from series.issue import store as issue_store
from tests.factories import CouponFactory, CustomerFactory, SeriesFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

POOL_INDEX = "coupon_series_pool_idx"


@pytest.fixture
def series(store):
    # Older coupons first (lower ids), then a pool that is most of the table.
    Coupon.objects.bulk_create(
        CouponFactory.build(store=store, code=f"OLD{n:04d}") for n in range(300)
    )
    series = SeriesFactory(store=store)
    pool.series_generate_codes(series=series, count=3000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE coupons_coupon")
    return series


def _plan(statement: str, params: list) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute("EXPLAIN " + statement, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_a_claim_reads_the_pool_index_not_the_primary_key(store, series):
    customer = CustomerFactory(store=store)
    statement, params, _loaders = issue_store.claim_pooled_codes(
        store, series.id, 500, customer.id
    )

    plan = _plan(statement, params)

    # The claim's scan and the pool count's: both through the pool index (the
    # primary key serves only the UPDATE of the claimed ids).
    assert plan.count(POOL_INDEX) == 2, plan


def test_the_top_up_count_reads_the_pool_index(store, series):
    where, params = pool.in_pool(series.id)

    plan = _plan(
        f"SELECT COUNT(*) FROM (SELECT 1 FROM coupons_coupon WHERE {where} "
        "ORDER BY series_id, id LIMIT %s) AS pool",
        [*params, 1000],
    )

    assert POOL_INDEX in plan, plan
    assert "coupons_coupon_pkey" not in plan, plan


def test_the_counts_are_what_is_pooled(store, series):
    assert pool.pool_size(series) == 3000
    assert pool.pool_size(series, at_most=1000) == 1000
    assert pool.pool_size(series, at_most=5000) == 3000


def _analyze(statement: str, params: list) -> str:
    """The statement run under ``_plan``'s choices (a claim claims: the test's
    transaction is rolled back at its end)."""
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + statement, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_retired_codes_leave_the_pool_index_so_a_claim_never_reads_past_them(
    store, series
):
    # Staff retired the oldest 2,900 codes, the ones a claim reaches first.
    oldest = Coupon.objects.filter(series=series).order_by("id")[:2900]
    retired = list(oldest.values_list("id", flat=True))
    pool.series_pool_retire(series=series, coupon_ids=retired[:1500])
    pool.series_pool_retire(series=series, coupon_ids=retired[1500:], archive=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE coupons_coupon")
    customer = CustomerFactory(store=store)
    statement, params, _loaders = issue_store.claim_pooled_codes(
        store, series.id, 50, customer.id
    )

    plan = _analyze(statement, params)

    assert plan.count(POOL_INDEX) == 2, plan
    # Nothing read and thrown away: the index holds only issuable codes.
    assert "Rows Removed by Filter" not in plan, plan
    assert pool.pool_size(series) == 50


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"type": "generated"},
        {"type": "manual"},
        {"status": "active"},
        {"status": "inactive"},
    ],
)
def test_the_paynow_list_does_not_walk_a_pool_made_after_the_coupons(
    store, series, query
):
    from coupons import selectors
    from coupons.api.paynow import CouponFilter

    # The pool of ``series`` (3,000 codes) is newer than the 300 coupons, as a
    # top-up after them makes it: a newest-first list must not read through it,
    # nor through the part of it staff retired (archived and disabled, as the
    # admin's index of disabled rows holds them).
    retired = Coupon.objects.filter(series=series, pooled=True).values("id")[:1000]
    Coupon.objects.filter(id__in=retired).update(
        enabled=False, archived_at=timezone.now()
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE coupons_coupon")
    coupons = CouponFilter(
        query, queryset=selectors.coupon_queryset(store=store)
    ).qs.order_by("-id")[:100]
    statement, params = coupons.query.sql_with_params()

    plan = _analyze(statement, list(params))

    # Nothing of the pool's 4,000 codes, live or retired, is read and thrown away.
    # For type=generated no index holds only the visible generated coupons: the scan
    # of the visible rows' index may read the store's 300 (manual) coupons, no more.
    removed = sum(map(int, re.findall(r"Rows Removed by Filter: (\d+)", plan)))
    assert removed <= (300 if query == {"type": "generated"} else 0), plan
    assert "coupon_store_" in plan, plan
