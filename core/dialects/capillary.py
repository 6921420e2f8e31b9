"""Capillary v2 error bodies: ``{"errors": [{"status": false, "code": N, "message"}]}``.

Every error is HTTP 400 except authentication (401), whatever the vendor's own habit of
answering 200 (DESIGN.md): a client error is never a 5xx. Codes and messages are the
vendor's, verbatim from seed 002; the partial successes of issue/multiple render the
same table's entries inside their 200 body.

Also the OAuth token endpoint's body (``POST /v3/oauth/token/generate``):
``{"data": null, "errors": [{"code": N, "message": "..."}]}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from core import errors
from core.dialects.base import Dialect, ErrorSpec
from core.errors import ApiError

# The request-level errors of every Capillary endpoint (v2, v1.1, OAuth): the HTTP
# status, and the same number as the vendor's code.
HTTP_STATUS = {
    errors.INVALID_INPUT: 400,
    errors.MALFORMED_BODY: 400,
    errors.PAYLOAD_TOO_LARGE: 413,
    errors.UNAUTHORIZED: 401,
    errors.FORBIDDEN: 403,
    errors.MISSING_SCOPE: 403,
    errors.STORE_INACTIVE: 403,
    errors.NOT_FOUND: 404,
    errors.METHOD_NOT_ALLOWED: 405,
    errors.NOT_ACCEPTABLE: 406,
    errors.UNSUPPORTED_MEDIA_TYPE: 415,
    errors.THROTTLED: 429,
    errors.UNAVAILABLE: 503,
    errors.IDEMPOTENCY_KEY_INVALID: 400,
    errors.IDEMPOTENCY_KEY_REUSED: 422,
    errors.IDEMPOTENCY_IN_PROGRESS: 409,
}
AUTHENTICATION_FAILED = "Authentication failed. Please check username and password."
UNSUPPORTED_MEDIA_TYPE = "Unsupported media type."
# The discount code of a series that has none, as seed 002 shows it.
NO_DISCOUNT_CODE = "NO_VALUE"


def discount_code(stored: str) -> str:
    """A series' discount code as every Capillary endpoint shows it (v2 series and
    couponConfig, v1.1 redeem and isredeemable): one series, one code."""
    return stored or NO_DISCOUNT_CODE


def status_codes(
    reasons: Iterable[str], messages: Mapping[str, str] | None = None
) -> dict[str, ErrorSpec]:
    """``ErrorSpec(status, status)`` of each reason (``HTTP_STATUS``), with the
    vendor's fixed message where ``messages`` has one (else the error's own)."""
    messages = messages or {}
    specs = {}
    for reason in reasons:
        status = HTTP_STATUS[reason]
        specs[reason] = ErrorSpec(status, status, messages.get(reason))
    return specs


class CapillaryV2Dialect(Dialect):
    name = "capillary"
    fallback = ErrorSpec(400, 400)
    errors = {
        **status_codes(
            HTTP_STATUS,
            {
                errors.UNAUTHORIZED: AUTHENTICATION_FAILED,
                errors.UNSUPPORTED_MEDIA_TYPE: UNSUPPORTED_MEDIA_TYPE,
            },
        ),
        # series: issue/multiple (seed 002)
        "series_id_required": ErrorSpec(400, 756, "seriesId is mandatory to set"),
        "count_not_positive": ErrorSpec(400, 756, "count should be greater than 0"),
        "count_out_of_range": ErrorSpec(
            400, 677, "Invalid coupon count. Minimum 1 and Maximum 500."
        ),
        "series_not_found": ErrorSpec(400, 707, "Coupon Series ID is invalid"),
        "series_expired": ErrorSpec(400, 713, "Coupon has expired"),
        "customer_not_found": ErrorSpec(
            400,
            701,
            "The customer could not be found. Please check mobile, email, "
            "external id passed",
        ),
        "customer_already_holds": ErrorSpec(
            400, 709, "Coupon processing failed: user already has a coupon"
        ),
        "one_per_customer": ErrorSpec(
            400,
            5004,
            "Issue only one coupon. Since isAllowMultipleVouchersPerUser=false.",
        ),
        "generic_single_code": ErrorSpec(
            400, 5004, "Cannot issue more than one GENERIC coupon code."
        ),
        "per_customer_limit": ErrorSpec(400, 5002, "max coupon per user exceeded"),
        "out_of_stock": ErrorSpec(
            400, 5001, "Maximum number of series has been created"
        ),
        "pool_empty": ErrorSpec(400, 5005, "Queue is empty for series"),
        "pool_short": ErrorSpec(400, 5006, "Unable to issue certain number of coupons"),
        # series settings and code generation: the service's own message
        "invalid_series": ErrorSpec(400, 400),
        "code_taken": ErrorSpec(400, 400),
        "code_space_exhausted": ErrorSpec(400, 400),
        "pool_over_cap": ErrorSpec(400, 400),
    }

    def body(self, error: ApiError, spec: ErrorSpec, request: Any) -> dict[str, Any]:
        return {"errors": [self.item(error.reason, error.message)]}

    def item(self, reason: str, message: str = "") -> dict[str, Any]:
        """One ``errors[]`` entry; also what a partial success lists."""
        spec = self.spec_for(reason)
        return {
            "status": False,
            "code": spec.code,
            "message": spec.message or message or reason,
        }


class CapillaryOAuthDialect(Dialect):
    """``POST /v3/oauth/token/generate``: the ``{data, errors}`` envelope."""

    name = "capillary_oauth"
    fallback = ErrorSpec(400, 400)
    # No store to forbid: those reasons are not in its table. Its 404 is for a path
    # under /v3/ that no route matches (core.routing).
    errors = status_codes(
        (
            reason
            for reason in HTTP_STATUS
            if reason
            not in (
                errors.FORBIDDEN,
                errors.MISSING_SCOPE,
                errors.STORE_INACTIVE,
            )
        ),
        {errors.UNSUPPORTED_MEDIA_TYPE: UNSUPPORTED_MEDIA_TYPE},
    )

    def body(self, error: ApiError, spec: ErrorSpec, request: Any) -> dict[str, Any]:
        return {
            "data": None,
            "errors": [{"code": spec.code, "message": spec.message or error.message}],
        }


CAPILLARY_V2 = CapillaryV2Dialect()
CAPILLARY_OAUTH = CapillaryOAuthDialect()
