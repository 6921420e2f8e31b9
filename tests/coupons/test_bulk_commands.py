"""export_coupons and expire_coupons."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from coupons.models import Coupon
from tests.factories import CouponFactory, SeriesFactory, StoreFactory

pytestmark = pytest.mark.django_db


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def store():
    return StoreFactory(code="shop")


def test_export_csv_to_a_file(store, tmp_path):
    series = SeriesFactory(store=store)
    first = CouponFactory(store=store, code="A1")
    second = CouponFactory(store=store, code="B2", series=series, origin="generated")
    CouponFactory(code="OTHER")  # another store
    target = tmp_path / "out.csv"
    out, _ = run("export_coupons", "--store", "shop", "--output", str(target))
    assert out.strip() == f"Exported 2 coupons to {target}"
    rows = list(csv.DictReader(target.open()))
    assert [row["code"] for row in rows] == ["A1", "B2"]
    assert rows[0]["id"] == str(first.id)
    assert rows[1]["series_id"] == str(second.series_id)
    assert rows[0]["series_id"] == ""
    assert rows[0]["enabled"] == "True"


def test_export_jsonl_to_stdout_with_filters(store):
    series = SeriesFactory(store=store)
    CouponFactory(store=store, code="A1")
    CouponFactory(store=store, code="S1", series=series)
    CouponFactory(store=store, code="S2", series=series, enabled=False)
    out, err = run(
        "export_coupons",
        "--store",
        "shop",
        "--series",
        str(series.id),
        "--status",
        "inactive",
        "--format",
        "jsonl",
    )
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["code"] for r in records] == ["S2"]
    assert records[0]["enabled"] is False
    assert err.strip() == "Exported 1 coupons"


@pytest.mark.parametrize(
    ("status", "codes"),
    [
        ("all", ["LIVE", "OLD", "USED", "OFF"]),
        ("active", ["LIVE", "USED"]),
        ("expired", ["OLD"]),
        ("redeemed", ["USED"]),
        ("unredeemed", ["LIVE", "OLD", "OFF"]),
    ],
)
def test_export_statuses(store, status, codes):
    now = timezone.now()
    CouponFactory(store=store, code="LIVE")
    CouponFactory(store=store, code="OLD", expires_at=now - timedelta(days=1))
    CouponFactory(store=store, code="USED", redeemed_count=2)
    CouponFactory(store=store, code="OFF", enabled=False)
    out, _ = run("export_coupons", "--store", "shop", "--status", status)
    assert [row["code"] for row in csv.DictReader(StringIO(out))] == codes


def test_export_bad_input(store, tmp_path):
    with pytest.raises(CommandError, match="not found"):
        run("export_coupons", "--store", "shop", "--series", "123")
    with pytest.raises(CommandError, match="No such folder"):
        run("export_coupons", "--store", "shop", "--output", str(tmp_path / "x/y.csv"))
    with pytest.raises(CommandError):
        run("export_coupons", "--store", "shop", "--format", "xml")


def test_export_streams_in_chunks(store, tmp_path):
    CouponFactory.create_batch(12, store=store)
    target = tmp_path / "big.jsonl"
    run(
        "export_coupons",
        "--store",
        "shop",
        "--format",
        "jsonl",
        "--output",
        str(target),
    )
    assert len(target.read_text().splitlines()) == 12


def test_expire_disables_past_coupons_and_reports(store):
    now = timezone.now()
    old = CouponFactory.create_batch(
        3, store=store, expires_at=now - timedelta(hours=1)
    )
    fresh = CouponFactory(store=store, expires_at=now + timedelta(days=1))
    forever = CouponFactory(store=store)
    out, _ = run("expire_coupons", "--store", "shop", "--dry-run")
    assert out.strip() == "[dry run] 3 coupons would be disabled"
    assert Coupon.objects.filter(enabled=False).count() == 0
    out, _ = run("expire_coupons", "--store", "shop")
    assert out.strip() == "Disabled 3 expired coupons"
    for coupon in old:
        coupon.refresh_from_db()
        assert coupon.enabled is False
        assert coupon.updated_by_type == "internal"
    fresh.refresh_from_db()
    forever.refresh_from_db()
    assert fresh.enabled
    assert forever.enabled
    out, _ = run("expire_coupons", "--store", "shop")
    assert out.strip() == "Disabled 0 expired coupons"


def test_expire_before_a_date(store):
    # Only coupons past expires_at, and of those the ones that expired before
    # --before (a --before later than now is refused: tests/coupons/test_expire_before).
    now = timezone.now()
    long_ago = CouponFactory(store=store, expires_at=now - timedelta(days=3))
    lately = CouponFactory(store=store, expires_at=now - timedelta(hours=1))
    out, _ = run(
        "expire_coupons",
        "--store",
        "shop",
        "--before",
        (now - timedelta(days=2)).date().isoformat(),
    )
    assert out.strip() == "Disabled 1 expired coupons"
    assert not Coupon.objects.get(pk=long_ago.pk).enabled
    assert Coupon.objects.get(pk=lately.pk).enabled
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run("expire_coupons", "--store", "shop", "--before", "next week")
