"""Reads of the assignments app."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from assignments.models import Assignment
from core.daycounts import counts_per_day


def assignments_per_day(
    *, store_ids: Collection[int], since_id: int
) -> dict[int, dict[date, int]]:
    """Coupons issued to (or received by) customers per store and day, from
    ``since_id`` on (the admin dashboard)."""
    return counts_per_day(
        Assignment.objects.all(), store_ids=store_ids, since_id=since_id
    )
