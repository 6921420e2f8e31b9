"""NewStore validation rules: their kinds, their stored form, and one set of them.

A definition or template stores its rules as NewStore writes them
(``{"label": "valid_from", "values": {"valid_from": "..."}}``), so a GET answers what
was sent. How a coupon's own rules combine with them is ``legacy.services``' business.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils.dateparse import parse_datetime

from core import errors as core_errors
from core import money
from core.errors import DomainError, FieldIssue
from core.timefmt import iso_millis_z

VALID_FROM = "valid_from"
VALID_TO = "valid_to"
CONSUMER = "restricted_to_consumer_id"
MINIMUM_TOTAL = "minimal_order_total_before_discount"

# Definitions take three kinds; templates and coupons also the minimal order total.
DEFINITION_KINDS = (VALID_FROM, VALID_TO, CONSUMER)
COUPON_KINDS = (*DEFINITION_KINDS, MINIMUM_TOTAL)


# What the NewStore API answers for an amount it refuses (legacy.api.newstore's
# MoneyField), for the staff's form to say the same.
NOT_POSITIVE = "Must be greater than 0."
NEGATIVE = "Must not be negative."
UNKNOWN_CURRENCY = "Must be a three-letter ISO 4217 code such as USD."


def amount_problem(amount: Decimal, currency: str, *, positive: bool) -> str | None:
    """Why ``amount`` of ``currency`` (a known one) cannot be a template's amount
    (``positive``) or a minimum order: below zero, zero for an amount, more decimals
    than the currency has, or more than ``core.money.MAX_MINOR``; None when it can."""
    if amount < 0 or (positive and amount == 0):
        return NOT_POSITIVE if positive else NEGATIVE
    try:
        money.to_minor(amount, currency)
    except money.MoneyError as exc:
        return f"{exc}."
    return None


def invalid(path: str, message: str) -> DomainError:
    """A 400 for one field, worded like a serializer error."""
    return DomainError(
        core_errors.INVALID_INPUT,
        f"Invalid request: {path}: {message}",
        fields=[FieldIssue(path=path, code="invalid", message=message)],
    )


@dataclass(frozen=True)
class Money:
    """NewStore's monetary amount object: ``{"amount": 12.5, "currency": "USD"}``."""

    amount: Decimal
    currency: str

    def __str__(self) -> str:
        return f"{money.json_number(self.amount)} {self.currency}"

    @property
    def minor_units(self) -> int:
        """In the currency's smallest unit (core.money: ¥500 is 500, €5 is 500)."""
        return money.to_minor(self.amount, self.currency)

    def to_json(self) -> dict[str, Any]:
        return {"amount": money.json_number(self.amount), "currency": self.currency}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Money:
        return cls(Decimal(str(data["amount"])), data["currency"])


@dataclass(frozen=True)
class Rule:
    """One validation rule: a kind and its value (a datetime, a consumer id, Money)."""

    kind: str
    value: datetime | str | Money

    def to_json(self) -> dict[str, Any]:
        if self.kind in (VALID_FROM, VALID_TO):
            values: dict[str, Any] = {self.kind: iso_millis_z(self.value)}
        elif self.kind == CONSUMER:
            values = {"consumer_id": self.value}
        else:
            values = self.value.to_json()
        return {"label": self.kind, "values": values}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rule:
        """A stored rule (written by ``to_json``, so trusted)."""
        kind, values = data["label"], data["values"]
        if kind in (VALID_FROM, VALID_TO):
            return cls(kind, parse_datetime(values[kind]))
        if kind == CONSUMER:
            return cls(kind, values["consumer_id"])
        return cls(kind, Money.from_json(values))


@dataclass(frozen=True)
class RuleSet:
    """At most one rule of each kind."""

    valid_from: datetime | None = None
    valid_to: datetime | None = None
    consumer_id: str | None = None
    minimum_total: Money | None = None

    @classmethod
    def of(cls, rules: Sequence[Rule], *, path: str = "validation_rules") -> RuleSet:
        """Check one list: each kind at most once, and a window that is not empty."""
        seen: dict[str, Any] = {}
        for index, rule in enumerate(rules):
            if rule.kind in seen:
                raise invalid(
                    f"{path}.{index}",
                    f"The rule '{rule.kind}' appears more than once.",
                )
            seen[rule.kind] = rule.value
        rule_set = cls(
            valid_from=seen.get(VALID_FROM),
            valid_to=seen.get(VALID_TO),
            consumer_id=seen.get(CONSUMER),
            minimum_total=seen.get(MINIMUM_TOTAL),
        )
        if (
            rule_set.valid_from is not None
            and rule_set.valid_to is not None
            and rule_set.valid_from > rule_set.valid_to
        ):
            raise invalid(path, "valid_from must not be after valid_to.")
        return rule_set

    @classmethod
    def stored(cls, data: list[dict[str, Any]]) -> RuleSet:
        return cls.of([Rule.from_json(item) for item in data or []])
