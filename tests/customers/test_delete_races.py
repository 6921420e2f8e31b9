"""A customer DELETE racing a checkout, or another DELETE (PostgreSQL, real threads).

Either the checkout wins (its rows are written, and the DELETE then finds a
customer with history: 409) or the DELETE wins (204, and the checkout answers its
dialect's customer-not-found error, writing nothing). Never a 5xx, never a row of a
customer who is gone. Two DELETEs of one customer: one 204, one 404.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from assignments.models import Assignment
from audit.models import AuditEvent
from coupons.models import Coupon, Redemption
from customers.models import Customer
from stores.scopes import COUPONS_WRITE, PRICE_RULES
from tests.concurrency import capillary_client, paynow_client, race, shoplazza_client
from tests.factories import ApiKeyFactory, CouponFactory, CustomerFactory, StoreFactory
from tests.interleave import Holder, start, wait_for_waiters
from tests.paynow import coupon_body, error_body, validation_error
from tests.series.conftest import ISSUE_URL, make_series

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TRIALS = 10
TRACE = "delete-race"
MOBILE = "9000000002"
HAS_HISTORY = error_body(
    409,
    "conflict",
    "This customer holds coupons or redemptions and cannot be deleted.",
    trace=TRACE,
)
NOT_FOUND = error_body(404, "not-found", "Customer not found.", trace=TRACE)
NATIVE_NO_CUSTOMER = error_body(
    400,
    "bad-request",
    "Invalid request: customer_id: No such customer in this store.",
    [validation_error("customer_id", "invalid", "No such customer in this store.")],
    trace=TRACE,
)
V11_ALL_FAILED = {
    "success": "false",
    "code": 400,
    "message": "All requests have failed due to errors",
}
V11_NO_CUSTOMER = {
    "success": "false",
    "code": 701,
    "message": "Customer could not be found. Check the mobile, email, or external "
    "ID passed.",
}
V2_NO_CUSTOMER = {
    "errors": [
        {
            "status": False,
            "code": 701,
            "message": "The customer could not be found. Please check mobile, "
            "email, external id passed",
        }
    ]
}


paynow = partial(paynow_client, trace=TRACE)


def _delete(key, customer) -> tuple[int, dict | None]:
    response = paynow(key).delete(
        f"/v1/stores/{customer.store_id}/customers/{customer.id}"
    )
    return response.status_code, (_json(response)[1] if response.content else None)


def _json(response) -> tuple[int, dict | bytes]:
    # A 500 is Django's HTML page: shown as it is in a failing assertion.
    if response["Content-Type"] != "application/json":
        return response.status_code, response.content
    return response.status_code, response.json()


def _delete_against(
    checkout: Callable[[object, Customer], tuple[int, dict]],
    *,
    scopes: list[str] | None = None,
    setup: Callable[[object], object] | None = None,
) -> list[tuple[tuple[int, dict | None], tuple[int, dict], Customer]]:
    """TRIALS races of one DELETE and one ``checkout`` of a new customer each; the
    (delete, checkout, customer) answers."""
    store = StoreFactory()
    key = ApiKeyFactory(store=store, **({"scopes": scopes} if scopes else {}))
    target = setup(store) if setup else None
    outcomes = []
    for trial in range(TRIALS):
        customer = CustomerFactory(store=store, mobile=f"{MOBILE}{trial}")

        def work(index: int, customer=customer):
            if index == 0:
                return _delete(key, customer)
            return checkout((key, target), customer)

        deleted, checked_out = race(2, work, timeout=60)
        outcomes.append((deleted, checked_out, customer))
    return outcomes


def _assert_either_way(
    outcomes, *, succeeded: Callable[[int, dict], bool], refused: dict | Callable
) -> None:
    for deleted, checked_out, customer in outcomes:
        alive = Customer.objects.filter(id=customer.id).exists()
        history = (
            Redemption.objects.filter(customer_id=customer.id).exists()
            or Assignment.objects.filter(customer_id=customer.id).exists()
        )
        if deleted[0] == 204:
            assert not alive
            assert not history
            if callable(refused):
                refused(*checked_out)
            else:
                assert checked_out == refused
            assert AuditEvent.objects.filter(
                customer_id=customer.id, action="delete"
            ).exists()
        else:
            assert deleted == (409, HAS_HISTORY), deleted
            assert succeeded(*checked_out), checked_out
            assert alive
            assert history


def test_a_customer_delete_racing_a_native_redeem_never_fails():
    def redeem(ctx, customer):
        (key, _coupon) = ctx
        response = paynow(key).post(
            f"/v1/stores/{customer.store_id}/redemptions",
            {"code": "ANY", "customer_id": str(customer.id), "order_value": 1000},
            format="json",
        )
        return _json(response)

    outcomes = _delete_against(
        redeem, setup=lambda store: CouponFactory(store=store, code="ANY")
    )

    _assert_either_way(
        outcomes,
        succeeded=lambda status, body: status == 200,
        refused=(400, NATIVE_NO_CUSTOMER),
    )
    coupon = Coupon.objects.get(code="ANY")
    assert coupon.redeemed_count == Redemption.objects.filter(coupon=coupon).count()


def test_a_customer_delete_racing_a_v11_redeem_never_fails():
    def redeem(ctx, customer):
        (key, _coupon) = ctx
        body = {
            "root": {
                "coupon": [
                    {
                        "code": "ANY",
                        "customer": {"mobile": customer.mobile},
                        "transaction": [{"number": "T-1", "amount": "10.00"}],
                    }
                ]
            }
        }
        return _json(
            capillary_client(key).post("/v1.1/coupon/redeem", body, format="json")
        )

    def refused(status: int, body: dict) -> None:
        assert status == 400, body
        assert body["response"]["status"] == V11_ALL_FAILED
        (item,) = body["response"]["coupons"]["coupon"]
        assert item["item_status"] == V11_NO_CUSTOMER
        assert item["redemption_id"] is None
        assert item["customer"]["id"] is None

    outcomes = _delete_against(
        redeem, setup=lambda store: CouponFactory(store=store, code="ANY")
    )

    _assert_either_way(
        outcomes,
        succeeded=lambda status, body: (
            status == 200 and body["response"]["status"]["code"] == 200
        ),
        refused=refused,
    )
    coupon = Coupon.objects.get(code="ANY")
    assert coupon.redeemed_count == Redemption.objects.filter(coupon=coupon).count()


def test_a_customer_delete_racing_a_receive_never_fails():
    def receive(ctx, customer):
        key, coupon = ctx
        response = shoplazza_client(key).post(
            "/openapi/2022-01/coupons/receive",
            {"customer_id": str(customer.id), "coupon_ids": [str(coupon.id)]},
            format="json",
        )
        return _json(response)

    outcomes = _delete_against(
        receive,
        scopes=[PRICE_RULES, COUPONS_WRITE],
        setup=lambda store: CouponFactory(store=store),
    )

    _assert_either_way(
        outcomes,
        succeeded=lambda status, body: status == 200 and body["status"] == 1,
        refused=(404, {"errors": ["customer not exist"]}),
    )
    coupon = Coupon.objects.get()
    assert coupon.received_count == Assignment.objects.filter(coupon=coupon).count()


def test_a_customer_delete_racing_a_capillary_issue_never_fails(settings):
    settings.SERIES_POOL_TARGET = 40
    settings.SERIES_POOL_LOW = 5

    def issue(ctx, customer):
        key, series = ctx
        body = {
            "seriesId": series.id,
            "count": 1,
            "customer": {"mobile": customer.mobile},
        }
        return _json(capillary_client(key).post(ISSUE_URL, body, format="json"))

    outcomes = _delete_against(issue, setup=make_series)

    _assert_either_way(
        outcomes,
        succeeded=lambda status, body: status == 200 and body["successCount"] == 1,
        refused=(400, V2_NO_CUSTOMER),
    )
    assert not Coupon.objects.filter(
        pooled=False, usable_by_customer__isnull=True, series__isnull=False
    ).exists()


@pytest.mark.parametrize("trial", range(5))
def test_two_deletes_of_one_customer_give_one_204_and_one_404(trial):
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    customer = CustomerFactory(store=store)

    results = race(2, lambda _index: _delete(key, customer), timeout=60)

    assert sorted(results, key=lambda r: r[0]) == [(204, None), (404, NOT_FOUND)]
    assert not Customer.objects.filter(id=customer.id).exists()
    assert (
        AuditEvent.objects.filter(customer_id=customer.id, action="delete").count() == 1
    )


def test_a_customer_delete_racing_a_coupon_restricted_to_them_never_fails():
    # A coupon's one-customer restriction references the customer too.
    def create(ctx, customer):
        key, _ = ctx
        body = coupon_body(
            code=f"ONLY-{customer.id}",
            discount_type="percent",
            discount_amount=250,
            discount_apply_before_sales=True,
            usable_on_subscription=False,
            usable_by_customer_id=str(customer.id),
        )
        response = paynow(key).post(
            f"/v1/stores/{customer.store_id}/coupons", body, format="json"
        )
        return _json(response)

    def refused(status: int, body: dict) -> None:
        assert status == 400, body
        assert (body["code"], body["trace_id"]) == ("bad-request", TRACE)
        assert [(e["path"], e["message"]) for e in body["errors"]] == [
            ("usable_by_customer_id", "No such customer in this store.")
        ]

    outcomes = _delete_against(create)

    for deleted, created, customer in outcomes:
        alive = Customer.objects.filter(id=customer.id).exists()
        restricted = Coupon.objects.filter(usable_by_customer_id=customer.id)
        if deleted[0] == 204:
            assert not alive
            refused(*created)
            assert not Coupon.objects.filter(code=f"ONLY-{customer.id}").exists()
        else:
            assert deleted == (409, HAS_HISTORY), deleted
            assert created[0] == 200, created
            assert alive
            assert restricted.count() == 1


# --- forced interleavings: the DELETE commits while the checkout waits -------------


def _deleted_while_waiting(checkout: Callable[[], Any], customer) -> Any:
    """``checkout`` runs while another transaction has deleted ``customer`` and not
    committed yet; the deletion commits once the checkout waits for it."""
    with Holder() as holder:
        holder.run("DELETE FROM customers_customer WHERE id = %s", [customer.id])
        result = start(checkout)
        wait_for_waiters(1)
        holder.commit()
    return result()


def test_a_native_redeem_waiting_for_a_customer_delete_answers_no_customer():
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    customer = CustomerFactory(store=store)
    coupon = CouponFactory(store=store, code="WAIT")

    response = _deleted_while_waiting(
        lambda: paynow(key).post(
            f"/v1/stores/{store.id}/redemptions",
            {"code": "WAIT", "customer_id": str(customer.id), "order_value": 100},
            format="json",
        ),
        customer,
    )

    assert _json(response) == (400, NATIVE_NO_CUSTOMER)
    assert not Redemption.objects.exists()
    coupon.refresh_from_db()
    assert coupon.redeemed_count == 0


def test_a_v11_redeem_of_a_customer_deleted_after_it_was_found_is_701():
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    customer = CustomerFactory(store=store, mobile=MOBILE)
    coupon = CouponFactory(store=store, code="WAIT")
    body = {
        "root": {
            "coupon": [
                {
                    "code": "WAIT",
                    "customer": {"mobile": MOBILE},
                    "transaction": [{"number": "T-1", "amount": "10.00"}],
                }
            ]
        }
    }

    # The customer is found (the deletion is not committed), then locked: gone.
    response = _deleted_while_waiting(
        lambda: capillary_client(key).post("/v1.1/coupon/redeem", body, format="json"),
        customer,
    )

    status, answer = _json(response)
    assert status == 400, answer
    assert answer["response"]["status"] == V11_ALL_FAILED
    (item,) = answer["response"]["coupons"]["coupon"]
    assert item["item_status"] == V11_NO_CUSTOMER
    assert item["customer"] == {
        "mobile": MOBILE,
        "email": None,
        "external_id": None,
        "id": None,
    }
    assert item["redemption_id"] is None
    assert not Redemption.objects.exists()
    coupon.refresh_from_db()
    assert coupon.redeemed_count == 0
