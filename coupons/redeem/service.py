"""Redeeming a code: ``redemption_create``, ``redemption_rollback``, and
``redemption_validate`` (the same check, writing nothing).

Lock order, the one every checkout takes: the customer (FOR NO KEY UPDATE) -> the
coupon (FOR UPDATE), both before any rule is read; a rollback: the coupon -> the
redemption. The rules are ``coupons.redeem.decide``'s, the SQL
``coupons.redeem.store``'s; this module opens the transaction and calls them in
order.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from audit import services as audit
from core.actors import Actor
from core.errors import DomainError, FieldIssue
from coupons import errors
from coupons.models import Coupon, Redemption
from coupons.redeem import decide
from coupons.redeem import store as redeem_store
from coupons.redeem.decide import Order, Problem, Verdict
from customers import errors as customer_errors
from customers.models import Customer
from customers.refs import CustomerRef
from stores.models import Store


def _coupon(found: redeem_store.Found, customer: CustomerRef | None) -> Coupon:
    """The coupon found, after the customer asked for: ``customer_not_found`` comes
    first, whatever the code, then ``coupon_not_found``."""
    if customer is not None and customer.given and found.customer is None:
        raise DomainError(customer_errors.CUSTOMER_NOT_FOUND, "Customer not found.")
    if found.coupon is None:
        raise DomainError(errors.COUPON_NOT_FOUND, "Coupon not found.")
    return found.coupon


def _verdict(
    coupon: Coupon, customer: Customer | None, order: Order, at: datetime
) -> Verdict:
    """The rules' verdict on this coupon for this customer and order, with the
    customer's use of it read now (under the locks, when redeeming)."""
    customer_id = customer.id if customer is not None else None
    usage = redeem_store.read_usage([coupon], customer_id=customer_id)[coupon.id]
    return decide.decide(
        decide.Attempt(
            terms=decide.Terms.of(coupon),
            customer_id=customer_id,
            order=order,
            usage=usage,
            at=at,
        )
    )


def _refused(problems: list[Problem]) -> DomainError:
    return DomainError(
        errors.REDEMPTION_REFUSED,
        "The coupon cannot be redeemed: "
        + "; ".join(problem.message for problem in problems),
        fields=[FieldIssue("code", p.code, p.message) for p in problems],
        details={"problems": problems},
    )


@transaction.atomic
def redemption_create(
    *,
    store: Store,
    code: str,
    customer: CustomerRef | None = None,
    order: Order,
    actor: Actor,
    transaction_number: str | None = None,
    at: datetime | None = None,
) -> Redemption:
    """Redeem a code for an order: check every rule and count the use, atomically.

    The customer (``customer_not_found`` when the store has none such, whatever the
    code) and the coupon are locked in one round trip, before any rule reads them:
    one customer's redemptions queue up, so the rules that read its history across
    coupons (first order only) see the previous one's; concurrent redemptions of one
    coupon queue up and each sees the previous one's count (the check constraint on
    the counter is the last line of defence); a customer deleted meanwhile is either
    gone first (``customer_not_found``) or waits and finds this redemption.

    The redemption is made through the actor's key (its outlet, its channel); a
    refusal is ``redemption_refused`` with every problem in ``details``.
    """
    at = at or timezone.now()
    found = redeem_store.lock_customer_and_coupon(
        store=store, customer=customer, code=code
    )
    coupon = _coupon(found, customer)
    verdict = _verdict(coupon, found.customer, order, at)
    if not verdict.valid:
        raise _refused(verdict.problems)
    redemption = Redemption(
        store=store,
        coupon=coupon,
        series_id=coupon.series_id,
        customer=found.customer,
        outlet=actor.outlet,
        api_key=actor.key,
        dialect=actor.vendor,
        transaction_number=transaction_number,
        order_value=order.order_value,
        discount_amount=verdict.discount,
        purchase_type=order.purchase_type,
        created_at=at,
    )
    event = audit.event(
        action="redeem",
        object_type="redemption",
        object_id=redemption.pk,
        store_id=store.pk,
        coupon_id=coupon.pk,
        customer_id=redemption.customer_id,
        series_id=coupon.series_id,
        changes={
            "order_value": order.order_value,
            "discount_amount": verdict.discount,
            "transaction_number": transaction_number,
        },
        actor=actor,
    )
    redeem_store.insert_redemption_and_count(redemption, event)
    coupon.redeemed_count += 1
    return redemption


def redemption_validate(
    *,
    store: Store,
    code: str,
    customer: CustomerRef | None = None,
    order: Order,
    at: datetime | None = None,
) -> Verdict:
    """What ``redemption_create`` would decide now, writing nothing and locking
    nothing (so a check never waits for a checkout): ``customer_not_found``, then
    ``coupon_not_found``, else the verdict with every problem, or the discount."""
    found = redeem_store.read_customer_and_coupon(
        store=store, customer=customer, code=code
    )
    coupon = _coupon(found, customer)
    return _verdict(coupon, found.customer, order, at or timezone.now())


@transaction.atomic
def redemption_rollback(
    *, store: Store, redemption_id: int, actor: Actor, at: datetime | None = None
) -> Redemption:
    """Mark the store's redemption rolled back and free the use it counted; its row
    stays, as history. Rolling back twice changes nothing and says so
    (``already_rolled_back``).

    Locks the coupon, then the redemption, as a redemption takes the coupon: of
    concurrent rollbacks of one redemption exactly one frees its use.
    """
    redemption = redeem_store.lock_coupon_and_redemption(
        store=store, redemption_id=redemption_id
    )
    if redemption is None:
        raise DomainError(errors.REDEMPTION_NOT_FOUND, "Redemption not found.")
    if redemption.rolled_back_at is not None:
        raise DomainError(
            errors.ALREADY_ROLLED_BACK,
            "This redemption was already rolled back; nothing changed.",
        )
    redemption.rolled_back_at = at or timezone.now()
    event = audit.event(
        action="rollback",
        object_type="redemption",
        object_id=redemption.pk,
        store_id=redemption.store_id,
        coupon_id=redemption.coupon_id,
        customer_id=redemption.customer_id,
        changes={"rolled_back_at": redemption.rolled_back_at},
        actor=actor,
    )
    redeem_store.mark_rolled_back_and_uncount(redemption, event)
    return redemption
