"""The receive rules: pure functions over a snapshot of the coupons and the customer.

No database here: the service reads the snapshot under its locks (``store``), and
these functions say, for each requested coupon id in the order given, what becomes
of it and why. The reasons are checked in this order, the first that holds wins:

1. unknown, another store's, disabled, archived or pooled: ``not_found``;
2. before ``usable_at``: ``not_started``; at or after ``expires_at``: ``expired``;
3. a series code (issued through its series), another customer's coupon, or
   first-order-only for a customer with a redemption: ``not_eligible``;
4. the per-customer limit reached: ``already_received`` when it is 1, else
   ``customer_limit_reached``;
5. the stock gone: ``out_of_stock``. The stock is the store-wide limit minus what
   was received and what live holds take (``stock_left``): a live hold takes one
   unit while its customer has not received the coupon (issue 20), so the
   customer's own holds never stop its receive (once it has received, they use
   what it received), and another's hold keeps a unit for that customer;
6. otherwise ``received``.

An id given twice is two receives: each sees the counts the previous one left.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from assignments import errors
from assignments.errors import Outcome
from core import flake
from core.errors import DomainError
from coupons.models import Coupon

MAX_COUPON_IDS = 100


@dataclass(frozen=True)
class Terms:
    """A coupon as the receive rules see it, read under its lock."""

    id: int
    received_count: int = 0
    usable_at: datetime | None = None
    expires_at: datetime | None = None
    series_id: int | None = None
    usable_by_customer_id: int | None = None
    first_order_only: bool = False
    customer_limit: int | None = None  # None: no per-customer limit
    stock_limit: int | None = None  # the store-wide limit; None: unlimited
    # Units of stock the live holds of other customers (and customer-less ones)
    # take: those of customers who have not received the coupon.
    held_by_others: int = 0

    @classmethod
    def of(cls, coupon: Coupon, *, held_by_others: int = 0) -> Terms:
        return cls(
            id=coupon.id,
            received_count=coupon.received_count,
            held_by_others=held_by_others,
            usable_at=coupon.usable_at,
            expires_at=coupon.expires_at,
            series_id=coupon.series_id,
            usable_by_customer_id=coupon.usable_by_customer_id,
            first_order_only=coupon.is_first_order_only,
            customer_limit=(
                coupon.redeem_limit_customer_amount
                if coupon.redeem_limit_customer_enabled
                else None
            ),
            stock_limit=(
                coupon.redeem_limit_store_amount
                if coupon.redeem_limit_store_enabled
                else None
            ),
        )


@dataclass(frozen=True)
class Holder:
    """The customer as the rules see it: what it holds of the coupons under a
    per-customer limit (coupon id -> assignments; the store reads only those),
    whether it has redeemed (read only when a coupon is first-order-only), and its
    live holds of the coupons it has not received (coupon id -> holds: they take
    stock until it receives)."""

    id: int
    held: Mapping[int, int] = field(default_factory=dict)
    has_redeemed: bool = False
    own_holds: Mapping[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """What becomes of one requested id, with the coupon's counts right after it."""

    requested_id: str
    outcome: str
    coupon_id: int | None = None
    received_count: int = 0
    stock: int | None = 0  # None: no store-wide limit (unlimited)
    customer_held: int = 0
    customer_limit: int | None = None  # None: no per-customer limit

    @property
    def received(self) -> bool:
        return self.outcome == Outcome.RECEIVED


def check_request(coupon_ids: Sequence[str]) -> None:
    """The whole-request failures: no ids, or more than ``MAX_COUPON_IDS``."""
    if not coupon_ids:
        raise DomainError(
            errors.COUPON_IDS_REQUIRED, "At least one coupon id is required."
        )
    if len(coupon_ids) > MAX_COUPON_IDS:
        raise DomainError(
            errors.TOO_MANY_COUPON_IDS,
            f"At most {MAX_COUPON_IDS} coupon ids per request ({len(coupon_ids)} "
            "given).",
        )


def stock_left(limit: int | None, *, received: int, held: int) -> int | None:
    """The receive stock left (None: no store-wide limit): the limit minus what was
    received and the units live holds take (``held``), never below 0. A hold is
    refused when it would need a unit and none is left (``coupons.redeem``)."""
    return None if limit is None else max(0, limit - received - held)


def hold_takes_last_unit(
    stock_limit: int | None, *, received: int, held: int, holder_received: bool
) -> bool:
    """Whether a new hold would need a unit of stock that is not left: its customer
    has not received the coupon (a customer-less hold never has) and what was
    received and what the live holds take (``held``) leave none."""
    if holder_received:
        return False
    return stock_left(stock_limit, received=received, held=held) == 0


def parse_ids(coupon_ids: Sequence[str]) -> list[tuple[str, int | None]]:
    """Each requested id with the coupon id it names (None: it names none)."""
    return [(raw, flake.parse(raw)) for raw in coupon_ids]


def outcome(
    terms: Terms, *, holder: Holder, at: datetime, held: int, received_count: int
) -> str:
    """The outcome of one receive of a found coupon (rules 2 to 6)."""
    if terms.usable_at is not None and at < terms.usable_at:
        return Outcome.NOT_STARTED
    if terms.expires_at is not None and at >= terms.expires_at:
        return Outcome.EXPIRED
    if (
        terms.series_id is not None
        or terms.usable_by_customer_id not in (None, holder.id)
        or (terms.first_order_only and holder.has_redeemed)
    ):
        return Outcome.NOT_ELIGIBLE
    if terms.customer_limit is not None and held >= terms.customer_limit:
        if terms.customer_limit == 1:
            return Outcome.ALREADY_RECEIVED
        return Outcome.CUSTOMER_LIMIT_REACHED
    left = stock_left(
        terms.stock_limit, received=received_count, held=terms.held_by_others
    )
    if left == 0:
        return Outcome.OUT_OF_STOCK
    return Outcome.RECEIVED


def decide(
    requested: Sequence[tuple[str, int | None]],
    coupons: Mapping[int, Terms],
    *,
    holder: Holder,
    at: datetime,
) -> list[Decision]:
    """One decision per requested id (``parse_ids``), in order; ``coupons`` are the
    receivable ones found (anything else is ``not_found``)."""
    taken: Counter[int] = Counter()
    decisions = []
    for raw, coupon_id in requested:
        terms = coupons.get(coupon_id) if coupon_id is not None else None
        if terms is None:
            decisions.append(Decision(raw, Outcome.NOT_FOUND))
            continue
        received_count = terms.received_count + taken[terms.id]
        held = holder.held.get(terms.id, 0) + taken[terms.id]
        made = outcome(
            terms, holder=holder, at=at, held=held, received_count=received_count
        )
        if made == Outcome.RECEIVED:
            taken[terms.id] += 1
            received_count += 1
            held += 1
        decisions.append(
            Decision(
                raw,
                made,
                coupon_id=terms.id,
                received_count=received_count,
                # The customer's holds take stock until it receives the coupon.
                stock=stock_left(
                    terms.stock_limit,
                    received=received_count,
                    held=terms.held_by_others
                    + (0 if taken[terms.id] else holder.own_holds.get(terms.id, 0)),
                ),
                customer_held=held,
                customer_limit=terms.customer_limit,
            )
        )
    return decisions


def received_counts(decisions: Iterable[Decision]) -> dict[int, int]:
    """How many receives each coupon got (coupon id -> count), first received first."""
    return dict(Counter(d.coupon_id for d in decisions if d.received))
