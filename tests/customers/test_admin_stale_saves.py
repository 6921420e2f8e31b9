"""Staff saving a customer's change page that others changed or deleted meanwhile
(PostgreSQL, real concurrent writers).

The admin writes only the fields staff edited, compared with the page they saw, on
the row as it is now: an API PATCH of another field since the page was opened stays,
and a customer deleted while the save runs is a clear message, not a 500 and not a
customer saved again.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from customers.models import Customer
from tests.admin_forms import (
    messages_after,
    post_while_held,
    save_after,
    save_while_deleted,
)
from tests.concurrency import paynow_client
from tests.factories import ApiKeyFactory, CustomerFactory, StoreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _url(customer: Customer) -> str:
    return reverse("admin:customers_customer_change", args=[customer.pk])


def test_an_api_patch_made_while_the_page_was_open_is_kept(admin_client):
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    customer = CustomerFactory(store=store, first_name="Ada", last_name="Byron")

    def patch():
        response = paynow_client(key).patch(
            f"/v1/stores/{store.id}/customers/{customer.id}",
            {"last_name": "Lovelace"},
            format="json",
        )
        assert response.status_code == 200, response.content

    save_after(admin_client, _url(customer), patch, first_name="Augusta")

    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.first_name, stored.last_name) == ("Augusta", "Lovelace")
    assert list(
        AuditEvent.objects.filter(object_id=customer.pk, action="update")
        .order_by("id")
        .values_list("changes", flat=True)
    ) == [{"last_name": ["Byron", "Lovelace"]}, {"first_name": ["Ada", "Augusta"]}]


def test_a_customer_deleted_while_the_save_runs_is_a_message_not_a_new_row(
    admin_client,
):
    customer = CustomerFactory(first_name="Ada")

    save_while_deleted(admin_client, Customer, customer.pk, first_name="Augusta")
    assert not AuditEvent.objects.filter(object_id=customer.pk, action="update")


def test_a_customer_deleted_while_the_delete_page_was_open_is_a_message(
    admin_client,
):
    customer = CustomerFactory()
    url = reverse("admin:customers_customer_delete", args=[customer.pk])
    assert admin_client.get(url).status_code == 200

    response = post_while_held(
        admin_client,
        url,
        {"post": ["yes"]},
        "DELETE FROM customers_customer WHERE id = %s",
        [customer.pk],
    )

    assert response.url == reverse("admin:customers_customer_changelist")
    assert (
        f"The customer with ID “{customer.pk}” was deleted by someone else while the "
        "page was open: nothing to delete."
    ) in messages_after(admin_client, response)
