"""A definition's ``max_redemptions`` becomes its coupons' store-wide redeem limit,
which every dialect shows back as a JSON number (PayNow
``redeem_limit_store_amount``, Shoplazza ``stock``, v1.1 ``redemptions_left``): it is
capped at 2^53-1, where PayNow's limits are (README, Amounts), and refused above in
NewStore's body. Before, it took up to 2^63-1 and those numbers reached clients that
read them as doubles."""

from __future__ import annotations

import pytest

from legacy.models import LegacyDefinition
from tests.concurrency import shoplazza_client
from tests.factories import CustomerFactory
from tests.legacy.factories import create_coupon, definition_body, error

pytestmark = pytest.mark.django_db

SAFE = 2**53 - 1
DEFINITIONS = "/v0/d/coupon_definitions"


@pytest.mark.parametrize("value", [SAFE + 1, 2**63 - 1])
def test_max_redemptions_above_2_53_is_a_400_and_makes_nothing(newstore, value):
    response = newstore.post(DEFINITIONS, definition_body(max_redemptions=value))

    assert response.status_code == 400
    assert response.json() == error(
        "invalid_request",
        "Invalid request: max_redemptions: Ensure this value is less than or equal "
        "to 9007199254740991.",
    )
    assert not LegacyDefinition.objects.exists()


def test_the_largest_max_redemptions_is_shown_exactly_everywhere(
    newstore, paynow_api, api_key, store
):
    created = newstore.post(DEFINITIONS, definition_body(max_redemptions=SAFE))
    assert created.status_code == 201
    definition = newstore.get(f"{DEFINITIONS}/{created.json()['id']}")
    coupon = create_coupon(
        newstore, "cybermon678", amount={"amount": 3, "currency": "USD"}
    )
    customer = CustomerFactory(store=store)

    paynow = paynow_api.get(f"/v1/stores/{store.id}/coupons", {"type": "generated"})
    received = shoplazza_client(api_key).post(
        "/openapi/2022-01/coupons/receive",
        {"customer_id": str(customer.id), "coupon_ids": [paynow.json()[0]["id"]]},
        format="json",
    )

    assert definition.json()["max_redemptions"] == SAFE
    assert [
        (item["code"], item["redeem_limit_store_enabled"]) for item in paynow.json()
    ] == [(coupon["code"], True)]
    assert paynow.json()[0]["redeem_limit_store_amount"] == SAFE
    assert received.status_code == 200
    assert received.json()["items"][0]["stock"] == SAFE - 1
