"""Customer updates racing deletes and each other (PostgreSQL, real threads, HTTP).

An update works on the row as it is when it holds the row's lock, never on the copy
the request read before: a row deleted meanwhile is a 404 (never re-inserted), and
updates of different fields all persist, each audited with exactly what it applied.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from audit.models import AuditEvent
from customers.models import Customer
from tests.concurrency import paynow_client, race
from tests.factories import ApiKeyFactory, CustomerFactory, StoreFactory
from tests.interleave import Holder, start, wait_for_waiters
from tests.paynow import error_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TRACE = "trace-update-race"
NOT_FOUND = error_body(404, "not-found", "Customer not found.", trace=TRACE)
TRIALS = 25


@pytest.fixture
def key():
    return ApiKeyFactory(store=StoreFactory())


def api(key) -> APIClient:
    return paynow_client(key, trace=TRACE)


def url(customer: Customer) -> str:
    return f"/v1/stores/{customer.store_id}/customers/{customer.id}"


def patch_customer(key, customer: Customer, change: dict):
    return api(key).patch(url(customer), change, format="json")


def events(customer: Customer, action: str) -> list[dict]:
    return list(
        AuditEvent.objects.filter(
            object_type="customer", object_id=customer.id, action=action
        )
        .order_by("id")
        .values_list("changes", flat=True)
    )


def test_patch_of_a_customer_deleted_while_it_waits_is_a_404_not_a_reinsert(key):
    customer = CustomerFactory(store=key.store, first_name="Ada")
    with Holder() as deleter:
        deleter.run("DELETE FROM customers_customer WHERE id = %s", [customer.id])
        # The PATCH reads the row (the DELETE is not committed yet), then waits.
        patch = start(lambda: patch_customer(key, customer, {"first_name": "Eve"}))
        wait_for_waiters(1)
        deleter.commit()
        response = patch()

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert not Customer.objects.filter(id=customer.id).exists()
    assert api(key).get(url(customer)).status_code == 404
    assert events(customer, "update") == []


@pytest.mark.parametrize("trial", range(TRIALS))
def test_delete_racing_patch_never_leaves_the_customer_alive(key, trial):
    customer = CustomerFactory(store=key.store, first_name="Ada")

    def call(index: int):
        if index == 0:
            return patch_customer(key, customer, {"first_name": "Eve"})
        return api(key).delete(url(customer))

    patched, deleted = race(2, call)

    assert deleted.status_code == 204
    assert patched.status_code in (200, 404)
    if patched.status_code == 404:
        assert patched.json() == NOT_FOUND
        assert events(customer, "update") == []
    else:
        assert patched.json()["first_name"] == "Eve"
        assert events(customer, "update") == [{"first_name": ["Ada", "Eve"]}]
    assert not Customer.objects.filter(id=customer.id).exists()
    assert api(key).get(url(customer)).status_code == 404


CHANGES = [
    {"first_name": "Eve"},
    {"last_name": "Lovelace"},
    {"external_id": "ext-new"},
]


def assert_all_three_applied(customer: Customer, bodies: list[dict]) -> None:
    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name, customer.external_id) == (
        "Eve",
        "Lovelace",
        "ext-new",
    )
    # Each event is exactly the one change its request applied, from the value the
    # row had (the fields are different, so from the original values).
    assert sorted(events(customer, "update"), key=str) == sorted(
        [
            {"first_name": ["Ada", "Eve"]},
            {"last_name": ["Byron", "Lovelace"]},
            {"external_id": ["ext-old", "ext-new"]},
        ],
        key=str,
    )
    for change, body in zip(CHANGES, bodies, strict=True):
        for field, value in change.items():
            assert body[field] == value


def test_three_patches_waiting_for_one_row_lock_all_persist(key):
    customer = CustomerFactory(
        store=key.store, first_name="Ada", last_name="Byron", external_id="ext-old"
    )
    with Holder() as holder:
        holder.run(
            "SELECT 1 FROM customers_customer WHERE id = %s FOR UPDATE", [customer.id]
        )
        patches = [
            start(lambda change=change: patch_customer(key, customer, change))
            for change in CHANGES
        ]
        wait_for_waiters(3)
        holder.commit()
        responses = [result() for result in patches]

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert_all_three_applied(customer, [r.json() for r in responses])


@pytest.mark.parametrize("trial", range(10))
def test_three_parallel_patches_of_different_fields_all_persist(key, trial):
    customer = CustomerFactory(
        store=key.store, first_name="Ada", last_name="Byron", external_id="ext-old"
    )

    responses = race(3, lambda i: patch_customer(key, customer, CHANGES[i]))

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert_all_three_applied(customer, [r.json() for r in responses])


def test_an_import_keeps_a_change_committed_while_it_waits(key, tmp_path):
    customer = CustomerFactory(
        store=key.store, first_name="Ada", last_name="Byron", email="ada@example.com"
    )
    path = tmp_path / "customers.csv"
    path.write_text("first_name,email\nEve,ada@example.com\n", encoding="utf-8")
    with Holder() as editor:
        editor.run(
            "UPDATE customers_customer SET last_name = 'Lovelace' WHERE id = %s",
            [customer.id],
        )
        # The import reads the customer (the UPDATE is not committed yet) and waits.
        waiting = start(
            lambda: call_command(
                "import_customers",
                "--store",
                str(key.store_id),
                str(path),
                stdout=StringIO(),
                stderr=StringIO(),
            )
        )
        wait_for_waiters(1)
        editor.commit()
        waiting()

    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name) == ("Eve", "Lovelace")
