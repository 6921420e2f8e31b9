"""Money: the one place that knows how a currency is written.

Amounts live in the ledger as integers in the currency's smallest unit (cents, yen,
fils). How many of those make one major unit comes from Babel's CLDR currency data
(ISO 4217 codes; JPY 0 decimals, EUR 2, KWD 3, CLF 4), never from a table of our own,
and every dialect, the admin and the commands convert and format through here: no
``* 100`` anywhere else.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import cache

from babel.numbers import (
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    list_currencies,
)

# The most decimals any currency has (CLF, UYW): amounts typed in major units are
# accepted with this many at most before the currency's own rule applies.
MAX_DECIMALS = 4
# The largest amount in the smallest unit that any input may give: JavaScript reads
# a JSON number as a double, exact only up to 2**53 - 1 (Number.MAX_SAFE_INTEGER),
# and every amount a client reads back (an order value, a line's or an order's
# total, a discount) is at most what was given (DESIGN.md, IDs).
MAX_MINOR = 2**53 - 1


class MoneyError(ValueError):
    """An amount the currency cannot hold (more decimals than it has)."""


class AmountTooLarge(MoneyError):
    """An amount above ``MAX_MINOR`` in the smallest unit."""


@cache
def _known() -> frozenset[str]:
    return frozenset(list_currencies())


def is_currency(code: str) -> bool:
    """An ISO 4217 code that Babel's data knows (``USD``, ``JPY``, ``KWD``)."""
    return isinstance(code, str) and code in _known()


@cache
def decimals(currency: str) -> int:
    """Minor-unit digits of ``currency``: 0 for JPY, 2 for EUR, 3 for KWD."""
    return get_currency_precision(currency)


def to_minor(amount: Decimal | int | str, currency: str) -> int:
    """A major-unit amount (``12.5`` EUR) in the smallest unit (``1250``).

    Raises ``MoneyError`` when the amount has more decimals than the currency, or
    is more than ``MAX_MINOR`` in the smallest unit.
    """
    try:
        value = Decimal(amount) if not isinstance(amount, Decimal) else amount
        scaled = value.scaleb(decimals(currency))
        whole = scaled == scaled.to_integral_value()
    except InvalidOperation:
        raise MoneyError(f"{amount!r} is not an amount") from None
    if not whole:
        raise MoneyError(
            f"{currency} amounts have at most {decimals(currency)} decimal places"
        )
    if abs(scaled) > MAX_MINOR:
        raise AmountTooLarge(too_large(currency))
    return int(scaled)


def too_large(currency: str | None = None) -> str:
    """The refusal of an amount above ``MAX_MINOR`` (in major units of ``currency``
    when known, else in the smallest unit)."""
    if currency is None:
        return f"Must not exceed {MAX_MINOR} (in the smallest currency unit)."
    return f"{currency} amounts are at most {to_major(MAX_MINOR, currency)}"


def to_major(minor: int, currency: str) -> Decimal:
    """The smallest unit back in major units, with the currency's decimals
    (``1250`` EUR -> ``Decimal("12.50")``, ``500`` JPY -> ``Decimal("500")``)."""
    places = decimals(currency)
    return Decimal(minor).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def major_text(minor: int, currency: str) -> str:
    """``"12.50"``, ``"500"``, ``"1.250"``: the plain number a vendor writes."""
    return f"{to_major(minor, currency):f}"


def json_number(value: Decimal | int) -> int | float:
    """A major-unit amount as a vendor writes it in JSON: ``500`` when whole, ``12.5``
    otherwise."""
    number = Decimal(value)
    return int(number) if number == number.to_integral_value() else float(number)


def format_money(minor: int, currency: str, locale: str = "en") -> str:
    """For people: ``€12.50``, ``¥500``, ``$1,250.00``, ``KWD 1.250`` (Babel, CLDR's
    patterns and symbols for ``locale``)."""
    text = format_currency(to_major(minor, currency), currency, locale=locale)
    symbol = get_currency_symbol(currency, locale=locale)
    # CLDR sets a symbol that ends in a letter apart from the digits
    # (currencySpacing); Babel's formatter does not, so "KWD1.250" gets its space.
    rest = text.removeprefix(symbol)
    if symbol[-1:].isalpha() and rest != text and rest[:1].isdigit():
        return f"{symbol} {rest}"
    return text
