"""customers 0002: the folded email backfilled set-based, and collisions refused."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection

from customers.identifiers import fold_email
from tests.factories import StoreFactory
from tests.migrations import migrate, migrated_to

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("customers", "0001_initial")]
AFTER = [("customers", "0002_email_folded")]
migration = importlib.import_module("customers.migrations.0002_email_folded")


@pytest.fixture
def before():
    with migrated_to(BEFORE, emptied="customers_customer"):
        yield


def _insert(store_id: int, rows: list[tuple[int, str | None]]) -> None:
    with connection.cursor() as cursor:
        for pk, email in rows:
            cursor.execute(
                "INSERT INTO customers_customer (id, store_id, first_name, "
                "last_name, email, created_at, updated_at) "
                "VALUES (%s, %s, '', '', %s, '2025-01-01', '2025-01-01')",
                [pk, store_id, email],
            )


def _columns() -> set[str]:
    with connection.cursor() as cursor:
        described = connection.introspection.get_table_description(
            cursor, "customers_customer"
        )
    return {column.name for column in described}


def test_backfill_folds_every_email_as_python_does(before):
    store = StoreFactory()
    emails = {
        1: "Ann@Example.COM",
        2: "a@İstanbul.com",
        3: "x@E\u0301cole.fr",
        4: "b@\u0131stanbul.com",
        5: None,
    }
    _insert(store.id, list(emails.items()))

    migrate(AFTER)

    with connection.cursor() as cursor:
        cursor.execute("SELECT id, email_folded FROM customers_customer ORDER BY id")
        folded = dict(cursor.fetchall())
    assert folded == {
        pk: None if email is None else fold_email(email) for pk, email in emails.items()
    }
    assert folded[2] == "a@i\u0307stanbul.com"


def test_backfill_reads_only_the_non_ascii_addresses_in_python(before, monkeypatch):
    store = StoreFactory()
    _insert(store.id, [(pk, f"User{pk}@Example.com") for pk in range(1, 2001)])
    _insert(store.id, [(3000, "a@İstanbul.com")])
    seen: list[str] = []
    real = fold_email

    def spy(email: str) -> str:
        seen.append(email)
        return real(email)

    monkeypatch.setattr("customers.identifiers.fold_email", spy)

    migrate(AFTER)

    assert seen == ["a@İstanbul.com"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM customers_customer WHERE email_folded = "
            "'user1999@example.com'"
        )
        assert cursor.fetchone() == (1,)


def test_emails_that_become_one_stop_the_migration_and_change_nothing(before):
    store = StoreFactory()
    # Distinct for the old LOWER(email) index, one address once folded (NFC).
    _insert(store.id, [(1, "x@E\u0301cole.fr"), (2, "x@école.fr"), (3, "ok@x.com")])

    with pytest.raises(migration.IdentifierCollision) as raised:
        migrate(AFTER)

    message = str(raised.value)
    assert message.startswith("1 email address(es) belong to several customers")
    assert f"store {store.id}: 1 'x@E\u0301cole.fr', 2 'x@école.fr'" in message
    assert "email_folded" not in _columns()
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, email FROM customers_customer ORDER BY id")
        assert cursor.fetchall() == [
            (1, "x@E\u0301cole.fr"),
            (2, "x@école.fr"),
            (3, "ok@x.com"),
        ]
