"""The customers admin: exact, index-friendly search and a flat query count."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import Customer
from tests.factories import CustomerFactory, StoreFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:customers_customer_changelist"
# session, user, the store filter's stores, the page count, the page of rows
CUSTOMER_CHANGELIST_QUERIES = 5


def found(admin_client, term: str) -> list[Customer]:
    response = admin_client.get(reverse(CHANGELIST), {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def count_changelist_queries(admin_client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    return len(queries)


@pytest.fixture
def ann(db) -> Customer:
    CustomerFactory(email="bob@example.com", mobile="9100000002", external_id="E-2")
    return CustomerFactory(
        email="Ann.Lee@Example.com", mobile="9100000001", external_id="E-1"
    )


def test_changelist_loads_with_rows(admin_client):
    CustomerFactory.create_batch(3)

    response = admin_client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 3


def test_add_and_change_pages_load(admin_client, ann):
    add = admin_client.get(reverse("admin:customers_customer_add"))
    change = admin_client.get(reverse("admin:customers_customer_change", args=[ann.pk]))

    assert (add.status_code, change.status_code) == (200, 200)


def test_changelist_query_count_does_not_grow_with_rows(
    admin_client, django_assert_max_num_queries
):
    CustomerFactory.create_batch(5)
    with django_assert_max_num_queries(CUSTOMER_CHANGELIST_QUERIES):
        few = count_changelist_queries(admin_client)

    CustomerFactory.create_batch(25)  # each in its own store
    with django_assert_max_num_queries(CUSTOMER_CHANGELIST_QUERIES):
        many = count_changelist_queries(admin_client)

    assert few == many


@pytest.mark.parametrize("term", ["ann.lee@example.com", "ANN.LEE@EXAMPLE.COM"])
def test_search_by_email_in_any_case(admin_client, ann, term):
    assert found(admin_client, term) == [ann]


def test_search_by_mobile_external_id_and_id(admin_client, ann):
    assert found(admin_client, "9100000001") == [ann]
    assert found(admin_client, "E-1") == [ann]
    assert found(admin_client, str(ann.pk)) == [ann]


def test_search_matches_whole_identifiers_only(admin_client, ann):
    assert found(admin_client, "ann") == []
    assert found(admin_client, "91000000") == []


def test_search_keeps_the_store_filter(admin_client, ann):
    twin = CustomerFactory(email="ann.lee@example.com")

    assert set(found(admin_client, "ann.lee@example.com")) == {ann, twin}
    response = admin_client.get(
        reverse(CHANGELIST),
        {"q": "ann.lee@example.com", "store__id__exact": str(twin.store_id)},
    )
    assert list(response.context["cl"].result_list) == [twin]


def test_add_customer_with_blank_identifiers_stores_nulls(admin_client):
    store = StoreFactory()

    for first_name in ("Ann", "Bob"):
        response = admin_client.post(
            reverse("admin:customers_customer_add"),
            {
                "store": store.pk,
                "first_name": first_name,
                "last_name": "",
                "email": "",
                "mobile": "",
                "external_id": "",
            },
        )
        assert response.status_code == 302

    rows = Customer.objects.filter(store=store).values_list(
        "email", "mobile", "external_id"
    )
    assert list(rows) == [(None, None, None)] * 2


def test_email_taken_in_the_store_in_other_case_is_a_form_error(admin_client, ann):
    other = CustomerFactory(store=ann.store)

    response = admin_client.post(
        reverse("admin:customers_customer_change", args=[other.pk]),
        {
            "first_name": other.first_name,
            "last_name": other.last_name,
            "email": "ANN.LEE@example.com",
            "mobile": other.mobile,
            "external_id": other.external_id,
        },
    )

    assert response.status_code == 200
    assert "A customer with this email already exists." in response.content.decode()


def test_customer_store_is_fixed_once_saved(admin_client, ann):
    elsewhere = StoreFactory()

    response = admin_client.post(
        reverse("admin:customers_customer_change", args=[ann.pk]),
        {
            "store": elsewhere.pk,
            "first_name": "Ann",
            "last_name": "Lee",
            "email": ann.email,
            "mobile": ann.mobile,
            "external_id": ann.external_id,
        },
    )

    assert response.status_code == 302
    ann.refresh_from_db()
    assert ann.first_name == "Ann"
    assert ann.store_id != elsewhere.pk


MOBILE_REFUSED = "Must be a phone number: digits, optionally a leading +."


def _change(admin_client, customer, **fields):
    """The change form as shown (each value with its hidden initial), ``fields``
    edited."""
    shown = {
        name: getattr(customer, name)
        for name in ("first_name", "last_name", "email", "mobile", "external_id")
    }
    return admin_client.post(
        reverse("admin:customers_customer_change", args=[customer.pk]),
        {
            **{f"initial-{name}": value for name, value in shown.items()},
            **shown,
            **fields,
        },
    )


@pytest.mark.parametrize("mobile", ["+1 (555) 123", "555-0100", "12"])
def test_add_refuses_a_mobile_the_api_refuses(admin_client, mobile):
    store = StoreFactory()

    response = admin_client.post(
        reverse("admin:customers_customer_add"),
        {"store": store.pk, "first_name": "Ann", "mobile": mobile},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"mobile": [MOBILE_REFUSED]}
    assert not Customer.objects.exists()


def test_change_refuses_a_mobile_with_separators(admin_client, ann):
    response = _change(admin_client, ann, mobile="+1 (555) 123")

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"mobile": [MOBILE_REFUSED]}
    ann.refresh_from_db()
    assert ann.mobile == "9100000001"


def test_a_mobile_stored_with_separators_before_can_be_left_as_it_is(admin_client):
    customer = CustomerFactory(mobile="+1 (555) 123", first_name="Old")

    response = _change(admin_client, customer, first_name="New")

    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.first_name, customer.mobile) == ("New", "+1 (555) 123")


def test_add_takes_a_mobile_of_digits(admin_client):
    store = StoreFactory()

    response = admin_client.post(
        reverse("admin:customers_customer_add"),
        {"store": store.pk, "first_name": "Ann", "mobile": "+1555123"},
    )

    assert response.status_code == 302
    assert Customer.objects.get().mobile == "+1555123"
