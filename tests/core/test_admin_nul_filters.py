"""A NUL in a change list's filter parameter is refused (a redirect to ``?e=1`` with a
message), never a 500: PostgreSQL text cannot hold NUL (core.admin.NulFreeFiltersMixin).
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from core.admin import NulFreeFiltersMixin
from tests.factories import CouponFactory, StoreFactory
from tests.stores.test_admin_scoping import staff_client

pytestmark = pytest.mark.django_db

# (change list, parameter, value): the ones the attack report found 500 and more.
NUL_FILTERS = [
    ("coupons_coupon", "discount_type__exact", "\x00"),
    ("coupons_coupon", "origin__exact", "x\x00"),
    ("coupons_redemption", "store__id__exact", "\x00"),
    ("series_series", "code_format__exact", "\x00"),
    ("series_series", "discount_type__exact", "\x00"),
    ("jobs_job", "kind", "x\x00"),
    ("jobs_job", "status__exact", "x\x00"),
    ("stores_failedlookupcount", "reason", "x\x00"),
    ("stores_idempotencykey", "status__exact", "x\x00"),
    ("stores_store", "currency", "x\x00"),
    ("stores_storemembership", "store__id__exact", "\x00"),
    ("auth_user", "is_staff__exact", "\x00"),
    ("customers_customer", "store__id__exact", "1\x00"),
    ("legacy_coupontemplate", "store__id__exact", "\x00"),
    ("audit_auditevent", "action__exact", "\x00"),
    ("assignments_assignment", "channel", "x\x00"),
    # Django's and axes' own admins, registered again with the mixin (stores.admin).
    ("auth_group", "name", "x\x00"),
    ("axes_accessattempt", "path_info", "x\x00"),
    ("axes_accesslog", "path_info", "x\x00"),
    ("axes_accessfailurelog", "path_info", "x\x00"),
]


def test_every_registered_admin_refuses_nul():
    assert [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, NulFreeFiltersMixin)
    ] == []


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


@pytest.mark.parametrize(("changelist", "name", "value"), NUL_FILTERS)
def test_a_nul_in_a_filter_value_is_refused(admin_client, changelist, name, value):
    url = reverse(f"admin:{changelist}_changelist")
    store = StoreFactory()
    CouponFactory(store=store)

    response = admin_client.get(url, {"store__id__exact": store.pk, name: value})

    assert response.status_code == 302
    assert response.url == url + "?e=1"
    assert messages_of(response) == [
        f"Null characters are not allowed (the filter {name!r})."
    ]
    assert admin_client.get(response.url).status_code == 200


@pytest.mark.parametrize(
    ("changelist", "name"),
    [
        ("coupons_coupon", "discount_type__exact"),
        ("series_series", "code_format__exact"),
        ("jobs_job", "kind"),
    ],
)
def test_store_staff_get_the_same_refusal(changelist, name):
    store = StoreFactory()
    client, _ = staff_client(store)
    url = reverse(f"admin:{changelist}_changelist")

    response = client.get(url, {name: "\x00"})

    assert response.status_code == 302
    assert response.url == url + "?e=1"
    assert messages_of(response) == [
        f"Null characters are not allowed (the filter {name!r})."
    ]
    assert client.get(response.url).status_code == 200


def test_a_nul_in_a_parameter_name_is_refused(admin_client):
    url = reverse("admin:coupons_coupon_changelist")

    response = admin_client.get(url + "?discount_type__exact%00=percent")

    assert response.status_code == 302
    assert response.url == url + "?e=1"
    assert messages_of(response) == [
        "Null characters are not allowed (the filter 'discount_type__exact\\x00')."
    ]


def test_a_nul_again_after_the_redirect_is_djangos_error_page(admin_client):
    url = reverse("admin:jobs_job_changelist")

    response = admin_client.get(url, {"e": "1", "kind": "x\x00"})

    assert response.status_code == 200
    assert response.templates[0].name == "admin/invalid_setup.html"


def test_a_nul_in_the_search_is_still_djangos_dropped_search(admin_client):
    store = StoreFactory()
    coupon = CouponFactory(store=store)
    url = reverse("admin:coupons_coupon_changelist")

    response = admin_client.get(url, {"store__id__exact": store.pk, "q": "\x00"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [coupon]
    assert messages_of(response) == ["Null characters are not allowed."]


def test_the_filters_without_nul_still_filter(admin_client):
    store = StoreFactory()
    percent = CouponFactory(store=store, discount_type="percent")
    CouponFactory(store=store, discount_type="amount", discount_amount=100)
    url = reverse("admin:coupons_coupon_changelist")

    response = admin_client.get(
        url, {"store__id__exact": store.pk, "discount_type__exact": "percent"}
    )

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [percent]


def test_the_bulk_page_with_a_nul_filter_ends_on_the_list(admin_client):
    store = StoreFactory()
    CouponFactory(store=store)
    bulk = reverse("admin:coupons_coupon_bulk")
    changelist = reverse("admin:coupons_coupon_changelist")
    query = f"?store__id__exact={store.pk}&discount_type__exact=%00"

    response = admin_client.get(bulk + query, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [
        (changelist + query, 302),
        (changelist + "?e=1", 302),
    ]
    assert [str(m) for m in response.context["messages"]] == [
        "Unknown value '\\x00' for 'discount_type__exact'.",
        "Null characters are not allowed (the filter 'discount_type__exact').",
    ]


@pytest.mark.parametrize(
    ("app", "model", "field"),
    [
        ("coupons", "coupon", "store"),  # the Store admin
        ("coupons", "coupon", "usable_by_customer"),  # the Customer admin
        ("stores", "storemembership", "user"),  # the user admin
        ("series", "series", "store"),
    ],
)
def test_an_autocomplete_term_with_nul_finds_nothing(admin_client, app, model, field):
    StoreFactory(code="abc")

    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"term": "a\x00", "app_label": app, "model_name": model, "field_name": field},
    )

    assert response.status_code == 200
    assert response.json() == {"results": [], "pagination": {"more": False}}
