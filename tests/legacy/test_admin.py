"""The legacy admin: definitions and templates listed and edited apart."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from legacy.models import CouponDefinition, CouponTemplate, Kind, LegacyDefinition
from tests.factories import LegacyDefinitionFactory, LegacyTemplateFactory, StoreFactory

pytestmark = pytest.mark.django_db


def legacy_form_data(**overrides: str) -> dict[str, str]:
    data = {
        "label": "spring",
        "pattern": "spring-[A-Z]{4}",
        "max_redemptions": "5",
        "amount": "",
        "amount_currency": "",
        "discount_rule_id": "rule-1",
        "channel_types": "[]",
        "validation_rules": "[]",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("model", "kind"),
    [("coupondefinition", Kind.DEFINITION), ("coupontemplate", Kind.TEMPLATE)],
)
def test_each_changelist_lists_only_its_kind(admin_client, model, kind):
    LegacyDefinitionFactory.create_batch(2)
    LegacyTemplateFactory.create_batch(3)

    response = admin_client.get(reverse(f"admin:legacy_{model}_changelist"))

    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert rows
    assert {row.kind for row in rows} == {kind}


def test_only_the_proxies_are_registered():
    assert admin.site.is_registered(CouponDefinition)
    assert admin.site.is_registered(CouponTemplate)
    assert not admin.site.is_registered(LegacyDefinition)


@pytest.mark.parametrize("model", ["coupondefinition", "coupontemplate"])
def test_add_and_change_pages_load(admin_client, model):
    row = LegacyDefinitionFactory(
        kind=Kind.TEMPLATE if "template" in model else Kind.DEFINITION
    )

    add = admin_client.get(reverse(f"admin:legacy_{model}_add"))
    change = admin_client.get(reverse(f"admin:legacy_{model}_change", args=[row.pk]))

    assert (add.status_code, change.status_code) == (200, 200)
    assert str(row.uuid) in change.content.decode()


def test_search_by_label_or_uuid(admin_client):
    spring = LegacyDefinitionFactory(label="spring-sale")
    LegacyDefinitionFactory(label="summer-sale")
    url = reverse("admin:legacy_coupondefinition_changelist")

    def found(term: str) -> list[LegacyDefinition]:
        return list(admin_client.get(url, {"q": term}).context["cl"].result_list)

    assert [d.pk for d in found("spring")] == [spring.pk]
    assert [d.pk for d in found(str(spring.uuid))] == [spring.pk]


@pytest.mark.parametrize(
    ("model", "kind"),
    [("coupondefinition", Kind.DEFINITION), ("coupontemplate", Kind.TEMPLATE)],
)
def test_add_sets_the_kind(admin_client, model, kind):
    store = StoreFactory()

    response = admin_client.post(
        reverse(f"admin:legacy_{model}_add"),
        legacy_form_data(store=str(store.pk), label="spring"),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert LegacyDefinition.objects.get(store=store, label="spring").kind == kind


def test_template_label_taken_by_a_definition_is_a_form_error(admin_client):
    definition = LegacyDefinitionFactory(label="spring")

    response = admin_client.post(
        reverse("admin:legacy_coupontemplate_add"),
        legacy_form_data(store=str(definition.store_id), label="spring"),
    )

    assert response.status_code == 200
    assert "This label is already used in this store." in response.content.decode()
    assert LegacyDefinition.objects.filter(label="spring").count() == 1
