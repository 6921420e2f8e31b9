"""Staff saving a store's, an outlet's or an API key's change page that others
changed or deleted meanwhile (PostgreSQL, real concurrent writers).

Each save goes through a service that locks the row as it is now and writes only
the fields staff edited (compared with the page they saw): what others changed
since stays, a key revoked while the save runs stays revoked, and a row deleted
meanwhile is a clear message, never a 500 nor the row saved again.
"""

from __future__ import annotations

import pytest

from stores import services
from stores.models import ApiKey, Outlet, Store
from tests.admin_forms import (
    change_url,
    edit,
    open_form,
    post_while_held,
    save_after,
    save_while_deleted,
)
from tests.factories import ApiKeyFactory, OutletFactory, StoreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_store_setting_changed_while_the_page_was_open_is_kept(admin_client):
    store = StoreFactory(name="Old name", currency="USD", timezone="UTC")

    save_after(
        admin_client,
        change_url(Store, store.pk),
        lambda: services.store_update(store=store, currency="EUR"),
        name="New name",
    )

    stored = Store.objects.get(pk=store.pk)
    assert (stored.name, stored.currency, stored.timezone) == ("New name", "EUR", "UTC")


def test_a_store_deleted_while_the_save_runs_is_a_message_not_a_new_row(
    admin_client,
):
    store = StoreFactory(name="Old name")

    save_while_deleted(admin_client, Store, store.pk, name="New name")


def test_an_outlet_renamed_while_the_page_was_open_keeps_its_new_name(admin_client):
    outlet = OutletFactory(name="Till 1", is_active=True)
    url = change_url(Outlet, outlet.pk)
    page = open_form(admin_client, url)
    del page["is_active"]  # staff untick "active"

    # Meanwhile another staff member renames it.
    Outlet.objects.filter(pk=outlet.pk).update(name="Front till")
    response = admin_client.post(url, page)

    assert response.status_code == 302, response.context["adminform"].form.errors
    stored = Outlet.objects.get(pk=outlet.pk)
    assert (stored.name, stored.is_active) == ("Front till", False)


def test_an_outlet_deleted_while_the_save_runs_is_a_message_not_a_new_row(
    admin_client,
):
    outlet = OutletFactory(name="Till 1")

    save_while_deleted(admin_client, Outlet, outlet.pk, name="Front till")


def test_a_key_revoked_while_the_save_runs_stays_revoked(admin_client):
    key = ApiKeyFactory(name="till key")
    url = change_url(ApiKey, key.pk)

    response = post_while_held(
        admin_client,
        url,
        edit(open_form(admin_client, url), name="front till key"),
        "UPDATE stores_apikey SET revoked_at = now() WHERE id = %s",
        [key.pk],
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    stored = ApiKey.objects.get(pk=key.pk)
    assert stored.name == "front till key"
    assert stored.revoked_at is not None


def test_a_rate_limit_set_while_the_page_was_open_is_kept(admin_client):
    key = ApiKeyFactory(name="till key", rate_limit="")

    save_after(
        admin_client,
        change_url(ApiKey, key.pk),
        lambda: ApiKey.objects.filter(pk=key.pk).update(rate_limit="20/s"),
        name="front till key",
    )

    stored = ApiKey.objects.get(pk=key.pk)
    assert (stored.name, stored.rate_limit) == ("front till key", "20/s")
