"""The PayNow dialect against PayNow's own OpenAPI document (vendor-specs).

Every response the dialect gives on `/v1/stores/{storeId}/coupons` (the CouponDto of
list, get, create and PATCH, and every error body) must validate against the vendor's
schemas, and every request body the vendor's `CreateCouponDto` / `UpdateCouponDto`
allows, in every request media type the document lists, is accepted.

"Allows" is the document's shape plus the rules PayNow's docs state and our README
records: a code of letters, digits and dashes (at most 64), `duration_in_months`
exactly when `duration` is `repeating`, a percent at most 1000 (x10), no negative
amounts, a limit of at least 1 when it is enabled, `usable_at` not after
`expires_at`, `usable_by_customer_id` naming a customer of the store.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contracts import paynow_spec
from tests.factories import (
    ApiKeyFactory,
    CouponFactory,
    CustomerFactory,
    SeriesFactory,
    StoreFactory,
)

pytestmark = pytest.mark.django_db

COLLECTION = "/v1/stores/{storeId}/coupons"
ITEM = "/v1/stores/{storeId}/coupons/{couponId}"


def assert_matches(instance, schema_name: str, *, many: bool = False) -> None:
    errors = paynow_spec.errors_of(instance, schema_name, many=many)
    assert errors == [], (errors, instance)


def test_the_copy_of_the_vendor_document_is_the_shared_one():
    if not paynow_spec.SHARED_SPEC_PATH.exists():
        pytest.skip("shared/ is not beside this clone")
    assert (
        paynow_spec.SPEC_PATH.read_bytes() == paynow_spec.SHARED_SPEC_PATH.read_bytes()
    )


def test_the_validators_catch_what_the_document_forbids():
    """The converted schemas are not vacuous: a CouponDto with a numeric id, a null
    where the document has none, an unknown field, or an error body with a stray key
    is refused."""
    good = {
        "id": "411486491630370816",
        "store_id": "411486491630370816",
        "enabled": True,
        "code": "A",
        "duration": "once",
        "discount_type": "percent",
        "discount_amount": 1,
        "discount_apply_individually": False,
        "discount_apply_before_sales": False,
        "minimum_order_value": 0,
        "redeem_limit_store_enabled": False,
        "redeem_limit_store_amount": 0,
        "redeem_limit_customer_enabled": False,
        "redeem_limit_customer_amount": 0,
        "usable_on_one_time_purchase": True,
        "usable_on_subscription": True,
        "created_at": "2025-10-08T15:51:07.322Z",
    }
    assert paynow_spec.errors_of(good, "CouponDto") == []
    assert paynow_spec.errors_of({**good, "id": 411486491630370816}, "CouponDto")
    assert paynow_spec.errors_of({**good, "usable_by_customer_id": None}, "CouponDto")
    assert paynow_spec.errors_of({**good, "extra": 1}, "CouponDto")
    assert paynow_spec.errors_of({**good, "discount_amount": 2**63}, "CouponDto")
    assert paynow_spec.errors_of({**good, "created_at": "2025-10-08"}, "CouponDto")
    assert paynow_spec.errors_of({**good, "duration_in_months": 2**31}, "CouponDto")
    error = {"status": 404, "code": "not-found", "message": "Not found."}
    assert paynow_spec.errors_of(error, "PayNowError") == []
    assert paynow_spec.errors_of({**error, "detail": "x"}, "PayNowError")


# --- every response ----------------------------------------------------------------


@pytest.fixture
def url(store):
    return f"/v1/stores/{store.id}/coupons"


def full_body(customer_id: str | None = None, **overrides):
    body = {
        "enabled": True,
        "code": "SPRING-25",
        "note": "staff only",
        "duration": "repeating",
        "duration_in_months": 3,
        "discount_type": "percent",
        "discount_amount": 250,
        "discount_apply_individually": False,
        "discount_apply_before_sales": True,
        "apply_to_products": ["411486491630370816"],
        "apply_to_tags": ["411486491630370817"],
        "minimum_order_value": 1000,
        "redeem_limit_store_enabled": True,
        "redeem_limit_store_amount": 10,
        "redeem_limit_customer_enabled": True,
        "redeem_limit_customer_amount": 1,
        "usable_on_one_time_purchase": True,
        "usable_on_subscription": False,
        "usable_at": "2025-10-08T15:51:07.322Z",
        "expires_at": "2030-10-08T15:51:07Z",
    }
    if customer_id:
        body["usable_by_customer_id"] = customer_id
    body.update(overrides)
    return body


def minimal_body(**overrides):
    required = paynow_spec.spec()["components"]["schemas"]["CreateCouponDto"][
        "required"
    ]
    body = {key: value for key, value in full_body().items() if key in required}
    body["duration"] = "once"
    body.update(overrides)
    return body


def test_create_get_patch_and_list_answer_coupon_dtos(paynow, url, store):
    customer = CustomerFactory(store=store)
    created = paynow.post(url, full_body(str(customer.id)), format="json")
    assert created.status_code == 200, created.content
    assert_matches(created.json(), "CouponDto")
    minimal = paynow.post(url, minimal_body(code="BARE"), format="json")
    assert minimal.status_code == 200, minimal.content
    assert_matches(minimal.json(), "CouponDto")

    coupon_id = created.json()["id"]
    fetched = paynow.get(f"{url}/{coupon_id}")
    assert fetched.status_code == 200
    assert_matches(fetched.json(), "CouponDto")
    patched = paynow.patch(
        f"{url}/{coupon_id}", {"note": None, "enabled": False}, format="json"
    )
    assert patched.status_code == 200, patched.content
    assert_matches(patched.json(), "CouponDto")

    for query in (
        "",
        "?status=all",
        "?status=active",
        "?status=inactive",
        "?type=all",
        "?type=manual",
        "?type=generated",
        "?limit=1&asc=true",
    ):
        listed = paynow.get(url + query)
        assert listed.status_code == 200, (query, listed.content)
        assert_matches(listed.json(), "CouponDto", many=True)
    assert len(paynow.get(url).json()) == 2


def test_coupons_made_elsewhere_are_coupon_dtos_too(paynow, url, store):
    """Coupons the other dialects and the admin make (a series' issued code, one
    with every optional field empty) still validate when PayNow shows them."""
    series = SeriesFactory(store=store)
    CouponFactory(store=store, series=series, pooled=False, code="ISSUED-1")
    CouponFactory(store=store, note=None, usable_at=None, expires_at=None)

    listed = paynow.get(url)
    assert listed.status_code == 200
    assert len(listed.json()) == 2
    assert_matches(listed.json(), "CouponDto", many=True)


def error_cases(store, other_store, coupon):
    unknown = "411486491630370816"
    collection = f"/v1/stores/{store.id}/coupons"
    return [
        ("post", collection, {"code": "X"}, 400),
        ("post", collection, full_body(code="bad code!"), 400),
        ("post", collection, full_body(discount_amount="250"), 400),
        ("post", collection, full_body(code=coupon.code.lower()), 409),
        ("post", collection, [1, 2], 400),
        ("get", f"{collection}?limit=0", None, 400),
        ("get", f"{collection}?status=nope", None, 400),
        ("get", f"{collection}/{unknown}", None, 404),
        ("get", f"{collection}/not-a-flake", None, 404),
        ("patch", f"{collection}/{unknown}", {"enabled": False}, 404),
        ("patch", f"{collection}/{coupon.id}", {"enabled": "yes"}, 400),
        ("delete", f"{collection}/{unknown}", None, 404),
        ("get", f"/v1/stores/{other_store.id}/coupons", None, 403),
        ("put", f"{collection}/{coupon.id}", {}, 405),
    ]


def test_every_error_body_is_a_paynow_error(paynow, client, store, other_store):
    coupon = CouponFactory(store=store, code="TAKEN")
    for method, path, body, status in error_cases(store, other_store, coupon):
        response = getattr(paynow, method)(path, body, format="json")
        assert response.status_code == status, (method, path, response.content)
        assert_matches(response.json(), "PayNowError")

    malformed = paynow.post(
        f"/v1/stores/{store.id}/coupons", "{", content_type="application/json"
    )
    assert malformed.status_code == 400
    assert_matches(malformed.json(), "PayNowError")
    unsupported = paynow.post(
        f"/v1/stores/{store.id}/coupons", "a=1", content_type="text/plain"
    )
    assert unsupported.status_code == 415
    assert_matches(unsupported.json(), "PayNowError")
    for headers in ({}, {"HTTP_AUTHORIZATION": "APIKey nope"}):
        anonymous = client.get(f"/v1/stores/{store.id}/coupons", **headers)
        assert anonymous.status_code == 401
        assert_matches(anonymous.json(), "PayNowError")


def test_a_key_without_the_scope_gets_a_paynow_error(client, store):
    key = ApiKeyFactory(store=store, scopes=["series"])
    response = client.get(
        f"/v1/stores/{store.id}/coupons", HTTP_AUTHORIZATION=f"APIKey {key.token}"
    )
    assert response.status_code == 403
    assert_matches(response.json(), "PayNowError")


# --- every request the document allows ---------------------------------------------


@pytest.mark.parametrize(("path", "method"), [(COLLECTION, "post"), (ITEM, "patch")])
def test_every_request_media_type_of_the_document_is_accepted(
    paynow, url, store, path, method
):
    media_types = paynow_spec.request_media_types(path, method)
    assert media_types == ["application/json", "text/json", "application/*+json"]
    coupon = CouponFactory(store=store)
    concrete = {
        "application/json": ["application/json", "application/json; charset=utf-8"],
        "text/json": ["text/json", "text/json; charset=utf-8"],
        "application/*+json": [
            "application/merge-patch+json",
            "application/vnd.x+json",
        ],
    }
    for number, content_type in enumerate(
        value for media in media_types for value in concrete[media]
    ):
        if method == "post":
            response = paynow.post(
                url,
                json.dumps(minimal_body(code=f"MEDIA-{number}")),
                content_type=content_type,
            )
        else:
            response = paynow.patch(
                f"{url}/{coupon.id}",
                json.dumps({"note": f"via {content_type}"}),
                content_type=content_type,
            )
        assert response.status_code == 200, (content_type, response.content)
        assert_matches(response.json(), "CouponDto")


FLAKES = st.integers(min_value=1, max_value=2**63 - 1).map(str)
# The document's int64 amounts and limits, within what a JSON client reads exactly
# (core.money.MAX_MINOR, 2**53 - 1: README, "Amounts"); above it is a 400
# (tests/coupons/test_json_safe_amounts.py).
JSON_SAFE = 2**53 - 1
AMOUNTS = st.integers(min_value=0, max_value=JSON_SAFE)
ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
)


@st.composite
def date_times(draw):
    moment = draw(
        st.datetimes(
            # hypothesis wants naive bounds; the values are made UTC right after.
            min_value=datetime(2000, 1, 1),  # noqa: DTZ001
            max_value=datetime(2099, 12, 31),  # noqa: DTZ001
        ).map(lambda value: value.replace(tzinfo=UTC))
    )
    zone = draw(ZONES)
    local = moment.astimezone(zone)
    digits = draw(st.sampled_from([0, 3, 6]))
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{local.microsecond:06d}"[:digits]
    offset = local.strftime("%z")
    text += (
        "Z"
        if offset == "+0000" and draw(st.booleans())
        else (f"{offset[:3]}:{offset[3:]}")
    )
    return text


def coupon_fields(customer_ids: list[str]):
    """One value strategy per CreateCouponDto property, within the stated rules."""
    return {
        "enabled": st.booleans(),
        "code": st.from_regex(r"[A-Za-z0-9-]{1,40}", fullmatch=True),
        "note": st.text(max_size=200).filter(lambda text: "\x00" not in text),
        "discount_apply_individually": st.booleans(),
        "discount_apply_before_sales": st.booleans(),
        "apply_to_products": st.lists(FLAKES, max_size=5),
        "apply_to_tags": st.lists(FLAKES, max_size=5),
        "usable_by_customer_id": st.sampled_from(customer_ids),
        "minimum_order_value": AMOUNTS,
        "usable_on_one_time_purchase": st.booleans(),
        "usable_on_subscription": st.booleans(),
    }


@st.composite
def create_bodies(draw, customer_ids: list[str]):
    fields = coupon_fields(customer_ids)
    required = set(
        paynow_spec.spec()["components"]["schemas"]["CreateCouponDto"]["required"]
    )
    body = {}
    for name, strategy in fields.items():
        if name in required or draw(st.booleans()):
            body[name] = draw(strategy)
    body.update(draw(duration_part(required=True)))
    body.update(draw(discount_part()))
    body.update(draw(limits_part()))
    body.update(draw(window_part()))
    return body


@st.composite
def duration_part(draw, *, required: bool):
    duration = draw(st.sampled_from(["once", "forever", "repeating"]))
    part = {"duration": duration}
    if duration == "repeating":
        part["duration_in_months"] = draw(st.integers(min_value=1, max_value=1200))
    return part


@st.composite
def discount_part(draw):
    kind = draw(st.sampled_from(["unspecified", "percent", "amount"]))
    top = 1000 if kind == "percent" else JSON_SAFE
    return {
        "discount_type": kind,
        "discount_amount": draw(st.integers(min_value=0, max_value=top)),
    }


@st.composite
def limits_part(draw):
    part = {}
    for scope in ("store", "customer"):
        enabled = draw(st.booleans())
        part[f"redeem_limit_{scope}_enabled"] = enabled
        part[f"redeem_limit_{scope}_amount"] = draw(
            st.integers(min_value=1 if enabled else 0, max_value=JSON_SAFE)
        )
    return part


@st.composite
def window_part(draw):
    chosen = sorted(
        draw(st.lists(date_times(), min_size=2, max_size=2)),
        key=lambda text: datetime.fromisoformat(text.replace("Z", "+00:00")),
    )
    part = {}
    if draw(st.booleans()):
        part["usable_at"] = chosen[0]
    if draw(st.booleans()):
        part["expires_at"] = chosen[1]
    return part


SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


def rolled_back(work):
    """Each example in a savepoint of its own, undone after: no example sees an
    earlier one's code."""
    with transaction.atomic():
        result = work()
        transaction.set_rollback(True)
    return result


def test_every_create_body_the_document_allows_is_accepted(django_db_blocker):
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    customers = [str(CustomerFactory(store=store).id) for _ in range(2)]
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"APIKey {key.token}")
    media = st.sampled_from(["application/json", "text/json", "application/vnd.x+json"])

    @SETTINGS
    @given(body=create_bodies(customers), content_type=media)
    def check(body, content_type):
        assert paynow_spec.errors_of(body, "CreateCouponDto") == []
        response = rolled_back(
            lambda: api.post(
                f"/v1/stores/{store.id}/coupons",
                json.dumps(body),
                content_type=content_type,
            )
        )
        assert response.status_code == 200, (body, response.content)
        data = response.json()
        assert_matches(data, "CouponDto")
        for name, value in body.items():
            if name in ("usable_at", "expires_at"):
                sent = datetime.fromisoformat(value.replace("Z", "+00:00"))
                got = datetime.fromisoformat(data[name].replace("Z", "+00:00"))
                assert abs(got - sent) < timedelta(milliseconds=1), name
            else:
                assert data[name] == value, name

    check()


def test_every_update_body_the_document_allows_is_accepted():
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    customers = [str(CustomerFactory(store=store).id) for _ in range(2)]
    coupon = CouponFactory(store=store, code="PATCH-ME")
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"APIKey {key.token}")

    @st.composite
    def update_bodies(draw):
        fields = coupon_fields(customers)
        body = {
            name: draw(strategy)
            for name, strategy in fields.items()
            if draw(st.booleans())
        }
        for part in (
            duration_part(required=False),
            discount_part(),
            limits_part(),
            window_part(),
        ):
            if draw(st.booleans()):
                body.update(draw(part))
        return body

    @SETTINGS
    @given(body=update_bodies())
    def check(body):
        assert paynow_spec.errors_of(body, "UpdateCouponDto") == []
        response = rolled_back(
            lambda: api.patch(
                f"/v1/stores/{store.id}/coupons/{coupon.id}", body, format="json"
            )
        )
        assert response.status_code == 200, (body, response.content)
        assert_matches(response.json(), "CouponDto")

    check()
