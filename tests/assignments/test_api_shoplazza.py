"""Shoplazza Receive Coupons: ``POST /openapi/2022-01/coupons/receive`` (seed 000)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from assignments.models import Assignment, Channel
from coupons import services as coupon_services
from coupons.models import Coupon
from coupons.redeem import service as redeem
from stores import services as store_services
from stores.scopes import COUPONS_READ, COUPONS_WRITE, SERIES
from tests.assignments.conftest import RECEIVE_URL, shoplazza_client
from tests.factories import (
    ApiKeyFactory,
    CouponFactory,
    CustomerFactory,
    OutletFactory,
    RedemptionFactory,
    SeriesFactory,
    StoreFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
ITEM_KEYS = [
    "id",
    "status",
    "value",
    "stock",
    "coupon_status",
    "received_count",
    "discount_text",
    "prerequisite_text",
    "is_first_order",
]


def _receive(api, customer_id, coupon_ids):
    return api.post(
        RECEIVE_URL,
        {"customer_id": str(customer_id), "coupon_ids": [str(i) for i in coupon_ids]},
        format="json",
    )


def _post_raw(api, body: str, content_type: str = "application/json"):
    # generic(): the body goes as given, and "" sends no Content-Type at all.
    return api.generic("POST", RECEIVE_URL, body, content_type=content_type)


def _statuses(response) -> list[int]:
    return [item["status"] for item in response.json()["items"]]


def _missing(coupon_id: object) -> dict:
    """The item of an id that names no receivable coupon (status 6)."""
    return {
        "id": str(coupon_id),
        "status": 6,
        "value": 0.0,
        "stock": 0,
        "coupon_status": 3,
        "received_count": 0,
        "discount_text": "",
        "prerequisite_text": "",
        "is_first_order": False,
    }


def _envelope(status: int, items: list[dict]) -> dict:
    return {
        "status": status,
        "items": items,
        "limit": 100,
        "has_more": False,
        "cursor": "",
    }


def _assert_nothing_written(*coupons: Coupon) -> None:
    assert Assignment.objects.count() == 0
    for coupon in coupons:
        coupon.refresh_from_db()
        assert coupon.received_count == 0


# --- success: the exact body and the rows written ----------------------------------


def test_receive_answers_the_seed_body_and_writes_one_assignment(store, customer):
    store.currency = "EUR"
    store.save()
    outlet = OutletFactory(store=store)
    key = ApiKeyFactory(store=store, outlet=outlet)
    coupon = CouponFactory(
        store=store,
        discount_type="percent",
        discount_amount=250,
        minimum_order_value=5000,
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=10,
        redeem_limit_customer_enabled=True,
        redeem_limit_customer_amount=1,
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
    )

    response = _receive(shoplazza_client(key), customer.id, [coupon.id])

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["status", "items", "limit", "has_more", "cursor"]
    assert list(body["items"][0]) == ITEM_KEYS
    assert body == _envelope(
        1,
        [
            {
                "id": str(coupon.id),
                "status": 1,
                "value": 25.0,
                "stock": 9,
                "coupon_status": 2,  # the customer's limit of 1 is now reached
                "received_count": 1,
                "discount_text": "25% off",
                "prerequisite_text": "Orders of €50.00 or more",
                "is_first_order": False,
            }
        ],
    )
    assert b'"value":25.0' in response.content  # a JSON float, as the seed types it
    assignment = Assignment.objects.get()
    assert (
        assignment.store_id,
        assignment.coupon_id,
        assignment.customer_id,
        assignment.api_key_id,
        assignment.outlet_id,
        assignment.channel,
        assignment.valid_till,
        assignment.series_id,
    ) == (
        store.id,
        coupon.id,
        customer.id,
        key.id,
        outlet.id,
        Channel.SHOPLAZZA,
        coupon.expires_at,
        None,
    )
    coupon.refresh_from_db()
    assert coupon.received_count == 1
    assert coupon.redeemed_count == 0


def test_a_key_without_outlet_records_no_outlet(shoplazza, shoplazza_key, customer):
    coupon = CouponFactory(store=customer.store)

    assert _statuses(_receive(shoplazza, customer.id, [coupon.id])) == [1]

    assignment = Assignment.objects.get()
    assert (assignment.outlet_id, assignment.api_key_id, assignment.valid_till) == (
        None,
        shoplazza_key.id,
        None,
    )


def test_stock_is_minus_one_without_a_store_wide_limit(shoplazza, customer):
    coupon = CouponFactory(store=customer.store)
    coupon.received_count = 41
    coupon.save()

    item = _receive(shoplazza, customer.id, [coupon.id]).json()["items"][0]

    assert (item["status"], item["stock"], item["received_count"]) == (1, -1, 42)
    assert item["coupon_status"] == 1
    coupon.refresh_from_db()
    assert coupon.received_count == 42


def test_stock_is_the_store_wide_limit_minus_what_was_received(shoplazza, customer):
    coupon = CouponFactory(
        store=customer.store,
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=5,
    )
    coupon.received_count = 3
    coupon.redeemed_count = 4  # redemptions do not use receive stock
    coupon.save()

    items = _receive(shoplazza, customer.id, [coupon.id, coupon.id]).json()["items"]

    assert [(i["status"], i["stock"], i["received_count"]) for i in items] == [
        (1, 1, 4),
        (1, 0, 5),
    ]
    assert [i["coupon_status"] for i in items] == [1, 3]


def test_a_coupon_made_through_paynow_is_received_through_shoplazza(
    store, shoplazza, customer
):
    paynow = ApiKeyFactory(store=store, scopes=[COUPONS_READ, COUPONS_WRITE])
    created = shoplazza.post(
        f"/v1/stores/{store.id}/coupons",
        {
            "enabled": True,
            "code": "WELCOME5",
            "duration": "once",
            "discount_type": "amount",
            "discount_amount": 500,
            "discount_apply_individually": False,
            "discount_apply_before_sales": False,
            "minimum_order_value": 0,
            "redeem_limit_store_enabled": True,
            "redeem_limit_store_amount": 3,
            "redeem_limit_customer_enabled": False,
            "redeem_limit_customer_amount": 0,
            "usable_on_one_time_purchase": True,
            "usable_on_subscription": True,
        },
        format="json",
        HTTP_AUTHORIZATION=f"APIKey {paynow.token}",
    )
    assert created.status_code == 200
    coupon_id = created.json()["id"]

    response = _receive(shoplazza, customer.id, [coupon_id])

    assert response.json()["items"] == [
        {
            "id": coupon_id,
            "status": 1,
            "value": 5.0,
            "stock": 2,
            "coupon_status": 1,
            "received_count": 1,
            "discount_text": "$5.00 off",
            "prerequisite_text": "No minimum",
            "is_first_order": False,
        }
    ]


# --- value, discount_text, prerequisite_text in the store's currency ----------------


@pytest.mark.parametrize(
    ("currency", "value", "texts"),
    [
        ("EUR", 5.0, ("€5.00 off", "Orders of €50.00 or more")),
        ("USD", 5.0, ("$5.00 off", "Orders of $50.00 or more")),
        ("GBP", 5.0, ("£5.00 off", "Orders of £50.00 or more")),
        # No symbol of its own in English: the ISO code, spaced as CLDR says.
        ("CHF", 5.0, ("CHF 5.00 off", "Orders of CHF 50.00 or more")),
        # No minor unit: 500 in the smallest unit is 500 yen.
        ("JPY", 500.0, ("¥500 off", "Orders of ¥5,000 or more")),
        ("KWD", 0.5, ("KWD 0.500 off", "Orders of KWD 5.000 or more")),
    ],
)
def test_amounts_are_in_major_units_of_the_store_currency(
    shoplazza, customer, currency, value, texts
):
    store = customer.store
    store.currency = currency
    store.save()
    coupon = CouponFactory(
        store=store,
        discount_type="amount",
        discount_amount=500,
        minimum_order_value=5000,
    )

    item = _receive(shoplazza, customer.id, [coupon.id]).json()["items"][0]

    assert (item["value"], item["discount_text"], item["prerequisite_text"]) == (
        value,
        *texts,
    )
    assert isinstance(item["value"], float)


@pytest.mark.parametrize(
    ("discount", "value", "text"),
    [
        ({"discount_amount": 250}, 25.0, "25% off"),
        ({"discount_amount": 125}, 12.5, "12.5% off"),
        ({"discount_amount": 1000}, 100.0, "100% off"),
        ({"discount_amount": 5}, 0.5, "0.5% off"),
        (
            {"discount_amount": 200, "discount_max_amount": 1000},
            20.0,
            "20% off (up to €10.00)",
        ),
    ],
)
def test_a_percent_is_its_tenths_divided_by_ten(
    shoplazza, customer, discount, value, text
):
    store = customer.store
    store.currency = "EUR"
    store.save()
    coupon = CouponFactory(store=store, discount_type="percent", **discount)

    item = _receive(shoplazza, customer.id, [coupon.id]).json()["items"][0]

    assert (item["value"], item["discount_text"]) == (value, text)
    assert isinstance(item["value"], float)


@pytest.mark.parametrize(
    ("minor", "value_text", "text"),
    [
        # 15 significant digits: a double holds it exactly.
        (999999999999999, "9999999999999.99", "€9,999,999,999,999.99 off"),
        # 16 (the largest amount PayNow takes, 2^53-1 cents): the nearest double,
        # which reads 90071992547409.9; discount_text states it exactly.
        (2**53 - 1, "90071992547409.9", "€90,071,992,547,409.91 off"),
    ],
)
def test_value_is_a_double_exact_to_15_significant_digits(
    shoplazza, customer, minor, value_text, text
):
    store = customer.store
    store.currency = "EUR"
    store.save()
    coupon = CouponFactory(store=store, discount_type="amount", discount_amount=minor)

    response = _receive(shoplazza, customer.id, [coupon.id])

    item = response.json()["items"][0]
    assert f'"value":{value_text},'.encode() in response.content
    assert (item["value"], item["discount_text"]) == (float(value_text), text)


def test_an_unspecified_discount_is_worth_nothing(shoplazza, customer):
    coupon = CouponFactory(
        store=customer.store, discount_type="unspecified", discount_amount=0
    )

    item = _receive(shoplazza, customer.id, [coupon.id]).json()["items"][0]

    assert (item["status"], item["value"], item["discount_text"]) == (
        1,
        0.0,
        "No discount",
    )


def test_large_amounts_are_grouped_and_no_minimum_is_said(shoplazza, customer):
    coupon = CouponFactory(store=customer.store, discount_amount=125_000_00)

    item = _receive(shoplazza, customer.id, [coupon.id]).json()["items"][0]

    assert (item["value"], item["discount_text"], item["prerequisite_text"]) == (
        125000.0,
        "$125,000.00 off",
        "No minimum",
    )


def test_is_first_order_is_the_coupons_flag(shoplazza, customer):
    coupon = CouponFactory(store=customer.store, is_first_order_only=True)

    item = _receive(shoplazza, customer.id, [coupon.id]).json()["items"][0]

    assert (item["status"], item["is_first_order"]) == (1, True)


# --- each coupon on its own: every outcome number -----------------------------------


@pytest.mark.parametrize(
    "coupon_id", ["nope", "", " 1", "-5", "0", "9" * 20, "1.5", "٣"]
)
def test_an_id_that_is_not_an_id_is_6(shoplazza, customer, coupon_id):
    response = _receive(shoplazza, customer.id, [coupon_id])

    assert response.status_code == 200
    assert response.json() == _envelope(6, [_missing(coupon_id)])
    assert Assignment.objects.count() == 0


def test_an_unknown_coupon_is_6(shoplazza, customer):
    assert _receive(shoplazza, customer.id, [123456789]).json() == _envelope(
        6, [_missing(123456789)]
    )


def test_another_stores_coupon_is_6_and_untouched(shoplazza, customer, other_store):
    coupon = CouponFactory(store=other_store)

    response = _receive(shoplazza, customer.id, [coupon.id])

    assert response.json() == _envelope(6, [_missing(coupon.id)])
    _assert_nothing_written(coupon)


def test_a_disabled_coupon_is_6(shoplazza, customer):
    coupon = CouponFactory(store=customer.store, enabled=False)

    response = _receive(shoplazza, customer.id, [coupon.id])

    assert response.json() == _envelope(6, [_missing(coupon.id)])
    _assert_nothing_written(coupon)


def test_an_archived_coupon_is_6(shoplazza, customer):
    coupon = CouponFactory(store=customer.store)
    RedemptionFactory(coupon=coupon)  # history: deleting archives it
    coupon_services.coupon_delete(coupon=coupon, actor=coupon_services.INTERNAL)

    response = _receive(shoplazza, customer.id, [coupon.id])

    assert response.json() == _envelope(6, [_missing(coupon.id)])
    assert Assignment.objects.count() == 0


@time_machine.travel(NOW, tick=False)
def test_a_coupon_not_started_yet_is_10(shoplazza, customer):
    coupon = CouponFactory(store=customer.store, usable_at=NOW + timedelta(seconds=1))

    response = _receive(shoplazza, customer.id, [coupon.id])

    item = response.json()["items"][0]
    assert (response.json()["status"], item["status"], item["coupon_status"]) == (
        10,
        10,
        1,
    )
    assert (item["value"], item["discount_text"]) == (5.0, "$5.00 off")
    _assert_nothing_written(coupon)


@time_machine.travel(NOW, tick=False)
def test_a_coupon_is_received_from_the_instant_it_starts(shoplazza, customer):
    coupon = CouponFactory(store=customer.store, usable_at=NOW)

    assert _statuses(_receive(shoplazza, customer.id, [coupon.id])) == [1]


@time_machine.travel(NOW, tick=False)
def test_a_coupon_at_its_expiry_instant_is_5(shoplazza, customer):
    expired = CouponFactory(store=customer.store, expires_at=NOW)
    live = CouponFactory(store=customer.store, expires_at=NOW + timedelta(seconds=1))

    response = _receive(shoplazza, customer.id, [expired.id, live.id])

    assert _statuses(response) == [5, 1]
    assert response.json()["status"] == 5
    assert list(Assignment.objects.values_list("coupon_id", flat=True)) == [live.id]
    expired.refresh_from_db()
    assert expired.received_count == 0


def test_a_coupon_out_of_stock_is_8(shoplazza, customer):
    coupon = CouponFactory(
        store=customer.store,
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=2,
    )
    coupon.received_count = 2
    coupon.save()

    response = _receive(shoplazza, customer.id, [coupon.id])

    item = response.json()["items"][0]
    assert (item["status"], item["stock"], item["coupon_status"]) == (8, 0, 3)
    assert item["received_count"] == 2
    assert Assignment.objects.count() == 0
    coupon.refresh_from_db()
    assert coupon.received_count == 2


def test_a_coupon_already_received_with_a_limit_of_one_is_7(shoplazza, customer):
    coupon = CouponFactory(
        store=customer.store,
        redeem_limit_customer_enabled=True,
        redeem_limit_customer_amount=1,
    )

    first = _receive(shoplazza, customer.id, [coupon.id])
    second = _receive(shoplazza, customer.id, [coupon.id])

    assert (_statuses(first), _statuses(second)) == ([1], [7])
    assert second.json()["status"] == 7
    assert second.json()["items"][0]["coupon_status"] == 2
    assert Assignment.objects.count() == 1
    coupon.refresh_from_db()
    assert coupon.received_count == 1


def test_a_larger_per_customer_limit_reached_is_4(shoplazza, customer):
    coupon = CouponFactory(
        store=customer.store,
        redeem_limit_customer_enabled=True,
        redeem_limit_customer_amount=3,
    )

    response = _receive(shoplazza, customer.id, [coupon.id] * 4)

    assert _statuses(response) == [1, 1, 1, 4]
    assert [i["coupon_status"] for i in response.json()["items"]] == [1, 1, 2, 2]
    assert [i["received_count"] for i in response.json()["items"]] == [1, 2, 3, 3]
    assert response.json()["status"] == 4
    assert Assignment.objects.filter(customer=customer).count() == 3


def test_the_per_customer_limit_counts_this_customer_only(shoplazza, customer):
    coupon = CouponFactory(
        store=customer.store,
        redeem_limit_customer_enabled=True,
        redeem_limit_customer_amount=1,
    )
    other = CustomerFactory(store=customer.store)

    assert _statuses(_receive(shoplazza, other.id, [coupon.id])) == [1]
    assert _statuses(_receive(shoplazza, customer.id, [coupon.id])) == [1]
    coupon.refresh_from_db()
    assert coupon.received_count == 2


def test_a_coupon_held_from_another_channel_counts_against_the_limit(
    shoplazza, customer
):
    coupon = CouponFactory(
        store=customer.store,
        redeem_limit_customer_enabled=True,
        redeem_limit_customer_amount=1,
    )
    Assignment.objects.create(
        store=customer.store, coupon=coupon, customer=customer, channel=Channel.ADMIN
    )

    assert _statuses(_receive(shoplazza, customer.id, [coupon.id])) == [7]


def test_a_first_order_coupon_for_a_customer_with_a_redemption_is_2(
    shoplazza, customer
):
    RedemptionFactory(coupon=CouponFactory(store=customer.store), customer=customer)
    coupon = CouponFactory(store=customer.store, is_first_order_only=True)

    response = _receive(shoplazza, customer.id, [coupon.id])

    item = response.json()["items"][0]
    assert (response.json()["status"], item["status"], item["is_first_order"]) == (
        2,
        2,
        True,
    )
    _assert_nothing_written(coupon)


def test_a_rolled_back_redemption_leaves_the_customer_first_order_eligible(
    shoplazza, customer
):
    redemption = RedemptionFactory(
        coupon=CouponFactory(store=customer.store, redeemed_count=1),
        customer=customer,
    )
    redeem.redemption_rollback(
        store=customer.store,
        redemption_id=redemption.id,
        actor=coupon_services.INTERNAL,
    )
    coupon = CouponFactory(store=customer.store, is_first_order_only=True)

    assert _statuses(_receive(shoplazza, customer.id, [coupon.id])) == [1]


def test_a_redemption_in_another_store_does_not_spoil_the_first_order(
    shoplazza, customer, other_store
):
    RedemptionFactory(coupon=CouponFactory(store=other_store))
    coupon = CouponFactory(store=customer.store, is_first_order_only=True)

    assert _statuses(_receive(shoplazza, customer.id, [coupon.id])) == [1]


def test_a_coupon_restricted_to_another_customer_is_2(shoplazza, customer):
    other = CustomerFactory(store=customer.store)
    theirs = CouponFactory(store=customer.store, usable_by_customer=other)
    mine = CouponFactory(store=customer.store, usable_by_customer=customer)

    assert _statuses(_receive(shoplazza, customer.id, [theirs.id, mine.id])) == [2, 1]


def test_an_issued_series_code_is_2(shoplazza, customer):
    coupon = CouponFactory(
        store=customer.store, series=SeriesFactory(store=customer.store), pooled=False
    )

    assert _statuses(_receive(shoplazza, customer.id, [coupon.id])) == [2]
    _assert_nothing_written(coupon)


def test_a_pooled_series_code_is_inventory_so_6(shoplazza, customer):
    # DESIGN.md invariant 6: not a coupon until it is issued, so no such coupon.
    coupon = CouponFactory(
        store=customer.store, series=SeriesFactory(store=customer.store), pooled=True
    )

    response = _receive(shoplazza, customer.id, [coupon.id])

    assert response.json() == _envelope(6, [_missing(coupon.id)])
    _assert_nothing_written(coupon)
    coupon.refresh_from_db()
    assert (coupon.pooled, coupon.usable_by_customer_id) == (True, None)


# --- many coupons in one request ----------------------------------------------------


def test_items_follow_the_request_and_the_first_failure_is_the_status(
    shoplazza, customer
):
    store = customer.store
    a = CouponFactory(store=store)
    b = CouponFactory(store=store, enabled=False)
    c = CouponFactory(
        store=store, redeem_limit_store_enabled=True, redeem_limit_store_amount=1
    )
    d = CouponFactory(store=store)

    # c twice: the second receive finds no stock; a later failure does not win.
    response = _receive(shoplazza, customer.id, [d.id, b.id, c.id, a.id, c.id])

    body = response.json()
    assert [item["id"] for item in body["items"]] == [
        str(d.id),
        str(b.id),
        str(c.id),
        str(a.id),
        str(c.id),
    ]
    assert _statuses(response) == [1, 6, 1, 1, 8]
    assert body["status"] == 6
    assert sorted(Assignment.objects.values_list("coupon_id", flat=True)) == sorted(
        [a.id, c.id, d.id]
    )
    assert [Coupon.objects.get(pk=x.pk).received_count for x in (a, b, c, d)] == [
        1,
        0,
        1,
        1,
    ]


def test_the_same_id_twice_is_two_receives(shoplazza, customer):
    coupon = CouponFactory(store=customer.store)

    response = _receive(shoplazza, customer.id, [coupon.id, coupon.id])

    assert _statuses(response) == [1, 1]
    assert [i["received_count"] for i in response.json()["items"]] == [1, 2]
    assert Assignment.objects.filter(coupon=coupon, customer=customer).count() == 2
    coupon.refresh_from_db()
    assert coupon.received_count == 2


def test_a_hundred_ids_are_received(shoplazza, customer):
    coupon = CouponFactory(store=customer.store)

    response = _receive(shoplazza, customer.id, [coupon.id] * 100)

    assert response.status_code == 200
    assert _statuses(response) == [1] * 100
    coupon.refresh_from_db()
    assert coupon.received_count == 100
    assert Assignment.objects.count() == 100


def test_the_query_count_does_not_grow_with_the_ids(
    shoplazza, customer, django_assert_num_queries
):
    store = customer.store
    one = CouponFactory(store=store, is_first_order_only=True)
    many = [
        CouponFactory(
            store=store,
            is_first_order_only=True,
            redeem_limit_customer_enabled=True,
            redeem_limit_customer_amount=5,
            redeem_limit_store_enabled=True,
            redeem_limit_store_amount=50,
        )
        for _ in range(20)
    ]
    # key, savepoint, the locks (customer, coupons: with them the held counts and
    # whether the customer redeemed, where the rules read them), the live holds of
    # the limited coupons (what they take of the stock), the writes (assignments,
    # audit events, counters), release. The locks and the holds are one round trip
    # on PostgreSQL, the writes one statement.
    batched = 1 if connection.vendor == "postgresql" else 0
    with django_assert_num_queries(9 - 4 * batched):
        assert _statuses(_receive(shoplazza, customer.id, [one.id])) == [1]
    with django_assert_num_queries(9 - 4 * batched):
        response = _receive(shoplazza, customer.id, [c.id for c in many] * 3)
    assert _statuses(response) == [1] * 60


# --- whole-request errors: nothing written ------------------------------------------


@pytest.fixture
def coupon(customer):
    return CouponFactory(store=customer.store)


def test_malformed_json_is_400(shoplazza, customer, coupon):
    response = _post_raw(shoplazza, '{"customer_id": "1", "coupon_ids": [')

    assert response.status_code == 400
    assert response.json() == {
        "errors": ["JSON parse error - Expecting value: line 1 column 37 (char 36)"]
    }
    _assert_nothing_written(coupon)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
        "application/jsonx",
        "",
    ],
)
def test_a_content_type_other_than_json_is_400(
    shoplazza, customer, coupon, content_type
):
    body = json.dumps({"customer_id": str(customer.id), "coupon_ids": [str(coupon.id)]})

    response = _post_raw(shoplazza, body, content_type=content_type)

    assert response.status_code == 400
    assert response.json() == {"errors": ["Content-Type must be application/json."]}
    _assert_nothing_written(coupon)


def test_json_with_a_charset_is_json(shoplazza, customer, coupon):
    body = json.dumps({"customer_id": str(customer.id), "coupon_ids": [str(coupon.id)]})

    response = _post_raw(shoplazza, body, "application/json; charset=utf-8")

    assert (response.status_code, _statuses(response)) == (200, [1])


NOT_A_STRING = "Must be a string."


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ([], ["The body must be a JSON object."]),
        ("x", ["The body must be a JSON object."]),
        ({"coupon_ids": ["1"]}, ["customer_id: This field is required."]),
        (
            {"customer_id": None, "coupon_ids": ["1"]},
            ["customer_id: This field may not be null."],
        ),
        (
            {"customer_id": "", "coupon_ids": ["1"]},
            ["customer_id: This field may not be blank."],
        ),
        ({"customer_id": 5, "coupon_ids": ["1"]}, [f"customer_id: {NOT_A_STRING}"]),
        ({"customer_id": ["5"], "coupon_ids": []}, [f"customer_id: {NOT_A_STRING}"]),
        (
            {"customer_id": "5", "coupon_ids": "1"},
            ['coupon_ids: Expected a list of items but got type "str".'],
        ),
        (
            {"customer_id": "5", "coupon_ids": {"a": "1"}},
            ['coupon_ids: Expected a list of items but got type "dict".'],
        ),
        (
            {"customer_id": "5", "coupon_ids": ["1", 2]},
            [f"coupon_ids.1: {NOT_A_STRING}"],
        ),
        (
            {"customer_id": "5", "coupon_ids": [None]},
            ["coupon_ids.0: This field may not be null."],
        ),
        (
            {"customer_id": 5, "coupon_ids": [["1"]]},
            [f"customer_id: {NOT_A_STRING}", f"coupon_ids.0: {NOT_A_STRING}"],
        ),
    ],
)
def test_wrong_types_are_400_with_every_problem(
    shoplazza, customer, coupon, body, errors
):
    response = shoplazza.post(RECEIVE_URL, body, format="json")

    assert response.status_code == 400
    assert response.json() == {"errors": errors}
    _assert_nothing_written(coupon)


@pytest.mark.parametrize(
    "body",
    [
        {"customer_id": "{customer}"},
        {"customer_id": "{customer}", "coupon_ids": []},
        {"customer_id": "{customer}", "coupon_ids": None},
        # The 422 comes before the customer is looked up.
        {"customer_id": "404", "coupon_ids": []},
    ],
)
def test_no_coupon_ids_is_422_coupon_ids_is_required(shoplazza, customer, coupon, body):
    body = {
        key: value.format(customer=customer.id) if isinstance(value, str) else value
        for key, value in body.items()
    }

    response = shoplazza.post(RECEIVE_URL, body, format="json")

    assert response.status_code == 422
    assert response.json() == {"errors": ["CouponIds is required"]}
    _assert_nothing_written(coupon)


def test_more_than_100_ids_is_422(shoplazza, customer, coupon):
    response = _receive(shoplazza, customer.id, [coupon.id] * 101)

    assert response.status_code == 422
    assert response.json() == {
        "errors": ["At most 100 coupon ids per request (101 given)."]
    }
    _assert_nothing_written(coupon)


@pytest.mark.parametrize("customer_id", ["404", "x", " 1", "-1", "9" * 30])
def test_an_unknown_customer_is_404(shoplazza, coupon, customer_id):
    response = _receive(shoplazza, customer_id, [coupon.id])

    assert response.status_code == 404
    assert response.json() == {"errors": ["customer not exist"]}
    _assert_nothing_written(coupon)


def test_another_stores_customer_is_404(shoplazza, coupon, other_store):
    stranger = CustomerFactory(store=other_store)

    response = _receive(shoplazza, stranger.id, [coupon.id])

    assert response.status_code == 404
    assert response.json() == {"errors": ["customer not exist"]}
    _assert_nothing_written(coupon)


def test_the_customer_id_is_not_trimmed(shoplazza, customer, coupon):
    response = _receive(shoplazza, f" {customer.id} ", [coupon.id])

    assert response.status_code == 404
    _assert_nothing_written(coupon)


# --- auth, scope, store, method -----------------------------------------------------


def test_no_token_is_401(client, customer, coupon):
    response = _receive(client, customer.id, [coupon.id])

    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}
    assert response["WWW-Authenticate"] == "Access-Token"
    _assert_nothing_written(coupon)


@pytest.mark.parametrize("token", ["nope", "chk_x.y", "{key_id}.wrong"])
def test_a_bad_token_is_401(client, shoplazza_key, customer, coupon, token):
    client.credentials(HTTP_ACCESS_TOKEN=token.format(key_id=shoplazza_key.key_id))

    response = _receive(client, customer.id, [coupon.id])

    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}
    _assert_nothing_written(coupon)


def test_a_revoked_key_is_401(shoplazza, shoplazza_key, customer, coupon):
    store_services.api_key_revoke(key_id=shoplazza_key.key_id)

    response = _receive(shoplazza, customer.id, [coupon.id])

    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}
    _assert_nothing_written(coupon)


def test_a_paynow_header_is_not_a_shoplazza_token(client, shoplazza_key, customer):
    client.credentials(HTTP_AUTHORIZATION=f"APIKey {shoplazza_key.token}")

    response = _receive(client, customer.id, ["1"])

    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}


def test_a_key_without_price_rules_is_403(store, customer, coupon):
    key = ApiKeyFactory(store=store, scopes=[COUPONS_READ, COUPONS_WRITE, SERIES])

    response = _receive(shoplazza_client(key), customer.id, [coupon.id])

    assert response.status_code == 403
    assert response.json() == {
        "errors": ["This API key lacks the 'price_rules' scope."]
    }
    _assert_nothing_written(coupon)


def test_an_inactive_store_is_refused(shoplazza, store, customer, coupon):
    store.is_active = False
    store.save()

    response = _receive(shoplazza, customer.id, [coupon.id])

    assert response.status_code == 403
    assert response.json() == {"error": "store is not active"}
    _assert_nothing_written(coupon)


def test_auth_is_checked_before_the_body(client, shoplazza_key):
    response = _post_raw(client, "{not json")

    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}


def test_a_key_sees_only_its_own_store(customer, coupon):
    outsider = shoplazza_client(ApiKeyFactory(store=StoreFactory()))

    response = _receive(outsider, customer.id, [coupon.id])

    assert response.status_code == 404
    assert response.json() == {"errors": ["customer not exist"]}
    _assert_nothing_written(coupon)


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_methods_are_405(shoplazza, method):
    response = getattr(shoplazza, method)(RECEIVE_URL)

    assert response.status_code == 405
    assert response.json() == {"errors": [f'Method "{method.upper()}" not allowed.']}


def test_an_empty_json_body_is_400(shoplazza, coupon):
    response = _post_raw(shoplazza, "")

    assert response.status_code == 400
    assert response.json() == {"errors": ["customer_id: This field is required."]}
    _assert_nothing_written(coupon)


def test_an_order_of_exactly_the_minimum_qualifies_as_the_text_says(
    shoplazza, customer, paynow, base
):
    # Attack report 2, item 11: the text said "Orders over ¥1,000" while an order of
    # exactly ¥1,000 is valid.
    store = customer.store
    store.currency = "JPY"
    store.save()
    coupon = CouponFactory(
        store=store,
        code="Y059328",
        discount_type="amount",
        discount_amount=500,
        minimum_order_value=1000,
    )

    item = _receive(shoplazza, customer.id, [coupon.id]).json()["items"][0]
    at = paynow.post(
        f"{base}/coupons/validate",
        {"code": "Y059328", "customer_id": str(customer.id), "order_value": 1000},
        format="json",
    )
    below = paynow.post(
        f"{base}/coupons/validate",
        {"code": "Y059328", "customer_id": str(customer.id), "order_value": 999},
        format="json",
    )

    assert item["prerequisite_text"] == "Orders of ¥1,000 or more"
    assert at.status_code == 200
    assert at.json() == {"valid": True, "reasons": [], "discount": 500}
    assert below.status_code == 200
    assert below.json() == {
        "valid": False,
        "reasons": [
            {
                "code": "below_minimum_order",
                "message": "The order value is below the minimum of 1000.",
            }
        ],
        "discount": 0,
    }
