"""The native (PayNow) API as the tests speak it: a client with a fixed trace id,
an error answer's body, one entry of its ``errors``, the body of one refused field,
and a coupon to create."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient


def native_client(api_key, *, trace: str) -> APIClient:
    """A client of ``api_key`` (``Authorization: APIKey <token>``) sending the
    X-Request-ID ``trace``, so that its error bodies compare exactly."""
    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION=f"APIKey {api_key.token}", HTTP_X_REQUEST_ID=trace
    )
    return api


def error_body(
    status: int, code: str, message: str, errors: list | None = None, *, trace: str
) -> dict:
    """The body of an error answer, with the X-Request-ID ``trace`` the test sent."""
    return {
        "status": status,
        "code": code,
        "message": message,
        "trace_id": trace,
        "errors": errors,
    }


def validation_error(path: str, code: str, message: str) -> dict:
    """One entry of an error's ``errors`` (the document's ValidationError): ``code``
    at ``path``, its validation the same as its code."""
    return {"code": code, "message": message, "path": path, "validation": code}


def field_error(path: str, code: str, message: str, *, trace: str) -> dict:
    """The 400 body of a request refused for one field: ``code`` at ``path``."""
    return error_body(
        400,
        "bad-request",
        f"Invalid request: {path}: {message}",
        [validation_error(path, code, message)],
        trace=trace,
    )


def coupon_body(**fields: Any) -> dict:
    """A coupon create body: a once-only amount of 100 off, no limits, no minimum;
    ``fields`` are added or replace these."""
    return {
        "enabled": True,
        "duration": "once",
        "discount_type": "amount",
        "discount_amount": 100,
        "discount_apply_individually": False,
        "discount_apply_before_sales": False,
        "minimum_order_value": 0,
        "redeem_limit_store_enabled": False,
        "redeem_limit_store_amount": 0,
        "redeem_limit_customer_enabled": False,
        "redeem_limit_customer_amount": 0,
        "usable_on_one_time_purchase": True,
        "usable_on_subscription": True,
        **fields,
    }
