"""Writes of the customers app."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from audit import services as audit
from core.errors import DomainError, FieldIssue
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


def _save_unique(customer: Customer, *, values: dict[str, Any]) -> Customer:
    """Save, answering a taken identifier with ``customer_identifier_taken``.

    The pre-check gives a precise message; the unique indexes decide when two writers
    race (the loser's INSERT fails inside its savepoint and is reported the same way).
    """
    taken = _taken_identifiers(
        store_id=customer.store_id, values=values, exclude_id=customer.pk
    )
    if taken:
        raise _conflict(taken)
    try:
        with transaction.atomic():
            customer.save()
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
def customer_create(*, store: Store, **values: Any) -> Customer:
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
    )
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, **changes: Any) -> Customer:
    """A delta update: only the fields given change."""
    changes = _blank_to_none({k: v for k, v in changes.items() if k in EDITABLE})
    before = audit.snapshot(customer, EDITABLE)
    for field, value in changes.items():
        setattr(customer, field, value)
    _save_unique(customer, values=changes)
    changed = audit.diff(before, audit.snapshot(customer, EDITABLE))
    if changed:
        audit.record(
            action="update",
            object_type="customer",
            object_id=customer.pk,
            store_id=customer.store_id,
            customer_id=customer.pk,
            changes=changed,
        )
    return customer


@transaction.atomic
def customer_delete(*, customer: Customer) -> None:
    """Delete a customer who holds no coupon history (assignments, redemptions).

    The row is locked first (FOR UPDATE): the lock every checkout takes on its
    customer (FOR NO KEY UPDATE, customer first) conflicts with it. A checkout in
    flight is waited for, and its rows then count as history (409); one that comes
    later waits for this delete and then finds no customer. A customer deleted
    meanwhile (a concurrent DELETE) is ``customer_not_found``.
    """
    locked = (
        Customer.objects.select_for_update()
        .filter(pk=customer.pk, store_id=customer.store_id)
        .first()
    )
    if locked is None:
        raise DomainError(errors.CUSTOMER_NOT_FOUND, "Customer not found.")
    snapshot = audit.snapshot(locked, EDITABLE)
    customer_id, store_id = locked.pk, locked.store_id
    try:
        with transaction.atomic():
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
    )
