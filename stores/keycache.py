"""The API keys a process has looked up, so that authenticating a request costs no
database round trip (every API request authenticates; see ``selectors._key``).

Kept right by PostgreSQL. A statement trigger on ``stores_apikey``, ``stores_store``
and ``stores_outlet`` (migration 0005) calls ``pg_notify`` on ``CHANNEL``; the
notification goes out when the change commits, however it was made (the admin, the
API, a queryset ``update()``, psql). Each process LISTENs on a connection of its own
and, before every lookup, reads what has arrived without waiting: any notification
empties its cache. So a revoked key, a deactivated store or outlet is refused from
the first request after PostgreSQL has delivered the notification (well under a
millisecond on one host), as it was refused from the first request after the
commit when every request read the key. While the listening connection is down,
nothing is cached or served from the cache; once it is back, the cache starts
empty. A change saved in this process empties its cache at once (``apps.py``).
Every entry is also read again after ``MAX_AGE`` seconds, in case the link to the
database silently stopped delivering.

It holds the key's database row (immutable values: the secret's hashes, not the
secret), never model instances: each request builds its own. Unknown keys are not
cached. On SQLite, and with ``settings.API_KEY_CACHE`` false (the test settings,
whose transactions never commit), every lookup reads the database.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)

CHANNEL = "couponhub_api_keys"
MAX_AGE = 60.0  # seconds an entry is trusted without a notification
MAX_ENTRIES = 10_000
RETRY_AFTER = 5.0  # seconds between attempts to reconnect the listener


class KeyCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[Hashable, tuple[float, tuple[Any, ...]]] = {}
        self._generation = 0  # moves on every emptying; see get()
        self._listener: psycopg.Connection | None = None
        self._pid = 0
        self._retry_at = 0.0
        self._lost = False
        self._notifications = 0
        self._inherited: list[psycopg.Connection] = []

    def get(
        self, key: Hashable, load: Callable[[Hashable], tuple[Any, ...] | None]
    ) -> tuple[Any, ...] | None:
        """The row cached for ``key``, else ``load(key)`` (cached when not None)."""
        if not enabled():
            return load(key)
        with self._lock:
            if not self._listening():
                return load(key)
            entry = self._rows.get(key)
            if entry is not None and time.monotonic() - entry[0] < MAX_AGE:
                return entry[1]
            generation = self._generation
        row = load(key)
        with self._lock:
            # A notification read while the row was loading may be about it: the
            # row is then not kept (the next lookup reads it again).
            if row is not None and generation == self._generation:
                if len(self._rows) >= MAX_ENTRIES:
                    self._rows.clear()
                self._rows[key] = (time.monotonic(), row)
        return row

    def clear(self) -> None:
        with self._lock:
            self._clear()

    def wait(self, timeout: float) -> bool:
        """Block until a notification arrives (emptying the cache) or ``timeout``
        passes; True if one arrived. For tests of changes made elsewhere."""
        with self._lock:
            seen = self._notifications
            if not self._listening():
                return False
            if self._notifications != seen:  # it had arrived already
                return True
            listener = self._listener
            assert listener is not None
            try:
                for _notify in listener.notifies(timeout=timeout, stop_after=1):
                    self._notifications += 1
                    self._clear()
                    return True
            except psycopg.OperationalError:
                self._drop()
            return False

    def close(self) -> None:
        """Stop listening and empty the cache; the next lookup listens again."""
        with self._lock:
            self._drop()
            self._retry_at = 0.0

    def _clear(self) -> None:
        self._rows.clear()
        self._generation += 1

    def _listening(self) -> bool:
        """Whether notifications are being received; reads any that arrived.
        Called with the lock held."""
        if self._pid != os.getpid():
            # A forked child must neither use the parent's connection nor let it be
            # finalized (that would end it for the parent too): it keeps it, unused.
            if self._listener is not None:
                self._inherited.append(self._listener)
            self._listener, self._pid = None, os.getpid()
            self._clear()
        if self._listener is None and not self._connect():
            return False
        assert self._listener is not None
        pgconn = self._listener.pgconn
        notifications = self._notifications
        try:
            pgconn.consume_input()  # never blocks: libpq's socket is non-blocking
            # Parses what was read: notifications, and the FATAL error a backend
            # that is going away sends before it closes the socket (a notice, on an
            # idle connection; see _on_notice).
            while pgconn.notifies() is not None:
                self._notifications += 1
        except psycopg.OperationalError:
            self._lost = True
        if self._lost or pgconn.status != psycopg.pq.ConnStatus.OK:
            log.warning("API key cache: the listening connection was lost")
            self._drop()
            return False
        if self._notifications != notifications:
            self._clear()
        return True

    def _connect(self) -> bool:
        if time.monotonic() < self._retry_at:
            return False
        listener = None
        try:
            params = connection.get_connection_params()
            params.pop("cursor_factory", None)
            listener = psycopg.connect(**params, autocommit=True)
            listener.add_notice_handler(self._on_notice)
            listener.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error:
            log.warning("API key cache: cannot listen; reading keys every time")
            if listener is not None:
                with contextlib.suppress(psycopg.Error):
                    listener.close()
            self._retry_at = time.monotonic() + RETRY_AFTER
            return False
        self._listener, self._lost = listener, False
        self._clear()  # whatever was cached before listening may be stale
        return True

    def _on_notice(self, diagnostic: psycopg.errors.Diagnostic) -> None:
        # Called by libpq inside consume_input(), so with the lock held.
        if diagnostic.severity_nonlocalized in ("ERROR", "FATAL", "PANIC"):
            self._lost = True

    def _drop(self) -> None:
        self._clear()
        if self._listener is not None:
            with contextlib.suppress(psycopg.Error):  # already gone
                self._listener.close()
        self._listener = None
        self._retry_at = time.monotonic() + RETRY_AFTER


def enabled() -> bool:
    return connection.vendor == "postgresql" and getattr(
        settings, "API_KEY_CACHE", True
    )


keys = KeyCache()
