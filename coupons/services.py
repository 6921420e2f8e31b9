"""Writes of the coupons app."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from coupons.models import ActorType, Coupon


def coupon_record_staff_edit(
    *, coupon: Coupon, user: AbstractBaseUser, created: bool
) -> Coupon:
    """Stamp a coupon that staff save in the admin with the user as its actor.

    The admin saves the coupon itself right after (``ModelAdmin.save_model``).
    """
    if created:
        coupon.created_by_type = ActorType.USER
        coupon.created_by_id = user.pk
    else:
        coupon.updated_by_type = ActorType.USER
        coupon.updated_by_id = user.pk
        coupon.updated_at = timezone.now()
    return coupon
