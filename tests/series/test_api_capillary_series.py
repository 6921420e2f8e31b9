"""Capillary ``POST /v2/coupon/series`` and ``GET /v2/coupon/series?ids=``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from coupons.models import Coupon, DiscountType
from series.models import CodeFormat, Series
from tests.factories import ApiKeyFactory, CouponFactory, StoreFactory
from tests.series.conftest import SERIES_URL, capillary_client, make_series

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_pool")]

SERIES_KEYS = [
    "id",
    "orgId",
    "description",
    "discountCode",
    "info",
    "validTillDate",
    "expiryStrategyType",
    "expiryStrategyValue",
    "maxCreate",
    "numIssued",
    "isMultipleVouchersPerUserAllowed",
    "maxVouchersPerUser",
    "discountType",
    "discountValue",
    "discountUpto",
    "discountOn",
    "minBillAmount",
    "redemptionPerCouponMaxLimit",
    "redemptionValidAfterDays",
    "genericCode",
    "alphaNumeric",
    "randomCodeLength",
    "couponPrefix",
    "couponSuffix",
    "customPropertyMap",
    "seriesCode",
    "createdOn",
]
FUTURE = "2030-09-30T00:00:00+05:30"


def body(**overrides) -> dict:
    data = {
        "description": "IKEA - 500KW Voucher",
        "discountCode": "XYZ123",
        "discountType": "ABS",
        "discountValue": 500,
        "validTillDate": FUTURE,
        "maxCreate": 1000,
        "isMultipleVouchersPerUserAllowed": True,
        "maxVouchersPerUser": 5,
        "alphaNumeric": True,
        "randomCodeLength": 8,
        "couponPrefix": "IK-",
        "couponSuffix": "",
        # Capillary fields Couponhub does not model are accepted and ignored.
        "anyUser": False,
        "smsTemplate": "Hi {{first_name}}",
        "clientHandlingType": "DISC_CODE",
    }
    data.update(overrides)
    return data


def error(message: str, code: int = 400) -> dict:
    return {"errors": [{"status": False, "code": code, "message": message}]}


def rendered(series: Series, tz: str = "UTC") -> dict:
    zone = ZoneInfo(tz)
    return {
        "id": series.compact_id,
        "orgId": 0,
        "description": series.description,
        "discountCode": series.discount_code or "NO_VALUE",
        "info": series.description,
        "validTillDate": series.valid_till.astimezone(zone).isoformat(
            timespec="seconds"
        )
        if series.valid_till
        else None,
        "expiryStrategyType": series.expiry_strategy_type,
        "expiryStrategyValue": series.expiry_strategy_value,
        "maxCreate": series.max_create,
        "numIssued": series.issued_count,
        "isMultipleVouchersPerUserAllowed": (
            series.is_multiple_vouchers_per_user_allowed
        ),
        "maxVouchersPerUser": series.max_vouchers_per_user,
        "discountType": series.discount_type,
        "discountValue": int(series.discount_value),
        "discountUpto": int(series.discount_upto),
        "discountOn": series.discount_on,
        "minBillAmount": int(series.min_bill_amount),
        "redemptionPerCouponMaxLimit": series.max_redemptions_per_coupon,
        "redemptionValidAfterDays": series.redemption_valid_after_days,
        "genericCode": series.generic_code or None,
        "alphaNumeric": series.alpha_numeric,
        "randomCodeLength": series.random_code_length,
        "couponPrefix": series.code_prefix,
        "couponSuffix": series.code_suffix,
        "customPropertyMap": series.custom_properties,
        "seriesCode": str(series.id),
        "createdOn": series.created_at.astimezone(zone).isoformat(timespec="seconds"),
    }


# --- create ---------------------------------------------------------------------------


@pytest.mark.parametrize("wrapped", [True, False])
def test_create_a_random_series_wrapped_or_bare(capillary, store, wrapped):
    payload = body(customPropertyMap={"standard_terms_and_conditions": "T&C"})

    response = capillary.post(
        SERIES_URL, {"CouponSeriesV2": payload} if wrapped else payload, format="json"
    )

    assert response.status_code == 200
    series = Series.objects.get()
    assert response.json() == {"entity": rendered(series), "warnings": []}
    assert list(response.json()["entity"]) == SERIES_KEYS
    assert series.code_format == CodeFormat.RANDOM
    assert series.store_id == store.id
    assert series.valid_till == datetime(2030, 9, 29, 18, 30, tzinfo=UTC)
    assert (series.max_create, series.max_vouchers_per_user) == (1000, 5)
    assert series.custom_properties == {"standard_terms_and_conditions": "T&C"}
    # The first pool (SERIES_POOL_TARGET = 20 here) is made at once.
    pool = list(Coupon.objects.filter(series=series))
    assert len(pool) == 20
    for coupon in pool:
        assert coupon.pooled
        assert coupon.code.startswith("IK-")
        assert len(coupon.code) == 11
        assert (coupon.discount_type, coupon.discount_amount) == (
            DiscountType.AMOUNT,
            50_000,
        )


def test_create_defaults(capillary, store):
    response = capillary.post(
        SERIES_URL,
        {
            "description": "Bare minimum",
            "discountType": "PERC",
            "discountValue": 12.5,
            "discountUpto": 20,
            "validTillDate": FUTURE,
        },
        format="json",
    )

    assert response.status_code == 200
    entity = response.json()["entity"]
    assert entity["discountCode"] == "NO_VALUE"
    assert entity["discountValue"] == 12.5
    assert entity["discountUpto"] == 20
    assert (entity["maxCreate"], entity["maxVouchersPerUser"]) == (-1, -1)
    assert (entity["expiryStrategyType"], entity["expiryStrategyValue"]) == (
        "SERIES_EXPIRY",
        0,
    )
    assert entity["redemptionPerCouponMaxLimit"] == 1
    assert (entity["alphaNumeric"], entity["randomCodeLength"]) == (True, 8)
    assert entity["discountOn"] == "BILL"
    coupon = Coupon.objects.filter(series__compact_id=entity["id"]).first()
    assert (coupon.discount_type, coupon.discount_amount) == (DiscountType.PERCENT, 125)
    assert coupon.discount_max_amount == 2000


def test_create_a_generic_series_makes_its_one_coupon(capillary, store):
    response = capillary.post(
        SERIES_URL,
        {"CouponSeriesV2": body(genericCode="DECATH10", maxVouchersPerUser=-1)},
        format="json",
    )

    assert response.status_code == 200
    entity = response.json()["entity"]
    assert entity["genericCode"] == "DECATH10"
    series = Series.objects.get()
    assert series.code_format == CodeFormat.GENERIC
    (coupon,) = Coupon.objects.filter(series=series)
    assert (coupon.code, coupon.pooled, coupon.expires_at) == (
        "DECATH10",
        False,
        series.valid_till,
    )
    assert coupon.redeem_limit_customer_enabled
    assert coupon.redeem_limit_customer_amount == 1
    assert not coupon.redeem_limit_store_enabled


def test_a_taken_generic_code_is_refused_and_nothing_is_made(capillary, store):
    CouponFactory(store=store, code="decath10")

    response = capillary.post(SERIES_URL, body(genericCode="DECATH10"), format="json")

    assert response.status_code == 400
    assert response.json() == error(
        "The code 'DECATH10' is already taken in this store."
    )
    assert not Series.objects.exists()


def test_a_date_only_valid_till_is_the_end_of_that_day_in_store_time(capillary, store):
    store.timezone = "Asia/Kolkata"
    store.save()

    response = capillary.post(
        SERIES_URL, body(validTillDate="2030-12-31"), format="json"
    )

    assert response.status_code == 200
    series = Series.objects.get()
    assert series.valid_till == datetime(
        2030, 12, 31, 23, 59, 59, tzinfo=ZoneInfo("Asia/Kolkata")
    )
    assert response.json()["entity"]["validTillDate"] == "2030-12-31T23:59:59+05:30"


def test_a_lower_case_t_and_z_are_rfc_3339s_too(capillary, store):
    response = capillary.post(
        SERIES_URL, body(validTillDate="2030-12-31t10:00:00z"), format="json"
    )

    assert response.status_code == 200, response.content
    assert Series.objects.get().valid_till == datetime(2030, 12, 31, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"description": None}, "description: This field may not be null."),
        ({"discountType": "FLAT"}, 'discountType: "FLAT" is not one of: ABS, PERC.'),
        ({"discountValue": "500"}, "discountValue: Must be a number."),
        ({"discountValue": -1}, "discountValue: Cannot be negative."),
        ({"discountValue": 1.00005}, "discountValue: At most 4 decimals."),
        ({"validTillDate": "31/12/2030"}, "validTillDate: Must be a date-time"),
        ({"validTillDate": "2030-W01-1"}, "validTillDate: Must be a date-time"),
        (
            {"validTillDate": "\uff12\uff10\uff13\uff10-12-31"},  # full-width digits
            "validTillDate: Must be a date-time",
        ),
        ({"validTillDate": "20301231T000000Z"}, "validTillDate: Must be a date-time"),
        ({"validTillDate": "2030-02-30"}, "validTillDate: Must be a date-time"),
        (
            {"validTillDate": "9999-12-31"},
            "validTillDate: The date-time is out of range (0001-01-02 to 9999-12-30 "
            "UTC).",
        ),
        (
            {"validTillDate": "9999-12-31T23:59:59Z"},
            "validTillDate: The date-time is out of range",
        ),
        ({"maxCreate": 0}, "maxCreate: Use -1 (unlimited) or at least 1."),
        ({"maxCreate": -2}, "maxCreate: Ensure this value is greater than"),
        ({"expiryStrategyType": "DAYS"}, "expiryStrategyValue: Required with DAYS."),
        ({"couponPrefix": "IK 1"}, "couponPrefix: Only letters, digits, '-' and '_'."),
        ({"randomCodeLength": 65}, "randomCodeLength: Ensure this value is less than"),
        ({"alphaNumeric": "yes"}, "alphaNumeric: Must be a boolean"),
        ({"customPropertyMap": {"a": 1}}, "customPropertyMap.a: Must be a string."),
    ],
)
def test_invalid_fields_are_400_and_make_nothing(capillary, store, overrides, message):
    response = capillary.post(SERIES_URL, body(**overrides), format="json")

    assert response.status_code == 400
    (item,) = response.json()["errors"]
    assert (item["status"], item["code"]) == (False, 400)
    assert item["message"].startswith("Invalid request: ")
    assert message in item["message"]
    assert not Series.objects.exists()
    assert not Coupon.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"discountType": "PERC", "discountValue": 150},
            "discountValue: A percentage cannot exceed 100.",
        ),
        (
            {"discountType": "PERC", "discountValue": 12.25},
            "discountValue: A percentage has at most one decimal.",
        ),
        (
            {"validTillDate": "2020-01-01T00:00:00Z"},
            "validTillDate: The series would already have expired.",
        ),
        (
            {"genericCode": "TEN OFF"},
            "genericCode: 1 to 100 letters, digits, '-' or '_'.",
        ),
        (
            {
                "genericCode": "TEN",
                "expiryStrategyType": "DAYS",
                "expiryStrategyValue": 3,
            },
            "expiryStrategyType: A generic code is shared, so it expires with the "
            "series (SERIES_EXPIRY).",
        ),
        (
            {
                "couponPrefix": "P" * 32,
                "couponSuffix": "S" * 32,
                "randomCodeLength": 40,
            },
            "randomCodeLength: Prefix, random part and suffix make 104 characters; "
            "a code has at most 100.",
        ),
        (
            {"genericCode": "TEN", "redemptionValidAfterDays": 2},
            "redemptionValidAfterDays: A generic code is shared: it cannot start "
            "later per customer.",
        ),
        (
            {"couponPrefix": "IO-", "checkCharacter": True},
            "couponPrefix: With a check character, only Crockford's base32 symbols "
            "(digits and letters but I, L, O, U).",
        ),
    ],
)
def test_series_rules_are_400_and_make_nothing(capillary, store, overrides, message):
    response = capillary.post(SERIES_URL, body(**overrides), format="json")

    assert response.status_code == 400
    assert response.json() == error(message)
    assert not Series.objects.exists()


@pytest.mark.parametrize(
    "field", ["maxCreate", "maxVouchersPerUser", "redemptionPerCouponMaxLimit"]
)
@pytest.mark.parametrize("value", [2**31, 2**53, 2**63 - 1])
def test_counts_above_int32_are_400_and_make_nothing(capillary, field, value):
    # Shown back as JSON numbers, which a client generated from Capillary's OpenAPI
    # reads as int32 (DESIGN.md, IDs); maxCreate took up to 2^63-1 before.
    response = capillary.post(SERIES_URL, body(**{field: value}), format="json")

    assert response.status_code == 400
    assert response.json() == error(
        f"Invalid request: {field}: Ensure this value is less than or equal to "
        "2147483647."
    )
    assert not Series.objects.exists()


def test_the_largest_counts_are_shown_back_exactly(capillary):
    counts = {
        "maxCreate": 2**31 - 1,
        "maxVouchersPerUser": 2**31 - 1,
        "redemptionPerCouponMaxLimit": 2**31 - 1,
    }

    created = capillary.post(
        SERIES_URL, body(randomCodeLength=20, **counts), format="json"
    )
    entity = created.json()["entity"]
    listed = capillary.get(SERIES_URL, {"ids": entity["id"]})

    assert created.status_code == 200
    assert {key: entity[key] for key in counts} == counts
    assert {key: listed.json()["entity"][0][key] for key in counts} == counts


def test_jpy_amounts_have_no_decimals():
    store_jpy = StoreFactory(currency="JPY")
    api = capillary_client(ApiKeyFactory(store=store_jpy))

    refused = api.post(SERIES_URL, body(discountValue=500.5), format="json")
    minimum = api.post(SERIES_URL, body(minBillAmount=0.5), format="json")
    created = api.post(SERIES_URL, body(discountValue=500), format="json")

    assert refused.json() == error(
        "discountValue: Too many decimals: JPY amounts have at most 0 decimal places."
    )
    # Named as the request names it (it was the service's min_bill_amount).
    assert minimum.json() == error(
        "minBillAmount: Too many decimals: JPY amounts have at most 0 decimal places."
    )
    assert created.status_code == 200
    coupon = Coupon.objects.filter(
        series__compact_id=created.json()["entity"]["id"]
    ).first()
    assert coupon.discount_amount == 500


def test_a_cap_bigger_than_the_code_space_is_refused(capillary, store):
    # 2 digits: 100 codes; one is taken by a manual coupon (in lower case too).
    CouponFactory(store=store, code="X-07")

    response = capillary.post(
        SERIES_URL,
        body(
            alphaNumeric=False,
            randomCodeLength=2,
            couponPrefix="x-",
            maxCreate=100,
        ),
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == error(
        "The code format (prefix 'x-' + 2 random digits) has 100 codes and only 99 "
        "are still free in this store: 100 more cannot fit. Use longer or "
        "alphanumeric codes."
    )
    assert not Series.objects.exists()

    fits = capillary.post(
        SERIES_URL,
        body(alphaNumeric=False, randomCodeLength=2, couponPrefix="x-", maxCreate=99),
        format="json",
    )

    assert fits.status_code == 200


def test_the_series_body_must_be_an_object(capillary):
    response = capillary.post(SERIES_URL, {"CouponSeriesV2": [1]}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == 400
    assert not Series.objects.exists()


# --- get ------------------------------------------------------------------------------


def test_get_series_by_ids_in_the_order_asked(
    capillary, store, django_assert_num_queries
):
    first = make_series(store, description="first")
    second = make_series(
        store,
        description="second",
        valid_till=timezone.now() + timedelta(days=5),
        discount_value=Decimal("7.50"),
    )

    with django_assert_num_queries(2):  # the key, the series
        response = capillary.get(f"{SERIES_URL}?ids={second.id},{first.id}")

    assert response.status_code == 200
    assert response.json() == {
        "entity": [
            {**rendered(second), "discountValue": 7.5},
            rendered(first),
        ],
        "warnings": [],
    }


def test_unknown_ids_are_warnings(capillary, store):
    series = make_series(store)
    theirs = make_series(StoreFactory())

    response = capillary.get(f"{SERIES_URL}?ids={series.id},{theirs.id},42")

    assert response.status_code == 200
    body_ = response.json()
    assert [item["id"] for item in body_["entity"]] == [series.compact_id]
    assert body_["warnings"] == [
        {
            "status": False,
            "code": 707,
            "message": f"Coupon Series ID = {theirs.id} is invalid",
        },
        {"status": False, "code": 707, "message": "Coupon Series ID = 42 is invalid"},
    ]


def test_no_known_id_is_707(capillary):
    response = capillary.get(f"{SERIES_URL}?ids=42")

    assert response.status_code == 400
    assert response.json() == error("Coupon Series ID is invalid", 707)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Invalid request: ids: Give series IDs, e.g. ids=1,2."),
        ("?ids=", "Invalid request: ids: Give series IDs, e.g. ids=1,2."),
        (
            "?ids=1,abc",
            "Invalid request: ids: Comma-separated series IDs (numbers), e.g. ids=1,2.",
        ),
        (
            "?ids=-1",
            "Invalid request: ids: Comma-separated series IDs (numbers), e.g. ids=1,2.",
        ),
        ("?ids=" + ",".join(["1"] * 101), "Invalid request: ids: At most 100 IDs."),
    ],
)
def test_bad_ids_are_400(capillary, query, message):
    response = capillary.get(f"{SERIES_URL}{query}")

    assert response.status_code == 400
    assert response.json() == error(message)


def test_the_series_shows_the_store_time_zone(capillary, store):
    store.timezone = "Asia/Kolkata"
    store.save()
    series = make_series(store, valid_till=datetime(2030, 1, 1, tzinfo=UTC))

    entity = capillary.get(f"{SERIES_URL}?ids={series.id}").json()["entity"][0]

    assert entity["validTillDate"] == "2030-01-01T05:30:00+05:30"
    assert entity == rendered(series, "Asia/Kolkata")
