"""Redeeming a code: ``redemption_create``, ``redemption_rollback``, and
``redemption_validate`` (the same check, writing nothing); several codes on one
cart: ``redemptions_create`` and ``redemptions_validate``; holds (a use reserved
for a time): ``hold_create``, ``hold_release``, and ``redemption_create`` with a
``hold_id``.

Lock order, the one every checkout takes: the customer (FOR NO KEY UPDATE) -> the
coupon (FOR UPDATE), both before any rule is read; several codes: the customer ->
their coupons in id order; a rollback: the coupon -> the redemption. A hold is
made as a redemption (customer -> coupon, then its live holds counted and the hold
inserted); converted by a redemption (customer -> coupon -> the hold); released
as a rollback (coupon -> hold). A live hold counts as a use in the limit checks
(``decide.Usage.store_held``/``customer_held``), read after the coupon's lock, so
holds and redemptions of one coupon queue up on its row and each sees the
previous one's; an expired hold counts for nothing from its ``expires_at`` on.
The rules are ``coupons.redeem.decide``'s, the SQL
``coupons.redeem.store``'s; this module opens the transaction and calls them in
order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from assignments.receive import decide as receive_decide
from audit import services as audit
from audit.models import AuditEvent
from core import metrics
from core.actors import Actor
from core.errors import DomainError, FieldIssue, invalid_input
from coupons import errors, typos
from coupons.codes import fold_code
from coupons.errors import Refusal
from coupons.models import Coupon, Hold, HoldState, Redemption, RedemptionLine
from coupons.redeem import cart, decide, returns
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
    coupon: Coupon, found: redeem_store.Found, order: Order, at: datetime
) -> Verdict:
    """The rules' verdict on this coupon for the customer found and this order,
    with the customer's use of it read now (under the locks, when redeeming) and
    the live holds read with the locks (``Found.held``)."""
    customer = found.customer
    customer_id = customer.id if customer is not None else None
    usage = redeem_store.read_usage(
        [coupon], customer_id=customer_id, at=at, held=found.held
    )[coupon.id]
    return decide.decide(
        decide.Attempt(
            terms=decide.Terms.of(coupon),
            customer_id=customer_id,
            order=order,
            usage=usage,
            at=at,
        )
    )


def _same_currency(store: Store, order: Order) -> None:
    """A cart is in the store's currency (its amounts in that currency's smallest
    unit, ``core.money``): ``currency_mismatch`` otherwise."""
    if order.currency is not None and order.currency != store.currency:
        message = f"The order's currency must be the store's ({store.currency})."
        raise DomainError(
            errors.CURRENCY_MISMATCH,
            message,
            fields=[FieldIssue("order.currency", errors.CURRENCY_MISMATCH, message)],
        )


def _lines(
    store: Store, redemption: Redemption, order: Order, verdict: Verdict
) -> list[RedemptionLine]:
    """The cart's lines as the redemption records them, each with its discount."""
    if order.lines is None:
        return []
    discounts = dict(verdict.lines)
    return [
        RedemptionLine(
            store=store,
            redemption=redemption,
            line_id=line.id,
            product_id=line.product_id,
            tag_ids=[str(tag) for tag in line.tag_ids],
            quantity=line.quantity,
            unit_price=line.unit_price,
            sale_unit_price=line.sale_unit_price,
            discount=discounts[line.id],
        )
        for line in order.lines
    ]


def _redemption(
    *,
    store: Store,
    coupon: Coupon,
    customer: Customer | None,
    order: Order,
    verdict: Verdict,
    actor: Actor,
    transaction_number: str | None,
    at: datetime,
) -> tuple[Redemption, AuditEvent, list[RedemptionLine]]:
    """A redemption, its audit event and its lines, to write."""
    redemption = Redemption(
        store=store,
        coupon=coupon,
        series_id=coupon.series_id,
        customer=customer,
        outlet=actor.outlet,
        api_key=actor.key,
        dialect=actor.vendor,
        transaction_number=transaction_number,
        order_value=order.order_value,
        discount_amount=verdict.discount,
        purchase_type=order.purchase_type,
        created_at=at,
    )
    changes = {
        "order_value": order.order_value,
        "discount_amount": verdict.discount,
        "transaction_number": transaction_number,
    }
    if order.lines is not None:
        changes["lines"] = [{"id": i, "discount": d} for i, d in verdict.lines]
    event = audit.event_of(
        redemption,
        object_type="redemption",
        action="redeem",
        series_id=coupon.series_id,
        changes=changes,
        actor=actor,
    )
    return redemption, event, _lines(store, redemption, order, verdict)


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
    hold_id: int | None = None,
) -> Redemption:
    """Redeem a code for an order: check every rule and count the use, atomically.

    With ``hold_id`` (a hold of this coupon, ``hold_not_found`` otherwise) the
    hold's use becomes the redemption's: the hold is locked after the coupon, its
    own use is not counted against the limits, and it is marked redeemed with the
    redemption. A hold past its ``expires_at`` (or tidied as expired) is ignored:
    the call is a plain redemption. A hold already redeemed or released is
    ``hold_redeemed``/``hold_released`` (409), nothing written.

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
    _same_currency(store, order)
    found = redeem_store.lock_customer_and_coupon(
        store=store,
        customer=customer,
        code=typos.checked_code(store=store, code=code),
        moment=redeem_store.Moment(at=at, converting=hold_id),
    )
    coupon = _coupon(found, customer)
    hold = None if hold_id is None else _held(coupon, found.customer, hold_id, at)
    verdict = _verdict(coupon, found, order, at)
    if not verdict.valid:
        raise _refused(verdict.problems)
    redemption, event, lines = _redemption(
        store=store,
        coupon=coupon,
        customer=found.customer,
        order=order,
        verdict=verdict,
        actor=actor,
        transaction_number=transaction_number,
        at=at,
    )
    redeem_store.insert_redemption_and_count(redemption, event, lines)
    coupon.redeemed_count += 1
    if hold is not None:
        hold.state, hold.updated_at = HoldState.REDEEMED, at
        hold.redemption = redemption
        redeem_store.mark_hold(hold)
    metrics.count_on_commit(store_code=store.code, operation=metrics.REDEEM)
    return redemption


def _held(
    coupon: Coupon, customer: Customer | None, hold_id: int, at: datetime
) -> Hold | None:
    """The hold a redemption converts, locked after the coupon (None: it has ended,
    and the redemption is a plain one). Another coupon's or customer's hold is
    ``hold_not_found``; one redeemed or released is a 409."""
    hold = redeem_store.lock_coupon_hold(coupon=coupon, hold_id=hold_id)
    customer_id = customer.id if customer is not None else None
    if hold is None or hold.customer_id != customer_id:
        raise DomainError(errors.HOLD_NOT_FOUND, "Hold not found.")
    _refuse_spent(hold)
    live = decide.hold_live(state=hold.state, expires_at=hold.expires_at, at=at)
    return hold if live else None


def _refuse_spent(hold: Hold) -> None:
    """A locked hold that gave its use away already, redeemed or released, is
    ``hold_redeemed``/``hold_released`` (409), whether or not it has ended."""
    if hold.state == HoldState.REDEEMED:
        raise DomainError(errors.HOLD_REDEEMED, "This hold was already redeemed.")
    if hold.state == HoldState.RELEASED:
        raise DomainError(errors.HOLD_RELEASED, "This hold was already released.")


@dataclass(frozen=True)
class Held:
    """A hold made, with the rules' verdict (its discount, per line for a cart)."""

    hold: Hold
    verdict: Verdict


@transaction.atomic
def hold_create(
    *,
    store: Store,
    code: str,
    customer: CustomerRef | None = None,
    order: Order,
    ttl_seconds: int,
    actor: Actor,
    at: datetime | None = None,
) -> Held:
    """Hold one use of a code for ``ttl_seconds``: the rules of ``redemption_create``
    (``hold_refused`` with every problem, as validate gives them), then a hold that
    counts as a use until it is redeemed, released or ends; and, while its customer
    has not received the coupon, a unit of its receive stock (``out_of_stock``
    when none is left: ``_stock_problems``).

    Locks as a redemption does (the customer, then the coupon, one round trip),
    then counts the live holds: concurrent holds, redemptions and receives of one
    coupon queue up on its row, so together they never pass a limit or the stock."""
    at = at or timezone.now()
    _same_currency(store, order)
    found = redeem_store.lock_customer_and_coupon(
        store=store,
        customer=customer,
        code=typos.checked_code(store=store, code=code),
        moment=redeem_store.Moment(at=at),
        stock=True,
    )
    coupon = _coupon(found, customer)
    verdict = _verdict(coupon, found, order, at)
    problems = [*verdict.problems, *_stock_problems(coupon, found, verdict)]
    if problems:
        raise DomainError(
            errors.HOLD_REFUSED,
            "The coupon cannot be held: "
            + "; ".join(problem.message for problem in problems),
            fields=[FieldIssue("code", p.code, p.message) for p in problems],
            details={"problems": problems},
        )
    hold = Hold(
        store=store,
        coupon=coupon,
        customer=found.customer,
        expires_at=at + timedelta(seconds=ttl_seconds),
        order_value=order.order_value,
        discount_amount=verdict.discount,
        created_by_type=actor.type,
        created_by_id=actor.id,
        created_at=at,
    )
    event = audit.event_of(
        hold,
        object_type="hold",
        action="hold",
        series_id=coupon.series_id,
        changes={"expires_at": hold.expires_at, "discount_amount": verdict.discount},
        actor=actor,
    )
    redeem_store.insert_hold(hold, event)
    return Held(hold=hold, verdict=verdict)


NO_STOCK = Problem(
    Refusal.OUT_OF_STOCK, "No stock is left: every unit was received or is held."
)


def _stock_problems(
    coupon: Coupon, found: redeem_store.Found, verdict: Verdict
) -> list[Problem]:
    """A hold takes a unit of the coupon's receive stock while its customer has not
    received the coupon (issue 20: a hold counts against a Shoplazza stock), read
    with the locks (``Found.stock``): ``out_of_stock`` when none is left. One limit
    gives one reason: none when its use is gone already (``store_limit_reached``)."""
    if any(p.code == Refusal.STORE_LIMIT_REACHED for p in verdict.problems):
        return []
    held = found.stock.get(coupon.id, redeem_store.StockHeld())
    refused = receive_decide.hold_takes_last_unit(
        coupon.redeem_limit_store_amount if coupon.redeem_limit_store_enabled else None,
        received=coupon.received_count,
        held=held.taken,
        holder_received=held.received,
    )
    return [NO_STOCK] if refused else []


@transaction.atomic
def hold_release(
    *, store: Store, hold_id: int, actor: Actor, at: datetime | None = None
) -> Hold:
    """Release the store's active hold: its use is free at once. Locks the coupon,
    then the hold (as a rollback). An unknown hold is ``hold_not_found``; one that
    has ended (``hold_expired``), was redeemed or released already is a 409 and
    nothing changes."""
    at = at or timezone.now()
    hold = redeem_store.lock_hold(store=store, hold_id=hold_id)
    if hold is None:
        raise DomainError(errors.HOLD_NOT_FOUND, "Hold not found.")
    _refuse_spent(hold)
    if not decide.hold_live(state=hold.state, expires_at=hold.expires_at, at=at):
        raise DomainError(errors.HOLD_EXPIRED, "This hold has expired.")
    hold.state, hold.updated_at = HoldState.RELEASED, at
    event = audit.event_of(
        hold,
        object_type="hold",
        action="release",
        changes={"state": HoldState.RELEASED},
        actor=actor,
    )
    redeem_store.mark_hold(hold, event)
    return hold


def holds_expire(
    *, at: datetime | None = None, batch_size: int = 1000, dry_run: bool = False
) -> int:
    """Mark the active holds that ended by ``at`` expired, ``batch_size`` a
    transaction; the number marked (or, ``dry_run``, that would be). A tidy-up
    only: an ended hold counts for nothing already (``Hold.objects.live``)."""
    at = at or timezone.now()
    if dry_run:
        return Hold.objects.past_end(at=at).count()
    done = 0
    while True:
        with transaction.atomic():
            marked = redeem_store.expire_holds(before=at, limit=batch_size)
        done += marked
        if marked < batch_size:
            return done


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
    _same_currency(store, order)
    at = at or timezone.now()
    found = redeem_store.read_customer_and_coupon(
        store=store,
        customer=customer,
        code=typos.checked_code(store=store, code=code),
        moment=redeem_store.Moment(at=at),
    )
    coupon = _coupon(found, customer)
    return _verdict(coupon, found, order, at)


@dataclass(frozen=True)
class CodeVerdict:
    """One of several codes on a cart: its coupon (None: no coupon has the code)
    and the rules' verdict on it, after the codes before it."""

    code: str
    coupon: Coupon | None
    verdict: Verdict


NO_SUCH_CODE = Problem(Refusal.NOT_FOUND, "No coupon has this code.")


def _stacked(
    found: redeem_store.FoundMany,
    codes: Sequence[str],
    keys: Sequence[str | None],
    order: Order,
    at: datetime,
) -> list[CodeVerdict]:
    """Each code's verdict in the order given, each on what the valid codes before
    it left of the cart (``cart.after``); a code that fails takes nothing. ``keys``:
    each code as looked up (``typos.looked_up``), None for a mistyped one."""
    customer_id = found.customer.id if found.customer is not None else None
    usage = redeem_store.read_usage(
        list(found.coupons.values()),
        customer_id=customer_id,
        at=at,
        held=found.held,
    )
    lines = order.lines or ()
    verdicts = []
    for code, key in zip(codes, keys, strict=True):
        if key is None:
            verdicts.append(CodeVerdict(code, None, Verdict([typos.TYPO_PROBLEM])))
            continue
        coupon = found.coupons.get(fold_code(key))
        if coupon is None:
            verdicts.append(CodeVerdict(code, None, Verdict(problems=[NO_SUCH_CODE])))
            continue
        attempt = decide.Attempt(
            terms=decide.Terms.of(coupon),
            customer_id=customer_id,
            order=replace(order, lines=lines),
            usage=usage[coupon.id],
            at=at,
        )
        verdict = decide.decide(attempt)
        if verdict.valid:
            lines = cart.after(lines, cart.Split(verdict.lines))
        verdicts.append(CodeVerdict(code, coupon, verdict))
    return verdicts


EACH_CODE_ONCE = "Each code may appear once."


def _each_code_once(keys: Sequence[str | None]) -> None:
    """Two codes of a cart that read as one coupon (``SALE`` and ``sale``, or a
    check-character code typed two ways) are one code given twice: 400, as the
    coupon would otherwise be applied, and counted, once per spelling."""
    folded = [fold_code(key) for key in keys if key is not None]
    if len(set(folded)) != len(folded):
        raise invalid_input([FieldIssue("codes", "invalid", EACH_CODE_ONCE)])


def _customer_found(
    found: redeem_store.FoundMany, customer: CustomerRef | None
) -> None:
    if customer is not None and customer.given and found.customer is None:
        raise DomainError(customer_errors.CUSTOMER_NOT_FOUND, "Customer not found.")


def redemptions_validate(
    *,
    store: Store,
    codes: Sequence[str],
    customer: CustomerRef | None = None,
    order: Order,
    at: datetime | None = None,
) -> list[CodeVerdict]:
    """Several codes on one cart (``order.lines``), in the order given, each on what
    the ones before it left; a code that fails (or that no coupon has) is reported
    with its reasons and skipped. Writes and locks nothing."""
    keys, queried = typos.looked_up(store, codes)
    _each_code_once(keys)
    _same_currency(store, order)
    at = at or timezone.now()
    found = redeem_store.read_customer_and_coupons(
        store=store, customer=customer, codes=queried, at=at
    )
    _customer_found(found, customer)
    return _stacked(found, codes, keys, order, at)


@transaction.atomic
def redemptions_create(
    *,
    store: Store,
    codes: Sequence[str],
    customer: CustomerRef | None = None,
    order: Order,
    actor: Actor,
    transaction_number: str | None = None,
    at: datetime | None = None,
) -> list[Redemption]:
    """Redeem several codes on one cart: one redemption per code (with the cart's
    lines and its discount of each), all or none. A code that fails a rule, or that
    no coupon has, fails the whole call (``redemption_refused``, each problem's
    path ``codes.<n>``) and nothing is written.

    Locks the customer, then the coupons in id order (``lock_customer_and_coupons``),
    before any rule is read, as ``redemption_create`` does for one code."""
    at = at or timezone.now()
    keys, queried = typos.looked_up(store, codes)
    _each_code_once(keys)
    _same_currency(store, order)
    found = redeem_store.lock_customer_and_coupons(
        store=store, customer=customer, codes=queried, at=at
    )
    _customer_found(found, customer)
    verdicts = _stacked(found, codes, keys, order, at)
    failed = [
        (n, problem)
        for n, item in enumerate(verdicts)
        for problem in item.verdict.problems
    ]
    if failed:
        raise DomainError(
            errors.REDEMPTION_REFUSED,
            "The coupons cannot be redeemed: "
            + "; ".join(f"{verdicts[n].code}: {p.message}" for n, p in failed),
            fields=[FieldIssue(f"codes.{n}", p.code, p.message) for n, p in failed],
            details={"problems": [p for _n, p in failed]},
        )
    redemptions, events, lines = [], [], []
    for item in verdicts:
        redemption, event, its_lines = _redemption(
            store=store,
            coupon=item.coupon,
            customer=found.customer,
            order=order,
            verdict=item.verdict,
            actor=actor,
            transaction_number=transaction_number,
            at=at,
        )
        redemptions.append(redemption)
        events.append(event)
        lines.extend(its_lines)
    redeem_store.insert_redemptions_and_count(redemptions, events, lines)
    for item in verdicts:
        item.coupon.redeemed_count += 1
    metrics.count_on_commit(
        store_code=store.code, operation=metrics.REDEEM, n=len(redemptions)
    )
    return redemptions


@transaction.atomic
def redemption_rollback(
    *,
    store: Store,
    redemption_id: int,
    actor: Actor,
    at: datetime | None = None,
    lines: Sequence[tuple[str, int]] | None = None,
    amount: int | None = None,
) -> Redemption:
    """Mark the store's redemption rolled back and free the use it counted; its row
    stays, as history. Rolling back twice changes nothing and says so
    (``already_rolled_back``).

    With ``lines`` (line id, units) or ``amount`` (of the order's value) only that
    part is returned (``coupons.redeem.returns``): the discount shrinks by its
    share, and the use is freed by the return that completes the order; more than
    is left is ``over_return``, nothing changing.

    Locks the coupon, then the redemption, as a redemption takes the coupon: of
    concurrent rollbacks of one redemption exactly one frees its use, and
    concurrent returns queue up, each reading what the previous one left.
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
    if lines is not None or amount is not None:
        redemption = _partial_rollback(redemption, actor, at, lines, amount)
        if redemption.rolled_back_at is not None:  # this return completed the order
            metrics.count_on_commit(store_code=store.code, operation=metrics.ROLLBACK)
        return redemption
    redemption.rolled_back_at = at or timezone.now()
    event = audit.event_of(
        redemption,
        object_type="redemption",
        action="rollback",
        changes={"rolled_back_at": redemption.rolled_back_at},
        actor=actor,
    )
    redeem_store.mark_rolled_back_and_uncount(redemption, event)
    metrics.count_on_commit(store_code=store.code, operation=metrics.ROLLBACK)
    return redemption


def _partial_rollback(
    redemption: Redemption,
    actor: Actor,
    at: datetime | None,
    lines: Sequence[tuple[str, int]] | None,
    amount: int | None,
) -> Redemption:
    """A return of part of a locked redemption (``redemption_rollback``)."""
    held = redeem_store.read_lines(redemption) if lines is not None else []
    redeemed = returns.Redeemed(
        order_value=redemption.order_value,
        discount=redemption.discount_amount,
        value_returned=redemption.value_returned,
        discount_returned=redemption.discount_returned,
        lines=tuple(
            returns.Held(
                id=line.line_id,
                quantity=line.quantity,
                unit_pays=(
                    line.unit_price
                    if line.sale_unit_price is None
                    else line.sale_unit_price
                ),
                discount=line.discount,
                returned_quantity=line.returned_quantity,
                returned_discount=line.returned_discount,
            )
            for line in held
        ),
    )
    if lines is not None:
        outcome = returns.by_lines(redeemed, tuple(lines))
    else:
        outcome = returns.by_amount(redeemed, amount or 0)
    if not outcome.ok:
        path = "lines" if lines is not None else "amount"
        raise DomainError(
            outcome.problem,
            outcome.message,
            fields=[FieldIssue(path, outcome.problem, outcome.message)],
        )
    by_id = {line.line_id: line for line in held}
    for line_id, units, given in outcome.lines:
        by_id[line_id].returned_quantity += units
        by_id[line_id].returned_discount += given
    redemption.value_returned += outcome.value
    redemption.discount_returned += outcome.discount
    redemption.discount_amount -= outcome.discount
    if outcome.complete:
        redemption.rolled_back_at = at or timezone.now()
    event = audit.event_of(
        redemption,
        object_type="redemption",
        action="rollback" if outcome.complete else "return",
        changes={
            "value_returned": outcome.value,
            "discount_returned": outcome.discount,
            "lines": [
                {"id": line_id, "quantity": units, "discount": given}
                for line_id, units, given in outcome.lines
            ],
            "rolled_back_at": redemption.rolled_back_at,
        },
        actor=actor,
    )
    redeem_store.record_return(
        redemption,
        [by_id[line_id] for line_id, _u, _g in outcome.lines],
        event,
        uncount=outcome.complete,
    )
    return redemption
