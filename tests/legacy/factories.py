"""Request bodies of the NewStore v0 dialect, as the seed (004) writes them."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from tests.factories import ApiKeyFactory

SEED_PATTERN = "coupondef-[A-Z]{3}[0-9]{3}"
SEED_DISCOUNT_RULE = "f32f4cf6-f65d-4ed9-be4c-26a2b0552a51"


def bearer(api_key) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.token}")
    api.default_format = "json"
    return api


def bearer_for(store, **kwargs: Any) -> APIClient:
    return bearer(ApiKeyFactory(store=store, **kwargs))


def rule(label: str, **values: Any) -> dict[str, Any]:
    return {"label": label, "values": values}


def valid_from(moment: str) -> dict[str, Any]:
    return rule("valid_from", valid_from=moment)


def valid_to(moment: str) -> dict[str, Any]:
    return rule("valid_to", valid_to=moment)


def consumer(consumer_id: str) -> dict[str, Any]:
    return rule("restricted_to_consumer_id", consumer_id=consumer_id)


def minimum_total(amount: float, currency: str = "USD") -> dict[str, Any]:
    return rule("minimal_order_total_before_discount", amount=amount, currency=currency)


def definition_body(**overrides: Any) -> dict[str, Any]:
    """The seed's create-definition sample (a valid_from rule added)."""
    body: dict[str, Any] = {
        "pattern": SEED_PATTERN,
        "validation_rules": [valid_from("2017-10-23T06:00:00.000Z")],
        "label": "cybermon678",
        "discount_rule_id": SEED_DISCOUNT_RULE,
        "max_redemptions": 10000000,
    }
    body.update(overrides)
    return body


def template_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "label": "loyalty",
        "pattern": "COUPON_[a-zA-Z0-9]{5}",
        "validation_rules": [],
        "amount": {"amount": 5, "currency": "USD"},
    }
    body.update(overrides)
    return body


def create_definition(api: APIClient, **overrides: Any) -> dict[str, Any]:
    response = api.post("/v0/d/coupon_definitions", definition_body(**overrides))
    assert response.status_code == 201, response.json()
    return response.json()


def create_template(api: APIClient, **overrides: Any) -> dict[str, Any]:
    response = api.post("/v0/d/coupon_templates", template_body(**overrides))
    assert response.status_code == 201, response.json()
    return response.json()


def create_coupon(api: APIClient, template_label: str, **fields: Any) -> dict:
    response = api.post("/v0/d/coupons", {"template_label": template_label, **fields})
    assert response.status_code == 201, response.json()
    return response.json()


def error(code: str, message: str) -> dict[str, str]:
    return {"error_code": code, "message": message}
