"""Bulk actions on a filtered set of coupons: extend expiry, disable, enable, export.

The set is a ``CouponFilter``: what the coupons change list filters by (store,
series, enabled, origin, discount type, pooled, archived) and its search box, as
plain values a job or a command carries. The admin's bulk page
(``coupons/admin_bulk.py``), the ``bulk_coupons`` job (``coupons/jobs.py``) and the
``bulk_coupons`` command all count with ``bulk_counts`` and act with ``bulk_apply``.

Set-based, one short transaction per batch: the batch's rows that the action would
change are selected in id order and locked (FOR UPDATE, the order the checkouts
lock coupons in), changed by one ``UPDATE ... WHERE id IN (...) AND <the action
still applies> RETURNING id``, and one audit event per returned row is inserted in
one statement, in the same transaction. So:

- a row changed meanwhile by the API is judged as it is now: a disable never
  re-enables, an enable never revives a deleted (archived) coupon nor a retired pool
  code, an extension never shortens (nor gives an expiry to a coupon without one);
- a rerun changes nothing and records nothing (no row still needs the action);
- a run stopped between batches (cancelled, its worker gone) leaves every batch
  either done with its events or not begun; the next run resumes by doing the rest.

The job's total (and the command's) is exact: one COUNT of the store's filtered
coupons, made in the background when the job starts. The admin's dry run
(``bulk_dry_run``) counts as the change list does, up to ``DRY_RUN_CAP`` rows
(``core.paginator``); above, it says "more than 10,000" with the planner's estimate
on PostgreSQL (an exact count of a million-coupon store took 1.2-1.4 s; issue 22).
See README "Bulk actions".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit import services as audit
from core import sql, timefmt
from core.actors import Actor
from core.errors import DomainError, FieldIssue
from core.paginator import COUNT_CAP
from coupons import admin_search
from coupons.models import Coupon

EXTEND = "extend_expiry"
DISABLE = "disable"
ENABLE = "enable"
EXPORT = "export"
ACTIONS = (EXTEND, DISABLE, ENABLE, EXPORT)
# The actions that change rows (export only reads).
WRITES = (EXTEND, DISABLE, ENABLE)
BATCH = 1000

INVALID_BULK = "invalid_bulk_action"


@dataclass(frozen=True)
class CouponFilter:
    """One store's coupons as the change list filters them (None: either way)."""

    store_id: int
    series_id: int | None = None
    enabled: bool | None = None
    origin: str | None = None
    discount_type: str | None = None
    pooled: bool | None = None
    archived: bool | None = None
    search: str = ""

    def params(self) -> dict[str, Any]:
        """JSON values for a job's params (ids as strings)."""
        values = asdict(self)
        for key in ("store_id", "series_id"):
            if values[key] is not None:
                values[key] = str(values[key])
        return values

    @classmethod
    def from_params(cls, values: dict[str, Any]) -> CouponFilter:
        values = dict(values)
        for key in ("store_id", "series_id"):
            if values.get(key) is not None:
                values[key] = int(values[key])
        return cls(**values)

    def queryset(self) -> QuerySet[Coupon]:
        found = Coupon.objects.for_store(self.store_id)
        exact = {
            "series_id": self.series_id,
            "enabled": self.enabled,
            "origin": self.origin,
            "discount_type": self.discount_type,
            "pooled": self.pooled,
        }
        found = found.filter(**{k: v for k, v in exact.items() if v is not None})
        if self.archived is not None:
            found = found.filter(archived_at__isnull=not self.archived)
        matches = admin_search.resolve(self.search, store_ids=[self.store_id])
        if matches is not None:
            found = found.filter(coupons_named(matches))
        return found

    def describe(self) -> str:
        """The filter for people: ``enabled=yes, series=123``."""
        parts = []
        for key, value in asdict(self).items():
            if key == "store_id" or value in (None, ""):
                continue
            if isinstance(value, bool):
                value = "yes" if value else "no"
            parts.append(f"{key.removesuffix('_id')}={value}")
        return ", ".join(parts) or "every coupon of the store"


def coupons_named(matches: admin_search.Matches) -> Q:
    """The coupons a search names: by code, id or legacy UUID, or held by (or
    restricted to) the customers it names (the coupons change list's search)."""
    held = admin_search.coupons_held(matches.customer_ids)
    return Q(pk__in={*matches.coupon_ids, *held})


@dataclass(frozen=True)
class BulkAction:
    """What to do to the filtered set: ``action`` and its value (the new expiry of an
    extension, the file format of an export)."""

    action: str
    expires_at: datetime | None = None
    format: str = "csv"

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown bulk action {self.action!r}")

    def check(self, *, at: datetime) -> None:
        """Refuse an extension without a new expiry in the future (and before
        ``timefmt.LATEST``)."""
        if self.action != EXTEND:
            return
        if self.expires_at is None or self.expires_at <= at:
            message = "The new expiry must be in the future."
        elif not timefmt.storable(self.expires_at):
            message = timefmt.OUT_OF_RANGE
        else:
            return
        raise DomainError(
            INVALID_BULK,
            message,
            fields=[FieldIssue("expires_at", "invalid", message)],
        )

    def params(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "format": self.format,
        }

    @classmethod
    def from_params(cls, values: dict[str, Any]) -> BulkAction:
        expires = values.get("expires_at")
        return cls(
            action=values["action"],
            expires_at=parse_datetime(expires) if expires else None,
            format=values.get("format") or "csv",
        )

    def applies(self) -> Q:
        """The rows the action would change, as they are now."""
        if self.action == DISABLE:
            return Q(enabled=True)
        if self.action == ENABLE:
            # An archived coupon is deleted for the API; a disabled pool code was
            # retired (leaked or unwanted): neither comes back.
            return Q(enabled=False, archived_at__isnull=True, pooled=False)
        if self.action == EXTEND:
            # Never shortens; a coupon without an expiry never expires. Pool codes
            # get their expiry when issued, from their series.
            return Q(
                expires_at__lt=self.expires_at,
                archived_at__isnull=True,
                pooled=False,
            )
        return Q()


@dataclass(frozen=True)
class Counts:
    """A dry run: the rows the filter selects, and those the action would change."""

    matched: int
    to_change: int


DRY_RUN_CAP = COUNT_CAP


@dataclass(frozen=True)
class DryRun:
    """The admin's dry run: exact counts up to ``cap``; a count above it is
    ``cap + 1`` (``*_more``) and comes with the planner's estimate (None when
    there is none: not PostgreSQL)."""

    matched: int
    to_change: int
    cap: int = DRY_RUN_CAP
    matched_estimate: int | None = None
    to_change_estimate: int | None = None

    @property
    def matched_more(self) -> bool:
        return self.matched > self.cap

    @property
    def to_change_more(self) -> bool:
        return self.to_change > self.cap


def _estimate(rows: QuerySet) -> int | None:
    """The planner's estimate of ``rows`` (PostgreSQL), without reading them."""
    if connection.vendor != "postgresql":
        return None
    plan = json.loads(rows.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def bulk_dry_run(
    coupons: CouponFilter, action: BulkAction, *, cap: int | None = None
) -> DryRun:
    """The admin's dry run: each count reads at most ``cap + 1`` rows (default
    ``DRY_RUN_CAP``), never the whole store (the job counts exactly when it starts:
    ``bulk_counts``)."""
    cap = DRY_RUN_CAP if cap is None else cap
    action.check(at=timezone.now())
    found = coupons.queryset().order_by()
    changing = found.filter(action.applies()) if action.action in WRITES else found
    matched = found[: cap + 1].count()
    to_change = matched if changing is found else changing[: cap + 1].count()
    return DryRun(
        matched=matched,
        to_change=to_change,
        cap=cap,
        matched_estimate=_estimate(found) if matched > cap else None,
        to_change_estimate=_estimate(changing) if to_change > cap else None,
    )


def bulk_counts(coupons: CouponFilter, action: BulkAction) -> Counts:
    """The dry run (exact counts); an action that cannot run is refused here too."""
    action.check(at=timezone.now())
    found = coupons.queryset()
    matched = found.count()
    if action.action not in WRITES:
        return Counts(matched=matched, to_change=matched)
    return Counts(matched=matched, to_change=found.filter(action.applies()).count())


@dataclass(frozen=True)
class Outcome:
    changed: int
    batches: int


# What each action sets, the SQL condition that it still applies, and the audit
# change of one row (from the locked row's old value).
_SET = {
    DISABLE: ("enabled = %s", lambda a: [False]),
    ENABLE: ("enabled = %s", lambda a: [True]),
    EXTEND: ("expires_at = %s", lambda a: [a.expires_at]),
}
_STILL = {
    DISABLE: ("enabled = %s", lambda a: [True]),
    ENABLE: (
        "enabled = %s AND archived_at IS NULL AND pooled = %s",
        lambda a: [False, False],
    ),
    EXTEND: (
        "expires_at < %s AND archived_at IS NULL AND pooled = %s",
        lambda a: [a.expires_at, False],
    ),
}


def _change(action: BulkAction, old: Any) -> dict[str, list]:
    if action.action == EXTEND:
        return {"expires_at": [old.isoformat(), action.expires_at.isoformat()]}
    return {"enabled": [action.action == DISABLE, action.action == ENABLE]}


def _update_returning(
    action: BulkAction, ids: Collection[int], *, actor: Actor, at: datetime
) -> list[int]:
    """Apply ``action`` to the rows of ``ids`` it still applies to; their ids."""
    set_sql, set_values = _SET[action.action]
    still_sql, still_values = _STILL[action.action]
    statement = (
        f"UPDATE coupons_coupon SET {set_sql}, updated_by_type = %s, "
        "updated_by_id = %s, updated_at = %s "
        f"WHERE id IN ({sql.placeholders(len(ids))}) AND {still_sql} RETURNING id"
    )
    values = [
        *set_values(action),
        actor.type,
        actor.id,
        at,
        *ids,
        *still_values(action),
    ]
    # As the ORM writes them: SQLite stores a datetime as Django's text, and a value
    # written in another form would compare wrongly with every other.
    adapt = connection.ops.adapt_datetimefield_value
    values = [adapt(v) if isinstance(v, datetime) else v for v in values]
    with connection.cursor() as cursor:
        cursor.execute(statement, values)
        return [row[0] for row in cursor.fetchall()]


def _batch(
    found: QuerySet[Coupon],
    action: BulkAction,
    *,
    after: int,
    size: int,
    actor: Actor,
) -> tuple[int, int]:
    """One batch in its own transaction: (rows changed, last id read; 0 when none
    is left)."""
    column = "expires_at" if action.action == EXTEND else "enabled"
    with transaction.atomic():
        rows = list(
            found.filter(action.applies(), id__gt=after)
            .order_by("id")
            .select_for_update()
            .values_list("id", "store_id", "series_id", column)[:size]
        )
        if not rows:
            return 0, 0
        at = timezone.now()
        changed = set(
            _update_returning(action, [row[0] for row in rows], actor=actor, at=at)
        )
        audit.record_many(
            [
                {
                    "action": action.action,
                    "object_type": "coupon",
                    "object_id": coupon_id,
                    "store_id": store_id,
                    "coupon_id": coupon_id,
                    "series_id": series_id,
                    "changes": _change(action, old),
                }
                for coupon_id, store_id, series_id, old in rows
                if coupon_id in changed
            ],
            actor=actor,
        )
    return len(changed), rows[-1][0]


def bulk_apply(
    coupons: CouponFilter,
    action: BulkAction,
    *,
    actor: Actor,
    size: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """Apply a writing ``action`` to the filtered coupons, a batch per transaction
    (module docstring). ``progress(n)`` is told each batch's changed rows after its
    commit, so an exception it raises (a job cancelled: ``jobs.services``'
    ``JobCancelled``) stops the run between batches: what was committed stays, with
    its events, and a rerun does the rest."""
    if action.action not in WRITES:
        raise ValueError(f"{action.action!r} changes nothing")
    action.check(at=timezone.now())
    found = coupons.queryset()
    changed = batches = after = 0
    while True:
        done, after = _batch(found, action, after=after, size=size, actor=actor)
        if not after:
            return Outcome(changed=changed, batches=batches)
        changed += done
        batches += 1
        if progress is not None:
            progress(done)
