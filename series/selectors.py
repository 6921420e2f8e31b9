"""Reads of the series app."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from core import compact, flake, sql
from coupons.models import Coupon, Redemption
from series.models import CodeFormat, Series
from stores.models import Store


def series_queryset(*, store: Store) -> QuerySet[Series]:
    return Series.objects.for_store(store.id)


def series_by_ids(*, store: Store, ids: list[int]) -> list[Series]:
    """The store's series with these ids (compact ids, or flake ids as the Capillary
    dialect showed them before), in the order asked; unknown ids are left out
    (another store's series too). One query."""
    valid = [value for value in ids if 0 < value <= flake.MAX_ID]
    small = [value for value in valid if compact.is_compact(value)]
    large = [value for value in valid if not compact.is_compact(value)]
    rows = series_queryset(store=store).filter(
        Q(compact_id__in=small) | Q(id__in=large)
    )
    found = {}
    for series in rows:
        found[series.id] = found[series.compact_id] = series
    return list({found[v].id: found[v] for v in valid if v in found}.values())


def series_to_issue(
    *, store: Store, series_id: int
) -> tuple[int | None, datetime | None]:
    """What the Capillary issue needs of the series id a client gave, in one query
    (hand-written, ``core.sql``: every issue makes it): the flake id of the store's
    series with that id (a compact id, or a flake id as the dialect showed before;
    None when the store has no such series), and when a code of it was last redeemed
    (rolled-back uses excluded; None: never), which its answer shows.

    Redemption.series_id (copied at redeem) and its partial index make the latter
    one index lookup, whatever the number of the series' coupons.
    """
    if not 0 < series_id <= flake.MAX_ID:
        return None, None
    column = "compact_id" if compact.is_compact(series_id) else "id"
    row = sql.fetch_one(
        (
            "SELECT s.id, (SELECT MAX(r.created_at) FROM coupons_redemption r "
            "WHERE r.series_id = s.id AND r.rolled_back_at IS NULL) "
            f"FROM series_series s WHERE s.store_id = %s AND s.{column} = %s",
            [store.id, series_id],
            (
                sql.Columns(1),
                sql.ValueLoader(Redemption._meta.get_field("created_at")),
            ),
        )
    )
    if row is None:
        return None, None
    (found,), redeemed_at = row
    return found, redeemed_at


def series_uploaded_counts(*, series: Series) -> tuple[int, int]:
    """(uploaded codes in all, not issued yet and still issuable) of an
    uploaded-codes series; else 0s."""
    if series.code_format != CodeFormat.UPLOADED:
        return 0, 0
    codes = Coupon.objects.filter(series_id=series.id)
    return codes.count(), codes.issuable().count()


def series_most_redeemed(
    *, store_ids: Collection[int], since_id: int, limit: int
) -> list[dict[str, Any]]:
    """The ``limit`` series of these stores with the most redemptions that count,
    from ``since_id`` on (the admin dashboard): ``{"series", "redemptions"}``, most
    first, the series with its store."""
    top = list(
        Redemption.objects.counting()
        .filter(store_id__in=store_ids, id__gte=since_id, coupon__series__isnull=False)
        .values("coupon__series_id")
        .annotate(n=Count("id"))
        .order_by("-n", "coupon__series_id")[:limit]
    )
    found = Series.objects.select_related("store").in_bulk(
        [row["coupon__series_id"] for row in top]
    )
    return [
        {"series": found[row["coupon__series_id"]], "redemptions": row["n"]}
        for row in top
        if row["coupon__series_id"] in found
    ]


def series_redeemed(series_id: int, *, at_most: int) -> int:
    """Uses of the series' codes that were not rolled back, counted up to
    ``at_most``: an index-only read of ``redemption_series_latest_idx`` (each
    redemption carries its coupon's series), instead of summing the counters of
    every code of the series."""
    uses = Redemption.objects.filter(series_id=series_id, rolled_back_at__isnull=True)
    return uses.order_by()[:at_most].count()
