"""Rules that read a customer's history hold that customer (PostgreSQL, real threads).

A first-order-only coupon reads the customer's redemptions of every coupon: one new
customer redeeming several of them at once gets at most one through, whichever
dialect each request comes from. Every checkout locks the customer first (then the
coupons by id), so these requests queue on the customer row.
"""

from __future__ import annotations

from functools import partial

import pytest

from coupons.models import Coupon, Redemption
from tests.concurrency import capillary_client, paynow_client, race
from tests.factories import ApiKeyFactory, CouponFactory, CustomerFactory, StoreFactory
from tests.paynow import error_body, validation_error

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TRIALS = 5
COUPONS = 4
FIRST_ORDER = "The coupon is for a first order only."
NATIVE_REFUSED = error_body(
    409,
    "conflict",
    f"The coupon cannot be redeemed: {FIRST_ORDER}",
    [validation_error("code", "first_order_only", FIRST_ORDER)],
    trace="race",
)
V11_ALL_FAILED = {
    "success": "false",
    "code": 400,
    "message": "All requests have failed due to errors",
}
V11_FIRST_ORDER = {
    "success": "false",
    "code": 709,
    "message": "Coupon processing failed: the coupon is for a first purchase only",
}


native = partial(paynow_client, trace="race")


def _redeem_native(key, store, customer, code: str) -> tuple[str, int, dict]:
    response = native(key).post(
        f"/v1/stores/{store.id}/redemptions",
        {"code": code, "customer_id": str(customer.id), "order_value": 1000},
        format="json",
    )
    return "native", response.status_code, response.json()


def _redeem_v11(key, customer, code: str) -> tuple[str, int, dict]:
    body = {
        "root": {
            "coupon": [
                {
                    "code": code,
                    "customer": {"mobile": customer.mobile},
                    "transaction": [{"number": f"T-{code}", "amount": "10.00"}],
                }
            ]
        }
    }
    response = capillary_client(key).post("/v1.1/coupon/redeem", body, format="json")
    return "v1.1", response.status_code, response.json()


def _succeeded(dialect: str, status: int, body: dict) -> bool:
    if dialect == "native":
        return status == 200
    return status == 200 and body["response"]["status"]["code"] == 200


def _assert_refused(dialect: str, status: int, body: dict) -> None:
    if dialect == "native":
        assert (status, body) == (409, NATIVE_REFUSED)
        return
    assert status == 400, body
    assert body["response"]["status"] == V11_ALL_FAILED
    (item,) = body["response"]["coupons"]["coupon"]
    assert item["item_status"] == V11_FIRST_ORDER
    assert item["redemption_id"] is None


def _first_order_race(dialects: list[str]) -> None:
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    customer = CustomerFactory(store=store, mobile="9000000001")
    coupons = [
        CouponFactory(store=store, code=f"FIRST{n}", is_first_order_only=True)
        for n in range(len(dialects))
    ]

    def redeem(index: int) -> tuple[str, int, dict]:
        code = coupons[index].code
        if dialects[index] == "native":
            return _redeem_native(key, store, customer, code)
        return _redeem_v11(key, customer, code)

    results = race(len(dialects), redeem, timeout=60)

    winners = [result for result in results if _succeeded(*result)]
    assert len(winners) == 1, [(d, s) for d, s, _ in results]
    for result in results:
        if result not in winners:
            _assert_refused(*result)
    (redemption,) = Redemption.objects.filter(customer=customer)
    assert sorted(Coupon.objects.filter(store=store).values_list("redeemed_count")) == (
        [(0,)] * (len(dialects) - 1) + [(1,)]
    )
    assert Coupon.objects.get(id=redemption.coupon_id).redeemed_count == 1


@pytest.mark.parametrize("trial", range(TRIALS))
def test_a_new_customer_redeeming_four_first_order_coupons_at_once_gets_one(trial):
    _first_order_race(["native"] * COUPONS)


@pytest.mark.parametrize("trial", range(TRIALS))
def test_four_first_order_coupons_at_once_through_native_and_v11_give_one(trial):
    _first_order_race(["native", "v1.1", "native", "v1.1"])
