"""PayNow dialect: /v1/stores/{storeId}/coupons (seed 001)."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from coupons.models import Coupon
from tests.factories import (
    ApiKeyFactory,
    CouponFactory,
    CustomerFactory,
    RedemptionFactory,
    SeriesFactory,
)

pytestmark = pytest.mark.django_db

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
DTO_KEYS = [
    "id",
    "store_id",
    "enabled",
    "code",
    "note",
    "duration",
    "duration_in_months",
    "duration_in_intervals",
    "discount_type",
    "discount_amount",
    "discount_apply_individually",
    "discount_apply_before_sales",
    "apply_to_products",
    "apply_to_tags",
    "usable_by_customer_id",
    "minimum_order_value",
    "redeem_limit_store_enabled",
    "redeem_limit_store_amount",
    "redeem_limit_customer_enabled",
    "redeem_limit_customer_amount",
    "usable_on_one_time_purchase",
    "usable_on_subscription",
    "usable_at",
    "expires_at",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
]


# Keys PayNow's document declares neither nullable nor required: left out when empty.
OMITTED_WHEN_NULL = {"usable_by_customer_id", "created_by", "updated_by"}


def assert_dto_keys(data, *, omitted=()):
    """The DTO's keys in the seed's order, with exactly ``omitted`` left out."""
    assert set(omitted) <= OMITTED_WHEN_NULL
    assert list(data) == [key for key in DTO_KEYS if key not in omitted]


def body(**overrides):
    data = {
        "enabled": True,
        "code": "SPRING-25",
        "duration": "once",
        "discount_type": "percent",
        "discount_amount": 250,
        "discount_apply_individually": False,
        "discount_apply_before_sales": True,
        "minimum_order_value": 1000,
        "redeem_limit_store_enabled": True,
        "redeem_limit_store_amount": 10,
        "redeem_limit_customer_enabled": True,
        "redeem_limit_customer_amount": 1,
        "usable_on_one_time_purchase": True,
        "usable_on_subscription": False,
    }
    data.update(overrides)
    return data


@pytest.fixture
def url(store):
    return f"/v1/stores/{store.id}/coupons"


def assert_error(response, status, code, paths=None, message=None):
    assert response.status_code == status, response.content
    data = response.json()
    assert list(data) == ["status", "code", "message", "trace_id", "errors"]
    assert data["status"] == status
    assert data["code"] == code
    assert isinstance(data["trace_id"], str)
    assert data["trace_id"]
    if message is not None:
        assert data["message"] == message
    if paths is not None:
        assert sorted({e["path"] for e in data["errors"] or []}) == sorted(paths)
        for issue in data["errors"] or []:
            assert list(issue) == ["code", "message", "path", "validation"]
    return data


# --- create and the CouponDto ----------------------------------------------------


def test_create_returns_200_with_every_field_of_the_dto(paynow, url, store, api_key):
    customer = CustomerFactory(store=store)
    response = paynow.post(
        url,
        body(
            note="staff only",
            apply_to_products=["411486491630370816"],
            apply_to_tags=["411486491630370817", "411486491630370818"],
            usable_by_customer_id=str(customer.id),
            usable_at="2025-10-08T15:51:07.322Z",
            expires_at="2026-10-08T15:51:07Z",
        ),
        format="json",
    )
    assert response.status_code == 200
    data = response.json()
    assert_dto_keys(data, omitted={"updated_by"})
    coupon = Coupon.objects.get()
    assert data == {
        "id": str(coupon.id),
        "store_id": str(store.id),
        "enabled": True,
        "code": "SPRING-25",
        "note": "staff only",
        "duration": "once",
        "duration_in_months": None,
        "duration_in_intervals": None,
        "discount_type": "percent",
        "discount_amount": 250,
        "discount_apply_individually": False,
        "discount_apply_before_sales": True,
        "apply_to_products": ["411486491630370816"],
        "apply_to_tags": ["411486491630370817", "411486491630370818"],
        "usable_by_customer_id": str(customer.id),
        "minimum_order_value": 1000,
        "redeem_limit_store_enabled": True,
        "redeem_limit_store_amount": 10,
        "redeem_limit_customer_enabled": True,
        "redeem_limit_customer_amount": 1,
        "usable_on_one_time_purchase": True,
        "usable_on_subscription": False,
        "usable_at": "2025-10-08T15:51:07.322Z",
        "expires_at": "2026-10-08T15:51:07.000Z",
        "created_by": {"type": "api_key", "id": str(api_key.id)},
        "created_at": data["created_at"],
        "updated_at": None,
    }
    assert TIME.match(data["created_at"])
    assert coupon.origin == "manual"


def test_create_minimal_body_defaults_optional_fields_to_null(paynow, url):
    response = paynow.post(url, body(), format="json")
    assert response.status_code == 200
    data = response.json()
    for key in (
        "note",
        "duration_in_months",
        "duration_in_intervals",
        "apply_to_products",
        "apply_to_tags",
        "usable_at",
        "expires_at",
        "updated_at",
    ):
        assert data[key] is None, key
    # Not nullable in PayNow's document: left out rather than null.
    assert_dto_keys(data, omitted={"usable_by_customer_id", "updated_by"})


def test_repeating_duration_round_trips_months(paynow, url):
    response = paynow.post(
        url,
        body(duration="repeating", duration_in_months=3, discount_type="amount"),
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["duration_in_months"] == 3
    assert response.json()["discount_type"] == "amount"


def test_bare_authorization_token_works(store, api_key, url):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=api_key.token)
    assert api.post(url, body(), format="json").status_code == 200
    assert api.get(url).status_code == 200


@pytest.mark.parametrize(
    ("overrides", "paths"),
    [
        ({"code": "has space"}, ["code"]),
        ({"code": "ünïcode"}, ["code"]),
        ({"code": "x" * 65}, ["code"]),
        ({"code": ""}, ["code"]),
        ({"code": 123}, ["code"]),
        ({"enabled": "true"}, ["enabled"]),
        ({"enabled": 1}, ["enabled"]),
        ({"duration": "weekly"}, ["duration"]),
        ({"discount_type": "bogus"}, ["discount_type"]),
        ({"discount_amount": "250"}, ["discount_amount"]),
        ({"discount_amount": 2.5}, ["discount_amount"]),
        ({"discount_amount": -1}, ["discount_amount"]),
        ({"minimum_order_value": -5}, ["minimum_order_value"]),
        ({"redeem_limit_store_amount": -1}, ["redeem_limit_store_amount"]),
        ({"redeem_limit_customer_amount": -1}, ["redeem_limit_customer_amount"]),
        ({"apply_to_products": ["abc"]}, ["apply_to_products.0"]),
        ({"apply_to_tags": "411486491630370816"}, ["apply_to_tags"]),
        ({"usable_by_customer_id": "not-an-id"}, ["usable_by_customer_id"]),
        ({"usable_at": "yesterday"}, ["usable_at"]),
        ({"expires_at": 12345}, ["expires_at"]),
        ({"duration_in_months": 0, "duration": "repeating"}, ["duration_in_months"]),
    ],
)
def test_create_rejects_bad_fields_with_per_field_errors(paynow, url, overrides, paths):
    response = paynow.post(url, body(**overrides), format="json")
    assert_error(response, 400, "bad-request", paths=paths)
    assert not Coupon.objects.exists()


def test_create_reports_every_missing_required_field(paynow, url):
    response = paynow.post(url, {}, format="json")
    data = assert_error(response, 400, "bad-request")
    assert sorted(e["path"] for e in data["errors"]) == sorted(
        [
            "enabled",
            "code",
            "duration",
            "discount_type",
            "discount_amount",
            "discount_apply_individually",
            "discount_apply_before_sales",
            "minimum_order_value",
            "redeem_limit_store_enabled",
            "redeem_limit_store_amount",
            "redeem_limit_customer_enabled",
            "redeem_limit_customer_amount",
            "usable_on_one_time_purchase",
            "usable_on_subscription",
        ]
    )
    assert {e["code"] for e in data["errors"]} == {"required"}


@pytest.mark.parametrize(
    ("overrides", "paths"),
    [
        ({"duration": "repeating"}, ["duration_in_months"]),
        ({"duration": "once", "duration_in_months": 2}, ["duration_in_months"]),
        ({"duration": "forever", "duration_in_months": 2}, ["duration_in_months"]),
        ({"discount_amount": 1001}, ["discount_amount"]),
        (
            {"redeem_limit_store_enabled": True, "redeem_limit_store_amount": 0},
            ["redeem_limit_store_amount"],
        ),
        (
            {"redeem_limit_customer_enabled": True, "redeem_limit_customer_amount": 0},
            ["redeem_limit_customer_amount"],
        ),
        (
            {
                "usable_at": "2026-01-02T00:00:00.000Z",
                "expires_at": "2026-01-01T00:00:00.000Z",
            },
            ["usable_at"],
        ),
        ({"usable_by_customer_id": "411486491630370816"}, ["usable_by_customer_id"]),
    ],
)
def test_create_rejects_rule_violations(paynow, url, overrides, paths):
    response = paynow.post(url, body(**overrides), format="json")
    assert_error(response, 400, "bad-request", paths=paths)
    assert not Coupon.objects.exists()


def test_percent_of_exactly_100_and_disabled_limits_of_zero_are_fine(paynow, url):
    response = paynow.post(
        url,
        body(
            discount_amount=1000,
            redeem_limit_store_enabled=False,
            redeem_limit_store_amount=0,
            redeem_limit_customer_enabled=False,
            redeem_limit_customer_amount=0,
        ),
        format="json",
    )
    assert response.status_code == 200


def test_amount_discount_may_exceed_1000(paynow, url):
    response = paynow.post(
        url, body(discount_type="amount", discount_amount=250_000), format="json"
    )
    assert response.status_code == 200


def test_usable_by_customer_of_another_store_is_rejected(paynow, url, other_store):
    stranger = CustomerFactory(store=other_store)
    response = paynow.post(
        url, body(usable_by_customer_id=str(stranger.id)), format="json"
    )
    assert_error(response, 400, "bad-request", paths=["usable_by_customer_id"])


@pytest.mark.parametrize("payload", [[1, 2], "text", None])
def test_body_must_be_an_object(paynow, url, payload):
    response = paynow.post(url, payload, format="json")
    assert_error(response, 400, "bad-request")


def test_malformed_json_is_400(paynow, url):
    response = paynow.generic("POST", url, "{not json", content_type="application/json")
    assert_error(response, 400, "bad-request")


@pytest.mark.parametrize("code", ["spring-25", "SPRING-25", "Spring-25"])
def test_code_taken_in_any_letter_case_is_409(paynow, url, code):
    assert paynow.post(url, body(code="Spring-25"), format="json").status_code == 200
    response = paynow.post(url, body(code=code), format="json")
    assert_error(response, 409, "conflict", paths=["code"])
    assert Coupon.objects.count() == 1


def test_same_code_in_two_stores_is_fine(paynow, url, other_store):
    CouponFactory(store=other_store, code="SPRING-25")
    assert paynow.post(url, body(), format="json").status_code == 200


# --- get, patch, delete -----------------------------------------------------------


def test_get_by_id(paynow, url, store):
    coupon = CouponFactory(store=store, code="ABC")
    response = paynow.get(f"{url}/{coupon.id}")
    assert response.status_code == 200
    assert_dto_keys(response.json(), omitted={"usable_by_customer_id", "updated_by"})
    assert response.json()["code"] == "ABC"


@pytest.mark.parametrize("coupon_id", ["411486491630370816", "abc", "0", "-1"])
def test_get_unknown_is_404(paynow, url, coupon_id):
    response = paynow.get(f"{url}/{coupon_id}")
    assert_error(response, 404, "not-found", message="Coupon not found.")


def test_another_stores_coupon_is_404(paynow, url, other_store):
    foreign = CouponFactory(store=other_store)
    assert_error(paynow.get(f"{url}/{foreign.id}"), 404, "not-found")
    assert_error(
        paynow.patch(f"{url}/{foreign.id}", {"enabled": False}, format="json"),
        404,
        "not-found",
    )
    assert_error(paynow.delete(f"{url}/{foreign.id}"), 404, "not-found")
    foreign.refresh_from_db()
    assert foreign.enabled is True


def test_another_stores_path_is_403(paynow, other_store):
    response = paynow.get(f"/v1/stores/{other_store.id}/coupons")
    assert_error(response, 403, "forbidden")
    response = paynow.post(
        f"/v1/stores/{other_store.id}/coupons", body(), format="json"
    )
    assert_error(response, 403, "forbidden")
    assert not Coupon.objects.exists()


def test_patch_is_a_delta_update(paynow, url, api_key):
    created = paynow.post(
        url, body(note="n", expires_at="2030-01-01T00:00:00Z"), format="json"
    ).json()
    response = paynow.patch(
        f"{url}/{created['id']}", {"enabled": False, "note": None}, format="json"
    )
    assert response.status_code == 200
    data = response.json()
    assert data["enabled"] is False
    assert data["note"] is None
    assert data["expires_at"] == "2030-01-01T00:00:00.000Z"
    assert data["discount_amount"] == 250
    assert data["code"] == "SPRING-25"
    assert data["updated_by"] == {"type": "api_key", "id": str(api_key.id)}
    assert TIME.match(data["updated_at"])
    assert data["created_at"] == created["created_at"]


def test_patch_can_null_the_nullable_fields(paynow, url, store):
    customer = CustomerFactory(store=store)
    created = paynow.post(
        url,
        body(
            duration="repeating",
            duration_in_months=2,
            usable_at="2025-01-01T00:00:00Z",
            expires_at="2030-01-01T00:00:00Z",
            usable_by_customer_id=str(customer.id),
        ),
        format="json",
    ).json()
    response = paynow.patch(
        f"{url}/{created['id']}",
        {
            "duration": "forever",
            "duration_in_months": None,
            "usable_at": None,
            "expires_at": None,
            "usable_by_customer_id": None,
        },
        format="json",
    )
    assert response.status_code == 200
    data = response.json()
    assert data["duration"] == "forever"
    assert data["duration_in_months"] is None
    assert data["usable_at"] is None
    assert data["expires_at"] is None
    # The restriction is gone; the document has no null for it, so the key is left out.
    assert "usable_by_customer_id" not in data
    assert Coupon.objects.get().usable_by_customer_id is None


@pytest.mark.parametrize(
    ("patch", "paths"),
    [
        ({"duration": "repeating"}, ["duration_in_months"]),
        ({"enabled": None}, ["enabled"]),
        ({"code": None}, ["code"]),
        ({"discount_amount": 5000}, ["discount_amount"]),
        ({"usable_at": "2040-01-01T00:00:00Z"}, ["usable_at"]),
        ({"duration_in_months": 3}, ["duration_in_months"]),
    ],
)
def test_patch_checks_the_merged_coupon(paynow, url, patch, paths):
    created = paynow.post(
        url, body(expires_at="2030-01-01T00:00:00Z"), format="json"
    ).json()
    response = paynow.patch(f"{url}/{created['id']}", patch, format="json")
    assert_error(response, 400, "bad-request", paths=paths)
    unchanged = paynow.get(f"{url}/{created['id']}").json()
    assert unchanged == created


def test_patch_to_a_taken_code_is_409(paynow, url, store):
    CouponFactory(store=store, code="TAKEN")
    created = paynow.post(url, body(), format="json").json()
    response = paynow.patch(f"{url}/{created['id']}", {"code": "taken"}, format="json")
    assert_error(response, 409, "conflict")


def test_patch_keeping_own_code_in_other_case_is_fine(paynow, url):
    created = paynow.post(url, body(), format="json").json()
    response = paynow.patch(
        f"{url}/{created['id']}", {"code": "spring-25"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["code"] == "spring-25"


def test_patch_cannot_lower_the_store_limit_below_use(paynow, url, store):
    coupon = CouponFactory(
        store=store, redeem_limit_store_enabled=True, redeem_limit_store_amount=5
    )
    RedemptionFactory.create_batch(3, coupon=coupon)
    Coupon.objects.filter(pk=coupon.pk).update(redeemed_count=3)
    response = paynow.patch(
        f"{url}/{coupon.id}", {"redeem_limit_store_amount": 2}, format="json"
    )
    assert_error(response, 400, "bad-request", paths=["redeem_limit_store_amount"])
    response = paynow.patch(
        f"{url}/{coupon.id}", {"redeem_limit_store_amount": 3}, format="json"
    )
    assert response.status_code == 200


def test_delete_unused_coupon_is_gone(paynow, url):
    created = paynow.post(url, body(), format="json").json()
    response = paynow.delete(f"{url}/{created['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(paynow.get(f"{url}/{created['id']}"), 404, "not-found")
    assert not Coupon.objects.exists()
    assert_error(paynow.delete(f"{url}/{created['id']}"), 404, "not-found")


def test_delete_redeemed_coupon_archives_it_and_keeps_the_code(paynow, url, store):
    coupon = CouponFactory(store=store, code="SPRING-25")
    redemption = RedemptionFactory(coupon=coupon)
    assert paynow.delete(f"{url}/{coupon.id}").status_code == 204
    assert_error(paynow.get(f"{url}/{coupon.id}"), 404, "not-found")
    assert paynow.get(url).json() == []
    coupon.refresh_from_db()
    assert coupon.archived_at is not None
    assert coupon.enabled is False
    assert redemption.coupon_id == coupon.id
    # Someone used the code: it stays taken (issue 16 item 1; test_held_codes).
    assert_error(paynow.post(url, body(), format="json"), 409, "conflict", ["code"])


# --- list -----------------------------------------------------------------------------


def test_list_is_a_bare_array_newest_first(paynow, url, store, other_store):
    coupons = CouponFactory.create_batch(3, store=store)
    CouponFactory(store=other_store)
    response = paynow.get(url)
    assert response.status_code == 200
    assert [c["id"] for c in response.json()] == [str(c.id) for c in reversed(coupons)]
    for item in response.json():
        assert_dto_keys(item, omitted={"usable_by_customer_id", "updated_by"})


def StoreFactoryLazy():
    from tests.factories import StoreFactory

    return StoreFactory()


def test_list_pagination_after_before_asc_limit(paynow, url, store):
    ids = [str(c.id) for c in CouponFactory.create_batch(6, store=store)]
    assert [c["id"] for c in paynow.get(f"{url}?limit=2").json()] == ids[:-3:-1]
    assert [c["id"] for c in paynow.get(f"{url}?asc=true&limit=2").json()] == ids[:2]
    after = paynow.get(f"{url}?asc=true&after={ids[1]}").json()
    assert [c["id"] for c in after] == ids[2:]
    before = paynow.get(f"{url}?before={ids[3]}").json()
    assert [c["id"] for c in before] == ids[2::-1]
    both = paynow.get(f"{url}?after={ids[0]}&before={ids[5]}&asc=true").json()
    assert [c["id"] for c in both] == ids[1:5]


def test_list_walks_every_row_once(paynow, url, store):
    ids = [str(c.id) for c in CouponFactory.create_batch(7, store=store)]
    seen, after = [], None
    while True:
        query = f"{url}?asc=true&limit=3" + (f"&after={after}" if after else "")
        page = paynow.get(query).json()
        if not page:
            break
        seen += [c["id"] for c in page]
        after = page[-1]["id"]
    assert seen == ids


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("after=abc", "after"),
        ("before=-3", "before"),
        ("asc=maybe", "asc"),
        ("status=enabled", "status"),
        ("type=system", "type"),
    ],
)
def test_list_bad_parameters_are_400(paynow, url, query, path):
    assert_error(paynow.get(f"{url}?{query}"), 400, "bad-request", paths=[path])


def test_list_limit_bounds(paynow, url, store):
    CouponFactory.create_batch(101, store=store)
    assert len(paynow.get(url).json()) == 100
    assert len(paynow.get(f"{url}?limit=100").json()) == 100
    assert len(paynow.get(f"{url}?limit=1").json()) == 1


def test_list_status_and_type_filters(paynow, url, store):
    on = CouponFactory(store=store, enabled=True)
    off = CouponFactory(store=store, enabled=False)
    series = SeriesFactory(store=store)
    generated = CouponFactory(store=store, origin="generated", series=series)

    def ids(query):
        return {c["id"] for c in paynow.get(f"{url}?{query}").json()}

    everything = {str(on.id), str(off.id), str(generated.id)}
    assert ids("status=all") == everything
    assert ids("type=all") == everything
    assert ids("status=active") == {str(on.id), str(generated.id)}
    assert ids("status=inactive") == {str(off.id)}
    assert ids("type=manual") == {str(on.id), str(off.id)}
    assert ids("type=generated") == {str(generated.id)}
    assert ids("status=inactive&type=generated") == set()


def test_list_runs_a_constant_number_of_queries(
    paynow, url, store, django_assert_num_queries
):
    CouponFactory.create_batch(3, store=store)
    with django_assert_num_queries(2):
        assert len(paynow.get(url).json()) == 3
    CouponFactory.create_batch(60, store=store)
    with django_assert_num_queries(2):
        assert len(paynow.get(url).json()) == 63


# --- scopes -----------------------------------------------------------------------


def test_read_only_key_cannot_write(store, url):
    reader = ApiKeyFactory(store=store, scopes=["coupons:read"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"APIKey {reader.token}")
    coupon = CouponFactory(store=store)
    assert api.get(url).status_code == 200
    assert api.get(f"{url}/{coupon.id}").status_code == 200
    assert_error(api.post(url, body(), format="json"), 403, "forbidden")
    assert_error(
        api.patch(f"{url}/{coupon.id}", {"enabled": False}, format="json"),
        403,
        "forbidden",
    )
    assert_error(api.delete(f"{url}/{coupon.id}"), 403, "forbidden")


def test_no_credentials_is_401(client, url):
    assert_error(client.get(url), 401, "unauthorized")


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]
)
def test_a_time_outside_the_utc_range_is_a_400(paynow, url, moment):
    response = paynow.post(url, body(usable_at=moment), format="json")
    assert_error(response, 400, "bad-request", paths=["usable_at"])


# --- PayNow's 2026 spellings: duration_in_intervals, the usable_by_customer_id filter


@pytest.mark.parametrize("spelling", ["duration_in_months", "duration_in_intervals"])
def test_either_spelling_of_the_duration_is_accepted_and_both_are_rendered(
    paynow, url, spelling
):
    created = paynow.post(
        url, body(duration="repeating", **{spelling: 6}), format="json"
    )
    assert created.status_code == 200, created.content
    data = created.json()
    assert (data["duration_in_months"], data["duration_in_intervals"]) == (6, 6)
    assert Coupon.objects.get().duration_in_months == 6

    patched = paynow.patch(f"{url}/{data['id']}", {spelling: 12}, format="json").json()
    assert (patched["duration_in_months"], patched["duration_in_intervals"]) == (
        12,
        12,
    )


def test_both_spellings_must_agree(paynow, url):
    response = paynow.post(
        url,
        body(duration="repeating", duration_in_months=3, duration_in_intervals=4),
        format="json",
    )
    assert_error(
        response,
        400,
        "bad-request",
        paths=["duration_in_intervals"],
        message=(
            "Invalid request: duration_in_intervals: Must equal duration_in_months "
            "when both are given."
        ),
    )
    assert not Coupon.objects.exists()
    same = paynow.post(
        url,
        body(duration="repeating", duration_in_months=3, duration_in_intervals=3),
        format="json",
    )
    assert same.status_code == 200


def test_the_list_filters_by_the_customer_a_coupon_is_restricted_to(
    paynow, url, store, django_assert_num_queries
):
    sam, kim = CustomerFactory(store=store), CustomerFactory(store=store)
    for_sam = CouponFactory.create_batch(2, store=store, usable_by_customer=sam)
    CouponFactory(store=store, usable_by_customer=kim)
    CouponFactory(store=store)

    with django_assert_num_queries(2):  # the key, then the page
        response = paynow.get(f"{url}?usable_by_customer_id={sam.id}")

    assert response.status_code == 200
    assert [c["id"] for c in response.json()] == [str(c.id) for c in reversed(for_sam)]
    assert paynow.get(f"{url}?usable_by_customer_id=411486491630370816").json() == []
    assert_error(
        paynow.get(f"{url}?usable_by_customer_id=sam"),
        400,
        "bad-request",
        paths=["usable_by_customer_id"],
    )
