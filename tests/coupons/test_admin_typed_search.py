"""The admin's search reads a check-character code typed loosely as the dialects
read it (issue 20: lower case, spaces, dashes, ``O``->``0``, ``I``/``L``->``1``;
``coupons.admin_search.typed_code``), on the coupon, assignment and redemption
lists, and stays an index lookup of the folded code."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from coupons import admin_search
from coupons.models import Hold
from tests.coupons.test_typed_codes_api import (
    CODE,
    LOOKALIKE,
    TYPED,
    TYPO,
    check_series,
)
from tests.factories import (
    AssignmentFactory,
    CouponFactory,
    RedemptionFactory,
    StoreFactory,
)

pytestmark = pytest.mark.django_db

LOOSELY = [TYPED, " B F 9 K X 2 A B C D Y ", "bf9kx2abcdy", "BF-9KX2-ABCD-Y"]


def rows(admin_client, changelist: str, term: str) -> list:
    response = admin_client.get(reverse(changelist), {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.fixture
def typed(store):
    check_series(store)
    return CouponFactory(store=store, code=CODE)


@pytest.mark.parametrize("term", LOOSELY)
def test_the_coupon_list_finds_a_check_code_typed_loosely(admin_client, typed, term):
    assert rows(admin_client, "admin:coupons_coupon_changelist", term) == [typed]


def test_look_alikes_are_read_as_digits(admin_client, store):
    check_series(store)
    coupon = CouponFactory(store=store, code=LOOKALIKE)
    typed = LOOKALIKE.replace("0", "o").replace("1", "L").lower()
    assert rows(admin_client, "admin:coupons_coupon_changelist", typed) == [coupon]


def test_assignments_redemptions_and_holds_are_found_by_the_loose_code(
    admin_client, typed
):
    assignment = AssignmentFactory(store=typed.store, coupon=typed)
    redemption = RedemptionFactory(store=typed.store, coupon=typed)
    hold = Hold.objects.create(
        store=typed.store, coupon=typed, expires_at=timezone.now() + timedelta(hours=1)
    )
    AssignmentFactory(store=typed.store)
    RedemptionFactory(store=typed.store)
    assert rows(admin_client, "admin:assignments_assignment_changelist", TYPED) == [
        assignment
    ]
    assert rows(admin_client, "admin:coupons_redemption_changelist", TYPED) == [
        redemption
    ]
    assert rows(admin_client, "admin:coupons_hold_changelist", TYPED) == [hold]


def test_a_typo_or_another_stores_shapes_find_nothing(admin_client, typed):
    assert rows(admin_client, "admin:coupons_coupon_changelist", TYPO.lower()) == []
    other = StoreFactory()
    # Read with the shapes of the stores searched only: none in the other store.
    assert admin_search.typed_code(TYPED, store_ids=[other.id]) is None
    assert admin_search.typed_code(TYPED, store_ids=[typed.store_id]) == CODE
    assert admin_search.typed_code(TYPED) == CODE


def test_a_plain_term_reads_no_store_shapes(admin_client, typed):
    # Folded already (the folded lookup finds it), or no code of the alphabet (an
    # email): the stores are not read.
    with CaptureQueriesContext(connection) as captured:
        for term in (CODE.lower(), "summer25", "ann@example.com", "t77"):
            assert admin_search.typed_code(term) is None
    assert captured.captured_queries == []


@pytest.mark.postgres
def test_the_loose_code_search_is_an_index_lookup_of_the_folded_code(
    admin_client, typed
):
    for _ in range(50):
        CouponFactory(store=typed.store)
    with CaptureQueriesContext(connection) as captured:
        assert rows(admin_client, "admin:coupons_coupon_changelist", TYPED) == [typed]
    lookup = next(
        q["sql"] for q in captured.captured_queries if "code_folded" in q["sql"]
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # As tests/core/test_admin_plans.py: with sequential scans off, the planner
        # still picks one only when no index serves the query.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + lookup)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "coupon_code_folded_idx" in plan, plan
    assert "Seq Scan" not in plan, plan
