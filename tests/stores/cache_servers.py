"""Caches for the fault tests: the real Redis (DB 5), a dead port, a black hole.

The CACHES used are those the production settings build for a ``CACHE_URL`` (the
settings file run again with that environment), so the tests see the real timeouts.
"""

from __future__ import annotations

import runpy
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REDIS_URL = "redis://127.0.0.1:6379/5"
BASE_SETTINGS = Path(__file__).resolve().parents[2] / "config" / "settings" / "base.py"


def redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def needs_redis() -> None:
    if not redis_up():
        pytest.skip("Redis is not running on 127.0.0.1:6379")


def production_caches(monkeypatch, url: str) -> dict:
    """``settings.CACHES`` as ``config/settings/base.py`` builds it for ``url``."""
    monkeypatch.setenv("CACHE_URL", url)
    monkeypatch.setenv("SECRET_KEY", "x" * 50)
    return runpy.run_path(str(BASE_SETTINGS))["CACHES"]


def flush_redis_db5() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


@contextmanager
def closed_port() -> Iterator[str]:
    """A Redis URL whose port nobody listens on (a Redis that is down)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    yield f"redis://127.0.0.1:{port}/5"


@contextmanager
def black_hole() -> Iterator[str]:
    """A Redis URL whose server accepts connections and never answers."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(256)
    server.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)  # read nothing, answer nothing

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/5"
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        server.close()
