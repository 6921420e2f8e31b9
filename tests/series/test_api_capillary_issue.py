"""Capillary ``POST /v2/coupon/issue/multiple`` (seed 002), through the real stack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from assignments.models import Assignment, Channel
from core.actors import SYSTEM
from coupons import services as coupon_services
from coupons.models import Coupon, DiscountType
from coupons.redeem import service as redeem
from coupons.redeem.decide import Order
from customers.refs import CustomerRef
from series.models import CodeFormat, Series
from stores.auth import capillary_token_for
from stores.scopes import COUPONS_READ
from tests.factories import (
    ApiKeyFactory,
    CouponFactory,
    CustomerFactory,
    SeriesFactory,
    StoreFactory,
)
from tests.series.conftest import ISSUE_URL, capillary_client, make_series

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_pool")]

CONFIG_KEYS = [
    "customPropertyMap",
    "id",
    "description",
    "discountCode",
    "info",
    "discountUpto",
    "discountValue",
    "issueToLoyalty",
    "numUploadedNonIssued",
    "numUploadedTotal",
    "redemptionValidAfterDays",
    "ownerId",
    "ownerValidity",
    "alphaNumeric",
    "shortCodeLength",
    "randomCodeLength",
    "fixedExpiryDate",
    "numTotal",
    "latestIssualTime",
    "latestRedemptionTime",
    "discountOn",
    "discountType",
    "externalIssual",
    "updateProductData",
]
BODY_KEYS = [
    "coupons",
    "couponConfig",
    "totalCount",
    "failureCount",
    "successCount",
    "customer",
    "errors",
    "warnings",
]


def ms(value: datetime | None) -> int:
    return 0 if value is None else int(value.timestamp() * 1000)


def error(code: int, message: str) -> dict:
    return {"status": False, "code": code, "message": message}


def errors_body(code: int, message: str) -> dict:
    return {"errors": [error(code, message)]}


def issue(api, series, customer_ref: dict, count: int | None = 2, **extra):
    body = {"seriesId": series if isinstance(series, int) else series.id, **extra}
    if count is not None:
        body["count"] = count
    body["customer"] = customer_ref
    return api.post(ISSUE_URL, body, format="json")


def expected_customer(customer) -> dict:
    identifiers = [
        {"type": kind, "value": value}
        for kind, value in (
            ("email", customer.email),
            ("mobile", customer.mobile),
            ("externalId", customer.external_id),
        )
        if value
    ]
    return {
        "id": customer.compact_id,
        "profiles": [
            {
                "firstName": customer.first_name,
                "lastName": customer.last_name,
                "fields": {},
                "allFields": {},
                "identifiers": identifiers,
                "commChannels": [],
                "userId": customer.compact_id,
                "accountId": "",
                "autoUpdateTime": customer.updated_at.astimezone(UTC).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "identifiersAll": identifiers,
            }
        ],
    }


def expected_config(series: Series, *, issued_at: datetime, redeemed_at=None) -> dict:
    series.refresh_from_db()
    return {
        "customPropertyMap": series.custom_properties,
        "id": series.compact_id,
        "description": series.description,
        "discountCode": series.discount_code or "NO_VALUE",
        "info": series.description,
        "discountUpto": int(series.discount_upto),
        "discountValue": int(series.discount_value),
        "issueToLoyalty": False,
        "numUploadedNonIssued": 0,
        "numUploadedTotal": 0,
        "redemptionValidAfterDays": series.redemption_valid_after_days,
        "ownerId": 0,
        "ownerValidity": 0,
        "alphaNumeric": series.alpha_numeric,
        "shortCodeLength": 0,
        "randomCodeLength": 0 if series.is_generic else series.random_code_length,
        "fixedExpiryDate": ms(series.valid_till),
        "numTotal": series.issued_count,
        "latestIssualTime": ms(issued_at),
        "latestRedemptionTime": ms(redeemed_at),
        "discountOn": series.discount_on,
        "discountType": series.discount_type,
        "externalIssual": False,
        "updateProductData": False,
    }


def assigned(series, customer=None):
    rows = Assignment.objects.filter(series=series).select_related("coupon")
    if customer is not None:
        rows = rows.filter(customer=customer)
    return list(rows.order_by("id"))


# --- success --------------------------------------------------------------------------


def test_issue_two_codes_answers_the_seed_body(capillary, store, customer, till):
    series = make_series(store, custom_properties={"terms": "T&C apply"})

    response = issue(capillary, series, {"mobile": "11223569865"})

    assert response.status_code == 200
    body = response.json()
    assert list(body) == BODY_KEYS
    assert list(body["couponConfig"]) == CONFIG_KEYS
    rows = assigned(series, customer)
    assert len(rows) == 2
    assert body == {
        "coupons": [
            {"code": a.coupon.code, "couponId": a.coupon.compact_id} for a in rows
        ],
        "couponConfig": expected_config(series, issued_at=rows[0].created_at),
        "totalCount": 2,
        "failureCount": 0,
        "successCount": 2,
        "customer": expected_customer(customer),
        "errors": [],
        "warnings": [],
    }
    assert body["couponConfig"]["customPropertyMap"] == {"terms": "T&C apply"}
    assert body["couponConfig"]["numTotal"] == 2
    for row in rows:
        assert len(row.coupon.code) == 10
        assert row.coupon.code.isdigit()


def test_issued_codes_are_restricted_dated_and_recorded(
    capillary, store, customer, till, outlet
):
    valid_till = timezone.now() + timedelta(days=30)
    series = make_series(store, valid_till=valid_till, max_create=10)

    response = issue(capillary, series, {"externalId": "000003873472"}, count=3)

    assert response.status_code == 200
    rows = assigned(series)
    assert [r.customer_id for r in rows] == [customer.id] * 3
    for row in rows:
        assert row.channel == Channel.CAPILLARY
        assert row.outlet_id == outlet.id
        assert row.api_key_id == till.id
        assert row.valid_till == valid_till
        assert row.transaction_number is None
        coupon = row.coupon
        assert coupon.pooled is False
        assert coupon.usable_by_customer_id == customer.id
        assert coupon.expires_at == valid_till
        assert coupon.usable_at is None
        assert coupon.series_id == series.id
        assert coupon.origin == "generated"
    series.refresh_from_db()
    assert series.issued_count == 3
    assert response.json()["couponConfig"]["fixedExpiryDate"] == ms(valid_till)


@pytest.mark.parametrize(
    ("ref", "field"),
    [
        ({"mobile": "11223569865"}, "mobile"),
        ({"email": "Abi@Example.com"}, "email"),
        ({"externalId": "000003873472"}, "external_id"),
        (None, "id"),
    ],
)
def test_the_customer_is_found_by_any_identifier(capillary, store, ref, field):
    customer = CustomerFactory(
        store=store,
        mobile="11223569865",
        email="abi@example.com",
        external_id="000003873472",
    )
    series = make_series(store)

    response = issue(capillary, series, ref or {"id": customer.id}, count=1)

    assert response.status_code == 200
    assert response.json()["customer"]["id"] == customer.compact_id
    assert len(assigned(series, customer)) == 1


def test_every_identifier_given_must_match(capillary, store, customer):
    CustomerFactory(store=store, email="other@example.com")
    series = make_series(store)

    response = issue(
        capillary, series, {"mobile": customer.mobile, "email": "other@example.com"}
    )

    assert response.status_code == 400
    assert response.json() == errors_body(
        701,
        "The customer could not be found. Please check mobile, email, external id "
        "passed",
    )


def test_count_defaults_to_one(capillary, store, customer):
    series = make_series(store)

    missing = issue(capillary, series, {"mobile": customer.mobile}, count=None)
    null = capillary.post(
        ISSUE_URL,
        {"seriesId": series.id, "count": None, "customer": {"mobile": customer.mobile}},
        format="json",
    )

    for response in (missing, null):
        assert response.status_code == 200
        body = response.json()
        assert (body["totalCount"], body["successCount"], len(body["coupons"])) == (
            1,
            1,
            1,
        )


def test_no_code_is_issued_twice(capillary, store):
    series = make_series(store)
    customers = CustomerFactory.create_batch(5, store=store)
    codes: list[str] = []
    for customer in customers:
        body = issue(capillary, series, {"id": customer.id}, count=10).json()
        codes += [item["code"] for item in body["coupons"]]
    assert len(codes) == 50
    assert len(set(codes)) == 50


def test_the_pool_is_generated_when_it_runs_dry(capillary, store, customer):
    """A series made in the admin has no pool: the first issue generates codes."""
    series = SeriesFactory(
        store=store, alpha_numeric=True, random_code_length=12, code_prefix="SUM-"
    )
    assert not Coupon.objects.filter(series=series).exists()

    response = issue(capillary, series, {"id": customer.id}, count=7)

    assert response.status_code == 200
    codes = [item["code"] for item in response.json()["coupons"]]
    assert len(set(codes)) == 7
    for code in codes:
        assert len(code) == 16
        assert code.startswith("SUM-")
        assert code[4:].isalnum()
        assert code[4:] == code[4:].upper()


def test_the_pool_is_topped_up_after_an_issue(
    capillary, store, customer, django_capture_on_commit_callbacks
):
    series = make_series(store)  # 20 pooled codes (small_pool)
    with django_capture_on_commit_callbacks(execute=True):
        issue(capillary, series, {"id": customer.id}, count=10)
    assert Coupon.objects.filter(series=series, pooled=True).count() == 10

    with django_capture_on_commit_callbacks(execute=True):
        issue(capillary, series, {"id": customer.id}, count=8)

    # 2 left is below the low mark (5): refilled to the target (20).
    assert Coupon.objects.filter(series=series, pooled=True).count() == 20


def test_single_code_issues_top_the_pool_up_within_eight_issues(
    capillary, store, settings, django_capture_on_commit_callbacks
):
    # A claim of one code counts the pool only when the code's id is a multiple of
    # 8; the pool's ids are consecutive, so one issue in eight counts it.
    series = make_series(store)  # 20 pooled codes (small_pool)
    settings.SERIES_POOL_LOW = 9
    customers = CustomerFactory.create_batch(19, store=store)
    pooled = []
    for customer in customers:
        with django_capture_on_commit_callbacks(execute=True):
            issue(capillary, series, {"id": customer.id}, count=1)
        pooled.append(Coupon.objects.filter(series=series, pooled=True).count())

    # Down by one an issue to 9 left (not below the mark); then, within the next 8
    # issues (before the pool runs dry), one finds fewer left and refills it to 20.
    assert pooled[:11] == list(range(19, 8, -1))
    refilled = next(n for n in range(11, 19) if pooled[n] == 20)
    assert pooled[11:refilled] == list(range(8, 8 - (refilled - 11), -1))
    assert series.assignments.count() == 19


def test_an_issued_code_is_redeemable_by_its_customer_only(capillary, store, customer):
    series = make_series(store, discount_value=Decimal("12.50"), min_bill_amount=100)
    code = issue(capillary, series, {"id": customer.id}, count=1).json()["coupons"][0][
        "code"
    ]
    coupon = Coupon.objects.get(code=code)
    assert (coupon.discount_type, coupon.discount_amount) == (DiscountType.AMOUNT, 1250)
    assert coupon.minimum_order_value == 10_000
    assert (coupon.redeem_limit_store_enabled, coupon.redeem_limit_store_amount) == (
        True,
        1,
    )
    stranger = CustomerFactory(store=store)
    with pytest.raises(coupon_services.DomainError):
        redeem.redemption_create(
            store=store,
            code=code,
            customer=CustomerRef.by_id(stranger.id),
            order=Order(order_value=20_000),
            actor=SYSTEM,
        )

    redemption = redeem.redemption_create(
        store=store,
        code=code,
        customer=CustomerRef.by_id(customer.id),
        order=Order(order_value=20_000),
        actor=SYSTEM,
    )

    assert redemption.discount_amount == 1250


def test_the_config_shows_the_latest_redemption(capillary, store, customer):
    series = make_series(store)
    code = issue(capillary, series, {"id": customer.id}, count=1).json()["coupons"][0][
        "code"
    ]
    redemption = redeem.redemption_create(
        store=store,
        code=code,
        customer=CustomerRef.by_id(customer.id),
        order=Order(order_value=90_000),
        actor=SYSTEM,
    )

    body = issue(capillary, series, {"id": customer.id}, count=1).json()

    assert body["couponConfig"]["latestRedemptionTime"] == ms(redemption.created_at)
    assert body["couponConfig"]["numTotal"] == 2


def test_metadata_reason_is_the_purpose(capillary, store, customer):
    series = make_series(store)

    response = issue(
        capillary,
        series,
        {"id": customer.id},
        count=1,
        metadata={"sourceType": "Journeys", "reason": "Tier upgrade"},
    )

    assert response.status_code == 200
    assert assigned(series)[0].purpose == "Tier upgrade"


# --- generic series -------------------------------------------------------------------


def test_a_generic_series_always_gives_its_code(capillary, store, customer):
    series = make_series(
        store,
        description="10% off Decathlon Products",
        generic_code="DECATH10",
        discount_value=100,
    )
    other = CustomerFactory(store=store)

    first = issue(capillary, series, {"id": customer.id}, count=1)
    second = issue(capillary, series, {"id": other.id}, count=1)

    coupon = Coupon.objects.get(series=series)
    for response in (first, second):
        assert response.status_code == 200
        body = response.json()
        assert body["coupons"] == [{"code": "DECATH10", "couponId": coupon.compact_id}]
        assert (body["totalCount"], body["failureCount"], body["successCount"]) == (
            1,
            0,
            1,
        )
        assert body["couponConfig"]["randomCodeLength"] == 0
    assert Coupon.objects.filter(series=series).count() == 1
    assert {a.customer_id for a in assigned(series)} == {customer.id, other.id}
    series.refresh_from_db()
    assert series.issued_count == 2


def test_a_generic_series_gives_its_code_once_per_request(capillary, store, customer):
    series = make_series(store, generic_code="DECATH10")

    response = issue(capillary, series, {"id": customer.id}, count=3)

    assert response.status_code == 200
    body = response.json()
    assert body["coupons"] == [
        {"code": "DECATH10", "couponId": Coupon.objects.get(series=series).compact_id}
    ]
    assert (body["totalCount"], body["failureCount"], body["successCount"]) == (3, 2, 1)
    assert body["errors"] == [
        error(5004, "Cannot issue more than one GENERIC coupon code.")
    ]
    assert body["warnings"] == []
    assert len(assigned(series)) == 1


def test_a_generic_series_made_in_the_admin_gets_its_coupon_on_first_issue(
    capillary, store, customer
):
    series = SeriesFactory(
        store=store, code_format=CodeFormat.GENERIC, generic_code="WELCOME5"
    )

    response = issue(capillary, series, {"id": customer.id}, count=1)

    assert response.status_code == 200
    assert response.json()["coupons"][0]["code"] == "WELCOME5"
    coupon = Coupon.objects.get(series=series)
    assert (coupon.redeem_limit_customer_enabled, coupon.pooled) == (True, False)


def test_a_deleted_generic_coupon_leaves_the_queue_empty(capillary, store, customer):
    series = make_series(store, generic_code="GONE10")
    Coupon.objects.filter(series=series).update(archived_at=timezone.now())

    response = issue(capillary, series, {"id": customer.id}, count=1)

    assert response.status_code == 400
    assert response.json() == errors_body(5005, "Queue is empty for series")
    assert not Assignment.objects.exists()


# --- partial success ------------------------------------------------------------------


def test_one_per_customer_issues_one_with_5004(capillary, store, customer):
    series = make_series(
        store, description="Only 1 issual", is_multiple_vouchers_per_user_allowed=False
    )

    response = issue(capillary, series, {"mobile": customer.mobile}, count=2)

    assert response.status_code == 200
    rows = assigned(series)
    body = response.json()
    assert body == {
        "coupons": [
            {"code": rows[0].coupon.code, "couponId": rows[0].coupon.compact_id}
        ],
        "couponConfig": expected_config(series, issued_at=rows[0].created_at),
        "totalCount": 2,
        "failureCount": 1,
        "successCount": 1,
        "customer": expected_customer(customer),
        "errors": [
            error(
                5004,
                "Issue only one coupon. Since isAllowMultipleVouchersPerUser=false.",
            )
        ],
        "warnings": [],
    }


def test_one_per_customer_then_refuses_with_709(capillary, store, customer):
    series = make_series(store, is_multiple_vouchers_per_user_allowed=False)
    issue(capillary, series, {"id": customer.id}, count=1)

    response = issue(capillary, series, {"id": customer.id}, count=1)

    assert response.status_code == 400
    assert response.json() == errors_body(
        709, "Coupon processing failed: user already has a coupon"
    )
    assert len(assigned(series)) == 1


def test_max_per_customer_issues_what_fits_with_5002(capillary, store, customer):
    series = make_series(store, max_vouchers_per_user=3)
    issue(capillary, series, {"id": customer.id}, count=1)

    response = issue(capillary, series, {"id": customer.id}, count=5)

    body = response.json()
    assert response.status_code == 200
    assert (body["totalCount"], body["failureCount"], body["successCount"]) == (5, 3, 2)
    assert len(body["coupons"]) == 2
    assert body["errors"] == [error(5002, "max coupon per user exceeded")]
    assert len(assigned(series, customer)) == 3

    again = issue(capillary, series, {"id": customer.id}, count=1)

    assert again.status_code == 400
    assert again.json() == errors_body(5002, "max coupon per user exceeded")
    assert len(assigned(series, customer)) == 3
    # The cap is per customer: another customer still gets codes.
    other = CustomerFactory(store=store)
    assert issue(capillary, series, {"id": other.id}, count=3).status_code == 200


def test_the_series_cap_issues_what_fits_then_refuses(capillary, store, customer):
    series = make_series(store, max_create=5)
    issue(capillary, series, {"id": customer.id}, count=3)

    response = issue(capillary, series, {"id": customer.id}, count=5)

    body = response.json()
    assert response.status_code == 200
    assert (body["totalCount"], body["failureCount"], body["successCount"]) == (5, 3, 2)
    assert body["errors"] == [error(5001, "Maximum number of series has been created")]
    series.refresh_from_db()
    assert series.issued_count == 5

    full = issue(capillary, series, {"id": customer.id}, count=1)

    assert full.status_code == 400
    assert full.json() == errors_body(5001, "Maximum number of series has been created")
    series.refresh_from_db()
    assert series.issued_count == 5
    assert len(assigned(series)) == 5


def test_the_tightest_limit_is_the_one_reported(capillary, store, customer):
    series = make_series(store, max_create=4, max_vouchers_per_user=6)

    response = issue(capillary, series, {"id": customer.id}, count=10)

    body = response.json()
    assert (body["successCount"], body["failureCount"]) == (4, 6)
    assert body["errors"] == [error(5001, "Maximum number of series has been created")]


def test_an_uploaded_series_issues_what_its_pool_holds_with_5006(
    capillary, store, customer
):
    series = SeriesFactory(store=store, code_format=CodeFormat.UPLOADED)
    for code in ("UPL-1", "UPL-2"):
        CouponFactory(store=store, code=code, series=series, pooled=True)

    response = issue(capillary, series, {"id": customer.id}, count=5)

    body = response.json()
    assert response.status_code == 200
    assert sorted(item["code"] for item in body["coupons"]) == ["UPL-1", "UPL-2"]
    assert (body["successCount"], body["failureCount"]) == (2, 3)
    assert body["errors"] == [error(5006, "Unable to issue certain number of coupons")]
    assert body["couponConfig"]["numUploadedTotal"] == 2
    assert body["couponConfig"]["numUploadedNonIssued"] == 0

    empty = issue(capillary, series, {"id": customer.id}, count=1)

    assert empty.status_code == 400
    assert empty.json() == errors_body(5005, "Queue is empty for series")


# --- expiry strategies ----------------------------------------------------------------


T0 = datetime(2025, 3, 10, 20, 30, tzinfo=UTC)  # 2025-03-11 02:00 in Asia/Kolkata
IST = ZoneInfo("Asia/Kolkata")


@pytest.mark.parametrize(
    ("strategy", "value", "local_till"),
    [
        ("DAYS", 5, datetime(2025, 3, 16, 23, 59, 59, tzinfo=IST)),
        ("DAYS", 0, datetime(2025, 3, 11, 23, 59, 59, tzinfo=IST)),
        ("MONTHS_END", 0, datetime(2025, 3, 31, 23, 59, 59, tzinfo=IST)),
        ("MONTHS_END", 11, datetime(2026, 2, 28, 23, 59, 59, tzinfo=IST)),
    ],
)
def test_expiry_strategies_date_each_code_in_store_time(
    store, capillary, customer, strategy, value, local_till
):
    store.timezone = "Asia/Kolkata"
    store.save()
    with time_machine.travel(T0):
        series = make_series(
            store,
            valid_till=T0 + timedelta(days=3650),
            expiry_strategy_type=strategy,
            expiry_strategy_value=value,
        )
        response = issue(capillary, series, {"id": customer.id}, count=1)

    assert response.status_code == 200
    (row,) = assigned(series)
    assert row.valid_till == local_till
    assert row.coupon.expires_at == local_till
    assert response.json()["couponConfig"]["fixedExpiryDate"] == 0


def test_the_series_end_bounds_a_code_validity(store, capillary, customer):
    with time_machine.travel(T0):
        series = make_series(
            store,
            valid_till=T0 + timedelta(days=2),
            expiry_strategy_type="DAYS",
            expiry_strategy_value=30,
        )
        issue(capillary, series, {"id": customer.id}, count=1)

    (row,) = assigned(series)
    assert row.valid_till == T0 + timedelta(days=2)


def test_redemption_valid_after_days_delays_the_start(store, capillary, customer):
    with time_machine.travel(T0):
        series = make_series(
            store,
            valid_till=T0 + timedelta(days=30),
            redemption_valid_after_days=2,
        )
        issue(capillary, series, {"id": customer.id}, count=1)

    (row,) = assigned(series)
    assert row.coupon.usable_at == datetime(2025, 3, 12, tzinfo=UTC)


def test_a_code_that_would_expire_before_it_starts_is_713(store, capillary, customer):
    with time_machine.travel(T0):
        series = make_series(
            store, valid_till=T0 + timedelta(days=1), redemption_valid_after_days=3
        )
        response = issue(capillary, series, {"id": customer.id}, count=1)

    assert response.status_code == 400
    assert response.json() == errors_body(713, "Coupon has expired")


def test_an_expired_series_is_713(capillary, store, customer):
    series = SeriesFactory(
        store=store, valid_till=timezone.now() - timedelta(seconds=1)
    )

    response = issue(capillary, series, {"id": customer.id}, count=1)

    assert response.status_code == 400
    assert response.json() == errors_body(713, "Coupon has expired")
    assert not Assignment.objects.exists()


# --- errors ---------------------------------------------------------------------------


def _unchanged(series: Series, pooled: int) -> None:
    series.refresh_from_db()
    assert series.issued_count == 0
    assert not Assignment.objects.exists()
    assert Coupon.objects.filter(series=series, pooled=True).count() == pooled


def _without_series_id(body: dict) -> None:
    del body["seriesId"]


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        (_without_series_id, 756, "seriesId is mandatory to set"),
        (lambda b: b.update(seriesId=None), 756, "seriesId is mandatory to set"),
        (lambda b: b.update(count=0), 756, "count should be greater than 0"),
        (lambda b: b.update(count=-3), 756, "count should be greater than 0"),
        (
            lambda b: b.update(count=501),
            677,
            "Invalid coupon count. Minimum 1 and Maximum 500.",
        ),
        (lambda b: b.update(seriesId=0), 707, "Coupon Series ID is invalid"),
        (lambda b: b.update(seriesId=-5), 707, "Coupon Series ID is invalid"),
        (lambda b: b.update(seriesId=2**70), 707, "Coupon Series ID is invalid"),
        (lambda b: b.update(seriesId=415446), 707, "Coupon Series ID is invalid"),
    ],
    ids=[
        "no-series",
        "null-series",
        "count-0",
        "count-negative",
        "count-501",
        "series-0",
        "series-negative",
        "series-huge",
        "series-unknown",
    ],
)
def test_request_errors_answer_the_seed_codes(
    capillary, store, customer, change, code, message
):
    series = make_series(store)
    payload = {"seriesId": series.id, "count": 1, "customer": {"id": customer.id}}
    change(payload)

    response = capillary.post(ISSUE_URL, payload, format="json")

    assert response.status_code == 400
    assert response.json() == errors_body(code, message)
    _unchanged(series, 20)


def test_count_checks_come_before_the_series_lookup(capillary, customer):
    response = capillary.post(
        ISSUE_URL,
        {"seriesId": 415446, "count": 501, "customer": {"id": customer.id}},
        format="json",
    )

    assert response.json() == errors_body(
        677, "Invalid coupon count. Minimum 1 and Maximum 500."
    )


@pytest.mark.parametrize(
    "ref",
    [
        {"mobile": "99999999999"},
        {"email": "nobody@example.com"},
        {"externalId": "nope"},
        {"id": 12345},
        {},
        None,
    ],
)
def test_an_unknown_customer_is_701(capillary, store, customer, ref):
    series = make_series(store)
    payload = {"seriesId": series.id, "count": 1}
    if ref is not None:
        payload["customer"] = ref

    response = capillary.post(ISSUE_URL, payload, format="json")

    assert response.status_code == 400
    assert response.json() == errors_body(
        701,
        "The customer could not be found. Please check mobile, email, external id "
        "passed",
    )
    _unchanged(series, 20)


def test_another_stores_series_and_customer_are_unknown(capillary, store, customer):
    other_store = StoreFactory()
    theirs = make_series(other_store)
    their_customer = CustomerFactory(store=other_store)
    mine = make_series(store)

    series_response = issue(capillary, theirs, {"id": customer.id}, count=1)
    customer_response = issue(capillary, mine, {"id": their_customer.id}, count=1)

    assert series_response.json() == errors_body(707, "Coupon Series ID is invalid")
    assert customer_response.json()["errors"][0]["code"] == 701
    _unchanged(theirs, 20)
    _unchanged(mine, 20)


def test_an_inactive_series_is_707(capillary, store, customer):
    series = make_series(store)
    Series.objects.filter(pk=series.pk).update(is_active=False)

    response = issue(capillary, series, {"id": customer.id}, count=1)

    assert response.json() == errors_body(707, "Coupon Series ID is invalid")


def test_an_array_series_id_is_400(capillary, store, customer):
    series = make_series(store)

    response = capillary.post(
        ISSUE_URL,
        {"seriesId": [series.id, 535521], "count": 2, "customer": {"id": customer.id}},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == errors_body(
        400,
        "Invalid request: seriesId: Takes one series ID (a number), not a list: "
        "issue from one series per request.",
    )
    _unchanged(series, 20)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"seriesId": "1", "count": 1}, "seriesId: Must be a series ID (a number)."),
        ({"seriesId": True, "count": 1}, "seriesId: Must be a series ID (a number)."),
        ({"count": "2"}, "count: Must be an integer."),
        ({"count": 1.5}, "count: Must be an integer."),
        ({"customer": "11223569865"}, "customer: Invalid data. Expected a dict"),
        ({"customer": {"mobile": 11223569865}}, "customer.mobile: Must be a string."),
        ({"customer": {"id": "7"}}, "customer.id: Must be an integer."),
        (
            {"metadata": {"notes": "x" * 251}},
            "metadata.notes: Ensure this field has no more than 250 characters.",
        ),
    ],
)
def test_wrong_json_types_are_400(capillary, store, customer, payload, message):
    series = make_series(store)
    body = {"seriesId": series.id, "count": 1, "customer": {"id": customer.id}}
    body.update(payload)

    response = capillary.post(ISSUE_URL, body, format="json")

    assert response.status_code == 400
    (item,) = response.json()["errors"]
    assert (item["status"], item["code"]) == (False, 400)
    assert item["message"].startswith("Invalid request: ")
    assert message in item["message"]
    _unchanged(series, 20)


@pytest.mark.parametrize("raw", ["[1, 2]", "not json", '"text"'])
def test_a_body_that_is_not_an_object_is_400(capillary, raw):
    response = capillary.post(ISSUE_URL, raw, content_type="application/json")

    assert response.status_code == 400
    (item,) = response.json()["errors"]
    assert (item["status"], item["code"]) == (False, 400)


# --- auth -----------------------------------------------------------------------------


def test_without_credentials_it_is_401(client, store, customer):
    series = make_series(store)

    response = issue(client, series, {"id": customer.id})

    assert response.status_code == 401
    assert response.json() == errors_body(
        401, "Authentication failed. Please check username and password."
    )
    assert response["WWW-Authenticate"] == "X-CAP-API-OAUTH-TOKEN"
    _unchanged(series, 20)


def test_a_key_without_the_series_scope_is_403(store, customer):
    series = make_series(store)
    api = capillary_client(ApiKeyFactory(store=store, scopes=[COUPONS_READ]))

    response = issue(api, series, {"id": customer.id})

    assert response.status_code == 403
    assert response.json() == errors_body(403, "This API key lacks the 'series' scope.")


def test_an_oauth_token_works_and_expires_after_300_seconds(
    client, store, customer, till
):
    series = make_series(store)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        token = capillary_token_for(till)
    client.credentials(HTTP_X_CAP_API_OAUTH_TOKEN=token)

    with time_machine.travel(start + timedelta(seconds=299)):
        ok = issue(client, series, {"id": customer.id}, count=1)
    with time_machine.travel(start + timedelta(seconds=301)):
        late = issue(client, series, {"id": customer.id}, count=1)

    assert ok.status_code == 200
    assert late.status_code == 401
    assert late.json() == errors_body(
        401, "Authentication failed. Please check username and password."
    )
    assert len(assigned(series)) == 1


# --- query count ----------------------------------------------------------------------


# SQLite caps the bound parameters of one statement, so Django splits a bulk insert of
# many rows into several statements there; PostgreSQL takes 500 rows in one, so the
# 500-code case runs on PostgreSQL only.
def _bulk_counts() -> list:
    return [
        1,
        20,
        pytest.param(500, marks=pytest.mark.postgres, id="500-postgres-only"),
    ]


# Statements of one issue that PostgreSQL batches in one round trip and SQLite runs
# one by one: the first reads (customer lock, series with the customer's holdings,
# the claim of the codes asked for), the same reads under the series lock (without
# the claim), and the writes (assignments, audit events, series counter; the codes'
# window too when the series gives one, not here). Before them, the dialect reads
# the series' id and latest redemption (its answer shows it) in one statement.
_DIALECT = 1
_READS = {"sqlite": 3, "postgresql": 1}
_LOCKED_READS = {"sqlite": 2, "postgresql": 1}
_WRITES = {"sqlite": 3, "postgresql": 1}


@pytest.mark.parametrize("count", _bulk_counts())
def test_issue_from_a_stocked_pool_costs_a_fixed_number_of_queries(
    capillary, store, customer, count, settings, django_assert_num_queries
):
    settings.SERIES_POOL_TARGET = 500
    series = make_series(store)  # 500 pooled codes

    # auth key; the dialect's read; savepoint, the reads, the writes, release.
    vendor = connection.vendor
    with django_assert_num_queries(1 + _DIALECT + 2 + _READS[vendor] + _WRITES[vendor]):
        response = issue(capillary, series, {"id": customer.id}, count=count)

    assert response.json()["successCount"] == count


@pytest.mark.parametrize("count", _bulk_counts())
def test_issue_from_a_dry_pool_costs_a_constant_number_of_queries(
    capillary, store, customer, count, settings, django_assert_num_queries
):
    settings.SERIES_POOL_TARGET = 0
    series = make_series(store)  # no pooled code: the issue generates them

    # auth key; the dialect's read; a first attempt without the series lock that
    # finds the pool dry (savepoint, the reads, rollback to and release of the
    # savepoint); the issue again under the lock: savepoint, the locked reads, a
    # claim, the generation, a second claim, the writes, release. Generation is, on
    # SQLite, the allocation of the codes' compact ids (core.compact) and one INSERT
    # OR IGNORE; on PostgreSQL: create the temporary staging table if missing, COPY
    # into it, one INSERT ... SELECT in a savepoint (a collision is unlikely in this
    # space), empty it. Before either, the store's check-character shapes (FOR SHARE:
    # no code that would read as a typo is made, issue 20).
    vendor = connection.vendor
    generation = {"sqlite": 3, "postgresql": 7}[vendor]
    first = 3 + _READS[vendor]
    locked = 2 + _LOCKED_READS[vendor] + 2 + generation + _WRITES[vendor]
    with django_assert_num_queries(1 + _DIALECT + first + locked):
        response = issue(capillary, series, {"id": customer.id}, count=count)

    assert response.json()["successCount"] == count
