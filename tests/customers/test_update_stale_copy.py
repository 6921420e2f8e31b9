"""customer_update works on the row as it is now, not on the caller's copy.

The caller (a viewset, the admin) reads the customer before the service's transaction;
the interleavings themselves run on PostgreSQL in ``test_update_races``.
"""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from core.actors import SYSTEM
from core.errors import DomainError
from customers import services
from customers.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_update_of_a_copy_whose_row_was_deleted_is_not_found_and_not_reinserted():
    stale = CustomerFactory(first_name="Ada")
    Customer.objects.filter(pk=stale.pk).delete()

    with pytest.raises(DomainError) as raised:
        services.customer_update(customer=stale, actor=SYSTEM, first_name="Eve")

    assert (raised.value.reason, raised.value.message) == (
        "customer_not_found",
        "Customer not found.",
    )
    assert not Customer.objects.filter(pk=stale.pk).exists()
    assert not AuditEvent.objects.filter(object_id=stale.pk, action="update").exists()


def test_update_of_a_stale_copy_keeps_what_others_changed_since():
    stale = CustomerFactory(first_name="Ada", last_name="Byron")
    services.customer_update(
        customer=Customer.objects.get(pk=stale.pk), actor=SYSTEM, last_name="Lovelace"
    )

    saved = services.customer_update(customer=stale, actor=SYSTEM, first_name="Eve")

    assert (saved.first_name, saved.last_name) == ("Eve", "Lovelace")
    stored = Customer.objects.get(pk=stale.pk)
    assert (stored.first_name, stored.last_name) == ("Eve", "Lovelace")
    assert list(
        AuditEvent.objects.filter(object_id=stale.pk, action="update")
        .order_by("id")
        .values_list("changes", flat=True)
    ) == [{"last_name": ["Byron", "Lovelace"]}, {"first_name": ["Ada", "Eve"]}]


def test_update_audits_the_change_from_the_stored_value_not_the_copy():
    # The admin hands over its form's instance, already holding the new values.
    customer = CustomerFactory(first_name="Ada")
    customer.first_name = "Eve"

    services.customer_update(customer=customer, actor=SYSTEM, first_name="Eve")

    assert Customer.objects.get(pk=customer.pk).first_name == "Eve"
    assert list(
        AuditEvent.objects.filter(object_id=customer.pk, action="update").values_list(
            "changes", flat=True
        )
    ) == [{"first_name": ["Ada", "Eve"]}]


def test_update_that_changes_nothing_writes_nothing():
    customer = CustomerFactory(first_name="Ada")
    stamp = Customer.objects.get(pk=customer.pk).updated_at

    services.customer_update(customer=customer, actor=SYSTEM, first_name="Ada")

    assert Customer.objects.get(pk=customer.pk).updated_at == stamp
    assert not AuditEvent.objects.filter(
        object_id=customer.pk, action="update"
    ).exists()
