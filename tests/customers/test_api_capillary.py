"""Capillary v1.1 ``GET /v1.1/customer/coupons`` (seed 003), through the real stack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from stores.auth import capillary_token_for
from stores.scopes import COUPONS_READ, PRICE_RULES
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

pytestmark = pytest.mark.django_db

URL = "/v1.1/customer/coupons"
NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
OK = {"success": "true", "code": 200, "message": "Success"}
RETRIEVED = {
    "success": "true",
    "code": 1000,
    "message": "Coupons retrieved successfully",
}
ALL_FAILED = {
    "success": "false",
    "code": 400,
    "message": "All requests have failed due to errors",
}
COUPON_KEYS = [
    "id",
    "series_id",
    "series_name",
    "redemption_count",
    "created_date",
    "valid_till",
    "code",
    "transaction_number",
    "issued_at",
    "purpose",
    "custom_properties",
    "redemptions",
]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def store(db):
    return StoreFactory(timezone="Asia/Kolkata")


@pytest.fixture
def api(api_key) -> APIClient:
    return capillary(api_key)


@pytest.fixture
def customer(store):
    return CustomerFactory(
        store=store,
        first_name="Tom",
        last_name="Sawyer",
        email="tom@example.com",
        mobile="9988776655",
        external_id=None,
    )


def at(days: float = 0, hours: float = 0) -> datetime:
    return NOW + timedelta(days=days, hours=hours)


def hold(customer, *, coupon=None, series=None, created=None, **kwargs):
    """An assignment of ``coupon`` (a new one by default) to ``customer``."""
    store = customer.store
    coupon = coupon or CouponFactory(store=store, series=series)
    return AssignmentFactory(
        store=store,
        coupon=coupon,
        customer=customer,
        series=series,
        created_at=created or at(-1),
        channel="capillary",
        **kwargs,
    )


def get(api, **params):
    return api.get(URL, params)


def ok(api, **params) -> dict:
    response = get(api, **params)
    assert response.status_code == 200, response.content
    return response.json()


def coupons_of(body: dict) -> list[dict]:
    (customer,) = body["response"]["customers"]["customer"]
    return customer["coupons"]["coupon"]


def codes(api, **params) -> list[str]:
    return [coupon["code"] for coupon in coupons_of(ok(api, **params))]


def bad_request(message: str) -> dict:
    return {
        "response": {"status": {"success": "false", "code": 400, "message": message}}
    }


def failed_customer(item_status: dict, **identifiers) -> dict:
    echoed = {"mobile": None, "email": None, "external_id": None, "id": None}
    echoed.update(identifiers)
    return {
        "response": {
            "status": ALL_FAILED,
            "customers": {"customer": [{**echoed, "item_status": item_status}]},
        }
    }


# --- the seed's example ---------------------------------------------------------------


def test_seed_example_shape_types_and_formats(api, store, customer):
    main = OutletFactory(store=store, code="store_001", name="Main Store")
    downtown = OutletFactory(store=store, code="store_002", name="Downtown Store")
    series = SeriesFactory(
        store=store,
        description="Spin_The_Wheel",
        custom_properties={"standard_description": "10% off on next purchase"},
    )
    coupon = CouponFactory(store=store, code="6WRNA5UM", series=series)
    holding = hold(
        customer,
        coupon=coupon,
        series=series,
        outlet=main,
        created=datetime(2019, 7, 29, 16, 13, 14, tzinfo=UTC),
        valid_till=datetime(2019, 12, 31, 18, 29, 59, tzinfo=UTC),
    )
    redemption = RedemptionFactory(
        store=store,
        coupon=coupon,
        customer=customer,
        outlet=downtown,
        transaction_number="TXN12345",
        created_at=datetime(2021, 5, 17, 19, 7, 54, tzinfo=UTC),
    )

    response = get(api, mobile="9988776655", limit=200)

    assert response.status_code == 200
    assert response.json() == {
        "response": {
            "pagination": {"limit": "200", "offset": "0", "total": 1},
            "status": OK,
            "customers": {
                "customer": [
                    {
                        "firstname": "Tom",
                        "lastname": "Sawyer",
                        "email": "tom@example.com",
                        "external_id": None,
                        "mobile": "9988776655",
                        "id": str(customer.compact_id),
                        "coupons": {
                            "coupon": [
                                {
                                    "id": str(coupon.compact_id),
                                    "series_id": str(series.compact_id),
                                    "series_name": "Spin_The_Wheel",
                                    "redemption_count": 1,
                                    "created_date": "2019-07-29T16:13:14.000Z",
                                    # 18:29:59 UTC is 23:59:59 in Asia/Kolkata.
                                    "valid_till": "2019-12-31 23:59:59",
                                    "code": "6WRNA5UM",
                                    "transaction_number": None,
                                    "issued_at": {
                                        "code": "store_001",
                                        "name": "Main Store",
                                    },
                                    "purpose": "",
                                    "custom_properties": {
                                        "custom_property": [
                                            {
                                                "name": "standard_description",
                                                "value": "10% off on next purchase",
                                            }
                                        ]
                                    },
                                    "redemptions": {
                                        "redemption": [
                                            {
                                                "id": str(redemption.compact_id),
                                                "date": "2021-05-17T19:07:54.000Z",
                                                "transaction_number": "TXN12345",
                                                "redeemed_at": {
                                                    "code": "store_002",
                                                    "name": "Downtown Store",
                                                },
                                            }
                                        ]
                                    },
                                }
                            ]
                        },
                        "item_status": RETRIEVED,
                    }
                ]
            },
        }
    }
    assert holding.coupon_id == coupon.id


def test_a_coupon_made_by_hand_and_received_twice_is_listed_once_without_nulls(
    api, store, customer
):
    # DESIGN.md, Capillary v1.1: the seed's objects are never null; no series gives
    # empty series fields, no expiry an empty valid_till, no outlet the store itself.
    coupon = CouponFactory(store=store, code="TWICE", expires_at=None)
    shoplazza = APIClient()
    shoplazza.credentials(
        HTTP_ACCESS_TOKEN=ApiKeyFactory(store=store, scopes=[PRICE_RULES]).token
    )
    for _ in range(2):
        received = shoplazza.post(
            "/openapi/2022-01/coupons/receive",
            {"customer_id": str(customer.id), "coupon_ids": [str(coupon.id)]},
            format="json",
        )
        assert received.json()["items"][0]["status"] == 1
    assert customer.assignments.count() == 2

    response = get(api, mobile=customer.mobile)

    assert response.status_code == 200
    assert response.json() == {
        "response": {
            "pagination": {"limit": "100", "offset": "0", "total": 1},
            "status": OK,
            "customers": {
                "customer": [
                    {
                        "firstname": "Tom",
                        "lastname": "Sawyer",
                        "email": "tom@example.com",
                        "external_id": None,
                        "mobile": "9988776655",
                        "id": str(customer.compact_id),
                        "coupons": {
                            "coupon": [
                                {
                                    "id": str(coupon.compact_id),
                                    "series_id": "",
                                    "series_name": "",
                                    "redemption_count": 0,
                                    "created_date": "2025-06-15T12:00:00.000Z",
                                    "valid_till": "",
                                    "code": "TWICE",
                                    "transaction_number": None,
                                    "issued_at": {
                                        "code": store.code,
                                        "name": store.name,
                                    },
                                    "purpose": "",
                                    "custom_properties": {"custom_property": []},
                                    "redemptions": {"redemption": []},
                                }
                            ]
                        },
                        "item_status": RETRIEVED,
                    }
                ]
            },
        }
    }


def test_a_customer_without_email_or_mobile_shows_empty_strings(api, store):
    bare = CustomerFactory(store=store, email=None, mobile=None, external_id="E-1")

    (item,) = ok(api, external_id="E-1")["response"]["customers"]["customer"]

    assert (item["email"], item["mobile"], item["external_id"]) == ("", "", "E-1")
    assert item["id"] == str(bare.compact_id)


def test_customer_without_coupons_is_an_empty_success(api, customer):
    body = ok(api, email="tom@example.com")
    assert body["response"]["pagination"] == {"limit": "100", "offset": "0", "total": 0}
    (item,) = body["response"]["customers"]["customer"]
    assert item["coupons"] == {"coupon": []}
    assert item["item_status"] == RETRIEVED


def test_coupon_without_series_outlet_or_expiry_renders_strings_not_nulls(
    api, store, customer
):
    coupon = CouponFactory(store=store, code="PLAIN")
    hold(customer, coupon=coupon, transaction_number="T-1", purpose="welcome")

    (rendered,) = coupons_of(ok(api, mobile=customer.mobile))

    assert list(rendered) == COUPON_KEYS
    assert rendered["series_id"] == ""
    assert rendered["series_name"] == ""
    assert rendered["valid_till"] == ""
    assert rendered["issued_at"] == {"code": store.code, "name": store.name}
    assert rendered["transaction_number"] == "T-1"
    assert rendered["purpose"] == "welcome"
    assert rendered["custom_properties"] == {"custom_property": []}
    assert rendered["redemptions"] == {"redemption": []}
    assert rendered["redemption_count"] == 0


def test_valid_till_falls_back_to_the_coupons_expiry(api, store, customer):
    coupon = CouponFactory(
        store=store, expires_at=datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    )
    hold(customer, coupon=coupon)
    (rendered,) = coupons_of(ok(api, mobile=customer.mobile))
    assert rendered["valid_till"] == "2026-01-01 05:30:00"


def test_custom_properties_are_sorted_and_non_strings_are_json(api, store, customer):
    series = SeriesFactory(
        store=store, custom_properties={"zeta": "last", "alpha": 5, "mid": [1, 2]}
    )
    hold(customer, series=series)
    (rendered,) = coupons_of(ok(api, mobile=customer.mobile))
    assert rendered["custom_properties"]["custom_property"] == [
        {"name": "alpha", "value": "5"},
        {"name": "mid", "value": "[1, 2]"},
        {"name": "zeta", "value": "last"},
    ]


def test_series_of_the_coupon_is_used_when_the_assignment_has_none(
    api, store, customer
):
    series = SeriesFactory(store=store, description="From coupon")
    hold(customer, coupon=CouponFactory(store=store, series=series))
    (rendered,) = coupons_of(ok(api, mobile=customer.mobile))
    assert rendered["series_id"] == str(series.compact_id)
    assert rendered["series_name"] == "From coupon"


def test_only_this_customers_live_redemptions_are_listed_and_counted(
    api, store, customer
):
    generic = CouponFactory(store=store, code="GENERIC")
    hold(customer, coupon=generic)
    other = CustomerFactory(store=store)
    hold(other, coupon=generic)
    mine = RedemptionFactory(store=store, coupon=generic, customer=customer)
    RedemptionFactory(store=store, coupon=generic, customer=other)
    RedemptionFactory(
        store=store, coupon=generic, customer=customer, rolled_back_at=at(-1)
    )
    later = RedemptionFactory(store=store, coupon=generic, customer=customer)

    (rendered,) = coupons_of(ok(api, mobile=customer.mobile))

    assert rendered["redemption_count"] == 2
    assert [r["id"] for r in rendered["redemptions"]["redemption"]] == [
        str(mine.compact_id),
        str(later.compact_id),
    ]
    # No outlet: the store's own code and name (DESIGN.md, Capillary v1.1).
    assert rendered["redemptions"]["redemption"][0]["redeemed_at"] == {
        "code": store.code,
        "name": store.name,
    }


def test_archived_coupons_are_not_listed(api, store, customer):
    hold(customer, coupon=CouponFactory(store=store, code="GONE", archived_at=at(-1)))
    hold(customer, coupon=CouponFactory(store=store, code="HERE"))
    assert codes(api, mobile=customer.mobile) == ["HERE"]


# --- identifiers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"mobile": "9988776655"},
        {"email": "TOM@example.COM"},
        {"external_id": "ext-tom"},
        {"mobile": "9988776655", "email": "tom@example.com"},
        {"mobile": "", "external_id": "ext-tom"},
    ],
)
def test_customer_is_found_by_any_identifier(api, customer, params):
    customer.external_id = "ext-tom"
    customer.save()
    hold(customer, coupon=CouponFactory(store=customer.store, code="MINE"))
    assert codes(api, **params) == ["MINE"]


def test_customer_is_found_by_id(api, customer):
    hold(customer, coupon=CouponFactory(store=customer.store, code="MINE"))
    assert codes(api, id=str(customer.id)) == ["MINE"]


def test_unknown_customer_is_701_in_the_v11_envelope(api, customer):
    response = get(api, mobile="0000000000", email="nobody@example.com")
    assert response.status_code == 400
    assert response.json() == failed_customer(
        {
            "success": "false",
            "code": 701,
            "message": "Customer could not be found. Check the mobile, email, or "
            "external ID passed.",
        },
        mobile="0000000000",
        email="nobody@example.com",
    )


def test_identifiers_of_two_customers_match_nobody(api, store, customer):
    other = CustomerFactory(store=store)
    response = get(api, mobile=customer.mobile, email=other.email)
    assert response.status_code == 400
    item = response.json()["response"]["customers"]["customer"][0]
    assert item["item_status"]["code"] == 701


def test_another_stores_customer_is_not_found(api, store):
    stranger = CustomerFactory(store=StoreFactory())
    response = get(api, id=str(stranger.id))
    assert response.status_code == 400
    assert response.json() == failed_customer(
        {
            "success": "false",
            "code": 701,
            "message": "Customer could not be found. Check the mobile, email, or "
            "external ID passed.",
        },
        id=str(stranger.id),
    )


@pytest.mark.parametrize("params", [{}, {"mobile": ""}, {"limit": "5"}])
def test_no_identifier_is_400(api, params):
    response = get(api, **params)
    assert response.status_code == 400
    assert response.json() == bad_request(
        "Input is invalid. Pass at least one customer identifier: mobile, email, "
        "external_id or id."
    )


# --- bad parameters -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"id": "abc"}, "id: Must be a numeric ID."),
        ({"id": "-5"}, "id: Must be a numeric ID."),
        (
            {"status": "used"},
            'status: "used" is not one of: unredeemed, redeemed, expired, active.',
        ),
        (
            {"start_date": "2025-13-01"},
            "start_date: Must be a date in the form YYYY-MM-DD.",
        ),
        (
            {"end_date": "15/06/2025"},
            "end_date: Must be a date in the form YYYY-MM-DD.",
        ),
        (
            {"end_date": "9999-12-31"},
            "end_date: Must be between 1900-01-01 and 9998-12-31.",
        ),
        (
            {"start_date": "0001-01-01"},
            "start_date: Must be between 1900-01-01 and 9998-12-31.",
        ),
        (
            {"start_date": "2025-06-02", "end_date": "2025-06-01"},
            "end_date: Must not be before start_date.",
        ),
        ({"series_id": "12x"}, "series_id: Must be a numeric ID."),
        (
            {"order_by": "code"},
            'order_by: "code" is not one of: created_date, created_by, valid_till.',
        ),
        ({"sort_order": "up"}, 'sort_order: "up" is not one of: asc, desc.'),
        ({"limit": "0"}, "limit: Ensure this value is greater than or equal to 1."),
        ({"limit": "1001"}, "limit: Ensure this value is less than or equal to 1000."),
        ({"limit": "ten"}, "limit: A valid integer is required."),
        ({"offset": "-1"}, "offset: Ensure this value is greater than or equal to 0."),
        (
            {"offset": "99999999999999999999"},
            "offset: Ensure this value is less than or equal to 2147483647.",
        ),
    ],
)
def test_bad_parameters_are_400_with_the_reason(api, customer, params, message):
    response = get(api, mobile=customer.mobile, **params)
    assert response.status_code == 400
    assert response.json() == bad_request(f"Input is invalid. {message}")


def test_unknown_series_is_707(api, store, customer):
    elsewhere = SeriesFactory(store=StoreFactory())
    response = get(api, mobile=customer.mobile, series_id=str(elsewhere.id))
    assert response.status_code == 400
    assert response.json() == failed_customer(
        {"success": "false", "code": 707, "message": "Coupon series ID is invalid."},
        mobile=customer.mobile,
    )


def test_unknown_store_id_is_400(api, customer):
    response = get(api, mobile=customer.mobile, store_id="nowhere")
    assert response.status_code == 400
    assert response.json() == bad_request("No store (outlet) has this code.")


# --- filters --------------------------------------------------------------------------


@pytest.fixture
def mix(store, customer):
    """Four coupons: redeemed+valid, redeemed+expired, unredeemed+valid,
    unredeemed+expired; plus a rolled-back redemption on the third."""
    made = {}
    for name, expires, redeemed in [
        ("RV", at(10), True),
        ("RE", at(-1), True),
        ("UV", at(10), False),
        ("UE", at(-1), False),
    ]:
        coupon = CouponFactory(store=store, code=name, expires_at=expires)
        hold(customer, coupon=coupon, created=at(-5))
        if redeemed:
            RedemptionFactory(store=store, coupon=coupon, customer=customer)
        made[name] = coupon
    RedemptionFactory(
        store=store, coupon=made["UV"], customer=customer, rolled_back_at=at(-1)
    )
    return made


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("redeemed", {"RV", "RE"}),
        ("unredeemed", {"UV", "UE"}),
        ("active", {"RV", "UV"}),
        ("expired", {"RE", "UE"}),
        ("ACTIVE", {"RV", "UV"}),
        (None, {"RV", "RE", "UV", "UE"}),
    ],
)
def test_status_filter(api, customer, mix, status, expected):
    params = {"mobile": customer.mobile}
    if status:
        params["status"] = status
    assert set(codes(api, **params)) == expected


def test_a_coupon_expiring_right_now_is_expired(api, store, customer):
    hold(customer, coupon=CouponFactory(store=store, code="NOW", expires_at=NOW))
    assert codes(api, mobile=customer.mobile, status="expired") == ["NOW"]
    assert codes(api, mobile=customer.mobile, status="active") == []


def test_assignment_valid_till_wins_over_the_coupons_expiry(api, store, customer):
    coupon = CouponFactory(store=store, code="PERSONAL", expires_at=at(30))
    hold(customer, coupon=coupon, valid_till=at(-1))
    assert codes(api, mobile=customer.mobile, status="expired") == ["PERSONAL"]


def test_date_range_keeps_coupons_issued_or_redeemed_in_it(api, store, customer):
    # The store is in Asia/Kolkata (UTC+5:30): 2025-06-10 starts at 06-09 18:30 UTC.
    def issued(code, when):
        coupon = CouponFactory(store=store, code=code)
        hold(customer, coupon=coupon, created=when)
        return coupon

    issued("BEFORE", datetime(2025, 6, 9, 18, 29, 59, tzinfo=UTC))
    issued("FIRST", datetime(2025, 6, 9, 18, 30, tzinfo=UTC))
    issued("LAST", datetime(2025, 6, 11, 18, 29, 59, tzinfo=UTC))
    issued("AFTER", datetime(2025, 6, 11, 18, 30, tzinfo=UTC))
    old = issued("OLD_REDEEMED_IN", datetime(2025, 1, 1, tzinfo=UTC))
    RedemptionFactory(
        store=store,
        coupon=old,
        customer=customer,
        created_at=datetime(2025, 6, 10, 12, tzinfo=UTC),
    )
    rolled = issued("OLD_ROLLED_BACK", datetime(2025, 1, 1, tzinfo=UTC))
    RedemptionFactory(
        store=store,
        coupon=rolled,
        customer=customer,
        created_at=datetime(2025, 6, 10, 12, tzinfo=UTC),
        rolled_back_at=at(-1),
    )
    other = CustomerFactory(store=store)
    by_other = issued("OLD_OTHER_REDEEMED", datetime(2025, 1, 1, tzinfo=UTC))
    RedemptionFactory(
        store=store,
        coupon=by_other,
        customer=other,
        created_at=datetime(2025, 6, 10, 12, tzinfo=UTC),
    )

    mobile = customer.mobile
    assert set(
        codes(api, mobile=mobile, start_date="2025-06-10", end_date="2025-06-11")
    ) == {
        "FIRST",
        "LAST",
        "OLD_REDEEMED_IN",
    }
    assert set(codes(api, mobile=mobile, start_date="2025-06-11")) == {"LAST", "AFTER"}
    assert set(codes(api, mobile=mobile, end_date="2025-06-09")) == {
        "BEFORE",
        "OLD_REDEEMED_IN",
        "OLD_ROLLED_BACK",
        "OLD_OTHER_REDEEMED",
    }


def test_series_filter(api, store, customer):
    wanted = SeriesFactory(store=store)
    other = SeriesFactory(store=store)
    hold(customer, coupon=CouponFactory(store=store, code="A"), series=wanted)
    hold(customer, coupon=CouponFactory(store=store, code="B", series=wanted))
    hold(customer, coupon=CouponFactory(store=store, code="C"), series=other)
    hold(customer, coupon=CouponFactory(store=store, code="D"))
    assert set(codes(api, mobile=customer.mobile, series_id=str(wanted.id))) == {
        "A",
        "B",
    }


def test_store_id_keeps_coupons_redeemable_at_that_outlet(api, store, customer):
    OutletFactory(store=store, code="open")
    OutletFactory(store=store, code="closed", is_active=False)
    hold(customer, coupon=CouponFactory(store=store, code="GOOD", expires_at=at(1)))
    hold(customer, coupon=CouponFactory(store=store, code="FOREVER"))
    hold(customer, coupon=CouponFactory(store=store, code="OLD", expires_at=at(-1)))
    hold(customer, coupon=CouponFactory(store=store, code="OFF", enabled=False))
    used = CouponFactory(store=store, code="USED", expires_at=at(1))
    hold(customer, coupon=used)
    RedemptionFactory(store=store, coupon=used, customer=customer)

    assert set(codes(api, mobile=customer.mobile, store_id="open")) == {
        "GOOD",
        "FOREVER",
        "USED",
    }
    assert codes(api, mobile=customer.mobile, store_id="closed") == []


def test_another_stores_outlet_code_is_unknown(api, customer):
    OutletFactory(store=StoreFactory(), code="theirs")
    response = get(api, mobile=customer.mobile, store_id="theirs")
    assert response.status_code == 400


def test_filters_combine(api, store, customer, mix):
    series = SeriesFactory(store=store)
    coupon = CouponFactory(store=store, code="SV", series=series, expires_at=at(3))
    hold(customer, coupon=coupon, series=series)
    assert codes(
        api, mobile=customer.mobile, status="active", series_id=str(series.id)
    ) == ["SV"]
    assert (
        codes(api, mobile=customer.mobile, status="redeemed", series_id=str(series.id))
        == []
    )


# --- order and pages ------------------------------------------------------------------


@pytest.fixture
def ordered(store, customer):
    """Three coupons issued a day apart by different tills, with valid-tills in
    another order; one without a till, one without a valid-till."""
    key_b = ApiKeyFactory(store=store)
    key_a = ApiKeyFactory(store=store)
    key_b.key_id, key_a.key_id = "till-b", "till-a"
    key_b.save()
    key_a.save()
    hold(
        customer,
        coupon=CouponFactory(store=store, code="OLDEST"),
        created=at(-3),
        valid_till=at(5),
        api_key=key_b,
    )
    hold(
        customer,
        coupon=CouponFactory(store=store, code="MIDDLE"),
        created=at(-2),
        valid_till=None,
        api_key=None,
    )
    hold(
        customer,
        coupon=CouponFactory(store=store, code="NEWEST"),
        created=at(-1),
        valid_till=at(1),
        api_key=key_a,
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["NEWEST", "MIDDLE", "OLDEST"]),
        ({"sort_order": "asc"}, ["OLDEST", "MIDDLE", "NEWEST"]),
        (
            {"order_by": "created_date", "sort_order": "DESC"},
            ["NEWEST", "MIDDLE", "OLDEST"],
        ),
        (
            {"order_by": "valid_till", "sort_order": "asc"},
            ["NEWEST", "OLDEST", "MIDDLE"],
        ),
        ({"order_by": "valid_till"}, ["MIDDLE", "OLDEST", "NEWEST"]),
        (
            {"order_by": "created_by", "sort_order": "asc"},
            ["NEWEST", "OLDEST", "MIDDLE"],
        ),
        (
            {"order_by": "created_by", "sort_order": "desc"},
            ["MIDDLE", "OLDEST", "NEWEST"],
        ),
    ],
)
def test_order_by_and_sort_order(api, customer, ordered, params, expected):
    assert codes(api, mobile=customer.mobile, **params) == expected


def test_limit_and_offset_page_through_with_the_total(api, store, customer):
    for day in range(5):
        hold(
            customer,
            coupon=CouponFactory(store=store, code=f"C{day}"),
            created=at(-10 + day),
        )
    first = ok(api, mobile=customer.mobile, limit=2)
    second = ok(api, mobile=customer.mobile, limit=2, offset=2)
    beyond = ok(api, mobile=customer.mobile, limit=2, offset=7)

    assert first["response"]["pagination"] == {"limit": "2", "offset": "0", "total": 5}
    assert [c["code"] for c in coupons_of(first)] == ["C4", "C3"]
    assert second["response"]["pagination"] == {"limit": "2", "offset": "2", "total": 5}
    assert [c["code"] for c in coupons_of(second)] == ["C2", "C1"]
    assert beyond["response"]["pagination"] == {"limit": "2", "offset": "7", "total": 5}
    assert coupons_of(beyond) == []


def test_total_counts_the_filtered_coupons(api, customer, mix):
    body = ok(api, mobile=customer.mobile, status="redeemed", limit=1)
    assert body["response"]["pagination"]["total"] == 2
    assert len(coupons_of(body)) == 1


# --- query count ----------------------------------------------------------------------


def _load(store, customer, coupons: int, redemptions_each: int):
    outlets = [OutletFactory(store=store) for _ in range(3)]
    for n in range(coupons):
        series = SeriesFactory(store=store, custom_properties={"n": str(n)})
        coupon = CouponFactory(store=store, series=series)
        hold(customer, coupon=coupon, series=series, outlet=outlets[n % 3])
        for r in range(redemptions_each):
            RedemptionFactory(
                store=store, coupon=coupon, customer=customer, outlet=outlets[r % 3]
            )


@pytest.mark.parametrize(("coupons", "redemptions_each"), [(1, 1), (25, 4)])
def test_query_count_is_constant(
    api, store, customer, django_assert_num_queries, coupons, redemptions_each
):
    _load(store, customer, coupons, redemptions_each)
    # key, customer, count, page, redemptions of the page
    with django_assert_num_queries(5):
        body = ok(
            api, mobile=customer.mobile, status="redeemed", start_date="2020-01-01"
        )
    assert len(coupons_of(body)) == coupons
    assert all(c["redemption_count"] == redemptions_each for c in coupons_of(body))


@pytest.mark.parametrize("coupons", [1, 12])
def test_query_count_with_series_and_store_filters(
    api, store, customer, django_assert_num_queries, coupons
):
    _load(store, customer, coupons, 2)
    series = SeriesFactory(store=store)
    OutletFactory(store=store, code="till")
    for _ in range(coupons):
        hold(customer, coupon=CouponFactory(store=store, series=series), series=series)
    # key, customer, series, outlet, count, page, redemptions of the page
    with django_assert_num_queries(7):
        body = ok(
            api, mobile=customer.mobile, series_id=str(series.id), store_id="till"
        )
    assert len(coupons_of(body)) == coupons


# --- auth -----------------------------------------------------------------------------


def test_oauth_token_is_accepted(api_key, customer):
    api = APIClient()
    api.credentials(HTTP_X_CAP_API_OAUTH_TOKEN=capillary_token_for(api_key))
    assert ok(api, mobile=customer.mobile)["response"]["status"] == OK


def test_missing_credentials_are_401_in_the_v11_envelope(customer):
    response = APIClient().get(URL, {"mobile": customer.mobile})
    assert response.status_code == 401
    assert response.json() == {
        "response": {
            "status": {
                "success": "false",
                "code": 401,
                "message": "Authentication failed. Please check username and password.",
            }
        }
    }


def test_wrong_secret_is_401(api_key, customer):
    api_key.secret = "not-the-secret"
    response = capillary(api_key).get(URL, {"mobile": customer.mobile})
    assert response.status_code == 401


def test_key_without_series_scope_is_403(store, customer):
    key = ApiKeyFactory(store=store, scopes=[COUPONS_READ])
    response = capillary(key).get(URL, {"mobile": customer.mobile})
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


def test_post_is_405_in_the_v11_envelope(api):
    response = api.post(URL, {}, format="json")
    assert response.status_code == 405
    assert response.json()["response"]["status"]["code"] == 405


def test_widest_date_range_is_accepted(api, store, customer):
    hold(customer, coupon=CouponFactory(store=store, code="ANY"))
    assert codes(
        api, mobile=customer.mobile, start_date="1900-01-01", end_date="9998-12-31"
    ) == ["ANY"]
