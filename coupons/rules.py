"""The redemption rules: pure functions over a coupon, an order and its usage.

One engine for every dialect: PayNow/native validate and redeem, Capillary redeem and
isredeemable, legacy NewStore coupons. Every failing rule is reported, not just the
first, so a client can show the shopper all of them at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from coupons.errors import Refusal
from coupons.models import Coupon, DiscountType, PurchaseType


@dataclass(frozen=True)
class Order:
    order_value: int = 0
    purchase_type: str = PurchaseType.ONE_TIME
    product_ids: tuple[int, ...] = ()
    tag_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Usage:
    """What the coupon (and this customer) have used so far; read under the lock."""

    store_used: int = 0
    customer_used: int = 0
    customer_has_redeemed_before: bool = False
    customer_holds_coupon: bool = False
    # The end of this customer's holding (an issued coupon's valid-till), if any.
    customer_valid_till: datetime | None = None


@dataclass(frozen=True)
class Problem:
    code: str
    message: str


@dataclass(frozen=True)
class Verdict:
    problems: list[Problem] = field(default_factory=list)
    discount: int = 0

    @property
    def valid(self) -> bool:
        return not self.problems


def discount_for(coupon: Coupon, order_value: int) -> int:
    """The discount in the smallest unit; never more than the order value."""
    if order_value <= 0:
        return 0
    if coupon.discount_type == DiscountType.PERCENT:
        discount = order_value * coupon.discount_amount // 1000
        if coupon.discount_max_amount is not None:
            discount = min(discount, coupon.discount_max_amount)
    elif coupon.discount_type == DiscountType.AMOUNT:
        discount = coupon.discount_amount
    else:
        discount = 0
    return max(0, min(discount, order_value))


def evaluate(
    coupon: Coupon,
    *,
    customer_id: int | None,
    order: Order,
    usage: Usage,
    at: datetime,
) -> Verdict:
    problems: list[Problem] = []

    def fail(code: str, message: str) -> None:
        problems.append(Problem(code, message))

    if not coupon.enabled:
        fail(Refusal.DISABLED, "The coupon is disabled.")
    if coupon.usable_at is not None and at < coupon.usable_at:
        fail(Refusal.NOT_STARTED, "The coupon is not usable yet.")
    if coupon.expires_at is not None and at >= coupon.expires_at:
        fail(Refusal.EXPIRED, "The coupon has expired.")
    elif usage.customer_valid_till is not None and at >= usage.customer_valid_till:
        fail(Refusal.EXPIRED, "The coupon has expired for this customer.")
    if order.order_value < coupon.minimum_order_value:
        fail(
            Refusal.BELOW_MINIMUM_ORDER,
            f"The order value is below the minimum of {coupon.minimum_order_value}.",
        )
    needs_customer = (
        coupon.usable_by_customer_id is not None
        or coupon.redeem_limit_customer_enabled
        or coupon.is_first_order_only
        or coupon.series_id is not None
    )
    if customer_id is None and needs_customer:
        fail(Refusal.CUSTOMER_REQUIRED, "This coupon needs a customer.")
    if (
        coupon.usable_by_customer_id is not None
        and customer_id is not None
        and coupon.usable_by_customer_id != customer_id
    ):
        fail(
            Refusal.RESTRICTED_TO_ANOTHER_CUSTOMER,
            "The coupon is restricted to another customer.",
        )
    if order.purchase_type == PurchaseType.ONE_TIME and not (
        coupon.usable_on_one_time_purchase
    ):
        fail(
            Refusal.ONE_TIME_PURCHASE_NOT_ALLOWED,
            "The coupon is not usable on one-time purchases.",
        )
    if order.purchase_type == PurchaseType.SUBSCRIPTION and not (
        coupon.usable_on_subscription
    ):
        fail(
            Refusal.SUBSCRIPTION_NOT_ALLOWED,
            "The coupon is not usable on subscriptions.",
        )
    if not _applies_to(coupon, order):
        fail(
            Refusal.NOT_APPLICABLE_TO_ORDER,
            "The order has none of the products or tags the coupon applies to.",
        )
    if coupon.pooled:
        fail(Refusal.NOT_ISSUED, "The coupon has not been issued yet.")
    elif (
        coupon.series_id is not None
        and customer_id is not None
        and not usage.customer_holds_coupon
    ):
        fail(
            Refusal.NOT_ISSUED_TO_CUSTOMER,
            "The coupon was not issued to this customer.",
        )
    if (
        coupon.redeem_limit_store_enabled
        and usage.store_used >= coupon.redeem_limit_store_amount
    ):
        fail(Refusal.STORE_LIMIT_REACHED, "The coupon's redemption limit is reached.")
    if (
        coupon.redeem_limit_customer_enabled
        and customer_id is not None
        and usage.customer_used >= coupon.redeem_limit_customer_amount
    ):
        fail(
            Refusal.CUSTOMER_LIMIT_REACHED,
            "The customer has used this coupon as often as allowed.",
        )
    if coupon.is_first_order_only and usage.customer_has_redeemed_before:
        fail(Refusal.FIRST_ORDER_ONLY, "The coupon is for a first order only.")
    discount = 0 if problems else discount_for(coupon, order.order_value)
    return Verdict(problems=problems, discount=discount)


def _applies_to(coupon: Coupon, order: Order) -> bool:
    products = {int(p) for p in coupon.apply_to_products or []}
    tags = {int(t) for t in coupon.apply_to_tags or []}
    if not products and not tags:
        return True
    return bool(products & set(order.product_ids)) or bool(tags & set(order.tag_ids))
