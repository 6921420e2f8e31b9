"""The API key's row (key, store, outlet) in the shared cache, read in the round trip
that authentication makes to the cache anyway.

Every API request authenticates a key: without this, one SELECT on PostgreSQL beside
the cache read of the failed-authentication limit (``stores.throttling``). With it,
one MGET reads that limit's counter, the generation below and the key's cached row;
the SELECT runs only on a miss (bench/README.md: the CPU time this saves).

**A change is seen at once.** The cached row is stamped with the generation
(``apikey:generation``) read *before* the row was selected; a row is used only while
its stamp is the current generation. Every save or delete of an ApiKey, Store or
Outlet moves the generation on once its transaction commits (``changed``, connected
in ``StoresConfig.ready``), so every cached row goes stale at once: a revoked key, a
deactivated store or outlet, a new scope or rate limit is read from the database on
the next request. A request that selected a row before such a commit and caches it
after stamps it with the old generation: stale as soon as it is written.

**What it cannot see, and the bound.** A write that sends no ``post_save`` (a
``QuerySet.update``, raw SQL) and a generation that could not be moved (the cache
was down at that commit) are not seen until the cached row expires:
``API_KEY_CACHE_SECONDS`` (60; 0 switches the cache off). A generation that is missing
(a flushed or restarted cache) is set to a random number, never reused, so rows
stamped before it never match.

**Only a shared cache** (Redis): a per-process cache could not be told of a change
in another process, so with one (tests, development) nothing is cached here. A cache
that fails is skipped (``core.cache``): the key is read from the database.
"""

from __future__ import annotations

import secrets
import zlib
from collections.abc import Sequence
from functools import cache
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import transaction

from core import cache as shared_cache

GENERATION = "apikey:generation"


def seconds() -> int:
    """How long a cached row may serve (0: nothing is cached)."""
    if shared_cache.is_per_process():
        return 0
    return int(getattr(settings, "API_KEY_CACHE_SECONDS", 60))


@cache
def _prefix(columns: str) -> str:
    # The select list's checksum: a release that reads other columns never loads a
    # row cached by the one before.
    return f"apikey:{zlib.crc32(columns.encode()):08x}:"


def read(
    key_id: str, columns: str, also: Sequence[str] = ()
) -> tuple[tuple | None, int | None, dict[str, Any]]:
    """The cached row of ``key_id`` (None: not cached, or stale), the generation
    read, and the values of ``also`` found: one round trip."""
    entry_key = _prefix(columns) + key_id
    found = shared_cache.get_many_quietly([GENERATION, entry_key, *also])
    generation, entry = found.pop(GENERATION, None), found.pop(entry_key, None)
    if generation is None or entry is None or entry[0] != generation:
        return None, generation, found
    return entry[1], generation, found


def write(key_id: str, columns: str, row: tuple | None, generation: int | None) -> None:
    """Cache ``row`` (None: there is no such key; nothing is cached), selected
    after ``generation`` was read."""
    if generation is None:
        # No generation yet: start one; rows are cached from the next request on.
        shared_cache.add_quietly(GENERATION, secrets.randbits(62), None)
    elif row is not None:
        shared_cache.set_quietly(
            _prefix(columns) + key_id, (generation, row), seconds()
        )


def _advance() -> None:
    if not shared_cache.available():
        return
    try:
        caches["default"].incr(GENERATION)
    except ValueError:
        pass  # no generation: no cached row is used until one is set
    except shared_cache.CACHE_ERRORS as exc:
        shared_cache.failed(exc)


def changed(sender: Any = None, **kwargs: Any) -> None:
    """An ApiKey, Store or Outlet was saved or deleted: once its transaction
    commits (at once outside one), no cached row is used any more."""
    if seconds():
        transaction.on_commit(_advance, using=kwargs.get("using"))
