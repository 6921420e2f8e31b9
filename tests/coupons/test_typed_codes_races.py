"""Codes people can type under concurrency (PostgreSQL): a typo is never a code that
exists, however a check-character series and a coupon's code race."""

from __future__ import annotations

import pytest

from coupons import typed_codes
from coupons.models import Coupon
from series.models import Series
from stores.models import Store
from tests.concurrency import capillary_client, paynow_client, race
from tests.factories import ApiKeyFactory, StoreFactory
from tests.paynow import coupon_body
from tests.series.conftest import SERIES_URL

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WOULD_BE_TYPO = "BF9KX2ABCDZ"  # the shape of the series below, check wrong


def series_body(length: int = 8) -> dict:
    return {
        "description": "Typeable",
        "discountType": "ABS",
        "discountValue": 5,
        "validTillDate": "2030-09-30T00:00:00+05:30",
        "maxCreate": 1000,
        "randomCodeLength": length,
        "couponPrefix": "BF",
        "checkCharacter": True,
    }


@pytest.fixture(autouse=True)
def _small_pool(settings):
    settings.SERIES_POOL_TARGET = 20
    settings.SERIES_POOL_LOW = 5


@pytest.mark.parametrize("trial", range(4))
def test_a_check_series_and_a_would_be_typo_code_never_both_exist(trial):
    store = StoreFactory()
    key = ApiKeyFactory(store=store)

    def work(index: int) -> int:
        if index == 0:
            return (
                paynow_client(key)
                .post(
                    f"/v1/stores/{store.id}/coupons",
                    coupon_body(code=WOULD_BE_TYPO),
                    format="json",
                )
                .status_code
            )
        return (
            capillary_client(key)
            .post(SERIES_URL, series_body(), format="json")
            .status_code
        )

    coupon_status, series_status = race(2, work)

    assert sorted([coupon_status, series_status]) in ([200, 400], [200, 409])
    store = Store.objects.get(pk=store.pk)
    has_code = Coupon.objects.filter(store=store, code=WOULD_BE_TYPO).exists()
    if has_code:  # the coupon first: the series was refused
        assert (coupon_status, series_status) == (200, 400)
        assert store.typed_code_shapes == []
        assert not Series.objects.filter(store=store).exists()
    else:  # the series first: the code was refused, as it would read as a typo
        assert (coupon_status, series_status) == (409, 200)
        assert store.typed_code_shapes == [["BF", 8, ""]]
    shapes = typed_codes.shapes_of(store)
    codes = Coupon.objects.filter(store=store).values_list("code", flat=True)
    assert [c for c in codes if typed_codes.reserved_by(c, shapes)] == []


def test_check_series_created_at_once_keep_every_shape():
    store = StoreFactory()
    key = ApiKeyFactory(store=store)

    statuses = race(
        4,
        lambda i: (
            capillary_client(key)
            .post(SERIES_URL, series_body(length=6 + i), format="json")
            .status_code
        ),
    )

    assert statuses == [200] * 4
    store.refresh_from_db()
    assert sorted(store.typed_code_shapes) == [["BF", n, ""] for n in range(6, 10)]
