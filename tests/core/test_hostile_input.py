"""Hostile request bodies: deeply nested JSON and oversized bodies.

Every dialect answers them with a 400 (too deep, malformed) or a 413 (too large) in
its own JSON error body, authenticated or not, and writes nothing.
"""

from __future__ import annotations

import json
import time

import pytest
from django.test import override_settings
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.test import APIClient

from assignments.models import Assignment
from core import parsers
from core.dialects.base import normalise
from coupons.models import Coupon, Redemption
from customers.models import Customer
from legacy.models import LegacyDefinition
from tests.factories import ApiKeyFactory
from tests.paynow import error_body
from tests.series.conftest import basic_header

TRACE = "trace-hostile"
DEPTH = parsers.MAX_JSON_DEPTH
LIMIT = 1024 * 1024  # config/settings/base.py DATA_UPLOAD_MAX_MEMORY_SIZE
DEEP = b'{"a":' * 1000 + b"1" + b"}" * 1000  # ~6 KB, 1,000 levels
DEEP_LIST = b"[" * 1000 + b"]" * 1000  # 2 KB, 1,000 levels
TOO_DEEP_MESSAGE = f"JSON parse error - nesting deeper than {DEPTH} levels."
TOO_LARGE_MESSAGE = f"The request body is larger than {LIMIT} bytes."


def _paynow_body(status: int, message: str) -> dict:
    code = {400: "bad-request", 413: "payload-too-large"}[status]
    return error_body(status, code, message, trace=TRACE)


def _capillary_v11_body(code: int, message: str) -> dict:
    return {
        "response": {"status": {"success": "false", "code": code, "message": message}}
    }


# dialect -> (url, headers, body for (status, vendor code, message))
DIALECTS = {
    "paynow": (
        "/v1/stores/{store}/coupons",
        lambda key: {"HTTP_AUTHORIZATION": f"APIKey {key.token}"},
        _paynow_body,
    ),
    "native": (
        "/v1/stores/{store}/customers",
        lambda key: {"HTTP_AUTHORIZATION": f"APIKey {key.token}"},
        _paynow_body,
    ),
    "shoplazza": (
        "/openapi/2022-01/coupons/receive",
        lambda key: {"HTTP_ACCESS_TOKEN": key.token},
        lambda status, message: {"errors": [message]},
    ),
    "capillary-v2": (
        "/v2/coupon/issue/multiple",
        lambda key: {"HTTP_AUTHORIZATION": basic_header(key)},
        lambda status, message: {
            "errors": [{"status": False, "code": status, "message": message}]
        },
    ),
    "capillary-v1.1": (
        "/v1.1/coupon/redeem",
        lambda key: {"HTTP_AUTHORIZATION": basic_header(key)},
        lambda status, message: _capillary_v11_body(status, message),
    ),
    "newstore": (
        "/v0/d/coupon_definitions",
        lambda key: {"HTTP_AUTHORIZATION": f"Bearer {key.token}"},
        lambda status, message: {
            "error_code": {400: "invalid_request", 413: "payload_too_large"}[status],
            "message": message,
        },
    ),
    "capillary-oauth": (
        "/v3/oauth/token/generate",
        lambda key: {},
        lambda status, message: {
            "data": None,
            "errors": [{"code": status, "message": message}],
        },
    ),
}


def _counts() -> tuple[int, ...]:
    # The domain's rows. (An Idempotency-Key's record of a 4xx answer is the key
    # working as designed, stores.idempotency, not a write of the request.)
    return (
        Coupon.objects.count(),
        Customer.objects.count(),
        LegacyDefinition.objects.count(),
        Assignment.objects.count(),
        Redemption.objects.count(),
    )


def _post(dialect: str, api_key, body: bytes, **extra):
    url, headers, _ = DIALECTS[dialect]
    return APIClient().generic(
        "POST",
        url.format(store=api_key.store_id),
        body,
        content_type="application/json",
        HTTP_X_REQUEST_ID=TRACE,
        **headers(api_key),
        **extra,
    )


def _expected(dialect: str, status: int, message: str) -> dict:
    return DIALECTS[dialect][2](status, message)


@pytest.fixture
def key(db):
    return ApiKeyFactory()


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("body", [DEEP, DEEP_LIST], ids=["objects", "arrays"])
def test_json_nested_1000_levels_is_a_400_in_the_dialect_body(dialect, body, key):
    before = _counts()

    response = _post(dialect, key, body)

    assert response.status_code == 400
    assert response.json() == _expected(dialect, 400, TOO_DEEP_MESSAGE)
    assert _counts() == before


@pytest.mark.parametrize("dialect", DIALECTS)
def test_json_nested_deep_with_an_idempotency_key_writes_nothing(dialect, key):
    before = _counts()

    response = _post(dialect, key, DEEP_LIST, HTTP_IDEMPOTENCY_KEY="deep-1")

    assert response.status_code == 400
    assert response.json() == _expected(dialect, 400, TOO_DEEP_MESSAGE)
    assert _counts() == before


# What a dialect answers for a body that parsed but is a list, not an object.
NOT_AN_OBJECT = {
    "shoplazza": {"errors": ["The body must be a JSON object."]},
    "newstore": {
        "error_code": "invalid_request",
        "message": "Invalid request: $: The body must be a JSON object.",
    },
    "capillary-oauth": {
        "data": None,
        "errors": [
            {
                "code": 400,
                "message": "Invalid request: $: Invalid data. "
                "Expected a dictionary, but got list.",
            }
        ],
    },
}


@pytest.mark.parametrize("dialect", NOT_AN_OBJECT)
def test_json_exactly_at_the_depth_limit_is_parsed_one_more_level_is_not(dialect, key):
    # DEPTH levels parse: the serializer then judges the content (a list is not an
    # object), the dialect's ordinary 400; one level more is the parse error.
    at_limit = _post(dialect, key, b"[" * DEPTH + b"]" * DEPTH)
    one_more = _post(dialect, key, b"[" * (DEPTH + 1) + b"]" * (DEPTH + 1))

    assert at_limit.status_code == 400
    assert at_limit.json() == NOT_AN_OBJECT[dialect]
    assert one_more.status_code == 400
    assert one_more.json() == _expected(dialect, 400, TOO_DEEP_MESSAGE)


@pytest.mark.parametrize("dialect", NOT_AN_OBJECT)
def test_brackets_inside_strings_do_not_count_as_nesting(dialect, key):
    # 3,000 brackets and 1,000 escaped quotes inside one string: depth 1, parsed.
    text = '["' + '[{\\"' * 1000 + '"]'

    response = _post(dialect, key, text.encode())

    assert response.status_code == 400
    assert response.json() == NOT_AN_OBJECT[dialect]


TOO_MANY_MESSAGE = (
    f"JSON parse error - more than {parsers.MAX_JSON_VALUES} values in arrays and "
    "objects."
)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_json_with_more_than_5000_values_is_a_400_in_the_dialect_body(dialect, key):
    before = _counts()
    body = json.dumps({"a": [0] * parsers.MAX_JSON_VALUES}).encode()  # 5,001

    response = _post(dialect, key, body)

    assert response.status_code == 400
    assert response.json() == _expected(dialect, 400, TOO_MANY_MESSAGE)
    assert _counts() == before


def test_json_with_5000_values_is_parsed_and_one_more_is_not(key):
    # The two members of the object and 4,998 ids: parsed, and the service refuses
    # the ids as usual (Shoplazza's 422); one id more is the parse error.
    def body(ids: int) -> bytes:
        return json.dumps({"customer_id": "1", "coupon_ids": ["1"] * ids}).encode()

    at_limit = _post("shoplazza", key, body(parsers.MAX_JSON_VALUES - 2))
    one_more = _post("shoplazza", key, body(parsers.MAX_JSON_VALUES - 1))

    assert at_limit.status_code == 422
    assert at_limit.json() == {
        "errors": ["At most 100 coupon ids per request (4998 given)."]
    }
    assert one_more.status_code == 400
    assert one_more.json() == {"errors": [TOO_MANY_MESSAGE]}


@pytest.mark.parametrize(
    ("dialect", "body"),
    [
        ("shoplazza", {"customer_id": "1", "coupon_ids": [0] * 300_000}),
        (
            "newstore",
            {
                "label": "a",
                "pattern": "A[0-9]{4}",
                "discount_rule_id": "r",
                "channel_types": [0] * 300_000,
            },
        ),
    ],
)
def test_a_1_mb_list_of_bad_items_is_refused_before_any_item_is_validated(
    dialect, body, key
):
    # DRF validates every item of a list field, and builds an error for each bad
    # one, before it checks the list's length: these bodies (900 KB) cost 15-20 s
    # of CPU and, in Shoplazza's body, an 11 MB answer listing 300,000 errors.
    raw = json.dumps(body).encode()
    assert len(raw) < LIMIT
    started = time.monotonic()

    response = _post(dialect, key, raw)

    assert response.status_code == 400
    assert response.json() == _expected(dialect, 400, TOO_MANY_MESSAGE)
    assert time.monotonic() - started < 5


def test_a_list_field_reports_at_most_10_bad_items(key):
    # Within the limits, a list of 4,998 bad ids: validation stops at the tenth.
    body = json.dumps({"customer_id": "1", "coupon_ids": [0] * 4998}).encode()

    response = _post("shoplazza", key, body)

    assert response.status_code == 400
    assert response.json() == {
        "errors": [f"coupon_ids.{index}: Must be a string." for index in range(10)]
    }


def test_a_list_field_over_its_max_length_is_refused_before_its_items(key):
    body = {
        "label": "a",
        "pattern": "A[0-9]{4}",
        "discount_rule_id": "r",
        "channel_types": [0] * 4996,
    }

    response = _post("newstore", key, json.dumps(body).encode())
    ids = _post("paynow", key, json.dumps({"apply_to_products": [0] * 4999}).encode())

    assert response.status_code == 400
    assert response.json() == {
        "error_code": "invalid_request",
        "message": "Invalid request: channel_types: Ensure this field has no more "
        "than 5 elements.",
    }
    assert ids.status_code == 400
    assert [e for e in ids.json()["errors"] if e["path"] == "apply_to_products"] == [
        {
            "code": "max_length",
            "message": "Ensure this field has no more than 1000 elements.",
            "path": "apply_to_products",
            "validation": "max_length",
        }
    ]


def test_a_dict_field_reports_at_most_10_bad_values(key):
    body = {"customPropertyMap": {f"k{index}": index for index in range(2400)}}

    response = APIClient().generic(
        "POST",
        "/v2/coupon/series",
        json.dumps(body).encode(),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic_header(key),
    )

    # 4 fields missing or wrong, and 10 of the 2,400 bad property values.
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "status": False,
                "code": 400,
                "message": "Invalid request: description: This field is required.; "
                "discountType: This field is required.; discountValue: This field "
                "is required. (and 11 more)",
            }
        ]
    }


@pytest.mark.parametrize("dialect", ["shoplazza", "capillary-oauth"])
def test_an_unclosed_string_of_escaped_quotes_is_scanned_in_linear_time(dialect, key):
    # 65 brackets (so the structure is scanned) and an unclosed string of 20,000
    # escaped quotes: a scan that looked for each string's closing quote from every
    # quote took ~40 s on this 40 KB body.
    body = b"[" * 65 + b'"' + b'\\"' * 20_000
    started = time.monotonic()

    response = _post(dialect, key, body)

    assert response.status_code == 400
    assert response.json() == _expected(dialect, 400, TOO_DEEP_MESSAGE)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("dialect", DIALECTS)
def test_malformed_json_is_a_400_in_the_dialect_body(dialect, key):
    before = _counts()

    response = _post(dialect, key, b'{"a": ')

    assert response.status_code == 400
    assert response.json() == _expected(
        dialect,
        400,
        "JSON parse error - Expecting value: line 1 column 7 (char 6)",
    )
    assert _counts() == before


@pytest.mark.parametrize("dialect", DIALECTS)
def test_invalid_utf8_is_a_400_in_the_dialect_body(dialect, key):
    response = _post(dialect, key, b'{"a": "\xff"}')

    assert response.status_code == 400
    assert response.json() == _expected(
        dialect,
        400,
        "JSON parse error - 'utf-8' codec can't decode byte 0xff in position 7: "
        "invalid start byte",
    )


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_10_mb_body_is_a_413_in_the_dialect_body(dialect, key):
    before = _counts()
    body = b'{"a": "' + b"x" * (10 * 1024 * 1024) + b'"}'

    response = _post(dialect, key, body)

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == _expected(dialect, 413, TOO_LARGE_MESSAGE)
    assert _counts() == before


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_10_mb_body_with_an_idempotency_key_is_a_413(dialect, key):
    # The Idempotency-Key fingerprint reads request.body, Django's own size check.
    before = _counts()
    body = b'{"a": "' + b"x" * (10 * 1024 * 1024) + b'"}'

    response = _post(dialect, key, body, HTTP_IDEMPOTENCY_KEY="big-1")

    assert response.status_code == 413
    assert response.json() == _expected(dialect, 413, TOO_LARGE_MESSAGE)
    assert _counts() == before


@pytest.mark.parametrize("dialect", ["paynow", "capillary-oauth"])
def test_a_body_just_over_the_limit_is_a_413_and_at_the_limit_is_read(dialect, key):
    filler = LIMIT - len(b'{"a": ""}')
    at_limit = b'{"a": "' + b"x" * filler + b'"}'
    assert len(at_limit) == LIMIT

    response = _post(dialect, key, at_limit)
    over = _post(dialect, key, at_limit + b" ")

    assert response.status_code == 400  # read and judged by the serializer
    assert "larger than" not in json.dumps(response.json())
    assert over.status_code == 413
    assert over.json() == _expected(dialect, 413, TOO_LARGE_MESSAGE)


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100)
def test_the_limit_is_the_django_setting_read_per_request(key):
    response = _post("newstore", key, b'{"label": "' + b"x" * 100 + b'"}')

    assert response.status_code == 413
    assert response.json() == {
        "error_code": "payload_too_large",
        "message": "The request body is larger than 100 bytes.",
    }


def test_a_wrong_content_length_cannot_make_the_parser_read_more(key):
    # A Content-Length below the real size: only that many bytes are read, the rest
    # is never parsed (the JSON is then cut short: a 400, not a 500 nor a hang).
    body = b'{"a": "' + b"x" * (2 * LIMIT) + b'"}'
    response = _post("newstore", key, body, CONTENT_LENGTH="10")

    assert response.status_code == 400
    assert response.json()["error_code"] == "invalid_request"


def test_error_details_of_any_depth_flatten_without_recursion():
    # The dialects flatten DRF error details into field paths with a loop. (DRF
    # builds a detail recursively itself, so the parser's depth limit is what keeps
    # details shallow; the detail is set directly here, deeper than the limit.)
    detail: object = [ErrorDetail("too deep", code="deep")]
    for _ in range(5000):
        detail = {"a": detail}
    exc = ValidationError()
    exc.detail = detail

    error = normalise(exc)

    assert error is not None
    assert [(f.path, f.code, f.message) for f in error.fields] == [
        (".".join(["a"] * 5000), "deep", "too deep")
    ]


def test_error_details_flatten_in_order():
    detail = {
        "non_field_errors": ["whole"],
        "b": {"c": ["one", "two"], "d": [{"e": ["three"]}]},
        "a": ["four"],
    }

    fields = normalise(ValidationError(detail)).fields

    assert [(f.path, f.message) for f in fields] == [
        ("$", "whole"),
        ("b.c", "one"),
        ("b.c", "two"),
        ("b.d.e", "three"),
        ("a", "four"),
    ]
