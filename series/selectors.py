"""Reads of the series app."""

from __future__ import annotations

from django.db.models import QuerySet

from core import flake, sql
from coupons.models import Coupon, Redemption
from series.models import CodeFormat, Series
from stores.models import Store


def series_queryset(*, store: Store) -> QuerySet[Series]:
    return Series.objects.for_store(store.id)


def series_by_ids(*, store: Store, ids: list[int]) -> list[Series]:
    """The store's series with these ids, in the order asked; unknown ids are left
    out (another store's series too). One query."""
    valid = [value for value in ids if 0 < value <= flake.MAX_ID]
    rows = series_queryset(store=store).filter(id__in=valid)
    found = {series.id: series for series in rows}
    return [found[value] for value in dict.fromkeys(valid) if value in found]


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
