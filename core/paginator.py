"""A paginator for the admin's big tables: it never counts a whole table.

Django's paginator runs ``SELECT COUNT(*)`` over the filtered queryset to number the
pages, which on a million coupons reads a million index entries on every page view.
This one counts at most ``cap + 1`` rows (``SELECT COUNT(*) FROM (... LIMIT n)``):
the pages stop at the cap, and the page says "more than N" (``capped``).
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property

COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    cap = COUNT_CAP

    @cached_property
    def _capped_count(self) -> tuple[int, bool]:
        rows = self.object_list
        if hasattr(rows, "order_by"):
            counted = rows.order_by()[: self.cap + 1].count()
        else:
            counted = len(rows)
        return min(counted, self.cap), counted > self.cap

    @cached_property
    def count(self) -> int:
        return self._capped_count[0]

    @property
    def capped(self) -> bool:
        """True when there are more rows than ``count`` (the pages stop at the cap)."""
        return self._capped_count[1]
