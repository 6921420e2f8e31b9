"""Series writes for the staff admin: edit a series, disable it, extend its expiry.

Kept apart from ``series/services.py`` (the Capillary series work) while that module
is being finished; the functions follow the same rules (keyword-only, one
transaction, a row lock, domain errors, the audit trail) and may move there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from assignments.models import Assignment
from audit import services as audit
from core import rows
from core.errors import DomainError, FieldIssue
from coupons.models import Coupon
from coupons.services import INTERNAL, Actor
from series import errors
from series.models import UNLIMITED, Series

# Moved only by the services that issue, under the series' lock.
COUNTERS = frozenset({"issued_count"})


@transaction.atomic
def series_update(
    *, series: Series, changes: dict[str, Any], actor: Actor = INTERNAL
) -> Series:
    """Staff's edit of a series: the fields in ``changes`` (counters excluded).

    The row is locked and read again, so what others changed meanwhile is kept (the
    issued count moved by issues, another edit's fields), the cap is checked against
    the issued count as it is now, and a series deleted meanwhile is
    ``series_not_found``. Only the fields that change are written, and audited.
    """
    locked = rows.lock(
        Series.objects.all(),
        pk=series.pk,
        missing=DomainError(errors.SERIES_NOT_FOUND, "This series no longer exists."),
    )
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
    )
    return locked


@transaction.atomic
def series_disable(*, series: Series, actor: Actor = INTERNAL) -> bool:
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
        )
    series.is_active = False
    return bool(changed)


@transaction.atomic
def series_extend_expiry(
    *, series: Series, valid_till: datetime, actor: Actor = INTERNAL
) -> tuple[Series, int]:
    """Move a series' expiry (``valid_till``) later; returns (series, codes moved).

    The new expiry must be in the future and later than the current one (an
    open-ended series has nothing to extend). Codes and assignments whose expiry was
    the series' expiry (the series bounds them) move with it; a code with an earlier
    expiry of its own (N days after issue) keeps it.
    """
    locked = rows.lock(
        Series.objects.all(),
        pk=series.pk,
        missing=DomainError(errors.SERIES_NOT_FOUND, "This series no longer exists."),
    )
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
    moved = Coupon.objects.filter(
        series_id=locked.pk, expires_at=old, archived_at__isnull=True
    ).update(
        expires_at=valid_till,
        updated_by_type=actor.type,
        updated_by_id=actor.id,
        updated_at=now,
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
    )
    series.valid_till = valid_till
    return locked, moved
