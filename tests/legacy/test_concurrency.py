"""NewStore races on PostgreSQL: labels, code spaces, max_redemptions, deletes."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from coupons.models import Coupon, Redemption
from legacy.models import LegacyDefinition
from tests.concurrency import race
from tests.factories import ApiKeyFactory, StoreFactory
from tests.legacy.factories import (
    bearer,
    create_coupon,
    create_definition,
    create_template,
    definition_body,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

Call = Callable[[APIClient, APIClient, int], tuple[int, object]]


def _race(api_key, threads: int, call: Call) -> list[tuple[int, object]]:
    """Run ``call(newstore, paynow, i)`` in ``threads`` threads released together."""

    def run(index: int) -> tuple[int, object]:
        paynow = APIClient()
        paynow.credentials(HTTP_AUTHORIZATION=f"APIKey {api_key.token}")
        return call(bearer(api_key), paynow, index)

    return race(threads, run)


def _json(response) -> object:
    return response.json() if response.content else None


@pytest.fixture
def key():
    return ApiKeyFactory(store=StoreFactory())


@pytest.mark.parametrize("path", ["/v0/d/coupon_definitions", "/v0/d/coupon_templates"])
def test_racing_creates_of_one_label_make_one_definition(key, path):
    def create(newstore, paynow, index):
        body = definition_body(pattern=f"race{index}-[0-9]{{3}}")
        if "templates" in path:
            body = {"label": body["label"], "pattern": body["pattern"]}
        response = newstore.post(path, body)
        return response.status_code, _json(response)

    results = _race(key, 8, create)

    assert sorted(status for status, _ in results) == [201] + [409] * 7
    for status, body in results:
        if status == 409:
            assert body["error_code"] == "duplicate_label"
    assert LegacyDefinition.objects.filter(store=key.store).count() == 1


def test_racing_coupon_creates_use_a_code_space_of_10_exactly_once(key):
    create_definition(bearer(key), label="ten", pattern="T-[0-9]")

    def create(newstore, paynow, index):
        response = newstore.post("/v0/d/coupons", {"template_label": "ten"})
        return response.status_code, _json(response)

    results = _race(key, 16, create)

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 10, 409: 6}
    codes = [body["code"] for status, body in results if status == 201]
    assert sorted(codes) == [f"T-{digit}" for digit in range(10)]
    assert {body["error_code"] for status, body in results if status == 409} == {
        "code_space_exhausted"
    }
    assert Coupon.objects.filter(store=key.store).count() == 10


def test_racing_creates_from_overlapping_patterns_never_share_a_code(key):
    api = bearer(key)
    create_definition(api, label="lower", pattern="[ab][0-4]")
    create_template(api, label="upper", pattern="[AB][0-4]", amount=None)

    def create(newstore, paynow, index):
        body = (
            {"template_label": "lower"}
            if index % 2
            else {"template_label": "upper", "discount_rule_id": "rule"}
        )
        response = newstore.post("/v0/d/coupons", body)
        return response.status_code, _json(response)

    results = _race(key, 16, create)

    assert Counter(status for status, _ in results) == {201: 10, 409: 6}
    codes = [body["code"] for status, body in results if status == 201]
    assert len({code.upper() for code in codes}) == 10
    assert all(re.fullmatch("[abAB][0-4]", code) for code in codes)
    assert {body["error_code"] for status, body in results if status == 409} <= {
        "code_space_exhausted",
        "code_taken",
    }
    assert Coupon.objects.filter(store=key.store).count() == 10


def test_racing_redemptions_stop_at_max_redemptions(key):
    api = bearer(key)
    create_definition(api, max_redemptions=3)
    code = create_coupon(api, "cybermon678")["code"]

    def redeem(newstore, paynow, index):
        response = paynow.post(
            f"/v1/stores/{key.store_id}/redemptions",
            {"code": code, "order_value": 1000},
            format="json",
        )
        return response.status_code, _json(response)

    results = _race(key, 10, redeem)

    assert Counter(status for status, _ in results) == {200: 3, 409: 7}
    for status, body in results:
        if status == 409:
            assert [e["code"] for e in body["errors"]] == ["store_limit_reached"]
    coupon = Coupon.objects.get(code=code)
    assert coupon.redeemed_count == 3
    assert Redemption.objects.filter(coupon=coupon).count() == 3


@pytest.mark.parametrize("attempt", range(4))
def test_a_delete_racing_a_redemption_ends_one_consistent_way(key, attempt):
    api = bearer(key)
    definition = create_definition(api)
    code = create_coupon(api, "cybermon678")["code"]

    def act(newstore, paynow, index):
        if index == 0:
            response = newstore.delete(f"/v0/d/coupon_definitions/{definition['id']}")
        else:
            response = paynow.post(
                f"/v1/stores/{key.store_id}/redemptions",
                {"code": code, "order_value": 1000},
                format="json",
            )
        return response.status_code, _json(response)

    (deleted, _), (redeemed, redeemed_body) = _race(key, 2, act)

    coupon = Coupon.objects.get(code=code)
    if deleted == 204:
        # The delete went first: the redemption found the coupon disabled.
        assert redeemed == 409
        assert [e["code"] for e in redeemed_body["errors"]] == ["disabled"]
        assert not LegacyDefinition.objects.exists()
        assert coupon.enabled is False
        assert not Redemption.objects.exists()
    else:
        # The redemption went first: the definition is in use and stays.
        assert (deleted, redeemed) == (409, 200)
        assert LegacyDefinition.objects.count() == 1
        assert coupon.enabled is True
        assert Redemption.objects.count() == 1
