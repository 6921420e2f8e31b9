"""Reads of the stores app."""

from __future__ import annotations

import hmac
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from django.db.models import QuerySet, Sum

from core import cache as shared_cache
from core import flake, sql
from stores import key_cache
from stores.models import ApiKey, FailedLookupCount, Outlet, Store
from stores.services import hash_secret


def store_get(*, store_id: object) -> Store | None:
    parsed = flake.parse(store_id)
    if parsed is None:
        return None
    return Store.objects.filter(id=parsed).first()


def api_key_list(*, store: Store) -> QuerySet[ApiKey]:
    return (
        ApiKey.objects.filter(store=store)
        .select_related("outlet")
        .order_by("-created_at")
    )


def api_key_get(
    key_id: str, *, also: Sequence[str] = ()
) -> tuple[ApiKey | None, dict[str, Any]]:
    """The key with its store and outlet (None: no such key), and the shared
    cache's values of the keys ``also`` (what authentication reads there anyway),
    found in one round trip to the cache.

    The key's row is cached in the shared cache (``stores.key_cache``: a change of
    the key, its store or outlet is seen from the commit on); on a miss, or without
    a shared cache, it is one hand-written query (``core.sql``). Nothing is cached
    in the process: it could not learn of a change made by another one."""
    if not possible_key_id(key_id):
        return None, shared_cache.get_many_quietly(list(also))
    columns = _key_columns()
    if key_cache.seconds():
        row, generation, found = key_cache.read(key_id, columns, also)
        if row is None:
            row = _key_row(key_id)
            key_cache.write(key_id, columns, row, generation)
    else:
        found = shared_cache.get_many_quietly(list(also))
        row = _key_row(key_id)
    if row is None:
        return None, found
    api_key, api_key.store, api_key.outlet = sql.load(row, *_key_loaders())
    return api_key, found


_KEY_ID_LENGTH = ApiKey._meta.get_field("key_id").max_length


def possible_key_id(key_id: str) -> bool:
    """Whether a key could have this id: printable ASCII that fits the column.

    Any other id, from any header form, is no key without a query: PostgreSQL refuses
    a text parameter holding NUL (a DataError, a 500 for an unauthenticated Basic
    header of ``base64("a\\x00b:...")``), and the refusal must be the dialect's 401,
    counted as a failed authentication like any unknown key."""
    return (
        0 < len(key_id) <= _KEY_ID_LENGTH and key_id.isascii() and key_id.isprintable()
    )


def _key(key_id: str) -> ApiKey | None:
    return api_key_get(key_id)[0]


def _key_loaders() -> tuple[sql.Loader, sql.Loader, sql.Loader]:
    return sql.loader(ApiKey, "k"), sql.loader(Store, "s"), sql.loader(Outlet, "o")


def _key_columns() -> str:
    key, store, outlet = _key_loaders()
    return f"{key.columns}, {store.columns}, {outlet.columns}"


def _key_row(key_id: str) -> tuple | None:
    rows = sql.fetch_rows(
        f"SELECT {_key_columns()} "
        "FROM stores_apikey k JOIN stores_store s ON s.id = k.store_id "
        "LEFT JOIN stores_outlet o ON o.id = k.outlet_id WHERE k.key_id = %s",
        [key_id],
    )
    return rows[0] if rows else None


def split_token(token: str) -> tuple[str, str] | None:
    """``<key_id>.<secret>`` -> (key_id, secret); None when it is not of that form."""
    key_id, sep, secret = token.partition(".")
    if not sep or not key_id or not secret:
        return None
    return key_id, secret


def secret_matches(api_key: ApiKey, secret: str) -> bool:
    return hmac.compare_digest(api_key.secret_hash, hash_secret(secret))


def md5_matches(api_key: ApiKey, secret_md5: str) -> bool:
    """Capillary Basic: ``secret_md5`` is md5(the key's secret)."""
    return hmac.compare_digest(api_key.secret_md5_hash, hash_secret(secret_md5.lower()))


def api_key_by_token(token: str) -> ApiKey | None:
    """The key whose ``<key_id>.<secret>`` token this is (revoked keys included)."""
    parts = split_token(token)
    if parts is None:
        return None
    api_key = _key(parts[0])
    if api_key is None or not secret_matches(api_key, parts[1]):
        return None
    return api_key


def api_key_by_md5(key_id: str, secret_md5: str) -> ApiKey | None:
    """Capillary Basic: the key whose md5(secret) is ``secret_md5``."""
    api_key = _key(key_id)
    if api_key is None or not md5_matches(api_key, secret_md5):
        return None
    return api_key


def api_key_by_id(key_id: str) -> ApiKey | None:
    return _key(key_id)


def stores_by_name(*, ids: Collection[int] | None, limit: int) -> list[Store]:
    """The first ``limit`` stores by name: every store (``ids`` None) or those."""
    stores = Store.objects.all()
    if ids is not None:
        stores = stores.filter(pk__in=ids)
    return list(stores.order_by("name")[:limit])


def failed_lookups_per_hour(
    *, store_ids: Collection[int], since: datetime
) -> dict[int, dict[datetime, int]]:
    """Failed code lookups per store and hour (its start, UTC) from ``since`` on,
    every key and reason summed (``stores.guessing``'s durable counts)."""
    rows = (
        FailedLookupCount.objects.filter(store_id__in=store_ids, hour__gte=since)
        .values("store_id", "hour")
        .annotate(n=Sum("failures"))
        .order_by()
    )
    counts: dict[int, dict[datetime, int]] = defaultdict(dict)
    for row in rows:
        counts[row["store_id"]][row["hour"]] = row["n"]
    return counts
