"""A customer receives coupons (Shoplazza ``POST /openapi/2022-01/coupons/receive``):
``receive_coupons``.

Lock order: the customer (FOR NO KEY UPDATE) -> the coupons (FOR UPDATE, in id
order). The rules are ``assignments.receive.decide``'s, the SQL
``assignments.receive.store``'s; this module opens the transaction and calls them
in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from assignments.errors import Outcome
from assignments.models import Assignment
from assignments.receive import decide
from assignments.receive import store as receive_store
from assignments.services import assignment_events
from core import metrics
from core.actors import Actor
from core.errors import DomainError
from coupons.models import Coupon
from customers import errors as customer_errors
from customers.models import Customer
from customers.refs import CustomerRef
from stores.models import Store


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


@transaction.atomic
def receive_coupons(
    *,
    store: Store,
    customer: CustomerRef,
    coupon_ids: Sequence[str],
    actor: Actor,
    at: datetime | None = None,
) -> ReceiveResult:
    """``customer`` receives the coupons ``coupon_ids`` name; each id is received
    or refused on its own (the reasons and their order: ``decide``).

    Whole-request failures (nothing written): no ids (``coupon_ids_required``),
    more than ``decide.MAX_COUPON_IDS`` (``too_many_coupon_ids``), no such customer
    in the store (``customer_not_found``). Each receive writes an assignment (the
    channel, key and outlet are the ``actor``'s) and its audit event; the coupons'
    counters move by one UPDATE, on rows locked since the read, and the check
    constraint on ``received_count`` is the last line of defence.
    """
    decide.check_request(coupon_ids)
    at = at or timezone.now()
    requested = decide.parse_ids(coupon_ids)
    locked = receive_store.lock_customer_and_coupons(
        store=store,
        customer=customer,
        coupon_ids=sorted({coupon_id for _raw, coupon_id in requested if coupon_id}),
        at=at,
    )
    if locked.customer is None:
        raise DomainError(customer_errors.CUSTOMER_NOT_FOUND, "Customer not found.")
    holder = decide.Holder(
        id=locked.customer.id,
        held=locked.held,
        has_redeemed=locked.has_redeemed,
        own_holds={
            coupon_id: held.mine
            for coupon_id, held in locked.stock.items()
            if held.mine and not held.received
        },
    )
    decisions = decide.decide(
        requested,
        {
            coupon_id: decide.Terms.of(
                c,
                held_by_others=(
                    locked.stock[coupon_id].others if coupon_id in locked.stock else 0
                ),
            )
            for coupon_id, c in locked.coupons.items()
        },
        holder=holder,
        at=at,
    )
    items = [
        _item(decision, locked, store=store, actor=actor, at=at)
        for decision in decisions
    ]
    received = decide.received_counts(decisions)
    if received:
        assignments = [item.assignment for item in items if item.assignment]
        receive_store.insert_assignments_and_count(
            assignments,
            assignment_events(
                assignments,
                action="receive",
                changes={"channel": actor.channel},
                actor=actor,
            ),
            received,
        )
        for coupon_id, count in received.items():
            locked.coupons[coupon_id].received_count += count
        metrics.count_on_commit(
            store_code=store.code,
            operation=metrics.RECEIVE,
            n=sum(received.values()),
        )
    return ReceiveResult(customer=locked.customer, items=items)


def _item(
    decision: decide.Decision,
    locked: receive_store.Locked,
    *,
    store: Store,
    actor: Actor,
    at: datetime,
) -> ReceivedItem:
    """The result of one decision, with its new (unsaved) assignment if received."""
    coupon = locked.coupons.get(decision.coupon_id) if decision.coupon_id else None
    assignment = None
    if decision.received:
        assignment = Assignment(
            store=store,
            coupon=coupon,
            customer=locked.customer,
            outlet_id=actor.outlet_id,
            api_key=actor.key,
            channel=actor.channel,
            valid_till=coupon.expires_at,
            created_at=at,
        )
    return ReceivedItem(
        requested_id=decision.requested_id,
        outcome=decision.outcome,
        coupon=coupon,
        received_count=decision.received_count,
        stock=decision.stock,
        customer_held=decision.customer_held,
        customer_limit=decision.customer_limit,
        assignment=assignment,
    )
