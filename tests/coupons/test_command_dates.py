"""Dates given to expire_coupons and bulk_coupons (attack report 2, #4).

They are read as RFC 3339 (``core.timefmt.parse_instant``): a day or time that does
not exist is a CommandError naming the option and the value, never a traceback, and
nothing is changed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from coupons.models import Coupon
from tests.factories import CouponFactory, StoreFactory

pytestmark = pytest.mark.django_db

EXPIRES = datetime(2020, 1, 1, tzinfo=UTC)


def refusal(option: str, value: str) -> str:
    return (
        f"{option} {value!r}: not a real date or date-time; use YYYY-MM-DD or "
        "YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM] (UTC without an offset)."
    )


IMPOSSIBLE = [
    "2027-02-30",
    "2026-02-29",
    "2027-13-01",
    "2027-02-28T25:00",
    "2027-02-28T23:60",
    "2027-02-28T10:00:00+25:00",
    "2027-W09-1",
    "20270228",
    "٢٠٢٧-٠٢-٢٨",
    "",
]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.parametrize("value", IMPOSSIBLE)
def test_expire_coupons_refuses_a_date_that_does_not_exist(value):
    store = StoreFactory(code="shop")
    coupon = CouponFactory(store=store, expires_at=EXPIRES)

    with pytest.raises(CommandError) as refused:
        run("expire_coupons", "--store", "shop", "--before", value)

    assert str(refused.value) == refusal("--before", value)
    assert Coupon.objects.get(pk=coupon.pk).enabled
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("value", IMPOSSIBLE)
def test_bulk_coupons_refuses_an_expiry_that_does_not_exist(value):
    store = StoreFactory(code="shop")
    coupon = CouponFactory(store=store, expires_at=EXPIRES)

    with pytest.raises(CommandError) as refused:
        run(
            "bulk_coupons",
            "--store=shop",
            "--action=extend_expiry",
            f"--expires-at={value}",
        )

    assert str(refused.value) == refusal("--expires-at", value)
    assert Coupon.objects.get(pk=coupon.pk).expires_at == EXPIRES
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("2028-02-29", datetime(2028, 2, 29, tzinfo=UTC)),
        ("2027-02-28T23:59", datetime(2027, 2, 28, 23, 59, tzinfo=UTC)),
        ("2027-02-28t10:00:00z", datetime(2027, 2, 28, 10, tzinfo=UTC)),
        ("2027-02-28T10:00:00+02:00", datetime(2027, 2, 28, 8, tzinfo=UTC)),
    ],
)
def test_bulk_coupons_takes_real_dates(value, stored):
    store = StoreFactory(code="shop")
    coupon = CouponFactory(store=store, expires_at=EXPIRES)

    run(
        "bulk_coupons",
        "--store=shop",
        "--action=extend_expiry",
        f"--expires-at={value}",
    )

    assert Coupon.objects.get(pk=coupon.pk).expires_at == stored
