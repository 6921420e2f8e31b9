"""Every API-key header form, through DRF views and the real database.

The Shoplazza, Capillary and NewStore forms have no endpoints yet, so this module is
also a URL conf (``pytestmark`` below) with one small view per form; the PayNow form
is tested through the real customers endpoints, which this URL conf includes.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from functools import partial

import pytest
import time_machine
from django.core import signing
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from core.dialects.paynow import PAYNOW
from stores import services
from stores.auth import (
    CapillaryBasicAuthentication,
    CapillaryOAuthAuthentication,
    HasScope,
    IsApiKey,
    NewStoreAuthentication,
    PayNowAuthentication,
    ShoplazzaAuthentication,
    capillary_token_for,
)
from stores.models import ApiKey
from stores.scopes import COUPONS_READ, COUPONS_WRITE, PRICE_RULES
from tests.factories import ApiKeyFactory, CustomerFactory, StoreFactory
from tests.paynow import error_body

pytestmark = pytest.mark.urls(__name__)

TRACE = "trace-auth-1"


class _WhoAmI(APIView):
    dialect = PAYNOW
    permission_classes = [IsApiKey, HasScope]
    scope = PRICE_RULES

    def get(self, request):
        return Response(
            {"key_id": request.auth.key_id, "store_id": str(request.auth.store_id)}
        )


def _view(auth_class):
    return type(
        f"WhoAmI{auth_class.__name__}",
        (_WhoAmI,),
        {"authentication_classes": [auth_class]},
    ).as_view()


urlpatterns = [
    path("t/paynow", _view(PayNowAuthentication)),
    path("t/shoplazza", _view(ShoplazzaAuthentication)),
    path("t/capillary-basic", _view(CapillaryBasicAuthentication)),
    path("t/capillary-oauth", _view(CapillaryOAuthAuthentication)),
    path("t/newstore", _view(NewStoreAuthentication)),
    path("", include("customers.api.urls")),
]


def _md5(secret: str) -> str:
    return hashlib.md5(secret.encode(), usedforsecurity=False).hexdigest()


def _basic(key_id: str, secret: str) -> str:
    raw = f"{key_id}:{_md5(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


# Each form: (url, header builder from (key_id, secret) -> {META name: value}).
FORMS = {
    "paynow-apikey": (
        "/t/paynow",
        lambda key_id, secret: {"HTTP_AUTHORIZATION": f"APIKey {key_id}.{secret}"},
    ),
    "paynow-bare": (
        "/t/paynow",
        lambda key_id, secret: {"HTTP_AUTHORIZATION": f"{key_id}.{secret}"},
    ),
    "shoplazza": (
        "/t/shoplazza",
        lambda key_id, secret: {"HTTP_ACCESS_TOKEN": f"{key_id}.{secret}"},
    ),
    "capillary-basic": (
        "/t/capillary-basic",
        lambda key_id, secret: {"HTTP_AUTHORIZATION": _basic(key_id, secret)},
    ),
    "newstore": (
        "/t/newstore",
        lambda key_id, secret: {"HTTP_AUTHORIZATION": f"Bearer {key_id}.{secret}"},
    ),
}

WWW_AUTHENTICATE = {
    "/t/paynow": 'APIKey realm="api"',
    "/t/shoplazza": "Access-Token",
    "/t/capillary-basic": 'Basic realm="api"',
    "/t/capillary-oauth": "X-CAP-API-OAUTH-TOKEN",
    "/t/newstore": 'Bearer realm="api"',
}

WRONG_SECRET_MESSAGE = {
    "/t/capillary-basic": "Authentication failed. Please check username and password.",
}


_paynow_error = partial(error_body, trace=TRACE)


def _unauthorized(message: str) -> dict:
    return _paynow_error(401, "unauthorized", message)


def _get(url: str, **headers):
    return APIClient().get(url, HTTP_X_REQUEST_ID=TRACE, **headers)


def _assert_401(response, url: str, message: str) -> None:
    assert response.status_code == 401
    assert response.json() == _unauthorized(message)
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE[url]


@pytest.fixture
def key(store) -> ApiKey:
    return ApiKeyFactory(store=store, scopes=[PRICE_RULES])


# --- every form: good, wrong secret, unknown key, revoked, missing -------------------


@pytest.mark.parametrize("form", FORMS)
def test_a_good_credential_is_accepted(form, key):
    url, header = FORMS[form]

    response = _get(url, **header(key.key_id, key.secret))

    assert response.status_code == 200
    assert response.json() == {"key_id": key.key_id, "store_id": str(key.store_id)}


@pytest.mark.parametrize("form", FORMS)
def test_a_wrong_secret_is_401(form, key):
    url, header = FORMS[form]

    response = _get(url, **header(key.key_id, key.secret + "x"))

    _assert_401(response, url, WRONG_SECRET_MESSAGE.get(url, "Invalid API key."))


@pytest.mark.parametrize("form", FORMS)
def test_another_keys_secret_is_401(form, key):
    url, header = FORMS[form]
    other = ApiKeyFactory(store=key.store, scopes=[PRICE_RULES])

    response = _get(url, **header(key.key_id, other.secret))

    _assert_401(response, url, WRONG_SECRET_MESSAGE.get(url, "Invalid API key."))


@pytest.mark.parametrize("form", FORMS)
def test_an_unknown_key_id_is_401(form, key):
    url, header = FORMS[form]

    response = _get(url, **header("chk_doesnotexist", key.secret))

    _assert_401(response, url, WRONG_SECRET_MESSAGE.get(url, "Invalid API key."))


@pytest.mark.parametrize("form", FORMS)
def test_a_revoked_key_is_401(form, key):
    url, header = FORMS[form]
    services.api_key_revoke(key_id=key.key_id)

    response = _get(url, **header(key.key_id, key.secret))

    _assert_401(response, url, "This API key has been revoked.")


@pytest.mark.parametrize("url", sorted(WWW_AUTHENTICATE))
def test_a_missing_header_is_401(db, url):
    response = _get(url)

    _assert_401(response, url, "Authentication credentials were not provided.")


@pytest.mark.parametrize("form", FORMS)
def test_a_key_without_the_views_scope_is_403(form, store):
    url, header = FORMS[form]
    key = ApiKeyFactory(store=store, scopes=[COUPONS_READ, COUPONS_WRITE])

    response = _get(url, **header(key.key_id, key.secret))

    assert response.status_code == 403
    assert response.json() == _paynow_error(
        403, "forbidden", "This API key lacks the 'price_rules' scope."
    )


# --- form-specific details ------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "header", "message"),
    [
        ("/t/paynow", "Bearer abc.def", "Use 'Authorization: APIKey <token>'."),
        ("/t/paynow", "APIKey", "Invalid API key."),
        ("/t/paynow", "APIKey nodot", "Invalid API key."),
        ("/t/newstore", "APIKey abc.def", "Use 'Authorization: Bearer <token>'."),
        ("/t/newstore", "abc.def", "Use 'Authorization: Bearer <token>'."),
        ("/t/capillary-basic", "Bearer abc.def", "Use HTTP Basic authentication."),
        ("/t/capillary-basic", "Basic !!!notbase64", "Invalid Basic credentials."),
        (
            "/t/capillary-basic",
            "Basic " + base64.b64encode(b"no-colon-here").decode(),
            "Authentication failed. Please check username and password.",
        ),
    ],
)
def test_a_malformed_authorization_header_is_401(db, url, header, message):
    response = _get(url, HTTP_AUTHORIZATION=header)

    _assert_401(response, url, message)


def test_paynow_apikey_scheme_is_case_insensitive(key):
    response = _get("/t/paynow", HTTP_AUTHORIZATION=f"apikey {key.token}")

    assert response.status_code == 200


def test_capillary_basic_sends_md5_of_the_secret_not_the_secret(key):
    raw = f"{key.key_id}:{key.secret}".encode()

    response = _get(
        "/t/capillary-basic",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(raw).decode(),
    )

    _assert_401(
        response,
        "/t/capillary-basic",
        "Authentication failed. Please check username and password.",
    )


def test_capillary_basic_accepts_an_uppercase_md5(key):
    raw = f"{key.key_id}:{_md5(key.secret).upper()}".encode()

    response = _get(
        "/t/capillary-basic",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(raw).decode(),
    )

    assert response.status_code == 200


# --- Capillary OAuth token ------------------------------------------------------------

T0 = datetime(2025, 10, 8, 15, 51, 7, tzinfo=UTC)


def _oauth(token: str):
    return _get("/t/capillary-oauth", HTTP_X_CAP_API_OAUTH_TOKEN=token)


def test_capillary_oauth_token_is_accepted(key):
    response = _oauth(capillary_token_for(key))

    assert response.status_code == 200
    assert response.json() == {"key_id": key.key_id, "store_id": str(key.store_id)}


def test_capillary_oauth_token_lives_300_seconds(key):
    with time_machine.travel(T0, tick=False) as traveller:
        token = capillary_token_for(key)
        traveller.shift(300)
        assert _oauth(token).status_code == 200

        traveller.shift(1)
        response = _oauth(token)

    _assert_401(response, "/t/capillary-oauth", "The OAuth token has expired.")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),
        lambda token: "x" + token,
        lambda token: token.split(":")[0],
        lambda token: "not-a-token",
    ],
)
def test_a_tampered_capillary_oauth_token_is_401(key, tamper):
    response = _oauth(tamper(capillary_token_for(key)))

    _assert_401(response, "/t/capillary-oauth", "Invalid OAuth token.")


def test_a_capillary_oauth_token_signed_with_another_salt_is_401(key):
    response = _oauth(signing.dumps(key.key_id, compress=True))

    _assert_401(response, "/t/capillary-oauth", "Invalid OAuth token.")


def test_a_capillary_oauth_token_of_an_unknown_key_is_401(key):
    token = capillary_token_for(ApiKey(key_id="chk_doesnotexist"))

    response = _oauth(token)

    _assert_401(response, "/t/capillary-oauth", "Invalid OAuth token.")


def test_a_capillary_oauth_token_of_a_revoked_key_is_401(key):
    token = capillary_token_for(key)
    services.api_key_revoke(key_id=key.key_id)

    response = _oauth(token)

    _assert_401(response, "/t/capillary-oauth", "This API key has been revoked.")


def test_a_capillary_oauth_token_without_the_scope_is_403(store):
    key = ApiKeyFactory(store=store, scopes=[COUPONS_READ])

    response = _oauth(capillary_token_for(key))

    assert response.status_code == 403
    assert response.json() == _paynow_error(
        403, "forbidden", "This API key lacks the 'price_rules' scope."
    )


# --- PayNow form through the real customers endpoints ---------------------------------


def _customers(store_id) -> str:
    return f"/v1/stores/{store_id}/customers"


def _client(authorization: str | None) -> APIClient:
    api = APIClient()
    headers = {"HTTP_X_REQUEST_ID": TRACE}
    if authorization is not None:
        headers["HTTP_AUTHORIZATION"] = authorization
    api.credentials(**headers)
    return api


@pytest.fixture
def full_key(store) -> ApiKey:
    return ApiKeyFactory(store=store)


@pytest.mark.parametrize("scheme", ["APIKey ", ""])
def test_customers_accept_the_paynow_header_forms(full_key, scheme):
    response = _client(f"{scheme}{full_key.token}").get(_customers(full_key.store_id))

    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "Authentication credentials were not provided."),
        ("APIKey chk_doesnotexist.secret", "Invalid API key."),
        ("Bearer abc.def", "Use 'Authorization: APIKey <token>'."),
    ],
)
def test_customers_without_a_valid_key_are_401(store, authorization, message):
    response = _client(authorization).get(_customers(store.id))

    assert response.status_code == 401
    assert response.json() == _unauthorized(message)
    assert response["WWW-Authenticate"] == 'APIKey realm="api"'


def test_customers_with_a_wrong_secret_are_401(full_key):
    response = _client(f"APIKey {full_key.key_id}.wrong").get(
        _customers(full_key.store_id)
    )

    assert response.status_code == 401
    assert response.json() == _unauthorized("Invalid API key.")


def test_customers_with_a_revoked_key_are_401_and_write_nothing(full_key):
    services.api_key_revoke(key_id=full_key.key_id)

    response = _client(f"APIKey {full_key.token}").post(
        _customers(full_key.store_id), {"email": "a@example.com"}, format="json"
    )

    assert response.status_code == 401
    assert response.json() == _unauthorized("This API key has been revoked.")
    assert not full_key.store.customers.exists()


def test_the_error_body_has_exactly_the_paynow_keys(store):
    response = APIClient().get(_customers(store.id))

    body = response.json()
    assert set(body) == {"status", "code", "message", "trace_id", "errors"}
    assert body["status"] == 401
    assert body["code"] == "unauthorized"
    assert isinstance(body["trace_id"], str)
    assert len(body["trace_id"]) == 32
    assert body["errors"] is None


def test_a_read_only_key_cannot_create_a_customer(store):
    key = ApiKeyFactory(store=store, scopes=[COUPONS_READ])

    response = _client(f"APIKey {key.token}").post(
        _customers(store.id), {"email": "a@example.com"}, format="json"
    )

    assert response.status_code == 403
    assert response.json() == _paynow_error(
        403, "forbidden", "This API key lacks the 'coupons:write' scope."
    )
    assert not store.customers.exists()


def test_a_write_only_key_cannot_list_customers(store):
    key = ApiKeyFactory(store=store, scopes=[COUPONS_WRITE])

    response = _client(f"APIKey {key.token}").get(_customers(store.id))

    assert response.status_code == 403
    assert response.json() == _paynow_error(
        403, "forbidden", "This API key lacks the 'coupons:read' scope."
    )


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_key_of_store_a_on_store_bs_path_is_403(full_key, other_store, method):
    response = getattr(_client(f"APIKey {full_key.token}"), method)(
        _customers(other_store.id), {"email": "a@example.com"}, format="json"
    )

    assert response.status_code == 403
    assert response.json() == _paynow_error(
        403, "forbidden", "This API key does not belong to this store."
    )
    assert not other_store.customers.exists()


def test_a_key_of_store_a_on_store_bs_customer_is_403(full_key, other_store):
    customer = CustomerFactory(store=other_store)

    response = _client(f"APIKey {full_key.token}").get(
        f"{_customers(other_store.id)}/{customer.id}"
    )

    assert response.status_code == 403
    assert response.json() == _paynow_error(
        403, "forbidden", "This API key does not belong to this store."
    )


@pytest.mark.parametrize("store_id", ["abc", "0", "-1", "%20", "99999999999999999999"])
def test_a_malformed_or_unknown_store_id_in_the_path_is_403(full_key, store_id):
    response = _client(f"APIKey {full_key.token}").get(_customers(store_id))

    assert response.status_code == 403
    assert response.json() == _paynow_error(
        403, "forbidden", "This API key does not belong to this store."
    )


def test_a_store_id_with_a_leading_zero_is_not_the_store(full_key):
    response = _client(f"APIKey {full_key.token}").get(
        _customers(f"0{full_key.store_id}")
    )

    assert response.status_code == 403


def test_a_key_of_an_inactive_store_is_403(db):
    store = StoreFactory(is_active=False)
    key = ApiKeyFactory(store=store)

    response = _client(f"APIKey {key.token}").get(_customers(store.id))

    assert response.status_code == 403
    assert response.json() == _paynow_error(403, "forbidden", "store is not active")


def test_a_store_deactivated_after_the_key_was_issued_is_403(full_key):
    services.store_update(store=full_key.store, is_active=False)

    response = _client(f"APIKey {full_key.token}").get(_customers(full_key.store_id))

    assert response.status_code == 403
    assert response.json() == _paynow_error(403, "forbidden", "store is not active")
