"""The assignments admin: read-only, searchable by coupon and customer."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assignments.models import Assignment
from tests.factories import (
    AssignmentFactory,
    CouponFactory,
    CustomerFactory,
    SeriesFactory,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:assignments_assignment_changelist"


def test_changelist_loads_with_rows(admin_client):
    AssignmentFactory.create_batch(3)

    response = admin_client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 3
    assert response.context["cl"].show_full_result_count is False


def test_changelist_query_count_does_not_grow_with_rows(admin_client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(reverse(CHANGELIST)).status_code == 200
        return len(captured)

    AssignmentFactory.create_batch(3, series=SeriesFactory())
    few = queries()
    AssignmentFactory.create_batch(12, series=SeriesFactory())

    assert queries() == few


def test_search_by_code_customer_transaction_and_id(admin_client):
    coupon = CouponFactory(code="Spring25")
    customer = CustomerFactory(
        store=coupon.store, email="Ann@Example.com", mobile="9100", external_id="E1"
    )
    by_code = AssignmentFactory(coupon=coupon)
    by_customer = AssignmentFactory(customer=customer)
    by_transaction = AssignmentFactory(transaction_number="T-77")
    AssignmentFactory()

    def found(term: str) -> set[Assignment]:
        response = admin_client.get(reverse(CHANGELIST), {"q": term})
        return set(response.context["cl"].result_list)

    assert found("spring25") == {by_code}
    assert found("ANN@example.com") == found("9100") == found("E1") == {by_customer}
    assert found("T-77") == {by_transaction}
    assert found(str(by_transaction.pk)) == {by_transaction}


def test_assignment_admin_is_read_only(admin_client):
    assignment = AssignmentFactory(purpose="welcome")
    change_url = reverse("admin:assignments_assignment_change", args=[assignment.pk])

    add = admin_client.get(reverse("admin:assignments_assignment_add"))
    view = admin_client.get(change_url)
    post = admin_client.post(change_url, {"purpose": "changed"})
    delete = admin_client.get(
        reverse("admin:assignments_assignment_delete", args=[assignment.pk])
    )

    assert (add.status_code, view.status_code) == (403, 200)
    assert (post.status_code, delete.status_code) == (403, 403)
    assignment.refresh_from_db()
    assert assignment.purpose == "welcome"
