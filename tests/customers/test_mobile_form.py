"""A mobile is digits with an optional leading +, in every writer (attack report 16).

Mobiles are compared exactly as stored (customers.identifiers), so a separator kept
as given made a customer no other dialect's lookup of the digits could find: the
native API and the CSV import now refuse it, by one rule (``is_mobile``).
"""

from __future__ import annotations

from functools import partial
from io import StringIO

import pytest
from django.core.management import call_command

from customers.identifiers import MOBILE_MESSAGE
from customers.models import Customer
from tests.factories import CustomerFactory
from tests.paynow import field_error, native_client
from tests.series.conftest import capillary_client

pytestmark = pytest.mark.django_db

TRACE = "trace-mobile-1"

REFUSED = [
    "+1 (555) 123",
    "+44 20 7946 0958",
    "555-0100",
    "555.0100",
    "(555)0100",
    "++1555123",
    "1555+123",
    "+",
    "12",
    "1" * 32,
    "\u0661\u0662\u0663\u0664",  # Arabic-Indic digits: not ASCII
    "555\u00a00100",
]
TAKEN = ["123", "+1555123", "00447700900123", "+" + "9" * 31]


def _url(store, customer_id=None) -> str:
    tail = f"/{customer_id}" if customer_id else ""
    return f"/v1/stores/{store.id}/customers{tail}"


REFUSED_BODY = field_error("mobile", "invalid", MOBILE_MESSAGE, trace=TRACE)


@pytest.fixture
def api(api_key):
    return native_client(api_key, trace=TRACE)


@pytest.mark.parametrize("mobile", REFUSED)
def test_create_refuses_a_mobile_that_is_not_digits_with_a_leading_plus(
    api, store, mobile
):
    response = api.post(_url(store), {"mobile": mobile}, format="json")

    assert response.status_code == 400
    assert response.json() == REFUSED_BODY
    assert not Customer.objects.exists()


def test_update_refuses_a_mobile_with_separators_and_keeps_the_old_one(api, store):
    customer = CustomerFactory(store=store, mobile="+1555123")

    response = api.patch(
        _url(store, customer.id), {"mobile": "+1 (555) 123"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == REFUSED_BODY
    customer.refresh_from_db()
    assert customer.mobile == "+1555123"


@pytest.mark.parametrize("mobile", TAKEN)
def test_create_stores_a_mobile_of_digits_as_given(api, store, mobile):
    response = api.post(_url(store), {"mobile": mobile}, format="json")

    assert response.status_code == 200
    assert response.json()["mobile"] == mobile
    assert Customer.objects.get().mobile == mobile


def test_a_mobile_created_natively_is_found_by_a_capillary_lookup(api, store, api_key):
    created = api.post(_url(store), {"mobile": "+1555123"}, format="json").json()
    customer = Customer.objects.get(id=int(created["id"]))

    response = capillary_client(api_key).get(
        "/v1.1/customer/coupons", {"mobile": "+1555123"}
    )

    assert response.status_code == 200
    (found,) = response.json()["response"]["customers"]["customer"]
    assert (found["id"], found["mobile"]) == (str(customer.compact_id), "+1555123")


def test_a_mobile_stored_with_separators_before_is_still_found_as_stored(
    store, api_key
):
    # Written before the rule (no migration rewrites it): compared exactly as ever.
    customer = CustomerFactory(store=store, mobile="+1 (555) 123")
    lookup = partial(capillary_client(api_key).get, "/v1.1/customer/coupons")

    response = lookup({"mobile": "+1 (555) 123"})

    assert response.status_code == 200
    (found,) = response.json()["response"]["customers"]["customer"]
    assert found["id"] == str(customer.compact_id)
    assert lookup({"mobile": "+1555123"}).status_code == 400


def _import(store, tmp_path, text: str) -> tuple[str, str]:
    path = tmp_path / "customers.csv"
    path.write_text(text, encoding="utf-8")
    out = StringIO()
    call_command("import_customers", "--store", str(store.id), str(path), stdout=out)
    report = tmp_path / "customers.csv.rejected.csv"
    return out.getvalue(), report.read_text() if report.exists() else ""


@pytest.mark.parametrize("mobile", REFUSED)
def test_the_import_refuses_what_the_api_refuses(store, tmp_path, mobile):
    text = f'email,mobile\na@example.com,"{mobile}"\n'
    output, report = _import(store, tmp_path, text)

    assert "created 0, updated 0, unchanged 0, rejected 1" in output
    assert report.splitlines()[1:] == [f"2,invalid mobile {mobile!r}"]
    assert not Customer.objects.exists()


@pytest.mark.parametrize("mobile", TAKEN)
def test_the_import_takes_what_the_api_takes(store, tmp_path, mobile):
    output, report = _import(store, tmp_path, f"mobile\n{mobile}\n")

    assert report == ""
    assert "created 1, updated 0, unchanged 0, rejected 0" in output
    assert Customer.objects.get().mobile == mobile
