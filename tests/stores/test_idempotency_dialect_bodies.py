"""An Idempotency-Key refusal in each dialect's own body, its code agreeing with the
HTTP status the way the dialect's other errors do: NewStore's ``error_code`` names the
status (``unprocessable_entity``; it said ``bad_request`` for the 422), Capillary's
``code`` is the status number (v2 said 400 for the 422, as v1.1 did not)."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from stores import idempotency
from tests.concurrency import shoplazza_client
from tests.legacy.factories import bearer, definition_body
from tests.series.conftest import SERIES_URL, capillary_client

pytestmark = pytest.mark.django_db

REUSED = (
    "This Idempotency-Key was used for a different request; use a new key for a new "
    "request."
)
IN_PROGRESS = (
    "A request with this Idempotency-Key is still being processed; retry shortly."
)
INVALID = "Idempotency-Key must be 1..255 printable ASCII characters."
DEFINITIONS = "/v0/d/coupon_definitions"
REDEEM = "/v1.1/coupon/redeem"
RECEIVE = "/openapi/2022-01/coupons/receive"


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def _series(**overrides) -> dict:
    return {
        "description": "idem",
        "discountType": "ABS",
        "discountValue": 5,
        "validTillDate": "2030-12-31T00:00:00Z",
        "maxCreate": 10,
        "randomCodeLength": 8,
        **overrides,
    }


def _redeem(code: str) -> dict:
    return {
        "root": {
            "coupon": [
                {
                    "code": code,
                    "customer": {"mobile": "1"},
                    "transaction": [{"number": "T", "amount": "1"}],
                }
            ]
        }
    }


def _newstore(message: str, code: str) -> dict:
    return {"error_code": code, "message": message}


def _capillary_v2(message: str, code: int) -> dict:
    return {"errors": [{"status": False, "code": code, "message": message}]}


def _capillary_v11(message: str, code: int) -> dict:
    return {
        "response": {"status": {"success": "false", "code": code, "message": message}}
    }


def _shoplazza(message: str, code: int) -> dict:
    return {"errors": [message]}


# (client factory, path, first body, second body, body of an error)
DIALECTS = {
    "newstore": (
        bearer,
        DEFINITIONS,
        definition_body(label="one"),
        definition_body(label="two"),
        _newstore,
    ),
    "capillary_v2": (
        capillary_client,
        SERIES_URL,
        _series(description="one"),
        _series(description="two"),
        _capillary_v2,
    ),
    "capillary_v11": (
        capillary_client,
        REDEEM,
        _redeem("ONE"),
        _redeem("TWO"),
        _capillary_v11,
    ),
    "shoplazza": (
        shoplazza_client,
        RECEIVE,
        {"customer_id": "1", "coupon_ids": ["1"]},
        {"customer_id": "2", "coupon_ids": ["1"]},
        _shoplazza,
    ),
}
CODES = {
    "newstore": {
        422: "unprocessable_entity",
        409: "request_in_progress",
        400: "invalid_request",
    },
    "capillary_v2": {422: 422, 409: 409, 400: 400},
    "capillary_v11": {422: 422, 409: 409, 400: 400},
    "shoplazza": {422: None, 409: None, 400: None},
}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_key_reused_for_another_request_is_422_in_the_dialects_body(api_key, dialect):
    client, path, first, second, error = DIALECTS[dialect]
    api = client(api_key)

    api.post(path, first, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    response = api.post(path, second, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 422
    assert response.json() == error(REUSED, CODES[dialect][422])


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_key_still_in_progress_is_409_in_the_dialects_body(
    api_key, dialect, monkeypatch
):
    client, path, first, _second, error = DIALECTS[dialect]

    def busy(**_kwargs):
        raise idempotency._in_progress()

    monkeypatch.setattr(idempotency, "_claim", busy)
    response = client(api_key).post(
        path, first, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )

    assert response.status_code == 409
    assert response.json() == error(IN_PROGRESS, CODES[dialect][409])


@pytest.mark.parametrize("dialect", DIALECTS)
def test_an_invalid_key_is_400_in_the_dialects_body(api_key, dialect):
    client, path, first, _second, error = DIALECTS[dialect]

    response = client(api_key).post(
        path, first, format="json", HTTP_IDEMPOTENCY_KEY="k" * 256
    )

    assert response.status_code == 400
    assert response.json() == error(INVALID, CODES[dialect][400])
