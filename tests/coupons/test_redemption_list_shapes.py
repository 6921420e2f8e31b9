"""``GET /v1/stores/{id}/redemptions`` shows each redemption as the redeem and
rollback answers show it (README "Carts"): one made with a cart, or partly
returned, with ``discount``, ``value_returned``, ``discount_returned`` and
``lines``; the lines of a whole page in one query."""

from __future__ import annotations

import pytest

from tests.contracts import paynow_spec
from tests.coupons.test_api_cart import (
    AMOUNT,
    CART,
    PLAIN_REDEMPTION_KEYS,
    REDEMPTION_KEYS,
    cart,
    coupon,
    redeem,
    rolled,
    ten_percent,
)

pytestmark = pytest.mark.django_db


def listed(api, base, query=""):
    response = api.get(f"{base}/redemptions{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_list_shows_each_redemption_as_its_answers_did(paynow, base, store):
    ten = ten_percent(store)
    coupon(store, "FIVE", **AMOUNT, discount_amount=500)
    coupon(store, "OFF", **AMOUNT, discount_amount=1000)
    plain = redeem(paynow, base, {"code": "FIVE", "order_value": 2000})
    # The attack report's: 10 % of 10,000, then 3,000 of it returned.
    first = redeem(paynow, base, {"code": "TEN", "order_value": 10000})
    returned = rolled(paynow, base, first["id"], {"amount": 3000}).json()
    carted = redeem(paynow, base, {"code": "TEN", "order": cart("EUR", *CART)})
    second = redeem(paynow, base, {"code": "TEN", "order": cart("EUR", *CART)})
    ask = {"lines": [{"id": "l3", "quantity": 1}]}
    partly = rolled(paynow, base, second["id"], ask).json()
    codes = redeem(
        paynow, base, {"codes": ["OFF", "TEN"], "order": cart("EUR", *CART)}
    )["redemptions"]
    third = redeem(paynow, base, {"code": "FIVE", "order_value": 2000})
    whole = rolled(paynow, base, third["id"]).json()

    answer = listed(paynow, base)

    assert answer == [whole, codes[1], codes[0], partly, carted, returned, plain]
    assert [list(item) == REDEMPTION_KEYS for item in answer] == [
        False,
        True,
        True,
        True,
        True,
        True,
        False,
    ]
    assert list(plain) == list(whole) == PLAIN_REDEMPTION_KEYS
    assert {
        key: returned[key] for key in ("discount_amount", *REDEMPTION_KEYS[-4:])
    } == {
        "discount_amount": 700,
        "discount": 700,
        "value_returned": 3000,
        "discount_returned": 300,
        "lines": [],
    }
    assert [line["returned_quantity"] for line in partly["lines"]] == [0, 0, 1]
    assert listed(paynow, base, f"?coupon_id={ten.id}&asc=true") == [
        returned,
        carted,
        partly,
        codes[1],
    ]


def test_the_list_matches_its_openapi_schema(paynow, base, store, client):
    ten_percent(store)
    plain = redeem(paynow, base, {"code": "TEN", "order_value": 2000})
    carted = redeem(paynow, base, {"code": "TEN", "order": cart("EUR", *CART)})
    rolled(paynow, base, carted["id"], {"lines": [{"id": "l1", "quantity": 1}]})
    document = client.get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    ).json()
    operation = document["paths"]["/v1/stores/{store_id}/redemptions"]["get"]
    items = operation["responses"]["200"]["content"]["application/json"]["schema"]

    answer = listed(paynow, base)

    assert items["items"] == {"$ref": "#/components/schemas/RedemptionAnswerOutput"}
    schema = document["components"]["schemas"]["RedemptionAnswerOutput"]
    assert list(schema["properties"]) == REDEMPTION_KEYS
    assert sorted(schema["required"]) == sorted(
        set(PLAIN_REDEMPTION_KEYS) - {"outlet_code"}
    )
    assert [item["id"] for item in answer] == [carted["id"], plain["id"]]
    assert (list(answer[0]), list(answer[1])) == (
        REDEMPTION_KEYS,
        PLAIN_REDEMPTION_KEYS,
    )
    errors = paynow_spec.errors_of(
        answer, "RedemptionAnswerOutput", many=True, document=document
    )
    assert errors == []


def test_the_lines_of_a_page_are_read_in_one_query(
    paynow, base, store, django_assert_num_queries
):
    ten_percent(store)
    redeem(paynow, base, {"code": "TEN", "order": cart("EUR", *CART)})
    redeem(paynow, base, {"code": "TEN", "order_value": 1000})

    # The key, the page of redemptions (with coupon and outlet), their lines.
    with django_assert_num_queries(3):
        assert len(listed(paynow, base)) == 2
    for _ in range(10):
        redeem(paynow, base, {"code": "TEN", "order": cart("EUR", *CART)})
        redeem(paynow, base, {"code": "TEN", "order_value": 1000})
    with django_assert_num_queries(3):
        answer = listed(paynow, base)
    assert len(answer) == 22
    assert sum(len(item.get("lines", [])) for item in answer) == 33


def test_the_redeem_and_rollback_answers_match_their_openapi_schemas(
    paynow, base, store, client
):
    ten_percent(store)
    coupon(store, "OFF", **AMOUNT, discount_amount=1000)
    plain = redeem(paynow, base, {"code": "TEN", "order_value": 2000})
    carted = redeem(paynow, base, {"code": "TEN", "order": cart("EUR", *CART)})
    codes = redeem(paynow, base, {"codes": ["OFF", "TEN"], "order": cart("EUR", *CART)})
    ask = {"lines": [{"id": "l1", "quantity": 1}]}
    returned = rolled(paynow, base, carted["id"], ask).json()
    whole = rolled(paynow, base, plain["id"]).json()
    document = client.get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    ).json()
    paths = document["paths"]
    redeemed = paths["/v1/stores/{store_id}/redemptions"]["post"]["responses"]
    rollback = paths["/v1/stores/{store_id}/redemptions/{redemption_id}/rollback"]
    answered = rollback["post"]["responses"]["200"]["content"]["application/json"]

    assert redeemed["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RedeemResponse"
    }
    assert answered["schema"] == {"$ref": "#/components/schemas/RedemptionAnswerOutput"}
    for body in (plain, carted, codes):
        assert paynow_spec.errors_of(body, "RedeemResponse", document=document) == []
    for body in (returned, whole):
        errors = paynow_spec.errors_of(
            body, "RedemptionAnswerOutput", document=document
        )
        assert errors == []
