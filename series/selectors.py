"""Reads of the series app."""

from __future__ import annotations

from django.db.models import Q, QuerySet

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


def series_flake_id(*, store: Store, series_id: int) -> int | None:
    """The flake id of the store's series with this id (compact: one query; a flake
    id is returned as given, the issue checks it)."""
    if not compact.is_compact(series_id):
        return series_id
    return (
        series_queryset(store=store)
        .filter(compact_id=series_id)
        .values_list("id", flat=True)
        .first()
    )


def latest_redemption_query(*, series_id: int) -> sql.Query:
    """When a code of the series was last redeemed (rolled-back uses excluded).

    Redemption.series_id (copied at redeem) and its partial index make this one
    index lookup, whatever the number of the series' coupons. Hand-written
    (``core.sql``): every issue answers with it.
    """
    return (
        "SELECT MAX(created_at) FROM coupons_redemption "
        "WHERE series_id = %s AND rolled_back_at IS NULL",
        [series_id],
        (sql.ValueLoader(Redemption._meta.get_field("created_at")),),
    )


def series_uploaded_counts(*, series: Series) -> tuple[int, int]:
    """(uploaded codes in all, not issued yet and still issuable) of an
    uploaded-codes series; else 0s."""
    if series.code_format != CodeFormat.UPLOADED:
        return 0, 0
    codes = Coupon.objects.filter(series_id=series.id)
    return codes.count(), codes.issuable().count()
