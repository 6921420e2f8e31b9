"""Capillary ``POST /v3/oauth/token/generate {key, secret}`` and its token in use."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from stores import services as store_services
from tests.series.conftest import SERIES_URL, make_series

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_pool")]

TOKEN_URL = "/v3/oauth/token/generate"


def unauthorized(message: str) -> dict:
    return {"data": None, "errors": [{"code": 401, "message": message}]}


def test_a_token_is_issued_for_a_key_and_its_secret(client, api_key):
    response = client.post(
        TOKEN_URL, {"key": api_key.key_id, "secret": api_key.secret}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["data", "errors"]
    assert list(body["data"]) == ["accessToken", "ttlSeconds"]
    assert body["data"]["ttlSeconds"] == 300
    assert isinstance(body["data"]["accessToken"], str)
    assert body["errors"] is None


def test_the_token_authenticates_v2_calls_for_300_seconds(client, store, api_key):
    series = make_series(store)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        token = client.post(
            TOKEN_URL, {"key": api_key.key_id, "secret": api_key.secret}, format="json"
        ).json()["data"]["accessToken"]
    api = APIClient()
    api.credentials(HTTP_X_CAP_API_OAUTH_TOKEN=token)

    with time_machine.travel(start + timedelta(seconds=299)):
        ok = api.get(f"{SERIES_URL}?ids={series.id}")
    with time_machine.travel(start + timedelta(seconds=301)):
        late = api.get(f"{SERIES_URL}?ids={series.id}")

    assert ok.status_code == 200
    assert ok.json()["entity"][0]["id"] == series.compact_id
    assert late.status_code == 401


@pytest.mark.parametrize(
    ("key", "secret"),
    [("right", "wrong"), ("chk_unknown", "right"), ("right", "")],
)
def test_a_bad_key_or_secret_is_401(client, api_key, key, secret):
    payload = {
        "key": api_key.key_id if key == "right" else key,
        "secret": api_key.secret if secret == "right" else secret or "x",
    }

    response = client.post(TOKEN_URL, payload, format="json")

    assert response.status_code == 401
    assert response.json() == unauthorized("Invalid key or secret.")
    assert response["WWW-Authenticate"] == "X-CAP-API-OAUTH-TOKEN"


def test_a_revoked_key_gets_no_token(client, api_key):
    store_services.api_key_revoke(key_id=api_key.key_id)

    response = client.post(
        TOKEN_URL, {"key": api_key.key_id, "secret": api_key.secret}, format="json"
    )

    assert response.status_code == 401
    assert response.json() == unauthorized("This API key has been revoked.")


def test_a_token_of_a_key_revoked_later_stops_working(client, store, api_key):
    series = make_series(store)
    token = client.post(
        TOKEN_URL, {"key": api_key.key_id, "secret": api_key.secret}, format="json"
    ).json()["data"]["accessToken"]
    store_services.api_key_revoke(key_id=api_key.key_id)
    api = APIClient()
    api.credentials(HTTP_X_CAP_API_OAUTH_TOKEN=token)

    response = api.get(f"{SERIES_URL}?ids={series.id}")

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"secret": "s"}, "Invalid request: key: This field is required."),
        ({"key": 5, "secret": "s"}, "Invalid request: key: Must be a string."),
        ({"key": "k", "secret": None}, "Invalid request: secret: This field may not "),
    ],
)
def test_a_bad_body_is_400(client, payload, message):
    response = client.post(TOKEN_URL, payload, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["data"] is None
    (item,) = body["errors"]
    assert item["code"] == 400
    assert item["message"].startswith(message)


def test_the_endpoint_takes_no_other_method(client):
    response = client.get(TOKEN_URL)

    assert response.status_code == 405
    assert response.json() == {
        "data": None,
        "errors": [{"code": 405, "message": 'Method "GET" not allowed.'}],
    }
