"""expire_coupons never disables a coupon that has not expired (attack report 2, #3).

README: the command "disables enabled coupons past expires_at". ``--before`` narrows
that to coupons that expired before a past moment; a ``--before`` later than now is
refused (it would have been a mass early expiry of live coupons), and the service
reads a later ``before`` as now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from core.actors import SYSTEM
from coupons import services
from coupons.models import Coupon
from tests.factories import CouponFactory, StoreFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)


def run(*args: str) -> str:
    out = StringIO()
    call_command("expire_coupons", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def coupons():
    store = StoreFactory(code="yen", currency="JPY")
    return {
        "expired": CouponFactory(store=store, expires_at=NOW - timedelta(days=1)),
        "live": CouponFactory(store=store, expires_at=NOW + timedelta(days=60)),
        "at_the_second": CouponFactory(
            store=store, expires_at=NOW + timedelta(seconds=1)
        ),
    }


def enabled() -> dict[str, bool]:
    return dict(Coupon.objects.order_by("code").values_list("code", "enabled"))


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
@pytest.mark.parametrize("before", ["2030-01-01", "2027-01-15T12:00:01Z", "2027-01-16"])
def test_a_before_later_than_now_is_refused(coupons, before, dry_run):
    with time_machine.travel(NOW, tick=False), pytest.raises(CommandError) as refused:
        run("--store", "yen", "--before", before, *dry_run)

    assert str(refused.value) == (
        f"--before {before!r} is later than now (2027-01-15T12:00:00.000Z): "
        "expire_coupons only disables coupons already past their expires_at. To "
        "disable live coupons, use bulk_coupons --action disable."
    )
    assert all(enabled().values())
    assert not AuditEvent.objects.exists()


def test_a_before_of_now_or_earlier_disables_only_what_expired_before_it(coupons):
    with time_machine.travel(NOW, tick=False):
        assert run("--store", "yen", "--before", "2027-01-14", "--dry-run") == (
            "[dry run] 0 coupons would be disabled\n"
        )
        assert run("--store", "yen", "--before", "2027-01-15T12:00:00Z") == (
            "Disabled 1 expired coupons\n"
        )

    assert not Coupon.objects.get(pk=coupons["expired"].pk).enabled
    assert Coupon.objects.get(pk=coupons["live"].pk).enabled
    assert Coupon.objects.get(pk=coupons["at_the_second"].pk).enabled


def test_the_service_reads_a_later_before_as_now(coupons):
    with time_machine.travel(NOW, tick=False):
        result = services.coupons_expire(
            store=coupons["live"].store,
            actor=SYSTEM,
            before=datetime(2030, 1, 1, tzinfo=UTC),
        )

    assert (result.matched, result.disabled) == (1, 1)
    assert not Coupon.objects.get(pk=coupons["expired"].pk).enabled
    assert Coupon.objects.get(pk=coupons["live"].pk).enabled
