"""A coupon's discount on a cart, line by line: the PayNow fields applied as they read.

Pure: plain values in (the coupon's ``Rate``, the cart's ``Line``s), per-line
discounts out, in the currency's smallest unit (integers: no float anywhere). The
redemption rules (``coupons.redeem.decide.split``) call ``split`` for every order;
several codes on one cart are several calls, each on what the previous ones left
(``Line.taken``).

The rules (the README's API section records them; ``tests/coupons/test_redeem_cart.py``
pins each):

1. Eligible lines: every line when the coupon names no products and no tags,
   otherwise the lines whose product is named or that carry a named tag.
2. What a line pays: ``sale_unit_price`` (when given) else ``unit_price``, times
   ``quantity``, less what earlier codes took (``Line.left``). A line's discount
   never exceeds that.
3. ``percent`` (x10): a line's discount is round-half-up(base x percent / 1000),
   base ``unit_price x quantity`` with ``apply_before_sales`` (the price before the
   sale), else what the line pays; then at most what it pays. A percent coupon's cap
   (``max_amount``, Capillary's discountUpto) is spread over the lines in proportion
   to their discounts (largest remainder).
4. ``amount`` ``individually``: the amount off each eligible unit, at most what the
   unit pays (``sale_unit_price`` else ``unit_price``), at most what the line pays;
   otherwise the amount once per order, at most what the eligible lines pay, spread
   over them in proportion to what each pays by the largest-remainder method, so the
   parts sum exactly to the whole. ``apply_before_sales`` does not change an amount.
5. Ties of the largest-remainder method go to the line with the smaller id, so the
   order the lines come in never changes a result.

This is the one place of the arithmetic: an order known only by its value (a
native order value, Capillary's transaction amount) is the cart of one line of one
unit paying it (``of_value``), so every dialect's discount, validated or redeemed,
is this module's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

PERCENT = "percent"
AMOUNT = "amount"
# The id of the one line of an order known only by its value (``of_value``).
ORDER_LINE = "order"


@dataclass(frozen=True)
class Line:
    """One cart line. Prices are per unit, in the smallest unit of the currency;
    ``taken`` is what earlier codes took off this line."""

    id: str
    quantity: int
    unit_price: int
    sale_unit_price: int | None = None
    product_id: int | None = None
    tag_ids: tuple[int, ...] = ()
    taken: int = 0

    @property
    def unit_pays(self) -> int:
        """What one unit costs before any coupon (the sale price when on sale)."""
        return self.unit_price if self.sale_unit_price is None else self.sale_unit_price

    @property
    def pays(self) -> int:
        """What the line costs before any coupon."""
        return self.unit_pays * self.quantity

    @property
    def left(self) -> int:
        """What the line still pays after earlier codes."""
        return self.pays - self.taken


@dataclass(frozen=True)
class Rate:
    """What a coupon takes off: its discount fields, as plain values."""

    kind: str  # PERCENT, AMOUNT, or anything else (no discount)
    amount: int  # the smallest unit, or percent x 10
    individually: bool = False
    before_sales: bool = False
    max_amount: int | None = None  # a percent discount's cap
    products: frozenset[int] = frozenset()
    tags: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Split:
    """A code's discount on a cart: per line (in the cart's order) and in total."""

    lines: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        return sum(discount for _id, discount in self.lines)


def of_value(value: int) -> tuple[Line, ...]:
    """An order known only by its value: one line (``ORDER_LINE``), one unit
    paying it."""
    return (Line(id=ORDER_LINE, quantity=1, unit_price=value),)


def total(lines: Iterable[Line]) -> int:
    """What the order costs before any coupon (``minimum_order_value`` reads it)."""
    return sum(line.pays for line in lines)


def eligible(rate: Rate, line: Line) -> bool:
    if not rate.products and not rate.tags:
        return True
    return line.product_id in rate.products or not rate.tags.isdisjoint(line.tag_ids)


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, both non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def largest_remainder(
    whole: int, weights: Sequence[int], keys: Sequence[str]
) -> list[int]:
    """``whole`` in parts proportional to ``weights`` (``whole`` at most their sum):
    each part the floor of its share, the units left over one each to the largest
    remainders (ties: the smaller key). The parts sum to ``whole`` and none exceeds
    its weight."""
    weight = sum(weights)
    if whole <= 0 or weight <= 0:
        return [0] * len(weights)
    parts = [whole * w // weight for w in weights]
    short = whole - sum(parts)
    by_remainder = sorted(
        range(len(weights)), key=lambda i: (-(whole * weights[i] % weight), keys[i])
    )
    for i in by_remainder[:short]:
        parts[i] += 1
    return parts


def split(rate: Rate, lines: Sequence[Line]) -> Split:
    """The coupon's discount on each line (0 for a line it does not apply to)."""
    mask = [eligible(rate, line) for line in lines]
    if rate.kind == PERCENT:
        parts = _percent(rate, lines, mask)
    elif rate.kind == AMOUNT and rate.individually:
        parts = [
            min(min(rate.amount, line.unit_pays) * line.quantity, line.left)
            if ok
            else 0
            for line, ok in zip(lines, mask, strict=True)
        ]
    elif rate.kind == AMOUNT:
        weights = [line.left if ok else 0 for line, ok in zip(lines, mask, strict=True)]
        whole = min(rate.amount, sum(weights))
        parts = largest_remainder(whole, weights, [line.id for line in lines])
    else:
        parts = [0] * len(lines)
    return Split(
        tuple((line.id, max(0, part)) for line, part in zip(lines, parts, strict=True))
    )


def _percent(rate: Rate, lines: Sequence[Line], mask: Sequence[bool]) -> list[int]:
    parts = []
    for line, ok in zip(lines, mask, strict=True):
        if not ok or line.left <= 0:
            parts.append(0)
            continue
        base = line.unit_price * line.quantity if rate.before_sales else line.left
        parts.append(min(round_half_up(base * rate.amount, 1000), line.left))
    if rate.max_amount is not None and sum(parts) > rate.max_amount:
        parts = largest_remainder(
            max(0, rate.max_amount), parts, [line.id for line in lines]
        )
    return parts


def after(lines: Sequence[Line], applied: Split) -> tuple[Line, ...]:
    """The cart once a code's discount is taken: what the next code sees."""
    taken = dict(applied.lines)
    return tuple(replace(line, taken=line.taken + taken[line.id]) for line in lines)
