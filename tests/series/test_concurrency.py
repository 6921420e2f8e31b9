"""Racing issues on PostgreSQL: caps hold exactly, no code is issued twice."""

from __future__ import annotations

import pytest

from assignments.models import Assignment
from coupons.models import Coupon
from series import pool
from series.models import Series
from tests.concurrency import race
from tests.factories import ApiKeyFactory, CustomerFactory, SeriesFactory, StoreFactory
from tests.series.conftest import ISSUE_URL, capillary_client, make_series

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CAP_FULL = {
    "status": False,
    "code": 5001,
    "message": "Maximum number of series has been created",
}
PER_USER = {"status": False, "code": 5002, "message": "max coupon per user exceeded"}


def race_issues(key, bodies: list[dict]) -> list[tuple[int, dict]]:
    def post(index: int) -> tuple[int, dict]:
        response = capillary_client(key).post(ISSUE_URL, bodies[index], format="json")
        return response.status_code, response.json()

    return race(len(bodies), post)


def assert_issued_once(series: Series, results, expected: int) -> None:
    """Exactly ``expected`` codes went out, each once, and the answers agree."""
    series.refresh_from_db()
    rows = list(Assignment.objects.filter(series=series).select_related("coupon"))
    assert series.issued_count == expected
    assert len(rows) == expected
    assert len({row.coupon_id for row in rows}) == expected
    assert len({row.coupon.code.upper() for row in rows}) == expected
    answered = [
        (item["code"], item["couponId"])
        for status, body in results
        if status == 200
        for item in body["coupons"]
    ]
    assert sorted(answered) == sorted(
        (row.coupon.code, row.coupon.compact_id) for row in rows
    )
    assert sum(body["successCount"] for status, body in results if status == 200) == (
        expected
    )
    assert not Coupon.objects.filter(id__in=[r.coupon_id for r in rows], pooled=True)


@pytest.mark.parametrize("pool", ["stocked", "dry"])
def test_32_racing_issues_of_10_against_a_cap_of_100_issue_exactly_100(pool):
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    customers = CustomerFactory.create_batch(32, store=store)
    if pool == "stocked":
        series = make_series(store, max_create=100)  # 100 pooled codes
    else:
        series = SeriesFactory(store=store, max_create=100, random_code_length=10)
    bodies = [
        {"seriesId": series.id, "count": 10, "customer": {"id": c.id}}
        for c in customers
    ]

    results = race_issues(key, bodies)

    assert_issued_once(series, results, 100)
    for status, body in results:
        if status == 400:
            assert body == {"errors": [CAP_FULL]}
        else:
            assert status == 200
            assert body["totalCount"] == 10
            assert body["errors"] == ([] if body["successCount"] == 10 else [CAP_FULL])
    # Each grant is min(10, what is left), and what is left stays a multiple of 10.
    assert sorted(status for status, _ in results) == [200] * 10 + [400] * 22


def test_racing_issues_that_straddle_the_cap_end_in_one_partial_grant():
    # 16 issues of 7 against a cap of 100: each reads the counter without the
    # series lock and its last UPDATE decides; a stale read (or a pool emptied by
    # claims in flight) is redone under the lock. As if one after another: 14 full
    # grants (98), one partial grant of the 2 left, one refusal.
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    customers = CustomerFactory.create_batch(16, store=store)
    series = make_series(store, max_create=100)  # 100 pooled codes
    bodies = [
        {"seriesId": series.id, "count": 7, "customer": {"id": c.id}} for c in customers
    ]

    results = race_issues(key, bodies)

    assert_issued_once(series, results, 100)
    granted = sorted(
        (body["successCount"], body["errors"])
        for status, body in results
        if status == 200
    )
    assert granted == [(2, [CAP_FULL])] + [(7, [])] * 14
    assert [body for status, body in results if status != 200] == [
        {"errors": [CAP_FULL]}
    ]


def test_one_customer_racing_two_series_with_a_per_customer_cap_each():
    # The customer row is the lock of the per-customer count: 10 racing issues
    # of one customer over two series with a cap of 2 per customer each.
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    customer = CustomerFactory(store=store)
    both = [make_series(store, max_vouchers_per_user=2) for _ in range(2)]
    bodies = [
        {"seriesId": both[i % 2].id, "count": 1, "customer": {"id": customer.id}}
        for i in range(10)
    ]

    results = race_issues(key, bodies)

    for series in both:
        assert_issued_once(
            series,
            [
                r
                for r, b in zip(results, bodies, strict=True)
                if b["seriesId"] == series.id
            ],
            2,
        )
    assert sorted(status for status, _ in results) == [200] * 4 + [400] * 6


@pytest.mark.parametrize("count", [1, 2])
def test_a_per_customer_cap_of_3_holds_under_10_racing_calls(count):
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    customer = CustomerFactory(store=store)
    series = make_series(store, max_vouchers_per_user=3)
    bodies = [
        {"seriesId": series.id, "count": count, "customer": {"id": customer.id}}
    ] * 10

    results = race_issues(key, bodies)

    assert_issued_once(series, results, 3)
    assert Assignment.objects.filter(customer=customer).count() == 3
    refused = [body for status, body in results if status == 400]
    assert refused == [{"errors": [PER_USER]}] * len(refused)
    assert len(refused) == (7 if count == 1 else 8)


def test_one_per_customer_holds_under_8_racing_calls():
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    customer = CustomerFactory(store=store)
    series = make_series(store, is_multiple_vouchers_per_user_allowed=False)
    bodies = [{"seriesId": series.id, "count": 1, "customer": {"id": customer.id}}] * 8

    results = race_issues(key, bodies)

    assert_issued_once(series, results, 1)
    assert sorted(status for status, _ in results) == [200] + [400] * 7
    for status, body in results:
        if status == 400:
            assert body["errors"][0]["code"] == 709


def test_a_generic_series_cap_holds_under_racing_calls():
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    customers = CustomerFactory.create_batch(10, store=store)
    series = make_series(store, generic_code="RACE5", max_create=5)
    bodies = [
        {"seriesId": series.id, "count": 1, "customer": {"id": c.id}} for c in customers
    ]

    results = race_issues(key, bodies)

    series.refresh_from_db()
    assert series.issued_count == 5
    assert Assignment.objects.filter(series=series).count() == 5
    assert Coupon.objects.filter(series=series).count() == 1
    assert sorted(status for status, _ in results) == [200] * 5 + [400] * 5


def test_racing_top_ups_fill_the_pool_once(settings):
    settings.SERIES_POOL_TARGET = 50
    settings.SERIES_POOL_LOW = 10
    store = StoreFactory()
    series = SeriesFactory(store=store, random_code_length=10)

    added = race(6, lambda _: pool.series_pool_top_up(series_id=series.id))

    pooled = Coupon.objects.filter(series=series, pooled=True).count()
    assert pooled == 50
    assert sorted(added) == [0] * 5 + [50]
