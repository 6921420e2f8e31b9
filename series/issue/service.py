"""Issue codes of a series to a customer (Capillary ``POST /v2/coupon/issue/multiple``):
``series_issue``. The bulk ``issue_to_customers`` (``series.bulk_issue``) takes the
same locks in the same order for a batch of customers, with the same rules.

Lock order: the customer (FOR NO KEY UPDATE) -> the series -> the pooled codes
(FOR UPDATE SKIP LOCKED, in id order). The rules are ``series.issue.decide``'s, the
SQL ``series.issue.store``'s; this module opens the transactions and calls them in
order.

Two attempts. The first runs without the series lock, so issues of one series run
side by side: the series is read unlocked, the codes are claimed with the first
reads (SKIP LOCKED: claims pass each other), and the issued counter moves last, by
an UPDATE conditional on the cap, which holds the series row only until the commit.
When that attempt meets what only the series lock settles (the cap moved since the
read, the pool has to be refilled, fewer codes are granted than were claimed, or
the series is generic: its one code may have to be made), it is rolled back and
the service makes the second attempt, with the series row locked from the start
(FOR NO KEY UPDATE).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.db import transaction
from django.utils import timezone

from assignments import services as assignment_services
from assignments.models import Assignment
from core import flake, metrics
from core.actors import Actor
from core.errors import DomainError
from coupons.models import Coupon
from customers.models import Customer
from customers.refs import CustomerRef
from series import errors, pool
from series.issue import decide
from series.issue import store as issue_store
from series.models import CodeFormat, Series
from stores.models import Store


@dataclass
class IssueOutcome:
    """What one issue request did. ``shortfall`` names why fewer than ``requested``
    were issued (a partial success), else None."""

    series: Series
    customer: Customer
    requested: int
    coupons: list[Coupon]
    issued_at: datetime
    valid_till: datetime | None
    shortfall: str | None = None
    assignments: list[Assignment] = field(default_factory=list)

    @property
    def issued(self) -> int:
        return len(self.coupons)


@dataclass(frozen=True)
class _Ask:
    """One issue request, as both attempts make it."""

    store: Store
    series_id: int
    customer: CustomerRef | None
    count: int
    actor: Actor
    purpose: str
    at: datetime


class NeedsSeriesLock:
    """What an attempt without the series lock answers when it met what only the
    lock settles; it was rolled back, and the next attempt takes the lock."""


NEEDS_SERIES_LOCK = NeedsSeriesLock()


def series_issue(
    *,
    store: Store,
    series_id: int | None,
    customer: CustomerRef | None,
    count: int,
    actor: Actor,
    purpose: str = "",
    at: datetime | None = None,
) -> IssueOutcome:
    """Issue ``count`` codes of a series to a customer: what fits is issued.

    Checks, in order (``decide``): series id given, count in 1..500, the series
    exists, is active and has not expired, the customer exists; then the limits cut
    the count. Nothing issued is an error (the tightest limit's reason); some issued
    is a partial success (``IssueOutcome.shortfall``).

    ``customer`` is resolved inside the transaction, in the series' round trip.
    ``actor`` is who issues, through which channel (the assignments' channel), with
    which key (their key and outlet). Lock order and the two attempts: see the
    module's docstring.
    """
    _refuse(decide.request_refusal(series_id=series_id, count=count))
    ask = _Ask(
        store=store,
        series_id=series_id,
        customer=customer,
        count=count,
        actor=actor,
        purpose=purpose,
        at=at or timezone.now(),
    )
    outcome = _attempt(ask, lock_series=False)
    if outcome is NEEDS_SERIES_LOCK:
        # Under the lock an attempt never needs it again.
        outcome = _attempt(ask, lock_series=True)
    metrics.count_on_commit(
        store_code=store.code, operation=metrics.ISSUE, n=len(outcome.assignments)
    )
    return outcome


def _attempt(ask: _Ask, *, lock_series: bool) -> IssueOutcome | NeedsSeriesLock:
    """One attempt in its own transaction (a savepoint inside the caller's); one
    that needs the series lock is rolled back and answers ``NEEDS_SERIES_LOCK``."""
    with transaction.atomic():
        outcome = _issue(ask, lock_series=lock_series)
        if outcome is NEEDS_SERIES_LOCK:
            transaction.set_rollback(True)
    return outcome


def _issue(ask: _Ask, *, lock_series: bool) -> IssueOutcome | NeedsSeriesLock:
    # Unlocked, the codes are claimed with the first reads, as many as asked: a
    # grant cut below that (a cap, a per-customer limit) needs the lock.
    reads = issue_store.read_customer_and_series(
        store=ask.store,
        series_id=ask.series_id,
        customer=ask.customer,
        lock_series=lock_series,
        claim=None if lock_series else ask.count,
    )
    series, customer = reads.series, reads.customer
    found = customer is not None
    _refuse(decide.found_refusal(series=series, customer_found=found, at=ask.at))
    window = decide.coupon_window(series, at=ask.at, tz=ask.store.timezone)
    _refuse(decide.window_refusal(window, at=ask.at))
    granted = decide.grant(decide.Terms.of(series, held=reads.held), count=ask.count)
    _refuse(granted.refusal)

    codes = _codes(ask, series, customer.id, reads.claimed, granted, lock_series)
    if codes is NEEDS_SERIES_LOCK:
        return NEEDS_SERIES_LOCK
    coupons, top_up = codes
    granted = decide.settle(granted, available=len(coupons))
    _refuse(granted.refusal)

    assignments = _assignments(ask, series, customer, coupons, window)
    counted = issue_store.insert_issue_and_count(
        assignments=assignments,
        events=assignment_services.assignment_events(
            assignments,
            action="issue",
            changes={"valid_till": window.valid_till, "purpose": ask.purpose},
            actor=ask.actor,
        ),
        dated=[] if series.is_generic else coupons,
        usable_at=window.usable_at,
        valid_till=window.valid_till,
        series=series,
    )
    if not counted:
        if not lock_series:  # the cap or expiry moved (or the series went)
            return NEEDS_SERIES_LOCK
        raise DomainError(errors.OUT_OF_STOCK)  # cannot happen under the lock
    series.issued_count += len(assignments)
    if top_up:
        transaction.on_commit(
            partial(pool.top_up_after_issue, series_id=series.id), robust=True
        )
    return IssueOutcome(
        series=series,
        customer=customer,
        requested=ask.count,
        coupons=coupons,
        issued_at=ask.at,
        valid_till=window.valid_till,
        shortfall=granted.reason,
        assignments=assignments,
    )


def _refuse(refusal: decide.Refusal | None) -> None:
    if refusal is not None:
        raise refusal.error()


def _codes(
    ask: _Ask,
    series: Series,
    customer_id: int,
    claimed: issue_store.Claimed | None,
    granted: decide.Grant,
    lock_series: bool,
) -> tuple[list[Coupon], bool] | NeedsSeriesLock:
    """The codes to issue and whether the pool wants a top-up after the commit;
    ``NEEDS_SERIES_LOCK`` when only the series lock settles which."""
    if series.is_generic:
        if not lock_series:  # its one code may have to be made: under the lock
            return NEEDS_SERIES_LOCK
        coupon = pool.generic_coupon(series, store=ask.store)
        return ([coupon] if coupon is not None else []), False
    if claimed is None:  # the second attempt claims what was granted
        taken = issue_store.claim(ask.store, series.id, granted.count, customer_id)
    elif granted.count < len(claimed.coupons):
        return NEEDS_SERIES_LOCK  # claimed more than the grant
    else:
        taken = claimed
    coupons = taken.coupons
    random = series.code_format == CodeFormat.RANDOM
    if random and len(coupons) < granted.count:
        if not lock_series:  # one refill at a time: under the lock
            return NEEDS_SERIES_LOCK
        # The pool ran dry: generate the shortfall here, in this transaction.
        missing = granted.count - len(coupons)
        room = pool.code_room(series, exact=False)
        pool.fill(series, missing, free=room, currency=ask.store.currency)
        taken = issue_store.claim(ask.store, series.id, missing, customer_id)
        coupons = coupons + taken.coupons
    # (uploaded codes: only what was uploaded)
    low = random and taken.pool_left is not None and taken.pool_left < pool.pool_low()
    return coupons, low


def _assignments(
    ask: _Ask,
    series: Series,
    customer: Customer,
    coupons: list[Coupon],
    window: decide.Window,
) -> list[Assignment]:
    """The unsaved assignments of the codes issued (``store`` writes them)."""
    actor = ask.actor
    return [
        Assignment(
            id=assignment_id,
            store_id=ask.store.id,
            coupon_id=coupon.id,
            customer_id=customer.id,
            series_id=series.id,
            outlet_id=actor.outlet_id,
            api_key=actor.key,
            channel=actor.channel,
            valid_till=window.valid_till,
            transaction_number=None,
            purpose=ask.purpose,
            created_at=ask.at,
        )
        for assignment_id, coupon in zip(
            flake.next_ids(len(coupons)), coupons, strict=True
        )
    ]
