"""Real concurrent requests for the PostgreSQL race tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def race(threads: int, work: Callable[[int], Any], *, timeout: float = 120) -> list:
    """Run ``work(i)`` in thread i, ``threads`` threads released together by a
    barrier, each with its own database connection; their results, in order.

    An exception in a thread is raised again here, in the test's thread.
    """
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as exc:  # reported below, in the test's thread
            results[index] = exc
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=timeout)
    assert not any(worker.is_alive() for worker in workers)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def post_at_once(
    client_factory, url: str, bodies: list[dict], *, timeout: float = 120
) -> list[tuple[int, dict]]:
    """POST ``bodies[i]`` from thread i (its own client), all at once (``race``);
    ``(status, json)`` per body, in order."""

    def post(index: int) -> tuple[int, dict]:
        response = client_factory().post(url, bodies[index], format="json")
        return response.status_code, response.json()

    return race(len(bodies), post, timeout=timeout)


def paynow_client(key, *, trace: str | None = None):
    """A PayNow (native) client for race tests: a server error comes back as a
    response to count, not as an exception in the test; with ``trace``, a fixed
    X-Request-ID, so error bodies compare exactly."""
    from rest_framework.test import APIClient

    client = APIClient(HTTP_X_REQUEST_ID=trace) if trace else APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"APIKey {key.token}")
    client.raise_request_exception = False
    return client


def capillary_client(key):
    """A Capillary client (a till's Basic header) for race tests: a server error
    comes back as a response to count, not as an exception in the test."""
    from rest_framework.test import APIClient

    from tests.series.conftest import basic_header

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic_header(key))
    client.raise_request_exception = False
    return client


def shoplazza_client(key):
    """A Shoplazza client (``Access-Token``) for race tests: a server error comes
    back as a response to count, not as an exception in the test."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_ACCESS_TOKEN=key.token)
    client.raise_request_exception = False
    return client


def dsn() -> dict:
    """``psycopg.connect`` arguments for the test database: a connection of its own,
    outside Django's."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    return {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"],
        "dbname": connection.settings_dict["NAME"],
    }
