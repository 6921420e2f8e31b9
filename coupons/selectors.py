"""Reads of the coupons app, and the isredeemable check of several codes (a read)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from core import flake
from core.daycounts import counts_per_day, counts_per_hour, first_id_at
from core.errors import DomainError
from coupons import errors, typed_codes, typos
from coupons.codes import fold_code
from coupons.models import Coupon, DiscountType, Origin, Redemption, RedemptionLine
from coupons.redeem import decide
from coupons.redeem.decide import Order, Problem, Usage, Verdict
from coupons.redeem.store import read_usage
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


def redemption_queryset(*, store: Store) -> QuerySet[Redemption]:
    return Redemption.objects.for_store(store.id).select_related("coupon", "outlet")


def redemption_list_queryset(*, store: Store) -> QuerySet[Redemption]:
    """The store's redemptions, each with its recorded cart lines as ``cart_lines``
    (in the cart's order; none without a cart): one more query for a whole page."""
    return redemption_queryset(store=store).prefetch_related(
        Prefetch("lines", queryset=RedemptionLine.objects.all(), to_attr="cart_lines")
    )


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
        if self.coupon is None:
            return 0
        return decide.uses_left(decide.Terms.of(self.coupon), self.usage)


def coupon_checks(
    *,
    store: Store,
    codes: list[str],
    customer_id: int,
    order: Order | None = None,
    at: datetime | None = None,
) -> list[CodeCheck]:
    """The redemption rules' verdict on several codes for one customer, in a constant
    number of queries (the coupons, then the customer's use of them). Reads only.

    Without an ``order`` the bill is unknown: the verdict leaves out the rules that
    need it (``decide.RULES_WITHOUT_BILL``) and the discount is 0.
    """
    at = at or timezone.now()
    # A mistyped check-character code is not looked up (coupons.typos).
    readings = {code: typed_codes.read_in(store, code) for code in codes}
    folded = {fold_code(r.code) for r in readings.values() if r.code is not None}
    coupons: dict[str, Coupon] = {}
    if folded:
        # By code as a redemption finds it (``coupons.redeem.store``): live rows,
        # pooled codes among them, which the rules refuse as not issued, as a
        # redeem does.
        coupons = {
            coupon.code_folded: coupon
            for coupon in Coupon.objects.for_store(store.id)
            .live()
            .filter(code_folded__in=folded)
            .select_related("series")
        }
    usages = read_usage(
        list(coupons.values()), customer_id=customer_id, all_counts=True
    )
    rules = decide.RULES if order is not None else decide.RULES_WITHOUT_BILL
    checks = []
    for code in codes:
        looked_up = readings[code].code
        if looked_up is None:
            checks.append(
                CodeCheck(code, None, Usage(), Verdict(problems=[typos.TYPO_PROBLEM]))
            )
            continue
        coupon = coupons.get(fold_code(looked_up))
        if coupon is None:
            unknown = Problem(errors.COUPON_NOT_FOUND, "No coupon has this code.")
            checks.append(CodeCheck(code, None, Usage(), Verdict(problems=[unknown])))
            continue
        usage = usages[coupon.id]
        attempt = decide.Attempt(
            terms=decide.Terms.of(coupon),
            customer_id=customer_id,
            order=order or Order(),
            usage=usage,
            at=at,
        )
        checks.append(CodeCheck(code, coupon, usage, decide.decide(attempt, rules)))
    return checks


def coupon_series_ended(*, store: Store, code: str, at: datetime | None = None) -> bool:
    """Whether the code's coupon comes from a series whose validity has ended."""
    at = at or timezone.now()
    return (
        Coupon.objects.for_store(store.id)
        .live()
        .with_code(typed_codes.read_in(store, code).code or "")
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


def redemptions_per_hour(
    *, store_ids: Collection[int], since_id: int
) -> dict[int, dict[datetime, int]]:
    """Redemptions that count per store and hour (its start, UTC)."""
    return counts_per_hour(
        Redemption.objects.counting(), store_ids=store_ids, since_id=since_id
    )


def redemption_jumps(
    *,
    store_ids: Collection[int],
    since: datetime,
    hour_from: datetime,
    ratio: int,
    minimum: int,
) -> list[dict[str, Any]]:
    """Coupons whose redemptions jump (a leaked code): at least ``minimum`` in the
    last hour (from ``hour_from`` on) and more than ``ratio`` times their usual hour,
    the mean of the hours from ``since`` to ``hour_from``. One grouped read of the
    period's redemptions (the (store, id) index), most redeemed first:
    ``{"store_id", "coupon_id", "code", "last_hour", "before"}``."""
    hours_before = max(1, round((hour_from - since).total_seconds() / 3600))
    last = Q(created_at__gte=hour_from)
    return list(
        Redemption.objects.counting()
        # The ids bound the index range; the times decide.
        .filter(store_id__in=store_ids, id__gte=first_id_at(since))
        .filter(created_at__gte=since)
        .values("store_id", "coupon_id", code=F("coupon__code"))
        .annotate(
            last_hour=Count("id", filter=last),
            before=Count("id", filter=~last),
        )
        # last_hour > ratio * (before / hours_before), without a division
        .annotate(excess=F("last_hour") * hours_before - F("before") * ratio)
        .filter(last_hour__gte=minimum, excess__gt=0)
        .order_by("-last_hour", "coupon_id")
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


def redemption_lines(
    *, redemption_ids: Collection[int]
) -> dict[int, list[RedemptionLine]]:
    """The recorded cart lines of these redemptions (redemption id -> its lines, in
    the cart's order; none for a redemption made without a cart), in one query."""
    lines: dict[int, list[RedemptionLine]] = {rid: [] for rid in redemption_ids}
    for line in RedemptionLine.objects.filter(
        redemption_id__in=redemption_ids
    ).order_by("redemption_id", "id"):
        lines[line.redemption_id].append(line)
    return lines
