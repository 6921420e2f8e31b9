"""Reads of the customers app."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, TextChoices
from django.db.models.functions import Coalesce
from django.utils import timezone

from assignments.models import Assignment
from core import compact, flake, sql
from core.errors import DomainError
from core.pagination import KeysetPage
from coupons.models import Redemption
from customers import errors
from customers.identifiers import fold_email_or_none
from customers.models import Customer
from series.models import Series
from stores.models import Outlet, Store


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


def customer_find_query(
    *,
    store: Store,
    email: str | None = None,
    mobile: str | None = None,
    external_id: str | None = None,
    customer_id: int | None = None,
    compact_id: int | None = None,
) -> sql.Query | None:
    """The query of ``customer_find`` (None when no identifier is given), to run
    alone or batched with a checkout's other reads (``core.sql.fetch_batch``)."""
    if email is mobile is external_id is customer_id is compact_id is None:
        return None
    conditions, params = ["c.store_id = %s"], [store.id]
    for condition, given in (
        ("c.id = %s", customer_id),
        ("c.compact_id = %s", compact_id),
        ("c.email_folded = %s", fold_email_or_none(email)),
        ("c.mobile = %s", mobile),
        ("c.external_id = %s", external_id),
    ):
        if given is not None:
            conditions.append(condition)
            params.append(given)
    customer = sql.loader(Customer, "c")
    return (
        f"SELECT {customer.columns} FROM customers_customer c "
        f"WHERE {' AND '.join(conditions)} ORDER BY c.id LIMIT 1",
        params,
        (customer,),
    )


def customer_find(
    *,
    store: Store,
    email: str | None = None,
    mobile: str | None = None,
    external_id: str | None = None,
    customer_id: int | None = None,
    compact_id: int | None = None,
) -> Customer | None:
    """The one customer matching every identifier given, or None (``customer_id``
    is the flake id, ``compact_id`` the one the Capillary dialect shows).

    Matches as ``CustomerQuerySet.by_identifier`` does (the email folded),
    in hand-written SQL (``core.sql``): every Capillary issue and redeem starts here.
    """
    query = customer_find_query(
        store=store,
        email=email,
        mobile=mobile,
        external_id=external_id,
        customer_id=customer_id,
        compact_id=compact_id,
    )
    row = None if query is None else sql.fetch_one(query)
    return None if row is None else row[0]


def customer_by_id(*, store: Store, customer_id: int) -> sql.Query:
    """The store's customer by id, hand-written (``core.sql``): checkouts make this
    read, alone or batched with the coupon's."""
    customer = sql.loader(Customer, "c")
    return (
        f"SELECT {customer.columns} FROM customers_customer c "
        "WHERE c.store_id = %s AND c.id = %s",
        [store.id, customer_id],
        (customer,),
    )


# --- a customer's coupons (Capillary v1.1 GET /v1.1/customer/coupons) ---------------


class HoldingStatus(TextChoices):
    """Which of a customer's coupons to list.

    ``active``: valid till a future time (or without an end), whatever the redemptions;
    ``expired``: its valid-till has passed; ``redeemed``: the customer has a redemption
    of it that was not rolled back; ``unredeemed``: none.
    """

    UNREDEEMED = "unredeemed"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    ACTIVE = "active"


class HoldingOrder(TextChoices):
    CREATED = "created", "When the coupon was issued to the customer"
    CREATED_BY = "created_by", "The API key (till) that issued it"
    VALID_TILL = "valid_till", "Its valid-till"


# Reasons of other apps (DESIGN.md), raised here by the customer-coupons query.
SERIES_NOT_FOUND = "series_not_found"
OUTLET_NOT_FOUND = "outlet_not_found"


def customer_coupon_holdings(
    *,
    store: Store,
    customer: Customer,
    since: datetime | None = None,
    before: datetime | None = None,
    status: str | None = None,
    series_id: int | None = None,
    redeemable_at: str | None = None,
    order_by: str = HoldingOrder.CREATED,
    descending: bool = True,
    at: datetime | None = None,
) -> QuerySet[Assignment]:
    """The customer's coupons: their assignments, newest first by default.

    Each row's coupon carries ``holder_redemptions``: the customer's redemptions of it
    that were not rolled back, oldest first, with their outlet. The whole page costs one
    query for the rows and one for every redemption on it, whatever their number.

    - ``since``/``before``: issued, or redeemed by the customer, in ``[since, before)``.
    - ``series_id``: from that series, by its flake or compact id
      (``series_not_found`` when the store has none).
    - ``redeemable_at`` (an outlet code): redeemable at that outlet now. Every outlet
      of the store honours every coupon (there are no per-outlet restrictions), so
      these are the enabled, not-expired coupons, and none at all when the outlet is
      inactive (``outlet_not_found`` when the store has no such outlet).
    - ``order_by`` with ``descending``; a missing value (no valid-till, not issued by an
      API key) sorts as the largest, and the assignment id breaks ties.
    """
    at = at or timezone.now()
    if series_id is not None:
        series_id = (
            Series.objects.for_store(store.id)
            .filter(compact.lookup(series_id))
            .values_list("id", flat=True)
            .first()
        )
        if series_id is None:
            raise DomainError(SERIES_NOT_FOUND, "Coupon series not found.")
    outlet = None
    if redeemable_at is not None:
        outlet = Outlet.objects.filter(store_id=store.id, code=redeemable_at).first()
        if outlet is None:
            raise DomainError(OUTLET_NOT_FOUND, "No store (outlet) has this code.")
    redemptions = Redemption.objects.for_store(store.id).counting()
    held = redemptions.filter(customer_id=customer.id, coupon_id=OuterRef("coupon_id"))
    # A coupon received twice (Shoplazza) is listed once: its first assignment.
    earlier = Assignment.objects.filter(
        customer_id=customer.id, coupon_id=OuterRef("coupon_id"), id__lt=OuterRef("id")
    )
    qs = (
        Assignment.objects.for_store(store.id)
        .filter(customer_id=customer.id, coupon__archived_at__isnull=True)
        .filter(~Exists(earlier))
        .annotate(effective_valid_till=Coalesce("valid_till", "coupon__expires_at"))
    )
    not_expired = Q(effective_valid_till__isnull=True) | Q(effective_valid_till__gt=at)
    window: dict[str, datetime] = {}
    if since is not None:
        window["created_at__gte"] = since
    if before is not None:
        window["created_at__lt"] = before
    if window:
        qs = qs.filter(Q(**window) | Exists(held.filter(**window)))
    if status == HoldingStatus.REDEEMED:
        qs = qs.filter(Exists(held))
    elif status == HoldingStatus.UNREDEEMED:
        qs = qs.filter(~Exists(held))
    elif status == HoldingStatus.ACTIVE:
        qs = qs.filter(not_expired)
    elif status == HoldingStatus.EXPIRED:
        qs = qs.filter(effective_valid_till__lte=at)
    if series_id is not None:
        qs = qs.filter(
            Q(series_id=series_id) | Q(series__isnull=True, coupon__series_id=series_id)
        )
    if outlet is not None:
        if not outlet.is_active:
            return qs.none()
        qs = qs.filter(not_expired, coupon__enabled=True)
    key = {
        HoldingOrder.CREATED: F("created_at"),
        HoldingOrder.CREATED_BY: F("api_key__key_id"),
        HoldingOrder.VALID_TILL: F("effective_valid_till"),
    }[HoldingOrder(order_by)]
    ordering = (
        [key.desc(nulls_first=True), F("id").desc()]
        if descending
        else [key.asc(nulls_last=True), F("id").asc()]
    )
    return (
        qs.order_by(*ordering)
        .select_related("coupon", "coupon__series", "series", "outlet")
        .prefetch_related(
            Prefetch(
                "coupon__redemptions",
                queryset=redemptions.filter(customer_id=customer.id)
                .select_related("outlet")
                .order_by("id"),
                to_attr="holder_redemptions",
            )
        )
    )
