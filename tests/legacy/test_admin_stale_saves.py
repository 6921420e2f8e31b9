"""Staff saving a NewStore definition's change page that others changed or deleted
meanwhile (PostgreSQL, real concurrent writers).

The admin saves through ``legacy_definition_change``: only the fields staff edited
(compared with the page they saw), on the row as it is now, checked as the API
checks them. An API PUT since the page was opened stays, and a definition deleted
while the save runs is a clear message, never a 500 nor the definition saved again.
"""

from __future__ import annotations

import pytest

from legacy.models import CouponDefinition, LegacyDefinition
from tests.admin_forms import (
    change_url,
    edit,
    open_form,
    save_after,
    save_while_deleted,
)
from tests.factories import ApiKeyFactory, LegacyDefinitionFactory, StoreFactory
from tests.legacy.factories import bearer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _url(definition: LegacyDefinition) -> str:
    return change_url(CouponDefinition, definition.pk)


def _definition(store) -> LegacyDefinition:
    return LegacyDefinitionFactory(
        store=store,
        label="spring",
        pattern="SPRING-[0-9]{4}",
        discount_rule_id="rule-1",
        max_redemptions=10,
    )


def test_an_api_put_made_while_the_page_was_open_is_kept(admin_client):
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    definition = _definition(store)

    def put():
        response = bearer(key).put(
            f"/v0/d/coupon_definitions/{definition.uuid}",
            {
                "label": "spring",
                "pattern": "SPRING-[0-9]{6}",
                "discount_rule_id": "rule-1",
                "max_redemptions": 10,
            },
            format="json",
        )
        assert response.status_code == 200, response.content

    save_after(admin_client, _url(definition), put, max_redemptions="3")

    stored = LegacyDefinition.objects.get(pk=definition.pk)
    assert (stored.pattern, stored.max_redemptions) == ("SPRING-[0-9]{6}", 3)


def test_a_definition_deleted_while_the_save_runs_is_a_message_not_a_new_row(
    admin_client,
):
    definition = _definition(StoreFactory())

    save_while_deleted(
        admin_client, CouponDefinition, definition.pk, max_redemptions="3"
    )


def test_rules_that_are_not_rules_are_a_form_error_as_through_the_api(admin_client):
    definition = _definition(StoreFactory())
    page = open_form(admin_client, _url(definition))

    response = admin_client.post(
        _url(definition), edit(page, validation_rules='[{"label": "valid_from"}]')
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "validation_rules": [
            'Not a rule: {"label": "<kind>", "values": {...}} expected.'
        ]
    }
    assert LegacyDefinition.objects.get(pk=definition.pk).validation_rules == []
