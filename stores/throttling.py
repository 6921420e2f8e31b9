"""Rate limits on the shared cache (Redis in production): per API key, and failed
authentications per client address.

Each limit is a fixed window counted with one atomic increment: on Redis one
``MULTI; SET key 0 EX ttl NX; INCR key; EXEC`` round trip, elsewhere ``cache.add`` then
``cache.incr``. Read-then-write (DRF's ``SimpleRateThrottle`` keeps a list of
timestamps, reads it, appends, writes it back) lets concurrent requests all read the
same history and all pass; an increment cannot. Each key's window is offset by a hash
of the key, so windows of different keys do not all end at the same second.

The cache may fail (``core.cache``): a limit that cannot be counted is not enforced
(fails open, with a logged warning), and the request is served as usual.
"""

from __future__ import annotations

import ipaddress
import math
import re
import time
import zlib
from dataclasses import dataclass
from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework import exceptions
from rest_framework.throttling import BaseThrottle

from core import cache as shared_cache

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The forms the admin's field accepts (ApiKey.rate_limit) and the settings check.
_RATE = re.compile(r"^(\d+)/(s|sec|second|m|min|minute|h|hour|d|day)$")


def parse_rate(rate: str) -> tuple[int, int]:
    """``"600/min"`` -> ``(600, 60)``: requests and the window in seconds."""
    match = _RATE.match(rate)
    if match is None:
        raise ValueError(f"Not a rate: {rate!r} (use N/s, N/min, N/hour or N/day).")
    return int(match[1]), _PERIODS[match[2][0]]


@dataclass(frozen=True)
class Usage:
    """Where a counter stands in its current window."""

    limit: int
    period: int
    count: int
    reset: int  # whole seconds until the window ends (at least 1)

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)

    def headers(self) -> dict[str, str]:
        """IETF draft-ietf-httpapi-ratelimit-headers (-07) fields."""
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
            "RateLimit-Policy": f"{self.limit};w={self.period}",
        }


def _window(ident: str, period: int, now: float) -> tuple[int, int]:
    """The window's number and the whole seconds left in it."""
    offset = zlib.crc32(ident.encode()) % period
    number = int((now - offset) // period)
    end = (number + 1) * period + offset
    return number, max(1, math.ceil(end - now))


def _increment(key: str, ttl: int) -> int:
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        # One round trip, atomic, and the key always carries its expiry (Django's
        # RedisCache.incr is EXISTS then INCR, and an INCR of a key that expired in
        # between would make one that never expires). Integers are stored raw by
        # Django's RedisSerializer, so cache.get reads this counter back as an int.
        key = backend.make_and_validate_key(key)
        client = backend._cache.get_client(key, write=True)
        with client.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=ttl, nx=True)
            pipe.incr(key)
            _, count = pipe.execute()
        return int(count)
    if backend.add(key, 1, ttl):
        return 1
    try:
        return backend.incr(key)
    except ValueError:  # expired between add and incr
        backend.add(key, 1, ttl)
        return 1


def _key(scope: str, ident: str, period: int, number: int) -> str:
    return f"ratelimit:{scope}:{ident}:{period}:{number}"


def hit(scope: str, ident: str, limit: int, period: int) -> Usage | None:
    """Count one event; None when the cache cannot count (the limit is not enforced)."""
    if not shared_cache.available():
        return None
    number, reset = _window(ident, period, time.time())
    try:
        count = _increment(_key(scope, ident, period, number), period + 1)
    except shared_cache.CACHE_ERRORS as exc:
        shared_cache.failed(exc)
        return None
    return Usage(limit=limit, period=period, count=count, reset=reset)


# --- per API key ----------------------------------------------------------------------


class ApiKeyRateThrottle(BaseThrottle):
    """``ApiKey.rate_limit`` (e.g. ``600/min``), else ``settings.API_KEY_RATE_LIMIT``.

    Counted per key across every process, since the cache is shared. The usage is
    left on the request for ``rate_limit_headers``.
    """

    def __init__(self) -> None:
        self._wait: int | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        api_key = getattr(request, "auth", None)
        rate = getattr(api_key, "rate_limit", "") or settings.API_KEY_RATE_LIMIT
        if api_key is None or not rate:
            return True
        limit, period = parse_rate(rate)
        usage = hit("key", str(api_key.pk), limit, period)
        request.rate_limit_usage = usage
        if usage is None:
            return True
        self._wait = usage.reset
        return usage.allowed

    def wait(self) -> int | None:
        return self._wait


def rate_limit_headers(request: Any) -> dict[str, str]:
    """The ``RateLimit-*`` headers of the request's key limit, if it was counted."""
    usage = getattr(request, "rate_limit_usage", None)
    return usage.headers() if usage is not None else {}


# --- client addresses and failed authentication ------------------------------------


def client_address(request: Any) -> str:
    """The client's IP address: ``REMOTE_ADDR``, or with ``TRUSTED_PROXY_COUNT = N``
    (N reverse proxies in front, each appending its peer to ``X-Forwarded-For``) the
    address the outermost trusted proxy saw, the N-th entry from the right. Entries
    further left are whatever the client sent, so they are never used.
    """
    meta = request.META
    remote = meta.get("REMOTE_ADDR", "") or ""
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if proxies > 0:
        hops = [
            hop.strip()
            for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if hop.strip()
        ]
        if hops:
            candidate = hops[-proxies] if len(hops) >= proxies else hops[0]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass
    return remote


def _address_bucket(address: str) -> str:
    """IPv6 clients are counted per /64 (one subscriber's prefix), IPv4 per address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _auth_failure_rate() -> tuple[int, int] | None:
    rate = getattr(settings, "AUTH_FAILURE_RATE_LIMIT", "")
    return parse_rate(rate) if rate else None


_GUARDED = "_auth_failures_checked"


@dataclass(frozen=True)
class AddressCheck:
    """The read of ``refuse_blocked_address``, for a caller that makes it in a
    round trip of its own (``stores.auth`` reads the API key's cached row with it)."""

    key: str  # the cache key of the address's failures in the current window
    limit: int
    period: int
    reset: int

    def refuse(self, request: Any, found: dict[str, Any]) -> None:
        """429 (``Throttled``) if ``found`` (the cache's values, empty when the cache
        could not say: fail open) puts the address at its limit; the request's
        address is checked from here on."""
        setattr(request, _GUARDED, True)
        if int(found.get(self.key, 0)) >= self.limit:
            raise exceptions.Throttled(
                wait=self.reset,
                # DRF adds "Expected available in N seconds."
                detail="Too many failed authentication attempts from this address.",
            )


def address_check(request: Any) -> AddressCheck | None:
    """What ``refuse_blocked_address`` reads; None when there is nothing to check
    (no limit, or checked already: once per request, as Capillary tries two header
    forms)."""
    rate = _auth_failure_rate()
    if rate is None or getattr(request, _GUARDED, False):
        return None
    ident = _address_bucket(client_address(request))
    limit, period = rate
    number, reset = _window(ident, period, time.time())
    return AddressCheck(
        key=_key("authfail", ident, period, number),
        limit=limit,
        period=period,
        reset=reset,
    )


def refuse_blocked_address(request: Any) -> None:
    """429 (``Throttled``) for an address past its failed-authentication limit.

    Checked before the credential is, so a blocked address learns nothing more, not
    even from a right guess. Once per request (Capillary tries two header forms).
    """
    check = address_check(request)
    if check is not None:
        check.refuse(request, shared_cache.get_many_quietly([check.key]))


def count_auth_failure(request: Any) -> None:
    rate = _auth_failure_rate()
    if rate is not None:
        hit("authfail", _address_bucket(client_address(request)), *rate)


class AdminLoginLockout(AxesStandaloneBackend):
    """django-axes' lockout of the admin login per client address.

    Only for an ``authenticate()`` that carries a request (the login form): one
    without (a test client's ``login()``, a command) is no attempt from an address.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
