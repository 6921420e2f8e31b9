"""One series has one discount code in every Capillary endpoint: a series made
without one (``discountCode: ""``) shows seed 002's ``NO_VALUE`` in the v2 series and
issue/multiple bodies and in v1.1 isredeemable and redeem (which showed ``""``)."""

from __future__ import annotations

import pytest

from tests.factories import CustomerFactory
from tests.series.conftest import ISSUE_URL, SERIES_URL

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_pool")]

CHECK = "/v1.1/coupon/isredeemable"
REDEEM = "/v1.1/coupon/redeem"


@pytest.mark.parametrize(
    ("given", "shown"), [("", "NO_VALUE"), ("SUMMER10", "SUMMER10")]
)
def test_a_series_discount_code_is_the_same_in_v2_and_v1_1(
    capillary, store, given, shown
):
    customer = CustomerFactory(store=store, mobile="9999988886")
    created = capillary.post(
        SERIES_URL,
        {
            "description": "dc",
            "discountType": "ABS",
            "discountValue": 5,
            "validTillDate": "2030-12-31T00:00:00Z",
            "maxCreate": 10,
            "alphaNumeric": True,
            "randomCodeLength": 8,
            "discountCode": given,
        },
        format="json",
    )
    series_id = created.json()["entity"]["id"]
    issued = capillary.post(
        ISSUE_URL,
        {"seriesId": series_id, "count": 1, "customer": {"mobile": "9999988886"}},
        format="json",
    )
    code = issued.json()["coupons"][0]["code"]
    listed = capillary.get(SERIES_URL, {"ids": series_id})
    checked = capillary.get(
        CHECK, {"mobile": customer.mobile, "code": code, "details": "true"}
    )
    redeemed = capillary.post(
        REDEEM,
        {
            "root": {
                "coupon": [
                    {
                        "code": code,
                        "customer": {"mobile": customer.mobile},
                        "transaction": [{"number": "T1", "amount": "100.00"}],
                    }
                ]
            }
        },
        format="json",
    )

    assert (created.status_code, issued.status_code) == (200, 200)
    assert created.json()["entity"]["discountCode"] == shown
    assert listed.json()["entity"][0]["discountCode"] == shown
    assert issued.json()["couponConfig"]["discountCode"] == shown
    (item,) = checked.json()["response"]["coupons"]["redeemable"]
    assert item["coupon_details"]["discount_code"] == shown
    assert redeemed.status_code == 200
    (coupon,) = redeemed.json()["response"]["coupons"]["coupon"]
    assert (coupon["item_status"]["code"], coupon["discount_code"]) == (700, shown)
