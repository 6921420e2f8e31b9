"""Racing creates of one email: the unique index decides, the loser gets a 409."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from customers.models import Customer
from stores.models import Store
from tests.factories import ApiKeyFactory, StoreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(threads: int, bodies: list[dict]) -> tuple[list[tuple[int, dict]], Store]:
    """POST ``bodies[i]`` from thread i, all released together; (results, store)."""
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    url = f"/v1/stores/{store.id}/customers"
    barrier = threading.Barrier(threads)
    results: list[tuple[int, dict] | BaseException | None] = [None] * threads

    def post(index: int) -> None:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"APIKey {key.token}")
        try:
            barrier.wait(timeout=30)
            response = api.post(url, bodies[index], format="json")
            results[index] = (response.status_code, response.json())
        except BaseException as exc:  # reported below, in the test's thread
            results[index] = exc
        finally:
            connection.close()

    workers = [threading.Thread(target=post, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not any(worker.is_alive() for worker in workers)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results, store


def _email_bodies(threads: int) -> list[dict]:
    # The same address in a different letter case per thread.
    variants = ["race@example.com", "RACE@example.com", "Race@Example.COM"]
    return [{"email": variants[i % len(variants)]} for i in range(threads)]


@pytest.mark.parametrize("threads", [2, 8])
def test_concurrent_creates_of_one_email_make_one_customer(threads):
    results, store = _race(threads, _email_bodies(threads))

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * (threads - 1)
    for status, body in results:
        if status == 409:
            assert body["status"] == 409
            assert body["code"] == "conflict"
            assert [issue["path"] for issue in body["errors"]] == ["email"]
    assert Customer.objects.filter(store=store).count() == 1
    (winner,) = [body for status, body in results if status == 200]
    assert Customer.objects.get(store=store).id == int(winner["id"])


@pytest.mark.parametrize("field", ["mobile", "external_id"])
def test_concurrent_creates_of_one_identifier_make_one_customer(field):
    results, store = _race(8, [{field: "+15550100"} for _ in range(8)])

    assert sorted(status for status, _ in results) == [200] + [409] * 7
    assert Customer.objects.filter(store=store).count() == 1
