"""64-bit time-ordered flake IDs.

Layout (63 bits, so the value always fits a signed BIGINT):
41 bits of milliseconds since EPOCH_MS | 10 bits worker | 12 bits sequence.

IDs from one worker are strictly increasing; IDs from different workers never collide
as long as each live process has its own worker number. The worker number comes from
``settings.FLAKE_WORKER_ID`` when set, else from the process id, and is re-derived in
a forked child so that gunicorn workers forked from one master differ.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime

EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
WORKER_BITS = 10
SEQUENCE_BITS = 12
MAX_WORKER = (1 << WORKER_BITS) - 1
MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1
TIMESTAMP_SHIFT = WORKER_BITS + SEQUENCE_BITS
MAX_ID = (1 << 63) - 1


class FlakeGenerator:
    def __init__(self, worker_id: int) -> None:
        if not 0 <= worker_id <= MAX_WORKER:
            raise ValueError(f"worker_id must be in 0..{MAX_WORKER}")
        self.worker_id = worker_id
        self._lock = threading.Lock()
        self._last_ms = -1
        self._sequence = 0

    def next_id(self) -> int:
        return self.next_ids(1)[0]

    def next_ids(self, count: int) -> list[int]:
        """Return ``count`` increasing IDs under one lock acquisition (bulk inserts)."""
        ids: list[int] = []
        with self._lock:
            while len(ids) < count:
                now = _now_ms()
                if now < self._last_ms:
                    # The clock stepped back: keep issuing from the last timestamp
                    # rather than risk a duplicate.
                    now = self._last_ms
                if now == self._last_ms:
                    if self._sequence > MAX_SEQUENCE:
                        now = self._wait_next_ms()
                        self._sequence = 0
                else:
                    self._sequence = 0
                self._last_ms = now
                base = ((now - EPOCH_MS) << TIMESTAMP_SHIFT) | (
                    self.worker_id << SEQUENCE_BITS
                )
                take = min(count - len(ids), MAX_SEQUENCE + 1 - self._sequence)
                ids.extend(
                    base | seq for seq in range(self._sequence, self._sequence + take)
                )
                self._sequence += take
        return ids

    def _wait_next_ms(self) -> int:
        """The next millisecond for a full sequence.

        Normally the clock is about to tick: wait for it. When the clock is well
        behind the last timestamp (it stepped back, or a test travelled in time),
        waiting could take hours; move the logical clock on instead. IDs stay
        unique and increasing, and real time catches up later.
        """
        now = _now_ms()
        if now + 1 < self._last_ms:
            return self._last_ms + 1
        while now <= self._last_ms:
            time.sleep(0.0001)
            now = _now_ms()
        return now


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _configured_worker_id() -> int:
    """The worker bits: ``FLAKE_WORKER_ID`` (read at first use, after a fork), else a
    value derived from the process id in the upper half (512..1023).

    Explicit ids should use the lower half (0..511): ``config/gunicorn.py`` gives each
    gunicorn worker ``FLAKE_MACHINE_ID * 64 + slot``, so web workers never share an
    id, and management commands on the same machine cannot take one of theirs.
    """
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    configured = os.environ.get("FLAKE_WORKER_ID") or getattr(
        settings, "FLAKE_WORKER_ID", None
    )
    if configured not in (None, ""):
        # Refuse rather than wrap: 1024 & MAX_WORKER would be 0, silently sharing
        # worker 0 (and so its IDs) with another process.
        try:
            worker_id = int(configured)
        except (TypeError, ValueError):
            worker_id = -1
        if not 0 <= worker_id <= MAX_WORKER:
            raise ImproperlyConfigured(
                f"FLAKE_WORKER_ID must be an integer in 0..{MAX_WORKER}, "
                f"not {configured!r}."
            )
        return worker_id
    half = (MAX_WORKER + 1) // 2
    return half + os.getpid() % half


_generator: FlakeGenerator | None = None
_generator_pid: int | None = None
_init_lock = threading.Lock()


def _get_generator() -> FlakeGenerator:
    global _generator, _generator_pid
    pid = os.getpid()
    if _generator is None or _generator_pid != pid:
        with _init_lock:
            if _generator is None or _generator_pid != pid:
                _generator = FlakeGenerator(_configured_worker_id())
                _generator_pid = pid
    return _generator


def next_id() -> int:
    return _get_generator().next_id()


def next_ids(count: int) -> list[int]:
    return _get_generator().next_ids(count)


def timestamp_of(flake_id: int) -> datetime:
    ms = (flake_id >> TIMESTAMP_SHIFT) + EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def parse(value: object) -> int | None:
    """A flake ID from its string or integer form, or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif (
        isinstance(value, str)
        and value.isascii()
        and value.isdigit()
        and len(value) <= 19
    ):
        number = int(value)
    else:
        return None
    return number if 0 < number <= MAX_ID else None
