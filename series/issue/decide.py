"""What an issue may do: pure decisions over plain values, no database.

An issue asks for ``count`` codes of a series for a customer. In order:

1. ``request_refusal``: the request itself (a series id, a count in 1..500).
2. ``found_refusal``: the series exists, is active and has not expired; the customer
   exists.
3. ``coupon_window`` and ``window_refusal``: when each code starts and ends; a code
   that would end before it can be used is not issued.
4. ``grant``: the limits cut the count, each naming itself when it is the tightest
   (the earlier one when two allow the same): a generic series gives its code once,
   a customer holds one code (``isMultipleVouchersPerUserAllowed=false``) or at most
   ``maxVouchersPerUser``, the series issues at most ``maxCreate``.
5. ``settle``: the pool (or the generic code) holds only so many.

A bulk issue (``series.bulk_issue``) applies the same rules to a batch of customers:
``grant_each`` is ``grant`` for each in turn, the series' count moving with each.

A grant of 0 is a refusal (its reason); fewer than asked is a partial success whose
reason the answer shows. The service reads the values these take under its locks
(``series.issue.service``); a new limit is one more line in ``grant`` and a row in
``tests/series/test_issue_decide.py``.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

from core.errors import DomainError
from customers import errors as customer_errors
from series import errors
from series.models import UNLIMITED, ExpiryStrategy

if TYPE_CHECKING:
    from series.models import Series

MAX_ISSUE = 500


@dataclass(frozen=True)
class Refusal:
    """Nothing is issued, for this reason (``series.errors``)."""

    reason: str
    message: str = ""

    def error(self) -> DomainError:
        return DomainError(self.reason, self.message)


@dataclass(frozen=True)
class Terms:
    """The series' limits and counter as read, and what the customer holds of it."""

    generic: bool = False
    # isMultipleVouchersPerUserAllowed=false
    one_per_customer: bool = False
    # maxVouchersPerUser (UNLIMITED: -1)
    max_per_customer: int = UNLIMITED
    # maxCreate (UNLIMITED: -1) and the series' issued count
    max_create: int = UNLIMITED
    issued: int = 0
    # Codes of the series the customer holds (read only when ``counts_holdings``).
    held: int = 0

    @classmethod
    def of(cls, series: Series, *, held: int | None) -> Terms:
        return cls(
            generic=series.is_generic,
            one_per_customer=not series.is_multiple_vouchers_per_user_allowed,
            max_per_customer=series.max_vouchers_per_user,
            max_create=series.max_create,
            issued=series.issued_count,
            held=held or 0,
        )

    @property
    def counts_holdings(self) -> bool:
        """Whether a per-customer limit applies (then the holdings are read; the
        store's SQL asks the same question, ``series.issue.store``)."""
        return self.one_per_customer or self.max_per_customer != UNLIMITED


@dataclass(frozen=True)
class Grant:
    """How many codes may be issued, and why fewer than asked (None: all of them)."""

    count: int
    reason: str | None = None

    def limit(self, allowed: int, reason: str) -> Grant:
        """This grant cut to ``allowed``, naming ``reason``, when that is tighter."""
        if allowed < self.count:
            return Grant(max(allowed, 0), reason)
        return self

    @property
    def refusal(self) -> Refusal | None:
        """Nothing granted: refused for the tightest limit's reason."""
        if self.count > 0:
            return None
        reason = self.reason or errors.OUT_OF_STOCK
        return Refusal(reason, _MESSAGES.get(reason, ""))


_MESSAGES = {errors.POOL_EMPTY: "The series has no code left to issue."}


class Window(NamedTuple):
    """When an issued code can be used: from ``usable_at`` (None: at once) to
    ``valid_till`` (None: no end)."""

    usable_at: datetime | None
    valid_till: datetime | None


def request_refusal(*, series_id: int | None, count: int) -> Refusal | None:
    if series_id is None:
        return Refusal(errors.SERIES_ID_REQUIRED, "seriesId is required.")
    if count < 1:
        return Refusal(errors.COUNT_NOT_POSITIVE, "count must be at least 1.")
    if count > MAX_ISSUE:
        return Refusal(errors.COUNT_OUT_OF_RANGE, f"count is at most {MAX_ISSUE}.")
    return None


def found_refusal(
    *, series: Series | None, customer_found: bool, at: datetime
) -> Refusal | None:
    """``series``: the store's active series with the id asked, or None."""
    if series is None:
        return Refusal(errors.SERIES_NOT_FOUND, "Coupon series not found.")
    if series.valid_till is not None and series.valid_till <= at:
        return Refusal(errors.SERIES_EXPIRED, "The series has expired.")
    if not customer_found:
        return Refusal(customer_errors.CUSTOMER_NOT_FOUND, "Customer not found.")
    return None


def _end_of_day(day, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=zone)


def coupon_window(series: Series, *, at: datetime, tz: str) -> Window:
    """The window of a code issued at ``at`` (``tz``: the store's time zone).

    - ``SERIES_EXPIRY``: the series' valid-till.
    - ``DAYS`` N: the end (23:59:59, store time) of the N-th day after the issue day.
    - ``MONTHS_END`` N: the end of the month N months after the issue month.
    The series' own valid-till bounds each (Capillary: "the series expiration date
    applies before a coupon's validity period"). ``redemptionValidAfterDays`` N makes
    the code usable from the start of the N-th day after issue.
    """
    zone = ZoneInfo(tz)
    local = at.astimezone(zone)
    strategy, value = series.expiry_strategy_type, series.expiry_strategy_value
    till: datetime | None
    if strategy == ExpiryStrategy.DAYS:
        till = _end_of_day(local.date() + timedelta(days=value), zone)
    elif strategy == ExpiryStrategy.MONTHS_END:
        months = local.month - 1 + value
        year, month = local.year + months // 12, months % 12 + 1
        last = calendar.monthrange(year, month)[1]
        till = _end_of_day(local.date().replace(year=year, month=month, day=last), zone)
    else:
        till = series.valid_till
    if series.valid_till is not None and (till is None or till > series.valid_till):
        till = series.valid_till
    usable_at = None
    if series.redemption_valid_after_days > 0:
        day = local.date() + timedelta(days=series.redemption_valid_after_days)
        usable_at = datetime.combine(day, time(0, 0), tzinfo=zone)
    return Window(usable_at, till)


def window_refusal(window: Window, *, at: datetime) -> Refusal | None:
    """A code that would expire before it could be used is not issued."""
    usable_at, till = window
    if till is not None and (till <= at or (usable_at and usable_at > till)):
        return Refusal(errors.SERIES_EXPIRED, "The series has expired.")
    return None


def grant(terms: Terms, *, count: int) -> Grant:
    """How many of ``count`` the series' and the customer's limits allow."""
    allowed = Grant(count)
    if terms.generic:
        allowed = allowed.limit(1, errors.GENERIC_SINGLE_CODE)
    if terms.one_per_customer:
        if terms.held:
            allowed = allowed.limit(0, errors.ALREADY_HOLDS)
        else:
            allowed = allowed.limit(1, errors.ONE_PER_CUSTOMER)
    elif terms.max_per_customer != UNLIMITED:
        allowed = allowed.limit(
            terms.max_per_customer - terms.held, errors.PER_CUSTOMER_LIMIT
        )
    if terms.max_create != UNLIMITED:
        allowed = allowed.limit(terms.max_create - terms.issued, errors.OUT_OF_STOCK)
    return allowed


def grant_each(terms: Terms, held: Iterable[int], *, count: int = 1) -> list[Grant]:
    """``grant`` for each of a list of customers in turn (a bulk issue), the i-th
    holding ``held[i]`` codes of the series: what one is granted moves the series'
    count for the next, so the cap holds across the list exactly as it holds across
    as many single issues made one after the other."""
    grants = []
    issued = terms.issued
    for holding in held:
        one = grant(replace(terms, issued=issued, held=holding), count=count)
        issued += one.count
        grants.append(one)
    return grants


def settle(allowed: Grant, *, available: int) -> Grant:
    """The grant cut to the ``available`` codes claimed (the pool's, or the generic
    code): none at all is ``pool_empty``, fewer than granted ``pool_short``."""
    if available <= 0:
        return Grant(0, errors.POOL_EMPTY)
    return allowed.limit(available, errors.POOL_SHORT)
