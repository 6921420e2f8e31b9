"""Racing creates of one email: the unique index decides, the loser gets a 409."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from customers.models import Customer
from stores.models import Store
from tests.concurrency import post_at_once
from tests.factories import ApiKeyFactory, StoreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(threads: int, bodies: list[dict]) -> tuple[list[tuple[int, dict]], Store]:
    """POST ``bodies[i]`` from thread i, all released together; (results, store)."""
    store = StoreFactory()
    key = ApiKeyFactory(store=store)

    def client() -> APIClient:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"APIKey {key.token}")
        return api

    url = f"/v1/stores/{store.id}/customers"
    return post_at_once(client, url, bodies, timeout=60), store


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


@pytest.mark.parametrize("threads", [2, 8])
def test_concurrent_creates_of_one_turkish_email_are_one_200_and_409s(threads):
    # The same address as Python folds it (fold_email): İ, its upper case, and İ as
    # Python lower-cases it (i + U+0307). PostgreSQL's LOWER under C.UTF-8 made the
    # first two "a@istanbul.com", Python "a@i̇stanbul.com": the losers were 500s.
    variants = ["a@İstanbul.com", "A@İSTANBUL.COM", "a@i\u0307stanbul.com"]
    for trial in range(5):
        bodies = [{"email": variants[(i + trial) % 3]} for i in range(threads)]
        results, store = _race(threads, bodies)

        statuses = sorted(status for status, _ in results)
        assert statuses == [200] + [409] * (threads - 1), (trial, results)
        for status, body in results:
            if status == 409:
                assert body["code"] == "conflict"
                assert [issue["path"] for issue in body["errors"]] == ["email"]
        (winner,) = [body for status, body in results if status == 200]
        assert list(
            Customer.objects.filter(store=store).values_list("id", "email_folded")
        ) == [(int(winner["id"]), "a@i\u0307stanbul.com")]
