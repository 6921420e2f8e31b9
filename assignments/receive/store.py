"""The SQL of a receive (``assignments.receive.service``): each statement once, named.

Hand-written on ``core.sql``: the reads go in one round trip on PostgreSQL
(``lock_customer_and_coupons``), the writes in another
(``insert_assignments_and_count``). Lock order: the customer (FOR NO KEY UPDATE),
then the coupons (FOR UPDATE, in id order), as a hold takes them; the live holds
(what they take of the stock) are looked for after the locks, in the same round
trip, and counted, when there are any, by the redemption path's statement
(``coupons.redeem.store.live_holds_query``) in a second one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from assignments.models import Assignment
from audit.models import AuditEvent
from core import sql
from coupons.models import Coupon
from coupons.redeem.store import (
    Moment,
    StockHeld,
    live_hold_sql,
    live_holds_query,
    stock_held,
)
from customers.models import Customer
from customers.refs import CustomerRef
from customers.selectors import customer_find_query
from stores.models import Store


@dataclass(frozen=True)
class Locked:
    """What a receive reads under its locks."""

    customer: Customer | None  # None: the store has no such customer
    coupons: dict[int, Coupon] = field(default_factory=dict)  # receivable, by id
    # Assignments the customer holds of each found coupon under a per-customer
    # limit (coupon id -> count; the others are not counted).
    held: dict[int, int] = field(default_factory=dict)
    # Whether the customer has a redemption that counts (not rolled back); read
    # only when a first-order-only coupon is found, else False.
    has_redeemed: bool = False
    # What live holds take of each found coupon's stock (coupon id -> counts; a
    # coupon without a limit has none).
    stock: dict[int, StockHeld] = field(default_factory=dict)


def lock_customer_and_coupons(
    *, store: Store, customer: CustomerRef, coupon_ids: Sequence[int], at: datetime
) -> Locked:
    """The customer, then the store's receivable coupons among ``coupon_ids`` with
    what the rules need of the customer's history, each row locked, then their live
    holds at ``at`` (what they take of the stock): one round trip.

    FOR NO KEY UPDATE on the customer: it cannot be deleted under the new
    assignments, and one customer's receives (and other checkouts) queue up, so
    the counts read by the next statement, after the lock was granted, include
    every one that committed before. FOR UPDATE on the coupons, in id order:
    concurrent receives of one coupon queue up and each reads the counter the
    previous one left.
    """
    found = customer_find_query(store=store, **customer.lookups())
    if found is None:
        return Locked(customer=None)
    queries = [sql.locked(found, no_key=True)]
    if coupon_ids:
        queries.append(_receivable_coupons(store, coupon_ids, holder=found))
        queries.append(_any_live_hold(coupon_ids, at))
    customer_rows, *coupon_rows = sql.fetch_batch(*queries)
    if not customer_rows:
        # (The coupons locked with it are let go with the transaction.)
        return Locked(customer=None)
    rows, any_hold = coupon_rows if coupon_rows else ([], [])
    hold_rows = []
    if any_hold:  # rare: what the holds take, under the locks already held
        [hold_rows] = sql.fetch_batch(
            live_holds_query(
                store, found, Moment(at=at), coupon_ids=coupon_ids, stock=True
            )
        )
    return Locked(
        customer=customer_rows[0][0],
        coupons={coupon.id: coupon for coupon, _counts in rows},
        held={
            coupon.id: held for coupon, (held, _redeemed) in rows if held is not None
        },
        has_redeemed=any(redeemed for _coupon, (_held, redeemed) in rows),
        stock=stock_held(hold_rows),
    )


def _any_live_hold(coupon_ids: Sequence[int], at: datetime) -> sql.Query:
    """Whether any of these coupons has a live hold (``hold_live_idx``). Most have
    none, and then what holds take of the stock is nothing: the full count
    (``live_holds_query``, a costlier statement to plan on every receive: ~0.12 of
    the receive benchmark's ratio) is read only when one has."""
    live, live_params = live_hold_sql(at)
    return (
        "SELECT h.coupon_id FROM coupons_hold h WHERE h.coupon_id IN "
        f"({sql.placeholders(len(coupon_ids))}) AND {live} LIMIT 1",
        [*coupon_ids, *live_params],
        (sql.Columns(1),),
    )


def _receivable_coupons(
    store: Store, coupon_ids: Sequence[int], *, holder: sql.Query
) -> sql.Query:
    """The store's live, enabled coupons among these ids (a pooled code is a
    series' inventory, not a coupon), locked in id order. Beside each, the
    customer's assignments of it when a per-customer limit applies, and whether
    the customer has redeemed when it is first-order-only (else NULLs)."""
    coupon = sql.loader(Coupon, "c")
    who = f"(SELECT who.id FROM ({holder[0]}) AS who)"
    return (
        f"SELECT {coupon.columns}, "
        "CASE WHEN c.redeem_limit_customer_enabled THEN (SELECT COUNT(*) "
        "FROM assignments_assignment a WHERE a.coupon_id = c.id "
        f"AND a.customer_id = {who}) END, "
        "CASE WHEN c.is_first_order_only THEN EXISTS (SELECT 1 "
        "FROM coupons_redemption r WHERE r.store_id = c.store_id "
        f"AND r.customer_id = {who} AND r.rolled_back_at IS NULL) END "
        "FROM coupons_coupon c WHERE c.store_id = %s AND c.archived_at IS NULL "
        "AND NOT c.pooled AND c.enabled "
        f"AND c.id IN ({sql.placeholders(len(coupon_ids))}) ORDER BY c.id"
        + sql.for_update(),
        [*holder[1], *holder[1], store.id, *coupon_ids],
        (coupon, sql.Columns(2)),
    )


def insert_assignments_and_count(
    assignments: Sequence[Assignment],
    events: Sequence[AuditEvent],
    received: dict[int, int],
) -> None:
    """The new assignments, their audit events and each coupon's received counter
    (coupon id -> receives) in one round trip; the coupon rows are locked."""
    cases = " ".join(["WHEN %s THEN %s"] * len(received))
    sql.write(
        assignments,
        events,
        then=(
            "UPDATE coupons_coupon SET received_count = received_count + "
            f"CASE id {cases} END WHERE id IN ({sql.placeholders(len(received))})",
            [*(value for pair in received.items() for value in pair), *received],
        ),
    )
