"""The PayNow list parameters take what the spec's types take (attack report 16).

``limit`` is an ``integer`` and ``asc`` a ``boolean`` in every list operation of the
PayNow document; ASP.NET Core binds an int from digits and a bool from ``true`` or
``false`` in any case. DRF's fields also read ``1.0``, ``1``, ``yes``: now a 400
naming the parameter, on each list (customers, coupons, redemptions).
"""

from __future__ import annotations

import pytest

from tests.factories import CouponFactory, CustomerFactory, RedemptionFactory
from tests.paynow import field_error, native_client

pytestmark = pytest.mark.django_db

TRACE = "trace-keyset-1"
NOT_INT = "A valid integer is required."
NOT_BOOL = "Must be a valid boolean."
MIN_1 = "Ensure this value is greater than or equal to 1."
NOT_ID = "Must be a valid ID."
LISTS = ["customers", "coupons", "redemptions"]
MAKE = {
    "customers": CustomerFactory,
    "coupons": CouponFactory,
    "redemptions": RedemptionFactory,
}


@pytest.fixture
def api(api_key):
    return native_client(api_key, trace=TRACE)


def _listed(store, name: str, count: int) -> tuple[str, list[str]]:
    """The list's URL and the ids of ``count`` new rows of it, oldest first."""
    rows = [MAKE[name](store=store) for _ in range(count)]
    return f"/v1/stores/{store.id}/{name}", [str(row.id) for row in rows]


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize(
    ("param", "value", "code", "message"),
    [
        ("limit", "1.0", "invalid", NOT_INT),
        ("limit", "2.", "invalid", NOT_INT),
        ("limit", " 1", "invalid", NOT_INT),
        ("limit", "+1", "invalid", NOT_INT),
        ("limit", "\u0661", "invalid", NOT_INT),  # an Arabic-Indic 1
        ("limit", "-1", "min_value", MIN_1),
        ("asc", "1", "invalid", NOT_BOOL),
        ("asc", "0", "invalid", NOT_BOOL),
        ("asc", "yes", "invalid", NOT_BOOL),
        ("asc", "on", "invalid", NOT_BOOL),
        ("asc", "t", "invalid", NOT_BOOL),
        ("asc", "", "invalid", NOT_BOOL),
        # A FlakeId, and 0 is none: an ascending scan starts without ``after``.
        ("after", "0", "invalid_id", NOT_ID),
    ],
)
def test_a_value_the_spec_type_refuses_is_400_naming_the_parameter(
    api, store, name, param, value, code, message
):
    url, _ = _listed(store, name, 1)

    response = api.get(url, {param: value})

    assert response.status_code == 400
    assert response.json() == field_error(param, code, message, trace=TRACE)


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"asc": "true"}, [0, 1, 2]),
        ({"asc": "TRUE"}, [0, 1, 2]),
        ({"asc": "True"}, [0, 1, 2]),
        ({"asc": "false"}, [2, 1, 0]),
        ({"asc": "False"}, [2, 1, 0]),
        ({"limit": "2", "asc": "true"}, [0, 1]),
        ({"limit": "002"}, [2, 1]),
        ({"limit": "100"}, [2, 1, 0]),
        ({}, [2, 1, 0]),
    ],
)
def test_the_spec_forms_are_taken(api, store, name, query, expected):
    url, ids = _listed(store, name, 3)

    response = api.get(url, query)

    assert response.status_code == 200
    assert [item["id"] for item in response.json()] == [ids[i] for i in expected]
