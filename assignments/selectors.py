"""Reads of the assignments app."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count

from assignments.models import Assignment
from coupons.models import Redemption
from customers.models import Customer
from stores.models import Store


def held_counts(*, customer: Customer, coupon_ids: Iterable[int]) -> dict[int, int]:
    """How many assignments of each coupon the customer holds (one query)."""
    ids = list(coupon_ids)
    if not ids:
        return {}
    rows = (
        Assignment.objects.filter(customer_id=customer.id, coupon_id__in=ids)
        .order_by()
        .values("coupon_id")
        .annotate(held=Count("id"))
    )
    return {row["coupon_id"]: row["held"] for row in rows}


def customer_has_redeemed(*, store: Store, customer: Customer) -> bool:
    """Whether the customer has a redemption in the store that was not rolled back
    (a first-order-only coupon is not for them)."""
    return (
        Redemption.objects.for_store(store.id)
        .counting()
        .filter(customer_id=customer.id)
        .exists()
    )
