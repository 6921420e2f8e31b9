"""The shared cache (Redis in production) may be down or hung: its users degrade.

Rate limits fail open when the cache errs (``stores.throttling``), what is cached only
to save work is recomputed (``get_quietly``, ``set_quietly``), ``/healthz`` says the
cache is down, and nothing answers a 5xx because of it. The settings give the Redis
client short connect and read timeouts (``CACHE_TIMEOUT``), so a hung cache costs a
request at most that long; after an error each process leaves the cache alone for
``CACHE_RETRY_SECONDS``, so it costs one request per interval, not every request,
and logs one warning per interval, not one per request.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import caches
from redis.exceptions import RedisError

from core import metrics

logger = logging.getLogger(__name__)

# What a cache call raises when the cache server is unreachable or too slow: redis-py
# wraps socket errors in its own; OSError for any other network-backed backend.
CACHE_ERRORS = (RedisError, OSError)

# Backends whose counters live in one process: N workers count N times the limit.
PER_PROCESS_BACKENDS = frozenset(
    {
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
    }
)

_lock = threading.Lock()
_down_until = 0.0


def is_per_process() -> bool:
    return settings.CACHES["default"]["BACKEND"] in PER_PROCESS_BACKENDS


def available() -> bool:
    """False while this process waits out a recent cache error."""
    return time.monotonic() >= _down_until


def failed(exc: BaseException) -> None:
    """A cache call failed: skip the cache for a while, warn once for that while
    (each failure is counted: ``couponhub_cache_errors_total``)."""
    global _down_until
    metrics.cache_failed(exc)
    retry = float(getattr(settings, "CACHE_RETRY_SECONDS", 5))
    with _lock:
        now = time.monotonic()
        if now < _down_until:
            return
        _down_until = now + retry
    logger.warning(
        "cache unavailable (%s: %s); this process works without it (rate limits are "
        "not enforced, nothing is cached) for the next %.0f s",
        type(exc).__name__,
        exc,
        retry,
    )


def reset() -> None:
    """Forget a recorded failure (tests; a process that knows the cache is back)."""
    global _down_until
    _down_until = 0.0


def get_quietly(key: str) -> Any:
    """The cached value, or None when absent or when the cache cannot say."""
    if not available():
        return None
    try:
        return caches["default"].get(key)
    except CACHE_ERRORS as exc:
        failed(exc)
        return None


def get_many_quietly(keys: list[str]) -> dict[str, Any]:
    """The cached values of ``keys`` found, in one round trip (an MGET on Redis);
    empty when the cache cannot say."""
    if not keys or not available():
        return {}
    try:
        return caches["default"].get_many(keys)
    except CACHE_ERRORS as exc:
        failed(exc)
        return {}


def add_quietly(key: str, value: Any, timeout: float | None) -> None:
    """Cache a value unless the key holds one; a failure is logged, not raised."""
    if not available():
        return
    try:
        caches["default"].add(key, value, timeout)
    except CACHE_ERRORS as exc:
        failed(exc)


def set_quietly(key: str, value: Any, timeout: float) -> None:
    """Cache a value if the cache takes it; a failure is logged, not raised."""
    if not available():
        return
    try:
        caches["default"].set(key, value, timeout)
    except CACHE_ERRORS as exc:
        failed(exc)


def probe() -> str:
    """``up``, ``down``, or ``local`` (a per-process cache, nothing to reach)."""
    if is_per_process():
        return "local"
    try:
        caches["default"].get("healthz:probe")
    except CACHE_ERRORS as exc:
        metrics.cache_failed(exc)
        return "down"
    return "up"
