"""Reads of the stores app."""

from __future__ import annotations

import hmac
from collections import defaultdict
from collections.abc import Collection
from datetime import datetime

from django.db.models import QuerySet, Sum

from core import flake, sql
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


def _key(key_id: str) -> ApiKey | None:
    """The key with its store and outlet: one hand-written query (see
    ``core.sql``), on every request. Not cached in the process: a revoked key, a
    deactivated store or outlet is refused from the first request after the commit,
    and nothing but a LISTEN connection (which PgBouncer in transaction pooling
    cannot serve) could tell a process that its copy went stale."""
    row = _key_row(key_id)
    if row is None:
        return None
    api_key, api_key.store, api_key.outlet = sql.load(row, *_key_loaders())
    return api_key


def _key_loaders() -> tuple[sql.Loader, sql.Loader, sql.Loader]:
    return sql.loader(ApiKey, "k"), sql.loader(Store, "s"), sql.loader(Outlet, "o")


def _key_row(key_id: str) -> tuple | None:
    key, store, outlet = _key_loaders()
    rows = sql.fetch_rows(
        f"SELECT {key.columns}, {store.columns}, {outlet.columns} "
        "FROM stores_apikey k JOIN stores_store s ON s.id = k.store_id "
        "LEFT JOIN stores_outlet o ON o.id = k.outlet_id WHERE k.key_id = %s",
        [key_id],
    )
    return rows[0] if rows else None


def api_key_by_token(token: str) -> ApiKey | None:
    """The key whose ``<key_id>.<secret>`` token this is (revoked keys included)."""
    key_id, sep, secret = token.partition(".")
    if not sep or not key_id or not secret:
        return None
    api_key = _key(key_id)
    if api_key is None or not hmac.compare_digest(
        api_key.secret_hash, hash_secret(secret)
    ):
        return None
    return api_key


def api_key_by_md5(key_id: str, secret_md5: str) -> ApiKey | None:
    """Capillary Basic: the key whose md5(secret) is ``secret_md5``."""
    api_key = _key(key_id)
    if api_key is None or not hmac.compare_digest(
        api_key.secret_md5_hash, hash_secret(secret_md5.lower())
    ):
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
