"""Reads of the coupons app, and the redemption verdict (a read)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from assignments.models import Assignment
from core import flake
from core.errors import DomainError
from coupons import errors
from coupons.models import Coupon, Redemption
from coupons.rules import Order, Usage, Verdict, evaluate
from stores.models import Store


def coupon_queryset(*, store: Store) -> QuerySet[Coupon]:
    """The store's coupons as the API sees them (archived ones are gone)."""
    return Coupon.objects.for_store(store.id).live()


def coupon_get(*, store: Store, coupon_id: object) -> Coupon:
    parsed = flake.parse(coupon_id)
    coupon = coupon_queryset(store=store).filter(id=parsed).first() if parsed else None
    if coupon is None:
        raise DomainError(errors.COUPON_NOT_FOUND, "Coupon not found.")
    return coupon


def coupon_by_code(*, store: Store, code: str, lock: bool = False) -> Coupon:
    """The live coupon with this code, in any letter case (``lock``: FOR UPDATE)."""
    queryset = coupon_queryset(store=store).with_code(code)
    if lock:
        queryset = queryset.select_for_update()
    coupon = queryset.first()
    if coupon is None:
        raise DomainError(errors.COUPON_NOT_FOUND, "Coupon not found.")
    return coupon


def coupon_usage(*, coupon: Coupon, customer_id: int | None) -> Usage:
    """Counts behind the limits; call under the coupon's row lock when redeeming."""
    if customer_id is None:
        return Usage(store_used=coupon.redeemed_count)
    counting = Redemption.objects.counting().filter(customer_id=customer_id)
    return Usage(
        store_used=coupon.redeemed_count,
        customer_used=counting.filter(coupon_id=coupon.id).count(),
        customer_has_redeemed_before=(
            coupon.is_first_order_only
            and counting.filter(store_id=coupon.store_id).exists()
        ),
        customer_holds_coupon=(
            coupon.series_id is not None
            and Assignment.objects.filter(
                coupon_id=coupon.id, customer_id=customer_id
            ).exists()
        ),
    )


def coupon_verdict(
    *,
    coupon: Coupon,
    customer_id: int | None,
    order: Order,
    at: datetime | None = None,
) -> Verdict:
    return evaluate(
        coupon,
        customer_id=customer_id,
        order=order,
        usage=coupon_usage(coupon=coupon, customer_id=customer_id),
        at=at or timezone.now(),
    )


def redemption_queryset(*, store: Store) -> QuerySet[Redemption]:
    return Redemption.objects.for_store(store.id).select_related("coupon", "outlet")


def redemption_get(*, store: Store, redemption_id: object) -> Redemption:
    parsed = flake.parse(redemption_id)
    redemption = (
        redemption_queryset(store=store).filter(id=parsed).first() if parsed else None
    )
    if redemption is None:
        raise DomainError(errors.REDEMPTION_NOT_FOUND, "Redemption not found.")
    return redemption
