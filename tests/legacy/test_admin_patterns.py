"""Legacy definitions and templates in the admin: the pattern is checked on save,
and "Preview 5 codes" draws codes from it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from legacy.models import LegacyDefinition
from tests.factories import LegacyDefinitionFactory, LegacyTemplateFactory, StoreFactory

pytestmark = pytest.mark.django_db


def form_data(store, **overrides) -> dict[str, str]:
    data = {
        "store": str(store.pk),
        "label": "spring",
        "pattern": "SPRING-[0-9]{4}",
        "max_redemptions": "",
        "amount": "",
        "amount_currency": "",
        "discount_rule_id": "",
        "channel_types": "[]",
        "validation_rules": "[]",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("model", ["coupondefinition", "coupontemplate"])
def test_a_valid_pattern_is_saved(admin_client, model):
    store = StoreFactory()

    response = admin_client.post(reverse(f"admin:legacy_{model}_add"), form_data(store))

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert LegacyDefinition.objects.get(label="spring").pattern == "SPRING-[0-9]{4}"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("SPRING-[0-9", "Invalid or unsupported pattern: "),
        ("A+", "Invalid or unsupported pattern: "),
    ],
)
def test_a_bad_pattern_is_a_clear_form_error(admin_client, pattern, message):
    store = StoreFactory()

    response = admin_client.post(
        reverse("admin:legacy_coupondefinition_add"),
        form_data(store, pattern=pattern),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["pattern"]
    assert len(errors) == 1
    assert errors[0].startswith(message)
    assert errors[0].endswith(".")
    assert not LegacyDefinition.objects.exists()


def test_change_page_has_the_preview_button(admin_client):
    definition = LegacyDefinitionFactory(pattern="AB[0-9]{3}")

    response = admin_client.get(
        reverse("admin:legacy_coupondefinition_change", args=[definition.pk])
    )

    preview = reverse("admin:legacy_coupondefinition_preview", args=[definition.pk])
    assert f'href="{preview}" class="preview-codes">Preview 5 codes'.encode() in (
        response.content
    )


@pytest.mark.parametrize("factory", [LegacyDefinitionFactory, LegacyTemplateFactory])
def test_preview_shows_five_distinct_codes_of_the_pattern(admin_client, factory):
    definition = factory(pattern="AB[0-9]{3}")
    model = f"coupon{definition.kind}"

    response = admin_client.get(
        reverse(f"admin:legacy_{model}_preview", args=[definition.pk])
    )

    codes = response.context["codes"]
    assert len(codes) == len(set(codes)) == 5
    assert all(re.fullmatch(r"AB[0-9]{3}", code) for code in codes)
    assert LegacyDefinition.objects.count() == 1  # nothing saved


def test_preview_of_a_small_space_shows_every_code(admin_client):
    definition = LegacyDefinitionFactory(pattern="X[12]")

    response = admin_client.get(
        reverse("admin:legacy_coupondefinition_preview", args=[definition.pk])
    )

    assert sorted(response.context["codes"]) == ["X1", "X2"]


def test_preview_of_an_unknown_definition_goes_back_to_the_index(admin_client):
    response = admin_client.get(
        reverse("admin:legacy_coupondefinition_preview", args=["123"])
    )

    assert response.status_code == 302
