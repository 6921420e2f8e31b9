"""The per-process API key cache (``stores.keycache``), on PostgreSQL, with commits.

Changes are made the ways production makes them: through the services in this
process, and from another connection (another process, psql), committed. A change
from elsewhere reaches this process as a PostgreSQL notification; the tests wait for
it to arrive (``keys.wait``) before the next request, so that they do not depend on
how fast the machine delivers it.
"""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from stores import keycache, services
from stores.keycache import keys
from tests.factories import ApiKeyFactory, OutletFactory, StoreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TRACE = "trace-key-cache"


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.API_KEY_CACHE = True
    keys.close()
    yield
    keys.close()


@pytest.fixture
def key():
    return ApiKeyFactory(store=StoreFactory())


@pytest.fixture
def elsewhere():
    """Another connection, autocommit: every statement commits at once."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    with psycopg.connect(**params, autocommit=True) as conn:
        yield conn


def _get(key, token=None):
    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION=f"APIKey {token or key.token}", HTTP_X_REQUEST_ID=TRACE
    )
    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"/v1/stores/{key.store_id}/customers")
    return response, [q["sql"] for q in queries.captured_queries]


def _key_reads(sqls: list[str]) -> int:
    return sum("FROM stores_apikey" in sql for sql in sqls)


def _error(status: int, code: str, message: str) -> dict:
    return {
        "status": status,
        "code": code,
        "message": message,
        "trace_id": TRACE,
        "errors": None,
    }


def _listener_pid() -> int:
    assert keys._listener is not None
    return keys._listener.info.backend_pid


def test_a_key_is_read_once_then_served_from_the_cache(key):
    first, first_sqls = _get(key)
    second, second_sqls = _get(key)

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert _key_reads(first_sqls) == 1
    assert _key_reads(second_sqls) == 0
    assert len(second_sqls) == len(first_sqls) - 1


def test_a_wrong_secret_is_401_from_the_cache_too(key):
    _get(key)

    response, sqls = _get(key, token=f"{key.key_id}.wrong")

    assert response.status_code == 401
    assert response.json() == _error(401, "unauthorized", "Invalid API key.")
    assert _key_reads(sqls) == 0


def test_an_unknown_key_is_not_cached(key):
    for _ in range(2):
        response, sqls = _get(key, token="nokey.secret")
        assert response.status_code == 401
        assert _key_reads(sqls) == 1


def test_a_key_revoked_elsewhere_is_401_once_the_notification_arrives(key, elsewhere):
    _get(key)

    elsewhere.execute(
        "UPDATE stores_apikey SET revoked_at = now() WHERE id = %s", [key.id]
    )
    assert keys.wait(timeout=5)
    response, sqls = _get(key)

    assert response.status_code == 401
    assert response.json() == _error(
        401, "unauthorized", "This API key has been revoked."
    )
    assert _key_reads(sqls) == 1


def test_a_store_deactivated_elsewhere_is_403_once_the_notification_arrives(
    key, elsewhere
):
    _get(key)

    elsewhere.execute(
        "UPDATE stores_store SET is_active = false WHERE id = %s", [key.store_id]
    )
    assert keys.wait(timeout=5)
    response, _sqls = _get(key)

    assert response.status_code == 403
    assert response.json() == _error(403, "forbidden", "store is not active")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE stores_outlet SET name = 'Renamed'",
        "DELETE FROM stores_outlet",
        "INSERT INTO stores_apikey (id, store_id, outlet_id, name, key_id, secret_hash,"
        " secret_md5_hash, scopes, rate_limit, created_at) SELECT id + 1, store_id,"
        " NULL, 'other', key_id || 'x', secret_hash, secret_md5_hash, scopes,"
        " rate_limit, created_at FROM stores_apikey",
    ],
)
def test_any_change_to_keys_stores_or_outlets_empties_the_cache(
    key, elsewhere, statement
):
    OutletFactory(store=key.store)
    _get(key)

    elsewhere.execute(statement)
    assert keys.wait(timeout=5)
    response, sqls = _get(key)

    assert response.status_code == 200
    assert _key_reads(sqls) == 1


def test_a_rolled_back_change_notifies_nobody(key, elsewhere):
    _get(key)

    with elsewhere.transaction(force_rollback=True):
        elsewhere.execute(
            "UPDATE stores_apikey SET revoked_at = now() WHERE id = %s", [key.id]
        )
    assert not keys.wait(timeout=0.2)
    response, sqls = _get(key)

    assert response.status_code == 200
    assert _key_reads(sqls) == 0


def test_a_key_revoked_in_this_process_is_401_at_once(key):
    _get(key)

    services.api_key_revoke(key_id=key.key_id)
    response, sqls = _get(key)

    assert response.status_code == 401
    assert response.json() == _error(
        401, "unauthorized", "This API key has been revoked."
    )
    assert _key_reads(sqls) == 1


def test_a_store_saved_in_this_process_empties_the_cache_at_once(key):
    _get(key)

    store = key.store
    store.is_active = False
    store.save()
    response, _sqls = _get(key)

    assert response.status_code == 403
    assert response.json() == _error(403, "forbidden", "store is not active")


def test_while_the_listener_is_lost_every_request_reads_the_key(
    key, elsewhere, monkeypatch
):
    monkeypatch.setattr(keycache, "RETRY_AFTER", 3600.0)
    _get(key)

    # The listening backend ends (a restart, an administrator); the revocation
    # committed after it is never notified to this process.
    elsewhere.execute("SELECT pg_terminate_backend(%s, 5000)", [_listener_pid()])
    elsewhere.execute(
        "UPDATE stores_apikey SET revoked_at = now() WHERE id = %s", [key.id]
    )
    first, first_sqls = _get(key)
    second, second_sqls = _get(key)

    assert first.status_code == second.status_code == 401
    assert _key_reads(first_sqls) == _key_reads(second_sqls) == 1


def test_a_new_listener_starts_with_an_empty_cache(key, elsewhere, monkeypatch):
    monkeypatch.setattr(keycache, "RETRY_AFTER", 0.0)
    _get(key)
    lost = _listener_pid()

    elsewhere.execute("SELECT pg_terminate_backend(%s, 5000)", [lost])
    elsewhere.execute(
        "UPDATE stores_store SET is_active = false WHERE id = %s", [key.store_id]
    )
    response, sqls = _get(key)  # notices the loss, reads the key
    assert response.status_code == 403
    response, sqls = _get(key)  # listens again, on another connection

    assert _listener_pid() != lost
    assert response.status_code == 403
    assert _key_reads(sqls) == 1
    response, sqls = _get(key)
    assert response.status_code == 403
    assert _key_reads(sqls) == 0


def test_with_the_setting_off_every_request_reads_the_key(key, settings):
    settings.API_KEY_CACHE = False

    for _ in range(2):
        response, sqls = _get(key)
        assert response.status_code == 200
        assert _key_reads(sqls) == 1


def test_an_entry_older_than_max_age_is_read_again(key, monkeypatch):
    _get(key)
    monkeypatch.setattr(keycache, "MAX_AGE", 0.0)

    response, sqls = _get(key)

    assert response.status_code == 200
    assert _key_reads(sqls) == 1
