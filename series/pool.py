"""A series' codes: the pool of random codes, their values, the generic code.

The pool: every generated code is a ``Coupon`` row with ``series_id`` set and
``pooled=True``, made ahead of issue in bulk (``series_generate_codes``, or when a
series is created, or when the pool runs low: ``series_pool_top_up``, or by an issue
that finds it dry). Issuing claims pooled rows (``series.issue``).

A pooled code is inventory, not a coupon (DESIGN.md invariant 6): no vendor API
lists or changes it, and it is issued only while it is live. Staff retire codes
(``series_pool_retire``: disabled or archived); a retired code is never claimed,
and the pool's counts (the top-up, what may still be generated under
``maxCreate``) count only the codes that can still be issued.

The room of a format (``code_room``): how many more codes of a series' format fit in
its store beside the store's other codes. The bulk inserts themselves (``COPY`` on
PostgreSQL) are ``series.codegen``'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit import services as audit
from core import errors as core_errors
from core import money, sql
from core.actors import SYSTEM, Actor
from core.errors import DomainError
from coupons import services as coupon_services
from coupons.models import ActorType, Coupon, DiscountType, Duration, Origin
from series import codegen, errors
from series.codegen import ENUMERATE_LIMIT, CodeSpec
from series.models import UNLIMITED, CodeFormat, Series, SeriesDiscountType
from stores.models import Store

logger = logging.getLogger(__name__)

# Above this many codes a format cannot be filled by any store, so the pool top-up
# done while issuing skips the exact count of the taken codes (a scan of the store).
UNFILLABLE_SPACE = 10**10
DEFAULT_POOL_TARGET = 1000
DEFAULT_POOL_LOW = 200
GENERATE_BATCH = 250_000

Progress = Callable[[int, int], Any]


def pool_target() -> int:
    """How many codes a top-up fills a pool to (``SERIES_POOL_TARGET``)."""
    return int(getattr(settings, "SERIES_POOL_TARGET", DEFAULT_POOL_TARGET))


def pool_low() -> int:
    """Below this many codes a pool is topped up (``SERIES_POOL_LOW``)."""
    return int(getattr(settings, "SERIES_POOL_LOW", DEFAULT_POOL_LOW))


# --- money ----------------------------------------------------------------------------


def percent_x10(value: Decimal) -> int:
    """Capillary's ``PERC`` value (12.5 = 12.5 %) as the ledger's percent x 10."""
    scaled = Decimal(value) * 10
    if scaled != scaled.to_integral_value():
        raise ValueError("at most one decimal")
    return int(scaled)


def series_coupon_values(series: Series, *, currency: str) -> dict[str, Any]:
    """The Coupon fields of a code of ``series`` (a pooled code unless told).

    ABS discounts are in major units on the series and in the smallest unit on the
    coupon; PERC values become percent x 10 with ``discountUpto`` as their cap (0: no
    cap). A random code is one customer's, so its redemption limit is store-wide; the
    generic code is everyone's, so the limit is per customer.
    """
    percent = series.discount_type == SeriesDiscountType.PERC
    upto = money.to_minor(series.discount_upto, currency)
    limit = series.max_redemptions_per_coupon
    values: dict[str, Any] = {
        "store_id": series.store_id,
        "enabled": True,
        "duration": Duration.ONCE,
        "discount_type": DiscountType.PERCENT if percent else DiscountType.AMOUNT,
        "discount_amount": (
            percent_x10(series.discount_value)
            if percent
            else money.to_minor(series.discount_value, currency)
        ),
        "discount_max_amount": upto if percent and upto > 0 else None,
        "minimum_order_value": money.to_minor(series.min_bill_amount, currency),
        "origin": Origin.GENERATED,
        "series_id": series.id,
        "pooled": True,
        "created_by_type": ActorType.INTERNAL,
    }
    scope = "customer" if series.is_generic else "store"
    values[f"redeem_limit_{scope}_enabled"] = limit != UNLIMITED
    values[f"redeem_limit_{scope}_amount"] = max(limit, 0)
    return values


# --- formats and room -----------------------------------------------------------------


def series_spec(series: Series) -> CodeSpec:
    return CodeSpec.of(
        alpha_numeric=series.alpha_numeric,
        length=series.random_code_length,
        prefix=series.code_prefix,
        suffix=series.code_suffix,
        check=series.check_character,
    )


def code_room(series: Series, *, exact: bool = True) -> int:
    """How many more codes of the series' format fit in its store: the format's space
    minus the store's live codes that fall in it (any series, any letter case).

    ``exact=False`` skips the count (a scan) for a space no store can fill.
    """
    spec = series_spec(series)
    if not exact and spec.space >= UNFILLABLE_SPACE:
        return spec.space
    taken = codegen.taken_in_space(store_id=series.store_id, spec=spec).count()
    return max(0, spec.space - taken)


def space_error(series: Series, wanted: int, room: int) -> DomainError:
    spec = series_spec(series)
    return DomainError(
        errors.CODE_SPACE_EXHAUSTED,
        f"The code format ({spec.describe()}) has {spec.space:,} codes and only "
        f"{room:,} are still free in this store: {wanted:,} more cannot fit. Use "
        "longer or alphanumeric codes.",
    )


def fill(
    series: Series,
    count: int,
    *,
    free: int,
    currency: str,
    actor: Actor = SYSTEM,
) -> int:
    """Insert up to ``count`` new pooled codes in the caller's transaction; returns
    how many. ``free`` is the room of the format (``code_room``)."""
    spec = series_spec(series)
    values = series_coupon_values(series, currency=currency)
    values["created_by_type"], values["created_by_id"] = actor.type, actor.id
    count = min(count, free)
    if count <= 0:
        return 0
    # Codes a lookup would read as typos in this store are never made (issue 20).
    shapes = coupon_services.typed_shapes(series.store_id)
    if spec.space <= ENUMERATE_LIMIT:
        # Small space: sample exactly among the free codes.
        inserted = 0
        for _ in range(3):  # a concurrent writer may take a sampled code
            taken = set(codegen.taken_in_space(store_id=series.store_id, spec=spec))
            codes = codegen.readable(
                spec.sample_free(count - inserted, taken), spec, shapes
            )
            inserted += codegen.insert_pooled(values=values, codes=codes)
            if inserted >= count or not codes:
                break
        return inserted
    inserted, idle = 0, 0
    while inserted < count and idle < 5:
        want = count - inserted
        fraction = max(free - inserted, 1) / spec.space
        if fraction > 0.8:
            # Sparse: draw as many as needed; the unique index drops the few taken.
            got = codegen.insert_pooled(
                values=values,
                codes=codegen.distinct_readable(spec, want, shapes),
                # Expected collisions with taken codes well below one.
                sparse=want * (1 - fraction) < 0.05,
            )
        else:
            # Dense: oversample, insert at most ``want``.
            draw = min(int(want / fraction * 1.25) + 16, codegen.MAX_CANDIDATES)
            got = codegen.insert_pooled(
                values=values,
                codes=codegen.distinct_readable(spec, draw, shapes),
                limit=want,
            )
        inserted += got
        idle = 0 if got else idle + 1
    return inserted


def pool_size(series: Series, *, at_most: int | None = None) -> int:
    """The codes in the series' pool that can still be issued (retired ones, disabled
    or archived, are not counted); with ``at_most``, counted up to that many."""
    if at_most is None:
        return Coupon.objects.filter(series_id=series.id).issuable().count()
    return _pool_count(series.id, at_most)


def in_pool(series_id: int) -> tuple[str, list]:
    """The WHERE clause of a series' pooled codes that can be issued (live and
    enabled: ``Coupon.objects.issuable()``), to go with ``ORDER BY series_id, id``,
    so that PostgreSQL reads them through the pool index, in id order.

    The pool index holds exactly those rows (its condition is this clause's), so
    codes staff retired are neither claimed nor read past: a claim never hands out
    a code that was archived (whose code a new coupon may have taken since) or
    disabled. A code retired while a claim runs is safe either way: the claim skips
    a row the retiring transaction holds (SKIP LOCKED), and rechecks this clause on
    a row changed since its snapshot (READ COMMITTED's recheck of a locked row);
    the retire itself is conditional on the code still being pooled.

    Written ``series_id = %s``, the planner reduces that order to ``ORDER BY id``;
    once a pool is a large share of the table (after an ANALYZE) it then walks the
    primary key from the oldest coupon, filtering, because it expects pooled codes
    everywhere, while they sit together at the ids they were made at (measured on the
    bench's million coupons: a claim of 500 read 217,000 buffers, ~1 s, instead of
    1,100). An array condition is not reduced, and only the pool index
    (``coupon_series_pool_idx``, on ``(series_id, id)`` of the issuable rows) gives
    that order.
    """
    if connection.vendor == "postgresql":
        return f"series_id = ANY(%s) AND {ISSUABLE_SQL}", [[series_id]]
    return f"series_id = %s AND {ISSUABLE_SQL}", [series_id]


# ``coupons.models.ISSUABLE`` in SQL (tests compare the two).
ISSUABLE_SQL = "pooled AND archived_at IS NULL AND enabled"


def pool_count_sql(series_id: int, at_most: int) -> tuple[str, list]:
    """A count of the series' pooled codes, up to ``at_most``, through the pool
    index (see ``in_pool``)."""
    where, params = in_pool(series_id)
    return (
        f"SELECT COUNT(*) FROM (SELECT 1 FROM coupons_coupon WHERE {where} "
        "ORDER BY series_id, id LIMIT %s) AS pool",
        [*params, at_most],
    )


def _pool_count(series_id: int, at_most: int) -> int:
    [(count,)] = sql.fetch(*pool_count_sql(series_id, at_most), sql.Columns(1))
    return count[0]


def generation_room(series: Series, count: int) -> int:
    """Check that ``count`` more codes can be generated for the series (its format,
    the store's other codes, its cap); returns the format's free room."""
    if series.code_format != CodeFormat.RANDOM:
        raise DomainError(
            errors.INVALID_SERIES, "Only a series of random codes generates codes."
        )
    if count < 1:
        raise DomainError(core_errors.INVALID_INPUT, "Generate at least one code.")
    if series.max_create != UNLIMITED:
        pooled = pool_size(series)
        left = series.max_create - series.issued_count - pooled
        if count > left:
            raise DomainError(
                errors.POOL_OVER_CAP,
                f"The series may issue {series.max_create - series.issued_count:,} "
                f"more codes and {pooled:,} are already in its pool: at most "
                f"{max(left, 0):,} more can be generated.",
            )
    room = code_room(series)
    if count > room:
        raise space_error(series, count, room)
    return room


def series_generate_codes(
    *,
    series: Series,
    count: int,
    progress: Progress | None = None,
    batch_size: int = GENERATE_BATCH,
    actor: Actor = SYSTEM,
) -> int:
    """Generate ``count`` more pooled codes for a random series; returns how many.

    Refuses, before writing anything, a count that cannot fit in the format beside
    the store's codes (``code_space_exhausted``) or beyond what the series may still
    issue (``pool_over_cap``). Bulk work: one transaction per batch, so a failure
    keeps the finished batches and a rerun adds only what is missing.
    ``progress(done, total)`` is called after each batch.
    """
    series = Series.objects.select_related("store").get(pk=series.pk)
    room = generation_room(series, count)
    done = 0
    while done < count:
        step = min(batch_size, count - done)
        with transaction.atomic():
            got = fill(
                series,
                step,
                free=room - done,
                currency=series.store.currency,
                actor=actor,
            )
        if got == 0:
            raise DomainError(
                errors.CODE_SPACE_EXHAUSTED,
                f"Generated {done:,} of {count:,} codes, then no free code could be "
                "found: the format is nearly full. Use longer or alphanumeric codes.",
            )
        done += got
        if progress is not None:
            progress(done, count)
    return done


def series_pool_top_up(*, series_id: int) -> int:
    """Refill a random series' pool to its target when it is below the low mark.

    Runs after an issue commits. On PostgreSQL an advisory lock keeps two processes
    from topping up the same series at once (the loser skips).
    """
    low = pool_low()
    if _pool_count(series_id, low) >= low:
        return 0  # the common case: one cheap count, no lock
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [series_id])
                if not cursor.fetchone()[0]:
                    return 0
        series = Series.objects.select_related("store").filter(pk=series_id).first()
        if series is None or series.code_format != CodeFormat.RANDOM:
            return 0
        target = pool_target()
        pooled = pool_size(series, at_most=target)
        if pooled >= low:
            return 0
        want = target - pooled
        if series.max_create != UNLIMITED:
            want = min(want, series.max_create - series.issued_count - pooled)
        if want <= 0:
            return 0
        room = code_room(series, exact=False)
        return fill(series, want, free=room, currency=series.store.currency)


def top_up_after_issue(*, series_id: int) -> None:
    """``series_pool_top_up`` run after an issue committed (``on_commit``)."""
    added = series_pool_top_up(series_id=series_id)
    if added:
        logger.info("series %s: %s codes added to the pool", series_id, added)


# --- retiring codes -------------------------------------------------------------------


RETIRE_BATCH = 5_000


def series_pool_retire(
    *,
    series: Series,
    coupon_ids: Sequence[int] | None = None,
    archive: bool = False,
    actor: Actor = SYSTEM,
    batch_size: int = RETIRE_BATCH,
) -> int:
    """Retire pooled codes of the series so that they are never issued; returns how
    many were retired.

    ``archive=False`` disables them: they keep their code (a disabled code still
    holds it in the store) and can be seen in the admin. ``archive=True`` archives
    them, as a delete does: their code is freed for a new coupon. ``coupon_ids``:
    those codes (ids that are not the series' pooled codes, issued ones among them,
    are left alone); None: the whole pool.

    A code issued meanwhile is a customer's coupon and is left alone: each batch
    locks the codes it retires (FOR UPDATE, in id order), and the lock rereads a
    row a claim changed (no longer pooled) before it is taken; a claim skips a row
    this holds (SKIP LOCKED). Bulk work: one transaction per batch.
    """
    remaining = None if coupon_ids is None else sorted(set(coupon_ids))
    retired = 0
    while remaining is None or remaining:
        if remaining is None:
            chosen = None
        else:
            chosen, remaining = remaining[:batch_size], remaining[batch_size:]
        done = _retire_batch(
            series=series,
            coupon_ids=chosen,
            archive=archive,
            actor=actor,
            batch_size=batch_size,
        )
        retired += done
        if chosen is None and done == 0:
            break
    return retired


def pool_codes_retire(
    *,
    coupon_ids: Sequence[int],
    archive: bool = False,
    actor: Actor = SYSTEM,
) -> int:
    """``series_pool_retire`` for pooled codes of any series (staff picked them in
    the coupons admin); ids of codes that are not pooled are left alone."""
    by_series: dict[int, list[int]] = {}
    for coupon_id, series_id in Coupon.objects.filter(
        id__in=coupon_ids, pooled=True, series_id__isnull=False
    ).values_list("id", "series_id"):
        by_series.setdefault(series_id, []).append(coupon_id)
    series_of = Series.objects.in_bulk(list(by_series))
    return sum(
        series_pool_retire(
            series=series_of[series_id], coupon_ids=ids, archive=archive, actor=actor
        )
        for series_id, ids in by_series.items()
    )


@transaction.atomic
def _retire_batch(
    *,
    series: Series,
    coupon_ids: list[int] | None,
    archive: bool,
    actor: Actor,
    batch_size: int,
) -> int:
    codes = Coupon.objects.filter(series_id=series.id, store_id=series.store_id)
    if coupon_ids is not None:
        codes = codes.filter(id__in=coupon_ids)
    # Archiving takes disabled codes too; disabling only the enabled ones.
    codes = codes.filter(pooled=True, archived_at__isnull=True)
    if not archive:
        codes = codes.filter(enabled=True)
    rows = list(
        codes.order_by("id")
        .select_for_update()
        .values_list("id", "enabled")[:batch_size]
    )
    if not rows:
        return 0
    ids = [coupon_id for coupon_id, _ in rows]
    now = timezone.now()
    changes: dict[str, Any] = {
        "enabled": False,
        "updated_by_type": actor.type,
        "updated_by_id": actor.id,
        "updated_at": now,
    }
    if archive:
        changes["archived_at"] = now
    # Locked above, still pooled: the condition is repeated as a last guard.
    done = Coupon.objects.filter(id__in=ids, pooled=True).update(**changes)
    audit.record_many(
        [
            {
                "action": "archive" if archive else "retire",
                "object_type": "coupon",
                "object_id": coupon_id,
                "store_id": series.store_id,
                "coupon_id": coupon_id,
                "series_id": series.id,
                "changes": {
                    "enabled": [enabled, False],
                    **({"archived_at": [None, now.isoformat()]} if archive else {}),
                },
            }
            for coupon_id, enabled in rows
        ],
        actor=actor,
    )
    return done


# --- the generic code -----------------------------------------------------------------


def generic_coupon(
    series: Series,
    *,
    store: Store,
    actor: Actor = SYSTEM,
) -> Coupon | None:
    """The generic series' coupon, created on first use (a series made in the admin
    has none yet); None when it was deleted (archived) or disabled: a code that
    cannot be redeemed is not issued."""
    coupon = Coupon.objects.filter(series_id=series.id).order_by("id").first()
    if coupon is not None:
        return None if coupon.is_archived or not coupon.enabled else coupon
    values = series_coupon_values(series, currency=store.currency)
    provenance = {"origin": Origin.GENERATED, "series_id": series.id}
    editable = {key: value for key, value in values.items() if key in _EDITABLE}
    return coupon_services.coupon_create(
        store=store,
        actor=actor,
        provenance=provenance,
        code=series.generic_code,
        expires_at=series.valid_till,
        **editable,
    )


_EDITABLE = frozenset(coupon_services.EDITABLE)
