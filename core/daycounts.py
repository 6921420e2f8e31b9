"""Rows made per store and day over the last days, read through the ``(store, id)``
indexes.

Flake IDs are time-ordered, so "made since day X" is "id >= the first id of day X"
(``first_id_of``): a count of the last days reads only those days' rows. The apps'
selectors count their own tables with ``counts_per_day``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import UTC, date, datetime, time

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate, TruncHour

from core import flake


def first_id_of(day: date) -> int:
    """The smallest flake ID made on or after the start of ``day`` (UTC)."""
    return first_id_at(datetime.combine(day, time.min, tzinfo=UTC))


def first_id_at(moment: datetime) -> int:
    """The smallest flake ID made at or after ``moment``."""
    ms = int(moment.timestamp() * 1000) - flake.EPOCH_MS
    return max(ms, 0) << flake.TIMESTAMP_SHIFT


def counts_per_day(
    queryset: QuerySet, *, store_ids: Collection[int], since_id: int
) -> dict[int, dict[date, int]]:
    """How many rows of ``queryset`` each store made per day (UTC), from ``since_id``
    on: ``{store_id: {day: n}}``, days without a row left out."""
    return _counts(queryset, TruncDate("created_at"), store_ids, since_id)


def counts_per_hour(
    queryset: QuerySet, *, store_ids: Collection[int], since_id: int
) -> dict[int, dict[datetime, int]]:
    """``counts_per_day`` per hour: ``{store_id: {hour's start (UTC): n}}``."""
    return _counts(queryset, TruncHour("created_at", tzinfo=UTC), store_ids, since_id)


def _counts(queryset, bucket, store_ids, since_id) -> dict[int, dict]:
    rows = (
        queryset.filter(store_id__in=store_ids, id__gte=since_id)
        .annotate(bucket=bucket)
        .values("store_id", "bucket")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[int, dict] = defaultdict(dict)
    for row in rows:
        counts[row["store_id"]][row["bucket"]] = row["n"]
    return counts
