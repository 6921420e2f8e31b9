"""Writes of the coupons app: coupons and the redemption engine."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audit import services as audit
from core import errors as core_errors
from core import rows, sql
from core.actors import SYSTEM, Actor
from core.errors import DomainError, FieldIssue
from coupons import errors, typed_codes
from coupons.models import MAX_PERCENT, Coupon, DiscountType, Duration, Hold
from stores.models import Store

# One actor type for every service (core.actors); INTERNAL is the system.
INTERNAL = SYSTEM

# Fields a caller may set; counters, actors and origin are the services' own.
EDITABLE = (
    "code",
    "enabled",
    "note",
    "duration",
    "duration_in_months",
    "discount_type",
    "discount_amount",
    "discount_max_amount",
    "discount_apply_individually",
    "discount_apply_before_sales",
    "apply_to_products",
    "apply_to_tags",
    "usable_by_customer_id",
    "minimum_order_value",
    "redeem_limit_store_enabled",
    "redeem_limit_store_amount",
    "redeem_limit_customer_enabled",
    "redeem_limit_customer_amount",
    "usable_on_one_time_purchase",
    "usable_on_subscription",
    "usable_at",
    "expires_at",
    "is_first_order_only",
)
UPDATE_STAMP = ("updated_by_type", "updated_by_id", "updated_at")
# Where a coupon came from: set by the services that generate coupons (series,
# legacy definitions), never by a dialect's request body.
PROVENANCE = (
    "origin",
    "series_id",
    "pooled",
    "legacy_definition_id",
    "legacy_uuid",
    "legacy_label",
)


def _customer_held(*, store_id: int, customer_id: int) -> bool:
    """Whether the store has this customer, which is then held (FOR KEY SHARE on
    PostgreSQL) until the transaction ends: a coupon restricted to a customer
    references it, and a customer DELETE (FOR UPDATE) must either wait and find
    the coupon (409) or go first and leave this check to fail (400), not fail a
    deferred foreign key at commit. KEY SHARE does not wait for the checkouts' lock
    on a customer (FOR NO KEY UPDATE), so taking it after a coupon's lock (an
    update) cannot deadlock with a checkout that holds the customer and waits for
    that coupon."""
    clause = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
    return bool(
        sql.fetch_rows(
            "SELECT 1 FROM customers_customer WHERE id = %s AND store_id = %s" + clause,
            [customer_id, store_id],
        )
    )


def _rule_issues(coupon: Coupon, held: int = 0) -> list[FieldIssue]:
    """Cross-field rules every writer obeys (the constraints hold them too)."""
    issues: list[FieldIssue] = []

    def bad(path: str, message: str, code: str = "invalid") -> None:
        issues.append(FieldIssue(path=path, code=code, message=message))

    if not coupon.code or not coupon.code.strip():
        bad("code", "A code is required.", "required")
    if coupon.duration == Duration.REPEATING:
        if coupon.duration_in_months is None:
            bad(
                "duration_in_months", "Required when duration is repeating.", "required"
            )
        elif coupon.duration_in_months < 1:
            bad("duration_in_months", "Must be at least 1.", "min_value")
    elif coupon.duration_in_months is not None:
        bad("duration_in_months", "Only allowed when duration is repeating.")
    if coupon.discount_type == DiscountType.PERCENT and (
        coupon.discount_amount > MAX_PERCENT
    ):
        bad(
            "discount_amount",
            "A percent discount is percent x 10 and cannot exceed 1000 (100%).",
            "max_value",
        )
    for path in (
        "discount_amount",
        "minimum_order_value",
        "redeem_limit_store_amount",
        "redeem_limit_customer_amount",
    ):
        if getattr(coupon, path) < 0:
            bad(path, "Cannot be negative.", "min_value")
    for scope in ("store", "customer"):
        if (
            getattr(coupon, f"redeem_limit_{scope}_enabled")
            and getattr(coupon, f"redeem_limit_{scope}_amount") < 1
        ):
            bad(
                f"redeem_limit_{scope}_amount",
                "Must be at least 1 when the limit is enabled.",
                "min_value",
            )
    if coupon.redeem_limit_store_enabled:
        # A live hold is a use its holder was promised (``held``).
        used = max(coupon.redeemed_count + held, coupon.received_count)
        if coupon.redeem_limit_store_amount < used:
            taken = "already used or is held" if held else "already used"
            bad(
                "redeem_limit_store_amount",
                f"Cannot be lower than what was {taken} ({used}).",
                "min_value",
            )
    if coupon.usable_at and coupon.expires_at and coupon.usable_at > coupon.expires_at:
        bad("usable_at", "Must not be after expires_at.")
    if coupon.usable_by_customer_id is not None and not _customer_held(
        store_id=coupon.store_id, customer_id=coupon.usable_by_customer_id
    ):
        bad(
            "usable_by_customer_id", "No such customer in this store.", "does_not_exist"
        )
    return issues


def _check(coupon: Coupon, held: int = 0) -> None:
    issues = _rule_issues(coupon, held)
    if issues:
        raise core_errors.invalid_input(issues)


def _code_taken(coupon: Coupon) -> DomainError:
    return DomainError(
        errors.CODE_TAKEN,
        f"The code {coupon.code!r} is already taken in this store.",
        fields=[FieldIssue("code", "unique", "This code is already taken.")],
    )


def typed_shapes(store_id: int) -> tuple[typed_codes.Shape, ...]:
    """The store's check-character shapes, for a writer of codes: read with the store
    row held FOR SHARE on PostgreSQL, so a check-character series reserving a shape
    (which locks the row FOR NO KEY UPDATE and then scans the store's codes) waits
    for the writer's transaction and sees its codes, or this read waits for the
    series and sees its shape. Writers share the lock and do not wait for each
    other."""
    lock = " FOR SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT typed_code_shapes FROM stores_store WHERE id = %s{lock}",
            [store_id],
        )
        row = cursor.fetchone()
    value = row[0] if row else None
    if isinstance(value, str):  # SQLite hands JSON back as text
        value = json.loads(value)
    return tuple(typed_codes.Shape.parse(shape) for shape in value or ())


def _save(coupon: Coupon, update_fields: list[str] | None = None) -> Coupon:
    """Save inside a savepoint; the folded-code unique index decides races.

    Updates name their fields: the counters are never written from a stale read.
    A code that a lookup would read as a mistyped check-character code
    (``coupons.typed_codes.reserved_by``) is taken by that series' format.
    """
    if update_fields is None or "code" in update_fields:
        shape = typed_codes.reserved_by(coupon.code, typed_shapes(coupon.store_id))
        if shape is not None:
            raise DomainError(
                errors.CODE_TAKEN,
                f"The code {coupon.code!r} has the format of a check-character "
                "series without its check character: it would be read as a typo.",
                fields=[FieldIssue("code", "unique", "This code's format is taken.")],
            )
    others = (
        Coupon.objects.for_store(coupon.store_id).holding_codes().with_code(coupon.code)
    )
    if coupon.pk is not None:
        others = others.exclude(pk=coupon.pk)
    if others.exists():
        raise _code_taken(coupon)
    try:
        with transaction.atomic():
            coupon.save(update_fields=update_fields)
    except IntegrityError as exc:
        if others.exists():
            raise _code_taken(coupon) from exc
        raise
    return coupon


@transaction.atomic
def coupon_create(
    *,
    store: Store,
    actor: Actor,
    provenance: dict[str, Any] | None = None,
    **values: Any,
) -> Coupon:
    """Create a coupon; a taken code (any letter case) is ``code_taken``.

    ``provenance`` (``PROVENANCE`` keys) is for generating services, not for clients.
    """
    unknown = set(provenance or {}) - set(PROVENANCE)
    if unknown:
        raise ValueError(f"not provenance fields: {sorted(unknown)}")
    coupon = Coupon(
        store=store,
        created_by_type=actor.type,
        created_by_id=actor.id,
        **(provenance or {}),
        **{key: value for key, value in values.items() if key in EDITABLE},
    )
    _check(coupon)
    _save(coupon)
    audit.record(
        action="create",
        object_type="coupon",
        object_id=coupon.pk,
        store_id=coupon.store_id,
        coupon_id=coupon.pk,
        series_id=coupon.series_id,
        changes=audit.snapshot(coupon, EDITABLE),
        actor=actor,
    )
    return coupon


def _locked(coupon: Coupon) -> Coupon:
    """The caller's coupon read again and locked (FOR UPDATE) for this transaction.

    Gone meanwhile is ``coupon_not_found``: deleted, or archived (deleted for the API)
    when the caller read it live. So an update never writes a deleted coupon back nor
    changes an archived one, and of concurrent deletes one succeeds, the rest 404.
    """
    candidates = Coupon.objects.live() if coupon.archived_at is None else Coupon.objects
    return rows.lock(
        candidates.all(),
        pk=coupon.pk,
        missing=DomainError(errors.COUPON_NOT_FOUND, "Coupon not found."),
    )


def _held(coupon: Coupon) -> bool:
    """Someone received or used the coupon (its code is in a customer's hands)."""
    return coupon.redemptions.exists() or coupon.assignments.exists()


def _code_held(coupon: Coupon) -> DomainError:
    message = "The code of a coupon someone received or used cannot change."
    return DomainError(
        core_errors.INVALID_INPUT,
        message,
        fields=[FieldIssue("code", "held", message)],
    )


def _held_now(coupon: Coupon, before: dict[str, Any]) -> int:
    """The coupon's live holds, when its store-wide limit is being set or lowered
    (a hold takes its coupon's lock, which the caller holds): a limit below them
    would leave holders unable to redeem what they were promised."""
    limit = ("redeem_limit_store_enabled", "redeem_limit_store_amount")
    if not coupon.redeem_limit_store_enabled or all(
        before[key] == getattr(coupon, key) for key in limit
    ):
        return 0
    return Hold.objects.filter(coupon_id=coupon.pk).live(at=timezone.now()).count()


@transaction.atomic
def coupon_update(*, coupon: Coupon, actor: Actor, **changes: Any) -> Coupon:
    """A delta update: only the given fields change, then every rule is re-checked.

    The row is locked and read again (``_locked``), so the limit check sees the
    counters as they are, concurrent updates of other fields are kept, and only the
    fields that changed are written (with the updater), each change audited once.
    The code of a coupon someone received or used does not change (``invalid_input``
    on ``code``): the code in their hands would name nothing, then another coupon.
    """
    locked = _locked(coupon)
    before = audit.snapshot(locked, EDITABLE)
    for key, value in changes.items():
        if key in EDITABLE:
            setattr(locked, key, value)
    _check(locked, held=_held_now(locked, before))
    changed = audit.diff(before, audit.snapshot(locked, EDITABLE))
    if not changed:
        return locked
    if "code" in changed and _held(locked):
        raise _code_held(locked)
    locked.updated_by_type = actor.type
    locked.updated_by_id = actor.id
    locked.updated_at = timezone.now()
    _save(locked, update_fields=[*changed, *UPDATE_STAMP])
    audit.record(
        action="update",
        object_type="coupon",
        object_id=locked.pk,
        store_id=locked.store_id,
        coupon_id=locked.pk,
        series_id=locked.series_id,
        changes=changed,
        actor=actor,
    )
    return locked


@transaction.atomic
def coupon_delete(*, coupon: Coupon, actor: Actor) -> None:
    """Gone from the API. A coupon with history is archived (and disabled) instead,
    and one that someone received or used keeps its code (``code_held``): a code in
    a customer's hands never comes to name another coupon.

    A coupon deleted or archived since the caller read it is ``coupon_not_found``.
    Under the coupon's lock: a receive, redemption or hold of it either went first
    (and is seen here) or finds it gone. One with live holds is not deleted
    (``coupon_held``): its holders were promised those uses (README, "Holds").
    """
    locked = _locked(coupon)
    live_holds = Hold.objects.filter(coupon_id=locked.pk).live(at=timezone.now())
    if count := live_holds.count():
        raise DomainError(
            errors.COUPON_HELD,
            f"This coupon has live holds ({count}) and cannot be deleted: its holders "
            "were promised those uses. Release the holds or let them end first.",
        )
    held = _held(locked)
    has_history = held or locked.series_id
    event = {
        "object_type": "coupon",
        "object_id": locked.pk,
        "store_id": locked.store_id,
        "coupon_id": locked.pk,
        "series_id": locked.series_id,
        "actor": actor,
    }
    if not has_history:
        audit.record(action="delete", changes=audit.snapshot(locked, EDITABLE), **event)
        locked.delete()
        return
    audit.record(
        action="archive", changes={"enabled": [locked.enabled, False]}, **event
    )
    locked.archived_at = timezone.now()
    locked.code_held = held
    locked.enabled = False
    locked.updated_by_type = actor.type
    locked.updated_by_id = actor.id
    locked.updated_at = locked.archived_at
    rows.save_fields(locked, ["archived_at", "code_held", "enabled", *UPDATE_STAMP])


@dataclass(frozen=True)
class ExpireResult:
    matched: int
    disabled: int


def coupons_expire(
    *,
    store: Store,
    actor: Actor,
    before: datetime | None = None,
    dry_run: bool = False,
    batch: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> ExpireResult:
    """Disable the store's enabled coupons whose ``expires_at`` is before ``before``
    and already past (``actor`` stamped as their updater and in the audit trail): a
    ``before`` later than now is read as now, so a coupon that has not expired is
    never disabled here.

    Works in batches of ids, one short transaction each, so a million expired coupons
    never hold one long lock; running it again finds nothing more to do. A batch's
    rows are locked as they are read, in id order (the checkouts' order): an UPDATE
    takes them in the order its plan meets them, and a receive of two of them could
    deadlock with it.
    """
    now = timezone.now()
    before = min(before, now) if before is not None else now
    stale = (
        Coupon.objects.for_store(store.id)
        .live()
        .filter(enabled=True, expires_at__lt=before)
    )
    matched = stale.count()
    if dry_run:
        return ExpireResult(matched=matched, disabled=0)
    disabled = 0
    while True:
        with transaction.atomic():
            ids = list(
                stale.order_by("id")
                .select_for_update()
                .values_list("id", flat=True)[:batch]
            )
            if not ids:
                break
            done = Coupon.objects.filter(id__in=ids, enabled=True).update(
                enabled=False,
                updated_by_type=actor.type,
                updated_by_id=actor.id,
                updated_at=timezone.now(),
            )
            audit.record_many(
                [
                    {
                        "action": "expire",
                        "object_type": "coupon",
                        "object_id": coupon_id,
                        "store_id": store.pk,
                        "coupon_id": coupon_id,
                        "changes": {"enabled": [True, False]},
                    }
                    for coupon_id in ids
                ],
                actor=actor,
            )
        disabled += done
        if progress:
            progress(len(ids))
    return ExpireResult(matched=matched, disabled=disabled)
