"""The SQL of a redemption (``coupons.redeem.service``): each statement once, named.

Hand-written on ``core.sql`` where every redemption passes: the customer and the
coupon are read (and locked) in one round trip on PostgreSQL
(``lock_customer_and_coupon``), the redemption, its audit event and the coupon's
counter written in another (``insert_redemption_and_count``). The customer's use of
the coupon (``read_usage``) is read only when a rule needs it. Lock order, as every
checkout takes it: the customer (FOR NO KEY UPDATE), then the coupon (FOR UPDATE);
a rollback locks the coupon, then the redemption.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.db import connection
from django.db.models import Count, Max, Q
from django.utils import timezone

from assignments.models import Assignment
from audit.models import AuditEvent
from core import sql
from coupons.codes import fold_code
from coupons.models import Coupon, Hold, HoldState, Redemption, RedemptionLine
from coupons.redeem.decide import Usage
from customers.models import Customer
from customers.refs import CustomerRef
from customers.selectors import customer_find_query
from stores.models import Store


@dataclass(frozen=True)
class Found:
    """The customer asked for (None: not asked for, or the store has no such
    customer) and the live coupon with the code (None: none)."""

    customer: Customer | None
    coupon: Coupon | None
    # The coupon's live holds, (all, this customer's), when it has a limit.
    held: dict[int, tuple[int, int]] = field(default_factory=dict)
    # What live holds take of its receive stock, when read (a hold).
    stock: dict[int, StockHeld] = field(default_factory=dict)


@dataclass(frozen=True)
class Moment:
    """When a checkout looks (live holds end at it), and the hold it converts (not
    counted: its use becomes the redemption's)."""

    at: datetime
    converting: int | None = None


@dataclass(frozen=True)
class StockHeld:
    """What live holds take of a coupon's receive stock (Shoplazza's ``stock``: the
    store-wide limit minus what was received): a live hold takes one unit while its
    customer has not received the coupon (a customer-less hold always does; a
    receiver's hold uses what its receive took already)."""

    others: int = 0  # the other customers' (and customer-less) holds taking a unit
    mine: int = 0  # this customer's live holds, all (they take a unit unless received)
    received: bool = False  # whether this customer has received the coupon

    @property
    def taken(self) -> int:
        """The units the live holds take now."""
        return self.others + (0 if self.received else self.mine)


def live_hold_sql(at: datetime) -> tuple[str, list]:
    """``coupons.models.live_hold`` in SQL, over holds aliased ``h``: the condition
    a statement ANDs in, and its parameters. Its state condition is
    ``hold_live_idx``'s, so a statement that also names the coupons reads that
    index."""
    return (
        "h.state = %s AND h.expires_at > %s",
        [HoldState.ACTIVE, sql.prep(Hold, "expires_at", at)],
    )


def live_holds_query(
    store: Store,
    customer_query: sql.Query | None,
    moment: Moment,
    *,
    codes: Sequence[str] = (),
    coupon_ids: Sequence[int] = (),
    stock: bool = False,
) -> sql.Query:
    """The live holds (active, ending after ``moment.at``) of the limited coupons
    with these codes (or ids): (coupon id, all, the customer's), and with ``stock``
    (a hold or a receive) the other holds that take a unit of the receive stock
    (``StockHeld``) and whether the customer received the coupon, a row for every
    limited coupon. Sent after the locks, in their round trip, so it sees the holds
    of every checkout that went first."""
    if codes:
        folded = sorted({fold_code(code) for code in codes})
        among, among_params = (
            f"k.code_folded IN ({sql.placeholders(len(folded))})",
            [*folded],
        )
    else:
        among, among_params = (
            f"k.id IN ({sql.placeholders(len(coupon_ids))})",
            [*coupon_ids],
        )
    me, me_params = "NULL", []
    if customer_query is not None:
        customer_sql, me_params, _loaders = customer_query
        me = f"(SELECT x.id FROM ({customer_sql}) x)"
    mine = (
        "0"
        if customer_query is None
        else f"COUNT(CASE WHEN h.customer_id = {me} THEN 1 END)"
    )
    # Live, and not the hold this checkout converts (its use becomes the redemption's).
    held, held_params = live_hold_sql(moment.at)
    live, live_params = f"{held} AND h.id <> %s", [*held_params, moment.converting or 0]
    of_coupons = (
        f"k.store_id = %s AND k.archived_at IS NULL AND {among} "
        "AND (k.redeem_limit_store_enabled OR k.redeem_limit_customer_enabled)"
    )
    if not stock:
        return (
            f"SELECT h.coupon_id, COUNT(*), {mine} FROM coupons_hold h "
            f"JOIN coupons_coupon k ON k.id = h.coupon_id WHERE {of_coupons} "
            f"AND {live} GROUP BY h.coupon_id",
            [*me_params, store.id, *among_params, *live_params],
            (sql.Columns(3),),
        )
    others = "h.id IS NOT NULL" + (
        ""
        if customer_query is None
        else f" AND (h.customer_id IS NULL OR h.customer_id <> {me})"
    )
    received = (
        "FALSE"
        if customer_query is None
        else "EXISTS (SELECT 1 FROM assignments_assignment r "
        f"WHERE r.coupon_id = k.id AND r.customer_id = {me})"
    )
    return (
        f"SELECT k.id, COUNT(h.id), {mine}, COUNT(CASE WHEN {others} AND NOT EXISTS "
        "(SELECT 1 FROM assignments_assignment a WHERE a.coupon_id = h.coupon_id "
        f"AND a.customer_id = h.customer_id) THEN 1 END), {received} "
        f"FROM coupons_coupon k LEFT JOIN coupons_hold h ON h.coupon_id = k.id "
        f"AND {live} WHERE {of_coupons} GROUP BY k.id",
        [
            *me_params,
            *me_params,
            *me_params,
            *live_params,
            store.id,
            *among_params,
        ],
        (sql.Columns(5),),
    )


def _held(rows: list[tuple]) -> dict[int, tuple[int, int]]:
    return {columns[0]: (columns[1], columns[2]) for (columns,) in rows}


def stock_held(rows: list[tuple]) -> dict[int, StockHeld]:
    """The rows of a ``live_holds_query`` with ``stock``, by coupon id."""
    return {
        coupon_id: StockHeld(others=others, mine=mine, received=bool(received))
        for ((coupon_id, _n, mine, others, received),) in rows
    }


def _coupon_by_code(store: Store, code: str) -> sql.Query:
    """The live coupon with this code, in any ASCII letter case (``fold_code``).

    It matches ``Coupon.objects.live().with_code(code)`` through the unique index on
    the folded code, which holds at most one live row; no ORDER BY, which would let
    the planner walk the store's id index instead (~180 ms among a million coupons).
    """
    coupon = sql.loader(Coupon, "c")
    return (
        f"SELECT {coupon.columns} FROM coupons_coupon c WHERE c.store_id = %s "
        "AND c.archived_at IS NULL AND c.code_folded = %s LIMIT 1",
        [store.id, fold_code(code)],
        (coupon,),
    )


def _found(
    store: Store,
    customer: CustomerRef | None,
    code: str,
    *,
    lock: bool,
    moment: Moment,
    stock: bool = False,
) -> Found:
    coupon_query = _coupon_by_code(store, code)
    customer_query = (
        None
        if customer is None
        else customer_find_query(store=store, **customer.lookups())
    )
    holds_query = live_holds_query(
        store, customer_query, moment, codes=[code], stock=stock
    )
    if customer_query is None:
        coupon_rows, hold_rows = sql.fetch_batch(
            sql.locked(coupon_query) if lock else coupon_query, holds_query
        )
        return Found(
            customer=None,
            coupon=coupon_rows[0][0] if coupon_rows else None,
            held=_held(hold_rows),
            stock=stock_held(hold_rows) if stock else {},
        )
    if lock:
        customer_query = sql.locked(customer_query, no_key=True)
        coupon_query = sql.locked(coupon_query)
    customer_rows, coupon_rows, hold_rows = sql.fetch_batch(
        customer_query, coupon_query, holds_query
    )
    return Found(
        customer=customer_rows[0][0] if customer_rows else None,
        coupon=coupon_rows[0][0] if coupon_rows else None,
        held=_held(hold_rows),
        stock=stock_held(hold_rows) if stock else {},
    )


@dataclass(frozen=True)
class FoundMany:
    """The customer asked for (None: not asked for, or none such) and the live
    coupons with the codes, by folded code (a code without one is missing)."""

    customer: Customer | None
    coupons: dict[str, Coupon]
    # Each limited coupon's live holds, (all, this customer's).
    held: dict[int, tuple[int, int]] = field(default_factory=dict)


def _coupons_by_codes(store: Store, codes: Sequence[str]) -> sql.Query:
    """The live coupons with these codes, in id order (the order they are locked
    in, so two checkouts naming the same codes never wait for each other in turn).
    """
    folded = sorted({fold_code(code) for code in codes})
    coupon = sql.loader(Coupon, "c")
    among = sql.placeholders(len(folded))
    return (
        f"SELECT {coupon.columns} FROM coupons_coupon c WHERE c.store_id = %s "
        f"AND c.archived_at IS NULL AND c.code_folded IN ({among}) ORDER BY c.id",
        [store.id, *folded],
        (coupon,),
    )


def _found_many(
    store: Store,
    customer: CustomerRef | None,
    codes: Sequence[str],
    *,
    lock: bool,
    at: datetime,
) -> FoundMany:
    queries = [_coupons_by_codes(store, codes)]
    customer_query = (
        None
        if customer is None
        else customer_find_query(store=store, **customer.lookups())
    )
    holds_query = live_holds_query(store, customer_query, Moment(at=at), codes=codes)
    if customer_query is not None:
        queries.insert(0, customer_query)
    if lock:
        queries = [
            sql.locked(query, no_key=query is customer_query) for query in queries
        ]
    *customer_rows, coupon_rows, hold_rows = sql.fetch_batch(*queries, holds_query)
    return FoundMany(
        customer=customer_rows[0][0][0] if customer_rows and customer_rows[0] else None,
        coupons={row[0].code_folded: row[0] for row in coupon_rows},
        held=_held(hold_rows),
    )


def lock_customer_and_coupons(
    *, store: Store, customer: CustomerRef | None, codes: Sequence[str], at: datetime
) -> FoundMany:
    """``lock_customer_and_coupon`` for several codes: the customer (FOR NO KEY
    UPDATE), then the coupons (FOR UPDATE) in id order, then their live holds at
    ``at``, in one round trip."""
    return _found_many(store, customer, codes, lock=True, at=at)


def read_customer_and_coupons(
    *, store: Store, customer: CustomerRef | None, codes: Sequence[str], at: datetime
) -> FoundMany:
    """What ``lock_customer_and_coupons`` reads, without locks (a validation)."""
    return _found_many(store, customer, codes, lock=False, at=at)


def lock_customer_and_coupon(
    *,
    store: Store,
    customer: CustomerRef | None,
    code: str,
    moment: Moment,
    stock: bool = False,
) -> Found:
    """The customer (when one is named) and the coupon with this code, each locked,
    in one round trip on PostgreSQL.

    The customer FOR NO KEY UPDATE: the rules read its history across coupons (first
    order only), so one customer's checkouts queue up here and each sees what the
    previous one wrote; a customer DELETE (FOR UPDATE) waits for the checkout, or the
    checkout for it and then finds no customer. NO KEY: the foreign-key checks of
    rows referencing the customer (FOR KEY SHARE) are not held up. The coupon FOR
    UPDATE: concurrent redemptions of it queue up and each reads the counter the
    previous one left. Then, in the same round trip, the coupon's live holds at
    ``moment`` (``Found.held``; a limited coupon's only), which every checkout of it
    wrote before it got the lock; with ``stock`` (a hold), what they take of its
    receive stock too (``Found.stock``).
    """
    return _found(store, customer, code, lock=True, moment=moment, stock=stock)


def read_customer_and_coupon(
    *, store: Store, customer: CustomerRef | None, code: str, moment: Moment
) -> Found:
    """What ``lock_customer_and_coupon`` reads, without locks (a validation)."""
    return _found(store, customer, code, lock=False, moment=moment)


def read_usage(
    coupons: Sequence[Coupon],
    *,
    customer_id: int | None,
    all_counts: bool = False,
    at: datetime | None = None,
    held: dict[int, tuple[int, int]] | None = None,
) -> dict[int, Usage]:
    """What each coupon, and this customer, have used so far (coupon id -> usage):
    read under the coupon's lock when redeeming, after the customer's lock.

    Only what a rule reads is read: the customer's redemptions of a coupon under a
    per-customer limit (of every coupon with ``all_counts``, for a report), whether
    it redeemed anything in the store when a coupon is first-order-only, and its
    holdings of series coupons, and the live holds (``Hold.objects.live``: active,
    not past their end at ``at``) of a coupon under a limit, store-wide and this
    customer's: ``held`` when the checkout's round trip read them
    (``Found.held``), else read here. At most four queries, whatever the number of
    coupons; none for a coupon without such rules.
    """
    limited = [
        c.id
        for c in coupons
        if c.redeem_limit_store_enabled or c.redeem_limit_customer_enabled
    ]
    held_now = held
    if held_now is None:
        held_now = _live_holds(limited, customer_id, at) if limited else {}
    if customer_id is None:
        return {
            c.id: Usage(
                store_used=c.redeemed_count, store_held=held_now.get(c.id, (0, 0))[0]
            )
            for c in coupons
        }
    counted = [c.id for c in coupons if all_counts or c.redeem_limit_customer_enabled]
    used = _used(counted, customer_id) if counted else {}
    first_order_only = [c for c in coupons if c.is_first_order_only]
    redeemed_before = bool(first_order_only) and _has_redeemed(
        first_order_only[0].store_id, customer_id
    )
    from_series = [c.id for c in coupons if c.series_id is not None]
    held = _holdings(from_series, customer_id) if from_series else {}
    return {
        c.id: Usage(
            store_used=c.redeemed_count,
            customer_used=used.get(c.id, 0),
            customer_has_redeemed_before=c.is_first_order_only and redeemed_before,
            customer_holds_coupon=c.id in held,
            customer_valid_till=held.get(c.id),
            store_held=held_now.get(c.id, (0, 0))[0],
            customer_held=held_now.get(c.id, (0, 0))[1],
        )
        for c in coupons
    }


# Each read below builds its queryset only when it runs: building one costs about
# 0.2 ms of CPU (measured), and most redemptions need none of them.


def _used(coupon_ids: list[int], customer_id: int) -> dict[int, int]:
    """The customer's redemptions that count (not rolled back) of each coupon."""
    return dict(
        Redemption.objects.counting()
        .filter(customer_id=customer_id, coupon_id__in=coupon_ids)
        .values("coupon_id")
        .annotate(n=Count("id"))
        .values_list("coupon_id", "n")
    )


def _live_holds(
    coupon_ids: list[int], customer_id: int | None, at: datetime | None
) -> dict[int, tuple[int, int]]:
    """The live holds of these coupons (coupon id -> (all, this customer's)), in
    one query (hold_live_idx), for a read without a checkout's round trip."""
    holds = Hold.objects.live(at=at or timezone.now()).filter(coupon_id__in=coupon_ids)
    mine = Q(customer_id=customer_id) if customer_id is not None else Q(pk__in=[])
    rows = (
        holds.values("coupon_id")
        .annotate(n=Count("id"), mine=Count("id", filter=mine))
        .values_list("coupon_id", "n", "mine")
    )
    return {coupon_id: (n, mine) for coupon_id, n, mine in rows}


def _has_redeemed(store_id: int, customer_id: int) -> bool:
    """Whether the customer has a redemption that counts in the store."""
    return (
        Redemption.objects.counting()
        .filter(customer_id=customer_id, store_id=store_id)
        .exists()
    )


def _holdings(coupon_ids: list[int], customer_id: int) -> dict[int, datetime | None]:
    """The customer's holdings of these coupons and when each ends (coupon id ->
    valid-till), in one query. A holding with any assignment without a valid-till
    never ends (None); otherwise it ends with its latest assignment's valid-till."""
    rows = (
        Assignment.objects.filter(coupon_id__in=coupon_ids, customer_id=customer_id)
        .values("coupon_id")
        .annotate(n=Count("id"), dated=Count("valid_till"), last=Max("valid_till"))
    )
    return {
        row["coupon_id"]: row["last"] if row["dated"] == row["n"] else None
        for row in rows
    }


def insert_redemption_and_count(
    redemption: Redemption,
    event: AuditEvent,
    lines: Sequence[RedemptionLine] = (),
) -> None:
    """The redemption, its lines, its audit event and one more use on the coupon's
    counter, in one round trip (the coupon row is locked)."""
    insert_redemptions_and_count([redemption], [event], lines)


def insert_redemptions_and_count(
    redemptions: Sequence[Redemption],
    events: Sequence[AuditEvent],
    lines: Sequence[RedemptionLine] = (),
) -> None:
    """Redemptions of distinct coupons (several codes on one order), their lines,
    their audit events and one more use on each coupon's counter, in one round trip
    (the coupon rows are locked)."""
    coupon_ids = [redemption.coupon_id for redemption in redemptions]
    sql.write(
        redemptions,
        lines,
        events,
        then=(
            "UPDATE coupons_coupon SET redeemed_count = redeemed_count + 1 "
            f"WHERE id IN ({sql.placeholders(len(coupon_ids))})",
            coupon_ids,
        ),
    )


# One use fewer on a coupon's counter (a rollback; the coupon row is locked).
UNCOUNT = "UPDATE coupons_coupon SET redeemed_count = redeemed_count - 1 WHERE id = %s"


def lock_coupon_and_redemption(
    *, store: Store, redemption_id: int
) -> Redemption | None:
    """The store's redemption (None: none), locked after its coupon (FOR UPDATE
    both, in that order, as a redemption takes the coupon's): one round trip."""
    coupon = sql.loader(Coupon, "c")
    redemption = sql.loader(Redemption, "r")
    of_store = "r.id = %s AND r.store_id = %s"
    _coupons, redemptions = sql.fetch_batch(
        sql.locked(
            (
                f"SELECT {coupon.columns} FROM coupons_coupon c WHERE c.id = "
                f"(SELECT r.coupon_id FROM coupons_redemption r WHERE {of_store})",
                [redemption_id, store.id],
                (coupon,),
            )
        ),
        sql.locked(
            (
                f"SELECT {redemption.columns} FROM coupons_redemption r "
                f"WHERE {of_store}",
                [redemption_id, store.id],
                (redemption,),
            )
        ),
    )
    return redemptions[0][0] if redemptions else None


def mark_rolled_back_and_uncount(redemption: Redemption, event: AuditEvent) -> None:
    """The redemption's ``rolled_back_at``, its audit event and one use fewer on the
    coupon's counter, in one round trip (both rows are locked)."""
    rolled_back_at = Redemption._meta.get_field("rolled_back_at").get_db_prep_save(
        redemption.rolled_back_at, connection
    )
    sql.write(
        [event],
        then=[
            (
                "UPDATE coupons_redemption SET rolled_back_at = %s WHERE id = %s",
                [rolled_back_at, redemption.pk],
            ),
            (UNCOUNT, [redemption.coupon_id]),
        ],
    )


def read_lines(redemption: Redemption) -> list[RedemptionLine]:
    """The redemption's recorded lines (read under its lock, for a return)."""
    return list(RedemptionLine.objects.filter(redemption_id=redemption.pk))


def record_return(
    redemption: Redemption,
    lines: Sequence[RedemptionLine],
    event: AuditEvent,
    *,
    uncount: bool,
) -> None:
    """A return on the locked redemption: its returned value and discount (and
    ``rolled_back_at`` when it completes the rollback), the lines' returned units
    and discounts (one UPDATE), its audit event, and one use fewer on the coupon's
    counter when ``uncount``."""
    prep = partial(sql.prep, Redemption)
    statements = [
        (
            "UPDATE coupons_redemption SET discount_amount = %s, value_returned = %s, "
            "discount_returned = %s, rolled_back_at = %s WHERE id = %s",
            [
                redemption.discount_amount,
                redemption.value_returned,
                redemption.discount_returned,
                prep("rolled_back_at", redemption.rolled_back_at),
                redemption.pk,
            ],
        )
    ]
    if uncount:
        statements.append((UNCOUNT, [redemption.coupon_id]))
    if lines:
        RedemptionLine.objects.bulk_update(
            lines, ["returned_quantity", "returned_discount"]
        )
    sql.write([event], then=statements)


def insert_hold(hold: Hold, event: AuditEvent) -> None:
    """The hold and its audit event, in one round trip (the coupon row is locked,
    so the live holds counted before it are still the coupon's)."""
    sql.write([hold], [event])


def lock_hold(*, store: Store, hold_id: int) -> Hold | None:
    """The store's hold (None: none), locked after its coupon (FOR UPDATE both, in
    that order, as a redemption takes the coupon's), in one round trip."""
    coupon = sql.loader(Coupon, "c")
    hold = sql.loader(Hold, "h")
    of_store = "h.id = %s AND h.store_id = %s"
    _coupons, holds = sql.fetch_batch(
        sql.locked(
            (
                f"SELECT {coupon.columns} FROM coupons_coupon c WHERE c.id = "
                f"(SELECT h.coupon_id FROM coupons_hold h WHERE {of_store})",
                [hold_id, store.id],
                (coupon,),
            )
        ),
        sql.locked(
            (
                f"SELECT {hold.columns} FROM coupons_hold h WHERE {of_store}",
                [hold_id, store.id],
                (hold,),
            )
        ),
    )
    return holds[0][0] if holds else None


def lock_coupon_hold(*, coupon: Coupon, hold_id: int) -> Hold | None:
    """The coupon's hold (None: none, or another coupon's), locked; the coupon row
    is locked already (a redemption with ``hold_id``)."""
    hold = sql.loader(Hold, "h")
    row = sql.fetch_one(
        sql.locked(
            (
                f"SELECT {hold.columns} FROM coupons_hold h "
                "WHERE h.id = %s AND h.coupon_id = %s",
                [hold_id, coupon.id],
                (hold,),
            )
        )
    )
    return row[0] if row else None


def mark_hold(hold: Hold, event: AuditEvent | None = None) -> None:
    """The locked hold's new state (and redemption), with its audit event."""
    prep = partial(sql.prep, Hold)
    sql.write(
        [event] if event is not None else [],
        then=(
            "UPDATE coupons_hold SET state = %s, redemption_id = %s, updated_at = %s "
            "WHERE id = %s",
            [
                hold.state,
                hold.redemption_id,
                prep("updated_at", hold.updated_at),
                hold.pk,
            ],
        ),
    )


def expire_holds(*, before: datetime, limit: int) -> int:
    """Mark up to ``limit`` active holds that ended before ``before`` expired (a
    tidy-up: an ended hold counts for nothing already). The number marked."""
    ids = list(
        Hold.objects.past_end(at=before)
        .order_by("expires_at")
        .values_list("id", flat=True)[:limit]
    )
    if not ids:
        return 0
    # Still active and past its end under the UPDATE (one released meanwhile stays).
    return (
        Hold.objects.past_end(at=before)
        .filter(id__in=ids)
        .update(state=HoldState.EXPIRED, updated_at=timezone.now())
    )
