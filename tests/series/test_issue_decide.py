"""The rules of an issue (``series.issue.decide``), table-driven, without a database:
each limit alone, the tightest one named, ties, the pool, the request checks and the
codes' window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from customers import errors as customer_errors
from series import errors
from series.issue.decide import (
    MAX_ISSUE,
    Grant,
    Refusal,
    Terms,
    Window,
    coupon_window,
    found_refusal,
    grant,
    request_refusal,
    settle,
    window_refusal,
)
from series.models import UNLIMITED, CodeFormat, Series

AT = datetime(2025, 12, 15, 10, 0, tzinfo=UTC)


# --- the limits -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "count", "expected"),
    [
        # No limit: all of it.
        (Terms(), 1, Grant(1)),
        (Terms(), 500, Grant(500)),
        # A generic series gives its code once per request.
        (Terms(generic=True), 1, Grant(1)),
        (Terms(generic=True), 3, Grant(1, errors.GENERIC_SINGLE_CODE)),
        # One per customer: one to a customer who holds none, none to one who does.
        (Terms(one_per_customer=True), 1, Grant(1)),
        (Terms(one_per_customer=True), 4, Grant(1, errors.ONE_PER_CUSTOMER)),
        (Terms(one_per_customer=True, held=1), 1, Grant(0, errors.ALREADY_HOLDS)),
        (Terms(one_per_customer=True, held=1), 4, Grant(0, errors.ALREADY_HOLDS)),
        # ... and maxVouchersPerUser does not apply beside it.
        (
            Terms(one_per_customer=True, max_per_customer=5),
            4,
            Grant(1, errors.ONE_PER_CUSTOMER),
        ),
        # maxVouchersPerUser: what the customer holds counts.
        (Terms(max_per_customer=5), 5, Grant(5)),
        (Terms(max_per_customer=5, held=3), 2, Grant(2)),
        (Terms(max_per_customer=5, held=3), 4, Grant(2, errors.PER_CUSTOMER_LIMIT)),
        (Terms(max_per_customer=5, held=5), 1, Grant(0, errors.PER_CUSTOMER_LIMIT)),
        # Held more than the limit allows now (staff lowered it): none, not negative.
        (Terms(max_per_customer=2, held=4), 1, Grant(0, errors.PER_CUSTOMER_LIMIT)),
        # maxCreate: what the series issued counts.
        (Terms(max_create=10, issued=5), 5, Grant(5)),
        (Terms(max_create=10, issued=8), 5, Grant(2, errors.OUT_OF_STOCK)),
        (Terms(max_create=10, issued=10), 1, Grant(0, errors.OUT_OF_STOCK)),
        (Terms(max_create=UNLIMITED, issued=10**9), 500, Grant(500)),
        # The tightest limit is the one named...
        (
            Terms(max_per_customer=5, held=3, max_create=10, issued=9),
            4,
            Grant(1, errors.OUT_OF_STOCK),
        ),
        (
            Terms(max_per_customer=5, held=4, max_create=10, issued=7),
            4,
            Grant(1, errors.PER_CUSTOMER_LIMIT),
        ),
        (
            Terms(generic=True, max_create=10, issued=10),
            1,
            Grant(0, errors.OUT_OF_STOCK),
        ),
        (
            Terms(generic=True, one_per_customer=True, held=1),
            2,
            Grant(0, errors.ALREADY_HOLDS),
        ),
        # ... and of two that allow as many, the one checked first.
        (
            Terms(max_per_customer=5, held=3, max_create=10, issued=8),
            4,
            Grant(2, errors.PER_CUSTOMER_LIMIT),
        ),
        (
            Terms(generic=True, one_per_customer=True),
            3,
            Grant(1, errors.GENERIC_SINGLE_CODE),
        ),
        (
            Terms(one_per_customer=True, max_create=10, issued=9),
            3,
            Grant(1, errors.ONE_PER_CUSTOMER),
        ),
    ],
)
def test_the_limits_cut_the_count_and_name_the_tightest(terms, count, expected):
    assert grant(terms, count=count) == expected


@pytest.mark.parametrize(
    ("allowed", "available", "expected"),
    [
        (Grant(5), 5, Grant(5)),
        (Grant(5), 9, Grant(5)),
        (Grant(5), 3, Grant(3, errors.POOL_SHORT)),
        (Grant(5), 0, Grant(0, errors.POOL_EMPTY)),
        # A limit that cut the grant stays named unless the pool cuts deeper.
        (Grant(2, errors.OUT_OF_STOCK), 2, Grant(2, errors.OUT_OF_STOCK)),
        (Grant(2, errors.OUT_OF_STOCK), 1, Grant(1, errors.POOL_SHORT)),
        (Grant(1, errors.GENERIC_SINGLE_CODE), 0, Grant(0, errors.POOL_EMPTY)),
    ],
)
def test_the_pool_cuts_the_grant_to_what_it_holds(allowed, available, expected):
    assert settle(allowed, available=available) == expected


@pytest.mark.parametrize(
    ("granted", "refusal"),
    [
        (Grant(1), None),
        (Grant(2, errors.POOL_SHORT), None),
        (Grant(0, errors.PER_CUSTOMER_LIMIT), Refusal(errors.PER_CUSTOMER_LIMIT)),
        (Grant(0, errors.ALREADY_HOLDS), Refusal(errors.ALREADY_HOLDS)),
        (
            Grant(0, errors.POOL_EMPTY),
            Refusal(errors.POOL_EMPTY, "The series has no code left to issue."),
        ),
        (Grant(0), Refusal(errors.OUT_OF_STOCK)),
    ],
)
def test_nothing_granted_is_a_refusal_for_the_tightest_limit(granted, refusal):
    assert granted.refusal == refusal


def test_the_error_of_a_refusal_carries_its_reason_and_message():
    error = Refusal(errors.POOL_EMPTY, "The series has no code left to issue.").error()
    assert (error.reason, error.message) == (
        errors.POOL_EMPTY,
        "The series has no code left to issue.",
    )
    assert Refusal(errors.OUT_OF_STOCK).error().message == "Out of stock."


@pytest.mark.parametrize(
    ("values", "held", "terms"),
    [
        ({}, None, Terms()),
        (
            {"is_multiple_vouchers_per_user_allowed": False},
            1,
            Terms(one_per_customer=True, held=1),
        ),
        (
            {"max_vouchers_per_user": 3, "max_create": 50, "issued_count": 7},
            2,
            Terms(max_per_customer=3, max_create=50, issued=7, held=2),
        ),
        (
            {"code_format": CodeFormat.GENERIC, "generic_code": "SPRING"},
            None,
            Terms(generic=True),
        ),
    ],
)
def test_the_terms_of_a_series(values, held, terms):
    assert Terms.of(Series(**values), held=held) == terms


@pytest.mark.parametrize(
    ("terms", "counts"),
    [
        (Terms(), False),
        (Terms(max_create=10), False),
        (Terms(generic=True), False),
        (Terms(one_per_customer=True), True),
        (Terms(max_per_customer=1), True),
    ],
)
def test_the_holdings_count_only_when_a_per_customer_limit_applies(terms, counts):
    assert terms.counts_holdings is counts


# --- the request and what it names -------------------------------------------------


@pytest.mark.parametrize(
    ("series_id", "count", "reason"),
    [
        (1, 1, None),
        (1, MAX_ISSUE, None),
        (None, 1, errors.SERIES_ID_REQUIRED),
        (None, 0, errors.SERIES_ID_REQUIRED),
        (1, 0, errors.COUNT_NOT_POSITIVE),
        (1, -3, errors.COUNT_NOT_POSITIVE),
        (1, MAX_ISSUE + 1, errors.COUNT_OUT_OF_RANGE),
    ],
)
def test_the_request_needs_a_series_and_a_count_of_1_to_500(series_id, count, reason):
    refusal = request_refusal(series_id=series_id, count=count)
    assert (refusal and refusal.reason) == reason


LIVE = Series(valid_till=AT + timedelta(days=1))
OPEN = Series(valid_till=None)
ENDED = Series(valid_till=AT)


@pytest.mark.parametrize(
    ("series", "customer_found", "reason"),
    [
        (LIVE, True, None),
        (OPEN, True, None),
        (None, True, errors.SERIES_NOT_FOUND),
        (None, False, errors.SERIES_NOT_FOUND),
        (ENDED, True, errors.SERIES_EXPIRED),
        (ENDED, False, errors.SERIES_EXPIRED),
        (LIVE, False, customer_errors.CUSTOMER_NOT_FOUND),
    ],
)
def test_the_series_then_the_customer_must_be_found(series, customer_found, reason):
    refusal = found_refusal(series=series, customer_found=customer_found, at=AT)
    assert (refusal and refusal.reason) == reason


# --- the codes' window --------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "tz", "window"),
    [
        # DAYS N ends the N-th day after the issue day, in store time.
        (
            {"expiry_strategy_type": "DAYS", "expiry_strategy_value": 2},
            "Asia/Kolkata",
            Window(
                None,
                datetime(2025, 12, 17, 23, 59, 59, tzinfo=UTC) - timedelta(hours=5.5),
            ),
        ),
        # The series' end bounds a code's.
        (
            {
                "expiry_strategy_type": "DAYS",
                "expiry_strategy_value": 30,
                "valid_till": AT + timedelta(days=3),
            },
            "UTC",
            Window(None, AT + timedelta(days=3)),
        ),
        # redemptionValidAfterDays N: usable from the start of the N-th day after.
        (
            {"redemption_valid_after_days": 1},
            "UTC",
            Window(datetime(2025, 12, 16, tzinfo=UTC), None),
        ),
    ],
)
def test_the_window_of_an_issued_code(values, tz, window):
    assert coupon_window(Series(**values), at=AT, tz=tz) == window


@pytest.mark.parametrize(
    ("window", "refused"),
    [
        (Window(None, None), False),
        (Window(None, AT + timedelta(seconds=1)), False),
        (Window(AT + timedelta(days=1), AT + timedelta(days=1)), False),
        (Window(None, AT), True),
        (Window(AT + timedelta(days=2), AT + timedelta(days=1)), True),
    ],
)
def test_a_code_that_would_end_before_it_can_be_used_is_not_issued(window, refused):
    refusal = window_refusal(window, at=AT)
    assert (refusal and refusal.reason) == (errors.SERIES_EXPIRED if refused else None)
