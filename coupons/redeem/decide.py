"""The redemption rules: may this coupon be redeemed for this order, and for what.

Pure functions over plain values, no database: the service reads a snapshot of the
coupon and of the customer's use of it under its locks (``coupons.redeem.store``)
and asks ``decide``. One engine for every dialect: the native (PayNow-style)
validate and redeem, Capillary v1.1 redeem and isredeemable.

Every rule that fails is reported, not only the first, so a client can show the
shopper all of them at once; they come in the order of ``RULES``:

1. ``disabled``; 2. ``not_started``; 3. ``expired`` (the coupon's end, else the end
   of the customer's holding of it);
4. ``below_minimum_order``;
5. ``customer_required`` (a rule below reads the customer);
6. ``restricted_to_another_customer``;
7. ``one_time_purchase_not_allowed`` / ``subscription_not_allowed``;
8. ``not_applicable_to_order`` (none of the products or tags it applies to);
9. ``not_issued`` (a series' pooled code), else ``not_issued_to_customer`` (a series
   code this customer does not hold);
10. ``store_limit_reached``; 11. ``customer_limit_reached`` (a live hold counts as
    a use in both: ``Usage.store_held``/``customer_held``); 12. ``first_order_only``.

The discount is given only when no rule fails, and always by ``coupons.redeem.cart``
(``split``), the one place of its arithmetic, whichever dialect asks. A new rule is
one function ``(Attempt) -> Problem | None`` in ``RULES`` and a row in
``tests/coupons/test_redeem_decide.py``. An order that comes as a cart
(``Order.of_cart``) is discounted line by line; its value (``minimum_order_value``)
is what all lines pay before coupons, and its products and tags are the lines'. An
order known only by its value is one line of one unit paying it: ``Order.of_value``
(Capillary's transaction amount: a cart, recorded as one) or, without lines, the
native order value (its products and tags decide whether the coupon applies, then
the coupon takes its share of the whole value).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from coupons.errors import Refusal
from coupons.models import DiscountType, HoldState, PurchaseType
from coupons.redeem import cart

if TYPE_CHECKING:
    from coupons.models import Coupon


@dataclass(frozen=True)
class Order:
    """What the coupon is redeemed for: the order's value in the smallest unit, or
    a cart (``lines``, in ``currency``; None: no cart)."""

    order_value: int = 0
    purchase_type: str = PurchaseType.ONE_TIME
    product_ids: tuple[int, ...] = ()
    tag_ids: tuple[int, ...] = ()
    lines: tuple[cart.Line, ...] | None = None
    currency: str | None = None

    @classmethod
    def of_cart(
        cls,
        *,
        lines: tuple[cart.Line, ...],
        currency: str,
        purchase_type: str = PurchaseType.ONE_TIME,
    ) -> Order:
        """A cart's order: its value and its products and tags are its lines'."""
        products = {line.product_id for line in lines if line.product_id is not None}
        tags = {tag for line in lines for tag in line.tag_ids}
        return cls(
            order_value=cart.total(lines),
            purchase_type=purchase_type,
            product_ids=tuple(sorted(products)),
            tag_ids=tuple(sorted(tags)),
            lines=lines,
            currency=currency,
        )

    @classmethod
    def of_value(
        cls,
        *,
        order_value: int,
        currency: str,
        purchase_type: str = PurchaseType.ONE_TIME,
    ) -> Order:
        """An order known only by its value, as a cart of one line
        (``cart.of_value``): discounted, and recorded by a redemption, as any cart."""
        return cls.of_cart(
            lines=cart.of_value(order_value),
            currency=currency,
            purchase_type=purchase_type,
        )


@dataclass(frozen=True)
class Terms:
    """A coupon as the rules see it (``Terms.of`` a row read under its lock)."""

    enabled: bool = True
    usable_at: datetime | None = None
    expires_at: datetime | None = None
    minimum_order_value: int = 0
    usable_by_customer_id: int | None = None
    usable_on_one_time_purchase: bool = True
    usable_on_subscription: bool = True
    # The products and tags it applies to; none of either: every order.
    products: frozenset[int] = frozenset()
    tags: frozenset[int] = frozenset()
    series_id: int | None = None
    pooled: bool = False  # a series' code not issued yet
    store_limit: int | None = None  # redemptions in all; None: unlimited
    customer_limit: int | None = None  # redemptions per customer; None: unlimited
    first_order_only: bool = False
    discount_type: str = DiscountType.UNSPECIFIED
    discount_amount: int = 0  # the smallest unit, or percent x 10
    discount_max_amount: int | None = None  # the cap of a percent discount
    discount_apply_individually: bool = False  # an amount off each unit
    discount_apply_before_sales: bool = False  # a percent of the price before sale

    @property
    def rate(self) -> cart.Rate:
        """What the coupon takes off a cart."""
        return self._rate(self.products, self.tags)

    @property
    def whole_order_rate(self) -> cart.Rate:
        """What it takes off an order known by its value alone: a share of all of
        it (the order's products and tags were the rules' to read)."""
        return self._rate(frozenset(), frozenset())

    def _rate(self, products: frozenset[int], tags: frozenset[int]) -> cart.Rate:
        return cart.Rate(
            kind=self.discount_type,
            amount=self.discount_amount,
            individually=self.discount_apply_individually,
            before_sales=self.discount_apply_before_sales,
            max_amount=self.discount_max_amount,
            products=products,
            tags=tags,
        )

    @classmethod
    def of(cls, coupon: Coupon) -> Terms:
        return cls(
            enabled=coupon.enabled,
            usable_at=coupon.usable_at,
            expires_at=coupon.expires_at,
            minimum_order_value=coupon.minimum_order_value,
            usable_by_customer_id=coupon.usable_by_customer_id,
            usable_on_one_time_purchase=coupon.usable_on_one_time_purchase,
            usable_on_subscription=coupon.usable_on_subscription,
            products=_ids(coupon.apply_to_products),
            tags=_ids(coupon.apply_to_tags),
            series_id=coupon.series_id,
            pooled=coupon.pooled,
            store_limit=(
                coupon.redeem_limit_store_amount
                if coupon.redeem_limit_store_enabled
                else None
            ),
            customer_limit=(
                coupon.redeem_limit_customer_amount
                if coupon.redeem_limit_customer_enabled
                else None
            ),
            first_order_only=coupon.is_first_order_only,
            discount_type=coupon.discount_type,
            discount_amount=coupon.discount_amount,
            discount_max_amount=coupon.discount_max_amount,
            discount_apply_individually=coupon.discount_apply_individually,
            discount_apply_before_sales=coupon.discount_apply_before_sales,
        )


def _ids(values: list | None) -> frozenset[int]:
    """The ids of a JSON list (numbers or numeric strings)."""
    return frozenset(map(int, values)) if values else frozenset()


@dataclass(frozen=True)
class Usage:
    """What the coupon (and this customer) have used so far; read under the lock."""

    store_used: int = 0
    customer_used: int = 0
    # Live holds (active, not past their end): each counts as a use, store-wide
    # and for its customer, until redeemed, released or expired. A redemption
    # converting a hold does not count its own (``coupons.redeem.service``).
    store_held: int = 0
    customer_held: int = 0
    customer_has_redeemed_before: bool = False
    customer_holds_coupon: bool = False
    # The end of this customer's holding (an issued coupon's valid-till), if any.
    customer_valid_till: datetime | None = None


@dataclass(frozen=True)
class Attempt:
    """One redemption asked for: the coupon, by whom (None: no customer), for
    which order, with what was used so far, at what time."""

    terms: Terms
    customer_id: int | None
    order: Order
    usage: Usage
    at: datetime


@dataclass(frozen=True)
class Problem:
    code: str
    message: str


@dataclass(frozen=True)
class Verdict:
    problems: list[Problem] = field(default_factory=list)
    discount: int = 0
    # A cart's discount per line, in the cart's order: ((line id, discount), ...).
    lines: tuple[tuple[str, int], ...] = ()

    @property
    def valid(self) -> bool:
        return not self.problems


Rule = Callable[[Attempt], Problem | None]


def disabled(a: Attempt) -> Problem | None:
    if not a.terms.enabled:
        return Problem(Refusal.DISABLED, "The coupon is disabled.")
    return None


def not_started(a: Attempt) -> Problem | None:
    if a.terms.usable_at is not None and a.at < a.terms.usable_at:
        return Problem(Refusal.NOT_STARTED, "The coupon is not usable yet.")
    return None


def expired(a: Attempt) -> Problem | None:
    if a.terms.expires_at is not None and a.at >= a.terms.expires_at:
        return Problem(Refusal.EXPIRED, "The coupon has expired.")
    till = a.usage.customer_valid_till
    if till is not None and a.at >= till:
        return Problem(Refusal.EXPIRED, "The coupon has expired for this customer.")
    return None


def below_minimum_order(a: Attempt) -> Problem | None:
    minimum = a.terms.minimum_order_value
    if a.order.order_value < minimum:
        return Problem(
            Refusal.BELOW_MINIMUM_ORDER,
            f"The order value is below the minimum of {minimum}.",
        )
    return None


def needs_customer(terms: Terms) -> bool:
    """Whether a rule reads the customer: a restriction, a per-customer limit,
    first order only, a series code (issued to someone)."""
    return (
        terms.usable_by_customer_id is not None
        or terms.customer_limit is not None
        or terms.first_order_only
        or terms.series_id is not None
    )


def customer_required(a: Attempt) -> Problem | None:
    if a.customer_id is None and needs_customer(a.terms):
        return Problem(Refusal.CUSTOMER_REQUIRED, "This coupon needs a customer.")
    return None


def restricted_to_another_customer(a: Attempt) -> Problem | None:
    only = a.terms.usable_by_customer_id
    if only is not None and a.customer_id is not None and only != a.customer_id:
        return Problem(
            Refusal.RESTRICTED_TO_ANOTHER_CUSTOMER,
            "The coupon is restricted to another customer.",
        )
    return None


def purchase_type_not_allowed(a: Attempt) -> Problem | None:
    kind = a.order.purchase_type
    if kind == PurchaseType.ONE_TIME and not a.terms.usable_on_one_time_purchase:
        return Problem(
            Refusal.ONE_TIME_PURCHASE_NOT_ALLOWED,
            "The coupon is not usable on one-time purchases.",
        )
    if kind == PurchaseType.SUBSCRIPTION and not a.terms.usable_on_subscription:
        return Problem(
            Refusal.SUBSCRIPTION_NOT_ALLOWED,
            "The coupon is not usable on subscriptions.",
        )
    return None


def not_applicable_to_order(a: Attempt) -> Problem | None:
    terms, order = a.terms, a.order
    if not terms.products and not terms.tags:
        return None
    if terms.products.isdisjoint(order.product_ids) and terms.tags.isdisjoint(
        order.tag_ids
    ):
        return Problem(
            Refusal.NOT_APPLICABLE_TO_ORDER,
            "The order has none of the products or tags the coupon applies to.",
        )
    return None


def not_issued(a: Attempt) -> Problem | None:
    if a.terms.pooled:
        return Problem(Refusal.NOT_ISSUED, "The coupon has not been issued yet.")
    if (
        a.terms.series_id is not None
        and a.customer_id is not None
        and not a.usage.customer_holds_coupon
    ):
        return Problem(
            Refusal.NOT_ISSUED_TO_CUSTOMER,
            "The coupon was not issued to this customer.",
        )
    return None


def store_limit_reached(a: Attempt) -> Problem | None:
    limit = a.terms.store_limit
    if limit is not None and a.usage.store_used + a.usage.store_held >= limit:
        return Problem(
            Refusal.STORE_LIMIT_REACHED, "The coupon's redemption limit is reached."
        )
    return None


def customer_limit_reached(a: Attempt) -> Problem | None:
    limit = a.terms.customer_limit
    if a.customer_id is None or limit is None:
        return None
    if a.usage.customer_used + a.usage.customer_held >= limit:
        return Problem(
            Refusal.CUSTOMER_LIMIT_REACHED,
            "The customer has used this coupon as often as allowed.",
        )
    return None


def first_order_only(a: Attempt) -> Problem | None:
    if a.terms.first_order_only and a.usage.customer_has_redeemed_before:
        return Problem(
            Refusal.FIRST_ORDER_ONLY, "The coupon is for a first order only."
        )
    return None


RULES: tuple[Rule, ...] = (
    disabled,
    not_started,
    expired,
    below_minimum_order,
    customer_required,
    restricted_to_another_customer,
    purchase_type_not_allowed,
    not_applicable_to_order,
    not_issued,
    store_limit_reached,
    customer_limit_reached,
    first_order_only,
)
# Without a bill (a check made before there is an order): the rules that need
# none of it.
RULES_WITHOUT_BILL: tuple[Rule, ...] = tuple(
    rule for rule in RULES if rule is not below_minimum_order
)


def split(terms: Terms, order: Order) -> cart.Split:
    """The coupon's discount on the order, by the cart engine: a cart line by line;
    an order given by its value alone (no lines) as the one line of
    ``cart.of_value``, discounted whole (its products and tags decided whether the
    coupon applies at all: ``not_applicable_to_order``)."""
    if order.lines is not None:
        return cart.split(terms.rate, order.lines)
    return cart.split(terms.whole_order_rate, cart.of_value(order.order_value))


def decide(attempt: Attempt, rules: Sequence[Rule] = RULES) -> Verdict:
    """Every rule that fails, in order, or the discount when none does."""
    problems = [problem for rule in rules if (problem := rule(attempt)) is not None]
    if problems:
        return Verdict(problems=problems)
    discounted = split(attempt.terms, attempt.order)
    if attempt.order.lines is None:  # no cart to answer line by line
        return Verdict(discount=discounted.total)
    return Verdict(discount=discounted.total, lines=discounted.lines)


def uses_left(terms: Terms, usage: Usage) -> int | None:
    """Redemptions still open to this customer under the limits (None: unlimited),
    the tightest limit deciding."""
    left = []
    if terms.store_limit is not None:
        left.append(terms.store_limit - usage.store_used - usage.store_held)
    if terms.customer_limit is not None:
        left.append(terms.customer_limit - usage.customer_used - usage.customer_held)
    return max(0, min(left)) if left else None


def hold_live(*, state: str, expires_at: datetime, at: datetime) -> bool:
    """Whether a hold, read as its state and end, counts as a use at ``at``: the
    rule of ``HoldQuerySet.live`` over plain values."""
    return state == HoldState.ACTIVE and expires_at > at
