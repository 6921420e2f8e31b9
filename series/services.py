"""Writes of the series app: series, the code pool, and issuing codes to customers.

The pool: every generated code is a ``Coupon`` row with ``series_id`` set and
``pooled=True``, made ahead of issue in bulk (``series_generate_codes``, or when a
series is created, or when the pool runs low). Issuing claims pooled rows with
``SELECT ... FOR UPDATE SKIP LOCKED``, restricts them to the customer, dates them by
the series' expiry strategy, records an ``Assignment`` each and counts them on the
series with a conditional ``UPDATE``: all in one transaction.

A pooled code is inventory, not a coupon (DESIGN.md invariant 6): no vendor API
lists or changes it, and it is issued only while it is live. Staff retire codes
(``series_pool_retire``: disabled or archived); a retired code is never claimed,
and the pool's counts (the top-up, what may still be generated under
``maxCreate``) count only the codes that can still be issued.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from assignments import services as assignment_services
from assignments.models import Assignment, Channel
from audit import services as audit
from core import errors as core_errors
from core import flake, money, sql
from core.errors import DomainError, FieldIssue
from coupons import services as coupon_services
from coupons.models import ActorType, Coupon, DiscountType, Duration, Origin
from customers import errors as customer_errors
from customers import selectors as customer_selectors
from customers.models import Customer
from series import codegen, errors, selectors
from series.codegen import ENUMERATE_LIMIT, CodeSpec
from series.models import (
    UNLIMITED,
    CodeFormat,
    ExpiryStrategy,
    Series,
    SeriesDiscountType,
)
from stores.models import ApiKey, Store

logger = logging.getLogger(__name__)

MAX_ISSUE = 500
MAX_CODE_LENGTH = 100  # Coupon.code
# Above this many codes a format cannot be filled by any store, so the pool top-up
# done while issuing skips the exact count of the taken codes (a scan of the store).
UNFILLABLE_SPACE = 10**10
DEFAULT_POOL_TARGET = 1000
DEFAULT_POOL_LOW = 200
GENERATE_BATCH = 250_000

Progress = Callable[[int, int], Any]


def _pool_target() -> int:
    return int(getattr(settings, "SERIES_POOL_TARGET", DEFAULT_POOL_TARGET))


def _pool_low() -> int:
    return int(getattr(settings, "SERIES_POOL_LOW", DEFAULT_POOL_LOW))


def _invalid(path: str, message: str) -> DomainError:
    return DomainError(
        errors.INVALID_SERIES,
        f"{path}: {message}",
        fields=[FieldIssue(path, "invalid", message)],
    )


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


# --- validity -------------------------------------------------------------------------


def _end_of_day(day, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=zone)


def coupon_window(
    series: Series, *, at: datetime, tz: str
) -> tuple[datetime | None, datetime | None]:
    """(usable_at, valid_till) of a code issued at ``at``.

    - ``SERIES_EXPIRY``: the series' valid-till.
    - ``DAYS`` N: the end (23:59:59, store time) of the N-th day after the issue day.
    - ``MONTHS_END`` N: the end of the month N months after the issue month.
    The series' own valid-till bounds each (Capillary: "the series expiration date
    applies before a coupon's validity period"). ``redemptionValidAfterDays`` N makes
    the code usable from the start of the N-th day after issue.
    """
    zone = ZoneInfo(tz)
    local = at.astimezone(zone)
    strategy, value = series.expiry_strategy_type, series.expiry_strategy_value
    till: datetime | None
    if strategy == ExpiryStrategy.DAYS:
        till = _end_of_day(local.date() + timedelta(days=value), zone)
    elif strategy == ExpiryStrategy.MONTHS_END:
        months = local.month - 1 + value
        year, month = local.year + months // 12, months % 12 + 1
        last = calendar.monthrange(year, month)[1]
        till = _end_of_day(local.date().replace(year=year, month=month, day=last), zone)
    else:
        till = series.valid_till
    if series.valid_till is not None and (till is None or till > series.valid_till):
        till = series.valid_till
    usable_at = None
    if series.redemption_valid_after_days > 0:
        day = local.date() + timedelta(days=series.redemption_valid_after_days)
        usable_at = datetime.combine(day, time(0, 0), tzinfo=zone)
    if till is not None and (till <= at or (usable_at and usable_at > till)):
        # The code would expire before it could be used.
        raise DomainError(errors.SERIES_EXPIRED, "The series has expired.")
    return usable_at, till


# --- series ---------------------------------------------------------------------------


SERIES_FIELDS = (
    "description",
    "discount_code",
    "discount_type",
    "discount_value",
    "discount_upto",
    "discount_on",
    "generic_code",
    "alpha_numeric",
    "random_code_length",
    "code_prefix",
    "code_suffix",
    "max_create",
    "is_multiple_vouchers_per_user_allowed",
    "max_vouchers_per_user",
    "valid_till",
    "expiry_strategy_type",
    "expiry_strategy_value",
    "redemption_valid_after_days",
    "min_bill_amount",
    "max_redemptions_per_coupon",
    "custom_properties",
)


def _check_series(series: Series, *, currency: str, at: datetime) -> None:
    """Cross-field rules of a series (types and ranges are the caller's input rules)."""
    if not series.description.strip():
        raise _invalid("description", "A description is required.")
    for path in ("max_create", "max_vouchers_per_user", "max_redemptions_per_coupon"):
        value = getattr(series, path)
        if value != UNLIMITED and value < 1:
            raise _invalid(path, "Use -1 (unlimited) or at least 1.")
    if series.valid_till is not None and series.valid_till <= at:
        raise _invalid("valid_till", "The series would already have expired.")
    if series.expiry_strategy_value < 0 or series.redemption_valid_after_days < 0:
        raise _invalid("expiry_strategy_value", "Cannot be negative.")
    if series.discount_type == SeriesDiscountType.PERC:
        if series.discount_value > 100:
            raise _invalid("discount_value", "A percentage cannot exceed 100.")
        try:
            percent_x10(series.discount_value)
        except ValueError:
            raise _invalid(
                "discount_value", "A percentage has at most one decimal."
            ) from None
    amounts = ["discount_upto", "min_bill_amount"]
    if series.discount_type != SeriesDiscountType.PERC:  # a percent is not money
        amounts.insert(0, "discount_value")
    for path in amounts:
        try:
            money.to_minor(getattr(series, path), currency)
        except money.MoneyError as exc:
            raise _invalid(path, f"Too many decimals: {exc}.") from None
    if series.is_generic:
        code = series.generic_code
        if not code or not codegen.AFFIX_RE.match(code) or len(code) > MAX_CODE_LENGTH:
            raise _invalid(
                "generic_code",
                "1 to 100 letters, digits, '-' or '_'.",
            )
        if series.expiry_strategy_type != ExpiryStrategy.SERIES_EXPIRY:
            raise _invalid(
                "expiry_strategy_type",
                "A generic code is shared, so it expires with the series "
                "(SERIES_EXPIRY).",
            )
        if series.redemption_valid_after_days:
            raise _invalid(
                "redemption_valid_after_days",
                "A generic code is shared: it cannot start later per customer.",
            )
        return
    for path in ("code_prefix", "code_suffix"):
        if not codegen.AFFIX_RE.match(getattr(series, path)):
            raise _invalid(path, "Only letters, digits, '-' and '_'.")
    if not 1 <= series.random_code_length <= 64:
        raise _invalid("random_code_length", "Between 1 and 64.")
    spec = series_spec(series)
    if spec.total_length > MAX_CODE_LENGTH:
        raise _invalid(
            "random_code_length",
            f"Prefix, random part and suffix make {spec.total_length} characters; "
            f"a code has at most {MAX_CODE_LENGTH}.",
        )


def series_spec(series: Series) -> CodeSpec:
    return CodeSpec.of(
        alpha_numeric=series.alpha_numeric,
        length=series.random_code_length,
        prefix=series.code_prefix,
        suffix=series.code_suffix,
    )


@transaction.atomic
def series_create(
    *, store: Store, actor: coupon_services.Actor = coupon_services.INTERNAL, **values
) -> Series:
    """Create a series; a random series gets its first pool of codes at once.

    A generic series (``generic_code`` set) gets its one coupon; a taken code is
    ``code_taken``. A random series whose cap cannot fit in its code format beside
    the store's other codes is refused (``code_space_exhausted``).
    """
    unknown = set(values) - set(SERIES_FIELDS)
    if unknown:
        raise ValueError(f"not series fields: {sorted(unknown)}")
    series = Series(store=store, **values)
    generic = bool(series.generic_code)
    series.code_format = CodeFormat.GENERIC if generic else CodeFormat.RANDOM
    at = timezone.now()
    _check_series(series, currency=store.currency, at=at)
    series.save()
    if series.is_generic:
        _generic_coupon(series, store=store, actor=actor)
        return series
    room = code_room(series)
    initial = _pool_target()
    if series.max_create != UNLIMITED:
        if series.max_create > room:
            raise space_error(series, series.max_create, room)
        initial = min(initial, series.max_create)
    if room <= 0:
        raise space_error(series, 1, room)
    initial = min(initial, room)
    if initial > 0:
        _fill(series, initial, free=room, currency=store.currency, actor=actor)
    return series


def _generic_coupon(
    series: Series,
    *,
    store: Store,
    actor: coupon_services.Actor = coupon_services.INTERNAL,
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


# --- the code pool --------------------------------------------------------------------


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


def _fill(
    series: Series,
    count: int,
    *,
    free: int,
    currency: str,
    actor: coupon_services.Actor = coupon_services.INTERNAL,
) -> int:
    """Insert up to ``count`` new pooled codes in the caller's transaction; returns
    how many. ``free`` is the room of the format (``code_room``)."""
    spec = series_spec(series)
    values = series_coupon_values(series, currency=currency)
    values["created_by_type"], values["created_by_id"] = actor.type, actor.id
    count = min(count, free)
    if count <= 0:
        return 0
    if spec.space <= ENUMERATE_LIMIT:
        # Small space: sample exactly among the free codes.
        inserted = 0
        for _ in range(3):  # a concurrent writer may take a sampled code
            taken = set(codegen.taken_in_space(store_id=series.store_id, spec=spec))
            codes = spec.sample_free(count - inserted, taken)
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
                codes=spec.distinct(want),
                # Expected collisions with taken codes well below one.
                sparse=want * (1 - fraction) < 0.05,
            )
        else:
            # Dense: oversample, insert at most ``want``.
            draw = min(int(want / fraction * 1.25) + 16, codegen.MAX_CANDIDATES)
            got = codegen.insert_pooled(
                values=values, codes=spec.distinct(draw), limit=want
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


def _in_pool(series_id: int) -> tuple[str, list]:
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
        return f"series_id = ANY(%s) AND {_ISSUABLE}", [[series_id]]
    return f"series_id = %s AND {_ISSUABLE}", [series_id]


# ``coupons.models.ISSUABLE`` in SQL (tests compare the two).
_ISSUABLE = "pooled AND archived_at IS NULL AND enabled"


def _pool_count_sql(series_id: int, at_most: int) -> tuple[str, list]:
    """A count of the series' pooled codes, up to ``at_most``, through the pool
    index (see ``_in_pool``)."""
    where, params = _in_pool(series_id)
    return (
        f"SELECT COUNT(*) FROM (SELECT 1 FROM coupons_coupon WHERE {where} "
        "ORDER BY series_id, id LIMIT %s) AS pool",
        [*params, at_most],
    )


def _pool_count(series_id: int, at_most: int) -> int:
    [(count,)] = sql.fetch(*_pool_count_sql(series_id, at_most), sql.Columns(1))
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
    actor: coupon_services.Actor = coupon_services.INTERNAL,
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
            got = _fill(
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
    low = _pool_low()
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
        target = _pool_target()
        pooled = pool_size(series, at_most=target)
        if pooled >= low:
            return 0
        want = target - pooled
        if series.max_create != UNLIMITED:
            want = min(want, series.max_create - series.issued_count - pooled)
        if want <= 0:
            return 0
        room = code_room(series, exact=False)
        return _fill(series, want, free=room, currency=series.store.currency)


RETIRE_BATCH = 5_000


def series_pool_retire(
    *,
    series: Series,
    coupon_ids: Sequence[int] | None = None,
    archive: bool = False,
    actor: coupon_services.Actor = coupon_services.INTERNAL,
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
    actor: coupon_services.Actor = coupon_services.INTERNAL,
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
    actor: coupon_services.Actor,
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
        ]
    )
    return done


# --- issue ----------------------------------------------------------------------------


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
    series_redeemed_at: datetime | None = None  # the series' latest redemption

    @property
    def issued(self) -> int:
        return len(self.coupons)


class _Grant:
    """How many codes may be issued, and the reason of the tightest limit."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.reason: str | None = None

    def limit(self, allowed: int, reason: str) -> None:
        if allowed < self.count:
            self.count, self.reason = max(allowed, 0), reason


@dataclass(frozen=True)
class _Taken:
    # In id order; only id, compact_id, store_id, code, series_id loaded.
    coupons: list[Coupon]
    # Codes still pooled after this take, counted up to the low mark (None: not
    # counted this time).
    pool_left: int | None


# Model.from_db takes a subset of the fields in the model's order.
_CLAIMED = ["id", "compact_id", "store_id", "code", "series_id"]


def _claim(
    *, store: Store, series_id: int, count: int, customer: int | sql.Query
) -> sql.Query:
    """Claim up to ``count`` issuable pooled codes of the series (live and enabled:
    ``_in_pool``) for the customer (its id, or the query that finds it), and count
    what stays issuable for the top-up: one statement, one update of each code (its
    window, when it has one, comes with the issue's writes).

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
        holder = f"(SELECT who.id FROM ({customer[0]}) AS who)"
        holder_params = list(customer[1])
    in_pool, pool_params = _in_pool(series_id)
    pool_count, pool_count_params = _pool_count_sql(series_id, _pool_low() + count)
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


def _claimed(rows: list[tuple]) -> _Taken:
    values = sorted(row for (row,) in rows)
    coupons = [Coupon.from_db(connection.alias, _CLAIMED, row[:5]) for row in values]
    # The count saw the pool before this claim (one snapshot on PostgreSQL).
    pooled = next((row[5] for row in values if row[5] is not None), None)
    return _Taken(
        coupons=coupons,
        pool_left=None if pooled is None else max(pooled - len(values), 0),
    )


def _window(
    coupons: list[Coupon], usable_at: datetime | None, expires_at: datetime | None
) -> list[sql.Statement]:
    """The issued codes' window, when the series gives them one."""
    if usable_at is None and expires_at is None:
        return []
    return [
        (
            "UPDATE coupons_coupon SET usable_at = %s, expires_at = %s "
            f"WHERE id IN ({sql.placeholders(len(coupons))})",
            [
                sql.prep(Coupon, "usable_at", usable_at),
                sql.prep(Coupon, "expires_at", expires_at),
                *(coupon.id for coupon in coupons),
            ],
        )
    ]


def _take(store: Store, series: Series, count: int, customer_id: int) -> _Taken:
    [rows] = sql.fetch_batch(
        _claim(store=store, series_id=series.id, count=count, customer=customer_id)
    )
    return _claimed(rows)


@dataclass(frozen=True)
class _IssueReads:
    series: Series | None  # the store's active series (locked when asked)
    customer: Customer | None
    redeemed_at: datetime | None  # the series' latest redemption
    claimed: _Taken | None = None  # codes claimed ahead of the grant (unlocked)


def _issue_reads(
    *,
    store: Store,
    series_id: int,
    customer: sql.Query | Customer | None,
    lock_series: bool,
    claim: int | None,
) -> _IssueReads:
    """What an issue reads first, in one round trip on PostgreSQL (hand-written,
    ``core.sql``): the customer, locked FOR NO KEY UPDATE; the series, locked too
    when ``lock_series``; the series' latest redemption time, which the answer
    shows; with ``claim``, that many pooled codes claimed (after the customer's
    lock, so the lock order holds)."""
    if not 0 < series_id <= flake.MAX_ID:
        return _IssueReads(series=None, customer=None, redeemed_at=None)
    if isinstance(customer, Customer):
        customer = customer_selectors.customer_by_id(
            store=store, customer_id=customer.id
        )
    series = sql.loader(Series, "s")
    queries = [
        (
            f"SELECT {series.columns} FROM series_series s "
            "WHERE s.store_id = %s AND s.id = %s AND s.is_active"
            + (sql.for_update(no_key=True) if lock_series else ""),
            [store.id, series_id],
            (series,),
        ),
        selectors.latest_redemption_query(series_id=series_id),
    ]
    if customer is not None:
        # The customer first: every issue locks customer, then series, then codes.
        queries.insert(0, sql.locked(customer, no_key=True))
    if claim is not None and customer is not None:
        queries.append(
            _claim(store=store, series_id=series_id, count=claim, customer=customer)
        )
    results = sql.fetch_batch(*queries)
    customer_rows = results.pop(0) if customer is not None else []
    claimed = (
        _claimed(results.pop()) if claim is not None and customer is not None else None
    )
    found, [(redeemed_at,)] = results
    return _IssueReads(
        series=found[0][0] if found else None,
        customer=customer_rows[0][0] if customer_rows else None,
        redeemed_at=redeemed_at,
        claimed=claimed,
    )


class _NeedsSeriesLock(Exception):
    """An issue run without the series lock met what only the lock settles."""


def series_issue(
    *,
    store: Store,
    series_id: int | None,
    customer: Customer | sql.Query | None,
    count: int,
    api_key: ApiKey | None = None,
    channel: str = Channel.CAPILLARY,
    purpose: str = "",
    at: datetime | None = None,
) -> IssueOutcome:
    """Issue ``count`` codes of a series to a customer: what fits is issued.

    Checks, in order: series id given, count in 1..500, the series exists, is active
    and has not expired, the customer exists. Then the limits cut the count, each
    naming itself when it is the tightest: a generic series gives its code once, a
    customer holds one code (``isMultipleVouchersPerUserAllowed=false``) or at most
    ``maxVouchersPerUser``, the series issues at most ``maxCreate``, the pool holds
    only so many. Nothing issued is an error (the tightest limit's reason); some
    issued is a partial success (``IssueOutcome.shortfall``).

    ``customer`` is the customer found, or the query that finds it
    (``customers.selectors.customer_find_query``), read in the series' round trip.

    Concurrency. The customer row is locked first (FOR NO KEY UPDATE), so one
    customer's issues queue up and the per-customer count is read under the lock.
    The series is read without a lock and codes are claimed with SKIP LOCKED, so
    issues of one series run side by side; the issued counter moves last, by an
    UPDATE conditional on the cap and the series being active as the row stands
    then (the check constraint behind it), which holds the series row only until
    the commit. When that UPDATE finds the cap moved, the pool has to be refilled,
    or the series is generic (its one code), the transaction is rolled back and the
    issue redone with the series row locked from the start (FOR NO KEY UPDATE),
    which settles all three; the lock order stays customer, series, coupons.
    """
    if series_id is None:
        raise DomainError(errors.SERIES_ID_REQUIRED, "seriesId is required.")
    if count < 1:
        raise DomainError(errors.COUNT_NOT_POSITIVE, "count must be at least 1.")
    if count > MAX_ISSUE:
        raise DomainError(errors.COUNT_OUT_OF_RANGE, f"count is at most {MAX_ISSUE}.")
    issue = partial(
        _series_issue,
        store=store,
        series_id=series_id,
        customer=customer,
        count=count,
        api_key=api_key,
        channel=channel,
        purpose=purpose,
        at=at or timezone.now(),
    )
    try:
        return issue(lock_series=False)
    except _NeedsSeriesLock:
        return issue(lock_series=True)


@transaction.atomic
def _series_issue(
    *,
    store: Store,
    series_id: int,
    customer: Customer | sql.Query | None,
    count: int,
    api_key: ApiKey | None,
    channel: str,
    purpose: str,
    at: datetime,
    lock_series: bool,
) -> IssueOutcome:
    # Unlocked, the codes are claimed with the first reads, as many as asked: a
    # grant cut below that (a cap, a per-customer limit) redoes the issue locked.
    reads = _issue_reads(
        store=store,
        series_id=series_id,
        customer=customer,
        lock_series=lock_series,
        claim=None if lock_series else count,
    )
    series, customer = reads.series, reads.customer
    if series is None:
        raise DomainError(errors.SERIES_NOT_FOUND, "Coupon series not found.")
    if series.valid_till is not None and series.valid_till <= at:
        raise DomainError(errors.SERIES_EXPIRED, "The series has expired.")
    if customer is None:
        raise DomainError(customer_errors.CUSTOMER_NOT_FOUND, "Customer not found.")
    usable_at, valid_till = coupon_window(series, at=at, tz=store.timezone)

    grant = _Grant(count)
    if series.is_generic:
        grant.limit(1, errors.GENERIC_SINGLE_CODE)
    per_customer = (
        not series.is_multiple_vouchers_per_user_allowed
        or series.max_vouchers_per_user != UNLIMITED
    )
    if per_customer:
        held = Assignment.objects.filter(
            series_id=series.id, customer_id=customer.id
        ).count()
        if not series.is_multiple_vouchers_per_user_allowed:
            if held:
                grant.limit(0, errors.ALREADY_HOLDS)
            else:
                grant.limit(1, errors.ONE_PER_CUSTOMER)
        else:
            grant.limit(series.max_vouchers_per_user - held, errors.PER_CUSTOMER_LIMIT)
    if series.max_create != UNLIMITED:
        grant.limit(series.max_create - series.issued_count, errors.OUT_OF_STOCK)
    if grant.count == 0:
        raise DomainError(grant.reason or errors.OUT_OF_STOCK)

    top_up = False
    if series.is_generic:
        if not lock_series:  # its one code may have to be made: under the lock
            raise _NeedsSeriesLock
        coupon = _generic_coupon(series, store=store)
        coupons = [coupon] if coupon is not None else []
    else:
        if reads.claimed is None:
            taken = _take(store, series, grant.count, customer.id)
        elif grant.count < len(reads.claimed.coupons):
            raise _NeedsSeriesLock  # claimed more than the grant
        else:
            taken = reads.claimed
        coupons = taken.coupons
        random = series.code_format == CodeFormat.RANDOM
        if random and len(coupons) < grant.count:
            if not lock_series:  # one refill at a time: under the lock
                raise _NeedsSeriesLock
            # The pool ran dry: generate the shortfall here, in this transaction.
            missing = grant.count - len(coupons)
            room = code_room(series, exact=False)
            _fill(series, missing, free=room, currency=store.currency)
            taken = _take(store, series, missing, customer.id)
            coupons += taken.coupons
        # (uploaded codes: only what was uploaded)
        top_up = (
            random and taken.pool_left is not None and taken.pool_left < _pool_low()
        )
    if not coupons:
        raise DomainError(errors.POOL_EMPTY, "The series has no code left to issue.")
    grant.limit(len(coupons), errors.POOL_SHORT)
    issued = len(coupons)

    outlet_id = api_key.outlet_id if api_key else None
    assignments = [
        Assignment(
            id=assignment_id,
            store_id=store.id,
            coupon_id=coupon.id,
            customer_id=customer.id,
            series_id=series.id,
            outlet_id=outlet_id,
            api_key=api_key,
            channel=channel,
            valid_till=valid_till,
            transaction_number=None,
            purpose=purpose,
            created_at=at,
        )
        for assignment_id, coupon in zip(flake.next_ids(issued), coupons, strict=True)
    ]
    events = assignment_services.assignment_events(
        assignments,
        action="issue",
        changes={"valid_till": valid_till, "purpose": purpose},
    )
    given = [] if series.is_generic else _window(coupons, usable_at, valid_till)
    # The expiry the window was taken from, still the series' (staff may have
    # extended it since an unlocked read: the issue is then redone locked).
    if series.valid_till is None:
        same_expiry, expiry_params = "valid_till IS NULL", []
    else:
        same_expiry = "valid_till = %s"
        expiry_params = [sql.prep(Series, "valid_till", series.valid_till)]
    # The assignments, their audit events, the codes' window and the conditional
    # counter update in one round trip.
    counted = sql.write(
        assignments,
        events,
        then=[
            *given,
            (
                "UPDATE series_series SET issued_count = issued_count + %s "
                "WHERE id = %s AND is_active "
                "AND (max_create = %s OR issued_count <= max_create - %s) "
                f"AND {same_expiry}",
                [issued, series.id, UNLIMITED, issued, *expiry_params],
            ),
        ],
    )
    if counted != 1:
        if not lock_series:  # the cap or expiry moved (or the series went)
            raise _NeedsSeriesLock
        raise DomainError(errors.OUT_OF_STOCK)  # cannot happen under the lock
    series.issued_count += issued
    if top_up:
        transaction.on_commit(
            partial(_top_up_quietly, series_id=series.id), robust=True
        )
    return IssueOutcome(
        series=series,
        customer=customer,
        requested=count,
        coupons=coupons,
        issued_at=at,
        valid_till=valid_till,
        shortfall=grant.reason,
        assignments=assignments,
        series_redeemed_at=reads.redeemed_at,
    )


def _top_up_quietly(*, series_id: int) -> None:
    added = series_pool_top_up(series_id=series_id)
    if added:
        logger.info("series %s: %s codes added to the pool", series_id, added)
