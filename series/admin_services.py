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
    *, series: Series, changes: dict[str, Any], actor: Actor = INTERNAL
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
