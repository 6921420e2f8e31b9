"""The SQL of an issue (``series.issue.service``): each statement once, named.

Hand-written on ``core.sql``: the reads of an issue go in one round trip on
PostgreSQL (``fetch_batch``), its writes in another (``write``). Every issue locks
in one order: the customer (FOR NO KEY UPDATE), then the series (FOR NO KEY UPDATE in
the second attempt; in the first only by the counter UPDATE at the end), then the
pooled codes (FOR UPDATE SKIP LOCKED).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.db import connection

from assignments.models import Assignment
from audit.models import AuditEvent
from core import flake, sql
from coupons.models import Coupon
from customers.models import Customer
from customers.refs import CustomerRef
from customers.selectors import customer_find_query
from series import pool
from series.models import UNLIMITED, Series
from stores.models import Store


@dataclass(frozen=True)
class Claimed:
    """Pooled codes claimed for a customer."""

    # In id order; only id, compact_id, store_id, code, series_id loaded.
    coupons: list[Coupon]
    # Codes still pooled after this claim, counted up to the low mark (None: not
    # counted this time).
    pool_left: int | None


@dataclass(frozen=True)
class Reads:
    """What an issue reads first (``read_customer_and_series``)."""

    customer: Customer | None
    series: Series | None  # the store's active series (locked when asked)
    # Codes of the series the customer holds; None when no per-customer limit
    # applies (then they are not counted).
    held: int | None = None
    claimed: Claimed | None = None  # codes claimed ahead of the grant


NOTHING = Reads(customer=None, series=None)

# Model.from_db takes a subset of the fields in the model's order.
_CLAIMED = ["id", "compact_id", "store_id", "code", "series_id"]


def read_customer_and_series(
    *,
    store: Store,
    series_id: int,
    customer: CustomerRef | None,
    lock_series: bool,
    claim: int | None,
) -> Reads:
    """One round trip: the customer, locked FOR NO KEY UPDATE (so one customer's
    issues queue up and its holdings are read under the lock); the series, locked
    too when ``lock_series`` (the second attempt), with the customer's holdings of
    it; with ``claim``, that many pooled codes claimed for the customer (after its
    lock, so the lock order holds)."""
    if not 0 < series_id <= flake.MAX_ID:
        return NOTHING
    query = None  # None: no identifier given (customer_find_query's None too)
    if customer is not None:
        query = customer_find_query(store=store, **customer.lookups())
    queries = [_series_and_holdings(store, series_id, query, lock=lock_series)]
    if query is not None:
        # The customer first: every issue locks customer, then series, then codes.
        queries.insert(0, sql.locked(query, no_key=True))
        if claim is not None:
            queries.append(claim_pooled_codes(store, series_id, claim, query))
    results = sql.fetch_batch(*queries)
    if query is None:
        [series_rows] = results
        return Reads(customer=None, series=series_rows[0][0] if series_rows else None)
    customer_rows, series_rows, *claimed = results
    series_row = series_rows[0] if series_rows else None
    return Reads(
        customer=customer_rows[0][0] if customer_rows else None,
        series=series_row[0] if series_row else None,
        held=series_row[1][0] if series_row else None,
        claimed=_claimed(claimed[0]) if claimed else None,
    )


def _series_and_holdings(
    store: Store, series_id: int, customer: sql.Query | None, *, lock: bool
) -> sql.Query:
    """The store's active series; beside it, the customer's codes of the series
    when a per-customer limit applies (``decide.Terms.counts_holdings``), else
    NULL. A statement after the customer's lock: it sees every issue to the
    customer that committed before the lock was granted."""
    series = sql.loader(Series, "s")
    if customer is None:
        held, held_params = "NULL", []
    else:
        held = (
            "CASE WHEN NOT s.is_multiple_vouchers_per_user_allowed "
            "OR s.max_vouchers_per_user <> %s THEN (SELECT COUNT(*) "
            "FROM assignments_assignment a WHERE a.series_id = s.id "
            f"AND a.customer_id = {_holder(customer)}) END"
        )
        held_params = [UNLIMITED, *customer[1]]
    return (
        f"SELECT {series.columns}, {held} FROM series_series s "
        "WHERE s.store_id = %s AND s.id = %s AND s.is_active"
        + (sql.for_update(no_key=True) if lock else ""),
        [*held_params, store.id, series_id],
        (series, sql.Columns(1)),
    )


def _holder(customer: sql.Query) -> str:
    """The id of the customer ``customer`` (its query) finds, as an expression."""
    return f"(SELECT who.id FROM ({customer[0]}) AS who)"


def claim_pooled_codes(
    store: Store, series_id: int, count: int, customer: int | sql.Query
) -> sql.Query:
    """Claim up to ``count`` issuable pooled codes of the series (``pool.in_pool``)
    for the customer (its id, or the query that finds it), and count what stays
    issuable for the top-up: one statement, one update of each code (its window,
    when it has one, comes with the issue's writes).

    SKIP LOCKED: rows another transaction is claiming are passed over, not waited
    for, so issues of one series claim side by side.

    The pool is counted (through its index, up to the low mark) for a claim of 8
    codes or more, else only when a claimed code's id is a multiple of 8: pooled ids
    are consecutive, so one claim in eight at most. The top-up notices a low pool
    at most 7 issues late, and a dry pool is refilled by the issue itself anyway.
    """
    if isinstance(customer, int):
        holder, holder_params = "%s", [customer]
    else:  # the customer's query: its first column is the id
        holder, holder_params = _holder(customer), list(customer[1])
    in_pool, pool_params = pool.in_pool(series_id)
    pool_count, pool_count_params = pool.pool_count_sql(
        series_id, pool.pool_low() + count
    )
    return (
        f"WITH claimed AS (SELECT id FROM coupons_coupon WHERE {in_pool} "
        "AND store_id = %s ORDER BY series_id, id LIMIT %s"
        + sql.for_update(skip_locked=True)
        + f") UPDATE coupons_coupon SET pooled = %s, usable_by_customer_id = {holder} "
        "WHERE id IN (SELECT id FROM claimed) "
        "RETURNING id, compact_id, store_id, code, series_id, "
        "CASE WHEN %s OR id %% 8 = 0 THEN "
        f"({pool_count}) END",
        [
            *pool_params,
            store.id,
            count,
            False,
            *holder_params,
            count >= 8,
            *pool_count_params,
        ],
        (sql.Columns(6),),
    )


def claim(store: Store, series_id: int, count: int, customer_id: int) -> Claimed:
    """``claim_pooled_codes`` run alone (the second attempt's claims)."""
    [rows] = sql.fetch_batch(claim_pooled_codes(store, series_id, count, customer_id))
    return _claimed(rows)


def _claimed(rows: list[tuple]) -> Claimed:
    values = sorted(row for (row,) in rows)
    coupons = [Coupon.from_db(connection.alias, _CLAIMED, row[:5]) for row in values]
    # The count saw the pool before this claim (one snapshot on PostgreSQL).
    pooled = next((row[5] for row in values if row[5] is not None), None)
    return Claimed(
        coupons=coupons,
        pool_left=None if pooled is None else max(pooled - len(values), 0),
    )


def insert_issue_and_count(
    *,
    assignments: Sequence[Assignment],
    events: Sequence[AuditEvent],
    dated: Sequence[Coupon],
    usable_at: datetime | None,
    valid_till: datetime | None,
    series: Series,
) -> bool:
    """One round trip: the assignments, their audit events, the window of the codes
    in ``dated`` (when there is one), and the series' issued count moved by the
    assignments, conditional on the cap, on the series being active and on its
    expiry being the one the window was taken from (staff may have extended it since
    an unlocked read), as its row stands then (the check constraint behind the
    cap). False: that UPDATE matched no row, and the caller undoes the rest."""
    counted = sql.write(
        assignments,
        events,
        then=_window_and_count(
            [coupon.id for coupon in dated],
            usable_at,
            valid_till,
            series,
            len(assignments),
        ),
    )
    return counted == 1


def _window_and_count(
    dated: Sequence[int],
    usable_at: datetime | None,
    valid_till: datetime | None,
    series: Series,
    issued: int,
) -> list[sql.Statement]:
    """The statements that follow an issue's inserts (``insert_issue_and_count``):
    the codes' window, then the counter's conditional UPDATE, last."""
    window = []
    if dated and (usable_at is not None or valid_till is not None):
        codes, codes_params = _any("id", dated)
        window.append(
            (
                "UPDATE coupons_coupon SET usable_at = %s, expires_at = %s "
                f"WHERE {codes}",
                [
                    _prep(Coupon, "usable_at", usable_at),
                    _prep(Coupon, "expires_at", valid_till),
                    *codes_params,
                ],
            )
        )
    if series.valid_till is None:
        same_expiry, expiry_params = "valid_till IS NULL", []
    else:
        same_expiry = "valid_till = %s"
        expiry_params = [_prep(Series, "valid_till", series.valid_till)]
    return [
        *window,
        (
            "UPDATE series_series SET issued_count = issued_count + %s "
            "WHERE id = %s AND is_active "
            "AND (max_create = %s OR issued_count <= max_create - %s) "
            f"AND {same_expiry}",
            [issued, series.id, UNLIMITED, issued, *expiry_params],
        ),
    ]


def _prep(model: type[Coupon | Series], name: str, value: datetime | None) -> object:
    """``value`` as the ORM would send it for ``model.name`` (SQLite: UTC text)."""
    return model._meta.get_field(name).get_db_prep_save(value, connection)


# --- a bulk issue (``series.bulk_issue``): a batch of customers at a time ------------


class Holder(NamedTuple):
    """A customer of a batch, as the batch's identifiers find it."""

    id: int
    mobile: str | None
    email_folded: str | None
    external_id: str | None
    compact_id: int | None


class Holdings(NamedTuple):
    """What a customer of a batch holds of the series: how many codes, and the
    purpose of the one a bulk run with ``marker`` gave it (None: none)."""

    held: int
    marked: str | None


class ClaimedCode(NamedTuple):
    """A pooled code claimed for one customer of a batch."""

    id: int
    customer_id: int


def _any(column: str, values: Sequence[object]) -> tuple[str, list]:
    """``column`` is one of ``values`` (an array on PostgreSQL: one parameter)."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({sql.placeholders(len(values))})", list(values)


def lock_customers(
    *,
    store: Store,
    ids: Sequence[int],
    mobiles: Sequence[str],
    emails_folded: Sequence[str],
    external_ids: Sequence[str],
    compact_ids: Sequence[int] = (),
    lock: bool = True,
) -> list[Holder]:
    """The store's customers any of these identifiers name (``compact_ids``: the
    id Capillary shows), locked FOR NO KEY UPDATE in id order (the issue's first
    lock, as ``read_customer_and_series`` takes it for one customer; several bulk
    runs lock in one order), in one statement: a batch is resolved under its
    locks."""
    conditions, params = [], []
    for column, values in (
        ("c.id", ids),
        ("c.compact_id", compact_ids),
        ("c.mobile", mobiles),
        ("c.email_folded", emails_folded),
        ("c.external_id", external_ids),
    ):
        if values:
            condition, values_params = _any(column, values)
            conditions.append(condition)
            params += values_params
    if not conditions:
        return []
    rows = sql.fetch_rows(
        "SELECT c.id, c.mobile, c.email_folded, c.external_id, c.compact_id "
        "FROM customers_customer c "
        f"WHERE c.store_id = %s AND ({' OR '.join(conditions)}) "
        "ORDER BY c.id" + (sql.for_update(no_key=True) if lock else ""),
        [store.id, *params],
    )
    return [Holder(*row) for row in rows]


def lock_series_and_read_holdings(
    *,
    store: Store,
    series_id: int,
    customer_ids: Sequence[int],
    marker: str,
    lock: bool = True,
) -> tuple[Series | None, dict[int, Holdings]]:
    """One round trip, after the customers' locks: the store's active series,
    locked FOR NO KEY UPDATE (a batch issues under the series lock, as the second
    attempt of ``series_issue`` does), and what each of ``customer_ids`` holds of
    it, with the purpose of its code from a bulk run whose purposes start with
    ``marker`` (how a rerun knows it)."""
    series_query = _series_and_holdings(store, series_id, None, lock=lock)
    if not customer_ids:
        [series_rows] = sql.fetch_batch(series_query)
        return (series_rows[0][0] if series_rows else None), {}
    among, among_params = _any("a.customer_id", customer_ids)
    holdings_query = (
        "SELECT a.customer_id, COUNT(*), "
        "MIN(CASE WHEN a.purpose LIKE %s ESCAPE '\\' THEN a.purpose END) "
        "FROM assignments_assignment a "
        f"WHERE a.series_id = %s AND {among} GROUP BY a.customer_id",
        [_like_prefix(marker), series_id, *among_params],
        (sql.Columns(3),),
    )
    series_rows, holdings_rows = sql.fetch_batch(series_query, holdings_query)
    holdings = {
        customer_id: Holdings(held, marked)
        for ((customer_id, held, marked),) in holdings_rows
    }
    return (series_rows[0][0] if series_rows else None), holdings


def _like_prefix(prefix: str) -> str:
    """A LIKE pattern of the strings starting with ``prefix`` (its ``%`` and ``_``
    matched as themselves)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def claim_pooled_codes_for(
    *, store: Store, series_id: int, customer_ids: Sequence[int]
) -> list[ClaimedCode]:
    """Claim one issuable pooled code (``pool.in_pool``, in id order) for each of
    ``customer_ids``, as many as the pool holds: each claimed code leaves the pool
    and is restricted to its customer, in one statement on PostgreSQL.

    SKIP LOCKED, as ``claim_pooled_codes``: codes an API issue is claiming are
    passed over, not waited for (and the API's claims pass this batch's)."""
    if not customer_ids:
        return []
    in_pool, pool_params = pool.in_pool(series_id)
    if connection.vendor == "postgresql":
        rows = sql.fetch_rows(
            f"WITH claimed AS (SELECT id FROM coupons_coupon WHERE {in_pool} "
            "AND store_id = %s ORDER BY series_id, id LIMIT %s"
            + sql.for_update(skip_locked=True)
            + "), numbered AS (SELECT id, row_number() OVER (ORDER BY id) AS n "
            "FROM claimed), holders AS (SELECT customer_id, n FROM "
            "unnest(%s::bigint[]) WITH ORDINALITY AS h(customer_id, n)) "
            "UPDATE coupons_coupon c SET pooled = false, "
            "usable_by_customer_id = holders.customer_id "
            "FROM numbered JOIN holders ON holders.n = numbered.n "
            "WHERE c.id = numbered.id RETURNING c.id, holders.customer_id",
            [*pool_params, store.id, len(customer_ids), list(customer_ids)],
        )
        return [ClaimedCode(*row) for row in rows]
    # Elsewhere (SQLite: one writer at a time) a read, then one UPDATE.
    ids = sql.fetch_rows(
        f"SELECT id FROM coupons_coupon WHERE {in_pool} AND store_id = %s "
        "ORDER BY series_id, id LIMIT %s",
        [*pool_params, store.id, len(customer_ids)],
    )
    claimed = [
        ClaimedCode(code_id, customer_id)
        for (code_id,), customer_id in zip(ids, customer_ids, strict=False)
    ]
    if claimed:
        values = ", ".join(["(%s, %s)"] * len(claimed))
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH holders(id, customer_id) AS (VALUES {values}) "
                "UPDATE coupons_coupon SET pooled = %s, usable_by_customer_id = "
                "(SELECT customer_id FROM holders "
                "WHERE holders.id = coupons_coupon.id) "
                "WHERE id IN (SELECT id FROM holders)",
                [*(value for code in claimed for value in code), False],
            )
    return claimed


# One issued code of a bulk issue: (assignment id, code id, customer id, purpose,
# audit event id).
IssuedRow = tuple[int, int, int, str, int]


def write_bulk_issue(
    *,
    assignment: Assignment,
    event: AuditEvent,
    rows: Sequence[IssuedRow],
    dated: Sequence[int],
    usable_at: datetime | None,
    valid_till: datetime | None,
    series: Series,
) -> bool:
    """``insert_issue_and_count`` for a batch of a bulk issue: ``assignment`` and
    ``event`` are the unsaved templates of every row's (their other fields are
    shared), each row gives what differs (the event's ``changes`` get the row's
    purpose). On PostgreSQL the assignments and events are COPYed (a fraction of
    the cost of an INSERT's parameters) and the same window and counter
    statements follow in one round trip; elsewhere it is
    ``insert_issue_and_count``. False: the counter's UPDATE matched no row."""
    then = _window_and_count(dated, usable_at, valid_till, series, len(rows))
    if connection.vendor != "postgresql":
        assignments, events = _bulk_instances(assignment, event, rows)
        return sql.write(assignments, events, then=then) == 1
    changes = dict(event.changes)
    sql.copy(
        assignment,
        ["id", "coupon_id", "customer_id", "purpose"],
        (row[:4] for row in rows),
    )
    sql.copy(
        event,
        ["id", "object_id", "coupon_id", "customer_id", "changes"],
        (
            (event_id, assignment_id, coupon_id, customer_id, _json(changes, purpose))
            for assignment_id, coupon_id, customer_id, purpose, event_id in rows
        ),
    )
    return sql.write(then=then) == 1


def _json(changes: dict, purpose: str) -> str:
    changes["purpose"] = purpose
    return json.dumps(changes)


def _bulk_instances(
    assignment: Assignment, event: AuditEvent, rows: Sequence[IssuedRow]
) -> tuple[list[Assignment], list[AuditEvent]]:
    """The rows as model instances (``sql.write``'s INSERTs)."""
    shared = {
        f.attname: getattr(assignment, f.attname)
        for f in Assignment._meta.concrete_fields
    }
    shared_event = {
        f.attname: getattr(event, f.attname) for f in AuditEvent._meta.concrete_fields
    }
    assignments, events = [], []
    for assignment_id, coupon_id, customer_id, purpose, event_id in rows:
        assignments.append(
            Assignment(
                **{
                    **shared,
                    "id": assignment_id,
                    "coupon_id": coupon_id,
                    "customer_id": customer_id,
                    "purpose": purpose,
                }
            )
        )
        events.append(
            AuditEvent(
                **{
                    **shared_event,
                    "id": event_id,
                    "object_id": assignment_id,
                    "coupon_id": coupon_id,
                    "customer_id": customer_id,
                    "changes": {**event.changes, "purpose": purpose},
                }
            )
        )
    return assignments, events
