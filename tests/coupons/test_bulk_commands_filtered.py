"""bulk_coupons: a bulk action on a filtered set, from the command line."""

from __future__ import annotations

import shlex
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit.models import AuditEvent
from coupons.models import Coupon
from tests.factories import CouponFactory, SeriesFactory, StoreFactory

pytestmark = pytest.mark.django_db


def run(line: str, *more: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    args = [*shlex.split(line), *more]
    call_command("bulk_coupons", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("object_id"))


@pytest.fixture
def shop():
    store = StoreFactory(code="shop")
    series = SeriesFactory(store=store)
    other_series = SeriesFactory(store=store)
    on = [CouponFactory(store=store, series=series) for _ in range(5)]
    off = CouponFactory(store=store, series=series, enabled=False)
    elsewhere = CouponFactory(store=store, series=other_series)
    manual = CouponFactory(store=store)
    foreign = CouponFactory(series=SeriesFactory())  # another store
    return {
        "store": store,
        "series": series,
        "on": on,
        "off": off,
        "elsewhere": elsewhere,
        "manual": manual,
        "foreign": foreign,
    }


def test_dry_run_counts_exactly_and_changes_nothing(shop):
    series = shop["series"].pk
    out, _ = run(f"--store shop --series {series} --action disable --dry-run")
    assert out.strip() == (
        f"[dry run] 6 coupons match (series={shop['series'].pk}); "
        "disable would change 5"
    )
    assert Coupon.objects.filter(enabled=False).count() == 1
    assert AuditEvent.objects.count() == 0


def test_disable_changes_only_the_filtered_rows_one_event_each(shop):
    series = shop["series"].pk
    out, err = run(
        f"--store shop --series {series} --enabled yes --action disable --batch 2"
    )
    assert out.strip() == "disable: changed 5 of 5 coupons matched"
    assert "disable: 5/5 (100%)" in err
    disabled = set(Coupon.objects.filter(enabled=False).values_list("pk", flat=True))
    assert disabled == {c.pk for c in shop["on"]} | {shop["off"].pk}
    recorded = events("disable")
    assert [e.object_id for e in recorded] == sorted(c.pk for c in shop["on"])
    assert {e.channel for e in recorded} == {""}
    assert all(e.changes == {"enabled": [True, False]} for e in recorded)
    assert all(e.series_id == shop["series"].pk for e in recorded)
    stamped = Coupon.objects.get(pk=shop["on"][0].pk)
    assert stamped.updated_by_type == "internal"
    assert stamped.updated_at is not None


def test_rerun_changes_nothing_and_records_nothing(shop):
    line = f"--store shop --series {shop['series'].pk} --action disable"
    run(line)
    before = AuditEvent.objects.count()

    out, _ = run(line)

    assert out.strip() == "disable: changed 0 of 6 coupons matched"
    assert AuditEvent.objects.count() == before == 5


def test_extend_never_shortens_nor_gives_an_expiry(shop):
    now = timezone.now()
    soon, later = now + timedelta(days=1), now + timedelta(days=60)
    target = now + timedelta(days=30)
    Coupon.objects.filter(pk=shop["on"][0].pk).update(expires_at=soon)
    Coupon.objects.filter(pk=shop["on"][1].pk).update(expires_at=later)
    Coupon.objects.filter(pk=shop["manual"].pk).update(expires_at=soon)

    series = shop["series"].pk
    out, _ = run(
        f"--store shop --series {series} --action extend_expiry",
        "--expires-at",
        target.isoformat(),
    )

    assert out.strip() == "extend_expiry: changed 1 of 6 coupons matched"
    expiries = dict(Coupon.objects.values_list("pk", "expires_at"))
    assert expiries[shop["on"][0].pk] == target
    assert expiries[shop["on"][1].pk] == later
    assert expiries[shop["on"][2].pk] is None
    assert expiries[shop["manual"].pk] == soon  # not in the filter
    (event,) = events("extend_expiry")
    assert event.changes == {"expires_at": [soon.isoformat(), target.isoformat()]}


def test_enable_never_revives_an_archived_coupon(shop):
    archived = CouponFactory(
        store=shop["store"], enabled=False, archived_at=timezone.now()
    )
    out, _ = run("--store shop --enabled no --action enable")
    assert out.strip() == "enable: changed 1 of 2 coupons matched"
    assert Coupon.objects.get(pk=shop["off"].pk).enabled is True
    assert Coupon.objects.get(pk=archived.pk).enabled is False
    assert [e.object_id for e in events("enable")] == [shop["off"].pk]


def test_search_narrows_to_the_code(shop):
    code = shop["on"][3].code.lower()
    out, _ = run("--store shop --action disable --search", code)
    assert out.strip() == "disable: changed 1 of 1 coupons matched"
    assert [e.object_id for e in events("disable")] == [shop["on"][3].pk]


def test_export_writes_the_filtered_rows(shop, tmp_path):
    target = tmp_path / "codes.csv"
    out, _ = run(f"--store shop --enabled no --action export --output {target}")
    assert out.strip() == f"export: 1 coupons to {target}"
    lines = target.read_text().splitlines()
    assert len(lines) == 2
    assert lines[1].startswith(f"{shop['off'].pk},{shop['off'].code},")
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--action", "extend_expiry"), "The new expiry must be in the future."),
        (
            ("--action", "extend_expiry", "--expires-at", "2001-01-01"),
            "The new expiry must be in the future.",
        ),
        (("--action", "export"), "--action export needs --output."),
        (
            ("--action", "disable", "--series", "12345"),
            "Series '12345' not found in this store.",
        ),
        (("--action", "disable", "--batch", "0"), "--batch must be at least 1."),
    ],
)
def test_bad_arguments_are_command_errors(shop, args, message):
    with pytest.raises(CommandError) as raised:
        run("--store shop", *args)
    assert str(raised.value) == message
    assert AuditEvent.objects.count() == 0


def test_another_stores_series_is_not_found(shop):
    foreign_series = shop["foreign"].series_id
    with pytest.raises(CommandError):
        run(f"--store shop --series {foreign_series} --action disable")
    assert Coupon.objects.filter(enabled=False).count() == 1
