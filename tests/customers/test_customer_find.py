"""customers.selectors.customer_find: hand-written SQL that must find exactly what
``Customer.objects.for_store(store.id).by_identifier(...)`` finds."""

from __future__ import annotations

import pytest
from django.db.models import Model
from django.utils import timezone

from core import flake
from customers.models import Customer
from customers.selectors import customer_find
from stores.models import Store
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

IDENTIFIERS = ("customer_id", "email", "mobile", "external_id")


def fields_of(instance: Model) -> dict[str, tuple[object, type]]:
    """Every concrete field's value and its type (a TextChoices member counts as the
    str it is)."""
    values = {}
    for field in type(instance)._meta.concrete_fields:
        value = getattr(instance, field.attname)
        values[field.attname] = (value, str if isinstance(value, str) else type(value))
    return values


def identifiers_of(customer: Customer) -> dict[str, object]:
    return {
        "customer_id": customer.id,
        "email": customer.email,
        "mobile": customer.mobile,
        "external_id": customer.external_id,
    }


def orm_find(store: Store, **identifiers) -> Customer | None:
    return Customer.objects.for_store(store.id).by_identifier(**identifiers).first()


def assert_finds(store: Store, expected: Customer | None, **identifiers) -> None:
    """customer_find answers ``expected``, as the ORM does, field by field."""
    found = customer_find(store=store, **identifiers)
    orm = orm_find(store, **identifiers)
    if expected is None:
        assert found is None
        assert orm is None
        return
    assert found is not None
    assert orm is not None
    assert found.pk == orm.pk == expected.pk
    assert fields_of(found) == fields_of(orm)
    assert found._state.adding is False


@pytest.fixture
def ann(store) -> Customer:
    return CustomerFactory(
        store=store,
        email="Ann.Lee@Example.com",
        mobile="+919100000001",
        external_id="crm-ann",
    )


@pytest.fixture
def bob(store) -> Customer:
    return CustomerFactory(
        store=store,
        email="bob@example.com",
        mobile="+919100000002",
        external_id="crm-bob",
    )


@pytest.fixture
def ann_elsewhere(other_store, ann) -> Customer:
    """Another store's customer with ann's email, mobile and external id."""
    return CustomerFactory(
        store=other_store,
        email=ann.email,
        mobile=ann.mobile,
        external_id=ann.external_id,
    )


# --- one identifier -------------------------------------------------------------------


@pytest.mark.parametrize("name", IDENTIFIERS)
def test_each_identifier_alone_finds_the_customer(store, ann, bob, name):
    assert_finds(store, ann, **{name: identifiers_of(ann)[name]})
    assert_finds(store, bob, **{name: identifiers_of(bob)[name]})


@pytest.mark.parametrize(
    "email", ["ann.lee@example.com", "ANN.LEE@EXAMPLE.COM", "aNN.lEE@eXAMPLE.cOM"]
)
def test_email_matches_case_insensitively(store, ann, bob, email):
    assert_finds(store, ann, email=email)


def test_a_stored_lowercase_email_is_found_by_an_uppercase_one(store, bob):
    assert_finds(store, bob, email="BOB@EXAMPLE.COM")


@pytest.mark.parametrize(
    "identifiers",
    [
        {"customer_id": 1},
        {"email": "nobody@example.com"},
        {"email": "ann.lee@example"},
        {"email": ""},
        {"mobile": "+91910000000"},
        {"mobile": "+919100000001 "},
        {"external_id": "CRM-ANN"},
        {"external_id": ""},
    ],
    ids=repr,
)
def test_an_identifier_that_matches_no_customer_finds_none(store, ann, identifiers):
    assert_finds(store, None, **identifiers)


def test_only_email_folds_case(store, ann):
    # Mobile and external id are matched exactly.
    customer = CustomerFactory(store=store, mobile="ab-1", external_id="Crm-Mixed")

    assert_finds(store, customer, external_id="Crm-Mixed")
    assert_finds(store, None, external_id="crm-mixed")
    assert_finds(store, None, mobile="AB-1")


def test_customers_without_an_identifier_are_not_found_by_it(store):
    CustomerFactory(store=store, email=None, mobile=None, external_id=None)

    assert_finds(store, None, email="none@example.com")
    assert_finds(store, None, mobile="")


# --- several identifiers --------------------------------------------------------------


def test_all_identifiers_together_find_the_customer(store, ann, bob):
    assert_finds(store, ann, **identifiers_of(ann))
    assert_finds(store, ann, **(identifiers_of(ann) | {"email": "ANN.LEE@example.COM"}))


@pytest.mark.parametrize("name", IDENTIFIERS)
def test_one_mismatched_identifier_among_several_finds_none(store, ann, bob, name):
    # Every other identifier is ann's; this one is bob's.
    identifiers = identifiers_of(ann) | {name: identifiers_of(bob)[name]}

    assert_finds(store, None, **identifiers)


@pytest.mark.parametrize("name", IDENTIFIERS)
def test_one_unknown_identifier_among_several_finds_none(store, ann, name):
    unknown = {
        "customer_id": flake.next_id(),  # no customer has it
        "email": "nobody@example.com",
        "mobile": "+910000000000",
        "external_id": "crm-nobody",
    }
    identifiers = identifiers_of(ann) | {name: unknown[name]}

    assert_finds(store, None, **identifiers)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("email", "mobile"),
        ("mobile", "external_id"),
        ("customer_id", "email"),
        ("external_id", "customer_id"),
    ],
)
def test_two_identifiers_find_the_customer_having_both(store, ann, bob, first, second):
    ours = identifiers_of(bob)

    assert_finds(store, bob, **{first: ours[first], second: ours[second]})


def test_none_identifiers_are_not_conditions(store, ann):
    assert_finds(
        store,
        ann,
        email=None,
        mobile=ann.mobile,
        external_id=None,
        customer_id=None,
    )


# --- stores ---------------------------------------------------------------------------


def test_another_stores_customer_is_not_found(store, other_store):
    theirs = CustomerFactory(store=other_store)

    for name, given in identifiers_of(theirs).items():
        assert_finds(store, None, **{name: given})
    assert_finds(store, None, **identifiers_of(theirs))
    assert_finds(other_store, theirs, **identifiers_of(theirs))


def test_shared_identifiers_find_each_stores_own_customer(
    store, other_store, ann, ann_elsewhere
):
    for name in ("email", "mobile", "external_id"):
        given = {name: identifiers_of(ann)[name]}
        assert_finds(store, ann, **given)
        assert_finds(other_store, ann_elsewhere, **given)
    # The id is the one identifier they do not share.
    assert_finds(store, None, customer_id=ann_elsewhere.id)
    assert_finds(
        store, None, **(identifiers_of(ann) | {"customer_id": ann_elsewhere.id})
    )
    assert_finds(other_store, ann_elsewhere, **identifiers_of(ann_elsewhere))


# --- no identifiers -------------------------------------------------------------------


def test_no_identifiers_find_none_without_a_query(
    store, ann, django_assert_num_queries
):
    with django_assert_num_queries(0):
        assert customer_find(store=store) is None
        assert (
            customer_find(
                store=store, email=None, mobile=None, external_id=None, customer_id=None
            )
            is None
        )


# --- the loaded instance --------------------------------------------------------------


def test_the_found_customer_equals_the_orm_loaded_one_field_by_field(store):
    made = CustomerFactory(
        store=store,
        first_name="Zoë",
        last_name="",
        email="zoe@example.com",
        mobile=None,
        external_id=None,
    )

    found = customer_find(store=store, email="ZOE@example.com")

    stored = Customer.objects.get(pk=made.pk)
    assert fields_of(found) == fields_of(stored)
    assert found.mobile is None
    assert found.external_id is None
    assert found.store_id == store.id
    assert timezone.is_aware(found.created_at)
    assert timezone.is_aware(found.updated_at)
    assert found.created_at == made.created_at
    assert found.updated_at == made.updated_at
    assert found._state.db == "default"
