"""Staff's series writes lock in the checkouts' order, on PostgreSQL.

Every checkout locks the customer (FOR NO KEY UPDATE), then the series, then coupons
by id; a redemption or an issue also holds the series with FOR KEY SHARE at its
commit (the foreign key of the rows it inserts). Extending a series' expiry moved its
codes with one UPDATE, which took them in the order its plan met them (heap order),
while it held the series FOR UPDATE: a receive of two of its codes (locked in id
order), or a redemption of one (whose commit waits for the series), could then
deadlock with it and PostgreSQL aborted one side (a 503, or the admin action an
error). Now the series is held FOR NO KEY UPDATE (no wait for a foreign key check)
and the codes are locked in id order before they are moved.

The interleavings are forced: a second connection holds the code with the larger id
while the extension and the checkout queue behind it. The free-running trials race
issues, redemptions, receives, pool retires and extensions of one series, and check
that every code and assignment that the series' expiry bounds ends with it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from assignments.models import Assignment, Channel
from core import flake
from core.actors import SYSTEM
from core.errors import DomainError
from coupons.models import Coupon, Redemption
from customers.refs import CustomerRef
from series import pool as series_pool
from series import services
from series.issue import service as issue_service
from series.models import Series
from stores.scopes import PRICE_RULES
from tests.concurrency import paynow_client, race, shoplazza_client
from tests.factories import (
    ApiKeyFactory,
    AssignmentFactory,
    CouponFactory,
    CustomerFactory,
    StoreFactory,
)
from tests.interleave import Holder, start, wait_for_waiters
from tests.series.conftest import ISSUE_URL, capillary_client, make_series

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _issued_pair(store, customer, series):
    """Two codes of the series issued to the customer, bounded by its expiry; the
    larger id written first, so an UPDATE meets it first."""
    small, large = flake.next_id(), flake.next_id()
    for coupon_id in (large, small):
        coupon = CouponFactory(
            id=coupon_id,
            store=store,
            series=series,
            pooled=False,
            usable_by_customer=customer,
            expires_at=series.valid_till,
        )
        AssignmentFactory(
            coupon=coupon,
            customer=customer,
            series=series,
            valid_till=series.valid_till,
        )
    return small, large


def _extend(series: Series, days: int):
    def run():
        return services.series_extend_expiry(
            series=series, valid_till=timezone.now() + timedelta(days=days)
        )

    return run


def _extend_during(series: Series, large: int, checkout):
    """Extend the series (to 20 days from now) while ``checkout`` runs, both queued
    behind a connection that holds the code ``large``; the codes moved and the
    checkout's answer, which must not be an error."""
    with Holder() as holder:
        holder.run("SELECT 1 FROM coupons_coupon WHERE id = %s FOR UPDATE", [large])
        extended = start(_extend(series, 20))
        wait_for_waiters(1)
        checked_out = start(checkout)
        wait_for_waiters(2)
        holder.rollback()
    _, moved = extended()
    response = checked_out()
    assert response.status_code == 200, response.content
    return moved, response


def test_extending_a_series_while_a_code_of_it_is_redeemed_does_not_deadlock():
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    customer = CustomerFactory(store=store)
    series = make_series(store, valid_till=timezone.now() + timedelta(days=10))
    small, large = _issued_pair(store, customer, series)
    code = Coupon.objects.get(pk=small).code

    def redeem():
        return paynow_client(key).post(
            f"/v1/stores/{store.id}/redemptions",
            {"code": code, "customer_id": str(customer.id), "order_value": 1000},
            format="json",
        )

    moved, _ = _extend_during(series, large, redeem)
    assert moved == 2
    series.refresh_from_db()
    assert set(
        Coupon.objects.filter(pk__in=[small, large]).values_list(
            "expires_at", flat=True
        )
    ) == {series.valid_till}
    assert Redemption.objects.filter(coupon_id=small).count() == 1


def test_extending_a_series_while_two_codes_of_it_are_received_does_not_deadlock():
    store = StoreFactory()
    key = ApiKeyFactory(store=store, scopes=[PRICE_RULES])
    customer = CustomerFactory(store=store)
    series = make_series(store, valid_till=timezone.now() + timedelta(days=10))
    small, large = _issued_pair(store, customer, series)

    def receive():
        return shoplazza_client(key).post(
            "/openapi/2022-01/coupons/receive",
            {"customer_id": str(customer.id), "coupon_ids": [str(small), str(large)]},
            format="json",
        )

    moved, response = _extend_during(series, large, receive)
    # A series code is received only through its series: not eligible (2).
    assert [item["status"] for item in response.json()["items"]] == [2, 2]
    assert moved == 2
    assert Assignment.objects.filter(series=series).count() == 2  # none received


def _extend_or_refused(series: Series, days: int) -> int | str:
    """The codes moved, or the refusal of a target that another extension passed
    meanwhile (a domain error, never a deadlock)."""
    try:
        return _extend(series, days)()[1]
    except DomainError as error:
        return error.message.split(" (")[0]


TRIALS = 5
ISSUERS = 4
REDEEMERS = 3
EXTENDS = 3


@pytest.mark.parametrize("trial", range(TRIALS))
def test_issues_redemptions_retires_and_extensions_of_one_series_race_cleanly(
    settings, trial
):
    settings.SERIES_POOL_TARGET = 200
    settings.SERIES_POOL_LOW = 0
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    customers = CustomerFactory.create_batch(ISSUERS + REDEEMERS, store=store)
    series = make_series(store, valid_till=timezone.now() + timedelta(days=10))
    # Codes the redeemers hold already (issued before the race).
    held = {}
    for customer in customers[ISSUERS:]:
        outcome = issue_service.series_issue(
            store=store,
            series_id=series.id,
            customer=CustomerRef.by_id(customer.id),
            count=4,
            actor=SYSTEM.via(Channel.CAPILLARY),
        )
        held[customer.id] = [coupon.code for coupon in outcome.coupons]
    pool = list(
        Coupon.objects.filter(series=series, pooled=True)
        .order_by("-id")
        .values_list("id", flat=True)
    )

    def work(index: int):
        if index < ISSUERS:
            api = capillary_client(key)
            return [
                api.post(
                    ISSUE_URL,
                    {
                        "seriesId": series.id,
                        "count": 3,
                        "customer": {"mobile": customers[index].mobile},
                    },
                    format="json",
                ).status_code
                for _ in range(3)
            ]
        index -= ISSUERS
        if index < REDEEMERS:
            customer = customers[ISSUERS + index]
            api = paynow_client(key)
            return [
                api.post(
                    f"/v1/stores/{store.id}/redemptions",
                    {"code": code, "customer_id": str(customer.id), "order_value": 900},
                    format="json",
                ).status_code
                for code in held[customer.id]
            ]
        index -= REDEEMERS
        if index < EXTENDS:
            return [
                _extend_or_refused(series, 20 + step * EXTENDS + index)
                for step in range(3)
            ]
        # The newest pool codes (the claims take the oldest first).
        return series_pool.series_pool_retire(series=series, coupon_ids=pool[:30])

    results = race(ISSUERS + REDEEMERS + EXTENDS + 1, work)

    assert all(status == 200 for batch in results[:ISSUERS] for status in batch), (
        results[:ISSUERS]
    )
    redeemed = results[ISSUERS : ISSUERS + REDEEMERS]
    assert all(status == 200 for batch in redeemed for status in batch), redeemed
    series.refresh_from_db()
    issued = Coupon.objects.filter(series=series, pooled=False)
    expected = ISSUERS * 3 * 3 + REDEEMERS * 4
    assert series.issued_count == issued.count() == expected
    # Every code issued, and every assignment, ends at the series' expiry.
    assert set(issued.values_list("expires_at", flat=True)) == {series.valid_till}
    assert set(
        Assignment.objects.filter(series=series).values_list("valid_till", flat=True)
    ) == {series.valid_till}
    assert Assignment.objects.filter(series=series).count() == series.issued_count
    assert Redemption.objects.filter(series=series).count() == REDEEMERS * 4
    extended = [moved for batch in results[-1 - EXTENDS : -1] for moved in batch]
    assert any(isinstance(moved, int) for moved in extended), extended
    assert {moved for moved in extended if not isinstance(moved, int)} <= {
        "The new expiry must be later than the current one"
    }
    assert results[-1] == 30
