"""``manage.py generate_codes``."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from coupons.models import Coupon
from tests.series.conftest import make_series

pytestmark = pytest.mark.django_db


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def series(store, settings):
    settings.SERIES_POOL_TARGET = 0
    return make_series(store, alpha_numeric=True, random_code_length=9)


def pooled(series) -> int:
    return Coupon.objects.filter(series=series, pooled=True).count()


def test_generate_codes_prints_progress_lines_off_a_terminal(series):
    out = io.StringIO()

    call_command(
        "generate_codes",
        series=str(series.id),
        count=1000,
        batch_size=250,
        stdout=out,
    )

    lines = out.getvalue().splitlines()
    assert [line.split(" codes")[0] for line in lines[:4]] == [
        "generated 250/1,000",
        "generated 500/1,000",
        "generated 750/1,000",
        "generated 1,000/1,000",
    ]
    assert lines[-1].startswith(f"Generated 1,000 codes for series {series.id} in ")
    assert lines[-1].endswith("pool: 1,000 codes.")
    assert pooled(series) == 1000


def test_generate_codes_draws_a_bar_on_a_terminal(series):
    out = Terminal()

    call_command("generate_codes", series=str(series.id), count=10, stdout=out)

    text = out.getvalue()
    assert "\r[##############################] 100% 10/10 codes" in text
    assert pooled(series) == 10


def test_dry_run_writes_nothing(series):
    out = io.StringIO()

    call_command(
        "generate_codes", series=str(series.id), count=500, dry_run=True, stdout=out
    )

    assert out.getvalue().splitlines() == [
        "Format: 9 random letters/digits; 101,559,956,668,416 codes, "
        f"101,559,956,668,416 free in store {series.store.code}. Pool: 0. "
        "Issued: 0 of unlimited.",
        "Would generate 500 codes (dry run: nothing written).",
    ]
    assert pooled(series) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"series": "12345", "count": 1}, "No series '12345'."),
        ({"series": "abc", "count": 1}, "No series 'abc'."),
        ({"count": 0}, "--count and --batch-size must be at least 1."),
        ({"count": 10**15}, "cannot fit. Use longer or alphanumeric codes."),
    ],
)
def test_generate_codes_refusals(series, args, message):
    with pytest.raises(CommandError) as refused:
        call_command("generate_codes", **{"series": str(series.id), **args})

    assert message in str(refused.value)
    assert pooled(series) == 0


def test_a_generic_series_has_no_codes_to_generate(store):
    series = make_series(store, generic_code="ONE")

    with pytest.raises(CommandError, match="Only a series of random codes"):
        call_command("generate_codes", series=str(series.id), count=1)
