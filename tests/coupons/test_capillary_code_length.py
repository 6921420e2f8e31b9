"""Capillary v1.1 takes codes of at most 100 characters in isredeemable as in
redeem: a longer one is the vendor's 400, looked up nowhere."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.coupons.test_api_capillary import (  # noqa: F401 (fixtures)
    api,
    bad_request,
    check,
    customer,
    outlet,
    till,
)

pytestmark = pytest.mark.django_db


def test_isredeemable_refuses_a_code_longer_than_100_characters(api, customer):  # noqa: F811
    with CaptureQueriesContext(connection) as queries:
        response = check(api, mobile=customer.mobile, code="OK1," + "A" * 1500)

    assert response.status_code == 400
    assert response.json() == bad_request(
        "Input is invalid. code: Ensure each coupon code has no more than 100 "
        "characters."
    )
    assert not [q for q in queries if "coupons_coupon" in q["sql"]]


def test_isredeemable_takes_a_code_of_100_characters(api, customer):  # noqa: F811
    response = check(api, mobile=customer.mobile, code="A" * 100)

    assert response.status_code == 200, response.content
