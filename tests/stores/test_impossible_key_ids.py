"""A key id no key can have (NUL or another control character, not ASCII, longer
than the column) is refused without a query (``stores.selectors.possible_key_id``):
in every auth form it is the dialect's 401, counted as a failed authentication
(tests/stores/test_auth_failure_limits.py).
Before, a Capillary Basic header of ``base64("a\\x00b:c")`` reached PostgreSQL,
which refuses NUL in a text parameter: an unauthenticated 500 (attack report #2),
even from an address locked out by the failure limit."""

from __future__ import annotations

import base64

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

AUTH_FAILED = "Authentication failed. Please check username and password."
V11_401 = {
    "response": {"status": {"success": "false", "code": 401, "message": AUTH_FAILED}}
}
V2_401 = {"errors": [{"status": False, "code": 401, "message": AUTH_FAILED}]}
IMPOSSIBLE = ["a\x00b", "chk_\x00", "chk_\t1", "chk_ключ", "chk_" + "0" * 61]
# In a token: no whitespace (it splits the header) and only what a header can carry.
IMPOSSIBLE_IN_TOKENS = ["a\x00b", "chk_\x00", "chk_\x7f", "chk_" + "0" * 61]


def _basic(user: str, password: str = "c") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("key_id", IMPOSSIBLE)
def test_capillary_basic_with_an_impossible_key_id_is_401_without_a_query(
    key_id, django_assert_num_queries
):
    api = APIClient()
    with django_assert_num_queries(0):
        v11 = api.get(
            "/v1.1/customer/coupons?mobile=1", HTTP_AUTHORIZATION=_basic(key_id)
        )
        v2 = api.post(
            "/v2/coupon/issue/multiple",
            {"seriesId": 1, "count": 1, "customer": {"mobile": "1"}},
            format="json",
            HTTP_AUTHORIZATION=_basic(key_id),
        )

    assert (v11.status_code, v11.json()) == (401, V11_401)
    assert (v2.status_code, v2.json()) == (401, V2_401)


@pytest.mark.parametrize("key_id", IMPOSSIBLE_IN_TOKENS)
def test_every_token_form_with_an_impossible_key_id_is_401(
    store, key_id, django_assert_num_queries
):
    token = f"{key_id}.secret"
    calls = [
        (
            f"/v1/stores/{store.id}/coupons",
            {"HTTP_AUTHORIZATION": f"APIKey {token}", "HTTP_X_REQUEST_ID": "t"},
            {
                "status": 401,
                "code": "unauthorized",
                "message": "Invalid API key.",
                "trace_id": "t",
                "errors": None,
            },
        ),
        (
            "/v0/d/coupons?filter[code]=X",
            {"HTTP_AUTHORIZATION": f"Bearer {token}"},
            {"error_code": "unauthorized", "message": "Invalid API key."},
        ),
    ]
    for path, headers, body in calls:
        with django_assert_num_queries(0):
            response = APIClient().get(path, **headers)
        assert (response.status_code, response.json()) == (401, body)

    with django_assert_num_queries(0):
        response = APIClient().post(
            "/openapi/2022-01/coupons/receive",
            {"customer_id": "1", "coupon_ids": ["1"]},
            format="json",
            HTTP_ACCESS_TOKEN=token,
        )
    assert (response.status_code, response.json()) == (401, {"error": "Unauthorized"})
