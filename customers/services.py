"""Writes of the customers app."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from audit import services as audit
from core import rows
from core.actors import Actor
from core.errors import DomainError, FieldIssue
from coupons.models import Hold, HoldState
from customers import errors
from customers.models import Customer
from stores.models import Store

IDENTIFIERS = ("email", "mobile", "external_id")
EDITABLE = ("first_name", "last_name", *IDENTIFIERS)


def _taken_identifiers(
    *, store_id: int, values: dict[str, Any], exclude_id: int | None
) -> list[str]:
    taken = []
    others = Customer.objects.for_store(store_id)
    if exclude_id is not None:
        others = others.exclude(id=exclude_id)
    for field in IDENTIFIERS:
        value = values.get(field)
        if value is not None and others.by_identifier(**{field: value}).exists():
            taken.append(field)
    return taken


def _conflict(fields: list[str]) -> DomainError:
    names = ", ".join(fields) or "identifier"
    return DomainError(
        errors.IDENTIFIER_TAKEN,
        f"A customer with this {names} already exists in this store.",
        fields=[
            FieldIssue(
                path=field, code="unique", message=f"This {field} is already taken."
            )
            for field in fields
        ],
    )


def _save_unique(
    customer: Customer,
    *,
    values: dict[str, Any],
    update_fields: list[str] | None = None,
) -> Customer:
    """Save (an update: only ``update_fields``, never an INSERT), answering a taken
    identifier with ``customer_identifier_taken``.

    The pre-check gives a precise message; the unique indexes decide when two writers
    race (the loser's write fails inside its savepoint and is reported the same way).
    """
    taken = _taken_identifiers(
        store_id=customer.store_id, values=values, exclude_id=customer.pk
    )
    if taken:
        raise _conflict(taken)
    try:
        with transaction.atomic():
            if update_fields is None:
                customer.save()
            else:
                rows.save_fields(customer, update_fields)
    except IntegrityError as exc:
        taken = _taken_identifiers(
            store_id=customer.store_id, values=values, exclude_id=customer.pk
        )
        if not taken:
            raise
        raise _conflict(taken) from exc
    return customer


def _blank_to_none(values: dict[str, Any]) -> dict[str, Any]:
    # An empty identifier means "none": it must not collide with other empty ones.
    return {
        key: (None if key in IDENTIFIERS and value == "" else value)
        for key, value in values.items()
    }


@transaction.atomic
def customer_create(*, store: Store, actor: Actor, **values: Any) -> Customer:
    values = _blank_to_none({k: v for k, v in values.items() if k in EDITABLE})
    customer = Customer(store=store, **values)
    _save_unique(customer, values=values)
    audit.record(
        action="create",
        object_type="customer",
        object_id=customer.pk,
        store_id=store.pk,
        customer_id=customer.pk,
        changes=audit.snapshot(customer, EDITABLE),
        actor=actor,
    )
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, actor: Actor, **changes: Any) -> Customer:
    """A delta update: only the fields given change, and only what changed is written.

    ``customer`` is the caller's copy, read before this transaction: the row is locked
    and read again, so concurrent updates of different fields all persist, each
    audited with exactly the change it applied, and a customer deleted meanwhile is
    ``customer_not_found`` (a save of the old copy would INSERT it again).
    """
    changes = _blank_to_none({k: v for k, v in changes.items() if k in EDITABLE})
    locked = rows.lock(
        Customer.objects.all(),
        pk=customer.pk,
        missing=DomainError(errors.CUSTOMER_NOT_FOUND, "Customer not found."),
    )
    before = audit.snapshot(locked, EDITABLE)
    for field, value in changes.items():
        setattr(locked, field, value)
    changed = audit.diff(before, audit.snapshot(locked, EDITABLE))
    if changed:
        _save_unique(
            locked,
            values={field: changes[field] for field in changed},
            update_fields=[*changed, "updated_at"],
        )
        audit.record(
            action="update",
            object_type="customer",
            object_id=locked.pk,
            store_id=locked.store_id,
            customer_id=locked.pk,
            changes=changed,
            actor=actor,
        )
    return locked


def _forget_ended_holds(customer_id: int) -> None:
    """A released or ended hold reserved nothing any more: it does not keep its
    customer from being deleted (a live one does: ``customer_has_history``; a
    redeemed one names its redemption, which does too). A hold of this customer
    cannot start meanwhile: it takes the customer's lock, which the caller holds."""
    Hold.objects.filter(customer_id=customer_id).not_live(at=timezone.now()).exclude(
        state=HoldState.REDEEMED
    ).delete()


@transaction.atomic
def customer_delete(*, customer: Customer, actor: Actor) -> None:
    """Delete a customer who holds no coupon history (assignments, redemptions, live
    holds).

    The row is locked first (FOR UPDATE): the lock every checkout takes on its
    customer (FOR NO KEY UPDATE, customer first) conflicts with it. A checkout in
    flight is waited for, and its rows then count as history (409); one that comes
    later waits for this delete and then finds no customer. A customer deleted
    meanwhile (a concurrent DELETE) is ``customer_not_found``.
    """
    locked = rows.lock(
        Customer.objects.for_store(customer.store_id),
        pk=customer.pk,
        missing=DomainError(errors.CUSTOMER_NOT_FOUND, "Customer not found."),
    )
    snapshot = audit.snapshot(locked, EDITABLE)
    customer_id, store_id = locked.pk, locked.store_id
    try:
        with transaction.atomic():
            _forget_ended_holds(customer_id)
            locked.delete()
    except ProtectedError as exc:
        raise DomainError(
            errors.CUSTOMER_HAS_HISTORY,
            "This customer holds coupons or redemptions and cannot be deleted.",
        ) from exc
    audit.record(
        action="delete",
        object_type="customer",
        object_id=customer_id,
        store_id=store_id,
        customer_id=customer_id,
        changes=snapshot,
        actor=actor,
    )
