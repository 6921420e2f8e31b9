"""Codes people can type (issue 20 part 2) through every dialect that takes a code:
a check-character code is read in any case, without spaces or dashes, O as 0 and
I/L as 1; one whose check character is wrong is the dialect's "invalid code",
reason ``typo``, refused without reading the database."""

from __future__ import annotations

import base64

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from audit.models import AuditEvent
from core.actors import Actor
from core.errors import DomainError
from coupons import typed_codes
from coupons.models import Coupon, Redemption
from coupons.redeem import cart
from coupons.redeem import service as redeem
from coupons.redeem.decide import Order
from coupons.typos import TYPO_MESSAGE
from series import services as series_services
from stores.models import Store
from stores.services import md5_hex
from tests.factories import (
    ApiKeyFactory,
    AssignmentFactory,
    CouponFactory,
    CustomerFactory,
)
from tests.paynow import coupon_body, error_body, validation_error

pytestmark = pytest.mark.django_db

CODE = "BF9KX2ABCDY"  # prefix BF, body 9KX2ABCD, check character Y
TYPED = "bf-9kx2-abcd y"
TYPO = "BF9KX2ABDCY"  # C and D swapped
LOOKALIKE_BODY = "0KX21BCD"
LOOKALIKE = "BF" + LOOKALIKE_BODY + typed_codes.check_symbol(LOOKALIKE_BODY)
TYPO_REASON = {"code": "typo", "message": TYPO_MESSAGE}


@pytest.fixture(autouse=True)
def _small_pool(settings):
    settings.SERIES_POOL_TARGET = 20
    settings.SERIES_POOL_LOW = 5


def check_series(store: Store, **values):
    defaults = {
        "description": "Typeable",
        "discount_type": "ABS",
        "discount_value": 5,
        "random_code_length": 8,
        "code_prefix": "bf",
        "check_character": True,
    }
    defaults.update(values)
    return series_services.series_create(store=store, **defaults)


@pytest.fixture
def series(store):
    return check_series(store)


@pytest.fixture
def customer(store):
    return CustomerFactory(store=store, mobile="9999988886")


def reads(captured) -> list[str]:
    """The statements that read or lock a coupon or a customer."""
    return [
        q["sql"]
        for q in captured.captured_queries
        if "coupons_coupon" in q["sql"] or "customers_customer" in q["sql"]
    ]


def audit_writes(captured) -> list[str]:
    return [
        q["sql"] for q in captured.captured_queries if "audit_auditevent" in q["sql"]
    ]


# --- generation -----------------------------------------------------------------------


def test_a_check_series_generates_check_codes_and_reserves_their_shape(store, series):
    codes = list(Coupon.objects.filter(series=series).values_list("code", flat=True))
    assert len(codes) == 20
    assert len(set(codes)) == 20
    for code in codes:
        assert code.startswith("BF")
        assert len(code) == 11
        assert set(code[2:]) <= set(typed_codes.ALPHABET)
        assert typed_codes.is_valid(code[2:])
    assert series.code_prefix == "BF"  # stored as lookups read it
    store.refresh_from_db()
    assert store.typed_code_shapes == [["BF", 8, ""]]


def test_a_second_series_of_the_same_shape_keeps_one_shape(store, series):
    check_series(store, description="Again")
    check_series(store, description="Longer", random_code_length=10)
    store.refresh_from_db()
    assert store.typed_code_shapes == [["BF", 8, ""], ["BF", 10, ""]]


def test_a_check_series_prefix_is_crockford_symbols_only(store):
    with pytest.raises(DomainError) as caught:
        check_series(store, code_prefix="SALE")  # L is not a symbol
    assert caught.value.reason == "invalid_series"
    assert caught.value.fields[0].path == "code_prefix"
    store.refresh_from_db()
    assert store.typed_code_shapes == []


def test_a_check_series_is_refused_while_a_code_would_read_as_a_typo(store):
    CouponFactory(store=store, code="BF9KX2ABCDZ")  # the shape, check wrong
    with pytest.raises(DomainError) as caught:
        check_series(store)
    assert caught.value.reason == "invalid_series"
    assert caught.value.fields[0].path == "check_character"
    store.refresh_from_db()
    assert store.typed_code_shapes == []


# --- PayNow (native) validate ---------------------------------------------------------


def test_validate_reads_a_check_code_typed_loosely(paynow, base, store, series):
    CouponFactory(store=store, code=CODE, discount_type="amount", discount_amount=300)
    for typed in (CODE, TYPED, " B F 9 K X 2 A B C D Y ", CODE.lower()):
        response = paynow.post(
            f"{base}/coupons/validate", {"code": typed, "order_value": 1000}, "json"
        )
        assert response.json() == {"valid": True, "reasons": [], "discount": 300}


def test_validate_reads_look_alikes_as_digits(paynow, base, store, series):
    CouponFactory(store=store, code=LOOKALIKE, discount_amount=0)
    typed = LOOKALIKE.replace("0", "o").replace("1", "L")
    response = paynow.post(f"{base}/coupons/validate", {"code": typed}, "json")
    assert response.json() == {"valid": True, "reasons": [], "discount": 0}


def test_validate_a_typo_reads_nothing_and_is_audited(
    paynow, base, store, series, customer, api_key
):
    CouponFactory(store=store, code=CODE)
    with CaptureQueriesContext(connection) as captured:
        response = paynow.post(
            f"{base}/coupons/validate",
            {"code": TYPO, "customer_id": str(customer.id)},
            "json",
        )
    assert response.status_code == 200
    assert response.json() == {"valid": False, "reasons": [TYPO_REASON], "discount": 0}
    assert reads(captured) == []
    # The typo is in the audit trail, as a redemption's is: one INSERT, no read.
    (insert,) = audit_writes(captured)
    assert insert.startswith("INSERT")
    event = AuditEvent.objects.get(action="typo")
    assert (event.store_id, event.object_type, event.changes) == (
        store.id,
        "code",
        {"code": TYPO},
    )
    assert (event.channel, event.actor_type, event.actor_id) == (
        "paynow",
        "api_key",
        api_key.id,
    )


def test_validate_a_valid_or_unknown_code_writes_no_audit(paynow, base, store, series):
    CouponFactory(store=store, code=CODE)
    with CaptureQueriesContext(connection) as captured:
        for code in (CODE, "NO-SUCH-CODE"):
            paynow.post(f"{base}/coupons/validate", {"code": code}, "json")
    assert audit_writes(captured) == []


def test_validate_an_unknown_check_code_is_not_found(paynow, base, series):
    unknown = "BF" + "ZZZZZZZZ" + typed_codes.check_symbol("ZZZZZZZZ")
    response = paynow.post(f"{base}/coupons/validate", {"code": unknown}, "json")
    assert response.json() == {
        "valid": False,
        "reasons": [{"code": "not_found", "message": "No coupon has this code."}],
        "discount": 0,
    }


# --- PayNow (native) redemptions ------------------------------------------------------


def test_redeem_a_check_code_typed_loosely(paynow, base, store, series):
    coupon = CouponFactory(store=store, code=CODE)
    response = paynow.post(f"{base}/redemptions", {"code": TYPED}, "json")
    assert response.status_code == 200, response.content
    assert response.json()["code"] == CODE
    assert Redemption.objects.get().coupon_id == coupon.id


def test_redeem_a_typo_is_404_typo_and_audited_without_a_read(
    paynow, base, store, series, api_key
):
    CouponFactory(store=store, code=CODE)
    with CaptureQueriesContext(connection) as captured:
        response = paynow.post(
            f"{base}/redemptions",
            {"code": "bf-9kx2-abcd-z"},
            "json",
            HTTP_X_REQUEST_ID="trace-typo",
        )
    assert response.status_code == 404
    assert response.json() == error_body(
        404,
        "not-found",
        TYPO_MESSAGE,
        [validation_error("code", "typo", TYPO_MESSAGE)],
        trace="trace-typo",
    )
    assert reads(captured) == []
    (insert,) = audit_writes(captured)
    assert insert.startswith("INSERT")
    assert not Redemption.objects.exists()
    event = AuditEvent.objects.get(action="typo")
    assert (event.store_id, event.object_type, event.changes) == (
        store.id,
        "code",
        {"code": "bf-9kx2-abcd-z"},
    )
    assert (event.channel, event.actor_type, event.actor_id) == (
        "paynow",
        "api_key",
        api_key.id,
    )


@pytest.mark.parametrize("code", ["SUMMER-SALE", "bf123", "BF9KX2ABC", "BF9KX2ABCUY"])
def test_ordinary_codes_are_redeemed_as_before(paynow, base, store, series, code):
    coupon = CouponFactory(store=store, code=code)
    response = paynow.post(f"{base}/redemptions", {"code": code.lower()}, "json")
    assert response.status_code == 200, response.content
    assert Redemption.objects.get().coupon_id == coupon.id


def test_without_check_series_a_typo_shaped_code_is_an_ordinary_lookup(paynow, base):
    response = paynow.post(f"{base}/redemptions", {"code": TYPO}, "json")
    assert response.status_code == 404
    assert response.json()["message"] == "Coupon not found."


def test_a_code_that_would_read_as_a_typo_cannot_be_created(paynow, base, series):
    payload = coupon_body(code="BF9KX2ABCDZ")
    response = paynow.post(f"{base}/coupons", payload, "json")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "conflict"
    assert response.json()["errors"] == [
        {
            "code": "unique",
            "message": "This code's format is taken.",
            "path": "code",
            "validation": "unique",
        }
    ]
    payload["code"] = CODE  # a right check character: an ordinary lookup finds it
    assert paynow.post(f"{base}/coupons", payload, "json").status_code == 200


# --- Capillary v1.1 -------------------------------------------------------------------


def capillary_v11(store) -> tuple[APIClient, object]:
    key = ApiKeyFactory(store=store)
    raw = f"{key.key_id}:{md5_hex(key.secret)}".encode()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(raw).decode())
    return api, key


def issued_to(customer, series) -> Coupon:
    """One of the series' pooled codes, issued to ``customer``."""
    coupon = Coupon.objects.filter(series=series).order_by("id").first()
    Coupon.objects.filter(pk=coupon.pk).update(pooled=False)
    AssignmentFactory(
        store=customer.store, coupon=coupon, customer=customer, series=series
    )
    return coupon


def v11_redeem(api, code, customer):
    item = {
        "code": code,
        "customer": {"mobile": customer.mobile},
        "transaction": [{"number": "T1", "amount": "10"}],
    }
    return api.post("/v1.1/coupon/redeem", {"root": {"coupon": [item]}}, "json")


def dashed_lower(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4)).lower()


def test_v11_redeems_an_issued_check_code_typed_loosely(store, series, customer):
    api, _ = capillary_v11(store)
    coupon = issued_to(customer, series)

    response = v11_redeem(api, dashed_lower(coupon.code), customer)

    assert response.status_code == 200, response.content
    (rendered,) = response.json()["response"]["coupons"]["coupon"]
    assert rendered["code"] == coupon.code
    assert rendered["item_status"]["code"] == 700
    assert Redemption.objects.get().coupon_id == coupon.id


def test_v11_redeem_a_typo_is_702_without_a_read(store, series, customer):
    api, key = capillary_v11(store)
    coupon = issued_to(customer, series)
    typo = coupon.code[:-1] + next(s for s in "0123" if s != coupon.code[-1])

    with CaptureQueriesContext(connection) as captured:
        response = v11_redeem(api, typo, customer)

    assert response.status_code == 400
    assert response.json() == {
        "response": {
            "status": {
                "success": "false",
                "code": 400,
                "message": "All requests have failed due to errors",
            },
            "coupons": {
                "coupon": [
                    {
                        "code": typo,
                        "customer": {
                            "mobile": customer.mobile,
                            "email": None,
                            "external_id": None,
                            "id": None,
                        },
                        "transaction": {"number": "T1", "amount": "10.00"},
                        "redemption_id": None,
                        "discount_code": None,
                        "discount_type": None,
                        "discount_value": None,
                        "item_status": {
                            "success": "false",
                            "code": 702,
                            "message": "Coupon code is invalid.",
                        },
                    }
                ]
            },
        }
    }
    assert reads(captured) == []
    event = AuditEvent.objects.get(action="typo")
    assert (event.channel, event.actor_id, event.changes) == (
        "capillary_v11",
        key.id,
        {"code": typo},
    )
    assert not Redemption.objects.exists()


def test_v11_isredeemable_reads_loose_codes_and_refuses_typos_unread(
    store, series, customer
):
    api, _ = capillary_v11(store)
    coupon = issued_to(customer, series)
    typo = coupon.code[:-1] + next(s for s in "0123" if s != coupon.code[-1])

    with CaptureQueriesContext(connection) as captured:
        response = api.get(
            "/v1.1/coupon/isredeemable", {"mobile": customer.mobile, "code": typo}
        )
    assert response.status_code == 200
    (item,) = response.json()["response"]["coupons"]["redeemable"]
    assert (item["code"], item["is_redeemable"], item["item_status"]) == (
        typo,
        "false",
        {
            "success": "false",
            "status": "false",
            "code": 702,
            "message": "Coupon code is invalid.",
        },
    )
    assert not [sql for sql in reads(captured) if "coupons_coupon" in sql]

    response = api.get(
        "/v1.1/coupon/isredeemable",
        {"mobile": customer.mobile, "code": f"{dashed_lower(coupon.code)},{typo}"},
    )
    items = response.json()["response"]["coupons"]["redeemable"]
    assert [(i["code"], i["is_redeemable"]) for i in items] == [
        (coupon.code, "true"),
        (typo, "false"),
    ]


# --- PayNow (native): several codes on a cart -----------------------------------------


def test_validate_codes_on_a_cart_reads_each_code_the_same_way(
    paynow, base, store, series
):
    CouponFactory(store=store, code=CODE, discount_type="amount", discount_amount=100)
    order = {
        "currency": store.currency,
        "lines": [{"id": "l1", "quantity": 1, "unit_price": 1000}],
    }

    response = paynow.post(
        f"{base}/coupons/validate", {"codes": [TYPED, TYPO], "order": order}, "json"
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "valid": False,
        "discount": 100,
        "lines": [{"id": "l1", "discount": 100}],
        "codes": [
            {
                "code": TYPED,
                "valid": True,
                "reasons": [],
                "discount": 100,
                "lines": [{"id": "l1", "discount": 100}],
            },
            {
                "code": TYPO,
                "valid": False,
                "reasons": [TYPO_REASON],
                "discount": 0,
                "lines": [{"id": "l1", "discount": 0}],
            },
        ],
    }


TWICE = {
    "status": 400,
    "code": "bad-request",
    "message": "Invalid request: codes: Each code may appear once.",
    "errors": [
        {
            "code": "invalid",
            "message": "Each code may appear once.",
            "path": "codes",
            "validation": "invalid",
        }
    ],
}


@pytest.mark.parametrize("endpoint", ["coupons/validate", "redemptions"])
def test_one_check_code_typed_two_ways_on_a_cart_is_400(
    paynow, base, store, series, customer, endpoint
):
    # Folding alone (case) does not make CODE and TYPED one code; reading them as
    # the store does does. Before: both applied, two redemptions of a coupon with
    # one use left, and its counter moved by one.
    coupon = CouponFactory(
        store=store,
        code=CODE,
        discount_type="amount",
        discount_amount=500,
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=1,
    )
    order = {
        "currency": store.currency,
        "lines": [{"id": "a", "quantity": 1, "unit_price": 10_000}],
    }

    response = paynow.post(
        f"{base}/{endpoint}",
        {"codes": [CODE, TYPED], "customer_id": str(customer.id), "order": order},
        "json",
    )

    assert response.status_code == 400, response.content
    body = response.json()
    body.pop("trace_id")
    assert body == TWICE
    coupon.refresh_from_db()
    assert coupon.redeemed_count == 0
    assert not Redemption.objects.exists()


def test_redeeming_codes_with_a_typo_is_refused_whole(store, series, api_key):
    # The service of the native redemptions with several codes (issue 19).
    CouponFactory(store=store, code=CODE)
    order = Order.of_cart(
        lines=(cart.Line(id="l1", quantity=1, unit_price=1000),),
        currency=store.currency,
    )

    with pytest.raises(DomainError) as refused:
        redeem.redemptions_create(
            store=store,
            codes=[TYPED, TYPO],
            order=order,
            actor=Actor.api_key(api_key, channel="paynow"),
        )

    assert refused.value.reason == "redemption_refused"
    assert [(f.path, f.code) for f in refused.value.fields] == [("codes.1", "typo")]
    assert not Redemption.objects.exists()


def test_another_series_of_the_store_never_makes_a_code_that_reads_as_a_typo(
    store, series
):
    # Same prefix and normalised length as the check series' codes: most of its
    # random codes would read as typos (an O or an I, or a wrong "check").
    other = check_series(
        store,
        description="Plain",
        check_character=False,
        alpha_numeric=True,
        random_code_length=9,
        code_prefix="BF",
    )

    codes = list(Coupon.objects.filter(series=other).values_list("code", flat=True))
    assert len(codes) == 20
    shapes = typed_codes.shapes_of(Store.objects.get(pk=store.pk))
    assert [code for code in codes if typed_codes.reserved_by(code, shapes)] == []
