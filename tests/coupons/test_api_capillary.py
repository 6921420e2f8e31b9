"""Capillary v1.1 ``POST /v1.1/coupon/redeem`` and ``GET /v1.1/coupon/isredeemable``
over the shared redemption engine, through the real stack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from audit.models import AuditEvent
from coupons.models import Coupon, Redemption
from stores.auth import capillary_token_for
from stores.scopes import COUPONS_WRITE
from tests.concurrency import race
from tests.factories import (
    ApiKeyFactory,
    AssignmentFactory,
    CouponFactory,
    CustomerFactory,
    OutletFactory,
    RedemptionFactory,
    SeriesFactory,
    StoreFactory,
)
from tests.series.conftest import capillary_client as capillary

REDEEM = "/v1.1/coupon/redeem"
CHECK = "/v1.1/coupon/isredeemable"
NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
OK = {"success": "true", "code": 200, "message": "Success"}
SOME_FAILED = {
    "success": "true",
    "code": 201,
    "message": "Some requests have failed due to errors",
}
ALL_FAILED = {
    "success": "false",
    "code": 400,
    "message": "All requests have failed due to errors",
}
REDEEMED = {"success": "true", "code": 700, "message": "Coupon processing successful"}
REDEEMABLE = {
    "success": "true",
    "status": "true",
    "code": 700,
    "message": "Coupon isRedeem successful",
}
CUSTOMER_NOT_FOUND = (
    701,
    "Customer could not be found. Check the mobile, email, or external ID passed.",
)
INVALID_CODE = (702, "Coupon code is invalid.")
NOT_ISSUED = (703, "Coupon not issued to this customer")
NOT_FOR_CUSTOMER = (710, "Coupon is not meant for this customer")
USED = (711, "Coupon is already used")
SERIES_EXPIRED = (712, "Coupon Series / Campaign has expired")
EXPIRED = (713, "Coupon has expired")


def failure(code: int, message: str) -> dict:
    return {"success": "false", "code": code, "message": message}


def not_redeemable(code: int, message: str) -> dict:
    return {"success": "false", "status": "false", "code": code, "message": message}


def bad_request(message: str) -> dict:
    return {
        "response": {"status": {"success": "false", "code": 400, "message": message}}
    }


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def outlet(store):
    return OutletFactory(store=store, code="till_01", name="Till One")


@pytest.fixture
def till(store, outlet):
    """A key bound to an outlet: what it redeems is recorded there."""
    return ApiKeyFactory(store=store, outlet=outlet)


@pytest.fixture
def api(till) -> APIClient:
    return capillary(till)


@pytest.fixture
def customer(store):
    return CustomerFactory(
        store=store,
        mobile="9999988886",
        email="sam@example.com",
        external_id="ext-sam",
    )


def profile(customer) -> dict:
    return {
        "mobile": customer.mobile,
        "email": customer.email,
        "external_id": customer.external_id,
        "id": str(customer.compact_id),
    }


def body(*coupons: dict) -> dict:
    return {"root": {"coupon": list(coupons)}}


def item(code: str, customer=None, number=None, amount="100.00", **identifiers):
    ids = identifiers or {"mobile": customer.mobile}
    return {
        "code": code,
        "customer": ids,
        "transaction": [{"number": number, "amount": amount}],
    }


def redeem(api, payload):
    return api.post(REDEEM, payload, format="json")


def item_statuses(response) -> list[tuple[int, str]]:
    return [
        (c["item_status"]["code"], c["item_status"]["message"])
        for c in response.json()["response"]["coupons"]["coupon"]
    ]


def issued(customer, **coupon_fields) -> Coupon:
    """A series coupon issued to ``customer`` (an assignment)."""
    store = customer.store
    series = coupon_fields.pop("series", None) or SeriesFactory(store=store)
    coupon = CouponFactory(
        store=store,
        series=series,
        origin="generated",
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=1,
        **coupon_fields,
    )
    AssignmentFactory(
        store=store,
        coupon=coupon,
        customer=customer,
        series=series,
        channel="capillary",
    )
    return coupon


# --- redeem ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_redeem_records_outlet_transaction_and_discount(
    api, store, outlet, till, customer
):
    series = SeriesFactory(store=store, discount_code="SUMMER10")
    coupon = issued(
        customer,
        code="UZHYF",
        series=series,
        discount_type="percent",
        discount_amount=100,
    )

    response = redeem(api, body(item("uzhyf", customer, number="TXN-1", amount="50")))

    assert response.status_code == 200
    redemption = Redemption.objects.get()
    assert response.json() == {
        "response": {
            "status": OK,
            "coupons": {
                "coupon": [
                    {
                        "code": "UZHYF",
                        "customer": profile(customer),
                        "transaction": {"number": "TXN-1", "amount": "50.00"},
                        "redemption_id": str(redemption.compact_id),
                        "discount_code": "SUMMER10",
                        "discount_type": "PERC",
                        "discount_value": "5.00",
                        "item_status": REDEEMED,
                    }
                ]
            },
        }
    }
    assert redemption.coupon_id == coupon.id
    assert redemption.customer_id == customer.id
    assert redemption.outlet_id == outlet.id
    assert redemption.api_key_id == till.id
    assert redemption.transaction_number == "TXN-1"
    assert redemption.order_value == 5000
    assert redemption.discount_amount == 500
    assert redemption.dialect == "capillary"
    # The audit trail names the endpoint family the key called, as it always has.
    event = AuditEvent.objects.get(action="redeem")
    assert (event.channel, event.actor_type, event.actor_id) == (
        "capillary_v11",
        "api_key",
        till.pk,
    )
    coupon.refresh_from_db()
    assert coupon.redeemed_count == 1


@pytest.mark.django_db
def test_redeemed_coupon_shows_in_customer_coupons(api, store, outlet, customer):
    issued(customer, code="SHOWME")
    redeem(api, body(item("SHOWME", customer, number="TXN-9")))

    listed = api.get("/v1.1/customer/coupons", {"mobile": customer.mobile}).json()
    (rendered,) = listed["response"]["customers"]["customer"][0]["coupons"]["coupon"]
    (redemption,) = rendered["redemptions"]["redemption"]
    assert rendered["redemption_count"] == 1
    assert redemption["transaction_number"] == "TXN-9"
    assert redemption["redeemed_at"] == {"code": "till_01", "name": "Till One"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "transaction",
    [
        {"number": "N1", "amount": 12.5},
        [{"number": "N1", "amount": "12.50"}],
        {"number": "N1", "amount": "12.5"},
    ],
)
def test_transaction_is_an_object_or_a_list_of_one(api, customer, transaction):
    CouponFactory(store=customer.store, code="FLAT", discount_amount=500)
    payload = body(
        {"code": "FLAT", "customer": {"id": customer.id}, "transaction": transaction}
    )
    response = redeem(api, payload)
    assert response.status_code == 200, response.content
    (rendered,) = response.json()["response"]["coupons"]["coupon"]
    assert rendered["transaction"] == {"number": "N1", "amount": "12.50"}
    assert rendered["discount_value"] == "5.00"
    assert rendered["discount_type"] == "ABS"
    assert rendered["discount_code"] is None
    assert Redemption.objects.get().order_value == 1250


@pytest.mark.django_db
def test_transaction_is_optional(api, customer):
    CouponFactory(store=customer.store, code="FREE", discount_amount=500)
    payload = body({"code": "FREE", "customer": {"email": "SAM@example.com"}})
    response = redeem(api, payload)
    assert response.status_code == 200
    (rendered,) = response.json()["response"]["coupons"]["coupon"]
    assert rendered["transaction"] == {"number": None, "amount": "0.00"}
    assert rendered["discount_value"] == "0.00"
    redemption = Redemption.objects.get()
    assert redemption.transaction_number is None
    assert redemption.order_value == 0


@pytest.mark.django_db
def test_single_coupon_object_is_accepted(api, customer):
    CouponFactory(store=customer.store, code="ONE")
    response = redeem(api, {"root": {"coupon": item("ONE", customer)}})
    assert response.status_code == 200
    assert item_statuses(response) == [(700, "Coupon processing successful")]


@pytest.mark.django_db
def test_amount_uses_the_store_currencys_minor_unit(customer):
    store = customer.store
    store.currency = "JPY"
    store.save()
    CouponFactory(store=store, code="YEN", discount_amount=300)
    api = capillary(ApiKeyFactory(store=store))
    response = redeem(api, body(item("YEN", customer, amount="1000")))
    assert response.status_code == 200
    (rendered,) = response.json()["response"]["coupons"]["coupon"]
    assert rendered["transaction"]["amount"] == "1000"
    assert rendered["discount_value"] == "300"
    assert Redemption.objects.get().order_value == 1000


@pytest.mark.django_db
def test_oauth_token_is_accepted(store, customer):
    CouponFactory(store=store, code="TOKEN")
    api = APIClient()
    api.credentials(
        HTTP_X_CAP_API_OAUTH_TOKEN=capillary_token_for(ApiKeyFactory(store=store))
    )
    response = redeem(api, body(item("TOKEN", customer)))
    assert response.status_code == 200
    assert Redemption.objects.get().outlet_id is None


# --- refusals: each with Capillary's code, nothing written --------------------------


def _refused(api, customer, code: str, expected: tuple[int, str], **identifiers):
    before = Redemption.objects.count()
    response = redeem(api, body(item(code, customer, number="T", **identifiers)))
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["response"]["status"] == ALL_FAILED
    (rendered,) = payload["response"]["coupons"]["coupon"]
    assert rendered["item_status"] == failure(*expected)
    assert rendered["redemption_id"] is None
    assert rendered["discount_value"] is None
    assert Redemption.objects.count() == before
    return rendered


@pytest.mark.django_db
def test_unknown_customer_is_701(api, customer):
    CouponFactory(store=customer.store, code="ANY")
    rendered = _refused(
        api, customer, "ANY", CUSTOMER_NOT_FOUND, mobile="0000", email="x@example.com"
    )
    assert rendered["customer"] == {
        "mobile": "0000",
        "email": "x@example.com",
        "external_id": None,
        "id": None,
    }
    assert rendered["code"] == "ANY"


@pytest.mark.django_db
def test_another_stores_customer_is_701(api, customer):
    CouponFactory(store=customer.store, code="ANY")
    stranger = CustomerFactory(store=StoreFactory())
    _refused(api, customer, "ANY", CUSTOMER_NOT_FOUND, id=str(stranger.id))


@pytest.mark.django_db
def test_unknown_code_is_702(api, customer):
    rendered = _refused(api, customer, "NOPE", INVALID_CODE)
    assert rendered["customer"] == profile(customer)


@pytest.mark.django_db
def test_another_stores_code_is_702(api, customer):
    CouponFactory(store=StoreFactory(), code="THEIRS")
    _refused(api, customer, "THEIRS", INVALID_CODE)


@pytest.mark.django_db
def test_series_coupon_issued_to_someone_else_is_703(api, store, customer):
    issued(CustomerFactory(store=store), code="NOTYOURS")
    _refused(api, customer, "NOTYOURS", NOT_ISSUED)


@pytest.mark.django_db
def test_pooled_code_is_703(api, store, customer):
    CouponFactory(
        store=store, code="POOLED", series=SeriesFactory(store=store), pooled=True
    )
    _refused(api, customer, "POOLED", NOT_ISSUED)


@pytest.mark.django_db
def test_coupon_restricted_to_another_customer_is_710(api, store, customer):
    CouponFactory(
        store=store, code="PRIVATE", usable_by_customer=CustomerFactory(store=store)
    )
    _refused(api, customer, "PRIVATE", NOT_FOR_CUSTOMER)


@pytest.mark.django_db
def test_used_single_use_coupon_is_711(api, customer):
    issued(customer, code="ONCE")
    assert redeem(api, body(item("ONCE", customer))).status_code == 200
    _refused(api, customer, "ONCE", USED)


@pytest.mark.django_db
def test_per_customer_limit_is_711(api, store, customer):
    CouponFactory(
        store=store,
        code="TWICE",
        redeem_limit_customer_enabled=True,
        redeem_limit_customer_amount=2,
    )
    RedemptionFactory.create_batch(
        2, store=store, coupon=Coupon.objects.get(code="TWICE"), customer=customer
    )
    _refused(api, customer, "TWICE", USED)


@pytest.mark.django_db
def test_rolled_back_redemption_frees_the_coupon(api, store, customer):
    coupon = issued(customer, code="AGAIN")
    RedemptionFactory(store=store, coupon=coupon, customer=customer, rolled_back_at=NOW)
    assert redeem(api, body(item("AGAIN", customer))).status_code == 200


@pytest.mark.django_db
def test_expired_coupon_is_713(api, customer, frozen):
    issued(customer, code="OLD", expires_at=NOW - timedelta(seconds=1))
    _refused(api, customer, "OLD", EXPIRED)


@pytest.mark.django_db
def test_coupon_of_an_ended_series_is_712(api, store, customer, frozen):
    series = SeriesFactory(store=store, valid_till=NOW - timedelta(days=1))
    issued(customer, code="ENDED", series=series, expires_at=NOW - timedelta(days=1))
    _refused(api, customer, "ENDED", SERIES_EXPIRED)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"enabled": False}, "the coupon is disabled"),
        ({"usable_at": NOW + timedelta(days=1)}, "the coupon is not valid yet"),
        (
            {"minimum_order_value": 20_000},
            "the bill amount is below the coupon's minimum",
        ),
        (
            {"usable_on_one_time_purchase": False},
            "the coupon does not apply to this transaction",
        ),
        (
            {"apply_to_products": ["411486491630370816"]},
            "the coupon does not apply to this transaction",
        ),
    ],
)
def test_rules_without_a_capillary_code_are_709(
    api, store, customer, frozen, fields, message
):
    CouponFactory(store=store, code="RULED", **fields)
    _refused(api, customer, "RULED", (709, f"Coupon processing failed: {message}"))


@pytest.mark.django_db
def test_first_order_only_is_709(api, store, customer):
    RedemptionFactory(store=store, customer=customer)
    CouponFactory(store=store, code="FIRST", is_first_order_only=True)
    _refused(
        api,
        customer,
        "FIRST",
        (709, "Coupon processing failed: the coupon is for a first purchase only"),
    )


@pytest.mark.django_db
def test_the_most_telling_reason_is_reported(api, store, customer, frozen):
    # Not issued to this customer, used up and expired: "not issued" comes first.
    coupon = issued(CustomerFactory(store=store), code="MANY", expires_at=NOW)
    RedemptionFactory(store=store, coupon=coupon)
    Coupon.objects.filter(pk=coupon.pk).update(redeemed_count=1)
    _refused(api, customer, "MANY", NOT_ISSUED)


# --- several coupons: each on its own -------------------------------------------------


@pytest.mark.django_db
def test_some_failed_is_200_with_201_and_only_successes_written(api, store, customer):
    issued(customer, code="GOOD1")
    issued(customer, code="GOOD2")
    response = redeem(
        api,
        body(
            item("GOOD1", customer),
            item("NOPE", customer),
            item("GOOD2", customer),
            item("GOOD1", customer),
        ),
    )
    assert response.status_code == 200
    assert response.json()["response"]["status"] == SOME_FAILED
    assert item_statuses(response) == [
        (700, "Coupon processing successful"),
        INVALID_CODE,
        (700, "Coupon processing successful"),
        USED,
    ]
    assert sorted(Redemption.objects.values_list("coupon__code", flat=True)) == [
        "GOOD1",
        "GOOD2",
    ]


@pytest.mark.django_db
def test_all_failed_is_400(api, customer):
    response = redeem(api, body(item("NOPE1", customer), item("NOPE2", customer)))
    assert response.status_code == 400
    assert response.json()["response"]["status"] == ALL_FAILED
    assert item_statuses(response) == [INVALID_CODE, INVALID_CODE]


@pytest.mark.django_db
def test_a_bad_item_fails_the_whole_request_before_anything_is_written(api, customer):
    CouponFactory(store=customer.store, code="FINE")
    response = redeem(
        api, body(item("FINE", customer), item("FINE", customer, amount="-1"))
    )
    assert response.status_code == 400
    assert not Redemption.objects.exists()


# --- bad bodies -----------------------------------------------------------------------


AMOUNT = "root.coupon.0.transaction.amount: "
BAD_AMOUNT = AMOUNT + 'Must be a non-negative amount such as 50 or "50.00".'


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "The body must be a JSON object."),
        ({}, "root: This field is required."),
        ({"root": {}}, "root.coupon: This field is required."),
        ({"root": {"coupon": []}}, "root.coupon: This list may not be empty."),
        (
            body({"customer": {"mobile": "1"}}),
            "root.coupon.0.code: This field is required.",
        ),
        (
            body({"code": 7, "customer": {"mobile": "1"}}),
            "root.coupon.0.code: Must be a string.",
        ),
        (body({"code": "X"}), "root.coupon.0.customer: This field is required."),
        (
            body({"code": "X", "customer": {}}),
            "root.coupon.0.customer: Pass at least one customer identifier: mobile, "
            "email, external_id or id.",
        ),
        (
            body({"code": "X", "customer": {"mobile": "", "email": None}}),
            "root.coupon.0.customer: Pass at least one customer identifier: mobile, "
            "email, external_id or id.",
        ),
        (
            body({"code": "X", "customer": {"mobile": 99}}),
            "root.coupon.0.customer.mobile: Must be a string.",
        ),
        (
            body({"code": "X", "customer": {"id": "abc"}}),
            "root.coupon.0.customer.id: Must be a numeric ID.",
        ),
        (
            body({"code": "X", "customer": {"mobile": "1"}, "transaction": []}),
            "root.coupon.0.transaction: Pass one transaction per coupon.",
        ),
        (
            body({"code": "X", "customer": {"mobile": "1"}, "transaction": "t"}),
            "root.coupon.0.transaction: Must be an object {number, amount}.",
        ),
        (
            body(
                {
                    "code": "X",
                    "customer": {"mobile": "1"},
                    "transaction": {"amount": "ten"},
                }
            ),
            BAD_AMOUNT,
        ),
        (
            body(
                {
                    "code": "X",
                    "customer": {"mobile": "1"},
                    "transaction": {"amount": -5},
                }
            ),
            BAD_AMOUNT,
        ),
        (
            body(
                {
                    "code": "X",
                    "customer": {"mobile": "1"},
                    "transaction": {"amount": True},
                }
            ),
            BAD_AMOUNT,
        ),
        (
            body(
                {
                    "code": "X",
                    "customer": {"mobile": "1"},
                    "transaction": {"amount": "1e9"},
                }
            ),
            BAD_AMOUNT,
        ),
        (
            body(
                {
                    "code": "X",
                    "customer": {"mobile": "1"},
                    "transaction": {"amount": "90071992547409.92"},
                }
            ),
            AMOUNT + "USD amounts are at most 90071992547409.91.",
        ),
        (
            body(
                {
                    "code": "X",
                    "customer": {"mobile": "1"},
                    "transaction": {"amount": "9007199254740992"},
                }
            ),
            "root.coupon.0.transaction.amount: Must not exceed 9007199254740991.",
        ),
        (
            body(
                {
                    "code": "X",
                    "customer": {"mobile": "1"},
                    "transaction": {"amount": "1.005"},
                }
            ),
            AMOUNT + "USD amounts have at most 2 decimal places.",
        ),
        (
            body(
                {"code": "X", "customer": {"mobile": "1"}, "transaction": {"number": 5}}
            ),
            "root.coupon.0.transaction.number: Must be a string.",
        ),
    ],
)
def test_bad_bodies_are_400_and_write_nothing(api, customer, payload, message):
    CouponFactory(store=customer.store, code="X")
    response = redeem(api, payload)
    assert response.status_code == 400
    assert response.json() == bad_request(f"Input is invalid. {message}")
    assert not Redemption.objects.exists()


@pytest.mark.django_db
def test_a_minimum_as_high_as_paynow_allows_can_be_met_through_v1_1(api, customer):
    # PayNow takes minimum_order_value up to 2^53-1 cents; v1.1 took amounts below
    # 10^13 dollars only, so such a coupon could never be redeemed here.
    issued(
        customer,
        code="BIGMIN",
        discount_type="amount",
        discount_amount=100,
        minimum_order_value=2**53 - 1,
    )

    response = redeem(
        api, body(item("BIGMIN", customer, number="T1", amount="90071992547409.91"))
    )

    assert response.status_code == 200
    (coupon,) = response.json()["response"]["coupons"]["coupon"]
    assert (coupon["transaction"], coupon["discount_value"]) == (
        {"number": "T1", "amount": "90071992547409.91"},
        "1.00",
    )
    assert coupon["item_status"] == REDEEMED
    assert Redemption.objects.get().order_value == 2**53 - 1


@pytest.mark.django_db
def test_more_than_50_coupons_is_400(api, customer):
    response = redeem(api, body(*[item(f"C{n}", customer) for n in range(51)]))
    assert response.status_code == 400
    assert response.json() == bad_request(
        "Input is invalid. root.coupon: Ensure this field has no more than 50 elements."
    )


@pytest.mark.django_db
def test_malformed_json_is_400(api):
    response = api.post(REDEEM, "{", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["response"]["status"]["code"] == 400


@pytest.mark.django_db
def test_redeem_without_series_scope_is_403(store, customer):
    key = ApiKeyFactory(store=store, scopes=[COUPONS_WRITE])
    response = redeem(capillary(key), body(item("X", customer)))
    assert response.status_code == 403
    assert response.json() == {
        "response": {
            "status": {
                "success": "false",
                "code": 403,
                "message": "This API key lacks the 'series' scope.",
            }
        }
    }


@pytest.mark.django_db
def test_redeem_without_credentials_is_401():
    response = APIClient().post(REDEEM, body(), format="json")
    assert response.status_code == 401
    assert response.json()["response"]["status"]["code"] == 401


# --- isredeemable ---------------------------------------------------------------------


def check(api, **params):
    return api.get(CHECK, params)


def checked(api, **params) -> list[dict]:
    response = check(api, **params)
    assert response.status_code == 200, response.content
    assert response.json()["response"]["status"] == OK
    return response.json()["response"]["coupons"]["redeemable"]


@pytest.mark.django_db
def test_isredeemable_yes(api, store, customer):
    coupon = issued(customer, code="f3lru8", discount_amount=1700)
    RedemptionFactory(store=store, coupon=coupon, customer=customer, rolled_back_at=NOW)

    response = check(api, mobile=customer.mobile, code="F3LRU8")

    assert response.status_code == 200
    assert response.json() == {
        "response": {
            "status": OK,
            "coupons": {
                "redeemable": [
                    {
                        "mobile": customer.mobile,
                        "code": "F3LRU8",
                        "is_redeemable": "true",
                        "redemptions_left": 1,
                        "no_of_redemptions_by_user": 0,
                        "coupon_value": "17.00",
                        "customer": profile(customer),
                        "item_status": REDEEMABLE,
                    }
                ]
            },
        }
    }


@pytest.mark.django_db
def test_isredeemable_reports_each_code(api, store, customer, frozen):
    issued(customer, code="GOOD")
    used = issued(customer, code="USED")
    RedemptionFactory(store=store, coupon=used, customer=customer)
    Coupon.objects.filter(pk=used.pk).update(redeemed_count=1)
    issued(customer, code="OLD", expires_at=NOW)
    issued(CustomerFactory(store=store), code="THEIRS")
    CouponFactory(
        store=store, code="PRIVATE", usable_by_customer=CustomerFactory(store=store)
    )
    ended = SeriesFactory(store=store, valid_till=NOW)
    issued(customer, code="ENDED", series=ended, expires_at=NOW)
    CouponFactory(store=store, code="OFF", enabled=False)

    items = checked(
        api,
        email=customer.email,
        code="good, used,OLD,THEIRS,nope,PRIVATE,ENDED,OFF,",
    )

    assert [(i["code"], i["is_redeemable"], i["item_status"]) for i in items] == [
        ("GOOD", "true", REDEEMABLE),
        ("USED", "false", not_redeemable(*USED)),
        ("OLD", "false", not_redeemable(*EXPIRED)),
        ("THEIRS", "false", not_redeemable(*NOT_ISSUED)),
        ("NOPE", "false", not_redeemable(*INVALID_CODE)),
        ("PRIVATE", "false", not_redeemable(*NOT_FOR_CUSTOMER)),
        ("ENDED", "false", not_redeemable(*SERIES_EXPIRED)),
        (
            "OFF",
            "false",
            not_redeemable(709, "Coupon processing failed: the coupon is disabled"),
        ),
    ]
    by_code = {i["code"]: i for i in items}
    assert by_code["USED"]["no_of_redemptions_by_user"] == 1
    assert by_code["USED"]["redemptions_left"] == 0
    assert by_code["NOPE"]["redemptions_left"] == 0
    assert by_code["NOPE"]["coupon_value"] is None
    assert by_code["PRIVATE"]["redemptions_left"] == -1


@pytest.mark.django_db
def test_isredeemable_ignores_the_bill_minimum(api, store, customer):
    CouponFactory(store=store, code="BIGBILL", minimum_order_value=100_000)
    (only,) = checked(api, mobile=customer.mobile, code="BIGBILL")
    assert only["is_redeemable"] == "true"


@pytest.mark.django_db
def test_isredeemable_counts_limits(api, store, customer):
    coupon = CouponFactory(
        store=store,
        code="LIMITS",
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=10,
        redeem_limit_customer_enabled=True,
        redeem_limit_customer_amount=3,
    )
    RedemptionFactory(store=store, coupon=coupon, customer=customer)
    RedemptionFactory(store=store, coupon=coupon)
    Coupon.objects.filter(pk=coupon.pk).update(redeemed_count=2)
    (only,) = checked(api, mobile=customer.mobile, code="LIMITS")
    assert only["redemptions_left"] == 2
    assert only["no_of_redemptions_by_user"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (None, "MIXED1"),
        ("lower", "mixed1"),
        ("UPPER", "MIXED1"),
        ("AS_IT_IS", "MiXeD1"),
    ],
)
def test_coupon_code_case(api, store, customer, case, expected):
    CouponFactory(store=store, code="MiXeD1")
    params = {"mobile": customer.mobile, "code": "mixed1"}
    if case:
        params["coupon_code_case"] = case
    (only,) = checked(api, **params)
    assert only["code"] == expected


@pytest.mark.django_db
@pytest.mark.parametrize("details", ["true", "extended"])
def test_details_add_the_coupon_details(api, store, customer, details):
    series = SeriesFactory(store=store, description="Gold", discount_code="GOLD1")
    issued(
        customer,
        code="DETAIL",
        series=series,
        discount_type="percent",
        discount_amount=125,
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    items = checked(api, mobile=customer.mobile, code="DETAIL,NOPE", details=details)
    assert items[0]["coupon_value"] == "12.5"
    assert items[0]["coupon_details"] == {
        "series_id": str(series.compact_id),
        "series_name": "Gold",
        "discount_code": "GOLD1",
        "discount_type": "PERC",
        "discount_value": "12.5",
        "valid_till": "2030-01-01 00:00:00",
    }
    assert items[1]["coupon_details"] is None


@pytest.mark.django_db
def test_without_details_there_are_no_coupon_details(api, store, customer):
    CouponFactory(store=store, code="PLAIN")
    (only,) = checked(api, mobile=customer.mobile, code="PLAIN", details="false")
    assert "coupon_details" not in only


@pytest.mark.django_db
def test_isredeemable_unknown_customer_is_701(api, customer):
    response = check(api, mobile="0000", code="a,b")
    assert response.status_code == 400
    echoed = {"mobile": "0000", "email": None, "external_id": None, "id": None}
    expected = [
        {
            "mobile": "0000",
            "code": code,
            "is_redeemable": "false",
            "redemptions_left": None,
            "no_of_redemptions_by_user": 0,
            "coupon_value": None,
            "customer": echoed,
            "item_status": not_redeemable(*CUSTOMER_NOT_FOUND),
        }
        for code in ("A", "B")
    ]
    assert response.json() == {
        "response": {"status": ALL_FAILED, "coupons": {"redeemable": expected}}
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"code": "X"},
            "Pass at least one customer identifier: mobile, email, external_id or id.",
        ),
        ({"mobile": "1"}, "code: This field is required."),
        ({"mobile": "1", "code": " , ,"}, "code: Pass at least one coupon code."),
        (
            {"mobile": "1", "code": ",".join(f"C{n}" for n in range(51))},
            "code: Pass at most 50 coupon codes.",
        ),
        (
            {"mobile": "1", "code": "X", "details": "yes"},
            'details: "yes" is not one of: true, false, extended.',
        ),
        (
            {"mobile": "1", "code": "X", "coupon_code_case": "title"},
            'coupon_code_case: "title" is not one of: upper, lower, as_it_is.',
        ),
    ],
)
def test_isredeemable_bad_parameters_are_400(api, params, message):
    response = check(api, **params)
    assert response.status_code == 400
    assert response.json() == bad_request(f"Input is invalid. {message}")


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 20])
def test_isredeemable_query_count_is_constant(
    api, store, customer, django_assert_num_queries, count
):
    codes = []
    for n in range(count):
        coupon = issued(customer, code=f"Q{n}", is_first_order_only=True)
        RedemptionFactory(store=store, coupon=coupon, customer=customer)
        codes.append(coupon.code)
    # key, customer, coupons, the customer's use, first order, holdings, live
    # holds (issue 20: a limited coupon's holds count as uses)
    with django_assert_num_queries(7):
        items = checked(api, mobile=customer.mobile, code=",".join(codes))
    assert len(items) == count


@pytest.mark.django_db
def test_isredeemable_takes_the_largest_documented_list(api, customer):
    # 50 codes of 100 characters, a comma and a space between each: 5,098 characters.
    codes = [f"{n:02d}".ljust(100, "X") for n in range(50)]

    items = checked(api, mobile=customer.mobile, code=", ".join(codes))

    assert [item["code"] for item in items] == codes
    assert {item["item_status"]["code"] for item in items} == {702}


@pytest.mark.django_db
def test_isredeemable_writes_nothing(api, store, customer):
    issued(customer, code="READONLY")
    checked(api, mobile=customer.mobile, code="READONLY")
    assert not Redemption.objects.exists()
    assert Coupon.objects.get(code="READONLY").redeemed_count == 0


# --- concurrency (PostgreSQL) ---------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_redeems_never_pass_the_store_limit():
    threads = 10
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    customers = [CustomerFactory(store=store) for _ in range(threads)]
    coupon = CouponFactory(
        store=store,
        code="RACE",
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=3,
    )

    def run(index: int) -> tuple[int, int]:
        response = redeem(capillary(key), body(item("RACE", customers[index])))
        return response.status_code, item_statuses(response)[0][0]

    results = race(threads, run, timeout=60)
    assert sorted(results) == [(200, 700)] * 3 + [(400, 711)] * 7
    assert Redemption.objects.filter(coupon=coupon).count() == 3
    coupon.refresh_from_db()
    assert coupon.redeemed_count == 3


# --- Idempotency-Key ------------------------------------------------------------------


@pytest.mark.django_db
def test_redeem_retried_with_its_idempotency_key_replays_and_writes_nothing(
    api, customer
):
    CouponFactory(store=customer.store, code="RETRY")
    payload = body(item("RETRY", customer, number="T-7"))
    first = api.post(REDEEM, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post(REDEEM, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Redemption.objects.count() == 1


@pytest.mark.django_db
def test_idempotency_key_reused_for_another_body_is_422_in_the_v11_envelope(
    api, customer
):
    CouponFactory(store=customer.store, code="RETRY")
    api.post(
        REDEEM, body(item("RETRY", customer)), format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    response = api.post(
        REDEEM, body(item("OTHER", customer)), format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert response.status_code == 422
    status = response.json()["response"]["status"]
    assert (status["success"], status["code"]) == ("false", 422)
    assert Redemption.objects.count() == 1
