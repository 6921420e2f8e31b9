"""Writes of the assignments app: a customer receives coupons."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from assignments import errors, selectors
from assignments.errors import Outcome
from assignments.models import Assignment
from audit import services as audit
from audit.models import AuditEvent
from core import flake, sql
from core.errors import DomainError
from coupons.models import Coupon
from customers import errors as customer_errors
from customers import selectors as customer_selectors
from customers.models import Customer
from stores.models import ApiKey, Store

MAX_COUPON_IDS = 100


@dataclass(frozen=True)
class ReceivedItem:
    """One requested coupon id and what became of it.

    The counts are the coupon's as they stand right after this item, so a coupon
    asked for twice shows its count after each receive.
    """

    requested_id: str
    outcome: str
    coupon: Coupon | None = None
    received_count: int = 0
    stock: int | None = 0  # None: no store-wide limit (unlimited)
    customer_held: int = 0
    customer_limit: int | None = None  # None: no per-customer limit
    assignment: Assignment | None = None

    @property
    def received(self) -> bool:
        return self.outcome == Outcome.RECEIVED

    @property
    def customer_limit_reached(self) -> bool:
        return (
            self.customer_limit is not None
            and self.customer_held >= self.customer_limit
        )


@dataclass(frozen=True)
class ReceiveResult:
    customer: Customer
    items: list[ReceivedItem]

    @property
    def first_failure(self) -> ReceivedItem | None:
        return next((item for item in self.items if not item.received), None)


def _locked(
    *, store: Store, customer_id: object, coupon_ids: list[int]
) -> tuple[Customer, dict[int, Coupon]]:
    """The customer, then the store's live, enabled coupons among these ids (a
    pooled code is not a coupon), each locked: one round trip on PostgreSQL
    (hand-written, ``core.sql``).

    FOR NO KEY UPDATE on the customer: it cannot be deleted under the new
    assignments, and one customer's receives queue up; inserts referencing it still
    proceed. FOR UPDATE on the coupons, in id order.
    """
    parsed = flake.parse(customer_id)
    if not parsed:
        raise DomainError(customer_errors.CUSTOMER_NOT_FOUND, "Customer not found.")
    queries = [
        sql.locked(
            customer_selectors.customer_by_id(store=store, customer_id=parsed),
            no_key=True,
        )
    ]
    if coupon_ids:
        coupon = sql.loader(Coupon, "c")
        queries.append(
            (
                f"SELECT {coupon.columns} FROM coupons_coupon c WHERE c.store_id = %s "
                # A pooled code is a series' inventory, not a coupon: not found.
                f"AND c.archived_at IS NULL AND NOT c.pooled AND c.enabled "
                f"AND c.id IN ({sql.placeholders(len(coupon_ids))}) ORDER BY c.id"
                + sql.for_update(),
                [store.id, *coupon_ids],
                (coupon,),
            )
        )
    customer_rows, *coupon_rows = sql.fetch_batch(*queries)
    if not customer_rows:
        # (The coupons locked with it are let go with the transaction.)
        raise DomainError(customer_errors.CUSTOMER_NOT_FOUND, "Customer not found.")
    coupons = {found.id: found for (found,) in coupon_rows[0]} if coupon_rows else {}
    return customer_rows[0][0], coupons


def _outcome(
    coupon: Coupon,
    *,
    customer: Customer,
    at: datetime,
    held: int,
    received_count: int,
    has_redeemed: bool,
) -> str:
    if coupon.usable_at is not None and at < coupon.usable_at:
        return Outcome.NOT_STARTED
    if coupon.expires_at is not None and at >= coupon.expires_at:
        return Outcome.EXPIRED
    if (
        # A series code is issued through its series (its cap and pool).
        coupon.series_id is not None
        or coupon.usable_by_customer_id not in (None, customer.id)
        or (coupon.is_first_order_only and has_redeemed)
    ):
        return Outcome.NOT_ELIGIBLE
    if coupon.redeem_limit_customer_enabled and (
        held >= coupon.redeem_limit_customer_amount
    ):
        if coupon.redeem_limit_customer_amount == 1:
            return Outcome.ALREADY_RECEIVED
        return Outcome.CUSTOMER_LIMIT_REACHED
    if coupon.redeem_limit_store_enabled and (
        received_count >= coupon.redeem_limit_store_amount
    ):
        return Outcome.OUT_OF_STOCK
    return Outcome.RECEIVED


def _stock(coupon: Coupon, received_count: int) -> int | None:
    if not coupon.redeem_limit_store_enabled:
        return None
    return max(0, coupon.redeem_limit_store_amount - received_count)


def assignment_events(
    assignments: Sequence[Assignment], *, action: str, changes: dict
) -> list[AuditEvent]:
    """The audit events of new assignments (unsaved: the caller writes them with the
    assignments, ``core.sql.write``)."""
    return [
        audit.event(
            action=action,
            object_type="assignment",
            object_id=assignment.pk,
            store_id=assignment.store_id,
            coupon_id=assignment.coupon_id,
            customer_id=assignment.customer_id,
            series_id=assignment.series_id,
            changes=changes,
        )
        for assignment in assignments
    ]


@transaction.atomic
def assignments_receive(
    *,
    store: Store,
    customer_id: object,
    coupon_ids: Sequence[str],
    channel: str,
    api_key: ApiKey | None = None,
    at: datetime | None = None,
) -> ReceiveResult:
    """A customer receives coupons; each id succeeds or is refused on its own.

    Whole-request failures (nothing written): no ids (``coupon_ids_required``), more
    than ``MAX_COUPON_IDS`` (``too_many_coupon_ids``), an unknown customer or another
    store's (``customer_not_found``). Per coupon, in this order: unknown, another
    store's, disabled or archived (``not_found``); outside its window
    (``not_started``/``expired``); a series code, another customer's coupon, or
    first-order-only for a customer with a redemption (``not_eligible``); the
    per-customer limit (its per-customer redeem limit) reached (``already_received``
    when it is 1, else ``customer_limit_reached``); the stock (its store-wide redeem
    limit minus what was received) gone (``out_of_stock``). An id given twice is two
    receives.

    Locks the customer, then the coupons in primary-key order (FOR UPDATE), so
    concurrent receives of one coupon queue up and each sees the counts the previous
    one left; the check constraint on ``received_count`` is the last line of defence.
    Writes one assignment per receive and one UPDATE of the counters.
    """
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
    at = at or timezone.now()
    parsed = [flake.parse(raw) for raw in coupon_ids]
    wanted = sorted({coupon_id for coupon_id in parsed if coupon_id is not None})
    customer, coupons = _locked(store=store, customer_id=customer_id, coupon_ids=wanted)
    # What the customer holds matters only under a per-customer limit.
    held = selectors.held_counts(
        customer=customer,
        coupon_ids=[c.id for c in coupons.values() if c.redeem_limit_customer_enabled],
    )
    has_redeemed = any(c.is_first_order_only for c in coupons.values()) and (
        selectors.customer_has_redeemed(store=store, customer=customer)
    )
    outlet_id = api_key.outlet_id if api_key is not None else None

    taken: Counter[int] = Counter()
    items: list[ReceivedItem] = []
    assignments: list[Assignment] = []
    for raw, coupon_id in zip(coupon_ids, parsed, strict=True):
        coupon = coupons.get(coupon_id) if coupon_id is not None else None
        if coupon is None:
            items.append(ReceivedItem(requested_id=raw, outcome=Outcome.NOT_FOUND))
            continue
        received_count = coupon.received_count + taken[coupon.id]
        customer_held = held.get(coupon.id, 0) + taken[coupon.id]
        outcome = _outcome(
            coupon,
            customer=customer,
            at=at,
            held=customer_held,
            received_count=received_count,
            has_redeemed=has_redeemed,
        )
        assignment = None
        if outcome == Outcome.RECEIVED:
            taken[coupon.id] += 1
            received_count += 1
            customer_held += 1
            assignment = Assignment(
                store=store,
                coupon=coupon,
                customer=customer,
                outlet_id=outlet_id,
                api_key=api_key,
                channel=channel,
                valid_till=coupon.expires_at,
                created_at=at,
            )
            assignments.append(assignment)
        items.append(
            ReceivedItem(
                requested_id=raw,
                outcome=outcome,
                coupon=coupon,
                received_count=received_count,
                stock=_stock(coupon, received_count),
                customer_held=customer_held,
                customer_limit=(
                    coupon.redeem_limit_customer_amount
                    if coupon.redeem_limit_customer_enabled
                    else None
                ),
                assignment=assignment,
            )
        )

    if assignments:
        events = assignment_events(
            assignments, action="receive", changes={"channel": channel}
        )
        # The assignments, their audit events and every coupon's counter in one
        # round trip; the coupon rows are locked above.
        cases = " ".join(["WHEN %s THEN %s"] * len(taken))
        sql.write(
            assignments,
            events,
            then=(
                "UPDATE coupons_coupon SET received_count = received_count + "
                f"CASE id {cases} END WHERE id IN ({sql.placeholders(len(taken))})",
                [*(v for pair in taken.items() for v in pair), *taken],
            ),
        )
        for coupon_id, n in taken.items():
            coupons[coupon_id].received_count += n
    return ReceiveResult(customer=customer, items=items)
