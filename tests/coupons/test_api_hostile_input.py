"""Hostile request bodies on the native redemption endpoints (holds, validate,
redemptions, rollback), as tests/core/test_hostile_input.py has them for the older
dialect endpoints: a 10 MB body, JSON nested 1,000 levels deep, lists far over
their limits. Each is a 413 or a 400 in PayNow's error body, at once, and writes
nothing: no hold, redemption, line or audit event, no counter moved, the existing
hold and redemption as they were."""

from __future__ import annotations

import json
import time

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from core import parsers
from coupons.models import Coupon, Hold, HoldState, Redemption, RedemptionLine
from tests.factories import CouponFactory, CustomerFactory
from tests.paynow import error_body, validation_error

pytestmark = pytest.mark.django_db

TRACE = "trace-hostile-native"
LIMIT = 1024 * 1024  # config/settings/base.py DATA_UPLOAD_MAX_MEMORY_SIZE
BIG = b'{"a": "' + b"x" * (10 * 1024 * 1024) + b'"}'
DEEP = b'{"a":' * 1000 + b"1" + b"}" * 1000  # ~6 KB, 1,000 levels
DEEP_LIST = b"[" * 1000 + b"]" * 1000  # 2 KB, 1,000 levels
TOO_LARGE = f"The request body is larger than {LIMIT} bytes."
TOO_DEEP = f"JSON parse error - nesting deeper than {parsers.MAX_JSON_DEPTH} levels."
TOO_MANY = (
    f"JSON parse error - more than {parsers.MAX_JSON_VALUES} values in arrays and "
    "objects."
)


def error(status: int, message: str, errors=None) -> dict:
    code = {400: "bad-request", 413: "payload-too-large"}[status]
    return error_body(status, code, message, errors, trace=TRACE)


def max_length(path: str, limit: int) -> dict:
    message = f"Ensure this field has no more than {limit} elements."
    return error(
        400,
        f"Invalid request: {path}: {message}",
        [validation_error(path, "max_length", message)],
    )


def line(index: int) -> dict:
    return {"id": f"l{index}", "quantity": 1, "unit_price": 100}


@pytest.fixture
def world(store, paynow):
    """A coupon with a limit, one live hold of it and one cart redemption of it:
    the rows a hostile request must leave as they are."""
    customer = CustomerFactory(store=store)
    CouponFactory(
        store=store,
        code="TEN",
        discount_type="amount",
        discount_amount=100,
        redeem_limit_store_enabled=True,
        redeem_limit_store_amount=5,
    )
    base = f"/v1/stores/{store.id}"
    held = paynow.post(
        f"{base}/holds", {"code": "TEN", "customer_id": str(customer.id)}, format="json"
    )
    assert held.status_code == 201, held.content
    order = {"currency": store.currency, "lines": [line(1), line(2)]}
    redeemed = paynow.post(
        f"{base}/redemptions", {"code": "TEN", "order": order}, format="json"
    )
    assert redeemed.status_code == 200, redeemed.content
    return {
        "base": base,
        "hold": held.json()["id"],
        "redemption": redeemed.json()["id"],
    }


def snapshot() -> tuple:
    return (
        Hold.objects.count(),
        Redemption.objects.count(),
        RedemptionLine.objects.count(),
        AuditEvent.objects.count(),
        list(Hold.objects.values_list("id", "state")),
        list(
            Redemption.objects.values_list(
                "id", "rolled_back_at", "discount_amount", "discount_returned"
            )
        ),
        list(Coupon.objects.values_list("id", "redeemed_count")),
    )


def send(api_key, method: str, url: str, body: bytes, **extra):
    return APIClient().generic(
        method,
        url,
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"APIKey {api_key.token}",
        HTTP_X_REQUEST_ID=TRACE,
        **extra,
    )


# The POST endpoints: each parses its body before it reads anything.
POSTS = {
    "hold": lambda w: f"{w['base']}/holds",
    "validate": lambda w: f"{w['base']}/coupons/validate",
    "redeem": lambda w: f"{w['base']}/redemptions",
    "rollback": lambda w: f"{w['base']}/redemptions/{w['redemption']}/rollback",
}
IDEMPOTENT = {"plain": {}, "idempotency-key": {"HTTP_IDEMPOTENCY_KEY": "hostile-1"}}


@pytest.mark.parametrize("extra", IDEMPOTENT.values(), ids=IDEMPOTENT)
@pytest.mark.parametrize("endpoint", POSTS)
def test_a_10_mb_body_is_a_413_and_writes_nothing(endpoint, extra, api_key, world):
    before = snapshot()

    response = send(api_key, "POST", POSTS[endpoint](world), BIG, **extra)

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == error(413, TOO_LARGE)
    assert snapshot() == before


@pytest.mark.parametrize("extra", IDEMPOTENT.values(), ids=IDEMPOTENT)
@pytest.mark.parametrize("body", [DEEP, DEEP_LIST], ids=["objects", "arrays"])
@pytest.mark.parametrize("endpoint", POSTS)
def test_json_nested_1000_levels_is_a_400_and_writes_nothing(
    endpoint, body, extra, api_key, world
):
    before = snapshot()

    response = send(api_key, "POST", POSTS[endpoint](world), body, **extra)

    assert response.status_code == 400
    assert response.json() == error(400, TOO_DEEP)
    assert snapshot() == before


# DELETE /holds/{id}: the view never reads a body (a DELETE's body means nothing).
# The Idempotency-Key's fingerprint does read it, through Django's request.body and
# its own size limit: a 10 MB body with a key is the 413 and the hold stays live.


def test_a_hold_release_with_a_10_mb_body_and_an_idempotency_key_is_a_413(
    api_key, world
):
    before = snapshot()

    response = send(
        api_key,
        "DELETE",
        f"{world['base']}/holds/{world['hold']}",
        BIG,
        HTTP_IDEMPOTENCY_KEY="hostile-1",
    )

    assert response.status_code == 413
    assert response.json() == error(413, TOO_LARGE)
    assert snapshot() == before
    assert Hold.objects.get().state == HoldState.ACTIVE


@pytest.mark.parametrize(
    ("body", "extra"),
    [
        (BIG, {}),
        (DEEP, {}),
        (DEEP_LIST, {"HTTP_IDEMPOTENCY_KEY": "hostile-1"}),
    ],
    ids=["10-mb", "deep-objects", "deep-arrays-idempotency-key"],
)
def test_a_hold_release_never_parses_its_body(body, extra, api_key, world):
    started = time.monotonic()

    response = send(
        api_key, "DELETE", f"{world['base']}/holds/{world['hold']}", body, **extra
    )

    assert response.status_code == 204
    assert response.content == b""
    assert Hold.objects.get().state == HoldState.RELEASED
    assert time.monotonic() - started < 2


# Lists over their limits. Each body names the list where the endpoint reads it.
def order_body(lines) -> dict:
    return {"code": "TEN", "order": {"currency": "EUR", "lines": lines}}


def codes_body(lines, codes=("TEN",)) -> dict:
    return {"codes": list(codes), "order": {"currency": "EUR", "lines": lines}}


LISTS = {
    # endpoint, body of these lines, the path of the lines in the body
    "hold-order": ("hold", order_body, "order.lines"),
    "validate-order": ("validate", order_body, "order.lines"),
    "validate-codes": ("validate", codes_body, "order.lines"),
    "redeem-order": ("redeem", order_body, "order.lines"),
    "redeem-codes": ("redeem", codes_body, "order.lines"),
    "rollback-lines": ("rollback", lambda lines: {"lines": lines}, "lines"),
}


def post_list(api_key, world, case: str, lines) -> tuple:
    endpoint, body, _ = LISTS[case]
    raw = json.dumps(body(lines)).encode()
    started = time.monotonic()
    response = send(api_key, "POST", POSTS[endpoint](world), raw)
    return response, time.monotonic() - started


# lines -> the answer, given the path of the lines in the body
TOO_LONG = {
    # Under 1 MB, and 100,000 values: the parser's limit, before any validation.
    "100000-empty-lines": (lambda: [{}] * 100_000, lambda path: error(400, TOO_MANY)),
    # 5 MB: refused before it is parsed.
    "100000-lines": (
        lambda: [line(index) for index in range(100_000)],
        lambda path: error(413, TOO_LARGE),
    ),
    # Within the parser's limits (about 1,500 values): the serializer's limit of
    # 500 lines, before any line is validated.
    "501-lines": (
        lambda: [line(index) for index in range(501)],
        lambda path: max_length(path, 500),
    ),
}


@pytest.mark.parametrize("size", TOO_LONG)
@pytest.mark.parametrize("case", LISTS)
def test_too_many_lines_are_refused_at_once_and_write_nothing(
    case, size, api_key, world
):
    lines, answer = TOO_LONG[size]
    expected = answer(LISTS[case][2])
    before = snapshot()

    response, seconds = post_list(api_key, world, case, lines())

    assert response.status_code == expected["status"]
    assert response.json() == expected
    assert snapshot() == before
    assert seconds < 2


@pytest.mark.parametrize("endpoint", ["validate", "redeem"])
def test_11_codes_are_refused_at_the_lists_max_length(endpoint, api_key, world):
    before = snapshot()
    body = codes_body([line(1)], codes=[f"TEN{index}" for index in range(11)])

    response = send(api_key, "POST", POSTS[endpoint](world), json.dumps(body).encode())

    assert response.status_code == 400
    assert response.json() == max_length("codes", 10)
    assert snapshot() == before


@pytest.mark.parametrize("endpoint", ["validate", "redeem"])
def test_100000_codes_are_a_400_before_validation(endpoint, api_key, world):
    before = snapshot()
    raw = json.dumps(codes_body([line(1)], codes=["TEN"] * 100_000)).encode()
    assert len(raw) < LIMIT
    started = time.monotonic()

    response = send(api_key, "POST", POSTS[endpoint](world), raw)

    assert response.status_code == 400
    assert response.json() == error(400, TOO_MANY)
    assert snapshot() == before
    assert time.monotonic() - started < 2
