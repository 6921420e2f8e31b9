"""Forcing one interleaving of concurrent requests (PostgreSQL race tests).

A second connection (``Holder``) holds a row lock or an uncommitted change while
requests run in threads of their own (``start``); once they are all waiting for it
(``wait_for_waiters``), the test lets go and every request goes on in the order the
database queues them. The free-running races of ``tests.concurrency`` find an
interleaving by luck; these pick the one a bug needs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections

T = TypeVar("T")


class Holder:
    """A connection of its own with an open transaction: ``run`` statements in it,
    then ``commit`` (or ``rollback``) to release what it holds. As a context manager
    it rolls back whatever it still holds at the end."""

    def __init__(self) -> None:
        self.db = connections.create_connection(DEFAULT_DB_ALIAS)
        self.db.ensure_connection()
        self.db.set_autocommit(False)

    def __enter__(self) -> Holder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # A failed test must not leave a transaction holding locks (the teardown's
        # TRUNCATE would wait for it forever).
        if self.db.connection is not None:
            self.rollback()

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self.db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def commit(self) -> None:
        self.db.commit()
        self.db.close()

    def rollback(self) -> None:
        self.db.rollback()
        self.db.close()


def start(work: Callable[[], T]) -> Callable[[], T]:
    """Run ``work()`` now in a thread with its own database connection; the returned
    function waits for it and returns its result (or raises its exception)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()

    def result(timeout: float = 60) -> T:
        thread.join(timeout)
        assert not thread.is_alive(), "the request did not finish"
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    return result


def wait_for_waiters(count: int, timeout: float = 20) -> None:
    """Until ``count`` other backends of this database wait for a lock."""
    deadline = time.monotonic() + timeout
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                "current_database() AND wait_event_type = 'Lock' "
                "AND pid <> pg_backend_pid()"
            )
            waiting = cursor.fetchone()[0]
        if waiting >= count:
            return
        assert time.monotonic() < deadline, f"{waiting} of {count} requests wait"
        time.sleep(0.02)
