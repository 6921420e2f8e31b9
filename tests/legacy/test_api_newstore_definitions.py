"""NewStore v0 coupon definitions and templates: ``/v0/d/coupon_definitions[/{id}]``,
``/v0/d/coupon_templates[/{id}]``."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from coupons.models import Coupon
from legacy.models import Kind, LegacyDefinition
from stores.scopes import COUPONS_READ, COUPONS_WRITE
from tests.factories import (
    ApiKeyFactory,
    CustomerFactory,
    RedemptionFactory,
    StoreFactory,
)
from tests.legacy.factories import (
    SEED_DISCOUNT_RULE,
    SEED_PATTERN,
    bearer,
    bearer_for,
    consumer,
    create_coupon,
    create_definition,
    create_template,
    definition_body,
    error,
    minimum_total,
    template_body,
    valid_from,
    valid_to,
)

pytestmark = pytest.mark.django_db

DEFINITIONS = "/v0/d/coupon_definitions"
TEMPLATES = "/v0/d/coupon_templates"
NOT_FOUND = error("not_found", "Coupon definition not found.")
TEMPLATE_NOT_FOUND = error("not_found", "Coupon template not found.")


def _definition_url(definition_id) -> str:
    return f"{DEFINITIONS}/{definition_id}"


def _template_url(template_id) -> str:
    return f"{TEMPLATES}/{template_id}"


def _invalid(message: str) -> dict[str, str]:
    return error("invalid_request", f"Invalid request: {message}")


# --- create -------------------------------------------------------------------------


def test_create_definition_answers_201_with_id_and_label(newstore, store):
    response = newstore.post(DEFINITIONS, definition_body())

    assert response.status_code == 201
    body = response.json()
    assert list(body) == ["id", "label"]
    definition = LegacyDefinition.objects.get()
    assert body == {"id": str(definition.uuid), "label": "cybermon678"}
    assert uuid.UUID(body["id"]).version == 4
    assert definition.store == store
    assert definition.kind == Kind.DEFINITION
    assert definition.pattern == SEED_PATTERN
    assert definition.discount_rule_id == SEED_DISCOUNT_RULE
    assert definition.max_redemptions == 10000000
    assert definition.validation_rules == [
        {"label": "valid_from", "values": {"valid_from": "2017-10-23T06:00:00.000Z"}}
    ]


def test_get_definition_answers_the_whole_definition(newstore):
    created = create_definition(
        newstore,
        validation_rules=[
            valid_from("2017-10-23T06:00:00Z"),
            valid_to("2019-11-30T23:59:59.000Z"),
        ],
    )

    response = newstore.get(_definition_url(created["id"]))

    assert response.status_code == 200
    assert response.json() == {
        "id": created["id"],
        "label": "cybermon678",
        "pattern": "coupondef-[A-Z]{3}[0-9]{3}",
        "validation_rules": [
            {
                "label": "valid_from",
                "values": {"valid_from": "2017-10-23T06:00:00.000Z"},
            },
            {"label": "valid_to", "values": {"valid_to": "2019-11-30T23:59:59.000Z"}},
        ],
        "discount_rule_id": "f32f4cf6-f65d-4ed9-be4c-26a2b0552a51",
        "max_redemptions": 10000000,
    }
    assert list(response.json()) == [
        "id",
        "label",
        "pattern",
        "validation_rules",
        "discount_rule_id",
        "max_redemptions",
    ]


def test_get_definition_gives_channel_types_when_set_and_omits_unset_optionals(
    newstore,
):
    created = create_definition(
        newstore,
        channel_types=["web", "store"],
        validation_rules=None,
        max_redemptions=None,
    )

    body = newstore.get(_definition_url(created["id"])).json()

    assert body == {
        "id": created["id"],
        "label": "cybermon678",
        "pattern": SEED_PATTERN,
        "validation_rules": [],
        "discount_rule_id": SEED_DISCOUNT_RULE,
        "channel_types": ["web", "store"],
    }


def test_a_restricted_consumer_is_a_customer_by_external_id_or_id(newstore, store):
    by_external = CustomerFactory(store=store, external_id="8de1d881-2572")
    by_id = CustomerFactory(store=store)

    first = create_definition(
        newstore, label="a", validation_rules=[consumer(by_external.external_id)]
    )
    second = create_definition(
        newstore, label="b", validation_rules=[consumer(str(by_id.id))]
    )

    assert newstore.get(_definition_url(first["id"])).json()["validation_rules"] == [
        consumer("8de1d881-2572")
    ]
    assert newstore.get(_definition_url(second["id"])).json()["validation_rules"] == [
        consumer(str(by_id.id))
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {},
            "label: This field is required.; pattern: This field is required.; "
            "discount_rule_id: This field is required.",
        ),
        (definition_body(label=""), "label: This field may not be blank."),
        (definition_body(label="   "), "label: This field may not be blank."),
        (definition_body(label=12), "label: Must be a string."),
        (definition_body(label="x" * 201), "label: Ensure this field has no more"),
        (definition_body(pattern=""), "pattern: This field may not be blank."),
        (
            definition_body(discount_rule_id=""),
            "discount_rule_id: This field may not be blank.",
        ),
        (
            definition_body(max_redemptions=0),
            "max_redemptions: Ensure this value is greater than or equal to 1.",
        ),
        (definition_body(max_redemptions="5"), "max_redemptions: Must be an integer."),
        (definition_body(max_redemptions=2.5), "max_redemptions: Must be an integer."),
        (
            definition_body(channel_types=["web", "mobile", "mobile_ios", "store"] * 2),
            "channel_types: Ensure this field has no more than 5 elements.",
        ),
        (
            definition_body(channel_types=["web", "tv"]),
            'channel_types.1: "tv" is not one of: web, mobile, mobile_ios, '
            "mobile_android, store.",
        ),
        (
            definition_body(channel_types=["web", "web"]),
            "channel_types: A channel type appears more than once.",
        ),
        (
            definition_body(validation_rules=[minimum_total(10)]),
            "validation_rules.0.label: Must be one of: valid_from, valid_to, "
            "restricted_to_consumer_id.",
        ),
        (
            definition_body(validation_rules=[{"label": "valid_from"}]),
            "validation_rules.0.values: Must be an object with: valid_from.",
        ),
        (
            definition_body(validation_rules=["valid_from"]),
            'validation_rules.0: Must be a validation rule object: {"label": ..., '
            '"values": {...}}.',
        ),
        (
            definition_body(
                validation_rules=[{"label": "valid_to", "values": {"valid_from": 1}}]
            ),
            "validation_rules.0.values.valid_to: This field is required.; "
            "validation_rules.0.values.valid_from: Unexpected key.",
        ),
        (
            definition_body(validation_rules=[valid_from("next tuesday")]),
            "validation_rules.0.values.valid_from: Must be an ISO 8601 date-time "
            "such as 2025-10-08T15:51:07.322Z.",
        ),
        (
            definition_body(validation_rules=[valid_to("0001-01-01T00:00:00+01:00")]),
            "validation_rules.0.values.valid_to: The date-time is out of range "
            "(0001-01-02 to 9999-12-30 UTC).",
        ),
        (
            definition_body(validation_rules=[valid_to("9999-12-31T23:59:59-05:00")]),
            "validation_rules.0.values.valid_to: The date-time is out of range "
            "(0001-01-02 to 9999-12-30 UTC).",
        ),
        (
            definition_body(validation_rules=[valid_to("9999-12-31T00:00:00Z")]),
            "validation_rules.0.values.valid_to: The date-time is out of range "
            "(0001-01-02 to 9999-12-30 UTC).",
        ),
        (
            definition_body(validation_rules=[consumer("  ")]),
            "validation_rules.0.values.consumer_id: Must be a non-empty string.",
        ),
        (
            definition_body(validation_rules=[consumer("a\x00b")]),
            "validation_rules.0.values.consumer_id: Null characters are not allowed.",
        ),
        (
            definition_body(validation_rules=[consumer("c" * 201)]),
            "validation_rules.0.values.consumer_id: Ensure this field has no more "
            "than 200 characters.",
        ),
        (
            definition_body(validation_rules=[consumer(7)]),
            "validation_rules.0.values.consumer_id: Must be a non-empty string.",
        ),
        (
            definition_body(label="a\x00b"),
            "label: Null characters are not allowed.",
        ),
        (
            definition_body(validation_rules=[consumer("nobody")]),
            "validation_rules.0.values.consumer_id: No customer of this store has "
            "the id or external_id 'nobody'.",
        ),
        (
            definition_body(
                validation_rules=[
                    valid_from("2020-01-01T00:00:00Z"),
                    valid_from("2021-01-01T00:00:00Z"),
                ]
            ),
            "validation_rules.1: The rule 'valid_from' appears more than once.",
        ),
        (
            definition_body(
                validation_rules=[
                    valid_from("2021-01-01T00:00:00Z"),
                    valid_to("2020-01-01T00:00:00Z"),
                ]
            ),
            "validation_rules: valid_from must not be after valid_to.",
        ),
        (
            definition_body(validation_rules={"label": "valid_from"}),
            'validation_rules: Expected a list of items but got type "dict".',
        ),
        (
            definition_body(pattern="coupondef-[A-Z]+"),
            "pattern: Invalid or unsupported pattern: the unbounded quantifier '+' "
            "is not supported: the code space must be finite, so give a maximum "
            "length, e.g. {1,8} (at position 15).",
        ),
        (
            definition_body(pattern="coupondef-[A-Z"),
            "pattern: Invalid or unsupported pattern: missing ']', unterminated "
            "character set (at position 10).",
        ),
        (
            definition_body(pattern="coupon def"),
            "pattern: Invalid or unsupported pattern: a space cannot be part of a "
            "code (codes use printable ASCII characters without spaces) "
            "(at position 6).",
        ),
    ],
)
def test_create_definition_refuses_an_invalid_body_with_400(newstore, body, message):
    response = newstore.post(DEFINITIONS, body)

    assert response.status_code == 400
    assert response.json()["error_code"] == "invalid_request"
    assert response.json()["message"].startswith(f"Invalid request: {message}")
    assert not LegacyDefinition.objects.exists()


@pytest.mark.parametrize("body", [[definition_body()], "label", None, 7])
def test_a_body_that_is_not_an_object_is_a_400(newstore, body):
    response = newstore.post(
        DEFINITIONS, data=json.dumps(body), content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == _invalid("$: The body must be a JSON object.")


def test_malformed_json_is_a_400(newstore):
    response = newstore.post(
        DEFINITIONS, data="{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error_code"] == "invalid_request"
    assert response.json()["message"].startswith("JSON parse error")


def test_a_second_definition_with_the_same_label_is_a_409(newstore):
    create_definition(newstore)

    response = newstore.post(DEFINITIONS, definition_body(pattern="other-[0-9]{4}"))

    assert response.status_code == 409
    assert response.json() == error(
        "duplicate_label",
        "The label 'cybermon678' is already used by a coupon definition or template "
        "in this store.",
    )
    assert LegacyDefinition.objects.count() == 1


def test_definitions_and_templates_share_one_label_namespace(newstore):
    create_template(newstore, label="shared")

    response = newstore.post(DEFINITIONS, definition_body(label="shared"))
    again = newstore.post(TEMPLATES, template_body(label="shared"))

    assert response.status_code == 409
    assert response.json()["error_code"] == "duplicate_label"
    assert again.status_code == 409
    assert LegacyDefinition.objects.count() == 1


def test_labels_are_per_store_and_case_sensitive(newstore, other_store):
    create_definition(newstore)
    other = bearer_for(other_store)

    assert other.post(DEFINITIONS, definition_body()).status_code == 201
    other_case = newstore.post(DEFINITIONS, definition_body(label="CyberMon678"))
    assert other_case.status_code == 201
    assert LegacyDefinition.objects.count() == 3


# --- get / put ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "definition_id",
    ["c4c429fc-9744-41ea-87a0-e081092d63f9", "not-a-uuid", "12345"],
)
def test_get_put_delete_an_unknown_or_malformed_id_is_a_404(newstore, definition_id):
    url = _definition_url(definition_id)

    for response in (
        newstore.get(url),
        newstore.put(url, definition_body()),
        newstore.delete(url),
    ):
        assert response.status_code == 404
        assert response.json() == NOT_FOUND


def test_another_stores_definition_and_a_template_are_not_found(newstore, other_store):
    theirs = create_definition(bearer_for(other_store))
    template = create_template(newstore)

    assert newstore.get(_definition_url(theirs["id"])).json() == NOT_FOUND
    assert newstore.get(_definition_url(template["id"])).json() == NOT_FOUND


def test_put_overwrites_every_field(newstore, store):
    customer = CustomerFactory(store=store, external_id="consumer-1")
    created = create_definition(newstore, channel_types=["web"])

    response = newstore.put(
        _definition_url(created["id"]),
        {
            "label": "cybermon679",
            "pattern": "CM-[0-9]{6}",
            "validation_rules": [consumer(customer.external_id)],
            "discount_rule_id": "rule-2",
            "max_redemptions": 3,
        },
    )

    assert response.status_code == 200
    expected = {
        "id": created["id"],
        "label": "cybermon679",
        "pattern": "CM-[0-9]{6}",
        "validation_rules": [consumer("consumer-1")],
        "discount_rule_id": "rule-2",
        "max_redemptions": 3,
    }
    assert response.json() == expected
    assert newstore.get(_definition_url(created["id"])).json() == expected
    definition = LegacyDefinition.objects.get()
    assert definition.channel_types == []


def test_put_keeps_the_label_of_the_definition_itself(newstore):
    created = create_definition(newstore)

    response = newstore.put(
        _definition_url(created["id"]), definition_body(max_redemptions=5)
    )

    assert response.status_code == 200
    assert response.json()["max_redemptions"] == 5


def test_put_to_a_taken_label_is_a_409_and_changes_nothing(newstore):
    create_template(newstore, label="taken")
    created = create_definition(newstore)

    response = newstore.put(
        _definition_url(created["id"]), definition_body(label="taken")
    )

    assert response.status_code == 409
    assert response.json()["error_code"] == "duplicate_label"
    assert LegacyDefinition.objects.get(uuid=created["id"]).label == "cybermon678"


def test_put_with_an_invalid_body_is_a_400_and_changes_nothing(newstore):
    created = create_definition(newstore)

    response = newstore.put(
        _definition_url(created["id"]), definition_body(pattern="(a|b)*")
    )

    assert response.status_code == 400
    assert response.json()["error_code"] == "invalid_request"
    assert LegacyDefinition.objects.get().pattern == SEED_PATTERN


def test_put_does_not_change_coupons_already_made(newstore):
    created = create_definition(newstore, max_redemptions=2)
    coupon = create_coupon(newstore, "cybermon678")

    newstore.put(_definition_url(created["id"]), definition_body(max_redemptions=9))

    made = Coupon.objects.get(legacy_uuid=coupon["id"])
    assert made.redeem_limit_store_amount == 2
    second = create_coupon(newstore, "cybermon678")
    assert Coupon.objects.get(legacy_uuid=second["id"]).redeem_limit_store_amount == 9


# --- delete -------------------------------------------------------------------------


def test_delete_a_definition_without_used_coupons_disables_them(newstore, api_key):
    created = create_definition(newstore)
    coupons = [create_coupon(newstore, "cybermon678") for _ in range(2)]

    response = newstore.delete(_definition_url(created["id"]))

    assert response.status_code == 204
    assert response.content == b""
    assert not LegacyDefinition.objects.exists()
    for made in Coupon.objects.filter(legacy_uuid__in=[c["id"] for c in coupons]):
        assert made.enabled is False
        assert made.legacy_definition_id is None
        assert made.legacy_label == ""
        assert (made.updated_by_type, made.updated_by_id) == ("api_key", api_key.id)
    assert newstore.get(_definition_url(created["id"])).json() == NOT_FOUND
    # The label is free again.
    assert newstore.post(DEFINITIONS, definition_body()).status_code == 201


def test_delete_a_definition_whose_coupon_was_redeemed_is_a_409(newstore):
    created = create_definition(newstore)
    used = create_coupon(newstore, "cybermon678")
    unused = create_coupon(newstore, "cybermon678")
    RedemptionFactory(coupon=Coupon.objects.get(legacy_uuid=used["id"]))

    response = newstore.delete(_definition_url(created["id"]))

    assert response.status_code == 409
    assert response.json() == error(
        "coupon_definition_in_use",
        "The coupon definition 'cybermon678' cannot be deleted: a coupon created "
        "from it has been redeemed.",
    )
    assert LegacyDefinition.objects.filter(uuid=created["id"]).exists()
    assert Coupon.objects.get(legacy_uuid=unused["id"]).enabled is True
    assert Coupon.objects.get(legacy_uuid=used["id"]).enabled is True


def test_a_rolled_back_redemption_still_blocks_the_delete(newstore):
    created = create_definition(newstore)
    used = create_coupon(newstore, "cybermon678")
    RedemptionFactory(
        coupon=Coupon.objects.get(legacy_uuid=used["id"]), rolled_back_at=timezone.now()
    )

    response = newstore.delete(_definition_url(created["id"]))

    assert response.status_code == 409
    assert response.json()["error_code"] == "coupon_definition_in_use"


def test_delete_a_definition_without_coupons(newstore):
    created = create_definition(newstore)

    assert newstore.delete(_definition_url(created["id"])).status_code == 204
    assert not LegacyDefinition.objects.exists()


def test_templates_cannot_be_deleted_through_the_definitions_path(newstore):
    template = create_template(newstore)

    response = newstore.delete(_definition_url(template["id"]))

    assert response.status_code == 404
    assert LegacyDefinition.objects.count() == 1


# --- templates ----------------------------------------------------------------------


def test_create_template_answers_201_and_get_answers_the_template(newstore, store):
    response = newstore.post(
        TEMPLATES,
        template_body(
            validation_rules=[minimum_total(25.5), valid_to("2030-01-01T00:00:00Z")],
            amount={"amount": 12.5, "currency": "USD"},
        ),
    )

    assert response.status_code == 201
    template = LegacyDefinition.objects.get()
    assert response.json() == {"id": str(template.uuid), "label": "loyalty"}
    assert template.kind == Kind.TEMPLATE
    assert (template.amount, template.amount_currency) == (Decimal("12.5"), "USD")
    assert template.discount_rule_id == ""
    assert template.max_redemptions is None
    body = newstore.get(_template_url(template.uuid)).json()
    assert body == {
        "id": str(template.uuid),
        "label": "loyalty",
        "pattern": "COUPON_[a-zA-Z0-9]{5}",
        "validation_rules": [
            {
                "label": "minimal_order_total_before_discount",
                "values": {"amount": 25.5, "currency": "USD"},
            },
            {"label": "valid_to", "values": {"valid_to": "2030-01-01T00:00:00.000Z"}},
        ],
        "amount": {"amount": 12.5, "currency": "USD"},
    }


def test_a_template_without_amount_omits_it(newstore):
    created = create_template(newstore, amount=None)

    body = newstore.get(_template_url(created["id"])).json()

    assert body == {
        "id": created["id"],
        "label": "loyalty",
        "pattern": "COUPON_[a-zA-Z0-9]{5}",
        "validation_rules": [],
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"label": "t"}, "pattern: This field is required."),
        (template_body(label=""), "label: This field may not be blank."),
        (
            template_body(amount={"amount": 5, "currency": "EUR"}),
            "amount.currency: The currency must be the store's currency, USD.",
        ),
        (
            template_body(amount={"amount": 0, "currency": "USD"}),
            "amount.amount: Must be greater than 0.",
        ),
        (
            template_body(amount={"amount": 1.005, "currency": "USD"}),
            "amount.amount: USD amounts have at most 2 decimal places.",
        ),
        (
            template_body(amount={"amount": "5", "currency": "USD"}),
            "amount.amount: Must be a number.",
        ),
        (
            template_body(amount={"amount": 1e300, "currency": "USD"}),
            "amount.amount: Must not exceed 1000000000000.",
        ),
        (
            template_body(validation_rules=[minimum_total(10**13 + 0.5)]),
            "validation_rules.0.values.amount: Must not exceed 1000000000000.",
        ),
        (
            template_body(amount={"amount": 5, "currency": "usd"}),
            "amount.currency: Must be a three-letter ISO 4217 code such as USD.",
        ),
        (
            template_body(amount={"amount": 5, "currency": "USD", "x": 1}),
            "amount: Unexpected key(s): x.",
        ),
        (template_body(amount=5), "amount: Must be a monetary amount object"),
        (
            template_body(validation_rules=[minimum_total(-1)]),
            "validation_rules.0.values.amount: Must not be negative.",
        ),
        (
            template_body(validation_rules=[minimum_total(10, "EUR")]),
            "validation_rules.0.values.currency: The currency must be the store's "
            "currency, USD.",
        ),
        (
            template_body(validation_rules=[{"label": "max_uses", "values": {}}]),
            "validation_rules.0.label: Must be one of: valid_from, valid_to, "
            "restricted_to_consumer_id, minimal_order_total_before_discount.",
        ),
        (
            template_body(pattern="COUPON_\\w{3,}"),
            "pattern: Invalid or unsupported pattern: the unbounded quantifier",
        ),
    ],
)
def test_create_template_refuses_an_invalid_body_with_400(newstore, body, message):
    response = newstore.post(TEMPLATES, body)

    assert response.status_code == 400
    assert response.json()["error_code"] == "invalid_request"
    assert response.json()["message"].startswith(f"Invalid request: {message}")
    assert not LegacyDefinition.objects.exists()


def test_get_template_unknown_malformed_or_a_definition_is_a_404(newstore):
    definition = create_definition(newstore)

    for template_id in (uuid.uuid4(), "nope", definition["id"]):
        response = newstore.get(_template_url(template_id))
        assert response.status_code == 404
        assert response.json() == TEMPLATE_NOT_FOUND


# --- auth and methods ---------------------------------------------------------------


def test_no_or_a_wrong_credential_is_a_401_in_newstore_form(client, api_key):
    missing = client.post(DEFINITIONS, definition_body(), format="json")
    client.credentials(HTTP_AUTHORIZATION=f"APIKey {api_key.token}")
    wrong_form = client.post(DEFINITIONS, definition_body(), format="json")
    client.credentials(HTTP_AUTHORIZATION="Bearer nope.nope")
    unknown = client.get(_definition_url(uuid.uuid4()))

    assert missing.status_code == 401
    assert missing.json() == error(
        "unauthorized", "Authentication credentials were not provided."
    )
    assert missing["WWW-Authenticate"] == 'Bearer realm="api"'
    assert wrong_form.status_code == 401
    assert wrong_form.json() == error(
        "unauthorized", "Use 'Authorization: Bearer <token>'."
    )
    assert unknown.status_code == 401
    assert unknown.json() == error("unauthorized", "Invalid API key.")
    assert not LegacyDefinition.objects.exists()


def test_a_key_without_the_legacy_scope_is_a_403(store):
    api = bearer(ApiKeyFactory(store=store, scopes=[COUPONS_READ, COUPONS_WRITE]))

    response = api.post(DEFINITIONS, definition_body())

    assert response.status_code == 403
    assert response.json() == error(
        "forbidden", "This API key lacks the 'legacy' scope."
    )


def test_an_inactive_store_is_a_403():
    api = bearer_for(StoreFactory(is_active=False))

    response = api.post(DEFINITIONS, definition_body())

    assert response.status_code == 403
    assert response.json() == error("forbidden", "store is not active")


def test_methods_outside_the_seed_are_405(newstore):
    created = create_definition(newstore)

    assert newstore.get(DEFINITIONS).status_code == 405
    assert newstore.patch(_definition_url(created["id"]), {}).status_code == 405
    response = newstore.put(_template_url(created["id"]), template_body())
    assert response.status_code == 405
    assert response.json() == error("method_not_allowed", 'Method "PUT" not allowed.')


def test_rule_times_are_kept_in_utc_to_the_millisecond(newstore):
    created = create_definition(
        newstore,
        validation_rules=[
            valid_from("2030-01-01T02:00:00.123456+02:00"),
            valid_to("2030-06-01T00:00:00"),
        ],
    )

    body = newstore.get(_definition_url(created["id"])).json()

    assert body["validation_rules"] == [
        valid_from("2030-01-01T00:00:00.123Z"),
        valid_to("2030-06-01T00:00:00.000Z"),
    ]
