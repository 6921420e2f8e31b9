"""Streamed coupon export (CSV or JSON lines) in constant memory.

Rows are read in id order a chunk at a time, each chunk its own query
(``core.keyset``: no server-side cursor, so it works behind PgBouncer in transaction
pooling), as plain tuples written as they arrive, so a million coupons never sit in
memory at once. CSV cells go through ``core.csvsafe`` (no formulas in a spreadsheet).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TextIO

from django.db.models import QuerySet
from django.utils import timezone

from core import csvsafe
from core.keyset import values_in_chunks
from core.timefmt import iso_millis_z
from coupons.models import Coupon
from stores.models import Store

STATUSES = ("all", "active", "inactive", "expired", "redeemed", "unredeemed", "pooled")
FORMATS = ("csv", "jsonl")
COLUMNS = (
    "id",
    "code",
    "series_id",
    "origin",
    "enabled",
    "pooled",
    "discount_type",
    "discount_amount",
    "minimum_order_value",
    "redeemed_count",
    "received_count",
    "usable_at",
    "expires_at",
    "created_at",
)
TIMES = {"usable_at", "expires_at", "created_at"}
IDS = {"id", "series_id"}


def export_queryset(
    *, store: Store, series_id: int | None = None, status: str = "all"
) -> QuerySet:
    queryset = Coupon.objects.for_store(store.id).live()
    if series_id is not None:
        queryset = queryset.filter(series_id=series_id)
    now = timezone.now()
    if status == "active":
        queryset = queryset.active(at=now)
    elif status == "inactive":
        queryset = queryset.filter(enabled=False)
    elif status == "expired":
        queryset = queryset.filter(expires_at__lte=now)
    elif status == "redeemed":
        queryset = queryset.filter(redeemed_count__gt=0)
    elif status == "unredeemed":
        queryset = queryset.filter(redeemed_count=0)
    elif status == "pooled":
        queryset = queryset.filter(pooled=True)
    elif status != "all":
        raise ValueError(f"unknown status {status!r}")
    return queryset.order_by("id")


def _records(queryset: QuerySet, chunk: int) -> Iterator[dict]:
    for values in values_in_chunks(queryset, COLUMNS, size=chunk):
        record = dict(zip(COLUMNS, values, strict=True))
        for key in TIMES:
            record[key] = iso_millis_z(record[key])
        for key in IDS:
            record[key] = None if record[key] is None else str(record[key])
        yield record


def write_export(
    *,
    queryset: QuerySet,
    out: TextIO,
    fmt: str,
    progress: Callable[[int], None] | None = None,
    chunk: int = 5000,
) -> int:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    count = 0
    writer = csvsafe.writer(out) if fmt == "csv" else None
    if writer:
        writer.writerow(COLUMNS)
    for record in _records(queryset, chunk):
        if writer:
            writer.writerow(["" if v is None else v for v in record.values()])
        else:
            out.write(json.dumps(record, separators=(",", ":")) + "\n")
        count += 1
        if progress and count % chunk == 0:
            progress(chunk)
    if progress and count % chunk:
        progress(count % chunk)
    return count
