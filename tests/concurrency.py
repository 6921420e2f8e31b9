"""Real concurrent requests for the PostgreSQL race tests."""

from __future__ import annotations

import threading

from django.db import connection
from rest_framework.test import APIClient


def post_at_once(
    client_factory, url: str, bodies: list[dict], *, timeout: float = 120
) -> list[tuple[int, dict]]:
    """POST ``bodies[i]`` from thread i (its own client and database connection),
    all released together by a barrier; ``(status, json)`` per body, in order.

    An exception in a thread is raised again here, in the test's thread.
    """
    threads = len(bodies)
    barrier = threading.Barrier(threads)
    results: list[tuple[int, dict] | BaseException | None] = [None] * threads

    def post(index: int) -> None:
        api: APIClient = client_factory()
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
        worker.join(timeout=timeout)
    assert not any(worker.is_alive() for worker in workers)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results
