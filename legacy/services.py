"""Writes of the legacy app: NewStore definitions and templates, and their coupons.

A legacy coupon is a core coupon (``coupons.services.coupon_create``) whose code comes
from its definition's regex ``pattern`` and whose rules come from the definition's
validation rules combined with the coupon's own:

- ``valid_from`` -> ``usable_at``; ``valid_to`` -> ``expires_at``;
- ``restricted_to_consumer_id`` -> ``usable_by_customer`` (a customer of the store
  whose ``external_id``, else whose id, is the consumer id);
- ``minimal_order_total_before_discount`` -> ``minimum_order_value`` (in the
  currency's smallest unit, ``core.money``);
- ``max_redemptions`` -> the store-wide redeem limit; a template's ``amount`` (or the
  coupon's) -> an ``amount`` discount (smallest unit too: ¥500 is 500, €5 is 500).

Combining: a coupon may only narrow what its definition allows (``_combined``).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import flake, rows
from core.errors import DomainError
from core.money import MoneyError
from core.timefmt import iso_millis_z
from coupons import errors as coupon_errors
from coupons import typed_codes
from coupons.models import Coupon, DiscountType, Origin, Redemption
from coupons.services import Actor, coupon_create, coupon_update, typed_shapes
from customers.models import Customer
from customers.selectors import customer_find
from legacy import errors, selectors
from legacy.models import Kind, LegacyDefinition
from legacy.patterns import CodePattern, PatternError, compile_pattern
from legacy.rules import (
    CONSUMER,
    COUPON_KINDS,
    DEFINITION_KINDS,
    MINIMUM_TOTAL,
    Money,
    Rule,
    RuleSet,
    invalid,
)
from stores.models import Store

# Random candidates checked in one query before counting the taken codes exactly.
PROBES = 16
# Rounds of PROBES draws while too few are readable (a store with check-character
# series: a pattern of its shape's length is mostly codes that read as typos).
PROBE_ROUNDS = 20
# Free numbers a nearly full space's walk looks at for a readable code.
WALK_CAP = 100_000
# A code picked free can be taken by a concurrent writer outside the definition's
# lock (another definition with an overlapping pattern, or another dialect).
MAX_ATTEMPTS = 5
CHANNEL_TYPES = ("web", "mobile", "mobile_ios", "mobile_android", "store")
MAX_CHANNEL_TYPES = 5

_KINDS_ALLOWED = {Kind.DEFINITION: DEFINITION_KINDS, Kind.TEMPLATE: COUPON_KINDS}


def _noun(definition: LegacyDefinition) -> str:
    return f"coupon {definition.kind}"


def _conflict(message: str) -> DomainError:
    return DomainError(errors.RULE_CONFLICT, message)


def _compiled(pattern: str) -> CodePattern:
    try:
        return compile_pattern(pattern)
    except PatternError as exc:
        message = f"Invalid or unsupported pattern: {exc.message}."
        raise invalid("pattern", message) from exc


def _consumer(store: Store, consumer_id: str) -> Customer | None:
    """NewStore's consumer id is the customer's ``external_id``, else its own id."""
    customer = customer_find(store=store, external_id=consumer_id)
    if customer is None and flake.parse(consumer_id) is not None:
        customer = customer_find(store=store, customer_id=flake.parse(consumer_id))
    return customer


def _known_consumer(store: Store, consumer_id: str, path: str) -> Customer:
    customer = _consumer(store, consumer_id)
    if customer is None:
        raise invalid(
            path,
            f"No customer of this store has the id or external_id {consumer_id!r}.",
        )
    return customer


def _check_money(store: Store, money: Money, path: str) -> None:
    if money.currency != store.currency:
        raise invalid(
            path, f"The currency must be the store's currency, {store.currency}."
        )


def _check_rules(
    store: Store, rules: Sequence[Rule], allowed: Sequence[str], owner: str
) -> RuleSet:
    """One list of rules, checked on its own: kinds, repeats, window, references."""
    rule_set = RuleSet.of(rules)
    for index, rule in enumerate(rules):
        path = f"validation_rules.{index}"
        if rule.kind not in allowed:
            raise invalid(path, f"The rule '{rule.kind}' is not allowed on a {owner}.")
        if rule.kind == MINIMUM_TOTAL:
            _check_money(store, rule.value, f"{path}.values.currency")
        if rule.kind == CONSUMER:
            _known_consumer(store, rule.value, f"{path}.values.consumer_id")
    return rule_set


# --- definitions and templates -------------------------------------------------------


def _label_taken(definition: LegacyDefinition) -> bool:
    others = LegacyDefinition.objects.for_store(definition.store_id).filter(
        label=definition.label
    )
    if definition.pk is not None:
        others = others.exclude(pk=definition.pk)
    return others.exists()


def _label_taken_error(label: str) -> DomainError:
    return DomainError(
        errors.LABEL_TAKEN,
        f"The label {label!r} is already used by a coupon definition or template "
        "in this store.",
    )


def _save(
    definition: LegacyDefinition, *, update_fields: list[str] | None = None
) -> LegacyDefinition:
    """Save (with ``update_fields``: an UPDATE of those columns of the locked row);
    the unique (store, label) constraint decides when two writers race."""
    if _label_taken(definition):
        raise _label_taken_error(definition.label)
    try:
        with transaction.atomic():
            definition.save(update_fields=update_fields)
    except IntegrityError as exc:
        if _label_taken(definition):
            raise _label_taken_error(definition.label) from exc
        raise
    return definition


def _assign(
    definition: LegacyDefinition,
    *,
    label: str,
    pattern: str,
    validation_rules: Sequence[Rule] | None,
    discount_rule_id: str | None,
    channel_types: Sequence[str] | None,
    max_redemptions: int | None,
    amount: Money | None,
) -> None:
    store = definition.store
    if not label.strip():
        raise invalid("label", "This field may not be blank.")
    _compiled(pattern)
    rules = list(validation_rules or [])
    _check_rules(store, rules, _KINDS_ALLOWED[definition.kind], _noun(definition))
    channels = list(channel_types or [])
    if len(channels) > MAX_CHANNEL_TYPES or set(channels) - set(CHANNEL_TYPES):
        raise invalid(
            "channel_types",
            f"At most {MAX_CHANNEL_TYPES} of: {', '.join(CHANNEL_TYPES)}.",
        )
    if max_redemptions is not None and max_redemptions < 1:
        raise invalid("max_redemptions", "Must be at least 1.")
    if amount is not None:
        _check_money(store, amount, "amount.currency")
    definition.label = label
    definition.pattern = pattern
    definition.validation_rules = [rule.to_json() for rule in rules]
    definition.discount_rule_id = discount_rule_id or ""
    definition.channel_types = channels
    definition.max_redemptions = max_redemptions
    definition.amount = amount.amount if amount else None
    definition.amount_currency = amount.currency if amount else ""


@transaction.atomic
def legacy_definition_create(
    *,
    store: Store,
    kind: str,
    label: str,
    pattern: str,
    validation_rules: Sequence[Rule] | None = None,
    discount_rule_id: str | None = None,
    channel_types: Sequence[str] | None = None,
    max_redemptions: int | None = None,
    amount: Money | None = None,
) -> LegacyDefinition:
    """Create a definition or template; its label is unique among both in the store.

    The pattern is compiled here, so a pattern that cannot generate codes is refused
    before anything is saved.
    """
    definition = LegacyDefinition(store=store, kind=kind)
    _assign(
        definition,
        label=label,
        pattern=pattern,
        validation_rules=validation_rules,
        discount_rule_id=discount_rule_id,
        channel_types=channel_types,
        max_redemptions=max_redemptions,
        amount=amount,
    )
    return _save(definition)


@transaction.atomic
def legacy_definition_update(
    *,
    definition: LegacyDefinition,
    label: str,
    pattern: str,
    validation_rules: Sequence[Rule] | None = None,
    discount_rule_id: str | None = None,
    channel_types: Sequence[str] | None = None,
    max_redemptions: int | None = None,
    amount: Money | None = None,
) -> LegacyDefinition:
    """Overwrite every field (what is not given is cleared).

    Coupons already made keep the rules they were made with; the new values apply to
    coupons made from now on.
    """
    current = rows.lock(
        LegacyDefinition.objects.all(),
        pk=definition.pk,
        missing=DomainError(*selectors.NOT_FOUND[definition.kind]),
    )
    current.store = definition.store
    _assign(
        current,
        label=label,
        pattern=pattern,
        validation_rules=validation_rules,
        discount_rule_id=discount_rule_id,
        channel_types=channel_types,
        max_redemptions=max_redemptions,
        amount=amount,
    )
    return _save(current)


# The fields staff edit in the admin (``legacy_definition_change``).
STAFF_FIELDS = (
    "label",
    "pattern",
    "validation_rules",
    "discount_rule_id",
    "channel_types",
    "max_redemptions",
    "amount",
    "amount_currency",
)


def stored_rules(data: object) -> list[Rule]:
    """Validation rules in their stored JSON form (as the admin edits them), each
    checked to be one: ``[{"label": ..., "values": {...}}, ...]``."""
    if data in (None, ""):
        return []
    if not isinstance(data, list):
        raise invalid("validation_rules", "A list of rules is expected.")
    rules = []
    for index, item in enumerate(data):
        try:
            rule = Rule.from_json(item)
        except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError):
            rule = None
        if rule is None or rule.value is None:
            raise invalid(
                f"validation_rules.{index}",
                'Not a rule: {"label": "<kind>", "values": {...}} expected.',
            )
        rules.append(rule)
    return rules


def staff_values(values: dict[str, Any]) -> dict[str, Any]:
    """The admin's fields (``STAFF_FIELDS``) as the services take them: rules
    parsed, the amount and its currency as one ``Money``."""
    amount = values.get("amount")
    return {
        "label": values.get("label") or "",
        "pattern": values.get("pattern") or "",
        "validation_rules": stored_rules(values.get("validation_rules")),
        "discount_rule_id": values.get("discount_rule_id") or "",
        "channel_types": values.get("channel_types") or [],
        "max_redemptions": values.get("max_redemptions"),
        "amount": (
            None
            if amount is None
            else Money(amount, values.get("amount_currency") or "")
        ),
    }


@transaction.atomic
def legacy_definition_change(
    *, definition: LegacyDefinition, changes: dict[str, Any]
) -> LegacyDefinition:
    """Staff's edit: the fields in ``changes`` (``STAFF_FIELDS``, in the model's
    form), on the definition as it is now.

    The row is locked and read again, so what an API request changed meanwhile in
    the other fields stays; the result is checked as a whole, as the API checks it;
    only the fields whose value changes are written. A definition deleted meanwhile
    is ``*_not_found``, a label taken meanwhile ``label_taken``.
    """
    current = rows.lock(
        LegacyDefinition.objects.all(),
        pk=definition.pk,
        missing=DomainError(*selectors.NOT_FOUND[definition.kind]),
    )
    before = {name: getattr(current, name) for name in STAFF_FIELDS}
    values = {**before, **{k: v for k, v in changes.items() if k in STAFF_FIELDS}}
    _assign(current, **staff_values(values))
    changed = [name for name in STAFF_FIELDS if getattr(current, name) != before[name]]
    if not changed:
        return current
    return _save(current, update_fields=[*changed, "updated_at"])


@transaction.atomic
def legacy_definition_delete(*, definition: LegacyDefinition, actor: Actor) -> None:
    """Delete a definition none of whose coupons was ever redeemed.

    Its coupons (all unused then) are disabled and keep their code, label and UUID.
    Their row locks are taken first, in id order (the checkouts' order: a receive of
    two of them would deadlock with locks taken in heap order), so a redemption in
    flight either commits before (and the check below sees it: 409) or waits and then
    finds the coupon disabled. A rolled-back redemption still counts as a use.
    """
    current = rows.lock(
        LegacyDefinition.objects.all(),
        pk=definition.pk,
        missing=DomainError(*selectors.NOT_FOUND[definition.kind]),
    )
    now = timezone.now()
    coupons = Coupon.objects.filter(legacy_definition=current)
    list(coupons.order_by("id").select_for_update().values_list("id", flat=True))
    coupons.update(
        enabled=False,
        updated_by_type=actor.type,
        updated_by_id=actor.id,
        updated_at=now,
    )
    if Redemption.objects.filter(coupon__legacy_definition=current).exists():
        raise DomainError(
            errors.DEFINITION_IN_USE,
            f"The coupon definition {current.label!r} cannot be deleted: a coupon "
            "created from it has been redeemed.",
        )
    current.delete()


# --- coupons -------------------------------------------------------------------------


def _narrower_start(base: datetime | None, own: datetime | None, noun: str):
    if own is None:
        return base
    if base is not None and own < base:
        raise _conflict(
            f"valid_from {iso_millis_z(own)} is before the {noun}'s valid_from "
            f"{iso_millis_z(base)}: a coupon can only narrow its {noun}'s rules."
        )
    return own


def _narrower_end(base: datetime | None, own: datetime | None, noun: str):
    if own is None:
        return base
    if base is not None and own > base:
        raise _conflict(
            f"valid_to {iso_millis_z(own)} is after the {noun}'s valid_to "
            f"{iso_millis_z(base)}: a coupon can only narrow its {noun}'s rules."
        )
    return own


def _combined(
    store: Store, source: LegacyDefinition, rules: Sequence[Rule]
) -> dict[str, Any]:
    """The core coupon's fields from the source's rules and the coupon's own.

    Each kind: the coupon's rule overrides the source's when it narrows it, else it
    is a conflict (409). ``valid_from`` may only move later, ``valid_to`` earlier, the
    minimal order total up; a consumer restriction may be added, or repeated for the
    same customer, never changed. The combined window must not be empty.
    """
    own = _check_rules(store, rules, COUPON_KINDS, "coupon")
    base = RuleSet.stored(source.validation_rules)
    noun = _noun(source)
    usable_at = _narrower_start(base.valid_from, own.valid_from, noun)
    expires_at = _narrower_end(base.valid_to, own.valid_to, noun)
    if usable_at is not None and expires_at is not None and usable_at > expires_at:
        raise _conflict(
            f"The combined validity window is empty: valid_from "
            f"{iso_millis_z(usable_at)} is after valid_to {iso_millis_z(expires_at)}."
        )
    customer = _consumer(store, own.consumer_id) if own.consumer_id else None
    if base.consumer_id is not None:
        base_customer = _consumer(store, base.consumer_id)
        if base_customer is None:
            raise _conflict(
                f"The {noun}'s restricted_to_consumer_id {base.consumer_id!r} names "
                "no customer of this store any more."
            )
        if customer is not None and customer.pk != base_customer.pk:
            raise _conflict(
                f"The coupon is restricted to consumer {own.consumer_id!r} but its "
                f"{noun} to consumer {base.consumer_id!r}."
            )
        customer = base_customer
    minimum = own.minimum_total or base.minimum_total
    if (
        own.minimum_total is not None
        and base.minimum_total is not None
        and own.minimum_total.amount < base.minimum_total.amount
    ):
        raise _conflict(
            f"{MINIMUM_TOTAL} {own.minimum_total} is below the {noun}'s "
            f"{base.minimum_total}: a coupon can only raise it."
        )
    return {
        "usable_at": usable_at,
        "expires_at": expires_at,
        "usable_by_customer_id": customer.pk if customer else None,
        "minimum_order_value": (
            0
            if minimum is None
            else minimum.minor_units
            if minimum is own.minimum_total
            else _stored_minor(source, MINIMUM_TOTAL, minimum)
        ),
    }


def _stored_minor(source: LegacyDefinition, what: str, stored: Money) -> int:
    """A money value stored on the source, in the smallest unit. One the API would
    refuse (stored by the admin before it applied the API's rules: ¥500.5, -5) is a
    409 naming it, as a stored pattern that cannot generate codes is."""
    try:
        if stored.amount < 0 or (what == "amount" and stored.amount == 0):
            raise MoneyError(
                "it is not above 0" if what == "amount" else "it is negative"
            )
        return stored.minor_units
    except MoneyError as exc:
        raise _conflict(
            f"The {what} {stored} of the {_noun(source)} {source.label!r} cannot be "
            f"used ({exc}); update it."
        ) from exc


def _discount(
    store: Store,
    source: LegacyDefinition,
    amount: Money | None,
    discount_rule_id: str | None,
) -> dict[str, Any]:
    """The source's amount, or the coupon's when the source has none (never both)."""
    if amount is not None:
        _check_money(store, amount, "amount.currency")
    base = (
        Money(source.amount, source.amount_currency)
        if source.amount is not None
        else None
    )
    if amount is not None and base is not None and amount != base:
        raise _conflict(
            f"The amount {amount} cannot override the {_noun(source)}'s amount {base}."
        )
    chosen = base or amount
    if chosen is None:
        if not source.discount_rule_id and not discount_rule_id:
            raise invalid(
                "amount",
                f"Required: the {_noun(source)} has neither an amount nor a "
                "discount_rule_id, and the request gives neither.",
            )
        return {}
    minor = (
        chosen.minor_units if base is None else _stored_minor(source, "amount", base)
    )
    return {"discount_type": DiscountType.AMOUNT, "discount_amount": minor}


def _free_code(
    store: Store,
    pattern: CodePattern,
    source: LegacyDefinition,
    shapes: Sequence[typed_codes.Shape] = (),
) -> str:
    """A code of ``pattern`` that no coupon of the store holds (any letter case;
    ``Coupon.objects.holding_codes``: live, or archived and held for its holders)
    and that no lookup would read as a mistyped code of the store's check-character
    series (``shapes``; ``typed_codes.reserved_by``, which ``coupon_create`` refuses).

    First ``PROBES`` random readable codes (drawn again, at most ``PROBE_ROUNDS``
    times, while too few are readable) are checked in one query; when all are taken
    the space is nearly full, so the taken codes of the pattern are read and
    numbered, and the free numbers are walked from a random one to the first
    readable code, or the space is exhausted (409).
    """

    def readable(folded: str) -> str | None:
        code = pattern.code_for(folded)
        return code if typed_codes.reserved_by(code, shapes) is None else None

    if pattern.size <= PROBES:
        draws = [secrets.SystemRandom().sample(range(pattern.size), pattern.size)]
    else:
        draws = (
            {secrets.randbelow(pattern.size) for _ in range(PROBES)}
            for _ in range(PROBE_ROUNDS if shapes else 1)
        )
    candidates: dict[str, str] = {}
    for numbers in draws:
        for number in numbers:
            folded = pattern.folded_at(number)
            if (code := readable(folded)) is not None:
                candidates[folded] = code
        if len(candidates) >= PROBES:
            break
    taken = selectors.taken_codes(store=store, folded=list(candidates))
    for folded, code in candidates.items():
        if folded not in taken:
            return code
    used = {
        number
        for code in selectors.taken_codes_like(
            store=store,
            prefix=pattern.prefix,
            min_length=pattern.min_length,
            max_length=pattern.max_length,
        )
        if (number := pattern.index_of(code)) is not None
    }
    free = pattern.size - len(used)
    # The free numbers from a random one on (wrapping), to the first readable code.
    number, looked = secrets.randbelow(pattern.size), 0
    while looked < min(free, WALK_CAP):
        if number not in used:
            looked += 1
            if (code := readable(pattern.folded_at(number))) is not None:
                return code
        number = (number + 1) % pattern.size
    unreadable = " or read as mistyped check-character codes" if looked else ""
    raise DomainError(
        errors.CODE_SPACE_EXHAUSTED,
        f"All {pattern.size} codes of the pattern {pattern.source!r} of the "
        f"{_noun(source)} {source.label!r} are in use in this store{unreadable}; "
        "give it a pattern with more codes.",
    )


@transaction.atomic
def legacy_coupon_create(
    *,
    store: Store,
    actor: Actor,
    template_label: str,
    label: str | None = None,
    validation_rules: Sequence[Rule] | None = None,
    amount: Money | None = None,
    discount_rule_id: str | None = None,
) -> Coupon:
    """Create a coupon from the definition or template labelled ``template_label``.

    The definition's row is locked, so concurrent creates from one definition take
    turns and each sees the codes the previous ones took: the exhaustion count is
    exact. ``discount_rule_id`` only stands in for a discount rule (NewStore's
    discount rules are not kept here).
    """
    source = selectors.legacy_definition_by_label(
        store=store, label=template_label, lock=True
    )
    values = {
        **_combined(store, source, list(validation_rules or [])),
        **_discount(store, source, amount, discount_rule_id),
        "redeem_limit_store_enabled": source.max_redemptions is not None,
        "redeem_limit_store_amount": source.max_redemptions or 0,
    }
    try:
        pattern = compile_pattern(source.pattern)
    except PatternError as exc:  # stored before a stricter check, or edited by staff
        raise DomainError(
            errors.RULE_CONFLICT,
            f"The pattern of the {_noun(source)} {source.label!r} cannot generate "
            f"codes ({exc.message}); update it with a supported pattern.",
        ) from exc
    shapes = typed_shapes(store.pk)
    for _ in range(MAX_ATTEMPTS):
        code = _free_code(store, pattern, source, shapes)
        try:
            return coupon_create(
                store=store,
                actor=actor,
                provenance={
                    "origin": Origin.GENERATED,
                    "legacy_definition_id": source.pk,
                    "legacy_uuid": uuid.uuid4(),
                    "legacy_label": label or "",
                },
                code=code,
                enabled=True,
                **values,
            )
        except DomainError as exc:
            if exc.reason != coupon_errors.CODE_TAKEN:
                raise
    raise DomainError(
        coupon_errors.CODE_TAKEN,
        "Concurrent requests took every free code picked for this coupon; try again.",
    )


@transaction.atomic
def legacy_coupon_update(
    *,
    coupon: Coupon,
    actor: Actor,
    enabled: bool | None = None,
    validation_rules: Sequence[Rule] | None = None,
) -> Coupon:
    """Enable or disable a coupon, and/or replace its own validation rules.

    The rules given replace the coupon's own and are combined again with its
    definition's current rules (``_combined``). A coupon whose definition was deleted
    can only be disabled. Locks the definition, then the coupon (as delete does).
    """
    changes: dict[str, Any] = {}
    source = (
        LegacyDefinition.objects.select_for_update()
        .filter(pk=coupon.legacy_definition_id)
        .first()
        if coupon.legacy_definition_id is not None
        else None
    )
    if source is None and (validation_rules is not None or enabled):
        raise DomainError(
            errors.DEFINITION_DELETED,
            "The coupon definition of this coupon was deleted; the coupon can only "
            "be disabled.",
        )
    if source is not None and validation_rules is not None:
        changes.update(_combined(coupon.store, source, list(validation_rules)))
    if enabled is not None:
        changes["enabled"] = enabled
    if not changes:
        return coupon
    return coupon_update(coupon=coupon, actor=actor, **changes)
