"""Coupon and customer pages (related rows, who changed what), the redemption
"roll back" action, customer search on coupons, and the capped change-list count."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.paginator import CappedCountPaginator
from coupons.models import ActorType, Coupon
from tests.factories import (
    ApiKeyFactory,
    AssignmentFactory,
    CouponFactory,
    CustomerFactory,
    RedemptionFactory,
)

pytestmark = pytest.mark.django_db

REDEMPTIONS = reverse("admin:coupons_redemption_changelist")
CUSTOMER_PAGE_QUERIES = 12
COUPON_PAGE_QUERIES = 12


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_roll_back_asks_for_confirmation_first(admin_client):
    redemption = RedemptionFactory()

    response = admin_client.post(
        REDEMPTIONS, {"action": "roll_back", "_selected_action": [str(redemption.pk)]}
    )

    assert response.status_code == 200
    assert response.templates[0].name == (
        "admin/coupons/redemption/rollback_confirmation.html"
    )
    assert b"Yes, roll back 1 redemption(s)" in response.content
    redemption.refresh_from_db()
    assert redemption.rolled_back_at is None


def test_roll_back_frees_the_use_and_keeps_the_row(admin_client):
    coupon = CouponFactory()
    Coupon.objects.filter(pk=coupon.pk).update(redeemed_count=2)
    redemption = RedemptionFactory(coupon=coupon)
    done = RedemptionFactory(coupon=coupon)
    admin_client.post(
        REDEMPTIONS,
        {"action": "roll_back", "confirm": "yes", "_selected_action": [str(done.pk)]},
    )
    admin_client.get(REDEMPTIONS)  # shows (and clears) the first message

    response = admin_client.post(
        REDEMPTIONS,
        {
            "action": "roll_back",
            "confirm": "yes",
            "_selected_action": [str(redemption.pk), str(done.pk)],
        },
    )

    assert response.status_code == 302
    redemption.refresh_from_db()
    coupon.refresh_from_db()
    assert redemption.rolled_back_at is not None
    assert coupon.redeemed_count == 0
    assert messages_of(admin_client.get(response.url)) == [
        f"{done.pk}: This redemption was already rolled back; nothing changed.",
        "Rolled back 1 redemption(s).",
    ]


def test_roll_back_needs_the_change_permission(client):
    redemption = RedemptionFactory()
    from django.contrib.auth.models import Permission

    viewer = User.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_redemption"))
    client.force_login(viewer)

    page = client.get(REDEMPTIONS)
    response = client.post(
        REDEMPTIONS,
        {
            "action": "roll_back",
            "confirm": "yes",
            "_selected_action": [str(redemption.pk)],
        },
    )

    # No action this user may run, so no action form at all.
    assert page.context["action_form"] is None
    assert response.status_code == 200  # "No action selected."
    redemption.refresh_from_db()
    assert redemption.rolled_back_at is None


def test_coupon_page_shows_assignments_and_redemptions_paginated(admin_client):
    coupon = CouponFactory(code="PAGED")
    customer = CustomerFactory(store=coupon.store, email="paged@example.com")
    assignments = [
        AssignmentFactory(store=coupon.store, coupon=coupon, customer=customer)
        for _ in range(12)
    ]
    RedemptionFactory(coupon=coupon, customer=customer)
    url = reverse("admin:coupons_coupon_change", args=[coupon.pk])

    first = admin_client.get(url)
    second = admin_client.get(url, {"assignments_page": "2"})

    tables = {t["key"]: t for t in first.context["related_pages"]}
    assert tables["assignments"]["page"].paginator.count == 12
    assert len(tables["assignments"]["rows"]) == 10
    assert len(tables["redemptions"]["rows"]) == 1
    newest_first = sorted(assignments, key=lambda a: a.pk, reverse=True)
    assert str(newest_first[0].pk) in tables["assignments"]["rows"][0][0]
    second_page = {t["key"]: t for t in second.context["related_pages"]}
    assert len(second_page["assignments"]["rows"]) == 2
    assert b"Page 2 of 2" in second.content


def test_coupon_page_says_who_created_and_updated_it(admin_client):
    key = ApiKeyFactory(name="till 1")
    editor = User.objects.create_user("carol", is_staff=True)
    coupon = CouponFactory(
        store=key.store,
        created_by_type=ActorType.API_KEY,
        created_by_id=key.pk,
        updated_by_type=ActorType.USER,
        updated_by_id=editor.pk,
    )

    response = admin_client.get(
        reverse("admin:coupons_coupon_change", args=[coupon.pk])
    )

    assert f"API key {key.key_id} (till 1)".encode() in response.content
    assert b"staff user carol" in response.content


def test_coupon_page_query_count_does_not_grow_with_history(admin_client):
    coupon = CouponFactory()
    url = reverse("admin:coupons_coupon_change", args=[coupon.pk])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(url).status_code == 200
        return len(captured)

    def history() -> None:
        customer = CustomerFactory(store=coupon.store)
        AssignmentFactory(store=coupon.store, coupon=coupon, customer=customer)
        RedemptionFactory(coupon=coupon, customer=customer)

    history()
    queries()  # warms the process's caches (content types are cleared per test)
    few = queries()
    for _ in range(15):
        history()

    assert queries() == few <= COUPON_PAGE_QUERIES


def test_customer_page_shows_their_coupons_assignments_and_redemptions(
    admin_client, django_assert_max_num_queries
):
    customer = CustomerFactory()
    restricted = CouponFactory(store=customer.store, usable_by_customer=customer)
    held = CouponFactory(store=customer.store)
    assignment = AssignmentFactory(store=customer.store, coupon=held, customer=customer)
    redemption = RedemptionFactory(coupon=held, customer=customer)
    url = reverse("admin:customers_customer_change", args=[customer.pk])

    response = admin_client.get(url)

    tables = {t["key"]: t for t in response.context["related_pages"]}
    assert [row[0] for row in tables["coupons"]["rows"]] == [
        f'<a href="{reverse("admin:coupons_coupon_change", args=[restricted.pk])}">'
        f"{restricted.code}</a>"
    ]
    assert str(assignment.pk) in tables["assignments"]["rows"][0][0]
    assert str(redemption.pk) in tables["redemptions"]["rows"][0][0]
    for _ in range(10):
        AssignmentFactory(store=customer.store, coupon=held, customer=customer)
        RedemptionFactory(coupon=held, customer=customer)
        CouponFactory(store=customer.store, usable_by_customer=customer)
    # session, user, the customer, 3 x (capped count + page), the content type
    # (once per process), the store (the disabled store field), the audit
    # timeline: none per row.
    with django_assert_max_num_queries(CUSTOMER_PAGE_QUERIES):
        admin_client.get(url)


@pytest.mark.parametrize("typed", ["Holder@Example.com", "+15550001", "ext-77"])
def test_coupon_search_finds_coupons_held_by_a_customer(admin_client, typed):
    customer = CustomerFactory(
        email="holder@example.com", mobile="+15550001", external_id="ext-77"
    )
    held = CouponFactory(store=customer.store)
    restricted = CouponFactory(store=customer.store, usable_by_customer=customer)
    CouponFactory(store=customer.store)
    AssignmentFactory(store=customer.store, coupon=held, customer=customer)

    response = admin_client.get(
        reverse("admin:coupons_coupon_changelist"), {"q": typed}
    )

    assert set(response.context["cl"].result_list) == {held, restricted}


def test_big_lists_count_at_most_the_cap(admin_client, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 3)
    CouponFactory.create_batch(5)

    response = admin_client.get(reverse("admin:coupons_coupon_changelist"))

    cl = response.context["cl"]
    assert cl.result_count == 3
    assert cl.paginator.capped is True
    assert b"more than 3 coupons" in response.content


def test_capped_paginator_counts_exactly_below_the_cap():
    CouponFactory.create_batch(4)

    paginator = CappedCountPaginator(Coupon.objects.order_by("-id"), 2)

    assert (paginator.count, paginator.capped, paginator.num_pages) == (4, False, 2)
