"""Native customers API: ``/v1/stores/{store_id}/customers[/{customer_id}]``."""

from __future__ import annotations

import re
from functools import partial

import pytest
from rest_framework.test import APIClient

from core.timefmt import iso_millis_z
from customers.models import Customer
from stores.scopes import COUPONS_READ
from tests.factories import ApiKeyFactory, CustomerFactory, RedemptionFactory
from tests.paynow import error_body, field_error, native_client, validation_error

TRACE = "trace-customers-1"
MILLIS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CUSTOMER_KEYS = [
    "id",
    "store_id",
    "first_name",
    "last_name",
    "email",
    "mobile",
    "external_id",
    "created_at",
    "updated_at",
]


def _list_url(store) -> str:
    return f"/v1/stores/{store.id}/customers"


def _item_url(store, customer_id) -> str:
    return f"/v1/stores/{store.id}/customers/{customer_id}"


_error = partial(error_body, trace=TRACE)


def _rendered(customer: Customer) -> dict:
    return {
        "id": str(customer.id),
        "store_id": str(customer.store_id),
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "mobile": customer.mobile,
        "external_id": customer.external_id,
        "created_at": iso_millis_z(customer.created_at),
        "updated_at": iso_millis_z(customer.updated_at),
    }


_client = partial(native_client, trace=TRACE)


@pytest.fixture
def api(api_key) -> APIClient:
    return _client(api_key)


@pytest.fixture
def reader(store) -> APIClient:
    return _client(ApiKeyFactory(store=store, scopes=[COUPONS_READ]))


def _ids(response) -> list[int]:
    return [int(item["id"]) for item in response.json()]


# --- create -------------------------------------------------------------------------


def test_create_answers_200_with_the_customer(api, store):
    response = api.post(
        _list_url(store),
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.com",
            "mobile": "+442079460958",
            "external_id": "crm-1",
        },
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    customer = Customer.objects.get()
    assert list(body) == CUSTOMER_KEYS
    assert body == _rendered(customer)
    assert body["store_id"] == str(store.id)
    assert (body["first_name"], body["last_name"]) == ("Ada", "Lovelace")
    assert (body["email"], body["mobile"], body["external_id"]) == (
        "ada@example.com",
        "+442079460958",
        "crm-1",
    )


def test_a_customer_renders_ids_as_strings_and_times_in_millis_z(api, store):
    body = api.post(_list_url(store), {"email": "a@example.com"}, format="json").json()

    assert isinstance(body["id"], str)
    assert body["id"].isdigit()
    assert isinstance(body["store_id"], str)
    assert MILLIS_Z.match(body["created_at"])
    assert MILLIS_Z.match(body["updated_at"])
    for key in ("first_name", "last_name"):
        assert body[key] == ""
    for key in ("mobile", "external_id"):
        assert body[key] is None


def test_create_with_an_empty_body_makes_a_customer_without_identifiers(api, store):
    response = api.post(_list_url(store), {}, format="json")

    assert response.status_code == 200
    assert response.json()["email"] is None


def test_empty_identifiers_are_stored_as_null_and_do_not_collide(api, store):
    first = api.post(
        _list_url(store), {"email": "", "mobile": "", "external_id": ""}, format="json"
    )
    second = api.post(
        _list_url(store), {"email": "", "mobile": "", "external_id": ""}, format="json"
    )

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["email"] is None
    assert second.json()["mobile"] is None
    assert second.json()["external_id"] is None
    assert Customer.objects.filter(store=store, email__isnull=True).count() == 2


def test_create_does_not_accept_id_or_store_from_the_body(api, store, other_store):
    response = api.post(
        _list_url(store),
        {"id": "123", "store_id": str(other_store.id), "email": "a@example.com"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["id"] != "123"
    assert response.json()["store_id"] == str(store.id)


def test_duplicate_email_in_another_letter_case_is_409(api, store):
    assert (
        api.post(_list_url(store), {"email": "A@x.com"}, format="json").status_code
        == 200
    )

    response = api.post(_list_url(store), {"email": "a@X.COM"}, format="json")

    assert response.status_code == 409
    assert response.json() == _error(
        409,
        "conflict",
        "A customer with this email already exists in this store.",
        [validation_error("email", "unique", "This email is already taken.")],
    )
    assert Customer.objects.filter(store=store).count() == 1


@pytest.mark.parametrize(
    ("field", "value"), [("mobile", "+15550100"), ("external_id", "crm-7")]
)
def test_duplicate_mobile_or_external_id_is_409(api, store, field, value):
    CustomerFactory(store=store, **{field: value})

    response = api.post(_list_url(store), {field: value}, format="json")

    assert response.status_code == 409
    assert response.json() == _error(
        409,
        "conflict",
        f"A customer with this {field} already exists in this store.",
        [validation_error(field, "unique", f"This {field} is already taken.")],
    )
    assert Customer.objects.filter(store=store).count() == 1


def test_every_taken_identifier_is_reported(api, store):
    CustomerFactory(store=store, email="a@example.com", mobile="+15550100")

    response = api.post(
        _list_url(store),
        {"email": "A@example.com", "mobile": "+15550100", "external_id": "new"},
        format="json",
    )

    assert response.status_code == 409
    assert [issue["path"] for issue in response.json()["errors"]] == [
        "email",
        "mobile",
    ]


def test_the_same_identifiers_in_another_store_are_fine(api, store, other_store):
    CustomerFactory(
        store=other_store, email="a@example.com", mobile="+15550100", external_id="x"
    )

    response = api.post(
        _list_url(store),
        {"email": "a@example.com", "mobile": "+15550100", "external_id": "x"},
        format="json",
    )

    assert response.status_code == 200


def test_an_invalid_email_is_400_with_its_path(api, store):
    response = api.post(_list_url(store), {"email": "not-an-email"}, format="json")

    assert response.status_code == 400
    assert response.json() == _error(
        400,
        "bad-request",
        "Invalid request: email: Enter a valid email address.",
        [validation_error("email", "invalid", "Enter a valid email address.")],
    )
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ({"email": 5}, "email", "Must be a string."),
        ({"first_name": 7}, "first_name", "Must be a string."),
        ({"last_name": ["x"]}, "last_name", "Must be a string."),
        ({"mobile": True}, "mobile", "Must be a string."),
        ({"external_id": 12}, "external_id", "Must be a string."),
        ({"first_name": None}, "first_name", "This field may not be null."),
        (
            {"mobile": "call me"},
            "mobile",
            "Must be a phone number: digits, optionally a leading +.",
        ),
        (
            {"first_name": "x" * 151},
            "first_name",
            "Ensure this field has no more than 150 characters.",
        ),
        (["a@example.com"], "$", "The body must be a JSON object."),
        ("a@example.com", "$", "The body must be a JSON object."),
    ],
)
def test_wrong_types_are_400_with_the_path(api, store, body, path, message):
    response = api.post(_list_url(store), body, format="json")

    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"status", "code", "message", "trace_id", "errors"}
    assert (body["status"], body["code"]) == (400, "bad-request")
    assert [(issue["path"], issue["message"]) for issue in body["errors"]] == [
        (path, message)
    ]
    assert not Customer.objects.exists()


def test_malformed_json_is_400(api, store):
    response = api.post(_list_url(store), '{"email": ', content_type="application/json")

    assert response.status_code == 400
    body = response.json()
    assert body == _error(400, "bad-request", body["message"])
    assert body["message"].startswith("JSON parse error")
    assert not Customer.objects.exists()


def test_a_non_json_body_is_415(api, store):
    response = api.post(
        _list_url(store), "email=a@example.com", content_type="text/plain"
    )

    assert response.status_code == 415
    assert response.json() == _error(
        415,
        "unsupported-media-type",
        'Unsupported media type "text/plain" in request.',
    )


# --- retrieve -----------------------------------------------------------------------


def test_get_returns_the_customer(api, store):
    customer = CustomerFactory(store=store)

    response = api.get(_item_url(store, customer.id))

    assert response.status_code == 200
    assert response.json() == _rendered(customer)


@pytest.mark.parametrize("customer_id", ["123456789", "abc", "0", "-5", "1.5"])
def test_an_unknown_or_malformed_customer_id_is_404(api, store, customer_id):
    response = api.get(_item_url(store, customer_id))

    assert response.status_code == 404
    assert response.json() == _error(404, "not-found", "Customer not found.")


def test_another_stores_customer_is_404_with_this_stores_key(api, store, other_store):
    theirs = CustomerFactory(store=other_store)

    responses = [
        api.get(_item_url(store, theirs.id)),
        api.patch(_item_url(store, theirs.id), {"first_name": "X"}, format="json"),
        api.delete(_item_url(store, theirs.id)),
    ]

    for response in responses:
        assert response.status_code == 404
        assert response.json() == _error(404, "not-found", "Customer not found.")
    theirs.refresh_from_db()
    assert theirs.first_name != "X"


# --- update -------------------------------------------------------------------------


def test_patch_is_a_delta_update(api, store):
    customer = CustomerFactory(
        store=store,
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.com",
        mobile="+15550100",
        external_id="crm-1",
    )

    response = api.patch(
        _item_url(store, customer.id), {"first_name": "Augusta"}, format="json"
    )

    assert response.status_code == 200
    customer.refresh_from_db()
    assert response.json() == _rendered(customer)
    assert (
        customer.first_name,
        customer.last_name,
        customer.email,
        customer.mobile,
        customer.external_id,
    ) == ("Augusta", "Lovelace", "ada@example.com", "+15550100", "crm-1")


def test_patch_can_set_the_email_to_null(api, store):
    customer = CustomerFactory(store=store, email="ada@example.com")

    response = api.patch(_item_url(store, customer.id), {"email": None}, format="json")

    assert response.status_code == 200
    assert response.json()["email"] is None
    customer.refresh_from_db()
    assert customer.email is None
    assert customer.mobile is not None


def test_patch_to_another_customers_email_is_409(api, store):
    CustomerFactory(store=store, email="taken@example.com")
    customer = CustomerFactory(store=store, email="mine@example.com")

    response = api.patch(
        _item_url(store, customer.id), {"email": "TAKEN@example.com"}, format="json"
    )

    assert response.status_code == 409
    assert response.json() == _error(
        409,
        "conflict",
        "A customer with this email already exists in this store.",
        [validation_error("email", "unique", "This email is already taken.")],
    )
    customer.refresh_from_db()
    assert customer.email == "mine@example.com"


def test_patch_to_its_own_email_in_another_case_is_fine(api, store):
    customer = CustomerFactory(store=store, email="mine@example.com")

    response = api.patch(
        _item_url(store, customer.id), {"email": "MINE@example.com"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["email"] == "MINE@example.com"


def test_patch_with_a_wrong_type_is_400_and_changes_nothing(api, store):
    customer = CustomerFactory(store=store, first_name="Ada")

    response = api.patch(
        _item_url(store, customer.id),
        {"first_name": "Augusta", "mobile": 5},
        format="json",
    )

    assert response.status_code == 400
    assert [issue["path"] for issue in response.json()["errors"]] == ["mobile"]
    customer.refresh_from_db()
    assert customer.first_name == "Ada"


def test_patch_an_unknown_customer_is_404(api, store):
    response = api.patch(_item_url(store, "123"), {"first_name": "X"}, format="json")

    assert response.status_code == 404
    assert response.json() == _error(404, "not-found", "Customer not found.")


def test_put_is_not_allowed(api, store):
    customer = CustomerFactory(store=store)

    response = api.put(_item_url(store, customer.id), {}, format="json")

    assert response.status_code == 405
    assert response.json() == _error(
        405, "method-not-allowed", 'Method "PUT" not allowed.'
    )


# --- delete -------------------------------------------------------------------------


def test_delete_answers_204_then_get_is_404(api, store):
    customer = CustomerFactory(store=store)

    response = api.delete(_item_url(store, customer.id))

    assert response.status_code == 204
    assert response.content == b""
    assert not Customer.objects.filter(id=customer.id).exists()
    again = api.get(_item_url(store, customer.id))
    assert again.status_code == 404
    assert again.json() == _error(404, "not-found", "Customer not found.")


def test_delete_a_customer_with_a_redemption_is_409(api, store):
    customer = CustomerFactory(store=store)
    RedemptionFactory(coupon__store=store, customer=customer)

    response = api.delete(_item_url(store, customer.id))

    assert response.status_code == 409
    assert response.json() == _error(
        409,
        "conflict",
        "This customer holds coupons or redemptions and cannot be deleted.",
    )
    assert Customer.objects.filter(id=customer.id).exists()


# --- scopes -------------------------------------------------------------------------


def test_a_read_only_key_can_list_and_get(reader, store):
    customer = CustomerFactory(store=store)

    assert reader.get(_list_url(store)).status_code == 200
    assert reader.get(_item_url(store, customer.id)).status_code == 200


def test_a_read_only_key_cannot_write(reader, store):
    customer = CustomerFactory(store=store, first_name="Ada")
    forbidden = _error(
        403, "forbidden", "This API key lacks the 'coupons:write' scope."
    )

    responses = [
        reader.post(_list_url(store), {"email": "a@example.com"}, format="json"),
        reader.patch(_item_url(store, customer.id), {"first_name": "X"}, format="json"),
        reader.delete(_item_url(store, customer.id)),
    ]

    for response in responses:
        assert response.status_code == 403
        assert response.json() == forbidden
    customer.refresh_from_db()
    assert customer.first_name == "Ada"
    assert Customer.objects.filter(store=store).count() == 1


# --- list ---------------------------------------------------------------------------


def test_list_is_a_bare_array_newest_first(api, store):
    customers = CustomerFactory.create_batch(3, store=store)

    response = api.get(_list_url(store))

    assert response.status_code == 200
    assert response.json() == [_rendered(c) for c in reversed(customers)]


def test_list_shows_only_this_stores_customers(api, store, other_store):
    mine = CustomerFactory(store=store)
    CustomerFactory(store=other_store)

    assert _ids(api.get(_list_url(store))) == [mine.id]


def test_list_limit_defaults_to_100(api, store):
    customers = CustomerFactory.create_batch(101, store=store)

    response = api.get(_list_url(store))

    assert _ids(response) == [c.id for c in reversed(customers)][:100]


@pytest.mark.parametrize("limit", [1, 2, 100])
def test_list_limit_cuts(api, store, limit):
    customers = CustomerFactory.create_batch(101, store=store)

    response = api.get(_list_url(store), {"limit": limit})

    assert response.status_code == 200
    assert _ids(response) == [c.id for c in reversed(customers)][:limit]


MIN_1 = "Ensure this value is greater than or equal to 1."
MAX_100 = "Ensure this value is less than or equal to 100."
NOT_INT = "A valid integer is required."
NOT_ID = "Must be a valid ID."


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        ({"limit": "0"}, "min_value", MIN_1),
        ({"limit": "101"}, "max_value", MAX_100),
        ({"limit": "-1"}, "min_value", MIN_1),
        ({"limit": "abc"}, "invalid", NOT_INT),
        ({"limit": ""}, "invalid", NOT_INT),
        ({"after": "abc"}, "invalid_id", NOT_ID),
        ({"after": "0"}, "invalid_id", NOT_ID),
        ({"after": "١٢٣"}, "invalid_id", NOT_ID),
        ({"before": "-3"}, "invalid_id", NOT_ID),
        ({"before": "1.5"}, "invalid_id", NOT_ID),
        ({"asc": "maybe"}, "invalid", "Must be a valid boolean."),
    ],
)
def test_list_rejects_bad_pagination_parameters(api, store, params, code, message):
    CustomerFactory(store=store)
    ((path, _),) = params.items()

    response = api.get(_list_url(store), params)

    assert response.status_code == 400
    assert response.json() == field_error(path, code, message, trace=TRACE)
    assert response.json()["errors"][0]["path"] == path


def test_list_after_keeps_ids_strictly_greater(api, store):
    customers = CustomerFactory.create_batch(5, store=store)
    pivot = customers[2]

    response = api.get(_list_url(store), {"after": str(pivot.id)})

    assert _ids(response) == [customers[4].id, customers[3].id]


def test_list_before_keeps_ids_strictly_less(api, store):
    customers = CustomerFactory.create_batch(5, store=store)

    response = api.get(_list_url(store), {"before": str(customers[2].id)})

    assert _ids(response) == [customers[1].id, customers[0].id]


def test_list_after_and_before_together_keep_the_ids_between(api, store):
    customers = CustomerFactory.create_batch(6, store=store)

    response = api.get(
        _list_url(store),
        {"after": str(customers[1].id), "before": str(customers[4].id), "asc": "true"},
    )

    assert _ids(response) == [customers[2].id, customers[3].id]


def test_list_asc_true_is_oldest_first(api, store):
    customers = CustomerFactory.create_batch(4, store=store)

    response = api.get(_list_url(store), {"asc": "true"})

    assert _ids(response) == [c.id for c in customers]


def test_list_asc_false_is_newest_first(api, store):
    customers = CustomerFactory.create_batch(4, store=store)

    response = api.get(_list_url(store), {"asc": "false"})

    assert _ids(response) == [c.id for c in reversed(customers)]


def test_list_after_an_id_that_is_no_customer_still_works(api, store):
    customers = CustomerFactory.create_batch(3, store=store)

    response = api.get(_list_url(store), {"after": "1", "asc": "true", "limit": 2})

    assert _ids(response) == [customers[0].id, customers[1].id]


def test_walking_pages_with_after_and_asc_visits_each_row_once(api, store):
    customers = CustomerFactory.create_batch(23, store=store)
    seen: list[int] = []
    params = {"asc": "true", "limit": 5}

    for _ in range(10):
        page = _ids(api.get(_list_url(store), params))
        if not page:
            break
        seen.extend(page)
        params["after"] = str(page[-1])

    assert seen == [c.id for c in customers]


def test_walking_pages_with_before_newest_first_visits_each_row_once(api, store):
    customers = CustomerFactory.create_batch(23, store=store)
    seen: list[int] = []
    params = {"limit": 5}

    for _ in range(10):
        page = _ids(api.get(_list_url(store), params))
        if not page:
            break
        seen.extend(page)
        params["before"] = str(page[-1])

    assert seen == [c.id for c in reversed(customers)]


@pytest.mark.parametrize("rows", [3, 50])
def test_list_query_count_does_not_grow_with_rows(
    api, store, rows, django_assert_num_queries
):
    CustomerFactory.create_batch(rows, store=store)

    # One to authenticate the key (with its store), one for the page.
    with django_assert_num_queries(2):
        response = api.get(_list_url(store))

    assert len(response.json()) == rows


@pytest.mark.parametrize("raw", ["null", "5", '"text"', "true"])
def test_a_json_body_that_is_not_an_object_is_400(api, store, raw):
    response = api.post(_list_url(store), raw, content_type="application/json")

    assert response.status_code == 400
    body = response.json()
    assert (body["status"], body["code"]) == (400, "bad-request")
    assert [issue["path"] for issue in body["errors"]] == ["$"]
    assert not Customer.objects.exists()


def test_patch_with_a_json_array_is_400_and_changes_nothing(api, store):
    customer = CustomerFactory(store=store, first_name="Ada")

    response = api.patch(_item_url(store, customer.id), ["x"], format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == [
        validation_error("$", "invalid", "The body must be a JSON object.")
    ]
    customer.refresh_from_db()
    assert customer.first_name == "Ada"
