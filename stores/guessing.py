"""Guessing does not pay (issue 20, part 3): failed code lookups are counted, and an
API key that keeps failing them for one customer is locked out for a while.

A failed lookup is a code that names no coupon (``unknown_code``) or, for the
check-character codes, one whose check character is wrong (``typo``). Every dialect
view that looks codes up has one ``Guard`` per request (``self.guessing``, on the
dialect base view), asks it before the lookup (``check``) and tells it where the
lookup failed (``refuse_on``, ``refuse``, ``failed``); the rules are all here.

**The counter's key** is the pair (API key, customer): ``guess:<api key id>:<customer
id>``, the customer being the store's customer the request names, by its database
id once resolved, or ``-`` when the request names none (NewStore's find, a PayNow
validate without ``customer_id``). A request whose customer does not exist fails on
the customer (``customer_not_found``) before any code is looked up, so it counts
nothing. Another customer on the same key, or the same customer through another key,
has its own counter: a lockout never slows anyone else down. (A guesser who rotates
customers gets a budget per customer; the key's own rate limit bounds that.)

**The window slides**: a counter is the set of its failures' times (a Redis sorted
set: drop those older than the window, add, count, in one ``MULTI``; a per-process
cache does the same under a lock), so "N failures in the last W seconds" is exact
and concurrent failures are counted one by one. The limit is ``Store.code_guess_limit``
(admin), else ``settings.CODE_GUESS_LIMIT`` (0: not enforced); the window
``CODE_GUESS_WINDOW`` seconds.

**The lockout**: the failure that brings the count to the limit locks the pair out
for ``CODE_GUESS_COOLDOWN`` seconds. That request and every code lookup of the pair
until then, valid codes too (or guessing would still pay), are answered 429 with
``Retry-After`` in the dialect's own body (``exceptions.Throttled``, which each
dialect's error table renders). So of N failed lookups in a window, N-1 are answered
as usual. The lockout's first request (``SET NX`` on the lock) writes one audit
event, ``lockout`` on the API key, with the customer. A batch request (several codes
or coupon ids) is counted as a whole after its lookups; one that wrote something
(a coupon received or redeemed) is answered as usual and the lockout starts with the
next request, since a 429 would hide what it did.

**The cache may be down** (``core.cache``): nothing is counted or refused (fails
open), every lookup is answered as usual, nothing raises.

**Durable counts**: each request that failed lookups adds them to
``FailedLookupCount`` (one upsert per store, key, hour and reason), cache or no
cache, which the admin dashboard reads. A lookup that finds its code writes nothing
and costs one cache read (the lock), or none while the cache is down. With no limit
at all (``CODE_GUESS_LIMIT=0`` and no store limit) nothing is counted, refused or
recorded: the feature is off.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from rest_framework import exceptions

from audit import services as audit
from core import cache as shared_cache
from core import flake
from core.actors import Actor
from core.errors import DomainError
from stores.models import Store

logger = logging.getLogger(__name__)

UNKNOWN_CODE = "unknown_code"
TYPO = "typo"
# The domain reasons of a failed lookup, and what is counted for each; and the
# problem codes of one code among several (``coupons.errors.Refusal``; a code no
# coupon has is ``coupon_not_found`` in ``coupons.selectors.coupon_checks``).
FAILED_LOOKUPS = {"coupon_not_found": UNKNOWN_CODE, TYPO: TYPO}
FAILED_PROBLEMS = {
    "not_found": UNKNOWN_CODE,
    "coupon_not_found": UNKNOWN_CODE,
    TYPO: TYPO,
}
MESSAGE = "Too many failed code lookups for this customer."

_local = threading.Lock()


@dataclass(frozen=True)
class Policy:
    limit: int  # the failure that reaches it locks out
    window: int  # seconds
    cooldown: int  # seconds


def policy_of(store: Store) -> Policy | None:
    """The store's guessing limit, or None when none is enforced."""
    limit = store.code_guess_limit or int(getattr(settings, "CODE_GUESS_LIMIT", 0))
    if limit <= 0:
        return None
    return Policy(
        limit=limit,
        window=int(settings.CODE_GUESS_WINDOW),
        cooldown=int(settings.CODE_GUESS_COOLDOWN),
    )


@dataclass(frozen=True)
class Lockout:
    """A key+customer locked out until ``until`` (a ``time.time()``)."""

    until: float

    def retry_after(self, now: float | None = None) -> int:
        return max(1, math.ceil(self.until - (time.time() if now is None else now)))

    def error(self) -> exceptions.Throttled:
        # DRF adds "Expected available in N seconds."; Retry-After says the same.
        return exceptions.Throttled(wait=self.retry_after(), detail=MESSAGE)


def _who(customer_id: int | None) -> str:
    return "-" if customer_id is None else str(customer_id)


def _counter_key(key_id: int, customer_id: int | None) -> str:
    return f"guess:n:{key_id}:{_who(customer_id)}"


def _lock_key(key_id: int, customer_id: int | None) -> str:
    return f"guess:lock:{key_id}:{_who(customer_id)}"


def _any_lock_key(key_id: int) -> str:
    """Set while any customer of the key is locked out (the named-customer check)."""
    return f"guess:any:{key_id}"


def _count(key: str, failures: int, now: float, window: int) -> int:
    """Add ``failures`` at ``now`` to the sliding window's set; the failures in it."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        name = backend.make_and_validate_key(key)
        client = backend._cache.get_client(name, write=True)
        members = {f"{now:.6f}:{uuid.uuid4().hex[:12]}": now for _ in range(failures)}
        with client.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(name, "-inf", now - window)
            pipe.zadd(name, members)
            pipe.zcard(name)
            pipe.expire(name, window + 1)
            _, _, count, _ = pipe.execute()
        return int(count)
    # A per-process cache: the lock makes the read-modify-write one step here.
    with _local:
        times = [at for at in backend.get(key, ()) if at > now - window]
        times += [now] * failures
        backend.set(key, times, window + 1)
        return len(times)


def _until(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _add_failures(
    *, store_id: int, key_id: int, reason: str, failures: int, at: datetime
) -> None:
    """The durable count: one upsert, ``failures = failures + k``."""
    hour = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO stores_failedlookupcount "
            "(id, store_id, api_key_id, hour, reason, failures) "
            "VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (store_id, hour, api_key_id, reason) DO UPDATE "
            "SET failures = stores_failedlookupcount.failures + EXCLUDED.failures",
            [
                flake.next_id(),
                store_id,
                key_id,
                connection.ops.adapt_datetimefield_value(hour),
                reason,
                failures,
            ],
        )


class Guard:
    """One request's code lookups through one API key (a dialect view's
    ``self.guessing``)."""

    def __init__(self, *, store: Store, actor: Actor) -> None:
        self.store = store
        self.actor = actor
        self.key_id: int | None = actor.key.pk if actor.key is not None else None
        self.policy = policy_of(store) if self.key_id is not None else None
        self._any_locked: bool | None = None
        # The lockout this request's failures reached, if any (``settle``).
        self.lockout: Lockout | None = None

    # --- before a lookup ------------------------------------------------------------

    def locked(self, customer_id: int | None) -> Lockout | None:
        """The pair's lockout, if one holds now (None also when the cache cannot
        say: fail open)."""
        if self.policy is None:
            return None
        return self._lockout(_lock_key(self.key_id, customer_id))

    def check(self, customer_id: int | None) -> None:
        """429 (``Throttled``) while the key and this customer are locked out."""
        lockout = self.locked(customer_id)
        if lockout is not None:
            raise lockout.error()

    def locked_named(self, resolve: Callable[[], int | None]) -> Lockout | None:
        """``locked`` for a customer named by identifiers (Capillary v1.1's mobile,
        email...): ``resolve`` finds its id, called only while some customer of the
        key is locked out, so the usual request reads no customer for this."""
        if self.policy is None:
            return None
        if self._any_locked is None:
            self._any_locked = self._lockout(_any_lock_key(self.key_id)) is not None
        if not self._any_locked:
            return None
        return self.locked(resolve())

    def _lockout(self, key: str) -> Lockout | None:
        until = _until(shared_cache.get_quietly(key))
        if until is None or until <= time.time():
            return None
        return Lockout(until)

    # --- where a lookup failed ------------------------------------------------------

    def failed(
        self, customer_id: int | None, *, failures: int = 1, reason: str = UNKNOWN_CODE
    ) -> Lockout | None:
        """Count ``failures`` failed lookups of this key for this customer; the
        lockout when they reach the limit (this request's answer is then a 429,
        unless it wrote something), else None."""
        policy = self.policy
        if failures <= 0 or policy is None:
            return None
        now = time.time()
        _add_failures(
            store_id=self.store.pk,
            key_id=self.key_id,
            reason=reason,
            failures=failures,
            at=datetime.fromtimestamp(now, UTC),
        )
        if not shared_cache.available():
            return None
        try:
            count = _count(
                _counter_key(self.key_id, customer_id), failures, now, policy.window
            )
            if count < policy.limit:
                return None
            self.lockout = self._lock(customer_id, count, reason, now)
            return self.lockout
        except shared_cache.CACHE_ERRORS as exc:
            shared_cache.failed(exc)
            return None

    def refuse(
        self, customer_id: int | None, *, failures: int = 1, reason: str = UNKNOWN_CODE
    ) -> None:
        """``failed``, answering 429 at the limit."""
        lockout = self.failed(customer_id, failures=failures, reason=reason)
        if lockout is not None:
            raise lockout.error()

    def refuse_on(self, error: DomainError, customer_id: int | None) -> None:
        """Where a service's lookup failed: counts ``error`` if it is a failed lookup
        (``coupon_not_found``, ``typo``), 429 at the limit; otherwise nothing."""
        reason = FAILED_LOOKUPS.get(error.reason)
        if reason is not None:
            self.refuse(customer_id, reason=reason)

    def settle(self, *, wrote: bool) -> None:
        """The end of a batch (several codes or coupon ids, counted as they failed):
        429 if its failures reached a lockout and it wrote nothing; one that wrote
        (received, redeemed) is answered as usual, the lockout holds from the next
        request."""
        if self.lockout is not None and not wrote:
            raise self.lockout.error()

    def failed_on(
        self,
        error: DomainError,
        customer: int | Callable[[], int | None] | None,
    ) -> Lockout | None:
        """``failed`` if ``error`` is a failed lookup; ``customer`` may be a function
        that finds its id, called only then and only while a limit holds."""
        reason = FAILED_LOOKUPS.get(error.reason)
        if reason is None or self.policy is None:
            return None
        customer_id = customer() if callable(customer) else customer
        return self.failed(customer_id, reason=reason)

    def refuse_problems(self, customer_id: int | None, problems: Iterable[Any]) -> None:
        """Several codes looked up at once (a cart): counts the problems (``code``)
        that are failed lookups, each reason once; 429 at the limit."""
        counts = Counter(
            FAILED_PROBLEMS[problem.code]
            for problem in problems
            if problem.code in FAILED_PROBLEMS
        )
        for reason, failures in sorted(counts.items()):
            self.failed(customer_id, failures=failures, reason=reason)
        self.settle(wrote=False)

    def _lock(
        self, customer_id: int | None, count: int, reason: str, now: float
    ) -> Lockout:
        policy = self.policy
        backend = caches["default"]
        key = _lock_key(self.key_id, customer_id)
        until = now + policy.cooldown
        if not backend.add(key, until, policy.cooldown):
            held = _until(backend.get(key))
            if held is not None and held > now:
                return Lockout(held)  # locked already: no second event
            # A lock whose time is past but not yet evicted (clocks differ).
            backend.set(key, until, policy.cooldown)
        backend.set(_any_lock_key(self.key_id), until, policy.cooldown)
        audit.record(
            actor=self.actor,
            action="lockout",
            object_type="api_key",
            object_id=self.key_id,
            store_id=self.store.pk,
            customer_id=customer_id,
            changes={
                "reason": reason,
                "failures": count,
                "limit": policy.limit,
                "window_seconds": policy.window,
                "cooldown_seconds": policy.cooldown,
                "until": datetime.fromtimestamp(until, UTC),
            },
        )
        logger.warning(
            "code guessing: API key %s locked out for customer %s until %s "
            "(%s failed lookups in %s s)",
            self.actor.label,
            _who(customer_id),
            datetime.fromtimestamp(until, UTC).isoformat(),
            count,
            policy.window,
        )
        return Lockout(until)
