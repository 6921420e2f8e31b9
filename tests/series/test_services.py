"""The series services: money and validity rules, code generation, the pool."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import transaction

from core import money
from core.errors import DomainError
from coupons.models import Coupon
from series import codegen, errors, services
from series import pool as series_pool
from series.issue import decide
from series.models import Series
from tests.factories import CouponFactory, StoreFactory
from tests.series.conftest import make_series

pytestmark = pytest.mark.django_db


def pool(series: Series) -> list[Coupon]:
    return list(Coupon.objects.filter(series=series, pooled=True))


# --- money ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        (Decimal("500"), "USD", 50_000),
        (Decimal("12.34"), "EUR", 1234),
        (Decimal("500"), "JPY", 500),
        (Decimal("1.5"), "KWD", 1500),
        (Decimal("0"), "USD", 0),
    ],
)
def test_minor_units(amount, currency, minor):
    assert money.to_minor(amount, currency) == minor


@pytest.mark.parametrize(("amount", "currency"), [("0.5", "JPY"), ("1.001", "USD")])
def test_minor_units_refuse_what_the_currency_cannot_hold(amount, currency):
    with pytest.raises(money.MoneyError, match="decimal places"):
        money.to_minor(Decimal(amount), currency)


def test_percent_is_stored_times_ten():
    assert series_pool.percent_x10(Decimal("12.5")) == 125
    with pytest.raises(ValueError, match="one decimal"):
        series_pool.percent_x10(Decimal("12.25"))


# --- validity -------------------------------------------------------------------------

AT = datetime(2025, 12, 15, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("strategy", "value", "till"),
    [
        ("DAYS", 1, datetime(2025, 12, 16, 23, 59, 59, tzinfo=UTC)),
        ("MONTHS_END", 0, datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("MONTHS_END", 1, datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC)),
        ("MONTHS_END", 14, datetime(2027, 2, 28, 23, 59, 59, tzinfo=UTC)),
        ("SERIES_EXPIRY", 1, datetime(2030, 1, 1, tzinfo=UTC)),
    ],
)
def test_coupon_window(strategy, value, till):
    series = Series(
        valid_till=datetime(2030, 1, 1, tzinfo=UTC),
        expiry_strategy_type=strategy,
        expiry_strategy_value=value,
    )

    assert decide.coupon_window(series, at=AT, tz="UTC") == (None, till)


def test_coupon_window_without_any_end():
    series = Series(valid_till=None, expiry_strategy_type="SERIES_EXPIRY")

    assert decide.coupon_window(series, at=AT, tz="UTC") == (None, None)


# --- create ---------------------------------------------------------------------------


def test_a_random_series_gets_its_first_pool(store, settings):
    settings.SERIES_POOL_TARGET = 30

    series = make_series(store, code_prefix="P", random_code_length=6)

    codes = [coupon.code for coupon in pool(series)]
    assert len(codes) == len(set(codes)) == 30
    assert all(re.match(r"^P[0-9]{6}$", code) for code in codes)


def test_a_capped_series_gets_no_more_than_its_cap(store, settings):
    settings.SERIES_POOL_TARGET = 30

    series = make_series(store, max_create=12)

    assert len(pool(series)) == 12


def test_pooled_codes_carry_the_series_discount(store):
    store.currency = "EUR"
    store.save()

    series = make_series(
        store,
        discount_type="PERC",
        discount_value=Decimal("15"),
        discount_upto=Decimal("25.50"),
        min_bill_amount=Decimal("99.99"),
        max_redemptions_per_coupon=-1,
    )

    coupon = pool(series)[0]
    assert (coupon.discount_type, coupon.discount_amount) == ("percent", 150)
    assert coupon.discount_max_amount == 2550
    assert coupon.minimum_order_value == 9999
    assert coupon.redeem_limit_store_enabled is False
    assert (coupon.origin, coupon.enabled, coupon.usable_by_customer_id) == (
        "generated",
        True,
        None,
    )


def test_unknown_fields_are_a_programming_error(store):
    with pytest.raises(ValueError, match="not series fields"):
        services.series_create(store=store, description="x", colour="red")


# --- generation -----------------------------------------------------------------------


def test_generate_adds_exactly_the_count(store, settings):
    settings.SERIES_POOL_TARGET = 0
    series = make_series(store, alpha_numeric=True, random_code_length=8)
    seen: list[tuple[int, int]] = []

    done = series_pool.series_generate_codes(
        series=series,
        count=1234,
        batch_size=500,
        progress=lambda d, t: seen.append((d, t)),
    )

    assert done == 1234
    codes = [coupon.code for coupon in pool(series)]
    assert len(codes) == len(set(codes)) == 1234
    assert seen == [(500, 1234), (1000, 1234), (1234, 1234)]


def test_generate_fills_a_small_space_to_the_last_code(store, settings):
    settings.SERIES_POOL_TARGET = 0
    CouponFactory(store=store, code="z-5")  # takes one of the ten codes (any case)
    series = make_series(store, random_code_length=1, code_prefix="Z-")

    done = series_pool.series_generate_codes(series=series, count=9)

    assert done == 9
    assert sorted(c.code for c in pool(series)) == [
        f"Z-{n}" for n in range(10) if n != 5
    ]
    with pytest.raises(DomainError) as refused:
        series_pool.series_generate_codes(series=series, count=1)
    assert refused.value.reason == errors.CODE_SPACE_EXHAUSTED
    assert refused.value.message == (
        "The code format (prefix 'Z-' + 1 random digits) has 10 codes and only 0 are "
        "still free in this store: 1 more cannot fit. Use longer or alphanumeric codes."
    )


def test_generate_refuses_before_writing_when_the_space_is_too_small(store, settings):
    settings.SERIES_POOL_TARGET = 0
    series = make_series(store, random_code_length=3)

    with pytest.raises(DomainError) as refused:
        series_pool.series_generate_codes(series=series, count=1001)

    assert refused.value.reason == errors.CODE_SPACE_EXHAUSTED
    assert "has 1,000 codes and only 1,000 are still free" in refused.value.message
    assert not pool(series)


def test_codes_of_another_format_do_not_count_against_the_space(store, settings):
    settings.SERIES_POOL_TARGET = 0
    CouponFactory(store=store, code="1234")  # 4 digits: not in a 3-digit space
    CouponFactory(store=store, code="A12")  # not digits
    series = make_series(store, random_code_length=3)

    assert series_pool.code_room(series) == 1000


def test_another_stores_codes_do_not_count(store, settings):
    settings.SERIES_POOL_TARGET = 0
    other = StoreFactory()
    for n in range(10):
        CouponFactory(store=other, code=f"{n}")
    series = make_series(store, random_code_length=1)

    assert series_pool.series_generate_codes(series=series, count=10) == 10


def test_generation_in_a_dense_large_space_never_fails_on_collisions(
    store, settings, monkeypatch
):
    """Above the enumeration limit codes are drawn at random: with 60 % of a space
    already taken, oversampled rounds still insert exactly the count."""
    monkeypatch.setattr(series_pool, "ENUMERATE_LIMIT", 100)
    settings.SERIES_POOL_TARGET = 0
    for n in range(600):
        CouponFactory(store=store, code=f"D{n:03d}")
    series = make_series(store, random_code_length=3, code_prefix="d")

    done = series_pool.series_generate_codes(series=series, count=400)

    assert done == 400
    codes = {c.code.upper() for c in pool(series)}
    assert len(codes) == 400
    assert codes.isdisjoint({f"D{n:03d}" for n in range(600)})


def test_a_collision_on_the_sparse_path_is_skipped_not_raised(store, settings):
    """PostgreSQL tries a plain INSERT first when collisions are unlikely; a taken
    code then makes it redo the insert with ON CONFLICT DO NOTHING."""
    settings.SERIES_POOL_TARGET = 0
    series = make_series(store, alpha_numeric=True, random_code_length=6)
    CouponFactory(store=store, code="abc123")
    values = series_pool.series_coupon_values(series, currency="USD")

    with transaction.atomic():
        inserted = codegen.insert_pooled(
            values=values, codes=["ABC123", "ZZZ999", "QQQ111"], sparse=True
        )

    assert inserted == 2
    assert sorted(c.code for c in pool(series)) == ["QQQ111", "ZZZ999"]


def test_generate_refuses_more_than_the_cap_allows(store, settings):
    settings.SERIES_POOL_TARGET = 5
    series = make_series(store, max_create=8)

    with pytest.raises(DomainError) as refused:
        series_pool.series_generate_codes(series=series, count=4)

    assert refused.value.reason == errors.POOL_OVER_CAP
    assert refused.value.message == (
        "The series may issue 8 more codes and 5 are already in its pool: at most 3 "
        "more can be generated."
    )
    assert series_pool.series_generate_codes(series=series, count=3) == 3


def test_a_generic_series_generates_nothing(store):
    series = make_series(store, generic_code="ONE")

    with pytest.raises(DomainError) as refused:
        series_pool.series_generate_codes(series=series, count=1)

    assert refused.value.reason == errors.INVALID_SERIES


# --- the pool top-up -----------------------------------------------------------------


def test_top_up_refills_below_the_low_mark_only(store, settings):
    settings.SERIES_POOL_TARGET = 10
    settings.SERIES_POOL_LOW = 4
    series = make_series(store)
    Coupon.objects.filter(id__in=[c.id for c in pool(series)[:6]]).update(pooled=False)

    assert series_pool.series_pool_top_up(series_id=series.id) == 0  # 4 left: not low
    Coupon.objects.filter(id=pool(series)[0].id).update(pooled=False)
    assert series_pool.series_pool_top_up(series_id=series.id) == 7
    assert len(pool(series)) == 10


def test_top_up_stays_within_the_cap(store, settings):
    settings.SERIES_POOL_TARGET = 10
    settings.SERIES_POOL_LOW = 4
    series = make_series(store, max_create=12)
    Coupon.objects.filter(id__in=[c.id for c in pool(series)[:8]]).update(pooled=False)
    Series.objects.filter(pk=series.pk).update(issued_count=8)

    assert series_pool.series_pool_top_up(series_id=series.id) == 2
    assert len(pool(series)) == 4


def test_top_up_ignores_a_generic_series(store):
    series = make_series(store, generic_code="ONE")

    assert series_pool.series_pool_top_up(series_id=series.id) == 0
