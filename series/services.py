"""Writes of the series app: create a series.

A series' codes (the pool, its generation, top-up and retirement, the generic code)
are ``series.pool``'s; issuing them to customers is ``series.issue``'s.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from core import money
from core.actors import SYSTEM, Actor
from core.errors import DomainError, FieldIssue
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
    at = timezone.now()
    check_series(series, currency=store.currency, at=at)
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
