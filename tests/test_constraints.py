"""Database constraints hold even when the services are bypassed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from coupons.models import Coupon
from customers.models import Customer
from legacy.models import Kind, LegacyDefinition
from series.models import Series
from tests.factories import (
    CouponFactory,
    CustomerFactory,
    LegacyDefinitionFactory,
    LegacyTemplateFactory,
    SeriesFactory,
)

pytestmark = pytest.mark.django_db


def _rejected(make) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


# --- coupons -------------------------------------------------------------------------


def test_coupon_codes_are_unique_per_store_ignoring_case(store):
    CouponFactory(store=store, code="abc")

    _rejected(lambda: CouponFactory(store=store, code="ABC"))
    _rejected(lambda: CouponFactory(store=store, code="abc"))
    assert Coupon.objects.filter(store=store).count() == 1


def test_the_same_coupon_code_is_fine_in_two_stores(store, other_store):
    CouponFactory(store=store, code="abc")
    CouponFactory(store=other_store, code="ABC")

    assert Coupon.objects.count() == 2


def test_renaming_a_coupon_onto_a_taken_code_is_rejected(store):
    CouponFactory(store=store, code="abc")
    other = CouponFactory(store=store, code="xyz")

    _rejected(lambda: Coupon.objects.filter(pk=other.pk).update(code="Abc"))


def test_a_blank_coupon_code_is_rejected(store):
    _rejected(lambda: CouponFactory(store=store, code=""))


def test_a_percent_up_to_1000_is_fine_and_above_is_rejected(store):
    CouponFactory(store=store, discount_type="percent", discount_amount=1000)

    _rejected(
        lambda: CouponFactory(
            store=store, discount_type="percent", discount_amount=1001
        )
    )


def test_an_amount_above_1000_is_fine(store):
    CouponFactory(store=store, discount_type="amount", discount_amount=100_000)


def test_negative_amounts_are_rejected(store):
    _rejected(lambda: CouponFactory(store=store, discount_amount=-1))
    _rejected(lambda: CouponFactory(store=store, minimum_order_value=-1))


def test_usable_at_after_expires_at_is_rejected(store):
    now = timezone.now()
    CouponFactory(store=store, usable_at=now, expires_at=now)
    CouponFactory(store=store, usable_at=now, expires_at=None)

    _rejected(
        lambda: CouponFactory(
            store=store, usable_at=now + timedelta(seconds=1), expires_at=now
        )
    )


def test_only_a_repeating_duration_has_months(store):
    CouponFactory(store=store, duration="repeating", duration_in_months=1)
    CouponFactory(store=store, duration="once", duration_in_months=None)
    CouponFactory(store=store, duration="forever", duration_in_months=None)

    _rejected(
        lambda: CouponFactory(store=store, duration="repeating", duration_in_months=0)
    )
    _rejected(
        lambda: CouponFactory(store=store, duration="forever", duration_in_months=3)
    )
    _rejected(lambda: CouponFactory(store=store, duration="once", duration_in_months=1))


def test_a_repeating_duration_without_months_is_rejected(store):
    _rejected(
        lambda: CouponFactory(
            store=store, duration="repeating", duration_in_months=None
        )
    )


def test_redeemed_count_above_the_enabled_store_limit_is_rejected(store):
    coupon = CouponFactory(
        store=store, redeem_limit_store_enabled=True, redeem_limit_store_amount=2
    )
    bump = Coupon.objects.filter(pk=coupon.pk)
    bump.update(redeemed_count=F("redeemed_count") + 2)

    _rejected(lambda: bump.update(redeemed_count=F("redeemed_count") + 1))
    _rejected(lambda: bump.update(received_count=3))
    coupon.refresh_from_db()
    assert coupon.redeemed_count == 2


def test_redeemed_count_is_free_when_the_store_limit_is_off(store):
    coupon = CouponFactory(
        store=store, redeem_limit_store_enabled=False, redeem_limit_store_amount=2
    )

    Coupon.objects.filter(pk=coupon.pk).update(redeemed_count=50)

    coupon.refresh_from_db()
    assert coupon.redeemed_count == 50


def test_counters_never_go_negative(store):
    coupon = CouponFactory(store=store)

    _rejected(lambda: Coupon.objects.filter(pk=coupon.pk).update(redeemed_count=-1))


# --- customers -----------------------------------------------------------------------


def test_customer_email_is_unique_per_store_ignoring_case(store):
    CustomerFactory(store=store, email="A@x.com")

    _rejected(lambda: CustomerFactory(store=store, email="a@X.COM"))


def test_customer_email_may_repeat_across_stores(store, other_store):
    CustomerFactory(store=store, email="a@x.com")
    CustomerFactory(store=other_store, email="A@X.com")


@pytest.mark.parametrize("field", ["mobile", "external_id"])
def test_customer_mobile_and_external_id_are_unique_per_store(
    store, other_store, field
):
    CustomerFactory(store=store, **{field: "v-1"})
    CustomerFactory(store=other_store, **{field: "v-1"})

    _rejected(lambda: CustomerFactory(store=store, **{field: "v-1"}))


@pytest.mark.parametrize("field", ["email", "mobile", "external_id"])
def test_null_customer_identifiers_do_not_collide(store, field):
    CustomerFactory(store=store, **{field: None})
    CustomerFactory(store=store, **{field: None})

    assert (
        Customer.objects.filter(store=store, **{f"{field}__isnull": True}).count() == 2
    )


# --- series --------------------------------------------------------------------------


def test_series_issued_count_above_max_create_is_rejected(store):
    series = SeriesFactory(store=store, max_create=10)
    capped = Series.objects.filter(pk=series.pk)
    capped.update(issued_count=10)

    _rejected(lambda: capped.update(issued_count=F("issued_count") + 1))
    _rejected(lambda: SeriesFactory(store=store, max_create=0, issued_count=1))


def test_an_unlimited_series_takes_any_issued_count(store):
    series = SeriesFactory(store=store, max_create=-1)

    Series.objects.filter(pk=series.pk).update(issued_count=10**9)

    series.refresh_from_db()
    assert series.issued_count == 10**9


def test_series_caps_below_minus_one_are_rejected(store):
    _rejected(lambda: SeriesFactory(store=store, max_create=-2))
    _rejected(lambda: SeriesFactory(store=store, max_vouchers_per_user=-2))


def test_a_generic_series_needs_its_code(store):
    SeriesFactory(store=store, code_format="generic", generic_code="SAVE10")

    _rejected(
        lambda: SeriesFactory(store=store, code_format="generic", generic_code="")
    )


# --- legacy --------------------------------------------------------------------------


def test_legacy_labels_are_unique_per_store_across_kinds(store, other_store):
    LegacyDefinitionFactory(store=store, label="summer")

    _rejected(lambda: LegacyTemplateFactory(store=store, label="summer"))
    _rejected(lambda: LegacyDefinitionFactory(store=store, label="summer"))
    LegacyTemplateFactory(store=other_store, label="summer")
    assert LegacyDefinition.objects.filter(label="summer").count() == 2
    assert (
        LegacyDefinition.objects.get(store=store, label="summer").kind
        == Kind.DEFINITION
    )


def test_legacy_max_redemptions_must_be_positive(store):
    LegacyDefinitionFactory(store=store, max_redemptions=None)

    _rejected(lambda: LegacyDefinitionFactory(store=store, max_redemptions=0))
