"""The coupons admin: finding coupons, staff edits, read-only redemptions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coupons.models import ActorType, Coupon, Redemption
from tests.factories import (
    CouponFactory,
    CustomerFactory,
    OutletFactory,
    RedemptionFactory,
    SeriesFactory,
    StoreFactory,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:coupons_coupon_changelist"
# session, user, the store filter's stores, the page count, the page of rows
COUPON_CHANGELIST_QUERIES = 5


def coupon_form_data(**overrides: Any) -> dict[str, Any]:
    """A complete admin form POST for a coupon (booleans are sent only when on)."""
    data = {
        "code": "SPRING25",
        "enabled": "on",
        "note": "",
        "duration": "once",
        "duration_in_months": "",
        "discount_type": "percent",
        "discount_amount": "250",
        "discount_max_amount": "",
        "usable_at_0": "",
        "usable_at_1": "",
        "expires_at_0": "",
        "expires_at_1": "",
        "usable_by_customer": "",
        "minimum_order_value": "0",
        "usable_on_one_time_purchase": "on",
        "usable_on_subscription": "on",
        "apply_to_products": "",
        "apply_to_tags": "",
        "redeem_limit_store_amount": "0",
        "redeem_limit_customer_amount": "0",
        "archived_at_0": "",
        "archived_at_1": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def changelist_rows(admin_client, **params: str) -> list[Coupon]:
    response = admin_client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def count_changelist_queries(admin_client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("model", ["coupon", "redemption"])
def test_changelist_loads_with_rows(admin_client, model):
    for _ in range(3):
        RedemptionFactory(coupon=CouponFactory(series=SeriesFactory()))

    response = admin_client.get(reverse(f"admin:coupons_{model}_changelist"))

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 3


def test_coupon_changelist_query_count_does_not_grow_with_rows(
    admin_client, django_assert_max_num_queries
):
    CouponFactory.create_batch(5)
    with django_assert_max_num_queries(COUPON_CHANGELIST_QUERIES):
        few = count_changelist_queries(admin_client)

    CouponFactory.create_batch(25)  # each in its own store
    with django_assert_max_num_queries(COUPON_CHANGELIST_QUERIES):
        many = count_changelist_queries(admin_client)

    assert few == many


def test_redemption_changelist_query_count_does_not_grow_with_rows(admin_client):
    url = reverse("admin:coupons_redemption_changelist")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(url).status_code == 200
        return len(captured)

    for _ in range(3):
        RedemptionFactory(outlet=OutletFactory())
    few = queries()
    for _ in range(12):
        RedemptionFactory(outlet=OutletFactory())

    assert queries() == few


def test_add_coupon_page_loads(admin_client):
    assert admin_client.get(reverse("admin:coupons_coupon_add")).status_code == 200


def test_coupon_changelist_skips_the_full_count(admin_client):
    CouponFactory.create_batch(3)

    response = admin_client.get(reverse(CHANGELIST), {"q": "nothing-like-this"})

    assert response.context["cl"].show_full_result_count is False
    assert response.context["cl"].full_result_count is None


@pytest.mark.parametrize("typed", ["spring25", "SPRING25", "Spring25", " spring25 "])
def test_search_finds_code_in_any_case(admin_client, typed):
    coupon = CouponFactory(code="Spring25")
    CouponFactory(code="SPRING250")
    CouponFactory(code="XSPRING25")

    assert changelist_rows(admin_client, q=typed) == [coupon]


def test_search_finds_code_in_every_store_and_keeps_the_store_filter(admin_client):
    first = CouponFactory(code="WELCOME")
    second = CouponFactory(code="welcome")

    assert set(changelist_rows(admin_client, q="Welcome")) == {first, second}
    assert changelist_rows(
        admin_client, q="Welcome", store__id__exact=str(second.store_id)
    ) == [second]


def test_search_finds_coupon_by_id_and_legacy_uuid(admin_client):
    by_id = CouponFactory()
    legacy_uuid = uuid.uuid4()
    by_uuid = CouponFactory(legacy_uuid=legacy_uuid)

    assert changelist_rows(admin_client, q=str(by_id.pk)) == [by_id]
    assert changelist_rows(admin_client, q=str(legacy_uuid)) == [by_uuid]


def test_search_for_a_code_that_does_not_exist_finds_nothing(admin_client):
    CouponFactory(code="SPRING25")

    assert changelist_rows(admin_client, q="SPRING") == []


def test_customer_autocomplete_of_the_coupon_form_finds_by_email_any_case(
    admin_client,
):
    customer = CustomerFactory(email="Ann@Example.com")
    CustomerFactory(email="ann@example.org")

    response = admin_client.get(
        reverse("admin:autocomplete"),
        {
            "term": "ann@example.COM",
            "app_label": "coupons",
            "model_name": "coupon",
            "field_name": "usable_by_customer",
        },
    )

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(customer.pk)]


def test_add_coupon_records_the_staff_user_as_creator(admin_client, admin_user):
    store = StoreFactory()

    response = admin_client.post(
        reverse("admin:coupons_coupon_add"),
        coupon_form_data(store=store.pk, code="SPRING25"),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    coupon = Coupon.objects.get(store=store, code="SPRING25")
    assert coupon.created_by_type == ActorType.USER
    assert coupon.created_by_id == admin_user.pk
    assert coupon.origin == "manual"
    assert (coupon.redeemed_count, coupon.received_count) == (0, 0)


def test_change_coupon_records_the_staff_user_as_updater(admin_client, admin_user):
    coupon = CouponFactory(code="SPRING25", created_by_type=ActorType.API_KEY)

    response = admin_client.post(
        reverse("admin:coupons_coupon_change", args=[coupon.pk]),
        coupon_form_data(code="SPRING25", note="Spring sale", discount_amount="300"),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    coupon.refresh_from_db()
    assert coupon.note == "Spring sale"
    assert coupon.discount_amount == 300
    assert coupon.updated_by_type == "user"
    assert coupon.updated_by_id == admin_user.pk
    assert coupon.updated_at is not None
    assert coupon.created_by_type == ActorType.API_KEY


def test_change_coupon_keeps_counters_moved_while_the_form_was_open(
    admin_client, monkeypatch
):
    coupon = CouponFactory(code="SPRING25", redeemed_count=1, received_count=2)
    url = reverse("admin:coupons_coupon_change", args=[coupon.pk])
    original_save = Coupon.save

    def redeem_concurrently_then_save(self, *args, **kwargs):
        # A redemption commits between the admin's read and its write.
        Coupon.objects.filter(pk=self.pk).update(redeemed_count=5, received_count=6)
        original_save(self, *args, **kwargs)

    monkeypatch.setattr(Coupon, "save", redeem_concurrently_then_save)

    response = admin_client.post(url, coupon_form_data(code="SPRING25", note="x"))

    assert response.status_code == 302
    coupon.refresh_from_db()
    assert (coupon.note, coupon.redeemed_count, coupon.received_count) == ("x", 5, 6)


def test_change_coupon_ignores_counters_and_store_in_the_post(admin_client):
    coupon = CouponFactory(code="SPRING25", redeemed_count=1)
    other_store = StoreFactory()

    response = admin_client.post(
        reverse("admin:coupons_coupon_change", args=[coupon.pk]),
        coupon_form_data(
            code="SPRING25",
            store=other_store.pk,
            redeemed_count="0",
            origin="generated",
        ),
    )

    assert response.status_code == 302
    coupon.refresh_from_db()
    assert coupon.store_id != other_store.pk
    assert coupon.redeemed_count == 1
    assert coupon.origin == "manual"


def test_change_to_a_code_taken_in_the_store_in_other_case_is_a_form_error(
    admin_client,
):
    taken = CouponFactory(code="SPRING25")
    coupon = CouponFactory(store=taken.store, code="SUMMER")

    response = admin_client.post(
        reverse("admin:coupons_coupon_change", args=[coupon.pk]),
        coupon_form_data(code="spring25"),
    )

    assert response.status_code == 200
    assert "This code is already taken in this store." in response.content.decode()
    coupon.refresh_from_db()
    assert coupon.code == "SUMMER"


def test_same_code_in_another_store_is_fine(admin_client):
    CouponFactory(code="SPRING25")
    store = StoreFactory()

    response = admin_client.post(
        reverse("admin:coupons_coupon_add"),
        coupon_form_data(store=store.pk, code="spring25"),
    )

    assert response.status_code == 302


def test_store_limit_below_what_was_used_is_a_form_error(admin_client):
    coupon = CouponFactory(code="SPRING25", redeemed_count=3, received_count=4)

    response = admin_client.post(
        reverse("admin:coupons_coupon_change", args=[coupon.pk]),
        coupon_form_data(
            code="SPRING25",
            redeem_limit_store_enabled="on",
            redeem_limit_store_amount="3",
        ),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["redeem_limit_store_amount"] == [
        "4 already used: the store-wide limit cannot be lower."
    ]
    coupon.refresh_from_db()
    assert coupon.redeem_limit_store_enabled is False


def test_customer_restriction_must_be_in_the_coupons_store(admin_client):
    store = StoreFactory()
    stranger = CustomerFactory()

    response = admin_client.post(
        reverse("admin:coupons_coupon_add"),
        coupon_form_data(store=store.pk, usable_by_customer=stranger.pk),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["usable_by_customer"] == [
        "This customer belongs to another store."
    ]
    assert not Coupon.objects.filter(store=store).exists()


def test_coupon_change_page_shows_counters_read_only(admin_client):
    coupon = CouponFactory(redeemed_count=7, series=SeriesFactory())

    response = admin_client.get(
        reverse("admin:coupons_coupon_change", args=[coupon.pk])
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert {"redeemed_count", "received_count", "origin", "series"}.isdisjoint(
        form.fields
    )
    assert form.fields["store"].disabled


def test_redemption_admin_is_read_only(admin_client):
    redemption = RedemptionFactory()

    add = admin_client.get(reverse("admin:coupons_redemption_add"))
    view = admin_client.get(
        reverse("admin:coupons_redemption_change", args=[redemption.pk])
    )
    post = admin_client.post(
        reverse("admin:coupons_redemption_change", args=[redemption.pk]),
        {"order_value": "1", "discount_amount": "0"},
    )
    delete = admin_client.get(
        reverse("admin:coupons_redemption_delete", args=[redemption.pk])
    )

    assert (add.status_code, view.status_code) == (403, 200)
    assert (post.status_code, delete.status_code) == (403, 403)
    redemption.refresh_from_db()
    assert redemption.order_value == 10_000


def test_redemption_search_by_code_customer_and_transaction(admin_client):
    coupon = CouponFactory(code="Spring25")
    customer = CustomerFactory(
        store=coupon.store, email="Ann@Example.com", mobile="9100", external_id="E1"
    )
    by_code = RedemptionFactory(coupon=coupon)
    by_customer = RedemptionFactory(customer=customer)
    by_transaction = RedemptionFactory(transaction_number="T-77")
    RedemptionFactory()
    url = reverse("admin:coupons_redemption_changelist")

    def found(term: str) -> set[Redemption]:
        return set(admin_client.get(url, {"q": term}).context["cl"].result_list)

    assert found("SPRING25") == {by_code}
    assert found("ann@example.com") == found("9100") == found("E1") == {by_customer}
    assert found("T-77") == {by_transaction}
    assert found(str(by_code.pk)) == {by_code}
