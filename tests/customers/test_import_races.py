"""import_customers (COPY path) racing PayNow customer creates and updates of the
same customers (PostgreSQL, real threads, each with its own connection).

No customer is duplicated and no update is lost: a customer the API creates first
is updated by the import, one the import creates first is a 409 for the API; the
import's first names and the API's last names of the same customers both persist.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from customers.importer import import_customers, read_rows
from customers.models import Customer
from tests.concurrency import paynow_client, race
from tests.factories import ApiKeyFactory, CustomerFactory, StoreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

EXISTING = 30
NEW = 30
FILLER = 1500
API_THREADS = 3


def build_file(path: Path, rng: random.Random) -> None:
    rows = [f"Imported,,e{i}@example.com,," for i in range(EXISTING)]
    rows += [f"Imported,,n{j}@example.com,," for j in range(NEW)]
    rows += [f"Filler,,f{k}@example.com,,F-{k}" for k in range(FILLER)]
    rng.shuffle(rows)
    path.write_text("first_name,last_name,email,mobile,external_id\n" + "\n".join(rows))


@pytest.mark.parametrize("trial", range(3))
def test_import_racing_api_creates_and_updates_duplicates_and_loses_nothing(
    tmp_path, trial
):
    rng = random.Random(trial)
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    existing = [
        CustomerFactory(
            store=store,
            email=f"e{i}@example.com",
            first_name="Old",
            last_name="Old",
            mobile=None,
            external_id=None,
        )
        for i in range(EXISTING)
    ]
    path = tmp_path / "customers.csv"
    build_file(path, rng)
    ops = [("patch", i) for i in range(EXISTING)] + [("create", j) for j in range(NEW)]
    rng.shuffle(ops)
    base = f"/v1/stores/{store.id}/customers"

    def work(index: int):
        if index == 0:
            _total, rows = read_rows(path)
            return import_customers(store=store, rows=rows, batch_size=100)
        client = paynow_client(key)
        statuses = {}
        for kind, n in ops[index - 1 :: API_THREADS]:
            if kind == "patch":
                response = client.patch(
                    f"{base}/{existing[n].id}", {"last_name": f"Api{n}"}, format="json"
                )
            else:
                body = {"email": f"N{n}@EXAMPLE.com", "first_name": "Api"}
                body["last_name"] = "Api"
                response = client.post(base, body, format="json")
            statuses[(kind, n)] = response.status_code
        return statuses

    result, *api = race(1 + API_THREADS, work)
    statuses = {op: code for part in api for op, code in part.items()}
    assert {code for (kind, _), code in statuses.items() if kind == "patch"} == {200}
    assert {code for (kind, _), code in statuses.items() if kind == "create"} <= {
        200,
        409,
    }

    customers = Customer.objects.filter(store=store)
    assert customers.count() == EXISTING + NEW + FILLER
    for i, customer in enumerate(existing):
        customer.refresh_from_db()
        assert (customer.first_name, customer.last_name) == ("Imported", f"Api{i}")
    api_first = 0
    for j in range(NEW):
        (customer,) = customers.filter(email_folded=f"n{j}@example.com")
        if statuses[("create", j)] == 200:  # the API first, the import updated it
            api_first += 1
            assert (customer.first_name, customer.last_name) == ("Imported", "Api")
            assert customer.email == f"n{j}@example.com"
        else:  # the import first: the API was told it is taken
            assert (customer.first_name, customer.last_name) == ("Imported", "")
    assert result.errors == []
    assert result.created == FILLER + NEW - api_first
    assert result.updated == EXISTING + api_first
    assert result.unchanged == 0
