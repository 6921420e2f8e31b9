"""Reads of the customers app."""

from __future__ import annotations

from django.db.models import QuerySet

from core import flake
from core.errors import DomainError
from core.pagination import KeysetPage
from customers import errors
from customers.models import Customer
from stores.models import Store


def customer_list(*, store: Store, page: KeysetPage) -> QuerySet[Customer]:
    return page.apply(Customer.objects.for_store(store.id))


def customer_get(*, store: Store, customer_id: object) -> Customer:
    """The store's customer, or ``customer_not_found`` (also for another store's id)."""
    parsed = flake.parse(customer_id)
    customer = (
        Customer.objects.for_store(store.id).filter(id=parsed).first()
        if parsed
        else None
    )
    if customer is None:
        raise DomainError(errors.CUSTOMER_NOT_FOUND, "Customer not found.")
    return customer


def customer_find(
    *,
    store: Store,
    email: str | None = None,
    mobile: str | None = None,
    external_id: str | None = None,
    customer_id: int | None = None,
) -> Customer | None:
    """The one customer matching every identifier given, or None."""
    if email is mobile is external_id is customer_id is None:
        return None
    return (
        Customer.objects.for_store(store.id)
        .by_identifier(
            email=email, mobile=mobile, external_id=external_id, customer_id=customer_id
        )
        .first()
    )


def customer_get_or_none(*, store: Store, customer_id: int) -> Customer | None:
    return Customer.objects.for_store(store.id).filter(id=customer_id).first()
