"""Store settings changed at once by two operators (PostgreSQL, real threads).

``update_store`` of different settings in parallel: both persist (a save of the copy
each read first wrote back the other's setting as it was).
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from stores.models import Store
from tests.concurrency import race
from tests.factories import StoreFactory
from tests.interleave import Holder, start, wait_for_waiters

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CHANGES = [
    ["--timezone", "Europe/Paris"],
    ["--currency", "EUR"],
    ["--name", "Renamed"],
    ["--inactive"],
]


def update_store(store: Store, options: list[str]) -> str:
    out = StringIO()
    call_command("update_store", "--store", store.code, *options, stdout=out)
    return out.getvalue()


def assert_every_change_persisted(store: Store) -> None:
    store.refresh_from_db()
    assert (store.timezone, store.currency, store.name, store.is_active) == (
        "Europe/Paris",
        "EUR",
        "Renamed",
        False,
    )


def test_updates_waiting_for_one_store_all_persist():
    store = StoreFactory(timezone="UTC", currency="USD", is_active=True)
    with Holder() as holder:
        holder.run("SELECT 1 FROM stores_store WHERE id = %s FOR UPDATE", [store.id])
        waiting = [
            start(lambda options=options: update_store(store, options))
            for options in CHANGES
        ]
        wait_for_waiters(len(CHANGES))
        holder.commit()
        for result in waiting:
            result()

    assert_every_change_persisted(store)


@pytest.mark.parametrize("trial", range(5))
def test_parallel_updates_of_different_settings_all_persist(trial):
    store = StoreFactory(timezone="UTC", currency="USD", is_active=True)

    race(len(CHANGES), lambda i: update_store(store, CHANGES[i]))

    assert_every_change_persisted(store)
