"""A partial rollback (a return): how much of a redemption's order and discount a
return gives back. Pure: the redemption as plain values in, the outcome out; the
service (``coupons.redeem.service.redemption_rollback``) reads them under the
redemption's lock and writes the outcome.

Rules (the README's API section records them; ``tests/coupons/test_redeem_returns.py``
pins each):

- ``lines`` (``[(line id, quantity), ...]``): each unit returned gives back what it
  paid (``sale_unit_price`` else ``unit_price``) of the order's value, and its
  line's discount in proportion to the units returned so far, rounded down until the
  line's last unit, which gives back the rest: the parts of a line sum exactly to its
  discount, however it is returned.
- ``amount``: that much of the order's value is returned; the discount given back
  is the redemption's original discount in proportion to the value returned so far
  (rounded down, the rest with the last of the value).
- Never more than was redeemed: units beyond a line's quantity, or value beyond the
  order's, are ``over_return`` (nothing is returned); lines returned after an
  ``amount`` return are held to the value it left, as an ``amount`` is; a line id
  the redemption does not have is ``unknown_line``. The discount given back never
  exceeds the original.
- The return that brings the value returned to the order's value completes the
  rollback (the use is freed then, not before).
"""

from __future__ import annotations

from dataclasses import dataclass

from coupons.errors import OVER_RETURN, UNKNOWN_LINE


@dataclass(frozen=True)
class Held:
    """A recorded line of the redemption and what was returned of it so far."""

    id: str
    quantity: int
    unit_pays: int
    discount: int
    returned_quantity: int = 0
    returned_discount: int = 0


@dataclass(frozen=True)
class Redeemed:
    """The redemption as a return sees it."""

    order_value: int
    discount: int  # what is left of the discount
    value_returned: int = 0
    discount_returned: int = 0
    lines: tuple[Held, ...] = ()

    @property
    def original_discount(self) -> int:
        return self.discount + self.discount_returned


@dataclass(frozen=True)
class Outcome:
    problem: str | None = None
    message: str = ""
    value: int = 0  # order value returned now
    discount: int = 0  # discount given back now
    # the lines returned now: (line id, units, discount given back)
    lines: tuple[tuple[str, int, int], ...] = ()
    complete: bool = False  # the whole redemption is returned now

    @property
    def ok(self) -> bool:
        return self.problem is None


def _share(whole: int, part: int, of: int) -> int:
    """``whole`` x ``part`` / ``of`` rounded down, all of it when ``part`` is all."""
    return whole if part >= of else whole * part // max(of, 1)


def by_lines(redeemed: Redeemed, asked: tuple[tuple[str, int], ...]) -> Outcome:
    """Return units of lines (a line may be named once per return)."""
    held = {line.id: line for line in redeemed.lines}
    unknown = [line_id for line_id, _q in asked if line_id not in held]
    if unknown:
        return Outcome(UNKNOWN_LINE, f"The redemption has no line {unknown[0]!r}.")
    returned, value = [], 0
    for line_id, quantity in asked:
        line = held[line_id]
        units = line.returned_quantity + quantity
        if units > line.quantity:
            left = line.quantity - line.returned_quantity
            return Outcome(
                OVER_RETURN,
                f"Line {line_id!r} has {left} unit(s) left to return, not {quantity}.",
            )
        given = _share(line.discount, units, line.quantity) - line.returned_discount
        returned.append((line_id, quantity, given))
        value += line.unit_pays * quantity
    left = redeemed.order_value - redeemed.value_returned
    if value > left:  # an ``amount`` return took value no line names
        return Outcome(
            OVER_RETURN, f"{left} of the order's value is left to return, not {value}."
        )
    total_value = redeemed.value_returned + value
    discount = min(sum(given for _i, _q, given in returned), redeemed.discount)
    return _outcome(redeemed, value, discount, tuple(returned), total_value)


def by_amount(redeemed: Redeemed, amount: int) -> Outcome:
    """Return ``amount`` of the order's value."""
    left = redeemed.order_value - redeemed.value_returned
    if amount > left:
        return Outcome(
            OVER_RETURN, f"{left} of the order's value is left to return, not {amount}."
        )
    total_value = redeemed.value_returned + amount
    after = _share(redeemed.original_discount, total_value, redeemed.order_value)
    discount = max(0, min(after - redeemed.discount_returned, redeemed.discount))
    return _outcome(redeemed, amount, discount, (), total_value)


def _outcome(
    redeemed: Redeemed,
    value: int,
    discount: int,
    lines: tuple[tuple[str, int, int], ...],
    total_value: int,
) -> Outcome:
    complete = total_value >= redeemed.order_value
    if complete:  # the last return gives back whatever is left of the discount
        discount = redeemed.discount
    return Outcome(value=value, discount=discount, lines=lines, complete=complete)
