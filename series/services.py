"""Writes of the series app: create a series, edit, disable and extend it.

A series' codes (the pool, its generation, top-up and retirement, the generic code)
are ``series.pool``'s; issuing them to customers is ``series.issue``'s.

Staff's writes here lock the series FOR NO KEY UPDATE (``_locked``) and then, when
they move codes, the codes in id order: the checkouts' order (customer, series,
codes by id) without the customer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from assignments.models import Assignment
from audit import services as audit
from core import keyset, money, rows
from core.actors import SYSTEM, Actor
from core.errors import DomainError, FieldIssue
from coupons import typed_codes
from coupons.codes import fold_code
from coupons.models import Coupon
from series import codegen, errors, pool
from series.models import (
    UNLIMITED,
    CodeFormat,
    ExpiryStrategy,
    Series,
    SeriesDiscountType,
)
from stores.models import Store

MAX_CODE_LENGTH = 100  # Coupon.code


def _invalid(path: str, message: str) -> DomainError:
    return DomainError(
        errors.INVALID_SERIES,
        f"{path}: {message}",
        fields=[FieldIssue(path, "invalid", message)],
    )


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
    "check_character",
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


def check_series(series: Series, *, currency: str, at: datetime) -> None:
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
            pool.percent_x10(series.discount_value)
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
        except money.AmountTooLarge as exc:
            raise _invalid(path, f"{exc}.") from None
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
        if series.check_character and not typed_codes.is_symbols(
            fold_code(getattr(series, path))
        ):
            raise _invalid(
                path,
                "With a check character, only Crockford's base32 symbols "
                "(digits and letters but I, L, O, U).",
            )
    if not 1 <= series.random_code_length <= 64:
        raise _invalid("random_code_length", "Between 1 and 64.")
    spec = pool.series_spec(series)
    if spec.total_length > MAX_CODE_LENGTH:
        raise _invalid(
            "random_code_length",
            f"Prefix, random part and suffix make {spec.total_length} characters; "
            f"a code has at most {MAX_CODE_LENGTH}.",
        )


@transaction.atomic
def series_create(*, store: Store, actor: Actor = SYSTEM, **values) -> Series:
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
    if generic:
        series.check_character = False
    at = timezone.now()
    check_series(series, currency=store.currency, at=at)
    if series.check_character:
        # Stored as a lookup reads them (coupons.typed_codes.normalise).
        series.code_prefix = fold_code(series.code_prefix)
        series.code_suffix = fold_code(series.code_suffix)
        _reserve_shape(store, pool.series_spec(series).shape)
    series.save()
    if series.is_generic:
        pool.generic_coupon(series, store=store, actor=actor)
        return series
    room = pool.code_room(series)
    initial = pool.pool_target()
    if series.max_create != UNLIMITED:
        if series.max_create > room:
            raise pool.space_error(series, series.max_create, room)
        initial = min(initial, series.max_create)
    if room <= 0:
        raise pool.space_error(series, 1, room)
    initial = min(initial, room)
    if initial > 0:
        pool.fill(series, initial, free=room, currency=store.currency, actor=actor)
    return series


def _reserve_shape(store: Store, shape: typed_codes.Shape) -> None:
    """Add ``shape`` to the store's check-character shapes, which every lookup reads
    with the API key (``coupons.typed_codes.read``).

    Refused (``invalid_series`` on ``check_character``) while the store holds a
    code that would then be read as a typo (``typed_codes.reserved_by``): a typo is
    never a code that exists. One scan of the store's codes, under the store's row
    lock, so two series reserving shapes queue up.
    """
    locked = rows.lock(
        Store.objects.all(),
        pk=store.pk,
        missing=DomainError(errors.INVALID_SERIES, "This store no longer exists."),
        no_key=True,
    )
    shapes = [typed_codes.Shape.parse(value) for value in locked.typed_code_shapes]
    if shape in shapes:
        return
    codes = keyset.values_in_chunks(
        Coupon.objects.for_store(store.pk).holding_codes(), ["code"], size=5_000
    )
    clash = next(
        (code for (code,) in codes if typed_codes.reserved_by(code, [shape])),
        None,
    )
    if clash is not None:
        raise _invalid(
            "check_character",
            f"The store's code {clash!r} has the shape of this series' codes "
            "without their check character: it would be read as a typo.",
        )
    locked.typed_code_shapes = [*locked.typed_code_shapes, shape.stored()]
    # A save, not a QuerySet.update: the API key's cached row carries the store's
    # shapes, and a save is what moves its generation on (stores.key_cache).
    rows.save_fields(locked, ["typed_code_shapes"])
    store.typed_code_shapes = locked.typed_code_shapes


# --- staff's edits --------------------------------------------------------------------


# Moved only by the services that issue, under the series' lock.
COUNTERS = frozenset({"issued_count"})
# Codes locked and moved per statement when a series' expiry is extended.
EXTEND_BATCH = 5_000


def _locked(series: Series) -> Series:
    """The series read again and locked, FOR NO KEY UPDATE: as an issue locks it (so
    one waits for the other), while the redemptions and assignments inserted for its
    codes (whose foreign key check holds the series FOR KEY SHARE at their commit)
    do not wait for it. Lock order: a checkout holds its customer, then the series,
    then codes by id; a writer here takes the series first, then codes by id."""
    return rows.lock(
        Series.objects.all(),
        pk=series.pk,
        missing=DomainError(errors.SERIES_NOT_FOUND, "This series no longer exists."),
        no_key=True,
    )


@transaction.atomic
def series_update(
    *, series: Series, changes: dict[str, Any], actor: Actor = SYSTEM
) -> Series:
    """Staff's edit of a series: the fields in ``changes`` (counters excluded).

    The row is locked and read again, so what others changed meanwhile is kept (the
    issued count moved by issues, another edit's fields), the cap is checked against
    the issued count as it is now, and a series deleted meanwhile is
    ``series_not_found``. Only the fields that change are written, and audited.
    """
    locked = _locked(series)
    fields = [name for name in changes if name not in COUNTERS]
    before = audit.snapshot(locked, fields)
    for name in fields:
        setattr(locked, name, changes[name])
    changed = audit.diff(before, audit.snapshot(locked, fields))
    if not changed:
        return locked
    if locked.max_create != UNLIMITED and locked.max_create < locked.issued_count:
        message = f"{locked.issued_count} already issued: the cap cannot be lower."
        raise DomainError(
            errors.INVALID_SERIES,
            message,
            fields=[FieldIssue("max_create", "min_value", message)],
        )
    rows.save_fields(locked, [*changed, "updated_at"])
    audit.record(
        action="update",
        object_type="series",
        object_id=locked.pk,
        store_id=locked.store_id,
        series_id=locked.pk,
        changes=changed,
        actor=actor,
    )
    return locked


@transaction.atomic
def series_disable(*, series: Series, actor: Actor = SYSTEM) -> bool:
    """Stop a series from issuing (``is_active=False``); codes already issued stay
    valid. Returns False when it was already disabled (nothing written)."""
    changed = Series.objects.filter(pk=series.pk, is_active=True).update(
        is_active=False, updated_at=timezone.now()
    )
    if changed:
        audit.record(
            action="disable",
            object_type="series",
            object_id=series.pk,
            store_id=series.store_id,
            series_id=series.pk,
            changes={"is_active": [True, False]},
            actor=actor,
        )
    series.is_active = False
    return bool(changed)


@transaction.atomic
def series_extend_expiry(
    *, series: Series, valid_till: datetime, actor: Actor = SYSTEM
) -> tuple[Series, int]:
    """Move a series' expiry (``valid_till``) later; returns (series, codes moved).

    The new expiry must be in the future and later than the current one (an
    open-ended series has nothing to extend). Codes and assignments whose expiry was
    the series' expiry (the series bounds them) move with it; a code with an earlier
    expiry of its own (N days after issue) keeps it.
    """
    locked = _locked(series)
    now = timezone.now()
    old = locked.valid_till

    def refuse(message: str) -> DomainError:
        return DomainError(
            errors.INVALID_SERIES,
            message,
            fields=[FieldIssue("valid_till", "invalid", message)],
        )

    if old is None:
        raise refuse("The series has no expiry: there is nothing to extend.")
    if valid_till <= now:
        raise refuse("The new expiry must be in the future.")
    if valid_till <= old:
        raise refuse(
            f"The new expiry must be later than the current one ({old:%Y-%m-%d %H:%M} "
            "UTC)."
        )
    locked.valid_till = valid_till
    locked.save(update_fields=["valid_till", "updated_at"])
    moved = _move_codes(
        series_id=locked.pk, old=old, new=valid_till, actor=actor, at=now
    )
    Assignment.objects.filter(series_id=locked.pk, valid_till=old).update(
        valid_till=valid_till
    )
    audit.record(
        action="extend_expiry",
        object_type="series",
        object_id=locked.pk,
        store_id=locked.store_id,
        series_id=locked.pk,
        changes={
            "valid_till": [old.isoformat(), valid_till.isoformat()],
            "codes_moved": moved,
        },
        actor=actor,
    )
    series.valid_till = valid_till
    return locked, moved


def _move_codes(
    *, series_id: int, old: datetime, new: datetime, actor: Actor, at: datetime
) -> int:
    """Move the expiry of the series' issued codes that end with it, ``old`` to
    ``new``; returns how many moved.

    The codes are locked in id order, a batch at a time, before they are changed (a
    receive or a checkout locks its codes in that order too): one UPDATE would take
    them in the order its plan meets them and could deadlock with a receive of two
    of them. Pooled codes are left out: they get their expiry when issued (from the
    series as it is then), and a claim in flight holds them until it has to wait
    for the series, which this holds.
    """
    bounded = Coupon.objects.filter(
        series_id=series_id, expires_at=old, archived_at__isnull=True, pooled=False
    )
    moved, after = 0, 0
    while True:
        ids = list(
            bounded.filter(id__gt=after)
            .order_by("id")
            .select_for_update()
            .values_list("id", flat=True)[:EXTEND_BATCH]
        )
        if not ids:
            return moved
        moved += Coupon.objects.filter(id__in=ids).update(
            expires_at=new,
            updated_by_type=actor.type,
            updated_by_id=actor.id,
            updated_at=at,
        )
        after = ids[-1]
