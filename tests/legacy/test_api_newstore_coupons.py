"""NewStore v0 coupons: ``POST,GET /v0/d/coupons``, ``PUT,PATCH /v0/d/coupons/{id}``;
codes generated from patterns, rule combination, and redemption through the native
endpoint."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest

from coupons.models import Coupon, DiscountType, Origin
from legacy.models import LegacyDefinition
from tests.factories import CouponFactory, CustomerFactory
from tests.legacy.factories import (
    SEED_PATTERN,
    bearer_for,
    consumer,
    create_coupon,
    create_definition,
    create_template,
    error,
    minimum_total,
    valid_from,
    valid_to,
)

pytestmark = pytest.mark.django_db

COUPONS = "/v0/d/coupons"
COUPON_KEYS = ["label", "code", "id", "is_enabled"]
NOT_FOUND = error("not_found", "Coupon not found.")


def _coupon_url(coupon_id) -> str:
    return f"{COUPONS}/{coupon_id}"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _made(body: dict) -> Coupon:
    return Coupon.objects.get(legacy_uuid=body["id"])


def _redeem(paynow_api, store, code: str, **order):
    return paynow_api.post(
        f"/v1/stores/{store.id}/redemptions", {"code": code, **order}
    )


# --- create -------------------------------------------------------------------------


def test_create_coupon_answers_201_with_a_code_from_the_pattern(
    newstore, store, api_key
):
    create_definition(newstore, max_redemptions=3)

    response = newstore.post(
        COUPONS, {"label": "loyaltyfeb", "template_label": "cybermon678"}
    )

    assert response.status_code == 201
    body = response.json()
    assert list(body) == COUPON_KEYS
    coupon = _made(body)
    assert body == {
        "label": "loyaltyfeb",
        "code": coupon.code,
        "id": str(coupon.legacy_uuid),
        "is_enabled": True,
    }
    assert re.fullmatch(SEED_PATTERN, body["code"])
    assert uuid.UUID(body["id"]).version == 4
    assert coupon.store == store
    assert coupon.origin == Origin.GENERATED
    assert coupon.legacy_definition == LegacyDefinition.objects.get()
    assert coupon.legacy_label == "loyaltyfeb"
    assert coupon.enabled is True
    assert (coupon.redeem_limit_store_enabled, coupon.redeem_limit_store_amount) == (
        True,
        3,
    )
    assert coupon.usable_at == _at("2017-10-23T06:00:00.000Z")
    assert coupon.expires_at is None
    assert coupon.usable_by_customer_id is None
    assert coupon.minimum_order_value == 0
    assert (coupon.discount_type, coupon.discount_amount) == (
        DiscountType.UNSPECIFIED,
        0,
    )
    assert (coupon.created_by_type, coupon.created_by_id) == ("api_key", api_key.id)


def test_a_coupon_without_label_answers_label_null(newstore):
    create_definition(newstore)

    body = create_coupon(newstore, "cybermon678")

    assert body["label"] is None
    assert _made(body).legacy_label == ""


def test_a_definition_without_max_redemptions_makes_unlimited_coupons(newstore):
    create_definition(newstore, max_redemptions=None)

    coupon = _made(create_coupon(newstore, "cybermon678"))

    assert coupon.redeem_limit_store_enabled is False


def test_legacy_coupons_are_generated_coupons_in_the_paynow_list(
    newstore, paynow_api, store
):
    create_definition(newstore)
    made = create_coupon(newstore, "cybermon678")
    CouponFactory(store=store, code="MANUAL-1")

    response = paynow_api.get(f"/v1/stores/{store.id}/coupons", {"type": "generated"})

    assert response.status_code == 200
    assert [item["code"] for item in response.json()] == [made["code"]]


def test_many_coupons_from_one_definition_have_distinct_matching_codes(newstore):
    create_definition(newstore)

    codes = [create_coupon(newstore, "cybermon678")["code"] for _ in range(30)]

    assert len({code.upper() for code in codes}) == 30
    assert all(re.fullmatch(SEED_PATTERN, code) for code in codes)


@pytest.mark.parametrize(
    ("pattern", "size"),
    [("X[0-9]", 10), ("(GOLD|SILVER)-[0-9]", 20), ("[ab]-(1|2)(x|y)?", 12)],
)
def test_a_pattern_gives_every_code_of_its_space_then_a_409(newstore, pattern, size):
    create_definition(newstore, label="small", pattern=pattern)

    codes = [create_coupon(newstore, "small")["code"] for _ in range(size)]
    response = newstore.post(COUPONS, {"template_label": "small"})

    assert len({code.upper() for code in codes}) == size
    assert all(re.fullmatch(pattern, code) for code in codes)
    assert response.status_code == 409
    assert response.json() == error(
        "code_space_exhausted",
        f"All {size} codes of the pattern {pattern!r} of the coupon definition "
        "'small' are in use in this store; give it a pattern with more codes.",
    )
    assert Coupon.objects.count() == size


def test_codes_taken_by_other_coupons_in_any_case_count_against_the_space(
    newstore, store
):
    CouponFactory(store=store, code="x3")
    CouponFactory(store=store, code="X7")
    CouponFactory(store=store, code="X8", archived_at=datetime.now(tz=UTC))
    create_definition(newstore, label="small", pattern="X[0-9]")

    codes = {create_coupon(newstore, "small")["code"] for _ in range(8)}
    response = newstore.post(COUPONS, {"template_label": "small"})

    # An archived coupon frees its code (as the unique index does).
    assert codes == {"X0", "X1", "X2", "X4", "X5", "X6", "X8", "X9"}
    assert response.status_code == 409
    assert response.json()["error_code"] == "code_space_exhausted"


def test_two_definitions_with_overlapping_patterns_never_share_a_code(newstore):
    create_definition(newstore, label="digits", pattern="[ab][0-4]")
    create_template(newstore, label="letters", pattern="[AB][0-4]", amount=None)

    codes = [create_coupon(newstore, "digits")["code"] for _ in range(6)]
    codes += [
        create_coupon(newstore, "letters", discount_rule_id="r")["code"]
        for _ in range(4)
    ]
    response = newstore.post(COUPONS, {"template_label": "digits"})

    assert len({code.upper() for code in codes}) == 10
    assert response.status_code == 409


def test_the_codes_keep_the_patterns_letter_case(newstore):
    create_definition(newstore, label="lower", pattern="promo-[a-z]{4}")

    code = create_coupon(newstore, "lower")["code"]

    assert re.fullmatch("promo-[a-z]{4}", code)


def test_an_unknown_template_label_is_a_404(newstore):
    create_definition(newstore)

    response = newstore.post(COUPONS, {"template_label": "Cybermon678"})

    assert response.status_code == 404
    assert response.json() == error(
        "not_found", "No coupon definition or template has the label 'Cybermon678'."
    )
    assert not Coupon.objects.exists()


def test_another_stores_label_is_not_found(newstore, other_store):
    create_definition(bearer_for(other_store), label="theirs")

    response = newstore.post(COUPONS, {"template_label": "theirs"})

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "template_label: This field is required."),
        ({"template_label": ""}, "template_label: This field may not be blank."),
        ({"template_label": 5}, "template_label: Must be a string."),
        (
            {"template_label": "cybermon678", "label": 5},
            "label: Must be a string.",
        ),
        (
            {"template_label": "cybermon678", "discount_rule_id": ""},
            "discount_rule_id: This field may not be blank.",
        ),
        (
            {"template_label": "cybermon678", "validation_rules": [valid_to("soon")]},
            "validation_rules.0.values.valid_to: Must be an ISO 8601 date-time",
        ),
        (
            {"template_label": "cybermon678", "validation_rules": [consumer("ghost")]},
            "validation_rules.0.values.consumer_id: No customer of this store has "
            "the id or external_id 'ghost'.",
        ),
        (
            {
                "template_label": "cybermon678",
                "validation_rules": [minimum_total(10, "EUR")],
            },
            "validation_rules.0.values.currency: The currency must be the store's "
            "currency, USD.",
        ),
        (
            {
                "template_label": "cybermon678",
                "amount": {"amount": 5, "currency": "GBP"},
            },
            "amount.currency: The currency must be the store's currency, USD.",
        ),
    ],
)
def test_create_coupon_refuses_an_invalid_body_with_400(newstore, body, message):
    create_definition(newstore)

    response = newstore.post(COUPONS, body)

    assert response.status_code == 400
    assert response.json()["error_code"] == "invalid_request"
    assert response.json()["message"].startswith(f"Invalid request: {message}")
    assert not Coupon.objects.exists()


# --- rule combination ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition_rules", "coupon_rules", "usable_at", "expires_at"),
    [
        # each from one side only
        ([valid_from("2030-01-01T00:00:00Z")], [], "2030-01-01T00:00:00Z", None),
        ([], [valid_from("2030-01-01T00:00:00Z")], "2030-01-01T00:00:00Z", None),
        ([valid_to("2031-01-01T00:00:00Z")], [], None, "2031-01-01T00:00:00Z"),
        ([], [valid_to("2031-01-01T00:00:00Z")], None, "2031-01-01T00:00:00Z"),
        # the coupon narrows: it overrides
        (
            [valid_from("2030-01-01T00:00:00Z")],
            [valid_from("2030-06-01T00:00:00Z")],
            "2030-06-01T00:00:00Z",
            None,
        ),
        (
            [valid_to("2031-01-01T00:00:00Z")],
            [valid_to("2030-12-01T00:00:00Z")],
            None,
            "2030-12-01T00:00:00Z",
        ),
        (
            [valid_from("2030-01-01T00:00:00Z"), valid_to("2031-01-01T00:00:00Z")],
            [valid_from("2030-01-01T00:00:00Z"), valid_to("2031-01-01T00:00:00Z")],
            "2030-01-01T00:00:00Z",
            "2031-01-01T00:00:00Z",
        ),
        (
            [valid_from("2030-01-01T00:00:00Z")],
            [valid_to("2030-02-01T00:00:00Z")],
            "2030-01-01T00:00:00Z",
            "2030-02-01T00:00:00Z",
        ),
    ],
)
def test_validity_rules_combine_into_the_coupons_window(
    newstore, definition_rules, coupon_rules, usable_at, expires_at
):
    create_definition(newstore, validation_rules=definition_rules)

    body = create_coupon(newstore, "cybermon678", validation_rules=coupon_rules)

    coupon = _made(body)
    assert coupon.usable_at == (_at(usable_at) if usable_at else None)
    assert coupon.expires_at == (_at(expires_at) if expires_at else None)


@pytest.mark.parametrize(
    ("definition_rules", "coupon_rules", "message"),
    [
        (
            [valid_from("2030-01-01T00:00:00Z")],
            [valid_from("2029-12-31T00:00:00Z")],
            "valid_from 2029-12-31T00:00:00.000Z is before the coupon definition's "
            "valid_from 2030-01-01T00:00:00.000Z: a coupon can only narrow its "
            "coupon definition's rules.",
        ),
        (
            [valid_to("2031-01-01T00:00:00Z")],
            [valid_to("2031-01-01T00:00:00.001Z")],
            "valid_to 2031-01-01T00:00:00.001Z is after the coupon definition's "
            "valid_to 2031-01-01T00:00:00.000Z: a coupon can only narrow its "
            "coupon definition's rules.",
        ),
        (
            [valid_from("2030-01-01T00:00:00Z")],
            [valid_to("2029-01-01T00:00:00Z")],
            "The combined validity window is empty: valid_from "
            "2030-01-01T00:00:00.000Z is after valid_to 2029-01-01T00:00:00.000Z.",
        ),
    ],
)
def test_a_coupon_rule_that_widens_its_definition_is_a_409(
    newstore, definition_rules, coupon_rules, message
):
    create_definition(newstore, validation_rules=definition_rules)

    response = newstore.post(
        COUPONS, {"template_label": "cybermon678", "validation_rules": coupon_rules}
    )

    assert response.status_code == 409
    assert response.json() == error("validation_rule_conflict", message)
    assert not Coupon.objects.exists()


def test_consumer_restriction_from_the_definition_or_the_coupon(newstore, store):
    alice = CustomerFactory(store=store, external_id="alice")
    bob = CustomerFactory(store=store, external_id="bob")
    create_definition(
        newstore, label="alice-only", validation_rules=[consumer("alice")]
    )
    create_definition(newstore, label="open", validation_rules=[])

    inherited = _made(create_coupon(newstore, "alice-only"))
    same = _made(
        create_coupon(newstore, "alice-only", validation_rules=[consumer("alice")])
    )
    same_by_id = _made(
        create_coupon(
            newstore, "alice-only", validation_rules=[consumer(str(alice.id))]
        )
    )
    added = _made(create_coupon(newstore, "open", validation_rules=[consumer("bob")]))
    conflict = newstore.post(
        COUPONS, {"template_label": "alice-only", "validation_rules": [consumer("bob")]}
    )

    assert inherited.usable_by_customer == alice
    assert same.usable_by_customer == alice
    assert same_by_id.usable_by_customer == alice
    assert added.usable_by_customer == bob
    assert conflict.status_code == 409
    assert conflict.json() == error(
        "validation_rule_conflict",
        "The coupon is restricted to consumer 'bob' but its coupon definition to "
        "consumer 'alice'.",
    )


def test_a_definition_whose_consumer_is_gone_cannot_make_coupons(newstore, store):
    carol = CustomerFactory(store=store, external_id="carol")
    create_definition(newstore, validation_rules=[consumer("carol")])
    carol.delete()

    response = newstore.post(COUPONS, {"template_label": "cybermon678"})

    assert response.status_code == 409
    assert response.json() == error(
        "validation_rule_conflict",
        "The coupon definition's restricted_to_consumer_id 'carol' names no "
        "customer of this store any more.",
    )


@pytest.mark.parametrize(
    ("template_rules", "coupon_rules", "minimum"),
    [
        ([], [], 0),
        ([minimum_total(10)], [], 1000),
        ([], [minimum_total(12.34)], 1234),
        ([minimum_total(10)], [minimum_total(10)], 1000),
        ([minimum_total(10)], [minimum_total(25.5)], 2550),
    ],
)
def test_minimal_order_total_combines_into_the_minimum_order_value(
    newstore, template_rules, coupon_rules, minimum
):
    create_template(newstore, validation_rules=template_rules)

    coupon = _made(create_coupon(newstore, "loyalty", validation_rules=coupon_rules))

    assert coupon.minimum_order_value == minimum


def test_a_lower_minimal_order_total_than_the_templates_is_a_409(newstore):
    create_template(newstore, validation_rules=[minimum_total(10)])

    response = newstore.post(
        COUPONS,
        {"template_label": "loyalty", "validation_rules": [minimum_total(9.99)]},
    )

    assert response.status_code == 409
    assert response.json() == error(
        "validation_rule_conflict",
        "minimal_order_total_before_discount 9.99 USD is below the coupon "
        "template's 10 USD: a coupon can only raise it.",
    )


def test_a_templates_amount_is_the_coupons_discount(newstore):
    create_template(newstore, amount={"amount": 7.5, "currency": "USD"})

    plain = _made(create_coupon(newstore, "loyalty"))
    same = _made(
        create_coupon(newstore, "loyalty", amount={"amount": 7.50, "currency": "USD"})
    )
    other = newstore.post(
        COUPONS,
        {"template_label": "loyalty", "amount": {"amount": 8, "currency": "USD"}},
    )

    assert (plain.discount_type, plain.discount_amount) == (DiscountType.AMOUNT, 750)
    assert same.discount_amount == 750
    assert other.status_code == 409
    assert other.json() == error(
        "validation_rule_conflict",
        "The amount 8 USD cannot override the coupon template's amount 7.5 USD.",
    )


def test_without_a_template_amount_the_coupons_amount_or_a_discount_rule_is_needed(
    newstore,
):
    create_template(newstore, amount=None)

    own = _made(
        create_coupon(newstore, "loyalty", amount={"amount": 3, "currency": "USD"})
    )
    by_rule = _made(create_coupon(newstore, "loyalty", discount_rule_id="rule-9"))
    neither = newstore.post(COUPONS, {"template_label": "loyalty"})

    assert (own.discount_type, own.discount_amount) == (DiscountType.AMOUNT, 300)
    assert by_rule.discount_type == DiscountType.UNSPECIFIED
    assert neither.status_code == 400
    assert neither.json() == error(
        "invalid_request",
        "Invalid request: amount: Required: the coupon template has neither an "
        "amount nor a discount_rule_id, and the request gives neither.",
    )


def test_a_definitions_coupon_may_carry_an_amount(newstore):
    create_definition(newstore)

    coupon = _made(
        create_coupon(newstore, "cybermon678", amount={"amount": 2, "currency": "USD"})
    )

    assert (coupon.discount_type, coupon.discount_amount) == (DiscountType.AMOUNT, 200)


# --- find ---------------------------------------------------------------------------


def test_find_coupons_by_code_in_any_case(newstore, store, django_assert_num_queries):
    create_definition(newstore)
    first = create_coupon(newstore, "cybermon678", label="a")
    second = create_coupon(newstore, "cybermon678")
    create_coupon(newstore, "cybermon678")
    CouponFactory(store=store, code="MANUAL-1")

    # The key (with its store), then the coupons: however many codes match.
    with django_assert_num_queries(2):
        response = newstore.get(
            COUPONS,
            {"filter[code]": [first["code"].lower(), second["code"], "MANUAL-1", "zz"]},
        )

    assert response.status_code == 200
    assert response.json() == {"items": [second, first]}


def test_find_answers_an_empty_list_when_nothing_matches(newstore):
    response = newstore.get(COUPONS, {"filter[code]": "nothing"})

    assert response.status_code == 200
    assert response.json() == {"items": []}


def test_find_shows_another_stores_coupons_to_nobody(newstore, other_store):
    theirs = bearer_for(other_store)
    create_definition(theirs)
    code = create_coupon(theirs, "cybermon678")["code"]

    assert newstore.get(COUPONS, {"filter[code]": code}).json() == {"items": []}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({}, "filter[code]: Required: give one or more codes, e.g. ?filter[code]=A."),
        ({"filter[code]": ""}, "filter[code]: A code cannot be empty."),
        ({"filter[code]": "A\x00"}, "filter[code]: Null characters are not allowed."),
        (
            {"filter[code]": [f"C{n}" for n in range(101)]},
            "filter[code]: At most 100 codes.",
        ),
        (
            {"filter[code]": "A", "filter[label]": "x"},
            "$: Unknown query parameter(s): filter[label].",
        ),
    ],
)
def test_find_refuses_bad_parameters_with_400(newstore, query, message):
    response = newstore.get(COUPONS, query)

    assert response.status_code == 400
    assert response.json() == error("invalid_request", f"Invalid request: {message}")


# --- update -------------------------------------------------------------------------


def test_put_answers_null_and_disables_the_coupon(newstore, api_key):
    create_definition(newstore)
    made = create_coupon(newstore, "cybermon678")

    response = newstore.put(_coupon_url(made["id"]), {"is_enabled": False})

    assert response.status_code == 200
    assert response.content == b"null"
    assert response["Content-Type"] == "application/json"
    coupon = _made(made)
    assert coupon.enabled is False
    assert (coupon.updated_by_type, coupon.updated_by_id) == ("api_key", api_key.id)


def test_patch_answers_the_coupon(newstore):
    create_definition(newstore)
    made = create_coupon(newstore, "cybermon678", label="loyalty_feb")

    disabled = newstore.patch(_coupon_url(made["id"]), {"is_enabled": False})
    enabled = newstore.patch(_coupon_url(made["id"]), {"is_enabled": True})
    unchanged = newstore.patch(_coupon_url(made["id"]), {})

    assert disabled.status_code == 200
    assert disabled.json() == {**made, "is_enabled": False}
    assert enabled.json() == {**made, "is_enabled": True}
    assert unchanged.json() == {**made, "is_enabled": True}
    assert list(disabled.json()) == COUPON_KEYS


def test_update_replaces_the_coupons_own_rules_and_combines_them_again(newstore):
    create_definition(
        newstore,
        validation_rules=[
            valid_from("2030-01-01T00:00:00Z"),
            valid_to("2031-01-01T00:00:00Z"),
        ],
    )
    made = create_coupon(
        newstore, "cybermon678", validation_rules=[valid_to("2030-06-01T00:00:00Z")]
    )

    narrowed = newstore.patch(
        _coupon_url(made["id"]),
        {"validation_rules": [valid_from("2030-02-01T00:00:00Z")]},
    )
    coupon = _made(made)
    assert narrowed.status_code == 200
    assert coupon.usable_at == _at("2030-02-01T00:00:00Z")
    assert coupon.expires_at == _at("2031-01-01T00:00:00Z")

    cleared = newstore.put(_coupon_url(made["id"]), {"validation_rules": []})
    coupon.refresh_from_db()
    assert cleared.content == b"null"
    assert coupon.usable_at == _at("2030-01-01T00:00:00Z")
    assert coupon.expires_at == _at("2031-01-01T00:00:00Z")

    widened = newstore.patch(
        _coupon_url(made["id"]),
        {"is_enabled": False, "validation_rules": [valid_to("2032-01-01T00:00:00Z")]},
    )
    coupon.refresh_from_db()
    assert widened.status_code == 409
    assert widened.json()["error_code"] == "validation_rule_conflict"
    assert coupon.enabled is True
    assert coupon.expires_at == _at("2031-01-01T00:00:00Z")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"is_enabled": "false"}, "is_enabled: Must be a boolean (true or false)."),
        ({"is_enabled": None}, "is_enabled: This field may not be null."),
        (
            {"validation_rules": [valid_from("2030-01-01"), valid_from("2030-01-02")]},
            "validation_rules.1: The rule 'valid_from' appears more than once.",
        ),
    ],
)
def test_update_refuses_an_invalid_body_with_400(newstore, body, message):
    create_definition(newstore)
    made = create_coupon(newstore, "cybermon678")

    for response in (
        newstore.put(_coupon_url(made["id"]), body),
        newstore.patch(_coupon_url(made["id"]), body),
    ):
        assert response.status_code == 400
        assert response.json() == error(
            "invalid_request", f"Invalid request: {message}"
        )


@pytest.mark.parametrize("coupon_id", [str(uuid.uuid4()), "COUPON_bf3sK", "1"])
def test_update_an_unknown_or_malformed_id_is_a_404(newstore, coupon_id):
    for response in (
        newstore.put(_coupon_url(coupon_id), {"is_enabled": False}),
        newstore.patch(_coupon_url(coupon_id), {"is_enabled": False}),
    ):
        assert response.status_code == 404
        assert response.json() == NOT_FOUND


def test_a_paynow_coupon_is_not_a_newstore_coupon(newstore, store):
    coupon = CouponFactory(store=store)

    response = newstore.patch(_coupon_url(coupon.id), {"is_enabled": False})

    assert response.status_code == 404


def test_a_coupon_of_a_deleted_definition_can_only_be_disabled(newstore):
    created = create_definition(newstore)
    made = create_coupon(newstore, "cybermon678")
    newstore.delete(f"/v0/d/coupon_definitions/{created['id']}")

    enable = newstore.patch(_coupon_url(made["id"]), {"is_enabled": True})
    rules = newstore.patch(_coupon_url(made["id"]), {"validation_rules": []})
    disable = newstore.patch(_coupon_url(made["id"]), {"is_enabled": False})

    assert enable.status_code == 409
    assert enable.json() == error(
        "coupon_definition_deleted",
        "The coupon definition of this coupon was deleted; the coupon can only be "
        "disabled.",
    )
    assert rules.status_code == 409
    assert disable.status_code == 200
    assert disable.json()["is_enabled"] is False
    assert _made(made).enabled is False


def test_the_item_path_has_no_get_or_delete(newstore):
    create_definition(newstore)
    made = create_coupon(newstore, "cybermon678")

    assert newstore.get(_coupon_url(made["id"])).status_code == 405
    assert newstore.delete(_coupon_url(made["id"])).status_code == 405


# --- redemption through the native endpoint -----------------------------------------


def test_a_legacy_coupon_is_redeemed_at_most_max_redemptions_times(
    newstore, paynow_api, store
):
    create_definition(newstore, max_redemptions=2)
    code = create_coupon(newstore, "cybermon678")["code"]

    first = _redeem(paynow_api, store, code, order_value=1000)
    second = _redeem(paynow_api, store, code.lower(), order_value=1000)
    third = _redeem(paynow_api, store, code, order_value=1000)

    assert (first.status_code, second.status_code) == (200, 200)
    assert third.status_code == 409
    assert third.json()["message"] == (
        "The coupon cannot be redeemed: The coupon's redemption limit is reached."
    )
    assert [e["code"] for e in third.json()["errors"]] == ["store_limit_reached"]
    coupon = Coupon.objects.get(code=code)
    assert coupon.redeemed_count == 2
    assert coupon.redemptions.count() == 2


def test_rolling_back_frees_a_use_of_max_redemptions(newstore, paynow_api, store):
    create_definition(newstore, max_redemptions=1)
    code = create_coupon(newstore, "cybermon678")["code"]
    redemption = _redeem(paynow_api, store, code).json()

    paynow_api.post(f"/v1/stores/{store.id}/redemptions/{redemption['id']}/rollback")

    assert _redeem(paynow_api, store, code).status_code == 200


def test_a_disabled_legacy_coupon_is_not_redeemable(newstore, paynow_api, store):
    create_definition(newstore)
    made = create_coupon(newstore, "cybermon678")
    newstore.patch(_coupon_url(made["id"]), {"is_enabled": False})

    response = _redeem(paynow_api, store, made["code"])

    assert response.status_code == 409
    assert [e["code"] for e in response.json()["errors"]] == ["disabled"]


def test_legacy_rules_hold_at_redemption(newstore, paynow_api, store):
    alice = CustomerFactory(store=store, external_id="alice")
    bob = CustomerFactory(store=store)
    create_template(
        newstore,
        validation_rules=[consumer("alice"), minimum_total(20)],
        amount={"amount": 5, "currency": "USD"},
    )
    code = create_coupon(newstore, "loyalty")["code"]

    refused = _redeem(
        paynow_api, store, code, customer_id=str(bob.id), order_value=1999
    )
    redeemed = _redeem(
        paynow_api, store, code, customer_id=str(alice.id), order_value=2000
    )

    assert refused.status_code == 409
    assert [e["code"] for e in refused.json()["errors"]] == [
        "below_minimum_order",
        "restricted_to_another_customer",
    ]
    assert redeemed.status_code == 200
    assert redeemed.json()["discount_amount"] == 500


def test_a_window_from_the_rules_holds_at_redemption(newstore, paynow_api, store):
    create_definition(newstore, validation_rules=[valid_from("2999-01-01T00:00:00Z")])
    code = create_coupon(newstore, "cybermon678")["code"]

    response = _redeem(paynow_api, store, code)

    assert response.status_code == 409
    assert [e["code"] for e in response.json()["errors"]] == ["not_started"]
