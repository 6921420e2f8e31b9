"""Capillary v1.1: its error envelope, and what every v1.1 endpoint takes and shows.

Errors (DESIGN.md): HTTP 400 (401 for auth), never a 5xx.

Request-level failures: ``{"response": {"status": {"success": "false", "code": N,
"message": "..."}}}``. Item-level outcomes (a customer of ``/v1.1/customer/coupons``, a
coupon of redeem or isredeemable) carry an ``item_status`` with the vendor's code; the
endpoint builds the envelope around them from the tables below, so every reason-to-code
mapping of the dialect lives in this one module.

Every v1.1 endpoint (customer coupons, redeem, isredeemable) also names a customer by
the same identifiers and shows it the same way: ``V11CustomerIdentifiers`` and the
helpers at the end, so no endpoint imports another app's dialect module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core import errors, flake
from core.dialects.base import Dialect, ErrorSpec
from core.dialects.capillary import AUTHENTICATION_FAILED, HTTP_STATUS, status_codes
from core.errors import ApiError

# The request's overall ``status`` (the HTTP status mirrors ``code``, never a 5xx).
SUCCESS = {"success": "true", "code": 200, "message": "Success"}
SOME_FAILED = {
    "success": "true",
    "code": 201,
    "message": "Some requests have failed due to errors",
}
ALL_FAILED = {
    "success": "false",
    "code": 400,
    "message": "All requests have failed due to errors",
}

# Item-level successes.
COUPONS_RETRIEVED = ErrorSpec(200, 1000, "Coupons retrieved successfully")
COUPON_REDEEMED = ErrorSpec(200, 700, "Coupon processing successful")
COUPON_REDEEMABLE = ErrorSpec(200, 700, "Coupon isRedeem successful")

_PROCESSING_FAILED = "Coupon processing failed: "

# Item-level failures, by domain reason or redemption refusal code
# (``coupons.errors.Refusal``). When a coupon fails several rules, the first reason in
# this order is the one reported. Messages: seed 003 for 701/702/707, api-notes §5
# (the v2/v1.1 coupon status list) for the others; the rules Capillary has no code for
# share 709 "Coupon processing failed" with the rule named.
ITEM_ERRORS: dict[str, ErrorSpec] = {
    "customer_not_found": ErrorSpec(
        400,
        701,
        "Customer could not be found. Check the mobile, email, or external ID passed.",
    ),
    "series_not_found": ErrorSpec(400, 707, "Coupon series ID is invalid."),
    "coupon_not_found": ErrorSpec(400, 702, "Coupon code is invalid."),
    "typo": ErrorSpec(400, 702, "Coupon code is invalid."),  # coupons.typed_codes
    "not_issued": ErrorSpec(400, 703, "Coupon not issued to this customer"),
    "not_issued_to_customer": ErrorSpec(400, 703, "Coupon not issued to this customer"),
    "restricted_to_another_customer": ErrorSpec(
        400, 710, "Coupon is not meant for this customer"
    ),
    "customer_limit_reached": ErrorSpec(400, 711, "Coupon is already used"),
    "store_limit_reached": ErrorSpec(400, 711, "Coupon is already used"),
    "series_expired": ErrorSpec(400, 712, "Coupon Series / Campaign has expired"),
    "expired": ErrorSpec(400, 713, "Coupon has expired"),
    "disabled": ErrorSpec(400, 709, _PROCESSING_FAILED + "the coupon is disabled"),
    "not_started": ErrorSpec(
        400, 709, _PROCESSING_FAILED + "the coupon is not valid yet"
    ),
    "first_order_only": ErrorSpec(
        400, 709, _PROCESSING_FAILED + "the coupon is for a first purchase only"
    ),
    "below_minimum_order": ErrorSpec(
        400, 709, _PROCESSING_FAILED + "the bill amount is below the coupon's minimum"
    ),
    "one_time_purchase_not_allowed": ErrorSpec(
        400, 709, _PROCESSING_FAILED + "the coupon does not apply to this transaction"
    ),
    "subscription_not_allowed": ErrorSpec(
        400, 709, _PROCESSING_FAILED + "the coupon does not apply to this transaction"
    ),
    "not_applicable_to_order": ErrorSpec(
        400, 709, _PROCESSING_FAILED + "the coupon does not apply to this transaction"
    ),
    "customer_required": ErrorSpec(
        400,
        701,
        "Customer could not be found. Check the mobile, email, or external ID passed.",
    ),
}
ITEM_FALLBACK = ErrorSpec(400, 709, "Coupon processing failed")


class CapillaryV11Dialect(Dialect):
    name = "capillary_v11"
    fallback = ErrorSpec(400, 400)
    errors = {
        **status_codes(HTTP_STATUS, {errors.UNAUTHORIZED: AUTHENTICATION_FAILED}),
    }

    def body(self, error: ApiError, spec: ErrorSpec, request: Any) -> dict[str, Any]:
        return {
            "response": {
                "status": {
                    "success": "false",
                    "code": spec.code,
                    "message": spec.message or _message(error),
                }
            }
        }

    # Item-level outcomes ------------------------------------------------------------

    def item_spec(self, reasons: Iterable[str]) -> ErrorSpec:
        """The spec of the first of ``reasons`` in ``ITEM_ERRORS`` order."""
        given = set(reasons)
        for reason, spec in ITEM_ERRORS.items():
            if reason in given:
                return spec
        return ITEM_FALLBACK

    def item_status(self, spec: ErrorSpec) -> dict[str, Any]:
        return {
            "success": "true" if spec.status < 400 else "false",
            "code": spec.code,
            "message": spec.message,
        }

    def item_failure(self, *reasons: str) -> dict[str, Any]:
        return self.item_status(self.item_spec(reasons))

    def overall(self, outcomes: Iterable[bool]) -> tuple[int, dict[str, Any]]:
        """HTTP status and ``status`` object for items that succeeded (True) or not."""
        outcomes = list(outcomes)
        if all(outcomes):
            return 200, dict(SUCCESS)
        if any(outcomes):
            return 200, dict(SOME_FAILED)
        return 400, dict(ALL_FAILED)


def _message(error: ApiError) -> str:
    """The vendor's "Input is invalid" with what is wrong, parameter by parameter."""
    if not error.fields:
        return error.message
    issues = [
        issue.message if issue.path == "$" else f"{issue.path}: {issue.message}"
        for issue in error.fields
    ]
    return "Input is invalid. " + " ".join(
        issue if issue.endswith(".") else issue + "." for issue in issues
    )


CAPILLARY_V11 = CapillaryV11Dialect()


# --- the customer of every v1.1 endpoint ------------------------------------------

IDENTIFIERS = ("mobile", "email", "external_id", "id")


@extend_schema_field(OpenApiTypes.STR)
class NumericIdField(serializers.Field):
    """A Capillary numeric ID (a customer's, a series'): digits, as a string or a
    JSON number."""

    default_error_messages = {"invalid": "Must be a numeric ID."}

    def to_internal_value(self, data: Any) -> int:
        parsed = flake.parse(data.strip() if isinstance(data, str) else data)
        if parsed is None:
            self.fail("invalid")
        return parsed

    def to_representation(self, value: Any) -> str:
        return str(value)


class V11CustomerIdentifiers(serializers.Serializer):
    """At least one of ``mobile``, ``email``, ``external_id``, ``id``; every one given
    must match the same customer."""

    mobile = serializers.CharField(required=False, max_length=32)
    email = serializers.CharField(required=False, max_length=254)
    external_id = serializers.CharField(required=False, max_length=128)
    id = NumericIdField(required=False)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # An identifier sent empty ("email": "" or null, "?mobile=") is not given.
        if isinstance(data, Mapping):
            data = {
                key: data.get(key)
                for key in data
                if key not in IDENTIFIERS or data.get(key) not in ("", None)
            }
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if not any(attrs.get(name) is not None for name in IDENTIFIERS):
            raise serializers.ValidationError(
                "Pass at least one customer identifier: mobile, email, external_id "
                "or id."
            )
        return attrs


def identifiers(data: Mapping[str, Any]) -> dict[str, Any]:
    """The validated identifiers by name, None where not given: the keyword
    arguments of ``customers.refs.CustomerRef.named`` (``id``: the compact id shown,
    or a flake id shown before)."""
    return {name: data.get(name) for name in IDENTIFIERS}


def echo_identifiers(data: Mapping[str, Any]) -> dict[str, str | None]:
    """The identifiers as the request gave them (a customer that was not found)."""
    return {
        name: None if data.get(name) is None else str(data[name])
        for name in IDENTIFIERS
    }


def customer_profile(customer: Any) -> dict[str, str | None]:
    """The ``customer`` object of coupon items (redeem, isredeemable): the customer
    as the store knows it."""
    return {
        "mobile": customer.mobile,
        "email": customer.email,
        "external_id": customer.external_id,
        "id": str(customer.compact_id),
    }


class V11Status(serializers.Serializer):
    success = serializers.CharField(help_text='"true" or "false" (strings).')
    code = serializers.IntegerField()
    message = serializers.CharField()


# A customer's identifiers as an item shows them (``customer_profile``, or
# ``echo_identifiers`` when it was not found).
class V11Identifiers(serializers.Serializer):
    mobile = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True)
    external_id = serializers.CharField(allow_null=True)
    id = serializers.CharField(allow_null=True)
