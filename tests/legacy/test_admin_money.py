"""The legacy admin's definition and template form checks the amount and the rules
with the NewStore API's own fields: what the API refuses, the admin does not save
(the same messages); a template stored before with such an amount makes no coupon
(a NewStore 409 naming it, never a 500)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from legacy.models import LegacyDefinition
from tests.factories import LegacyTemplateFactory, StoreFactory
from tests.legacy.factories import bearer_for, minimum_total, template_body
from tests.legacy.test_admin import legacy_form_data

pytestmark = pytest.mark.django_db

TEMPLATE_ADD = "admin:legacy_coupontemplate_add"


@pytest.fixture
def yen():
    return StoreFactory(currency="JPY")


def post_template(admin_client, store, **overrides):
    return admin_client.post(
        reverse(TEMPLATE_ADD),
        legacy_form_data(store=str(store.pk), label="yentpl", **overrides),
    )


def post_with_rules(admin_client, store, rules):
    """A ¥500 template with these validation rules."""
    return post_template(
        admin_client,
        store,
        validation_rules=json.dumps(rules),
        amount="500",
        amount_currency="JPY",
    )


def form_errors(response) -> dict[str, list[str]]:
    assert response.status_code == 200
    return dict(response.context["adminform"].form.errors)


def api_refusal(store, **overrides) -> dict:
    response = bearer_for(store).post(
        "/v0/d/coupon_templates", template_body(label="apitpl", **overrides)
    )
    assert response.status_code == 400
    return response.json()


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("500.5", "JPY amounts have at most 0 decimal places."),
        ("-5", "Must be greater than 0."),
        ("0", "Must be greater than 0."),
    ],
)
def test_a_template_amount_the_api_refuses_is_a_form_error(
    admin_client, yen, amount, message
):
    response = post_template(admin_client, yen, amount=amount, amount_currency="JPY")

    assert form_errors(response) == {"amount": [message]}
    assert not LegacyDefinition.objects.filter(store=yen).exists()
    body = api_refusal(yen, amount={"amount": json.loads(amount), "currency": "JPY"})
    assert body["message"] == f"Invalid request: amount.amount: {message}"


def test_an_unknown_amount_currency_is_a_form_error(admin_client, yen):
    response = post_template(admin_client, yen, amount="500", amount_currency="XYZ")

    assert form_errors(response) == {
        "amount_currency": ["Must be a three-letter ISO 4217 code such as USD."]
    }


@pytest.mark.parametrize(
    ("minimum", "message"),
    [
        (0.5, "JPY amounts have at most 0 decimal places."),
        (-1, "Must not be negative."),
    ],
)
def test_a_minimum_order_the_api_refuses_is_a_form_error(
    admin_client, yen, minimum, message
):
    rules = [minimum_total(minimum, "JPY")]

    response = post_with_rules(admin_client, yen, rules)

    assert form_errors(response) == {
        "validation_rules": [f"0.values.amount: {message}"]
    }
    assert not LegacyDefinition.objects.filter(store=yen).exists()
    body = api_refusal(yen, validation_rules=rules, amount=None)
    assert body["message"] == (
        f"Invalid request: validation_rules.0.values.amount: {message}"
    )


def test_a_valid_yen_template_is_saved(admin_client, yen):
    rules = [minimum_total(1000, "JPY")]

    response = post_with_rules(admin_client, yen, rules)

    assert response.status_code == 302
    saved = LegacyDefinition.objects.get(store=yen, label="yentpl")
    assert (saved.amount, saved.amount_currency) == (500, "JPY")
    assert saved.validation_rules == rules


def test_a_change_to_a_bad_amount_is_refused_and_the_row_kept(admin_client, yen):
    template = LegacyTemplateFactory(
        store=yen,
        label="yentpl",
        pattern="T[0-9]{5}",
        amount=500,
        amount_currency="JPY",
    )

    response = admin_client.post(
        reverse("admin:legacy_coupontemplate_change", args=[template.pk]),
        legacy_form_data(
            label="yentpl", pattern="T[0-9]{5}", amount="500.5", amount_currency="JPY"
        ),
    )

    assert form_errors(response) == {
        "amount": ["JPY amounts have at most 0 decimal places."]
    }
    template.refresh_from_db()
    assert template.amount == 500


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"amount": "500.5", "amount_currency": "JPY"},
            "The amount 500.5 JPY of the coupon template 'bad' cannot be used "
            "(JPY amounts have at most 0 decimal places); update it.",
        ),
        (
            {"amount": "-5", "amount_currency": "JPY"},
            "The amount -5 JPY of the coupon template 'bad' cannot be used "
            "(it is not above 0); update it.",
        ),
        (
            {
                "amount": "500",
                "amount_currency": "JPY",
                "validation_rules": [minimum_total(0.5, "JPY")],
            },
            "The minimal_order_total_before_discount 0.5 JPY of the coupon template "
            "'bad' cannot be used (JPY amounts have at most 0 decimal places); "
            "update it.",
        ),
    ],
)
def test_a_coupon_from_a_template_stored_with_a_bad_amount_is_a_409(
    yen, fields, message
):
    # Stored before the admin applied the API's rules.
    LegacyTemplateFactory(store=yen, label="bad", pattern="T[0-9]{5}", **fields)

    response = bearer_for(yen).post("/v0/d/coupons", {"template_label": "bad"})

    assert response.status_code == 409
    assert response.json() == {
        "error_code": "validation_rule_conflict",
        "message": message,
    }


@pytest.mark.parametrize("model", ["coupondefinition", "coupontemplate"])
def test_max_redemptions_above_the_apis_cap_is_a_form_error(admin_client, model):
    store = StoreFactory()

    response = admin_client.post(
        reverse(f"admin:legacy_{model}_add"),
        legacy_form_data(store=str(store.pk), max_redemptions=str(2**53)),
    )

    assert form_errors(response) == {
        "max_redemptions": [
            "Ensure this value is less than or equal to 9007199254740991."
        ]
    }
    assert not LegacyDefinition.objects.filter(store=store).exists()


def test_max_redemptions_at_the_cap_is_saved(admin_client):
    store = StoreFactory()

    response = admin_client.post(
        reverse("admin:legacy_coupondefinition_add"),
        legacy_form_data(store=str(store.pk), max_redemptions=str(2**53 - 1)),
    )

    assert response.status_code == 302
    assert LegacyDefinition.objects.get(store=store).max_redemptions == 2**53 - 1
