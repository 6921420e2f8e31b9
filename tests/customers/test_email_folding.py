"""One folding of a customer's email (``customers.identifiers.fold_email``), stored in
``email_folded`` and compared only there: in every dialect that takes an email, the
native API, the admin and the import (issue 16, item 5)."""

from __future__ import annotations

import unicodedata
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from assignments.models import Assignment
from coupons.models import Redemption
from customers.identifiers import fold_email
from customers.models import Customer
from tests.factories import (
    AssignmentFactory,
    CouponFactory,
    CustomerFactory,
    RedemptionFactory,
)
from tests.paynow import error_body, native_client, validation_error
from tests.series.conftest import ISSUE_URL, make_series
from tests.series.conftest import capillary_client as capillary

pytestmark = pytest.mark.django_db

TRACE = "trace-email-folding"
TURKISH = "a@İstanbul.com"
# The same address typed otherwise: upper case, and İ written as i + U+0307 (what
# Python's lower() makes of İ), and an é composed vs decomposed.
SAME_AS_TURKISH = ["a@İstanbul.com", "A@İSTANBUL.COM", "a@i\u0307stanbul.com"]
# Different addresses: a plain i, a dotless i (U+0131).
NOT_TURKISH = ["a@istanbul.com", "a@\u0131stanbul.com"]


@pytest.fixture
def api(api_key) -> APIClient:
    return native_client(api_key, trace=TRACE)


def create(api, store, email: str):
    return api.post(f"/v1/stores/{store.id}/customers", {"email": email}, format="json")


CONFLICT = error_body(
    409,
    "conflict",
    "A customer with this email already exists in this store.",
    [validation_error("email", "unique", "This email is already taken.")],
    trace=TRACE,
)


# --- the function -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "folded"),
    [
        ("Ann.Lee@Example.COM", "ann.lee@example.com"),
        ("a@İstanbul.com", "a@i\u0307stanbul.com"),
        ("A@İSTANBUL.COM", "a@i\u0307stanbul.com"),
        ("a@\u0131stanbul.com", "a@\u0131stanbul.com"),
        ("STRAßE@x.de", "straße@x.de"),
        ("ﬁsh@x.com", "ﬁsh@x.com"),
        ("E\u0301lise@x.fr", "élise@x.fr"),
        ("ÉLISE@X.FR", "élise@x.fr"),
    ],
)
def test_fold_email_lowercases_and_composes_and_nothing_more(email, folded):
    assert fold_email(email) == folded
    assert fold_email(folded) == folded
    assert unicodedata.is_normalized("NFC", fold_email(email))


# --- native API: the second create is a 409, never a 500 -------------------------


@pytest.mark.parametrize("second", SAME_AS_TURKISH)
def test_second_create_of_the_same_email_in_any_spelling_is_409(api, store, second):
    assert create(api, store, TURKISH).status_code == 200

    response = create(api, store, second)

    assert response.status_code == 409
    assert response.json() == CONFLICT
    assert Customer.objects.filter(store=store).count() == 1


@pytest.mark.parametrize("other", NOT_TURKISH)
def test_a_dotless_or_plain_i_is_another_address(api, store, other):
    assert create(api, store, TURKISH).status_code == 200

    response = create(api, store, other)

    assert response.status_code == 200
    assert response.json()["email"] == other
    assert Customer.objects.filter(store=store).count() == 2


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        # (Django's validator takes non-ASCII letters in the domain only.)
        ("x@STRASSE.de", "x@straße.de", False),
        ("x@fish.com", "x@ﬁsh.com", False),
        ("x@E\u0301cole.fr", "x@école.fr", True),
        ("Mixed.Case@Example.com", "mixed.case@EXAMPLE.COM", True),
    ],
)
def test_only_case_and_composition_make_two_emails_one(api, store, first, second, same):
    assert create(api, store, first).status_code == 200

    response = create(api, store, second)

    assert response.status_code == (409 if same else 200)
    assert Customer.objects.filter(store=store).count() == (1 if same else 2)


def test_the_email_is_shown_as_given_and_stored_folded(api, store):
    response = create(api, store, "A@İSTANBUL.COM")

    assert response.json()["email"] == "A@İSTANBUL.COM"
    customer = Customer.objects.get(pk=int(response.json()["id"]))
    assert (customer.email, customer.email_folded) == (
        "A@İSTANBUL.COM",
        "a@i\u0307stanbul.com",
    )


def test_patch_to_the_same_email_in_another_spelling_is_409(api, store):
    CustomerFactory(store=store, email=TURKISH)
    other = CustomerFactory(store=store, email="b@example.com")

    response = api.patch(
        f"/v1/stores/{store.id}/customers/{other.id}",
        {"email": "A@İSTANBUL.COM"},
        format="json",
    )

    assert response.status_code == 409
    assert response.json() == CONFLICT
    other.refresh_from_db()
    assert (other.email, other.email_folded) == ("b@example.com", "b@example.com")


def test_patch_of_the_email_keeps_the_folded_form_and_finds_it(api, store):
    customer = CustomerFactory(store=store, email="b@example.com")

    response = api.patch(
        f"/v1/stores/{store.id}/customers/{customer.id}",
        {"email": "A@İSTANBUL.COM"},
        format="json",
    )

    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.email_folded == "a@i\u0307stanbul.com"
    assert create(api, store, TURKISH).status_code == 409
    assert create(api, store, "b@example.com").status_code == 200


# --- Capillary v1.1: GET /v1.1/customer/coupons?email= ---------------------------


@pytest.mark.parametrize("sent", SAME_AS_TURKISH)
def test_v11_customer_coupons_finds_the_customer_by_its_email(store, api_key, sent):
    customer = CustomerFactory(store=store, email=TURKISH, mobile="9000000001")
    coupon = CouponFactory(store=store, code="TR-1")
    AssignmentFactory(store=store, coupon=coupon, customer=customer)

    response = capillary(api_key).get("/v1.1/customer/coupons", {"email": sent})

    assert response.status_code == 200, response.content
    (found,) = response.json()["response"]["customers"]["customer"]
    assert found["email"] == TURKISH
    assert [c["code"] for c in found["coupons"]["coupon"]] == ["TR-1"]


@pytest.mark.parametrize("sent", NOT_TURKISH)
def test_v11_customer_coupons_does_not_fold_i_and_dotless_i(store, api_key, sent):
    CustomerFactory(store=store, email=TURKISH)

    response = capillary(api_key).get("/v1.1/customer/coupons", {"email": sent})

    assert response.status_code == 400
    item = response.json()["response"]["customers"]["customer"][0]
    assert item["item_status"]["code"] == 701


# --- Capillary v1.1: POST /v1.1/coupon/redeem with the customer's email ----------


def test_v11_redeem_finds_the_customer_by_its_email(store, api_key):
    customer = CustomerFactory(store=store, email=TURKISH)
    CouponFactory(store=store, code="REDEEM-TR", discount_type="amount")

    response = capillary(api_key).post(
        "/v1.1/coupon/redeem",
        {
            "root": {
                "coupon": [
                    {
                        "code": "REDEEM-TR",
                        "customer": {"email": "A@İSTANBUL.COM"},
                        "transaction": [{"number": "T-1", "amount": "100.00"}],
                    }
                ]
            }
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    assert Redemption.objects.get().customer_id == customer.id


# --- Capillary v2: POST /v2/coupon/issue/multiple with an email identifier -------


@pytest.mark.parametrize("sent", SAME_AS_TURKISH)
def test_v2_issue_finds_the_customer_by_its_email(store, api_key, settings, sent):
    settings.SERIES_POOL_TARGET, settings.SERIES_POOL_LOW = 20, 5
    customer = CustomerFactory(store=store, email=TURKISH, mobile=None)
    series = make_series(store)

    response = capillary(api_key).post(
        ISSUE_URL,
        {"seriesId": series.id, "count": 1, "customer": {"email": sent}},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["customer"]["id"] == customer.compact_id
    assert Assignment.objects.get(series=series).customer_id == customer.id


def test_v2_issue_does_not_fold_dotless_i(store, api_key, settings):
    settings.SERIES_POOL_TARGET, settings.SERIES_POOL_LOW = 20, 5
    CustomerFactory(store=store, email=TURKISH)
    series = make_series(store)

    response = capillary(api_key).post(
        ISSUE_URL,
        {
            "seriesId": series.id,
            "count": 1,
            "customer": {"email": "a@\u0131stanbul.com"},
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == 701
    assert not Assignment.objects.exists()


# --- import_customers -------------------------------------------------------------


def _import(tmp_path, store, text: str) -> str:
    path = tmp_path / "customers.csv"
    path.write_text(text, encoding="utf-8")
    out = StringIO()
    call_command("import_customers", "--store", str(store.id), str(path), stdout=out)
    return out.getvalue()


def test_import_rerun_with_a_turkish_email_changes_nothing(tmp_path, store):
    text = f"first_name,email\nAyla,{TURKISH}\n"

    first = _import(tmp_path, store, text)
    again = _import(tmp_path, store, text)

    assert "created 1, updated 0, unchanged 0, rejected 0" in first
    assert "created 0, updated 0, unchanged 1, rejected 0" in again
    customer = Customer.objects.get(store=store)
    assert (customer.email, customer.email_folded) == (TURKISH, fold_email(TURKISH))


def test_import_matches_an_api_customer_by_its_email_in_another_case(tmp_path, store):
    customer = CustomerFactory(store=store, email=TURKISH, first_name="Old")

    output = _import(tmp_path, store, "first_name,email\nNew,A@İSTANBUL.COM\n")

    assert "created 0, updated 1, unchanged 0, rejected 0" in output
    customer.refresh_from_db()
    assert (customer.first_name, customer.email) == ("New", "A@İSTANBUL.COM")
    assert customer.email_folded == fold_email(TURKISH)
    assert Customer.objects.filter(store=store).count() == 1


# --- the admin --------------------------------------------------------------------


@pytest.mark.parametrize("term", SAME_AS_TURKISH)
def test_admin_customer_search_finds_the_email_in_any_spelling(admin_client, term):
    customer = CustomerFactory(email=TURKISH)
    CustomerFactory(email="a@istanbul.com")

    response = admin_client.get(
        reverse("admin:customers_customer_changelist"), {"q": term}
    )

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [customer]


@pytest.mark.parametrize(
    "changelist",
    ["admin:coupons_redemption_changelist", "admin:assignments_assignment_changelist"],
)
def test_admin_holdings_search_finds_them_by_the_customers_email(
    admin_client, changelist
):
    customer = CustomerFactory(email=TURKISH)
    coupon = CouponFactory(store=customer.store)
    redemption = RedemptionFactory(
        store=customer.store, coupon=coupon, customer=customer
    )
    assignment = AssignmentFactory(
        store=customer.store, coupon=coupon, customer=customer
    )
    expected = redemption if "redemption" in changelist else assignment

    response = admin_client.get(reverse(changelist), {"q": "A@İSTANBUL.COM"})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [expected]


def test_admin_change_form_refuses_the_same_email_in_another_spelling(admin_client):
    taken = CustomerFactory(email=TURKISH)
    other = CustomerFactory(store=taken.store, email="b@example.com")

    response = admin_client.post(
        reverse("admin:customers_customer_change", args=[other.pk]),
        {
            "first_name": other.first_name,
            "last_name": other.last_name,
            "email": "A@İSTANBUL.COM",
            "mobile": other.mobile or "",
            "external_id": other.external_id or "",
        },
    )

    assert response.status_code == 200
    assert "A customer with this email already exists." in response.content.decode()
    other.refresh_from_db()
    assert other.email == "b@example.com"


# --- every ORM write keeps the folded form ----------------------------------------


def test_every_orm_write_of_the_email_writes_its_folded_form(store):
    customer = Customer.objects.create(store=store, email="One@X.com")
    assert Customer.objects.get(pk=customer.pk).email_folded == "one@x.com"

    customer.email = "TWO@X.com"
    customer.save(update_fields=["email"])
    assert Customer.objects.get(pk=customer.pk).email_folded == "two@x.com"

    Customer.objects.filter(pk=customer.pk).update(email="ThreE@X.com")
    assert Customer.objects.get(pk=customer.pk).email_folded == "three@x.com"

    customer.email = "FOUR@X.com"
    Customer.objects.bulk_update([customer], ["email"])
    assert Customer.objects.get(pk=customer.pk).email_folded == "four@x.com"

    [made] = Customer.objects.bulk_create([Customer(store=store, email="Five@X.com")])
    assert Customer.objects.get(pk=made.pk).email_folded == "five@x.com"

    Customer.objects.filter(pk=made.pk).update(email=None)
    assert Customer.objects.get(pk=made.pk).email_folded is None


# --- issue_to_customers -------------------------------------------------------------


def test_issue_to_customers_finds_a_turkish_email_in_another_case(
    tmp_path, store, settings
):
    settings.SERIES_POOL_TARGET, settings.SERIES_POOL_LOW = 20, 5
    customer = CustomerFactory(store=store, email=TURKISH, mobile=None)
    CustomerFactory(store=store, email="a@istanbul.com", mobile=None)
    series = make_series(store)
    path = tmp_path / "list.csv"
    path.write_text("email\nA@İSTANBUL.COM\na@\u0131stanbul.com\n", encoding="utf-8")

    out = StringIO()
    call_command(
        "issue_to_customers", "--series", str(series.id), str(path), stdout=out
    )

    assert "issued 1, already issued 0, rejected 1" in out.getvalue()
    assert list(
        Assignment.objects.filter(series=series).values_list("customer_id", flat=True)
    ) == [customer.id]
