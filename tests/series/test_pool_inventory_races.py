"""Issues racing staff who retire pool codes, on PostgreSQL: nobody is issued a dead
code, and no retire touches a code that was issued (DESIGN.md invariant 6)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.test import Client
from django.urls import reverse

from assignments.models import Assignment
from coupons.models import Coupon
from series import pool as series_pool
from tests.concurrency import race
from tests.factories import ApiKeyFactory, CustomerFactory, StoreFactory
from tests.series.conftest import ISSUE_URL, capillary_client, make_series

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TRIALS = 6
ISSUERS = 10
ISSUES_EACH = 3
COUNT = 4
RETIRERS = 4
CHUNK = 5
POOL = 240
TARGETED = 160  # the oldest codes: the ones the claims take first


def _admin_delete(client: Client, coupon_ids: list[int]) -> bool:
    response = client.post(
        reverse("admin:coupons_coupon_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [str(pk) for pk in coupon_ids],
            "post": "yes",
        },
    )
    if response.status_code == 200:
        # A code was issued since it was picked: the admin refuses to delete the
        # customer's coupon (its assignment is protected) and deletes nothing.
        assert response.context["protected"], response.content[:500]
        return False
    assert response.status_code == 302, response.status_code
    return True


def _admin_retire(client: Client, coupon_ids: list[int]) -> None:
    response = client.post(
        reverse("admin:coupons_coupon_changelist"),
        {"action": "retire_pool_codes", "_selected_action": coupon_ids},
    )
    assert response.status_code == 302, response.status_code


@pytest.mark.parametrize("trial", range(TRIALS))
def test_issues_racing_staff_retiring_pool_codes_never_hand_out_a_dead_code(
    settings, trial
):
    settings.SERIES_POOL_TARGET = POOL
    settings.SERIES_POOL_LOW = 0  # no top-up after the race's commits
    store = StoreFactory()
    key = ApiKeyFactory(store=store)
    customers = CustomerFactory.create_batch(ISSUERS, store=store)
    series = make_series(store, random_code_length=10)
    pool = list(
        Coupon.objects.filter(series=series, pooled=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    assert len(pool) == POOL
    staff = get_user_model().objects.create_superuser(
        f"staff{trial}", f"staff{trial}@example.com", "x"
    )

    def work(index: int):
        if index < ISSUERS:
            api = capillary_client(key)
            answers = []
            for _ in range(ISSUES_EACH):
                response = api.post(
                    ISSUE_URL,
                    {
                        "seriesId": series.id,
                        "count": COUNT,
                        "customer": {"mobile": customers[index].mobile},
                    },
                    format="json",
                )
                answers.append((response.status_code, response.json()))
            return answers
        retirer = index - ISSUERS
        mine = pool[:TARGETED][retirer::RETIRERS]
        admin = None
        if retirer:
            admin = Client()
            admin.force_login(staff)
        retired, refused = 0, []
        for start in range(0, len(mine), CHUNK):
            chunk = mine[start : start + CHUNK]
            if retirer == 0:  # disable or archive through the service
                retired += series_pool.series_pool_retire(
                    series=series, coupon_ids=chunk, archive=bool(start % 2)
                )
            elif retirer == 1:  # the coupons admin's "retire" action
                _admin_retire(admin, chunk)
            elif not _admin_delete(admin, chunk):  # the coupons admin's delete
                refused += chunk
        return retired, refused

    results = race(ISSUERS + RETIRERS, work)

    answers = [answer for batch in results[:ISSUERS] for answer in batch]
    assert all(status == 200 for status, _ in answers), answers
    answered = sorted(
        coupon["code"] for _, body in answers for coupon in body["coupons"]
    )
    rows = list(Assignment.objects.filter(series=series).select_related("coupon"))
    series.refresh_from_db()
    expected = ISSUERS * ISSUES_EACH * COUNT
    assert series.issued_count == len(rows) == len(answered) == expected
    assert answered == sorted(row.coupon.code for row in rows)
    # Nobody holds a dead code: each issued code is live, enabled, theirs.
    for row in rows:
        coupon = row.coupon
        assert (coupon.pooled, coupon.enabled, coupon.archived_at) == (
            False,
            True,
            None,
        ), (coupon.code, coupon.enabled, coupon.archived_at)
        assert coupon.usable_by_customer_id == row.customer_id
    # Every retire hit inventory only (a code claimed meanwhile was left alone).
    retired = Coupon.objects.filter(series=series).filter(
        Q(enabled=False) | Q(archived_at__isnull=False)
    )
    assert not retired.filter(pooled=False).exists()
    assert not Assignment.objects.filter(coupon__in=retired).exists()
    # Each targeted code was either retired or, claimed first, issued: never both
    # (but for the chunks the admin refused whole, as one was issued meanwhile).
    retired_ids = set(retired.values_list("id", flat=True))
    issued_ids = {row.coupon_id for row in rows}
    refused = {pk for _, ids in results[ISSUERS:] for pk in ids}
    targeted = set(pool[:TARGETED]) - refused
    assert retired_ids | (issued_ids & targeted) == targeted
    assert not retired_ids & issued_ids
    assert not retired_ids & refused
    assert sum(count for count, _ in results[ISSUERS:]) <= len(retired_ids)
    # Pool accounting: what is not issued nor retired is still issuable.
    total = Coupon.objects.filter(series=series).count()
    assert series_pool.pool_size(series) == total - expected - retired.count()
