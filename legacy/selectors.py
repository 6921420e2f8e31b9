"""Reads of the legacy app: definitions, templates, and the coupons made from them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db.models import QuerySet
from django.db.models.functions import Length

from core.errors import DomainError
from coupons.codes import fold_code
from coupons.models import Coupon
from legacy import errors
from legacy.models import Kind, LegacyDefinition
from stores.models import Store

NOT_FOUND = {
    Kind.DEFINITION: (errors.DEFINITION_NOT_FOUND, "Coupon definition not found."),
    Kind.TEMPLATE: (errors.TEMPLATE_NOT_FOUND, "Coupon template not found."),
}


def parse_uuid(value: object) -> uuid.UUID | None:
    """A UUID from its string form, or None (a malformed id is simply not found)."""
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def legacy_definition_get(
    *, store: Store, definition_id: object, kind: str
) -> LegacyDefinition:
    """The store's definition (or template, by ``kind``) with this UUID."""
    parsed = parse_uuid(definition_id)
    found = (
        LegacyDefinition.objects.for_store(store.id)
        .filter(kind=kind, uuid=parsed)
        .first()
        if parsed
        else None
    )
    if found is None:
        raise DomainError(*NOT_FOUND[kind])
    return found


def legacy_definition_by_label(
    *, store: Store, label: str, lock: bool = False
) -> LegacyDefinition:
    """The definition or template with this label (one namespace); FOR UPDATE."""
    queryset = LegacyDefinition.objects.for_store(store.id).filter(label=label)
    if lock:
        queryset = queryset.select_for_update()
    found = queryset.first()
    if found is None:
        raise DomainError(
            errors.LABEL_NOT_FOUND,
            f"No coupon definition or template has the label {label!r}.",
        )
    return found


def legacy_coupon_queryset(*, store: Store) -> QuerySet[Coupon]:
    """The store's coupons made from a definition or template, as the vendor APIs
    see coupons (``visible``: live, never a series' pooled code)."""
    return (
        Coupon.objects.for_store(store.id).visible().filter(legacy_uuid__isnull=False)
    )


def legacy_coupon_get(*, store: Store, coupon_id: object) -> Coupon:
    parsed = parse_uuid(coupon_id)
    coupon = (
        legacy_coupon_queryset(store=store).filter(legacy_uuid=parsed).first()
        if parsed
        else None
    )
    if coupon is None:
        raise DomainError(errors.COUPON_NOT_FOUND, "Coupon not found.")
    return coupon


def legacy_coupon_list(*, store: Store, codes: Iterable[str]) -> QuerySet[Coupon]:
    """Legacy coupons with any of these codes (any ASCII letter case), newest first."""
    folded = sorted({fold_code(code) for code in codes})
    return (
        legacy_coupon_queryset(store=store)
        .filter(code_folded__in=folded)
        .order_by("-id")
    )


def _taken_folded_codes(store: Store) -> QuerySet[Coupon]:
    # Every coupon of the store that holds its code counts, whatever made it (live,
    # or archived and held for those who received or used it): the unique index does.
    return Coupon.objects.for_store(store.id).holding_codes()


def taken_codes(*, store: Store, folded: Iterable[str]) -> set[str]:
    """Which of these folded codes (``fold_code``) are taken in the store."""
    return set(
        _taken_folded_codes(store)
        .filter(code_folded__in=list(folded))
        .values_list("code_folded", flat=True)
    )


def taken_codes_like(
    *, store: Store, prefix: str, min_length: int, max_length: int
) -> list[str]:
    """Taken folded codes that start with ``prefix`` (folded) and fit the length.

    A superset of the codes a pattern can produce; the caller keeps its own.
    """
    return list(
        _taken_folded_codes(store)
        .annotate(code_length=Length("code"))
        .filter(
            code_folded__startswith=prefix,
            code_length__gte=min_length,
            code_length__lte=max_length,
        )
        .values_list("code_folded", flat=True)
    )
