"""Every dialect's ``Allow`` header lists the methods its view serves, and OPTIONS,
which none serves (README: "OPTIONS is not offered (405)"), is not among them.
DRF listed OPTIONS on every answer while OPTIONS answered 405."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import CouponFactory
from tests.series.conftest import basic_header

TRACE = "allow-test"


def _client(api_key, form: str) -> APIClient:
    api = APIClient(HTTP_X_REQUEST_ID=TRACE)
    if form == "paynow":
        api.credentials(HTTP_AUTHORIZATION=f"APIKey {api_key.token}")
    elif form == "shoplazza":
        api.credentials(HTTP_ACCESS_TOKEN=api_key.token)
    elif form == "capillary":
        api.credentials(HTTP_AUTHORIZATION=basic_header(api_key))
    elif form == "newstore":
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.token}")
    return api


PAYNOW_405 = {
    "status": 405,
    "code": "method-not-allowed",
    "message": 'Method "OPTIONS" not allowed.',
    "trace_id": TRACE,
    "errors": None,
}
CAPILLARY_405 = {
    "errors": [
        {"status": False, "code": 405, "message": 'Method "OPTIONS" not allowed.'}
    ]
}
V11_405 = {
    "response": {
        "status": {
            "success": "false",
            "code": 405,
            "message": 'Method "OPTIONS" not allowed.',
        }
    }
}
NEWSTORE_405 = {
    "error_code": "method_not_allowed",
    "message": 'Method "OPTIONS" not allowed.',
}
SHOPLAZZA_405 = {"errors": ['Method "OPTIONS" not allowed.']}
OAUTH_405 = {
    "data": None,
    "errors": [{"code": 405, "message": 'Method "OPTIONS" not allowed.'}],
}

# (auth form, path, Allow, OPTIONS body); {store} and {coupon} are filled in.
ROUTES = [
    ("paynow", "/v1/stores/{store}/coupons", "GET, POST, HEAD", PAYNOW_405),
    (
        "paynow",
        "/v1/stores/{store}/coupons/{coupon}",
        "GET, PATCH, DELETE, HEAD",
        PAYNOW_405,
    ),
    ("paynow", "/v1/stores/{store}/coupons/validate", "POST", PAYNOW_405),
    ("paynow", "/v1/stores/{store}/customers", "GET, POST, HEAD", PAYNOW_405),
    ("paynow", "/v1/stores/{store}/redemptions", "GET, POST, HEAD", PAYNOW_405),
    ("paynow", "/v1/stores/{store}/holds", "POST", PAYNOW_405),
    ("shoplazza", "/openapi/2022-01/coupons/receive", "POST", SHOPLAZZA_405),
    ("capillary", "/v2/coupon/series", "GET, POST, HEAD", CAPILLARY_405),
    ("capillary", "/v2/coupon/issue/multiple", "POST", CAPILLARY_405),
    ("capillary", "/v1.1/customer/coupons", "GET, HEAD", V11_405),
    ("capillary", "/v1.1/coupon/redeem", "POST", V11_405),
    ("capillary", "/v1.1/coupon/isredeemable", "GET, HEAD", V11_405),
    ("newstore", "/v0/d/coupon_definitions", "POST", NEWSTORE_405),
    (
        "newstore",
        "/v0/d/coupon_definitions/{coupon}",
        "GET, PUT, DELETE, HEAD",
        NEWSTORE_405,
    ),
    ("newstore", "/v0/d/coupons", "GET, POST, HEAD", NEWSTORE_405),
    ("newstore", "/v0/d/coupons/{coupon}", "PUT, PATCH", NEWSTORE_405),
    ("none", "/v3/oauth/token/generate", "POST", OAUTH_405),
]


@pytest.mark.parametrize(("form", "path", "allow", "body"), ROUTES)
def test_options_is_405_and_allow_lists_only_served_methods(
    api_key, form, path, allow, body
):
    coupon = CouponFactory(store=api_key.store)
    url = path.format(store=api_key.store.id, coupon=coupon.id)

    response = _client(api_key, form).options(url)

    assert (response.status_code, response.json()) == (405, body)
    assert response["Allow"] == allow


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("get", "/v1/stores/{store}/coupons", "GET, POST, HEAD"),
        ("put", "/v1/stores/{store}/coupons", "GET, POST, HEAD"),
        ("get", "/v1/stores/{store}/coupons/{coupon}", "GET, PATCH, DELETE, HEAD"),
    ],
)
def test_every_answer_carries_the_served_methods(api_key, method, path, allow):
    coupon = CouponFactory(store=api_key.store)
    url = path.format(store=api_key.store.id, coupon=coupon.id)

    response = getattr(_client(api_key, "paynow"), method)(url)

    assert response.status_code == (405 if method == "put" else 200)
    assert response["Allow"] == allow
