"""The stores admin: stores, outlets and API keys (whose secrets never show)."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from legacy.models import LegacyDefinition
from stores.models import ApiKey, Outlet
from tests.factories import ApiKeyFactory, OutletFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["store", "outlet", "apikey"])
def test_changelist_loads_with_rows(admin_client, model):
    for _ in range(3):
        outlet = OutletFactory()
        ApiKeyFactory(store=outlet.store, outlet=outlet)

    response = admin_client.get(reverse(f"admin:stores_{model}_changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count == 3


def test_every_model_is_registered_except_the_legacy_base(admin_client):
    project_apps = {"stores", "customers", "coupons", "series", "assignments", "legacy"}
    missing = [
        model.__name__
        for model in apps.get_models()
        if model._meta.app_label in project_apps
        and model is not LegacyDefinition
        and not admin.site.is_registered(model)
    ]

    response = admin_client.get(reverse("admin:index"))

    assert missing == []
    assert response.status_code == 200


@pytest.mark.parametrize("model", ["store", "outlet"])
def test_add_and_change_pages_load(admin_client, model):
    outlet = OutletFactory()
    row = outlet if model == "outlet" else outlet.store

    add = admin_client.get(reverse(f"admin:stores_{model}_add"))
    change = admin_client.get(reverse(f"admin:stores_{model}_change", args=[row.pk]))

    assert (add.status_code, change.status_code) == (200, 200)


def test_store_search_by_exact_code(admin_client):
    StoreFactory(code="acme", name="Acme")
    StoreFactory(code="acme-outlet-co", name="Other")

    response = admin_client.get(
        reverse("admin:stores_store_changelist"), {"q": "acme-outlet-co"}
    )

    assert [s.code for s in response.context["cl"].result_list] == ["acme-outlet-co"]


def test_store_cannot_be_deleted_from_admin(admin_client):
    store = StoreFactory()

    response = admin_client.get(reverse("admin:stores_store_delete", args=[store.pk]))

    assert response.status_code == 403


def test_outlet_store_is_fixed_once_saved(admin_client):
    outlet = OutletFactory(code="till-1", name="Till 1")
    other_store = StoreFactory()
    url = reverse("admin:stores_outlet_change", args=[outlet.pk])

    response = admin_client.post(
        url,
        {
            "store": other_store.pk,
            "code": "till-1",
            "name": "Front till",
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    outlet.refresh_from_db()
    assert outlet.name == "Front till"
    assert outlet.store_id != other_store.pk


def test_outlet_code_taken_in_store_is_a_form_error(admin_client):
    existing = OutletFactory(code="till-1")
    outlet = OutletFactory(store=existing.store, code="till-2")

    response = admin_client.post(
        reverse("admin:stores_outlet_change", args=[outlet.pk]),
        {"code": "till-1", "name": "Till", "is_active": "on"},
    )

    assert response.status_code == 200
    assert "This outlet code is taken in this store." in response.content.decode()
    assert Outlet.objects.get(pk=outlet.pk).code == "till-2"


def test_api_key_admin_has_no_add(admin_client):
    response = admin_client.get(reverse("admin:stores_apikey_add"))

    assert response.status_code == 403


def test_api_key_change_page_never_shows_hashes_or_secret(admin_client, api_key):
    response = admin_client.get(
        reverse("admin:stores_apikey_change", args=[api_key.pk])
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert api_key.key_id in body
    assert api_key.secret_hash not in body
    assert api_key.secret_md5_hash not in body
    assert api_key.secret not in body
    form = response.context["adminform"].form
    assert set(form.fields) == {"name", "rate_limit"}


def test_api_key_change_saves_name_only(admin_client, api_key):
    before = ApiKey.objects.get(pk=api_key.pk)

    response = admin_client.post(
        reverse("admin:stores_apikey_change", args=[api_key.pk]),
        {
            "name": "Till 7",
            "key_id": "chk_forged",
            "secret_hash": "0" * 64,
            "scopes": '["legacy"]',
        },
    )

    assert response.status_code == 302
    after = ApiKey.objects.get(pk=api_key.pk)
    assert after.name == "Till 7"
    assert (after.key_id, after.secret_hash, after.scopes) == (
        before.key_id,
        before.secret_hash,
        before.scopes,
    )


def test_api_key_cannot_be_deleted_from_admin(admin_client, api_key):
    response = admin_client.get(
        reverse("admin:stores_apikey_delete", args=[api_key.pk])
    )

    assert response.status_code == 403


def test_revoke_action_revokes_selected_keys_only(admin_client, store):
    chosen = [ApiKeyFactory(store=store), ApiKeyFactory(store=store)]
    kept = ApiKeyFactory(store=store)

    response = admin_client.post(
        reverse("admin:stores_apikey_changelist"),
        {
            "action": "revoke_selected",
            "_selected_action": [key.pk for key in chosen],
        },
        follow=True,
    )

    assert response.status_code == 200
    assert "Revoked 2 API key(s)." in response.content.decode()
    for key in chosen:
        key.refresh_from_db()
        assert key.is_revoked
    kept.refresh_from_db()
    assert not kept.is_revoked


def test_revoke_action_keeps_first_revocation_time(admin_client, store):
    key = ApiKeyFactory(store=store)
    admin_client.post(
        reverse("admin:stores_apikey_changelist"),
        {"action": "revoke_selected", "_selected_action": [key.pk]},
    )
    key.refresh_from_db()
    first = key.revoked_at

    response = admin_client.post(
        reverse("admin:stores_apikey_changelist"),
        {"action": "revoke_selected", "_selected_action": [key.pk]},
        follow=True,
    )

    key.refresh_from_db()
    assert key.revoked_at == first
    assert "Revoked 0 API key(s)." in response.content.decode()


def test_api_key_actions_offer_revoke_not_delete(admin_client, api_key):
    response = admin_client.get(reverse("admin:stores_apikey_changelist"))

    choices = [
        name for name, _ in response.context["action_form"].fields["action"].choices
    ]
    assert "revoke_selected" in choices
    assert "delete_selected" not in choices
