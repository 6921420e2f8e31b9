"""Reading a large queryset in constant memory, one query per chunk.

Exports read millions of rows. A server-side cursor would hold state on the
connection between reads: outside a transaction Django declares it ``WITH HOLD``, and
behind PgBouncer in transaction pooling (DESIGN.md, Scale) the next ``FETCH`` may go
to another server connection, where the cursor does not exist. Each chunk here is
its own query that continues after the last primary key read (``pk > last ORDER BY
pk LIMIT n``, served by the ``(store, id)`` indexes), so nothing lives on the
connection between chunks, nothing is held open while a slow client downloads, and
a row present during the whole read is read exactly once (rows added or removed
meanwhile may or may not be).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from django.db.models import QuerySet


def values_in_chunks(
    queryset: QuerySet, fields: Sequence[str], *, size: int
) -> Iterator[tuple]:
    """``fields`` of every row of ``queryset``, in primary-key order, as tuples,
    ``size`` rows a query."""
    if size < 1:
        raise ValueError("size must be at least 1")
    rows = queryset.order_by("pk").values_list("pk", *fields)
    after = None
    while True:
        page = list((rows if after is None else rows.filter(pk__gt=after))[:size])
        for row in page:
            yield row[1:]
        if len(page) < size:
            return
        after = page[-1][0]
