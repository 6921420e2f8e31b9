"""customers 0003: existing customers numbered in creation order by one set-based
UPDATE, and new ones continue from the last (core.compact)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Customer
from tests.factories import StoreFactory
from tests.migrations import migrate, migrated_to

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("customers", "0002_email_folded")]
AFTER = [("customers", "0003_compact_id")]


@pytest.fixture
def before():
    with migrated_to(BEFORE, emptied="customers_customer"):
        yield


def test_existing_customers_are_numbered_in_id_order_by_one_update(before):
    store = StoreFactory()
    ids = [
        3_000_000_000_000_000_005,
        3_000_000_000_000_000_001,
        3_000_000_000_000_000_900,
    ]
    ids += [3_000_000_000_000_001_000 + n for n in range(200)]
    with connection.cursor() as cursor:
        for pk in ids:
            cursor.execute(
                "INSERT INTO customers_customer (id, store_id, first_name, "
                "last_name, created_at, updated_at) VALUES "
                "(%s, %s, '', '', '2025-01-01', '2025-01-01')",
                [pk, store.id],
            )

    with CaptureQueriesContext(connection) as queries:
        migrate(AFTER)

    numbered = dict(Customer.objects.values_list("id", "compact_id"))
    assert [numbered[pk] for pk in sorted(ids)] == list(range(1, len(ids) + 1))
    updates = [q for q in queries.captured_queries if "ROW_NUMBER()" in q["sql"]]
    assert len(updates) == 1  # one statement, whatever the number of rows
    assert Customer.objects.create(store=store).compact_id == len(ids) + 1
