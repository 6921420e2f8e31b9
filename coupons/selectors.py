"""Reads of the coupons app, and the redemption verdict (a read)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, datetime

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone

from assignments.models import Assignment
from core import flake, sql
from core.daycounts import counts_per_day
from core.errors import DomainError
from coupons import errors
from coupons.codes import fold_code
from coupons.errors import Refusal
from coupons.models import Coupon, DiscountType, Origin, Redemption
from coupons.rules import Order, Problem, Usage, Verdict, evaluate
from customers import selectors as customer_selectors
from customers.models import Customer
from stores.models import Store


def coupon_queryset(*, store: Store) -> QuerySet[Coupon]:
    """The store's coupons as the API sees them: archived ones are gone, and a
    series' pooled codes are its inventory, not coupons (DESIGN.md invariant 6)."""
    return Coupon.objects.for_store(store.id).visible()


def coupon_get(*, store: Store, coupon_id: object) -> Coupon:
    """A coupon the API may read and change; ``coupon_not_found`` for an unknown,
    archived or pooled (not yet issued) one. A code leaves the pool only when it is
    issued and never goes back, so a coupon found here stays a coupon."""
    parsed = flake.parse(coupon_id)
    coupon = coupon_queryset(store=store).filter(id=parsed).first() if parsed else None
    if coupon is None:
        raise DomainError(errors.COUPON_NOT_FOUND, "Coupon not found.")
    return coupon


def _by_code(*, store: Store, code: str, lock: bool) -> sql.Query:
    """The live coupon with this code, in any ASCII letter case (``fold_code``;
    ``lock``: FOR UPDATE).

    Hand-written (``core.sql``): every redemption starts here. It matches
    ``Coupon.objects.live().with_code(code)`` through the unique index on the folded
    code, which holds at most one live row; no ORDER BY, which would let the planner
    walk the store's id index instead (~180 ms among a million coupons).
    """
    coupon = sql.loader(Coupon, "c")
    return (
        f"SELECT {coupon.columns} FROM coupons_coupon c WHERE c.store_id = %s "
        "AND c.archived_at IS NULL AND c.code_folded = %s LIMIT 1"
        + (sql.for_update() if lock else ""),
        [store.id, fold_code(code)],
        (coupon,),
    )


def _found(row: tuple | None) -> Coupon:
    if row is None:
        raise DomainError(errors.COUPON_NOT_FOUND, "Coupon not found.")
    return row[0]


def coupon_by_code(*, store: Store, code: str, lock: bool = False) -> Coupon:
    """The live coupon with this code, in any letter case (``lock``: FOR UPDATE)."""
    return _found(sql.fetch_one(_by_code(store=store, code=code, lock=lock)))


def customer_and_coupon_by_code(
    *, store: Store, customer_id: int, code: str
) -> tuple[Customer | None, Coupon]:
    """The store's customer (None when unknown) and the coupon with this code, each
    locked, in the checkouts' lock order (customer, then coupons by id): one round
    trip on PostgreSQL. ``coupon_not_found`` comes only after the customer is known
    to exist.

    The customer FOR NO KEY UPDATE: the rules read its history across coupons
    (first order only), so one customer's checkouts queue up here and each sees
    what the previous one wrote; a customer DELETE (FOR UPDATE) waits for the
    checkout, or the checkout for it and then finds no customer. NO KEY: the
    foreign-key checks of rows referencing the customer (FOR KEY SHARE) are not
    held up. The coupon FOR UPDATE, as every redemption takes it.
    """
    customer_rows, coupon_rows = sql.fetch_batch(
        sql.locked(
            customer_selectors.customer_by_id(store=store, customer_id=customer_id),
            no_key=True,
        ),
        _by_code(store=store, code=code, lock=True),
    )
    if not customer_rows:
        return None, None
    return customer_rows[0][0], _found(coupon_rows[0] if coupon_rows else None)


def coupon_usage(
    *, coupon: Coupon, customer_id: int | None, all_counts: bool = True
) -> Usage:
    """Counts behind the limits; call under the coupon's row lock when redeeming.

    ``all_counts=False`` (redeeming) counts the customer's uses only when a
    per-customer limit reads them; reports (isredeemable) show them always.
    """
    if customer_id is None:
        return Usage(store_used=coupon.redeemed_count)

    def counting() -> QuerySet[Redemption]:
        return Redemption.objects.counting().filter(customer_id=customer_id)

    usage = Usage(
        store_used=coupon.redeemed_count,
        customer_used=(
            counting().filter(coupon_id=coupon.id).count()
            if all_counts or coupon.redeem_limit_customer_enabled
            else 0
        ),
        customer_has_redeemed_before=(
            coupon.is_first_order_only
            and counting().filter(store_id=coupon.store_id).exists()
        ),
    )
    if coupon.series_id is None:
        return usage
    holding = holdings(coupon_ids=[coupon.id], customer_id=customer_id).get(coupon.id)
    return replace(
        usage,
        customer_holds_coupon=holding is not None,
        customer_valid_till=holding.valid_till if holding else None,
    )


@dataclass(frozen=True)
class Holding:
    """A customer holds a coupon (one or more assignments) until ``valid_till``."""

    valid_till: datetime | None


def holdings(*, coupon_ids: list[int], customer_id: int) -> dict[int, Holding]:
    """The customer's holdings of these coupons, in one query.

    A holding with any assignment without a valid-till never ends; otherwise it ends
    with its latest assignment's valid-till.
    """
    rows = (
        Assignment.objects.filter(coupon_id__in=coupon_ids, customer_id=customer_id)
        .values("coupon_id")
        .annotate(n=Count("id"), dated=Count("valid_till"), last=Max("valid_till"))
    )
    return {
        row["coupon_id"]: Holding(row["last"] if row["dated"] == row["n"] else None)
        for row in rows
    }


def coupon_verdict(
    *,
    coupon: Coupon,
    customer_id: int | None,
    order: Order,
    at: datetime | None = None,
    all_counts: bool = True,
) -> Verdict:
    return evaluate(
        coupon,
        customer_id=customer_id,
        order=order,
        usage=coupon_usage(
            coupon=coupon, customer_id=customer_id, all_counts=all_counts
        ),
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


@dataclass(frozen=True)
class CodeCheck:
    """A code checked for a customer: the coupon (None when no live coupon has the
    code), what the customer has used of it, and the engine's verdict."""

    code: str
    coupon: Coupon | None
    usage: Usage
    verdict: Verdict

    @property
    def uses_left(self) -> int | None:
        """Redemptions still open to this customer under the enabled limits (None:
        unlimited; 0 for an unknown code)."""
        coupon = self.coupon
        if coupon is None:
            return 0
        left = []
        if coupon.redeem_limit_store_enabled:
            left.append(coupon.redeem_limit_store_amount - self.usage.store_used)
        if coupon.redeem_limit_customer_enabled:
            left.append(coupon.redeem_limit_customer_amount - self.usage.customer_used)
        return max(0, min(left)) if left else None


# Rules that need the bill; a check made without one (order=None) skips them.
BILL_RULES = frozenset({Refusal.BELOW_MINIMUM_ORDER})


def coupon_checks(
    *,
    store: Store,
    codes: list[str],
    customer_id: int,
    order: Order | None = None,
    at: datetime | None = None,
) -> list[CodeCheck]:
    """``coupon_verdict`` for several codes and one customer, in a constant number of
    queries (the coupons, then the customer's use of them). Reads only.

    Without an ``order`` the bill is unknown: the verdict leaves out the rules that
    need it (``BILL_RULES``) and the discount is 0.
    """
    at = at or timezone.now()
    folded = {fold_code(code) for code in codes}
    coupons: dict[str, Coupon] = {}
    if folded:
        # By code as a redemption finds it (``_by_code``): live rows, pooled codes
        # among them, which the rules refuse as not issued, as a redeem does.
        coupons = {
            coupon.code_folded: coupon
            for coupon in Coupon.objects.for_store(store.id)
            .live()
            .filter(code_folded__in=folded)
            .select_related("series")
        }
    counting = Redemption.objects.counting().filter(customer_id=customer_id)
    used: dict[int, int] = {}
    if coupons:
        used = dict(
            counting.filter(coupon_id__in=[c.id for c in coupons.values()])
            .values("coupon_id")
            .annotate(n=Count("id"))
            .values_list("coupon_id", "n")
        )
    redeemed_before = any(c.is_first_order_only for c in coupons.values()) and (
        counting.filter(store_id=store.id).exists()
    )
    from_series = [c.id for c in coupons.values() if c.series_id is not None]
    held = (
        holdings(coupon_ids=from_series, customer_id=customer_id) if from_series else {}
    )
    checks = []
    for code in codes:
        coupon = coupons.get(fold_code(code))
        if coupon is None:
            unknown = Problem(errors.COUPON_NOT_FOUND, "No coupon has this code.")
            checks.append(CodeCheck(code, None, Usage(), Verdict(problems=[unknown])))
            continue
        usage = Usage(
            store_used=coupon.redeemed_count,
            customer_used=used.get(coupon.id, 0),
            customer_has_redeemed_before=coupon.is_first_order_only and redeemed_before,
            customer_holds_coupon=coupon.series_id is not None and coupon.id in held,
            customer_valid_till=(
                held[coupon.id].valid_till if coupon.id in held else None
            ),
        )
        verdict = evaluate(
            coupon, customer_id=customer_id, order=order or Order(), usage=usage, at=at
        )
        if order is None:
            verdict = Verdict(
                problems=[p for p in verdict.problems if p.code not in BILL_RULES]
            )
        checks.append(CodeCheck(code, coupon, usage, verdict))
    return checks


def coupon_series_ended(*, store: Store, code: str, at: datetime | None = None) -> bool:
    """Whether the code's coupon comes from a series whose validity has ended."""
    at = at or timezone.now()
    return (
        Coupon.objects.for_store(store.id)
        .live()
        .with_code(code)
        .filter(series__valid_till__isnull=False, series__valid_till__lte=at)
        .exists()
    )


# The admin dashboard (dashboard/templatetags): the stores' last days and what they owe.


def coupons_made_per_day(
    *, store_ids: Collection[int], since_id: int
) -> dict[int, dict[date, int]]:
    """Coupons made by hand (not generated) per store and day, from ``since_id``."""
    return counts_per_day(
        Coupon.objects.filter(origin=Origin.MANUAL),
        store_ids=store_ids,
        since_id=since_id,
    )


def redemptions_per_day(
    *, store_ids: Collection[int], since_id: int
) -> dict[int, dict[date, int]]:
    """Redemptions that count (not rolled back) per store and day."""
    return counts_per_day(
        Redemption.objects.counting(), store_ids=store_ids, since_id=since_id
    )


def outstanding_liability(
    *, store_ids: Collection[int], at: datetime
) -> dict[int, dict[str, int]]:
    """Per store, its live coupons nobody has redeemed yet that still can be: the
    sum (``amount_total``) and count (``amount_count``) of the fixed amounts, and the
    count of the percentages (``percent_count``). Stores without any are left out."""
    outstanding = (
        Coupon.objects.live()
        .filter(store_id__in=store_ids, enabled=True, pooled=False, redeemed_count=0)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))
        .values("store_id")
        .annotate(
            amount_total=Sum(
                "discount_amount", filter=Q(discount_type=DiscountType.AMOUNT)
            ),
            amount_count=Count("id", filter=Q(discount_type=DiscountType.AMOUNT)),
            percent_count=Count("id", filter=Q(discount_type=DiscountType.PERCENT)),
        )
        .order_by()
    )
    return {row["store_id"]: row for row in outstanding}
