"""NewStore updates racing deletes (PostgreSQL, real threads, HTTP).

A definition or coupon deleted while a request waits for it is a 404 in NewStore's
body for that request: never a 500, never written back.
"""

from __future__ import annotations

from collections import Counter

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from coupons.models import Coupon
from legacy.models import LegacyDefinition
from tests.concurrency import paynow_client, race
from tests.factories import ApiKeyFactory, StoreFactory
from tests.interleave import Holder, start, wait_for_waiters
from tests.legacy.factories import (
    bearer,
    create_coupon,
    create_definition,
    definition_body,
    error,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

COUPON_NOT_FOUND = error("not_found", "Coupon not found.")
DEFINITION_NOT_FOUND = error("not_found", "Coupon definition not found.")
TRIALS = 10


@pytest.fixture
def key():
    return ApiKeyFactory(store=StoreFactory())


def newstore(key) -> APIClient:
    api = bearer(key)
    api.raise_request_exception = False  # a 500 is an answer to count here
    return api


def paynow(key) -> APIClient:
    return paynow_client(key)


def legacy_coupon(key) -> Coupon:
    create_definition(newstore(key))
    made = create_coupon(newstore(key), "cybermon678")
    return Coupon.objects.get(legacy_uuid=made["id"])


def coupon_url(coupon: Coupon) -> str:
    return f"/v0/d/coupons/{coupon.legacy_uuid}"


def paynow_url(coupon: Coupon) -> str:
    return f"/v1/stores/{coupon.store_id}/coupons/{coupon.id}"


def updates(coupon: Coupon) -> list[dict]:
    return list(
        AuditEvent.objects.filter(
            object_type="coupon", object_id=coupon.id, action="update"
        ).values_list("changes", flat=True)
    )


def test_newstore_patch_of_a_coupon_deleted_while_it_waits_is_a_404(key):
    coupon = legacy_coupon(key)
    with Holder() as deleter:
        deleter.run("DELETE FROM coupons_coupon WHERE id = %s", [coupon.id])
        # The PATCH finds the coupon (the DELETE is not committed), then waits.
        waiting = start(
            lambda: newstore(key).patch(coupon_url(coupon), {"is_enabled": False})
        )
        wait_for_waiters(1)
        deleter.commit()
        response = waiting()

    assert response.status_code == 404
    assert response.json() == COUPON_NOT_FOUND
    assert not Coupon.objects.filter(id=coupon.id).exists()
    assert updates(coupon) == []


@pytest.mark.parametrize("trial", range(TRIALS))
def test_newstore_patch_racing_a_paynow_delete_is_200_and_204_or_404_and_204(
    key, trial
):
    coupon = legacy_coupon(key)

    def call(index: int):
        if index == 0:
            return newstore(key).patch(coupon_url(coupon), {"is_enabled": False})
        return paynow(key).delete(paynow_url(coupon))

    patched, deleted = race(2, call)

    assert deleted.status_code == 204
    if patched.status_code == 200:
        assert patched.json()["is_enabled"] is False
        assert updates(coupon) == [{"enabled": [True, False]}]
    else:
        assert patched.status_code == 404
        assert patched.json() == COUPON_NOT_FOUND
        assert updates(coupon) == []
    assert not Coupon.objects.filter(id=coupon.id).exists()
    found = newstore(key).get("/v0/d/coupons", {"filter[code]": coupon.code})
    assert found.json() == {"items": []}


def definition_url(definition: dict) -> str:
    return f"/v0/d/coupon_definitions/{definition['id']}"


@pytest.mark.parametrize("trial", range(TRIALS))
def test_three_concurrent_deletes_of_a_definition_one_204_and_two_404(key, trial):
    definition = create_definition(newstore(key))

    responses = race(3, lambda i: newstore(key).delete(definition_url(definition)))

    assert Counter(r.status_code for r in responses) == Counter({204: 1, 404: 2})
    for response in responses:
        if response.status_code == 404:
            assert response.json() == DEFINITION_NOT_FOUND
    assert not LegacyDefinition.objects.filter(uuid=definition["id"]).exists()


@pytest.mark.parametrize("trial", range(TRIALS))
def test_definition_put_racing_delete_is_200_and_204_or_404_and_204(key, trial):
    definition = create_definition(newstore(key))
    body = definition_body(label="renamed", max_redemptions=5)

    def call(index: int):
        if index == 0:
            return newstore(key).put(definition_url(definition), body)
        return newstore(key).delete(definition_url(definition))

    put, deleted = race(2, call)

    assert deleted.status_code == 204
    if put.status_code == 200:
        assert put.json()["label"] == "renamed"
    else:
        assert put.status_code == 404
        assert put.json() == DEFINITION_NOT_FOUND
    assert not LegacyDefinition.objects.filter(uuid=definition["id"]).exists()
    assert newstore(key).get(definition_url(definition)).status_code == 404


def test_definition_put_while_it_is_deleted_is_a_404_not_a_reinsert(key):
    definition = create_definition(newstore(key))
    with Holder() as deleter:
        deleter.run(
            "DELETE FROM legacy_legacydefinition WHERE uuid = %s", [definition["id"]]
        )
        waiting = start(
            lambda: newstore(key).put(
                definition_url(definition), definition_body(label="renamed")
            )
        )
        wait_for_waiters(1)
        deleter.commit()
        response = waiting()

    assert response.status_code == 404
    assert response.json() == DEFINITION_NOT_FOUND
    assert not LegacyDefinition.objects.filter(uuid=definition["id"]).exists()
